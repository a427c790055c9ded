package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/onrecord/onrecord/internal/app"
	"github.com/onrecord/onrecord/internal/config"
	"github.com/onrecord/onrecord/internal/ingest"
	"github.com/onrecord/onrecord/internal/sim/fleet"
)

// IngestOptions tune `onrecord bench ingest`.
type IngestOptions struct {
	// Dir is where the scratch data directory goes (the archive's disk).
	Dir string
	// Duration is the length of each load phase.
	Duration time.Duration
	// Rate is the open loop's offered rate, deliveries per second.
	Rate int
	// Clients is the closed loops' number of concurrent connections.
	Clients int
	// Deliveries is how many distinct deliveries the gateway's closed loop
	// may send; 0 means 40,000 per second of Duration, more than this
	// gateway acknowledges, so the loop does not run out.
	Deliveries int
	// Log receives progress lines; nil discards them.
	Log io.Writer
	// Trace, if set, receives the run's timeline as JSON lines (tracer,
	// TraceEvent).
	Trace io.Writer
	// IndexPriority is the gateway's index_priority ("" is the default,
	// as serve runs it).
	IndexPriority string
}

// IngestReport is the JSON object `onrecord bench ingest --json` prints:
// the journal report's results, limits and load average, and the run's
// parameters.
type IngestReport struct {
	Report
	Clients       int    `json:"clients"`
	OfferedRate   int    `json:"offered_rate_per_s"`
	MaxBatchDelay string `json:"max_batch_delay"`
	IndexPriority string `json:"index_priority"`
	CPUs          int    `json:"cpus"`
	// LoadGenerator says where the clients ran: in this process, on the
	// same CPUs as the server they measure, bare or gateway alike.
	LoadGenerator string `json:"load_generator"`
}

// verifyLimit is how many acknowledged deliveries are sent again, after
// the archive is reopened from disk, to check that each one's records are
// there.
const verifyLimit = 2000

// openConns is how many connections the open loop sends on: enough that a
// gateway falling behind the offered rate is offered ever more requests at
// once, as providers that keep sending would, rather than the load
// generator slowing down to its pace.
const openConns = 1024

// Ingest measures the capture gateway — the whole application behind a
// net/http server on loopback, wired to the five provider simulators — in
// one run:
//
//  1. the limits: a 4 KiB fdatasync, and a bare net/http handler that
//     reads the same request bytes and answers 200, closed loop (Clients
//     connections, each sending its next request when answered) and open
//     loop (Rate per second);
//  2. the gateway, closed loop with the same connections: deliveries
//     signed as the providers sign them, each verified, parsed, its media
//     fetched from the simulator, sealed and fdatasynced before the 200;
//     the figure is acknowledged webhooks per second and its ratio to the
//     bare handler's requests per second;
//  3. the same CPU ratio again from interleaved slices (interleave): this
//     VM's speed drifts over seconds, so adjacent short measurements
//     compare better than two long ones taken one after the other;
//  4. the gateway at the fixed offered Rate: achieved rate and latency
//     from each delivery's scheduled send time; then again at half the
//     closed loop's rate, the pipeline's own latency without a queue;
//  5. durability: the archive is closed and opened again from disk, its
//     record count compared with the acknowledgements, and a sample of
//     the acknowledged deliveries sent again, each of which must be found
//     stored (answered 200 as a duplicate, adding no record).
//
// The load generator and the simulators run in this process, on the same
// CPUs as the server under test, for the bare handler and the gateway
// alike; the CPUs each phase kept busy are reported beside it.
func Ingest(ctx context.Context, opts IngestOptions) (*IngestReport, error) {
	tr := newTracer(opts.Trace)
	rep, err := runIngest(ctx, opts, tr)
	if terr := tr.finish(); terr != nil {
		err = errors.Join(err, fmt.Errorf("trace: %w", terr))
	}
	return rep, err
}

// runIngest is Ingest, recording to tr.
func runIngest(ctx context.Context, opts IngestOptions, tr *tracer) (*IngestReport, error) {
	app.TuneGC() // as serve does; the bare handler runs under it too
	if opts.Duration <= 0 {
		opts.Duration = 5 * time.Second
	}
	if opts.Rate <= 0 {
		opts.Rate = 10_000
	}
	if opts.Clients <= 0 {
		opts.Clients = 128
	}
	if opts.Deliveries <= 0 {
		opts.Deliveries = max(1000, int(40_000*opts.Duration.Seconds()))
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, err
	}
	scratch, err := os.MkdirTemp(opts.Dir, "bench-ingest-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(scratch)
	d := opts.Duration

	f, err := fleet.Start(fleet.Options{SignalStreamCount: -1})
	if err != nil {
		return nil, err
	}
	defer f.Close()
	gw, err := startGateway(ctx, f, filepath.Join(scratch, "data"), opts.IndexPriority, tr)
	if err != nil {
		return nil, err
	}
	defer gw.stop()
	rep := &IngestReport{
		Report:  Report{Dir: scratch, Duration: d.String()},
		Clients: opts.Clients, OfferedRate: opts.Rate, MaxBatchDelay: gw.cfg.MaxBatchDelay, IndexPriority: gw.cfg.IndexPriority, CPUs: runtime.NumCPU(),
		LoadGenerator: "in-process: clients, provider simulators and server share the CPUs",
	}

	// Every delivery stores new records: a provider id seen before would
	// be deduplicated, which is cheaper than the path being measured. The
	// two seeds' workloads share no ids.
	nOpen := int(float64(opts.Rate) * d.Seconds())
	fmt.Fprintf(opts.Log, "generating %d + %d distinct signed deliveries\n", opts.Deliveries, nOpen)
	closed, err := encode(f.Workload(gw.url, 1, opts.Deliveries))
	if err != nil {
		return nil, err
	}
	open, err := encode(f.Workload(gw.url, 2, nOpen))
	if err != nil {
		return nil, err
	}
	bare, stopBare, err := bareServer()
	if err != nil {
		return nil, err
	}
	defer stopBare()

	fmt.Fprintln(opts.Log, "measuring 4 KiB fdatasync latency")
	p50, p99, err := fdatasyncLatency(filepath.Join(scratch, "fsync"), min(d, time.Second))
	if err != nil {
		return nil, err
	}
	rep.Limits = append(rep.Limits, Metric{"fdatasync_4k_p50_ms", p50, "ms"}, Metric{"fdatasync_4k_p99_ms", p99, "ms"})

	c := opts.Clients
	phase := func(what string, measure func() (loadResult, error)) (loadResult, error) {
		fmt.Fprintln(opts.Log, what)
		start := time.Now()
		r, err := measure()
		tr.phase(what, start)
		if err == nil {
			err = ctx.Err()
		}
		if err != nil {
			return r, fmt.Errorf("%s: %w", what, err)
		}
		fmt.Fprintf(opts.Log, "  %s\n", r)
		return r, nil
	}
	bareClosed, err := phase(fmt.Sprintf("bare net/http handler, closed loop, %d clients, %s", c, d), func() (loadResult, error) {
		return closedLoop(ctx, bare, closed, c, d, true)
	})
	if err != nil {
		return nil, err
	}
	// A gateway phase also reports the journal fsyncs made during it, and
	// how far the search index was behind at its end; the next phase
	// starts once the index has caught up, so that it does not measure
	// the CPU the index takes catching up with this one.
	gwPhase := func(what string, measure func() (loadResult, error)) (loadResult, syncStats, error) {
		gw.syncs.take()
		before, err := readStages(gw.app().Metrics())
		if err != nil {
			return loadResult{}, syncStats{}, err
		}
		r, err := phase(what, measure)
		st := gw.syncs.take()
		var after stageHists
		if err == nil {
			after, err = readStages(gw.app().Metrics())
		}
		if err == nil {
			st.stages = after.since(before)
			st.indexLag, st.indexCatchUp, err = gw.settleIndex(ctx)
			fmt.Fprintf(opts.Log, "  search index %.0f records behind at the end; caught up in %s\n", st.indexLag, st.indexCatchUp.Round(time.Millisecond))
		}
		return r, st, err
	}
	full, fullSyncs, err := gwPhase(fmt.Sprintf("gateway, closed loop, %d clients, %s", c, d), func() (loadResult, error) {
		return closedLoop(ctx, gw.addr, closed, c, d, false)
	})
	if err != nil {
		return nil, err
	}
	if len(full.acked)+full.failures >= closed.len() {
		fmt.Fprintf(opts.Log, "  all %d distinct deliveries sent in %s; the rate is over that time\n", closed.len(), full.elapsed.Round(time.Millisecond))
	}
	inter, err := interleave(ctx, opts.Log, gw, bare, closed, closed.from(len(full.acked)+full.failures), c, d/5)
	if err != nil {
		return nil, err
	}
	bareOpen, err := phase(fmt.Sprintf("bare net/http handler, open loop, %d/s offered, %s", opts.Rate, d), func() (loadResult, error) {
		return openLoop(ctx, bare, open, opts.Rate, d, openConns)
	})
	if err != nil {
		return nil, err
	}
	what := fmt.Sprintf("gateway, open loop, %d/s offered, %s", opts.Rate, d)
	fullOpen, openSyncs, err := gwPhase(what, func() (loadResult, error) {
		return openLoop(ctx, gw.addr, open, opts.Rate, d, openConns)
	})
	if err != nil {
		return nil, err
	}
	tr.requests(what, fullOpen, opts.Rate)
	openByIndex := gw.catchUps.split(fullOpen, opts.Rate)
	// The latency of the pipeline itself: an open loop at half of what the
	// closed loop sustained, where a rate the gateway cannot keep up with
	// would measure only the queue growing.
	halfRate := max(100, int(full.rate()/2)/100*100)
	half, err := encode(f.Workload(gw.url, 3, int(float64(halfRate)*d.Seconds())))
	if err != nil {
		return nil, err
	}
	what = fmt.Sprintf("gateway, open loop, %d/s offered (half the closed loop's rate), %s", halfRate, d)
	halfOpen, halfSyncs, err := gwPhase(what, func() (loadResult, error) {
		return openLoop(ctx, gw.addr, half, halfRate, d, openConns)
	})
	if err != nil {
		return nil, err
	}
	tr.requests(what, halfOpen, halfRate)
	halfByIndex := gw.catchUps.split(halfOpen, halfRate)

	sfx := fmt.Sprintf("_%dc", c)
	rep.Limits = append(rep.Limits,
		Metric{"bare_http_per_s" + sfx, bareClosed.rate(), "requests/s"},
		Metric{"bare_http_p50_ms" + sfx, percentile(bareClosed.lat, .50), "ms"},
		Metric{"bare_http_p99_ms" + sfx, percentile(bareClosed.lat, .99), "ms"},
		Metric{"bare_http_cpus_busy" + sfx, bareClosed.cores(), "CPUs"},
		Metric{"bare_http_cpu_us_per_request" + sfx, bareClosed.cpuPer(), "µs"},
		Metric{"bare_http_open_p50_ms", percentile(bareOpen.lat, .50), "ms"},
		Metric{"bare_http_open_p99_ms", percentile(bareOpen.lat, .99), "ms"},
		Metric{"bare_http_open_failures", float64(bareOpen.failures + bareOpen.unsent), "requests"},
		Metric{"open_loop_send_lag_p99_ms", percentile(bareOpen.lag, .99), "ms"})
	rep.Results = append(rep.Results,
		Metric{"ingest_webhooks_per_s" + sfx, full.rate(), "webhooks/s"},
		Metric{"ingest_p50_ms" + sfx, percentile(full.lat, .50), "ms"},
		Metric{"ingest_p99_ms" + sfx, percentile(full.lat, .99), "ms"},
		Metric{"ingest_cpus_busy" + sfx, full.cores(), "CPUs"},
		Metric{"ingest_cpu_us_per_webhook" + sfx, full.cpuPer(), "µs"},
		Metric{"ingest_failures" + sfx, float64(full.failures), "webhooks"},
		Metric{"ingest_fsync_p99_ms" + sfx, fullSyncs.p99, "ms"},
		Metric{"ingest_fsync_max_ms" + sfx, fullSyncs.max, "ms"},
		Metric{"ingest_records_per_fsync" + sfx, fullSyncs.perSync, "records"},
		Metric{"ingest_index_lag_at_end" + sfx, fullSyncs.indexLag, "records"},
		Metric{"ingest_index_catchup_s" + sfx, fullSyncs.indexCatchUp.Seconds(), "s"})
	rep.Results = append(rep.Results, fullSyncs.stages.metrics("ingest_stage_", sfx)...)
	if r := bareClosed.rate(); r > 0 {
		rep.Results = append(rep.Results, Metric{"ingest_vs_bare_ratio" + sfx, full.rate() / r, "ratio"})
	}
	// The same ratio in CPU per request (load generator included on both
	// sides): what the rate ratio would be if both kept the CPUs busy.
	if c := full.cpuPer(); c > 0 {
		rep.Results = append(rep.Results, Metric{"ingest_vs_bare_cpu_ratio" + sfx, bareClosed.cpuPer() / c, "ratio"})
	}
	if len(inter.ratios) > 0 {
		rep.Results = append(rep.Results,
			Metric{"ingest_vs_bare_cpu_ratio_interleaved" + sfx, median(inter.ratios), "ratio"},
			Metric{"ingest_vs_bare_cpu_ratio_interleaved_min" + sfx, slices.Min(inter.ratios), "ratio"},
			Metric{"ingest_vs_bare_cpu_ratio_interleaved_max" + sfx, slices.Max(inter.ratios), "ratio"})
	}
	rep.Results = append(rep.Results,
		Metric{"ingest_open_offered_per_s", float64(opts.Rate), "webhooks/s"},
		Metric{"ingest_open_achieved_per_s", fullOpen.rate(), "webhooks/s"},
		Metric{"ingest_open_p50_ms", percentile(fullOpen.lat, .50), "ms"},
		Metric{"ingest_open_p99_ms", percentile(fullOpen.lat, .99), "ms"},
		Metric{"ingest_open_max_ms", percentile(fullOpen.lat, 1), "ms"},
		Metric{"ingest_open_failures", float64(fullOpen.failures), "webhooks"},
		Metric{"ingest_open_unsent", float64(fullOpen.unsent), "webhooks"},
		Metric{"ingest_open_fsync_p99_ms", openSyncs.p99, "ms"},
		Metric{"ingest_open_fsync_max_ms", openSyncs.max, "ms"},
		Metric{"ingest_open_index_lag_at_end", openSyncs.indexLag, "records"},
		Metric{"ingest_open_index_catchup_s", openSyncs.indexCatchUp.Seconds(), "s"},
		Metric{"ingest_open_index_busy_share", openByIndex.busy, "ratio"},
		Metric{"ingest_open_p99_by_index_ms", percentile(openByIndex.during, .99), "ms"},
		Metric{"ingest_open_p99_between_index_ms", percentile(openByIndex.between, .99), "ms"},
		Metric{"ingest_half_offered_per_s", float64(halfRate), "webhooks/s"},
		Metric{"ingest_half_achieved_per_s", halfOpen.rate(), "webhooks/s"},
		Metric{"ingest_half_p50_ms", percentile(halfOpen.lat, .50), "ms"},
		Metric{"ingest_half_p99_ms", percentile(halfOpen.lat, .99), "ms"},
		Metric{"ingest_half_failures", float64(halfOpen.failures + halfOpen.unsent), "webhooks"},
		Metric{"ingest_half_fsync_p99_ms", halfSyncs.p99, "ms"},
		Metric{"ingest_half_fsync_max_ms", halfSyncs.max, "ms"},
		Metric{"ingest_half_index_lag_at_end", halfSyncs.indexLag, "records"},
		Metric{"ingest_half_index_catchup_s", halfSyncs.indexCatchUp.Seconds(), "s"},
		Metric{"ingest_half_index_busy_share", halfByIndex.busy, "ratio"},
		Metric{"ingest_half_p99_by_index_ms", percentile(halfByIndex.during, .99), "ms"},
		Metric{"ingest_half_p99_between_index_ms", percentile(halfByIndex.between, .99), "ms"})
	rep.Results = append(rep.Results, halfSyncs.stages.metrics("ingest_half_stage_", "")...)

	// Durability: close the archive, open it again from disk, and send a
	// sample of what was acknowledged once more. Each must come back as a
	// duplicate of records already there, adding none.
	// While the journal replays, one of them is sent at once: the intake
	// acknowledges it (and the gateway finds it stored after the open).
	acked := len(full.acked) + len(fullOpen.acked) + len(halfOpen.acked) + inter.acked
	stored := gw.app().Archive.Len()
	again := sample(slices.Concat(pick(closed, full.acked), pick(open, fullOpen.acked), pick(half, halfOpen.acked)), verifyLimit)
	if again.len() == 0 {
		return nil, errors.New("durability: no delivery was acknowledged")
	}
	restart, err := gw.reopen(ctx, again.at(0))
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(opts.Log, "archive reopened in %s; a delivery sent meanwhile was acknowledged after %s\n",
		restart.open.Round(time.Millisecond), restart.firstAck.Round(time.Millisecond))
	reopened := gw.app().Archive.Len()
	resent, err := phase(fmt.Sprintf("archive reopened with %d records; %d acknowledged deliveries again", reopened, again.len()), func() (loadResult, error) {
		return closedLoop(ctx, gw.addr, again, c, time.Minute, false)
	})
	if err != nil {
		return nil, err
	}
	added := gw.app().Archive.Len() - reopened
	rep.Results = append(rep.Results,
		Metric{"distinct_deliveries_sent", float64(len(full.acked) + full.failures + len(fullOpen.acked) + fullOpen.failures +
			len(halfOpen.acked) + halfOpen.failures + inter.acked + inter.failures), "webhooks"},
		Metric{"deliveries_acknowledged", float64(acked), "webhooks"},
		Metric{"records_stored", float64(stored), "records"},
		Metric{"records_after_reopen", float64(reopened), "records"},
		Metric{"restart_open_ms", ms(restart.open), "ms"},
		Metric{"restart_first_ack_ms", ms(restart.firstAck), "ms"},
		Metric{"resent_after_reopen", float64(len(resent.acked)), "webhooks"},
		Metric{"resent_found_stored", float64(gw.duplicates()), "events"},
		Metric{"resent_new_records", float64(added), "records"})
	rep.LoadAverage = loadAverage()

	switch {
	case uint64(acked) > reopened:
		return rep, fmt.Errorf("durability: %d deliveries acknowledged but only %d records after reopening", acked, reopened)
	case reopened != stored:
		return rep, fmt.Errorf("durability: %d records before closing, %d after reopening", stored, reopened)
	case resent.failures > 0 || added > 0:
		return rep, fmt.Errorf("durability: acknowledged deliveries sent again after reopening: %d failed (%s), %d new records", resent.failures, resent.firstErr, added)
	}
	return rep, nil
}

// pick returns reqs.at(i) for each i in idx.
func pick(reqs requests, idx []int) [][]byte {
	out := make([][]byte, len(idx))
	for k, i := range idx {
		out[k] = reqs.at(i)
	}
	return out
}

// sample returns up to n of reqs, spread evenly, as requests of their own.
func sample(reqs [][]byte, n int) requests {
	if len(reqs) <= n {
		return packed(reqs)
	}
	out := make([][]byte, n)
	for k := range out {
		out[k] = reqs[k*len(reqs)/n]
	}
	return packed(out)
}

// gateway is the whole application behind a real http.Server on loopback.
// The listener outlives the application so that it can be reopened on the
// same data directory under the same public URL, which Twilio signatures
// cover.
type gateway struct {
	cfg     config.Config
	url     string // public_url: what the deliveries are signed for
	addr    string
	srv     *http.Server
	current atomic.Pointer[opened]
	cancel  context.CancelFunc
	syncs   syncLog
	trace   *tracer
	// catchUps are the search index's catch-ups so far (indexSpans).
	catchUps indexSpans
}

// syncLog collects the journal's fsyncs during one phase.
type syncLog struct {
	mu      sync.Mutex
	took    []float64 // ms
	records int
}

func (s *syncLog) add(took time.Duration, records int) {
	s.mu.Lock()
	s.took = append(s.took, ms(took))
	s.records += records
	s.mu.Unlock()
}

// take returns what was collected since the last take and starts again.
func (s *syncLog) take() syncStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := syncStats{p99: percentile(s.took, .99), max: percentile(s.took, 1)}
	if len(s.took) > 0 {
		st.perSync = float64(s.records) / float64(len(s.took))
	}
	s.took, s.records = nil, 0
	return st
}

// syncStats are one phase's journal fsyncs: the disk latency behind every
// acknowledgement, and how many records each committed.
type syncStats struct {
	p99, max, perSync float64
	// The search index at the end of the phase: records behind, and the
	// time it took to catch up (settleIndex).
	indexLag     float64
	indexCatchUp time.Duration
	// stages is where the phase's deliveries spent their time in the
	// gateway (onrecord_webhook_stage_seconds over the phase).
	stages stageHists
}

// opened is one opening of the application and its handler, built once.
type opened struct {
	app     *app.App
	handler http.Handler
}

func startGateway(ctx context.Context, f *fleet.Fleet, dataDir, indexPriority string, tr *tracer) (*gateway, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	g := &gateway{addr: l.Addr().String(), url: "http://" + l.Addr().String(), trace: tr}
	g.cfg = config.Default()
	g.cfg.DataDir = dataDir
	g.cfg.PublicURL = g.url
	g.cfg.Channels = f.Channels(g.url)
	if indexPriority != "" {
		g.cfg.IndexPriority = indexPriority
	}
	if err := g.cfg.Validate(); err != nil {
		l.Close()
		return nil, err
	}
	if err := g.open(ctx, nil); err != nil {
		l.Close()
		return nil, err
	}
	g.srv = &http.Server{ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: 64 << 10,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			g.current.Load().handler.ServeHTTP(w, r)
		})}
	go g.srv.Serve(l) //nolint:errcheck // ends with Shutdown
	return g, nil
}

// open opens the application; replaying, if set, is called once the
// intake serves the listener and before the journal's replay.
func (g *gateway) open(ctx context.Context, replaying func()) error {
	var intake *ingest.Intake
	opts := app.Options{Config: g.cfg, OnJournalSync: func(took time.Duration, records int) {
		g.syncs.add(took, records)
		g.trace.fsync(took, records)
	}, OnIndexCatchUp: func(took time.Duration, behind int) {
		g.catchUps.add(took)
		g.trace.index(took, behind)
	}}
	if replaying != nil {
		opts.Intake = func(in *ingest.Intake) {
			intake = in
			g.current.Store(&opened{handler: in})
			replaying()
		}
	}
	a, err := app.Open(ctx, opts)
	if err != nil {
		return err
	}
	h := a.PublicHandler()
	g.current.Store(&opened{app: a, handler: h})
	if intake != nil {
		intake.Close(h, a.Gateway.Deliver)
	}
	sctx, cancel := context.WithCancel(ctx)
	a.Start(sctx)
	g.cancel = cancel
	return nil
}

func (g *gateway) app() *app.App { return g.current.Load().app }

// restarted is what reopen measured: how long the archive took to open,
// and how long after the start of the open a delivery sent as soon as
// the intake answered was acknowledged.
type restarted struct{ open, firstAck time.Duration }

// reopen closes the archive and opens it again from disk, as serve does
// at start: probe (an acknowledged delivery, so a duplicate) is sent once
// the intake serves, and must be acknowledged before the replay. Nothing
// else may be in flight.
func (g *gateway) reopen(ctx context.Context, probe []byte) (restarted, error) {
	g.cancel()
	if err := g.app().Close(); err != nil {
		return restarted{}, fmt.Errorf("close the archive: %w", err)
	}
	var r restarted
	var probeErr error
	start := time.Now()
	err := g.open(ctx, func() {
		c := &conn{addr: g.addr}
		defer c.close()
		code, body, err := c.do(probe)
		switch {
		case err != nil:
			probeErr = fmt.Errorf("a delivery sent while the journal replays: %w", err)
		case code != http.StatusOK:
			probeErr = fmt.Errorf("a delivery sent while the journal replays: %d %s", code, body)
		}
		r.firstAck = time.Since(start)
	})
	r.open = time.Since(start)
	return r, errors.Join(err, probeErr)
}

// settleIndex waits until the search index has taken in every committed
// record, and says how far behind it was and how long that took.
func (g *gateway) settleIndex(ctx context.Context) (lag float64, took time.Duration, err error) {
	a := g.app()
	start := time.Now()
	lag = a.IndexLag()
	for l := lag; l != 0; l = a.IndexLag() {
		if l < 0 || time.Since(start) > 10*time.Minute {
			return lag, time.Since(start), fmt.Errorf("the search index did not catch up (%.0f records behind)", l)
		}
		select {
		case <-ctx.Done():
			return lag, time.Since(start), ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return lag, time.Since(start), nil
}

func (g *gateway) duplicates() uint64 {
	var n uint64
	for _, ch := range g.app().Gateway.Channels() {
		n += ch.Duplicates
	}
	return n
}

func (g *gateway) stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := g.srv.Shutdown(ctx)
	g.cancel()
	return errors.Join(err, g.app().Close())
}

// interleaved is interleave's outcome: each slice pair's ratio, and the
// gateway deliveries the slices sent.
type interleaved struct {
	ratios          []float64
	acked, failures int
}

// interleaveSlices is how many pairs of slices interleave measures.
const interleaveSlices = 6

// interleave measures the bare handler and the gateway in alternating
// closed-loop slices of length slice, interleaveSlices of each, and gives
// for each pair the bare handler's CPU per request over the gateway's CPU
// per acknowledged webhook. The gateway's CPU runs from the start of its
// slice until the search index has caught up with it, so the index's work
// is charged to the webhooks that caused it. The bare handler cycles
// through bareReqs; the gateway slices take the deliveries of gwReqs in
// turn (the closed loop's, not yet sent, made before any clock started:
// making them in between would leave garbage to collect in the slices),
// and a slice that runs out of them is shorter. Rates are not compared:
// the index catch-up between slices leaves a CPU idle, which a rate would
// count against the gateway.
func interleave(ctx context.Context, log io.Writer, gw *gateway, bare string, bareReqs, gwReqs requests,
	clients int, slice time.Duration) (interleaved, error) {
	var out interleaved
	fmt.Fprintf(log, "interleaved: %d × (bare handler %s, gateway %s and the index's catch-up), closed loops, %d clients\n",
		interleaveSlices, slice, slice, clients)
	for range interleaveSlices {
		b, err := closedLoop(ctx, bare, bareReqs, clients, slice, true)
		if err != nil {
			return out, fmt.Errorf("interleaved bare slice: %w", err)
		}
		cpu := cpuTime()
		g, err := closedLoop(ctx, gw.addr, gwReqs, clients, slice, false)
		if err != nil {
			return out, fmt.Errorf("interleaved gateway slice: %w", err)
		}
		if _, _, err := gw.settleIndex(ctx); err != nil {
			return out, err
		}
		g.cpu = cpuTime() - cpu
		gwReqs = gwReqs.from(len(g.acked) + g.failures)
		out.acked += len(g.acked)
		out.failures += g.failures
		if bc, gc := b.cpuPer(), g.cpuPer(); bc > 0 && gc > 0 {
			out.ratios = append(out.ratios, bc/gc)
		}
	}
	if len(out.ratios) > 0 {
		fmt.Fprintf(log, "  CPU ratio per pair %.3f, median %.3f\n", out.ratios, median(out.ratios))
	}
	return out, ctx.Err()
}

// median is the middle of xs (the mean of the two middle ones for an even
// count); xs is not changed.
func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
