package archive

import (
	"crypto/rand"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/onrecord/onrecord"
)

// BenchmarkAppendRaw measures the whole write path — seal, journal with
// group commit and fdatasync, Merkle leaf — with 256 concurrent writers on
// 2 cores. `onrecord bench journal` prints the same figure beside the
// machine's limits.
func BenchmarkAppendRaw(b *testing.B) {
	for _, size := range []int{512, 1536} {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			cfg := testConfig(b, b.TempDir())
			cfg.SegmentSize = "64MiB" // the default: rolls are rare, as in production
			a := mustOpen(b, cfg, nil)
			defer a.Close()
			pt := make([]byte, size)
			rand.Read(pt)
			b.SetParallelism(128)
			b.SetBytes(int64(size))
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := a.AppendRaw(b.Context(), pt); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkOpen measures a restart: opening a data directory of 200,000
// events (about 1.5 KiB each), which replays the whole journal into the
// Merkle tree and the duplicate map. Capture is down for that long. It
// reports the replay rate and the heap the open archive holds per record.
func BenchmarkOpen(b *testing.B) {
	const n = 200_000
	cfg := testConfig(b, b.TempDir())
	cfg.SegmentSize = "64MiB"
	a := mustOpen(b, cfg, nil)
	body := strings.Repeat("lorem ipsum dolor sit amet ", 40)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for i := next.Add(1); i <= n; i = next.Add(1) {
				if _, err := a.Append(b.Context(), event(int(i), body)); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := a.Close(); err != nil {
		b.Fatal(err)
	}
	var heap uint64
	b.ResetTimer()
	for b.Loop() {
		var before, after runtime.MemStats
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&before)
		b.StartTimer()
		reopened := mustOpen(b, cfg, nil)
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&after)
		heap += after.HeapAlloc - before.HeapAlloc
		if err := reopened.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(heap)/float64(b.N)/n, "heap-B/record")
}

// BenchmarkAppendGroupMessage appends messages of governed groups of 20,
// 60 and 2,000 members, each carrying the group's roster (and, for the
// largest, every member as a recipient, as a message sent to the group
// does), 16 × GOMAXPROCS writers at a time: what the roster and recipient blobs cost or
// save on the capture path. It reports the mean record size.
func BenchmarkAppendGroupMessage(b *testing.B) {
	for _, members := range []int{20, 60, 2000} {
		b.Run(fmt.Sprintf("%dmembers", members), func(b *testing.B) {
			cfg := testConfig(b, b.TempDir())
			cfg.SegmentSize = "64MiB"
			a := mustOpen(b, cfg, nil)
			defer a.Close()
			var roster []onrecord.GroupMember
			var recipients []onrecord.Party
			for i := range members {
				roster = append(roster, onrecord.GroupMember{Address: fmt.Sprintf("+1555%07d", i), Person: fmt.Sprintf("person-%d", i), Name: fmt.Sprintf("Trader %d", i)})
				recipients = append(recipients, onrecord.Party{ID: roster[i].Address, Name: roster[i].Name})
			}
			var n atomic.Int64
			b.SetParallelism(16)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					ev := event(int(n.Add(1)), "desk update")
					ev.Group, ev.GroupName = true, "Desk"
					ev.Capture = &onrecord.Capture{GroupID: "grp-desk", Roster: roster}
					if members > 100 {
						ev.Recipients = recipients
					}
					if _, err := a.Append(b.Context(), ev); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			var bytes int
			for seq := range a.Len() {
				env, err := a.Envelope(seq)
				if err != nil {
					b.Fatal(err)
				}
				bytes += len(env)
			}
			b.ReportMetric(float64(bytes)/float64(a.Len()), "record-B/op")
		})
	}
}
