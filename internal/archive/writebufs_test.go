package archive

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// TestAppend_PooledBuffersKeepRecordsApart appends events of very different
// sizes from many goroutines, so that the pooled encode and seal buffers
// are reused with stale content and some are too large to be kept, then
// reads every record back after a reopen and sends each again: each must
// hold exactly its own event and be recognised as stored (its content hash
// taken over its own encoding).
func TestAppend_PooledBuffersKeepRecordsApart(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	a := mustOpen(t, cfg, nil)
	sizes := []int{0, 1, 17, 600, 5_000, maxPooledBuf + 1, 200}
	const n = 140
	body := func(i int) string {
		return fmt.Sprintf("%d:", i) + strings.Repeat(string(rune('a'+i%26)), sizes[i%len(sizes)])
	}
	seqs := make([]uint64, n)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < n; i += 8 {
				res, err := a.Append(t.Context(), event(i, body(i)))
				if err != nil || res.Duplicate || res.Conflict {
					t.Errorf("append %d: %+v %v", i, res, err)
					return
				}
				seqs[i] = res.Seq
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	a = reopened(t, a, cfg)
	for i, seq := range seqs {
		ev, err := a.Get(seq)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Body != body(i) || ev.ProviderID != fmt.Sprintf("wamid.%d", i) {
			t.Fatalf("record %d holds %q (%s), want event %d", seq, ev.Body[:min(len(ev.Body), 20)], ev.ProviderID, i)
		}
	}
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < n; i += 8 {
				res, err := a.Append(t.Context(), event(i, body(i)))
				if err != nil || !res.Duplicate || res.Seq != seqs[i] {
					t.Errorf("again %d: %+v %v, want a duplicate of %d", i, res, err, seqs[i])
				}
			}
		})
	}
	wg.Wait()
}
