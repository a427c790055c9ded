package durable

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// A Syncer syncs through AIO where the kernel has it; a request the kernel
// refuses at submission falls back to fdatasync(2), whose error is the
// sync's.
func TestSyncer_SyncsAndReportsErrors(t *testing.T) {
	if a := newAIOSync(); a == nil {
		t.Log("no Linux AIO here: syncs use fdatasync(2)")
	} else {
		a.close()
	}
	s := NewSyncer()
	defer s.Close()
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write([]byte("durable")); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := s.Fdatasync(f); err != nil {
			t.Fatalf("fdatasync: %v", err)
		}
	}
	if a := newAIOSync(); a != nil {
		defer a.close()
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		defer w.Close()
		if err := a.fdatasync(w); !errors.Is(err, errAIOUnsupported) {
			t.Fatalf("aio fdatasync of a pipe: %v, want unsupported (nothing submitted)", err)
		}
		ps := NewSyncer()
		defer ps.Close()
		if err := ps.Fdatasync(w); err == nil || errors.Is(err, errAIOUnsupported) {
			t.Fatalf("Syncer.Fdatasync of a pipe: %v, want fdatasync(2)'s error", err)
		}
		// The fallback stays, and still syncs files.
		if err := ps.Fdatasync(f); err != nil {
			t.Fatalf("fdatasync after the fallback: %v", err)
		}
	}
	closed, err := os.Create(filepath.Join(t.TempDir(), "closed"))
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	if err := s.Fdatasync(closed); err == nil {
		t.Fatal("fdatasync of a closed file succeeded")
	}
}
