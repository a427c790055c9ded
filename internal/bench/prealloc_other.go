//go:build !linux

package bench

import "os"

// preallocate does nothing where fallocate is not available.
func preallocate(*os.File, int64) {}
