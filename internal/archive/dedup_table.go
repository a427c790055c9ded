package archive

import (
	"cmp"
	"encoding/binary"
	"math/bits"
	"slices"
)

// firstEntry is one id's first record, as the sorted table keeps it: 40
// bytes and no pointers.
type firstEntry struct {
	id [16]byte
	firstRecord
}

func (e *firstEntry) hi() uint64 { return binary.BigEndian.Uint64(e.id[:8]) }
func (e *firstEntry) lo() uint64 { return binary.BigEndian.Uint64(e.id[8:]) }

func compareEntries(a, b firstEntry) int {
	if c := cmp.Compare(a.hi(), b.hi()); c != 0 {
		return c
	}
	if c := cmp.Compare(a.lo(), b.lo()); c != 0 {
		return c
	}
	return cmp.Compare(a.seq, b.seq)
}

// firstTable maps ids to their first records: entries sorted by id (ties
// by seq), and where each run of ids with the same top bits starts. The
// ids are keyed hashes, evenly spread, so a run is a few entries and a
// lookup one index read and a short binary search.
type firstTable struct {
	entries []firstEntry
	starts  []uint32 // starts[p] is the first entry whose top bits are ≥ p; one more than the runs
	shift   uint     // 64 - the number of top bits (a shift by 64 gives 0)
}

// prefixBits is how many top bits of the id index a table of n entries:
// about eight entries per run, at most 2^20 runs (4 MiB of starts).
func prefixBits(n int) uint {
	b := bits.Len(uint(n))
	return uint(min(max(b-3, 0), 20))
}

func (t *firstTable) len() int { return len(t.entries) }

func (t *firstTable) find(id [16]byte) (firstRecord, bool) {
	if len(t.entries) == 0 {
		return firstRecord{}, false
	}
	key := firstEntry{id: id}
	hi, lo := key.hi(), key.lo()
	p := hi >> t.shift
	run := t.entries[t.starts[p]:t.starts[p+1]]
	i, _ := slices.BinarySearchFunc(run, key, func(e, k firstEntry) int {
		if c := cmp.Compare(e.hi(), hi); c != 0 {
			return c
		}
		return cmp.Compare(e.lo(), lo)
	})
	if i < len(run) && run[i].id == id {
		return run[i].firstRecord, true
	}
	return firstRecord{}, false
}

// newFirstTable indexes entries, which must be sorted.
func newFirstTable(entries []firstEntry) firstTable {
	b := prefixBits(len(entries))
	t := firstTable{entries: entries, shift: 64 - b, starts: make([]uint32, 1<<b+1)}
	for i := range entries {
		t.starts[entries[i].hi()>>t.shift+1]++
	}
	for p := 1; p < len(t.starts); p++ {
		t.starts[p] += t.starts[p-1]
	}
	return t
}

// sortEntries returns the entries of chunks sorted by id, ties by seq.
// They are first distributed by their top bits into one new slice, in
// order, then each run is sorted; a chunk is let go as soon as it has been
// distributed, so the peak is the input and the output once.
func sortEntries(chunks [][]firstEntry) []firstEntry {
	n := 0
	for _, c := range chunks {
		n += len(c)
	}
	b := prefixBits(n)
	shift := 64 - b // 64 when b is 0: every entry in run 0
	next := make([]int, 1<<b+1)
	for _, c := range chunks {
		for i := range c {
			next[c[i].hi()>>shift+1]++
		}
	}
	for p := 1; p < len(next); p++ {
		next[p] += next[p-1]
	}
	starts := slices.Clone(next)
	out := make([]firstEntry, n)
	for ci, c := range chunks {
		for _, e := range c {
			p := e.hi() >> shift
			out[next[p]] = e
			next[p]++
		}
		chunks[ci] = nil // #nosec G602 -- ci ranges over chunks (a false positive of gosec 2.30)
	}
	for p := 0; p+1 < len(starts); p++ {
		if run := out[starts[p]:starts[p+1]]; len(run) > 1 {
			slices.SortFunc(run, compareEntries)
		}
	}
	return out
}

// merge returns a new table of t's entries and add's, which must be
// sorted. t is not changed: lookups may read it meanwhile.
func (t *firstTable) merge(add []firstEntry) firstTable {
	out := make([]firstEntry, 0, len(t.entries)+len(add))
	a, b := t.entries, add
	for len(a) > 0 && len(b) > 0 {
		if compareEntries(a[0], b[0]) <= 0 {
			out, a = append(out, a[0]), a[1:]
		} else {
			out, b = append(out, b[0]), b[1:]
		}
	}
	out = append(append(out, a...), b...)
	return newFirstTable(out)
}
