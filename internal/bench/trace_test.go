package bench

import (
	"slices"
	"testing"
	"time"
)

// TestSplitByIndex: an open loop's deliveries are sorted by whether they
// were due while a catch-up ran or within indexQueueAfter of its end, and
// the catch-ups' share of the loop's time counts only what overlaps it.
func TestSplitByIndex(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	// 10 deliveries at 10/s: due at 0, 100, …, 900 ms; latency = index.
	r := loadResult{start: t0, elapsed: time.Second}
	for i := range 10 {
		r.acked = append(r.acked, i)
		r.lat = append(r.lat, float64(i))
	}
	tests := []struct {
		name    string
		spans   []span
		during  []float64
		between []float64
		busy    float64
	}{
		{"no catch-up", nil, nil, []float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, 0},
		{"one, with the queue after it", []span{{at(150), at(250)}}, []float64{2, 3}, []float64{0, 1, 4, 5, 6, 7, 8, 9}, 0.1},
		{"queue edge included", []span{{at(150), at(200)}}, []float64{2, 3}, []float64{0, 1, 4, 5, 6, 7, 8, 9}, 0.05},
		{"one before the loop, one past its end", []span{{at(-500), at(-50)}, {at(850), at(1500)}},
			[]float64{0, 9}, []float64{1, 2, 3, 4, 5, 6, 7, 8}, 0.15},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := splitByIndex(r, 10, tt.spans)
			if !slices.Equal(got.during, tt.during) || !slices.Equal(got.between, tt.between) {
				t.Errorf("during %v between %v; want %v and %v", got.during, got.between, tt.during, tt.between)
			}
			if d := got.busy - tt.busy; d > 1e-9 || d < -1e-9 {
				t.Errorf("busy share %v, want %v", got.busy, tt.busy)
			}
		})
	}
}
