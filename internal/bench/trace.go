package bench

import (
	"bufio"
	"encoding/json"
	"io"
	"runtime/debug"
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
		due := r.start.Add(time.Duration(int64(i) * int64(time.Second) / int64(perSecond)))
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
