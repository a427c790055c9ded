package bench

import (
	"os"

	"golang.org/x/sys/unix"
)

// preallocate reserves n bytes for f. Not every file system can; the
// benchmarks that ask run either way.
func preallocate(f *os.File, n int64) { _ = unix.Fallocate(int(f.Fd()), 0, 0, n) }
