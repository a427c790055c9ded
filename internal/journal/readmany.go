package journal

import (
	"bufio"
	"errors"
	"fmt"
	"slices"
	"sort"
)

// ReadMany calls fn with each record of seqs, which must be in ascending
// order (repeats allowed), in that order: i is the position in seqs. It
// opens each segment once and reads it front to back, skipping what lies
// between two wanted records, or jumping ahead by the offset marks when
// the gap is longer than the marks are apart; so a selection of many
// records costs about a scan of the part of the journal it spans, where
// Read would seek and refill a buffer for every one. data is only valid
// during the call. A record that is not committed stops the call with an
// error wrapping ErrNotFound; an error from fn stops it and is returned as
// is.
func (j *Journal) ReadMany(seqs []uint64, fn func(i int, seq uint64, data []byte) error) error {
	if !slices.IsSorted(seqs) {
		return errors.New("journal: ReadMany: sequence numbers are not in ascending order")
	}
	j.segMu.RLock()
	segs := slices.Clone(j.segs)
	j.segMu.RUnlock()
	var (
		br  *bufio.Reader
		buf []byte
	)
	i := 0
	for i < len(seqs) {
		seq := seqs[i]
		k := sort.Search(len(segs), func(k int) bool { return segs[k].first+segs[k].count > seq })
		if k == len(segs) || seq < segs[k].first {
			return fmt.Errorf("journal: read record %d: %w", seq, ErrNotFound)
		}
		s := segs[k]
		// One run: from seqs[i] on, every wanted record of this segment
		// that is no further than a mark interval from the one before.
		err := j.scanCommitted(s, seq, &br, &buf, func(at uint64, data []byte) error {
			for i < len(seqs) && seqs[i] == at {
				if err := fn(i, at, data); err != nil {
					return err
				}
				i++
			}
			if i == len(seqs) || seqs[i] >= s.first+s.count || seqs[i]-at > markEvery {
				return errRunDone
			}
			return nil
		})
		if err != nil && !errors.Is(err, errRunDone) {
			return err
		}
	}
	return nil
}

// errRunDone ends one sequential run of ReadMany.
var errRunDone = errors.New("run done")
