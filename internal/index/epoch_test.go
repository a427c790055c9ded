package index

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestSearch_SameAnswersAcrossEpochs indexes the test events twice: with
// consecutive seqs (all in epoch 0) and spread so that every event is in an
// epoch of its own, some epochs left empty. Every known-answer query, the
// lookups by conversation, participant and custodian, and the records
// Matches links by target must find the same events in both: a lookup
// visits every epoch, and a status or reaction is linked to its message
// whichever epochs the two are in (an import can put a message after its
// reactions).
func TestSearch_SameAnswersAcrossEpochs(t *testing.T) {
	dense, entries := loadedIndex(t)
	spread := MustOpen(t, t.TempDir(), testKey(1))
	// Spread seqs in reverse: later events get lower epochs, so targets
	// point both ways across epochs.
	const stride = 3 << epochShift / 2 // an epoch and a half: some epochs stay empty
	seqOf := map[uint64]uint64{}       // spread seq → dense seq
	var far []Entry
	for i, en := range entries {
		s := uint64(len(entries)-i)*stride + uint64(i%3)
		seqOf[s] = en.Seq
		far = append(far, Entry{Seq: s, Event: en.Event})
	}
	if err := spread.AddBatch(t.Context(), far); err != nil {
		t.Fatal(err)
	}
	var epochs int
	if err := spread.db.QueryRowContext(t.Context(), "SELECT count(*) FROM epochs").Scan(&epochs); err != nil {
		t.Fatal(err)
	}
	if epochs != len(entries) {
		t.Fatalf("%d epochs for %d events spread one to an epoch", epochs, len(entries))
	}

	data, err := os.ReadFile("testdata/queries.txt")
	if err != nil {
		t.Fatal(err)
	}
	var queries []string
	for line := range strings.Lines(string(data)) {
		if q, _, ok := strings.Cut(strings.TrimSuffix(line, "\n"), "\t"); ok && !strings.HasPrefix(q, "#") {
			queries = append(queries, q)
		}
	}
	queries = append(queries, "custodian:ana", "custodian:ana wire", `conversation:"deal team"`)
	resolve := func(context.Context, string) ([]CustodianSpan, error) {
		return []CustodianSpan{
			{Channel: "whatsapp", ID: "+1 555 010 2030", To: time.Date(2024, 3, 5, 0, 0, 0, 0, time.UTC)},
			{Channel: "email", ID: "ana.lima@example.com"},
		}, nil
	}
	ids := func(ix *Index, q string, fromSpread bool) (hits, matches []string) {
		t.Helper()
		parsed := mustParse(t, q, time.UTC)
		res, err := ix.Search(t.Context(), parsed, SearchOptions{Custodian: resolve, Limit: 1000})
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		id := func(seq uint64) string {
			if fromSpread {
				seq = seqOf[seq]
			}
			return entries[seq-1].Event.ProviderID
		}
		for _, h := range res.Hits {
			hits = append(hits, id(h.Seq))
		}
		seqs, err := ix.Matches(t.Context(), parsed, resolve)
		if err != nil {
			t.Fatalf("Matches(%s): %v", q, err)
		}
		for _, s := range seqs {
			matches = append(matches, id(s+1))
		}
		slices.Sort(hits) // the spread index has other seqs, hence other ties
		slices.Sort(matches)
		return hits, matches
	}
	linked := 0
	for _, q := range queries {
		wantHits, wantMatches := ids(dense, q, false)
		gotHits, gotMatches := ids(spread, q, true)
		if !slices.Equal(gotHits, wantHits) {
			t.Errorf("%s: spread over epochs finds %v, want %v", q, gotHits, wantHits)
		}
		if !slices.Equal(gotMatches, wantMatches) {
			t.Errorf("Matches(%s): spread over epochs %v, want %v", q, gotMatches, wantMatches)
		}
		linked += len(wantMatches) - len(wantHits)
	}
	if linked == 0 {
		t.Error("no query brought a linked record: the test does not exercise the target lookup")
	}
}
