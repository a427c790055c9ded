//go:build !linux

package durable

import (
	"os"
	"syscall"
)

// Fdatasync falls back to a full fsync where fdatasync is not available.
func Fdatasync(f *os.File) error { return f.Sync() }

// WriteBack does nothing where sync_file_range is not available: the data
// is still written, by the next fsync or the kernel, only not paced.
func WriteBack(syscall.Conn, int64, int64) error { return nil }
