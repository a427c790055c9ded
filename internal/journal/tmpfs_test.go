package journal_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"

	"github.com/onrecord/onrecord/internal/journal"
)

// TestJournal_RealDiskFullOnTmpfs fills a small tmpfs for real: the journal
// reports a clear disk-full error, keeps every acknowledged record, and
// resumes without reopening once space is freed.
func TestJournal_RealDiskFullOnTmpfs(t *testing.T) {
	if runtime.GOOS != "linux" || os.Geteuid() != 0 {
		t.Skip("skipping: mounting a size-limited tmpfs needs root on Linux")
	}
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("skipping: cannot mount tmpfs on %s: %v: %s", mnt, err, out)
	}
	// Registered first so it runs last, after the journal is closed.
	t.Cleanup(func() {
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", mnt, err, out)
		}
	})

	opts := journal.Options{Dir: filepath.Join(mnt, "journal"), SegmentSize: 32 << 10}
	j := mustOpen(t, opts)
	var acked [][]byte
	add := func(i int) error {
		p := bytes.Repeat([]byte{byte(i)}, 1000)
		seq, err := j.Append(context.Background(), p)
		if err != nil {
			return err
		}
		if seq != uint64(len(acked)) {
			t.Fatalf("seq %d, want %d", seq, len(acked))
		}
		acked = append(acked, p)
		return nil
	}
	for i := range 20 {
		if err := add(i); err != nil {
			t.Fatalf("append before the disk is full: %v", err)
		}
	}

	filler := filepath.Join(mnt, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling the tmpfs: %v", err)
			}
			break
		}
	}
	f.Close()

	var fullErr error
	for i := 20; i < 1000 && fullErr == nil; i++ {
		fullErr = add(i)
	}
	if !errors.Is(fullErr, journal.ErrDiskFull) || !errors.Is(fullErr, syscall.ENOSPC) || errors.Is(fullErr, journal.ErrFailed) {
		t.Fatalf("append on a full tmpfs: %v, want ErrDiskFull", fullErr)
	}
	t.Logf("disk full after %d records: %v", len(acked), fullErr)
	if got := readAll(t, j, 0); len(got) != len(acked) {
		t.Fatalf("Scan on a full disk returned %d records, want %d", len(got), len(acked))
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	for i := range 40 {
		if err := add(2000 + i); err != nil {
			t.Fatalf("append after freeing space: %v", err)
		}
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}

	j = mustOpen(t, opts)
	if r := j.Recovered(); r.TornBytes != 0 {
		t.Fatalf("torn tail after disk full: %+v", r)
	}
	got := readAll(t, j, 0)
	if len(got) != len(acked) {
		t.Fatalf("reopened journal has %d records, want %d", len(got), len(acked))
	}
	for i := range acked {
		if !bytes.Equal(got[i], acked[i]) {
			t.Fatalf("record %d damaged", i)
		}
	}
	if _, err := journal.Check(nil, opts.Dir, nil); err != nil {
		t.Fatalf("Check after disk full: %v", err)
	}
}
