// Package bench measures the write path against the machine's own limits,
// in one run on one disk: the latency of a 4 KiB fdatasync, a bare
// group-commit loop (write + fdatasync, no crypto, no tree), and then the
// whole path — seal, journal, Merkle leaf — with 1, 16 and 256 concurrent
// writers. Only ratios to limits measured in the same run mean anything on
// a shared machine; the load average is reported beside them.
package bench

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/onrecord/onrecord/internal/archive"
	"github.com/onrecord/onrecord/internal/config"
	"github.com/onrecord/onrecord/internal/durable"
)

// Metric is one named figure.
type Metric struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
}

// Report is the JSON object `onrecord bench journal --json` prints.
type Report struct {
	Results     []Metric   `json:"results"`
	Limits      []Metric   `json:"limits"`
	LoadAverage [3]float64 `json:"load_average"`
	Dir         string     `json:"dir"`
	Duration    string     `json:"duration_per_run"`
}

// Options tune the run.
type Options struct {
	// Dir is where the scratch data directory goes (the same disk as the
	// archive, so the limits are that disk's).
	Dir      string
	Duration time.Duration
	Writers  []int
	Sizes    []int
	// Log receives progress lines; nil discards them.
	Log io.Writer
}

// Journal runs the journal benchmark.
func Journal(ctx context.Context, opts Options) (*Report, error) {
	if opts.Duration <= 0 {
		opts.Duration = 2 * time.Second
	}
	if len(opts.Writers) == 0 {
		opts.Writers = []int{1, 16, 256}
	}
	if len(opts.Sizes) == 0 {
		opts.Sizes = []int{512, 1536}
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, err
	}
	scratch, err := os.MkdirTemp(opts.Dir, "bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(scratch)
	rep := &Report{Dir: scratch, Duration: opts.Duration.String()}

	fmt.Fprintln(opts.Log, "measuring 4 KiB fdatasync latency")
	p50, p99, err := fdatasyncLatency(filepath.Join(scratch, "fsync"), opts.Duration)
	if err != nil {
		return nil, err
	}
	rep.Limits = append(rep.Limits, Metric{"fdatasync_4k_p50_ms", p50, "ms"}, Metric{"fdatasync_4k_p99_ms", p99, "ms"})

	for _, w := range []int{16, 256} {
		fmt.Fprintf(opts.Log, "measuring the bare group-commit loop, %d writers\n", w)
		rate, err := bareLoop(ctx, filepath.Join(scratch, fmt.Sprintf("bare%d", w)), w, 1536, opts.Duration)
		if err != nil {
			return nil, err
		}
		rep.Limits = append(rep.Limits, Metric{fmt.Sprintf("bare_group_commit_per_s_%dw_1536B", w), rate, "records/s"})
	}

	for _, size := range opts.Sizes {
		for _, w := range opts.Writers {
			fmt.Fprintf(opts.Log, "measuring seal + journal + ledger, %d writers, %d B records\n", w, size)
			dir := filepath.Join(scratch, fmt.Sprintf("archive-%d-%d", size, w))
			rate, lat, err := archiveRun(ctx, dir, w, size, opts.Duration)
			if err != nil {
				return nil, err
			}
			sfx := fmt.Sprintf("%dw_%dB", w, size)
			rep.Results = append(rep.Results,
				Metric{"journal_appends_per_s_" + sfx, rate, "records/s"},
				Metric{"journal_ack_p50_ms_" + sfx, percentile(lat, 0.50), "ms"},
				Metric{"journal_ack_p99_ms_" + sfx, percentile(lat, 0.99), "ms"})
		}
	}
	// The figure the target is set on: the whole write path against the
	// bare loop measured minutes before on the same disk.
	if bare, full := find(rep.Limits, "bare_group_commit_per_s_256w_1536B"), find(rep.Results, "journal_appends_per_s_256w_1536B"); bare > 0 && full > 0 {
		rep.Results = append(rep.Results, Metric{"journal_vs_bare_ratio_256w_1536B", full / bare, "ratio"})
	}
	rep.LoadAverage = loadAverage()
	return rep, nil
}

func find(ms []Metric, name string) float64 {
	for _, m := range ms {
		if m.Name == name {
			return m.Value
		}
	}
	return 0
}

func percentile(ms []float64, p float64) float64 {
	if len(ms) == 0 {
		return 0
	}
	// On a copy: callers keep ms in request order, parallel to other
	// slices (loadResult.acked).
	if !slices.IsSorted(ms) {
		ms = slices.Sorted(slices.Values(ms))
	}
	i := int(p * float64(len(ms)-1))
	return ms[i]
}

func fdatasyncLatency(path string, d time.Duration) (p50, p99 float64, err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	buf := make([]byte, 4096)
	var lat []float64
	deadline := time.Now().Add(d)
	for i := 0; time.Now().Before(deadline) || len(lat) < 20; i++ {
		rand.Read(buf)
		t := time.Now()
		if _, err := f.WriteAt(buf, int64(i%256)*4096); err != nil {
			return 0, 0, err
		}
		if err := durable.Fdatasync(f); err != nil {
			return 0, 0, fmt.Errorf("fdatasync: %w", err)
		}
		lat = append(lat, float64(time.Since(t).Microseconds())/1000)
	}
	return percentile(lat, 0.5), percentile(lat, 0.99), nil
}

// bareLoop is the simplest correct group commit: writers hand records to
// one goroutine that appends them to a file with one write, fdatasyncs,
// and releases the batch. No framing beyond a length, no crypto, no tree,
// no segment management: the ceiling the real write path is compared with.
func bareLoop(ctx context.Context, path string, writers, size int, d time.Duration) (float64, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	preallocate(f, 256<<20) // not every file system preallocates; the loop still runs
	type batch struct {
		buf  []byte
		done chan struct{}
		err  error
	}
	var (
		mu   sync.Mutex
		cur  = &batch{done: make(chan struct{})}
		kick = make(chan struct{}, 1)
		stop = make(chan struct{})
	)
	var off int64
	go func() {
		for {
			select {
			case <-kick:
			case <-stop:
				return
			}
			// No timer: whatever queued during the previous write and
			// fdatasync is the next batch, the classic group commit.
			mu.Lock()
			b := cur
			cur = &batch{done: make(chan struct{}), buf: make([]byte, 0, len(b.buf))}
			mu.Unlock()
			if len(b.buf) > 0 {
				if off+int64(len(b.buf)) > 256<<20 {
					off = 0
				}
				_, b.err = f.WriteAt(b.buf, off)
				off += int64(len(b.buf))
				if b.err == nil {
					b.err = durable.Fdatasync(f)
				}
			}
			close(b.done)
		}
	}()
	defer close(stop)
	rec := make([]byte, size)
	rand.Read(rec)
	var n atomic.Int64
	var wg sync.WaitGroup
	deadline := time.Now().Add(d)
	for range writers {
		wg.Go(func() {
			for time.Now().Before(deadline) && ctx.Err() == nil {
				mu.Lock()
				b := cur
				b.buf = append(b.buf, byte(size>>8), byte(size))
				b.buf = append(b.buf, rec...)
				mu.Unlock()
				select {
				case kick <- struct{}{}:
				default:
				}
				<-b.done
				if b.err != nil {
					return
				}
				n.Add(1)
			}
		})
	}
	start := time.Now()
	wg.Wait()
	return float64(n.Load()) / time.Since(start).Seconds(), nil
}

func archiveRun(ctx context.Context, dir string, writers, size int, d time.Duration) (float64, []float64, error) {
	cfg := config.Default()
	cfg.DataDir = dir
	a, err := archive.Open(ctx, archive.Options{Config: cfg})
	if err != nil {
		return 0, nil, err
	}
	defer a.Close()
	pt := make([]byte, size)
	rand.Read(pt)
	lats := make([][]float64, writers)
	var wg sync.WaitGroup
	var failed atomic.Value
	deadline := time.Now().Add(d)
	start := time.Now()
	for i := range writers {
		wg.Go(func() {
			l := make([]float64, 0, 4096)
			for time.Now().Before(deadline) && ctx.Err() == nil {
				t := time.Now()
				if _, err := a.AppendRaw(ctx, pt); err != nil {
					failed.Store(err)
					return
				}
				l = append(l, float64(time.Since(t).Microseconds())/1000)
			}
			lats[i] = l
		})
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	if err, _ := failed.Load().(error); err != nil {
		return 0, nil, err
	}
	var all []float64
	for _, l := range lats {
		all = append(all, l...)
	}
	return float64(len(all)) / elapsed, all, nil
}

func loadAverage() [3]float64 {
	var out [3]float64
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return out
	}
	for i, f := range strings.Fields(string(b))[:3] {
		out[i], _ = strconv.ParseFloat(f, 64)
	}
	return out
}
