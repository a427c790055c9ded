package bench

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"
	"time"
)

// TestIngest_ReportsEveryFigureAndStoresWhatItAcknowledges runs the whole
// ingest benchmark at a toy scale. It checks the report's shape and the
// durability bookkeeping, never how fast anything was: timings belong to
// `onrecord bench ingest` on a quiet machine, not to a test.
func TestIngest_ReportsEveryFigureAndStoresWhatItAcknowledges(t *testing.T) {
	rep, err := Ingest(t.Context(), IngestOptions{Dir: t.TempDir(), Duration: 300 * time.Millisecond,
		Rate: 200, Clients: 4, Deliveries: 3000})
	if err != nil {
		t.Fatal(err)
	}
	if rep.IndexPriority != "idle" {
		t.Errorf("index_priority %q, want serve's default, idle", rep.IndexPriority)
	}
	for _, name := range []string{"fdatasync_4k_p50_ms", "fdatasync_4k_p99_ms", "bare_http_per_s_4c", "bare_http_p99_ms_4c",
		"bare_http_cpus_busy_4c", "bare_http_cpu_us_per_request_4c", "bare_http_open_p99_ms", "bare_http_open_failures", "open_loop_send_lag_p99_ms"} {
		if _, ok := value(rep.Limits, name); !ok {
			t.Errorf("limit %s missing", name)
		}
	}
	for _, name := range []string{"ingest_webhooks_per_s_4c", "ingest_p50_ms_4c", "ingest_p99_ms_4c", "ingest_cpus_busy_4c",
		"ingest_cpu_us_per_webhook_4c", "ingest_vs_bare_ratio_4c", "ingest_vs_bare_cpu_ratio_4c", "ingest_open_achieved_per_s", "ingest_open_p99_ms", "ingest_open_max_ms",
		"ingest_half_offered_per_s", "ingest_half_achieved_per_s", "ingest_half_p99_ms",
		"ingest_vs_bare_cpu_ratio_interleaved_4c", "ingest_vs_bare_cpu_ratio_interleaved_min_4c", "ingest_vs_bare_cpu_ratio_interleaved_max_4c",
		"distinct_deliveries_sent", "records_stored", "resent_found_stored", "restart_open_ms", "restart_first_ack_ms",
		"ingest_open_index_busy_share", "ingest_open_p99_by_index_ms", "ingest_open_p99_between_index_ms",
		"ingest_half_index_busy_share", "ingest_half_p99_by_index_ms", "ingest_half_p99_between_index_ms"} {
		if _, ok := value(rep.Results, name); !ok {
			t.Errorf("result %s missing", name)
		}
	}
	for _, name := range []string{"ingest_failures_4c", "ingest_open_failures", "ingest_open_unsent", "ingest_half_failures", "resent_new_records"} {
		if v, ok := value(rep.Results, name); !ok || v != 0 {
			t.Errorf("%s = %v (reported: %v), want 0", name, v, ok)
		}
	}
	for _, name := range []string{"ingest_open_index_busy_share", "ingest_half_index_busy_share"} {
		if v, _ := value(rep.Results, name); v < 0 || v > 1 {
			t.Errorf("%s = %v, want a share", name, v)
		}
	}
	if v, _ := value(rep.Limits, "bare_http_open_failures"); v != 0 {
		t.Errorf("the bare handler failed %v requests", v)
	}
	acked, _ := value(rep.Results, "deliveries_acknowledged")
	sent, _ := value(rep.Results, "distinct_deliveries_sent")
	stored, _ := value(rep.Results, "records_stored")
	reopened, _ := value(rep.Results, "records_after_reopen")
	resent, _ := value(rep.Results, "resent_after_reopen")
	if acked == 0 || acked != sent {
		t.Errorf("%v of %v distinct deliveries acknowledged", acked, sent)
	}
	// Every workload delivery yields at least one new event.
	if acked > stored || stored != reopened {
		t.Errorf("%v acknowledged, %v records stored, %v after reopening", acked, stored, reopened)
	}
	if resent == 0 || resent > acked {
		t.Errorf("%v deliveries sent again after reopening, of %v acknowledged", resent, acked)
	}
	// Every acknowledged delivery waited for a journal fsync in its phase.
	// The delivery sent during the replay is acknowledged before the open
	// ends (by the intake), not after it.
	if open, _ := value(rep.Results, "restart_open_ms"); open <= 0 {
		t.Errorf("restart_open_ms = %v", open)
	} else if first, _ := value(rep.Results, "restart_first_ack_ms"); first <= 0 || first >= open {
		t.Errorf("restart_first_ack_ms = %v, want under restart_open_ms %v", first, open)
	}
	if v, _ := value(rep.Results, "ingest_records_per_fsync_4c"); v < 1 {
		t.Errorf("%v records per journal fsync in the closed loop", v)
	}
	for _, name := range []string{"ingest_fsync_p99_ms_4c", "ingest_fsync_max_ms_4c", "ingest_open_fsync_p99_ms", "ingest_half_fsync_max_ms"} {
		if v, ok := value(rep.Results, name); !ok || v < 0 {
			t.Errorf("%s = %v (reported: %v), want a duration", name, v, ok)
		}
	}
	if p99, _ := value(rep.Results, "ingest_fsync_p99_ms_4c"); p99 > 0 {
		if m, _ := value(rep.Results, "ingest_fsync_max_ms_4c"); m < p99 {
			t.Errorf("journal fsync max %v ms < p99 %v ms", m, p99)
		}
	}
	// Where the deliveries' time went, from the gateway's own histograms:
	// every acknowledged delivery was verified, parsed and committed.
	for _, stage := range []string{"verify", "parse", "media", "commit"} {
		for _, name := range []string{"ingest_stage_" + stage + "_mean_ms_4c", "ingest_half_stage_" + stage + "_mean_ms"} {
			v, ok := value(rep.Results, name)
			if !ok || v < 0 || (stage != "media" && v == 0) {
				t.Errorf("%s = %v (reported: %v)", name, v, ok)
			}
		}
		if v, ok := value(rep.Results, "ingest_stage_"+stage+"_p99_le_ms_4c"); !ok || (v <= 0 && v != -1) {
			t.Errorf("ingest_stage_%s_p99_le_ms_4c = %v (reported: %v)", stage, v, ok)
		}
	}
	lo, _ := value(rep.Results, "ingest_vs_bare_cpu_ratio_interleaved_min_4c")
	mid, _ := value(rep.Results, "ingest_vs_bare_cpu_ratio_interleaved_4c")
	hi, _ := value(rep.Results, "ingest_vs_bare_cpu_ratio_interleaved_max_4c")
	if lo <= 0 || lo > mid || mid > hi {
		t.Errorf("interleaved CPU ratio: min %v, median %v, max %v", lo, mid, hi)
	}
	if rep.Clients != 4 || rep.OfferedRate != 200 || rep.MaxBatchDelay == "" || rep.CPUs == 0 {
		t.Errorf("parameters not reported: %+v", rep)
	}
}

func value(ms []Metric, name string) (float64, bool) {
	for _, m := range ms {
		if m.Name == name {
			return m.Value, true
		}
	}
	return 0, false
}

func TestMedian(t *testing.T) {
	for _, tt := range []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{3}, 3},
		{[]float64{4, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
	} {
		in := slices.Clone(tt.in)
		if got := median(in); got != tt.want {
			t.Errorf("median(%v) = %v, want %v", tt.in, got, tt.want)
		}
		if !slices.Equal(in, tt.in) {
			t.Errorf("median(%v) reordered its argument: %v", tt.in, in)
		}
	}
}

// TestIngest_TraceLinesUpWithTheReport: with a trace, every open-loop
// delivery the report counts is a request line inside its phase, and the
// journal's fsyncs, the index's catch-ups and the phases are there too,
// each well formed.
func TestIngest_TraceLinesUpWithTheReport(t *testing.T) {
	var buf bytes.Buffer
	rep, err := Ingest(t.Context(), IngestOptions{Dir: t.TempDir(), Duration: 300 * time.Millisecond,
		Rate: 200, Clients: 4, Deliveries: 3000, Trace: &buf,
		// The index's catch-ups at normal priority: at idle priority, on a
		// machine busy with other tests, there may be none to trace.
		IndexPriority: "normal"})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	phases := map[string][2]float64{} // name: start, end
	var requests []TraceEvent
	dec := json.NewDecoder(&buf)
	dec.DisallowUnknownFields()
	for dec.More() {
		var ev TraceEvent
		if err := dec.Decode(&ev); err != nil {
			t.Fatalf("line %d: %v", kinds["phase"]+kinds["request"]+kinds["fsync"]+kinds["index"]+kinds["gc"]+1, err)
		}
		kinds[ev.Kind]++
		if ev.AtMS < 0 || ev.TookMS < 0 {
			t.Errorf("%+v: negative time", ev)
		}
		switch ev.Kind {
		case "phase":
			phases[ev.Phase] = [2]float64{ev.AtMS, ev.AtMS + ev.TookMS}
		case "request":
			requests = append(requests, ev)
		case "fsync":
			if ev.Records < 1 {
				t.Errorf("%+v: an fsync of no records", ev)
			}
		case "index":
			if ev.Records < 1 {
				t.Errorf("%+v: a catch-up with nothing to take in", ev)
			}
		case "gc":
		default:
			t.Errorf("unknown kind %q", ev.Kind)
		}
	}
	for _, k := range []string{"phase", "request", "fsync", "index"} {
		if kinds[k] == 0 {
			t.Errorf("no %s lines: %v", k, kinds)
		}
	}
	open, _ := value(rep.Results, "ingest_open_achieved_per_s")
	half, _ := value(rep.Results, "ingest_half_achieved_per_s")
	if open == 0 || half == 0 {
		t.Fatalf("open loops acknowledged nothing: %v, %v", open, half)
	}
	perPhase := map[string]int{}
	for _, r := range requests {
		p, ok := phases[r.Phase]
		if !ok {
			t.Fatalf("request in unknown phase %q", r.Phase)
		}
		perPhase[r.Phase]++
		// Due within its phase (1 ms of rounding either side).
		if r.AtMS < p[0]-1 || r.AtMS > p[1]+1 {
			t.Errorf("request due at %.1f ms, outside its phase %q (%.1f–%.1f ms)", r.AtMS, r.Phase, p[0], p[1])
		}
	}
	if len(perPhase) != 2 {
		t.Errorf("requests in %d phases, want the two open loops: %v", len(perPhase), perPhase)
	}
}
