//go:build unix

package activation

import "syscall"

// closeOnExec keeps a passed socket out of processes this one starts.
func closeOnExec(fd int) { syscall.CloseOnExec(fd) }
