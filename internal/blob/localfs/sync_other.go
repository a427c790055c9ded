//go:build !linux

package localfs

import "syscall"

// syncFS flushes everything where syncfs(2) is not available.
func syncFS(string) error {
	syscall.Sync()
	return nil
}
