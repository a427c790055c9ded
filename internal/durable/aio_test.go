package durable

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
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

// Syncs complete whoever reads their completion: the watcher in the
// poller, or goroutines calling Poke or PokeAll all the while (as the
// journal's appenders and the blob store's writers do), also while the
// Syncer closes.
func TestSyncer_PokeHandsOverCompletions(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, poke := range []string{"", "Poke", "PokeAll"} {
		s := NewSyncer()
		s.Poke() // nothing in flight: a no-op
		if s.aio.Load() != nil && !isLive(s) {
			t.Fatal("a Syncer that waits in the poller is not in PokeAll's list")
		}
		stop := make(chan struct{})
		var pokers sync.WaitGroup
		if poke != "" {
			for range 2 {
				pokers.Go(func() {
					for {
						select {
						case <-stop:
							return
						default:
							if poke == "Poke" {
								s.Poke()
							} else {
								PokeAll()
							}
						}
					}
				})
			}
		}
		for i := range 100 {
			if _, err := f.WriteAt([]byte("durable"), int64(i)*8); err != nil {
				t.Fatal(err)
			}
			if err := s.Fdatasync(f); err != nil {
				t.Fatalf("poke %v: fdatasync %d: %v", poke, i, err)
			}
		}
		if err := s.Close(); err != nil {
			t.Fatalf("close: %v", err)
		}
		if isLive(s) {
			t.Fatal("a closed Syncer is still in PokeAll's list")
		}
		s.Poke() // after Close: a no-op, not a read of a released descriptor
		close(stop)
		pokers.Wait()
	}
	var nilSyncer *Syncer
	nilSyncer.Poke()
}

func isLive(s *Syncer) bool {
	l := live.list.Load()
	return l != nil && slices.Contains(*l, s)
}
