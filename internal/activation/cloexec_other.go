//go:build !unix

package activation

func closeOnExec(int) {}
