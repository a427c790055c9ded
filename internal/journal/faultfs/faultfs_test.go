package faultfs_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/onrecord/onrecord/internal/journal/faultfs"
)

func TestFS_LimitWritesFailsPartWayWithENOSPC(t *testing.T) {
	ffs := faultfs.New(nil)
	name := filepath.Join(t.TempDir(), "f")
	f, err := ffs.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ffs.LimitWrites(5)
	n, err := f.WriteAt([]byte("0123456789"), 0)
	if n != 5 || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("WriteAt = %d, %v; want 5, ENOSPC", n, err)
	}
	if _, err := f.WriteAt([]byte("x"), 5); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("write after the limit: %v", err)
	}
	ffs.Reset()
	if _, err := f.WriteAt([]byte("x"), 5); err != nil {
		t.Fatalf("write after Reset: %v", err)
	}
}

func TestFS_FailedSyncDropsUnsyncedData(t *testing.T) {
	ffs := faultfs.New(nil)
	name := filepath.Join(t.TempDir(), "f")
	f, err := ffs.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt([]byte("durable"), 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	ffs.FailSync(syscall.EIO, 1, true)
	if _, err := f.WriteAt([]byte("lost"), 7); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); !errors.Is(err, syscall.EIO) {
		t.Fatalf("Sync = %v, want EIO", err)
	}
	// The next Sync "succeeds", but the dropped pages do not come back.
	if err := f.Sync(); err != nil {
		t.Fatalf("second Sync: %v", err)
	}
	got := make([]byte, 11)
	if _, err := f.ReadAt(got, 0); err != nil {
		t.Fatal(err)
	}
	if want := append([]byte("durable"), 0, 0, 0, 0); !bytes.Equal(got, want) {
		t.Fatalf("file = %q, want %q", got, want)
	}
	if total, failed := ffs.Syncs(); total != 3 || failed != 1 {
		t.Fatalf("Syncs = %d, %d", total, failed)
	}
}

func TestFS_FailSyncDirAndAllocate(t *testing.T) {
	ffs := faultfs.New(nil)
	dir := t.TempDir()
	ffs.FailSyncDir(syscall.EIO, 1)
	if err := ffs.SyncDir(dir); !errors.Is(err, syscall.EIO) {
		t.Fatalf("SyncDir = %v", err)
	}
	if err := ffs.SyncDir(dir); err != nil {
		t.Fatalf("second SyncDir: %v", err)
	}
	f, err := ffs.OpenFile(filepath.Join(dir, "f"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ffs.FailAllocate(syscall.ENOSPC)
	a := f.(interface{ Allocate(off, n int64) error })
	if err := a.Allocate(0, 4096); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Allocate = %v", err)
	}
}
