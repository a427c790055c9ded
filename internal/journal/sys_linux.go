//go:build linux

package journal

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// fallocate reserves [off, off+n) with mode 0, which also extends the file
// size; the reserved range reads back as zeros.
func fallocate(f *os.File, off, n int64) error {
	if n <= 0 {
		return nil
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return fmt.Errorf("fallocate %s: %w", f.Name(), err)
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		for {
			serr = unix.Fallocate(int(fd), 0, off, n)
			if serr != unix.EINTR {
				return
			}
		}
	}); err != nil {
		return fmt.Errorf("fallocate %s: %w", f.Name(), err)
	}
	switch {
	case serr == nil:
		return nil
	case errors.Is(serr, unix.EOPNOTSUPP), errors.Is(serr, unix.ENOSYS), errors.Is(serr, unix.EINVAL):
		return fmt.Errorf("fallocate %s: %w: %w", f.Name(), errors.ErrUnsupported, serr)
	default:
		return &os.PathError{Op: "fallocate", Path: f.Name(), Err: serr}
	}
}
