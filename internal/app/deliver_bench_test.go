//go:build unix

package app

import (
	"bytes"
	"net/http/httptest"
	"runtime/debug"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/onrecord/onrecord/internal/config"
	"github.com/onrecord/onrecord/internal/sim/fleet"
)

// BenchmarkGatewayDeliver runs the benchmark workload's deliveries through
// the public handler without a network in front of it: body read,
// signature, parse, media fetched from the simulators, seal, group-committed
// fdatasync, and (before the clock stops) the search index taking them in.
// cpu-µs/op is the process's user+system CPU per delivery, the figure that
// bench ingest's ratio to the bare handler comes down to, measured here
// without the load generator, the TCP stack in front of the server or the
// network noise of an end-to-end run; the collector is tuned as serve
// tunes it. Run with -benchtime 20000x or less: each delivery is distinct
// up to deliverWorkload, and repeats after that would be duplicates, which
// cost less.
func BenchmarkGatewayDeliver(b *testing.B) {
	const deliverWorkload = 40_000
	gc := debug.SetGCPercent(-1) // read the setting, to restore it after
	debug.SetGCPercent(gc)
	defer debug.SetGCPercent(gc)
	TuneGC()
	f, err := fleet.Start(fleet.Options{SignalStreamCount: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	const public = "http://127.0.0.1:8080"
	cfg := config.Default()
	cfg.DataDir, cfg.PublicURL, cfg.Channels = b.TempDir(), public, f.Channels(public)
	if err := cfg.Validate(); err != nil {
		b.Fatal(err)
	}
	a, err := Open(b.Context(), Options{Config: cfg})
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	a.Start(b.Context())
	h := a.PublicHandler()
	work := f.Workload(public, 1, deliverWorkload)
	if b.N > len(work) {
		b.Logf("%d iterations of %d distinct deliveries: the rest are duplicates", b.N, len(work))
	}

	var next atomic.Int64
	start := cpuTime(b)
	b.SetParallelism(32) // enough appends in flight to fill a group commit
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			d := work[int(next.Add(1)-1)%len(work)]
			r := httptest.NewRequest(d.Method, d.URL, bytes.NewReader(d.Body))
			r.Header = d.Header.Clone()
			r.RemoteAddr = "127.0.0.1:1" // Signal's push is taken from loopback
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code/100 != 2 {
				b.Errorf("%s %s: %d %s", d.Kind, d.URL, w.Code, w.Body)
				return
			}
		}
	})
	if err := a.index.catchUp(b.Context()); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N)/float64(time.Microsecond), "cpu-µs/op")
}

func cpuTime(tb testing.TB) time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
