package archive

import (
	"crypto/rand"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
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
