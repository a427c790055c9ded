package bench

import (
	"bufio"
	"encoding/json"
	"io"
	"runtime/debug"
	"slices"
	"sync"
	"time"
)

// tracer writes what `bench ingest --trace FILE` records: one JSON object
// per line for each phase, each acknowledged open-loop delivery, each
// journal fsync, each search-index catch-up and each garbage collection,
// timed from the start of the run. A p99 says how bad the tail is; this
// says what it lined up with (the eighth session's BENCHMARKS.md entry
// was read from such a file). It holds timings and counts only, never a
// delivery's content. A nil *tracer records nothing.
type tracer struct {
	mu    sync.Mutex
	w     *bufio.Writer
	start time.Time
	err   error
}

// TraceEvent is one line of the trace.
type TraceEvent struct {
	// Kind is "phase", "request", "fsync", "index" or "gc".
	Kind string `json:"kind"`
	// AtMS is when it began, in milliseconds from the start of the run:
	// for a request, when it was due to be sent (the open loop's
	// schedule, which its latency is measured from).
	AtMS float64 `json:"at_ms"`
	// TookMS is how long it took: the phase, the request's latency, the
	// fsync, the catch-up, the collection's stop-the-world pauses.
	TookMS float64 `json:"took_ms"`
	// Phase names the phase (phase and request lines).
	Phase string `json:"phase,omitempty"`
	// Records is the records an fsync committed, or how many the index
	// was behind when its catch-up began.
	Records int `json:"records,omitempty"`
}

func newTracer(w io.Writer) *tracer {
	if w == nil {
		return nil
	}
	return &tracer{w: bufio.NewWriter(w), start: time.Now()}
}

// since is t in milliseconds from the start of the run.
func (tr *tracer) since(t time.Time) float64 { return ms(t.Sub(tr.start)) }

func (tr *tracer) write(ev TraceEvent) {
	if tr == nil {
		return
	}
	b, err := json.Marshal(ev)
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.err != nil {
		return
	}
	if err == nil {
		b = append(b, '\n')
		_, err = tr.w.Write(b)
	}
	tr.err = err
}

// phase records a phase that began at start and ends now.
func (tr *tracer) phase(name string, start time.Time) {
	if tr == nil {
		return
	}
	tr.write(TraceEvent{Kind: "phase", Phase: name, AtMS: tr.since(start), TookMS: ms(time.Since(start))})
}

// fsync records a journal fsync that ends now.
func (tr *tracer) fsync(took time.Duration, records int) {
	if tr == nil {
		return
	}
	tr.write(TraceEvent{Kind: "fsync", AtMS: tr.since(time.Now().Add(-took)), TookMS: ms(took), Records: records})
}

// index records a search-index catch-up that ends now.
func (tr *tracer) index(took time.Duration, behind int) {
	if tr == nil {
		return
	}
	tr.write(TraceEvent{Kind: "index", AtMS: tr.since(time.Now().Add(-took)), TookMS: ms(took), Records: behind})
}

// requests records an open loop's acknowledged deliveries: delivery i was
// due perSecond-th of a second after r.start.
func (tr *tracer) requests(phase string, r loadResult, perSecond int) {
	if tr == nil || perSecond <= 0 {
		return
	}
	for k, i := range r.acked {
		due := dueAt(r.start, i, perSecond)
		tr.write(TraceEvent{Kind: "request", Phase: phase, AtMS: tr.since(due), TookMS: r.lat[k]})
	}
}

// finish records the collections since the start (as many as the runtime
// remembers, 256) and flushes.
func (tr *tracer) finish() error {
	if tr == nil {
		return nil
	}
	var st debug.GCStats
	debug.ReadGCStats(&st)
	for i := len(st.PauseEnd) - 1; i >= 0; i-- { // oldest first
		if end := st.PauseEnd[i]; end.After(tr.start) && i < len(st.Pause) {
			tr.write(TraceEvent{Kind: "gc", AtMS: tr.since(end.Add(-st.Pause[i])), TookMS: ms(st.Pause[i])})
		}
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.err == nil {
		tr.err = tr.w.Flush()
	}
	return tr.err
}

// indexSpans are the search index's catch-ups as the tailer reported
// them (app.Options.OnIndexCatchUp), to tell the open loops' latency
// while the index held a CPU from the rest.
type indexSpans struct {
	mu    sync.Mutex
	spans []span
}

type span struct{ from, to time.Time }

// add records a catch-up that took took and ends now.
func (s *indexSpans) add(took time.Duration) {
	now := time.Now()
	s.mu.Lock()
	s.spans = append(s.spans, span{now.Add(-took), now})
	s.mu.Unlock()
}

// byIndex is an open loop's latencies split by the index: during is the
// deliveries due while a catch-up ran or in the indexQueueAfter after it
// (the queue it left behind), between the others; busy is the share of the
// loop's time a catch-up was running.
type byIndex struct {
	during, between []float64
	busy            float64
}

// indexQueueAfter is how long after a catch-up ends its deliveries count
// as during it: at 10,000/s a catch-up left 100–200 ms of raised latency
// behind it (BENCHMARKS.md, eighth session).
const indexQueueAfter = 100 * time.Millisecond

// split sorts r's acknowledged deliveries (the open loop at perSecond,
// so delivery i was due i/perSecond after r.start) by the catch-ups.
func (s *indexSpans) split(r loadResult, perSecond int) byIndex {
	s.mu.Lock()
	spans := slices.Clone(s.spans)
	s.mu.Unlock()
	return splitByIndex(r, perSecond, spans)
}

func splitByIndex(r loadResult, perSecond int, spans []span) byIndex {
	var out byIndex
	if perSecond <= 0 {
		return out
	}
	end := r.start.Add(r.elapsed)
	var busy time.Duration
	for _, sp := range spans {
		from, to := sp.from, sp.to
		if from.Before(r.start) {
			from = r.start
		}
		if to.After(end) {
			to = end
		}
		if to.After(from) {
			busy += to.Sub(from)
		}
	}
	if r.elapsed > 0 {
		out.busy = float64(busy) / float64(r.elapsed)
	}
	for k, i := range r.acked {
		due := dueAt(r.start, i, perSecond)
		in := slices.ContainsFunc(spans, func(sp span) bool {
			return !due.Before(sp.from) && !due.After(sp.to.Add(indexQueueAfter))
		})
		if in {
			out.during = append(out.during, r.lat[k])
		} else {
			out.between = append(out.between, r.lat[k])
		}
	}
	return out
}
