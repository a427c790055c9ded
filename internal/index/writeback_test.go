package index

import (
	"slices"
	"strings"
	"testing"
)

// The index's files go through pacedVFS: a load larger than a few
// megabytes is written back in steps, and what was written that way reads
// back whole after reopening.
func TestWriteBack_PacesAndKeepsData(t *testing.T) {
	entries := corpus(20_000)
	dir := t.TempDir()
	ix := MustOpen(t, dir, testKey(5))
	before := writeBacks.Load()
	for b := range slices.Chunk(entries, BatchSize) {
		if err := ix.AddBatch(t.Context(), b); err != nil {
			t.Fatal(err)
		}
	}
	if n := writeBacks.Load() - before; n < 2 {
		t.Errorf("%d write-backs while indexing 20,000 events; want the WAL written back in steps", n)
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}

	ix = MustOpen(t, dir, testKey(5))
	pos, err := ix.Position(t.Context())
	if err != nil || pos != uint64(len(entries)) {
		t.Fatalf("position after reopening = %d, %v; want %d", pos, err, len(entries))
	}
	// Count the events with a common word and compare.
	want := 0
	for _, e := range entries {
		if strings.Contains(" "+e.Event.Body+" ", " client ") {
			want++
		}
	}
	res, err := ix.Search(t.Context(), mustParse(t, "client", nil), SearchOptions{Limit: 1, CountCap: len(entries)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Count != want || res.Capped {
		t.Errorf("search after reopening counts %s; want %d", res.CountText(), want)
	}
}
