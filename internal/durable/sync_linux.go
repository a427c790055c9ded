//go:build linux

package durable

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Fdatasync flushes the file's data and the metadata needed to read it back.
// It goes through SyscallConn so the descriptor is not switched to blocking
// mode as (*os.File).Fd would do. EINTR means the call did not run, so it is
// reissued; any other error is returned and must never be retried and counted on (after a failed sync the kernel may have dropped the dirty pages).
func Fdatasync(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return fmt.Errorf("fdatasync %s: %w", f.Name(), err)
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		for {
			serr = unix.Fdatasync(int(fd))
			if serr != unix.EINTR {
				return
			}
		}
	}); err != nil {
		return fmt.Errorf("fdatasync %s: %w", f.Name(), err)
	}
	if serr != nil {
		return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: serr}
	}
	return nil
}
