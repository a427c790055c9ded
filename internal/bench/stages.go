package bench

import (
	"fmt"
	"math"
	"slices"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/onrecord/onrecord/internal/ingest"
)

// stageMetric is the gateway's histogram of each delivery's steps.
const stageMetric = ingest.StageMetric

// stageHist is one stage's histogram summed over the channels: sample
// count and sum, and cumulative counts at each bucket's upper bound.
type stageHist struct {
	count  uint64
	sum    float64
	bounds []float64
	cum    []uint64
}

type stageHists map[string]stageHist

// readStages reads the stage histograms from the application's metrics.
func readStages(g prometheus.Gatherer) (stageHists, error) {
	mfs, err := g.Gather()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", stageMetric, err)
	}
	out := stageHists{}
	for _, mf := range mfs {
		if mf.GetName() != stageMetric {
			continue
		}
		for _, m := range mf.GetMetric() {
			stage := ""
			for _, l := range m.GetLabel() {
				if l.GetName() == "stage" {
					stage = l.GetValue()
				}
			}
			h := m.GetHistogram()
			s := out[stage]
			s.count += h.GetSampleCount()
			s.sum += h.GetSampleSum()
			for i, b := range h.GetBucket() {
				if i == len(s.cum) {
					s.bounds = append(s.bounds, b.GetUpperBound())
					s.cum = append(s.cum, 0)
				}
				s.cum[i] += b.GetCumulativeCount()
			}
			out[stage] = s
		}
	}
	return out, nil
}

// since is what was observed between before and h.
func (h stageHists) since(before stageHists) stageHists {
	out := stageHists{}
	for stage, a := range h {
		b := before[stage]
		d := stageHist{count: a.count - b.count, sum: a.sum - b.sum, bounds: a.bounds, cum: slices.Clone(a.cum)}
		for i := range d.cum {
			if i < len(b.cum) {
				d.cum[i] -= b.cum[i]
			}
		}
		out[stage] = d
	}
	return out
}

// p99 is the upper bound of the bucket holding the 99th percentile: the
// histogram's resolution, a factor of two, not an exact figure; -1 if it
// is beyond the last bucket (JSON has no infinity).
func (s stageHist) p99() float64 {
	if s.count == 0 {
		return 0
	}
	want := uint64(math.Ceil(0.99 * float64(s.count)))
	for i, c := range s.cum {
		if c >= want {
			return s.bounds[i]
		}
	}
	return -1
}

// metrics reports each stage's mean and bucketed p99, in milliseconds.
func (h stageHists) metrics(prefix, suffix string) []Metric {
	var out []Metric
	for _, stage := range ingest.StageNames {
		s := h[stage]
		mean := 0.0
		if s.count > 0 {
			mean = s.sum / float64(s.count)
		}
		out = append(out,
			Metric{prefix + stage + "_mean_ms" + suffix, mean * 1e3, "ms"},
			Metric{prefix + stage + "_p99_le_ms" + suffix, max(s.p99()*1e3, -1), "ms"})
	}
	return out
}
