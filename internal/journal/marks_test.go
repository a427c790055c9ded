package journal_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/onrecord/onrecord/internal/journal"
)

// TestJournal_ScanFromAnyRecordBeforeAndAfterReopen checks that a scan
// from any record starts there, whether the segment's offsets were learnt
// while appending or at recovery.
func TestJournal_ScanFromAnyRecordBeforeAndAfterReopen(t *testing.T) {
	dir := t.TempDir()
	opts := journal.Options{Dir: dir, SegmentSize: 64 << 10}
	j := mustOpen(t, opts)
	r := rand.New(rand.NewPCG(1, 2))
	var want []string
	for i := range 3000 {
		s := fmt.Sprintf("record %d %s", i, make([]byte, r.IntN(200)))
		want = append(want, s)
		if _, err := j.Append(context.Background(), []byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	stop := errors.New("stop")
	check := func(j *journal.Journal) {
		for range 500 {
			from := uint64(r.IntN(len(want)))
			n := 0
			err := j.Scan(from, func(seq uint64, data []byte) error {
				if seq != from+uint64(n) || string(data) != want[seq] {
					t.Fatalf("scan from %d: record %d is %q", from, seq, data)
				}
				if n++; n == 70 {
					return stop
				}
				return nil
			})
			if err != nil && !errors.Is(err, stop) {
				t.Fatal(err)
			}
		}
	}
	check(j)
	j.Close()
	j = mustOpen(t, opts)
	defer j.Close()
	check(j)
}
