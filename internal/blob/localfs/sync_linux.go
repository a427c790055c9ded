//go:build linux

package localfs

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// syncFS flushes the filesystem holding dir with syncfs(2), which waits
// for the writeback and (since Linux 5.8) reports its errors.
func syncFS(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open %s: %w", dir, err)
	}
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		for {
			serr = unix.Syncfs(int(fd))
			if serr != unix.EINTR {
				return
			}
		}
	}); err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("syncfs %s: %w", dir, serr)
	}
	return nil
}
