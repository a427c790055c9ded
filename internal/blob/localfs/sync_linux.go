//go:build linux

package localfs

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// punch removes [off, off+n) from f: the blocks are freed and the range
// reads back as zeros. Where the filesystem cannot punch holes it is
// overwritten with zeros instead.
func punch(f *os.File, off, n int64) error {
	if n == 0 {
		return nil
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		for {
			serr = unix.Fallocate(int(fd), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, off, n)
			if serr != unix.EINTR {
				return
			}
		}
	}); err != nil {
		return err
	}
	switch {
	case serr == nil:
		return nil
	case errors.Is(serr, unix.EOPNOTSUPP), errors.Is(serr, unix.ENOSYS):
		return zero(f, off, n)
	default:
		return fmt.Errorf("punch hole in %s: %w", f.Name(), serr)
	}
}
