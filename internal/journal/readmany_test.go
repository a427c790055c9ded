package journal_test

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/onrecord/onrecord/internal/journal"
	"pgregory.net/rapid"
)

// TestJournal_ReadManyIsReadForEach: over segments that roll every few
// records, any ascending selection (dense, sparse, repeated, across
// segment ends) reads exactly what Read reads, in order.
func TestJournal_ReadManyIsReadForEach(t *testing.T) {
	j := mustOpen(t, journal.Options{Dir: t.TempDir(), SegmentSize: 8 * tinySegment})
	const n = 3000
	appendRange(t, j, 0, n)
	rapid.Check(t, func(rt *rapid.T) {
		step := rapid.IntRange(1, 400).Draw(rt, "step")
		var seqs []uint64
		for s := rapid.IntRange(0, n-1).Draw(rt, "first"); s < n; s += rapid.IntRange(1, step).Draw(rt, "gap") {
			seqs = append(seqs, uint64(s))
		}
		seqs = append(seqs, rapid.SliceOfN(rapid.Uint64Range(0, n-1), 0, 10).Draw(rt, "more")...)
		slices.Sort(seqs)
		next := 0
		err := j.ReadMany(seqs, func(i int, seq uint64, data []byte) error {
			if i != next || seq != seqs[i] {
				return errors.New("out of order")
			}
			next++
			if want := payload(int(seq), sizeFor(int(seq))); !bytes.Equal(data, want) {
				rt.Fatalf("record %d = %q, want %q", seq, data, want)
			}
			return nil
		})
		if err != nil {
			rt.Fatalf("ReadMany: %v", err)
		}
		if next != len(seqs) {
			rt.Fatalf("ReadMany gave %d of %d records", next, len(seqs))
		}
	})
}

func TestJournal_ReadManyRefusesWhatItCannotRead(t *testing.T) {
	j := mustOpen(t, journal.Options{Dir: t.TempDir(), SegmentSize: tinySegment})
	appendRange(t, j, 0, 20)
	none := func(int, uint64, []byte) error { return nil }
	if err := j.ReadMany([]uint64{3, 20}, none); !errors.Is(err, journal.ErrNotFound) {
		t.Errorf("ReadMany past the end: %v, want ErrNotFound", err)
	}
	if err := j.ReadMany([]uint64{5, 3}, none); err == nil {
		t.Error("ReadMany accepted descending sequence numbers")
	}
	stop := errors.New("stop")
	calls := 0
	err := j.ReadMany([]uint64{1, 2, 3}, func(int, uint64, []byte) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("ReadMany after fn failed: %v after %d calls", err, calls)
	}
}
