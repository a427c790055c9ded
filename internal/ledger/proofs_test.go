package ledger

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

// TestLedger_InclusionProofsAreInclusionProof: a batch proves each leaf
// exactly as InclusionProof does, at any tree size up to the current one,
// whatever the leaves (repeated, unsorted, dense, sparse).
func TestLedger_InclusionProofsAreInclusionProof(t *testing.T) {
	l := mustOpen(t, t.TempDir(), mustKey(t, ""))
	const n = 3*TileWidth*TileWidth/2 + 77 // three tile levels, partial tiles at each
	mustAppend(t, l, "p", 0, n)
	rapid.Check(t, func(rt *rapid.T) {
		size := rapid.Uint64Range(1, n).Draw(rt, "size")
		// A run of leaves some distance apart (dense or sparse), and a
		// few anywhere, in any order.
		step := rapid.Uint64Range(1, 3000).Draw(rt, "step")
		var indexes []uint64
		for i := rapid.Uint64Range(0, size-1).Draw(rt, "first"); i < size && len(indexes) < 200; i += step {
			indexes = append(indexes, i)
		}
		indexes = append(indexes, rapid.SliceOfN(rapid.Uint64Range(0, size-1), 0, 20).Draw(rt, "more")...)
		if rapid.Bool().Draw(rt, "shuffle") {
			slices.Reverse(indexes)
		}
		got, err := l.InclusionProofs(indexes, size)
		if err != nil {
			rt.Fatalf("InclusionProofs(size %d): %v", size, err)
		}
		if len(got) != len(indexes) {
			rt.Fatalf("%d proofs for %d indexes", len(got), len(indexes))
		}
		for i, index := range indexes {
			want, err := l.InclusionProof(index, size)
			if err != nil {
				rt.Fatal(err)
			}
			if !slices.EqualFunc(got[i], want, bytes.Equal) {
				rt.Fatalf("proof of leaf %d in tree of size %d differs from InclusionProof", index, size)
			}
		}
	})
}

func TestLedger_InclusionProofsRejectOutOfRange(t *testing.T) {
	l := mustOpen(t, t.TempDir(), mustKey(t, ""))
	mustAppend(t, l, "p", 0, 10)
	for _, tc := range []struct {
		indexes []uint64
		size    uint64
	}{{[]uint64{0}, 11}, {[]uint64{1, 10}, 10}, {[]uint64{5}, 5}} {
		if _, err := l.InclusionProofs(tc.indexes, tc.size); !errors.Is(err, ErrOutOfRange) {
			t.Errorf("InclusionProofs(%v, %d) = %v, want ErrOutOfRange", tc.indexes, tc.size, err)
		}
	}
}

// TestLedger_InclusionProofsAreTheCallers: proofs share nodes while they
// are computed; a caller writing to one must not change another, or the tree.
func TestLedger_InclusionProofsAreTheCallers(t *testing.T) {
	l := mustOpen(t, t.TempDir(), mustKey(t, ""))
	mustAppend(t, l, "p", 0, 1000)
	ps, err := l.InclusionProofs([]uint64{3, 5, 700}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		for _, h := range p {
			clear(h)
		}
	}
	for _, index := range []uint64{3, 5, 700} {
		want, _ := l.InclusionProof(index, 1000)
		again, err := l.InclusionProofs([]uint64{index}, 1000)
		if err != nil || !slices.EqualFunc(again[0], want, bytes.Equal) || bytes.Equal(want[0], make([]byte, HashSize)) {
			t.Fatalf("leaf %d: proofs changed after a caller cleared its copy", index)
		}
	}
}

// BenchmarkInclusionProofs proves every fourth leaf of a tree of 20,000,
// as an export of a quarter of the log does.
func BenchmarkInclusionProofs(b *testing.B) {
	tr := newTree()
	const n = 20_000
	if err := tr.append(testLeaves("b", 0, n)); err != nil {
		b.Fatal(err)
	}
	l := &Ledger{tree: tr}
	var idx []uint64
	for i := uint64(0); i < n; i += 4 {
		idx = append(idx, i)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.InclusionProofs(idx, n); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(idx)), "ns/proof")
}
