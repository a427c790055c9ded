package index

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/onrecord/onrecord"
)

// corpus makes n events with a Zipf word distribution, so some words are
// in most messages and most words in few, as in real chat.
func corpus(n int) []Entry {
	r := rand.New(rand.NewPCG(1, 2))
	common := []string{"the", "to", "and", "a", "you", "i", "is", "it", "for", "on", "we", "can", "please", "call",
		"meeting", "client", "trade", "wire", "funds", "account", "invoice", "today", "tomorrow", "thanks", "ok"}
	vocab := slices.Clone(common)
	for i := range 5000 {
		vocab = append(vocab, fmt.Sprintf("w%x%s", i, string(rune('a'+i%26))))
	}
	zipf := rand.NewZipf(r, 1.1, 2, uint64(len(vocab)-1))
	channels := []string{"whatsapp", "slack", "twilio", "telegram", "email"}
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	entries := make([]Entry, n)
	for i := range entries {
		words := make([]string, 6+r.IntN(25))
		for j := range words {
			words[j] = vocab[zipf.Uint64()]
		}
		sender := r.IntN(300)
		ev := &onrecord.Event{
			ID: fmt.Sprintf("%016x", i), Channel: channels[i%len(channels)], Kind: onrecord.KindMessage,
			ProviderID: fmt.Sprintf("p%d", i), Conversation: fmt.Sprintf("conv%d", r.IntN(2000)),
			Direction: onrecord.Inbound, Sender: onrecord.Party{ID: fmt.Sprintf("1555%07d", sender), Name: fmt.Sprintf("Person %d", sender)},
			Recipients: []onrecord.Party{{ID: "15550109999", Name: "Desk Line"}},
			SentAt:     base.Add(time.Duration(i) * 37 * time.Second),
			Body:       joinWords(words),
		}
		if i%2 == 0 {
			ev.Direction = onrecord.Outbound
		}
		if i%20 == 0 {
			ev.Attachments = []onrecord.Attachment{{Name: fmt.Sprintf("%s-%d.pdf", words[0], i), ContentType: "application/pdf"}}
		}
		entries[i] = Entry{Seq: uint64(i + 1), Event: ev}
	}
	return entries
}

func joinWords(w []string) string {
	n := 0
	for _, s := range w {
		n += len(s) + 1
	}
	b := make([]byte, 0, n)
	for i, s := range w {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, s...)
	}
	return string(b)
}

const benchEvents = 50_000

// BenchmarkIndexAdd indexes 50,000 events per iteration into a fresh
// encrypted index, in batches of BatchSize.
func BenchmarkIndexAdd(b *testing.B) {
	entries := corpus(benchEvents)
	b.ResetTimer()
	var total time.Duration
	for b.Loop() {
		start := time.Now()
		addToFreshIndex(b, entries, BatchSize, nil)
		total += time.Since(start)
	}
	b.ReportMetric(float64(b.N*len(entries))/total.Seconds(), "events/s")
	b.ReportMetric(float64(runtime.NumCPU()), "cpus")
}

// addToFreshIndex adds entries in batches of batch to a new encrypted
// index, opened and closed with the timer stopped; after, if not nil, is
// called with the number added so far after each batch.
func addToFreshIndex(b *testing.B, entries []Entry, batch int, after func(added int)) {
	b.StopTimer()
	ix, err := Open(b.TempDir(), testKey(3))
	if err != nil {
		b.Fatal(err)
	}
	b.StartTimer()
	for i := 0; i < len(entries); i += batch {
		end := min(i+batch, len(entries))
		if err := ix.AddBatch(b.Context(), entries[i:end]); err != nil {
			b.Fatal(err)
		}
		if after != nil {
			after(end)
		}
	}
	b.StopTimer()
	ix.Close()
	b.StartTimer()
}

// BenchmarkIndexGrowth adds 400,000 events in transactions of 5,000 (what
// the live tailer commits at 10,000/s every IndexInterval) and reports the
// rate over the first and the last 50,000: what grows with the index (B-tree
// depth, FTS5 merges, WAL frames, and before epochs a commit's dirty pages
// all over the random-keyed indexes) a benchmark starting empty does not
// see. Conversations, parties and targets are taken at random from large
// sets, as a real archive's are (a fifth of events in groups, a third
// pointing at an earlier message). One iteration takes about 40 s:
// go test -run '^$' -bench IndexGrowth -benchtime 1x ./internal/index/
func BenchmarkIndexGrowth(b *testing.B) {
	const total, batch, window = 400_000, 5_000, 50_000
	entries := corpus(total)
	for i, en := range entries {
		ev := en.Event
		ev.Conversation = fmt.Sprintf("whatsapp:+1555%07d", (i*7919)%200_000)
		ev.Sender.ID = fmt.Sprintf("+1555%07d", (i*104_729)%100_000)
		ev.Recipients = []onrecord.Party{{ID: fmt.Sprintf("+1666%07d", (i*15_485_863)%100_000), Name: "Client"}}
		if i%5 == 0 {
			ev.GroupName = fmt.Sprintf("Fixed Income Desk %d", (i*31)%300)
		}
		if i%3 == 0 && i > 0 {
			ev.Target = fmt.Sprintf("p%d", (i*7919)%i)
		}
	}
	var first, last time.Duration
	for b.Loop() {
		start := time.Now()
		addToFreshIndex(b, entries, batch, func(added int) {
			switch added {
			case window:
				first += time.Since(start)
			case total - window:
				start = time.Now()
			case total:
				last += time.Since(start)
			}
		})
	}
	b.ReportMetric(float64(b.N*window)/first.Seconds(), "first-50k-events/s")
	b.ReportMetric(float64(b.N*window)/last.Seconds(), "last-50k-events/s")
}

// BenchmarkSearch measures one search (count capped at 1000 plus the top
// 20) on a 50,000-event index.
func BenchmarkSearch(b *testing.B) {
	ix := benchIndex(b)
	for _, bc := range []struct {
		name, query string
		order       Order
	}{
		{"two-term-AND", "wire funds", Newest},
		{"phrase", `"please call"`, Newest},
		{"rare-word", "w3e8c", Newest},
		{"broad", "the", Newest},
		{"broad-relevance", "the", Relevance},
		{"prefix", "w1a*", Newest},
		{"OR-NOT", "(wire OR trade) -client", Newest},
		{"field-and-text", "from:15550000042 invoice", Newest},
		{"metadata-only", "channel:slack direction:outbound", Newest},
		{"conversation", "conversation:conv42", Newest},
		{"conversation-and-text", "conversation:conv42 wire", Newest},
		{"date-range", "after:2024-01-05 before:2024-01-06", Newest},
	} {
		q := mustParse(b, bc.query, nil)
		b.Run(bc.name, func(b *testing.B) {
			var res Results
			var err error
			for b.Loop() {
				res, err = ix.Search(b.Context(), q, SearchOptions{Order: bc.order})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(res.Count), "hits")
		})
	}
}

// BenchmarkSearchNewestWalk compares the newest-first walk (newest.go)
// with sorting every match, on a 50,000-event index.
func BenchmarkSearchNewestWalk(b *testing.B) {
	ix := benchIndex(b)
	sorted := &Index{db: ix.db, w: ix.w, dir: ix.dir, sortAlways: true}
	for _, query := range []string{"the", "wire funds", `"please call"`} {
		q := mustParse(b, query, nil)
		for _, v := range []struct {
			name string
			ix   *Index
		}{{"walk", ix}, {"sort", sorted}} {
			b.Run(query+"/"+v.name, func(b *testing.B) {
				for b.Loop() {
					if _, err := v.ix.Search(b.Context(), q, SearchOptions{}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkSearchEpochs runs the lookups that visit every epoch
// (epochShift) on the 50,000 events with consecutive seqs (one epoch) and
// with seqs spread over 80 epochs, as 10,000,000 records would be.
func BenchmarkSearchEpochs(b *testing.B) {
	for _, epochs := range []int{1, 80} {
		ix := benchIndexStride(b, max(1, epochs<<epochShift/benchEvents))
		for _, query := range []string{"conversation:conv42", "conversation:conv42 wire", "from:15550000042 invoice", "participant:15550000042"} {
			q := mustParse(b, query, nil)
			b.Run(fmt.Sprintf("%d-epochs/%s", epochs, query), func(b *testing.B) {
				for b.Loop() {
					if _, err := ix.Search(b.Context(), q, SearchOptions{}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		q := mustParse(b, "channel:twilio kind:message wire", nil)
		b.Run(fmt.Sprintf("%d-epochs/matches-with-linked", epochs), func(b *testing.B) {
			for b.Loop() {
				if _, err := ix.Matches(b.Context(), q, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchIndex is a 50,000-event index for the search benchmarks, closed
// when the benchmark ends.
func benchIndex(b *testing.B) *Index { return benchIndexStride(b, 1) }

// benchIndexStride is benchIndex with the events' seqs stride apart.
func benchIndexStride(b *testing.B, stride int) *Index {
	ix, err := Open(b.TempDir(), testKey(3))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ix.Close() })
	entries := corpus(benchEvents)
	for i := range entries {
		entries[i].Seq = uint64(i*stride + 1)
	}
	for i := 0; i < len(entries); i += BatchSize {
		if err := ix.AddBatch(b.Context(), entries[i:min(i+BatchSize, len(entries))]); err != nil {
			b.Fatal(err)
		}
	}
	return ix
}
