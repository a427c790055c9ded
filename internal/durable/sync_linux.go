//go:build linux

package durable

import (
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// Fdatasync flushes the file's data and the metadata needed to read it back.
// It goes through SyscallConn so the descriptor is not switched to blocking
// mode as (*os.File).Fd would do. EINTR means the call did not run, so it is
// reissued; any other error is returned and must never be retried and counted on (after a failed sync the kernel may have dropped the dirty pages).
func Fdatasync(f *os.File) error {
	serr, err := onFD(f, unix.Fdatasync)
	if err != nil {
		return fmt.Errorf("fdatasync %s: %w", f.Name(), err)
	}
	if serr != nil {
		return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: serr}
	}
	return nil
}

// onFD runs call on f's descriptor, through SyscallConn, and again while
// it returns EINTR (the call did not run). It returns call's error apart
// from the error of reaching the descriptor.
func onFD(f syscall.Conn, call func(fd int) error) (callErr, err error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	err = rc.Control(func(fd uintptr) {
		for {
			if callErr = call(int(fd)); callErr != unix.EINTR {
				return
			}
		}
	})
	return callErr, err
}

// WriteBack writes f's dirty pages in [off, off+n) to the disk and waits
// until they are written, without flushing the disk's cache: it is pacing,
// not durability (only Fdatasync is that). The disk queues what one file
// leaves for its next fsync ahead of every other file's fdatasync; a
// writer that calls WriteBack for every megabyte it writes keeps that
// queue a megabyte deep. (A 128 MiB SQLite checkpoint, written and then
// fsynced at once, held the journal's 8 KiB fdatasyncs for up to 200 ms;
// written back a megabyte at a time, for about 10 ms.)
func WriteBack(f syscall.Conn, off, n int64) error {
	serr, err := onFD(f, func(fd int) error {
		return unix.SyncFileRange(fd, off, n,
			unix.SYNC_FILE_RANGE_WAIT_BEFORE|unix.SYNC_FILE_RANGE_WRITE|unix.SYNC_FILE_RANGE_WAIT_AFTER)
	})
	if err != nil {
		return fmt.Errorf("write back: %w", err)
	}
	if serr != nil {
		return fmt.Errorf("write back: sync_file_range: %w", serr)
	}
	return nil
}
