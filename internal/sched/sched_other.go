//go:build !linux

package sched

import (
	"errors"
	"fmt"
)

// Background is not available here: the work runs at normal priority.
func Background() (run func(work func()), err error) {
	return nil, fmt.Errorf("sched: an idle scheduling class for one thread: %w", errors.ErrUnsupported)
}
