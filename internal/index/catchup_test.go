package index

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/onrecord/onrecord"
)

// journal is a Source over entries (entry i is journal seq i), failing
// at seq failAt when it is set, and calling during for each record read.
type journal struct {
	entries []Entry
	failAt  uint64
	during  func(seq uint64)
}

var errJournal = errors.New("journal: bad frame")

func (j *journal) Events(from uint64, fn func(seq uint64, ev *onrecord.Event, err error) error) error {
	for seq := from; seq < uint64(len(j.entries)); seq++ {
		if j.failAt != 0 && seq == j.failAt {
			return errJournal
		}
		if j.during != nil {
			j.during(seq)
		}
		var err error
		ev := j.entries[seq].Event
		if ev == nil {
			err = errors.New("not an event")
		}
		if err := fn(seq, ev, err); err != nil {
			return err
		}
	}
	return nil
}

func keepAll(*onrecord.Event) bool { return true }

// TestCatchUp_IndexesInBatchesAndResumes: a catch-up in many small
// batches adds every event and moves the position past every record; a
// failing journal stops it with the error, after whole batches, and the
// next catch-up goes on from there.
func TestCatchUp_IndexesInBatchesAndResumes(t *testing.T) {
	entries := importedCorpus(500)
	events := 0
	for _, en := range entries {
		if en.Event != nil {
			events++
		}
	}
	ix := MustOpen(t, t.TempDir(), testKey(2))
	src := &journal{entries: entries, failAt: 300}
	added, err := catchUp(t.Context(), ix, src, keepAll, 7)
	if !errors.Is(err, errJournal) {
		t.Fatalf("catch-up over a failing journal: %v", err)
	}
	pos, err := ix.Position(t.Context())
	if err != nil || pos > 300 {
		t.Fatalf("position after the failure: %d, %v; want at most 300 (seq 299 + 1)", pos, err)
	}
	src.failAt = 0
	more, err := catchUp(t.Context(), ix, src, keepAll, 7)
	if err != nil {
		t.Fatal(err)
	}
	if added+more != events {
		t.Errorf("added %d + %d events, want %d", added, more, events)
	}
	if pos, _ := ix.Position(t.Context()); pos != uint64(len(entries)) {
		t.Errorf("position %d, want %d", pos, len(entries))
	}
	// The same as one batch of everything.
	whole := MustOpen(t, t.TempDir(), testKey(2))
	if _, err := CatchUp(t.Context(), whole, &journal{entries: entries}, keepAll); err != nil {
		t.Fatal(err)
	}
	for _, qs := range []string{"alpha", `"bravo charlie"`, "papa -alpha"} {
		q := mustParse(t, qs, time.UTC)
		a, err := ix.Search(t.Context(), q, SearchOptions{Limit: 100, CountCap: 10_000})
		if err != nil {
			t.Fatal(err)
		}
		b, err := whole.Search(t.Context(), q, SearchOptions{Limit: 100, CountCap: 10_000})
		if err != nil {
			t.Fatal(err)
		}
		if !equalResults(a, b) {
			t.Errorf("%s: resumed catch-up finds %d, one catch-up %d", qs, a.Count, b.Count)
		}
	}
}

// TestCatchUp_CancelStopsReaderAndWriter: cancelling a catch-up midway
// returns the context's error and leaves no goroutine blocked; the index
// is consistent and the next catch-up completes it.
func TestCatchUp_CancelStopsReaderAndWriter(t *testing.T) {
	entries := importedCorpus(2000)
	ix := MustOpen(t, t.TempDir(), testKey(2))
	ctx, cancel := context.WithCancel(t.Context())
	src := &journal{entries: entries, during: func(seq uint64) {
		if seq == 900 {
			cancel()
		}
	}}
	if _, err := catchUp(ctx, ix, src, keepAll, 50); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled catch-up: %v", err)
	}
	src.during = nil
	if _, err := catchUp(t.Context(), ix, src, keepAll, 50); err != nil {
		t.Fatal(err)
	}
	if pos, _ := ix.Position(t.Context()); pos != uint64(len(entries)) {
		t.Errorf("position %d, want %d", pos, len(entries))
	}
}

// TestCatchUp_KeepSkipsButMovesPosition: events keep refuses are not
// searchable, and the position still passes them.
func TestCatchUp_KeepSkipsButMovesPosition(t *testing.T) {
	entries := importedCorpus(300)
	ix := MustOpen(t, t.TempDir(), testKey(2))
	added, err := CatchUp(t.Context(), ix, &journal{entries: entries}, func(ev *onrecord.Event) bool {
		return ev != nil && ev.Channel != "slack"
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := ix.Search(t.Context(), mustParse(t, "alpha channel:slack", time.UTC), SearchOptions{})
	if err != nil || res.Count != 0 {
		t.Errorf("slack events were indexed: %d, %v", res.Count, err)
	}
	if added == 0 {
		t.Error("nothing added")
	}
	if pos, _ := ix.Position(t.Context()); pos != uint64(len(entries)) {
		t.Errorf("position %d, want %d", pos, len(entries))
	}
}
