package index

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/onrecord/onrecord"
)

// importedCorpus is n events whose sent_at is not monotone in seq: most
// arrive live (sent_at rising with seq, a little jitter), but stretches
// are imports of old messages (the last events among them), some are late
// and some from a clock far ahead; times fall on whole minutes or hours,
// so many events tie. Words come from a small vocabulary so queries match
// from a few to most events.
func importedCorpus(n int) []Entry {
	r := rand.New(rand.NewPCG(7, 11))
	vocab := []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet",
		"kilo", "lima", "mike", "november", "oscar", "papa"}
	channels := []string{"whatsapp", "slack", "sms"}
	base := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	entries := make([]Entry, n)
	live := base
	for i := range entries {
		var at time.Time
		switch {
		case i >= 500 && i < 800 && i%3 == 0:
			// A device with its clock days ahead: newer than anything
			// after it, and on a few whole hours, so they tie.
			at = base.AddDate(0, 0, 40).Add(time.Duration(r.IntN(4)) * time.Hour)
		case i >= 3000 && i < 3700, i >= 5000:
			// Imports of last year's messages, in no order: the highest
			// seqs are among the oldest events.
			at = base.AddDate(-1, 0, 0).Add(time.Duration(r.IntN(60*24*30)) * time.Minute)
		case i >= 3700 && i%4 == 0:
			// Delivered late, or early.
			at = live.Add(time.Duration(r.IntN(600)-400) * time.Minute)
		default:
			live = live.Add(time.Duration(r.IntN(3)) * time.Minute) // 0: a tie
			at = live.Add(-time.Duration(r.IntN(2)) * time.Minute)
		}
		words := make([]string, 1+r.IntN(6))
		for j := range words {
			// Skewed: the first words are in most events.
			words[j] = vocab[min(r.IntN(len(vocab)), r.IntN(len(vocab)))]
		}
		sender := r.IntN(20)
		entries[i] = Entry{Seq: uint64(i + 1), Event: &onrecord.Event{
			ID: fmt.Sprintf("%016x", i), Channel: channels[r.IntN(len(channels))], Kind: onrecord.KindMessage,
			ProviderID: fmt.Sprintf("p%d", i), Conversation: fmt.Sprintf("c%d", r.IntN(50)),
			Direction: onrecord.Inbound, SentAt: at, Body: joinWords(words),
			Sender:     onrecord.Party{ID: fmt.Sprintf("1555000%04d", sender), Name: fmt.Sprintf("Person %d", sender)},
			Recipients: []onrecord.Party{{ID: "15550109999", Name: "Desk"}},
		}}
		if i%10 == 0 {
			entries[i].Event = nil // not an event: only moves the position
		}
	}
	return entries
}

// TestSearch_NewestWalkEqualsSortedQuery: the newest-first walk gives the
// very results of sorting every match, on a corpus where sent_at is not
// the journal order, across queries, pages, ties and count caps.
func TestSearch_NewestWalkEqualsSortedQuery(t *testing.T) {
	ix := MustOpen(t, t.TempDir(), testKey(5))
	entries := importedCorpus(6000)
	// Several batches, one smaller than a block and some not aligned to
	// blocks, so sent_max is extended across commits.
	for _, cut := range [][2]int{{0, 300}, {300, 2500}, {2500, 2501}, {2501, 6000}} {
		if err := ix.AddBatch(t.Context(), entries[cut[0]:cut[1]]); err != nil {
			t.Fatal(err)
		}
	}
	sorted := &Index{db: ix.db, w: ix.w, dir: ix.dir, sortAlways: true}
	queries := []string{
		"alpha", "papa", "alpha bravo", "oscar papa", `"alpha bravo"`, `"bravo alpha charlie"`, "alpha OR papa",
		"alpha -bravo", "nosuchword", "alpha channel:slack", "papa from:15550000003", "bravo after:2025-03-02",
		"charlie before:2025-01-01", "delta on:2024-03-15", "kilo OR (lima -alpha)", "alpha -channel:sms",
	}
	pages := []SearchOptions{
		{}, {Limit: 1}, {Limit: 5, Offset: 3}, {Limit: 20, Offset: 100}, {Limit: 100, Offset: 1000},
		{Limit: 7, CountCap: 10}, {Limit: 50, Offset: 5990}, {Limit: MaxLimit, Offset: 200, CountCap: 100_000},
		{Order: Relevance, Limit: 10},
	}
	compared := 0
	for _, qs := range queries {
		q := mustParse(t, qs, time.UTC)
		for _, opts := range pages {
			got, err := ix.Search(t.Context(), q, opts)
			if err != nil {
				t.Fatalf("%s %+v: %v", qs, opts, err)
			}
			want, err := sorted.Search(t.Context(), q, opts)
			if err != nil {
				t.Fatalf("%s %+v (sorted): %v", qs, opts, err)
			}
			if !equalResults(got, want) {
				t.Errorf("%s %+v: walk gives count %d capped %v, %d hits %v; sorting gives count %d capped %v, %d hits %v",
					qs, opts, got.Count, got.Capped, len(got.Hits), seqs(got), want.Count, want.Capped, len(want.Hits), seqs(want))
			}
			if len(want.Hits) > 0 {
				compared++
			}
		}
	}
	if compared < len(queries)*len(pages)/2 {
		t.Errorf("only %d searches had hits: the corpus does not exercise the walk", compared)
	}
}

// TestSearch_NewestWalkSurvivesReset: an emptied and refilled index bounds
// the walk by its new events alone.
func TestSearch_NewestWalkSurvivesReset(t *testing.T) {
	ix := MustOpen(t, t.TempDir(), testKey(5))
	entries := importedCorpus(3000)
	if err := ix.AddBatch(t.Context(), entries); err != nil {
		t.Fatal(err)
	}
	if err := ix.Reset(t.Context()); err != nil {
		t.Fatal(err)
	}
	// Refill with the events' times reversed: the newest now come first.
	for i := range entries {
		if ev := entries[i].Event; ev != nil {
			ev.SentAt = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).Add(-time.Duration(i) * time.Minute)
		}
	}
	if err := ix.AddBatch(t.Context(), entries); err != nil {
		t.Fatal(err)
	}
	sorted := &Index{db: ix.db, w: ix.w, dir: ix.dir, sortAlways: true}
	for _, qs := range []string{"alpha", "papa bravo", `"charlie delta"`} {
		q := mustParse(t, qs, time.UTC)
		got, err := ix.Search(t.Context(), q, SearchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want, err := sorted.Search(t.Context(), q, SearchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !equalResults(got, want) {
			t.Errorf("%s: walk %v, sorting %v", qs, seqs(got), seqs(want))
		}
	}
}

func seqs(r Results) []uint64 {
	var out []uint64
	for _, h := range r.Hits {
		out = append(out, h.Seq)
	}
	return out
}
