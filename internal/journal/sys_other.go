//go:build !linux

package journal

import (
	"errors"
	"fmt"
	"os"
)

// fallocate is not available here; the journal runs without preallocation.
func fallocate(f *os.File, _, _ int64) error {
	return fmt.Errorf("fallocate %s: %w", f.Name(), errors.ErrUnsupported)
}
