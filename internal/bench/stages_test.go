package bench

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestStages_PhaseDeltas checks what bench ingest reads from the gateway's
// stage histograms: a phase's deliveries only (the difference of two
// readings), summed over channels, with the 99th percentile's bucket.
func TestStages_PhaseDeltas(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: stageMetric,
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 4)}, []string{"channel", "stage"}) // 1, 2, 4, 8 ms
	reg.MustRegister(h)
	h.WithLabelValues("a", "commit").Observe(0.5) // before the phase: not counted
	before, err := readStages(reg)
	if err != nil {
		t.Fatal(err)
	}
	for range 99 {
		h.WithLabelValues("a", "commit").Observe(0.0015) // the 2 ms bucket
	}
	h.WithLabelValues("b", "commit").Observe(0.0035) // the 4 ms bucket, the 100th
	h.WithLabelValues("b", "verify").Observe(0.02)   // beyond the last bucket
	after, err := readStages(reg)
	if err != nil {
		t.Fatal(err)
	}
	d := after.since(before)
	c := d["commit"]
	if c.count != 100 || c.sum < 0.1519 || c.sum > 0.1521 {
		t.Errorf("commit: %d deliveries, %.4f s; want 100, 0.152 s", c.count, c.sum)
	}
	if p := c.p99(); p != 0.002 {
		t.Errorf("commit p99 bucket %v, want 0.002", p)
	}
	if p := d["verify"].p99(); p != -1 {
		t.Errorf("verify p99 %v, want -1 (beyond the buckets)", p)
	}
	got := map[string]float64{}
	for _, m := range d.metrics("x_", "_y") {
		got[m.Name] = m.Value
	}
	if v := got["x_commit_mean_ms_y"]; v < 1.519 || v > 1.521 {
		t.Errorf("commit mean %v ms, want 1.52", v)
	}
	if v, ok := got["x_parse_mean_ms_y"]; !ok || v != 0 {
		t.Errorf("parse mean %v (reported %v), want 0 for a stage without deliveries", v, ok)
	}
}
