package ledger

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/tlog"
	"pgregory.net/rapid"

	"github.com/onrecord/onrecord/record"
)

// reference is an independent implementation of the same tree:
// golang.org/x/mod/sumdb/tlog, which stores every node hash.
type reference struct {
	stored []tlog.Hash
	n      int64
}

func (r *reference) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, idx := range indexes {
		if idx < 0 || idx >= int64(len(r.stored)) {
			return nil, fmt.Errorf("reference: no stored hash %d", idx)
		}
		out[i] = r.stored[idx]
	}
	return out, nil
}

func (r *reference) add(tb testing.TB, leaf [HashSize]byte) {
	tb.Helper()
	hs, err := tlog.StoredHashesForRecordHash(r.n, tlog.Hash(leaf), r)
	if err != nil {
		tb.Fatalf("tlog.StoredHashesForRecordHash(%d): %v", r.n, err)
	}
	r.stored = append(r.stored, hs...)
	r.n++
}

// testEntry is a deterministic fake encoded envelope for leaf i.
func testEntry(seed string, i uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte("entry/"+seed+"/"), i)
}

func testLeaves(seed string, from, to uint64) [][HashSize]byte {
	out := make([][HashSize]byte, 0, to-from)
	for i := from; i < to; i++ {
		out = append(out, record.LeafHash(testEntry(seed, i)))
	}
	return out
}

// buildTrees appends n leaves, in uneven batches, to a tree and to the
// reference. With spilled, the tree's full leaf tiles go to a file as soon
// as each is full and at most two are cached, so that nearly every read of
// one reads the file.
func buildTrees(tb testing.TB, n uint64, spilled bool) (*tree, *reference) {
	tb.Helper()
	t, ref := newTree(), &reference{}
	if spilled {
		sp, err := openTileSpill(filepath.Join(tb.TempDir(), LeafTilesFile), 2, 1)
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { sp.close() })
		t.spill = sp
	}
	leaves := testLeaves("a", 0, n)
	for i, batch := uint64(0), uint64(1); i < n; i, batch = i+batch, batch%97+1 {
		end := min(i+batch, n)
		if err := t.append(leaves[i:end]); err != nil {
			tb.Fatalf("append: %v", err)
		}
	}
	for _, l := range leaves {
		ref.add(tb, l)
	}
	return t, ref
}

func toTlog(p [][]byte) []tlog.Hash {
	out := make([]tlog.Hash, len(p))
	for i, h := range p {
		out[i] = tlog.Hash(h)
	}
	return out
}

// checkSize compares root, inclusion and consistency proofs at one size
// against tlog and verifies them with merkle/proof.
func checkSize(t *testing.T, tr *tree, ref *reference, size uint64, indexes, olds []uint64) {
	t.Helper()
	root, err := tr.rootAt(size)
	if err != nil {
		t.Fatalf("rootAt(%d): %v", size, err)
	}
	want, err := tlog.TreeHash(int64(size), ref)
	if err != nil {
		t.Fatalf("tlog.TreeHash(%d): %v", size, err)
	}
	if !bytes.Equal(root, want[:]) {
		t.Fatalf("rootAt(%d) = %x, tlog says %x", size, root, want)
	}
	for _, i := range indexes {
		p, err := tr.inclusion(i, size)
		if err != nil {
			t.Fatalf("inclusion(%d, %d): %v", i, size, err)
		}
		refProof, err := tlog.ProveRecord(int64(size), int64(i), ref)
		if err != nil {
			t.Fatalf("tlog.ProveRecord(%d, %d): %v", size, i, err)
		}
		if got := toTlog(p); fmt.Sprint(got) != fmt.Sprint(refProof) {
			t.Fatalf("inclusion(%d, %d) differs from tlog:\n got %v\nwant %v", i, size, got, refProof)
		}
		leaf, err := tr.slot(0, i)
		if err != nil {
			t.Fatalf("slot(0, %d): %v", i, err)
		}
		if err := tlog.CheckRecord(refProof, int64(size), want, int64(i), tlog.Hash(leaf)); err != nil {
			t.Fatalf("tlog.CheckRecord(%d, %d): %v", i, size, err)
		}
		if err := proof.VerifyInclusion(rfc6962.DefaultHasher, i, size, leaf, p, root); err != nil {
			t.Fatalf("proof.VerifyInclusion(%d, %d): %v", i, size, err)
		}
	}
	for _, old := range olds {
		p, err := tr.consistency(old, size)
		if err != nil {
			t.Fatalf("consistency(%d, %d): %v", old, size, err)
		}
		oldRoot, err := tr.rootAt(old)
		if err != nil {
			t.Fatalf("rootAt(%d): %v", old, err)
		}
		if err := proof.VerifyConsistency(rfc6962.DefaultHasher, old, size, p, oldRoot, root); err != nil {
			t.Fatalf("proof.VerifyConsistency(%d, %d): %v", old, size, err)
		}
		if old == 0 {
			continue // tlog does not define proofs from the empty tree
		}
		refProof, err := tlog.ProveTree(int64(size), int64(old), ref)
		if err != nil {
			t.Fatalf("tlog.ProveTree(%d, %d): %v", size, old, err)
		}
		if got := toTlog(p); fmt.Sprint(got) != fmt.Sprint(refProof) {
			t.Fatalf("consistency(%d, %d) differs from tlog:\n got %v\nwant %v", old, size, got, refProof)
		}
		if err := tlog.CheckTree(toTlog(p), int64(size), want, int64(old), tlog.Hash(oldRoot)); err != nil {
			t.Fatalf("tlog.CheckTree(%d, %d): %v", old, size, err)
		}
	}
}

// forBothStores runs test on a tree kept in memory and on one whose leaf
// tiles are spilled to a file.
func forBothStores(t *testing.T, test func(t *testing.T, spilled bool)) {
	for _, spilled := range []bool{false, true} {
		t.Run(map[bool]string{false: "in memory", true: "leaf tiles spilled"}[spilled], func(t *testing.T) { test(t, spilled) })
	}
}

func TestTree_RootsAndProofsMatchTlogForSizesUpTo300(t *testing.T) {
	forBothStores(t, testRootsAndProofsUpTo300)
}

func testRootsAndProofsUpTo300(t *testing.T, spilled bool) {
	const max = 300
	tr, ref := buildTrees(t, max, spilled)
	rng := rand.New(rand.NewPCG(1, 2))
	for size := uint64(1); size <= max; size++ {
		var indexes, olds []uint64
		if size <= 40 {
			for i := range size {
				indexes = append(indexes, i)
			}
			for i := range size + 1 {
				olds = append(olds, i)
			}
		} else {
			indexes = []uint64{0, size / 2, size - 1, rng.Uint64N(size), rng.Uint64N(size)}
			olds = []uint64{0, 1, size / 2, size - 1, size, rng.Uint64N(size + 1)}
		}
		checkSize(t, tr, ref, size, indexes, olds)
	}
}

func TestTree_RootsAndProofsMatchTlogAtLargeRandomSizes(t *testing.T) {
	forBothStores(t, testRootsAndProofsAtLargeSizes)
}

func testRootsAndProofsAtLargeSizes(t *testing.T, spilled bool) {
	n := uint64(70_000) // three tile levels: 65536 leaves fill one level-2 hash
	if testing.Short() {
		n = 5_000
	}
	tr, ref := buildTrees(t, n, spilled)
	rng := rand.New(rand.NewPCG(3, 4))
	sizes := []uint64{256, 257, 511, 512, 65535, 65536, 65537, n}
	for range 20 {
		sizes = append(sizes, 1+rng.Uint64N(n))
	}
	for _, size := range sizes {
		if size > n {
			continue
		}
		var indexes, olds []uint64
		for range 4 {
			indexes = append(indexes, rng.Uint64N(size))
			olds = append(olds, rng.Uint64N(size+1))
		}
		indexes = append(indexes, 0, size-1)
		olds = append(olds, size-1, size)
		checkSize(t, tr, ref, size, indexes, olds)
	}
}

func TestTree_TilesMatchTlogReadTileData(t *testing.T) {
	forBothStores(t, testTilesMatchTlog)
}

func testTilesMatchTlog(t *testing.T, spilled bool) {
	n := uint64(70_000)
	if testing.Short() {
		n = 5_000
	}
	tr, ref := buildTrees(t, n, spilled)
	checked := 0
	for L := range 4 {
		count := tr.levelCount(L)
		for N := uint64(0); N*TileWidth < count || (N == 0 && count == 0); N++ {
			avail := int(min(count-N*TileWidth, TileWidth))
			if count == 0 {
				avail = 0
			}
			for _, W := range []int{1, avail / 2, avail, avail + 1, TileWidth} {
				if W < 1 || W > TileWidth {
					continue
				}
				got, err := tr.tileData(L, N, W)
				if W > avail {
					if !errors.Is(err, ErrOutOfRange) {
						t.Fatalf("tileData(%d, %d, %d) with %d available: err = %v, want ErrOutOfRange", L, N, W, avail, err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("tileData(%d, %d, %d): %v", L, N, W, err)
				}
				want, err := tlog.ReadTileData(tlog.Tile{H: TileHeight, L: L, N: int64(N), W: W}, ref)
				if err != nil {
					t.Fatalf("tlog.ReadTileData(%d/%d.p/%d): %v", L, N, W, err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("tile %d/%d width %d differs from tlog", L, N, W)
				}
				checked++
			}
			if count == 0 {
				break
			}
		}
	}
	if want := int(n / TileWidth); checked < want {
		t.Fatalf("checked only %d tiles, want at least %d", checked, want)
	}
}

func TestTree_RejectsOutOfRange(t *testing.T) {
	tr, _ := buildTrees(t, 10, false)
	tests := []struct {
		name string
		call func() error
	}{
		{"root beyond size", func() error { _, err := tr.rootAt(11); return err }},
		{"inclusion index equals size", func() error { _, err := tr.inclusion(5, 5); return err }},
		{"inclusion size beyond tree", func() error { _, err := tr.inclusion(0, 11); return err }},
		{"inclusion in empty tree", func() error { _, err := tr.inclusion(0, 0); return err }},
		{"consistency size1 above size2", func() error { _, err := tr.consistency(6, 5); return err }},
		{"consistency beyond tree", func() error { _, err := tr.consistency(5, 11); return err }},
		{"node at level 64", func() error { _, err := tr.nodeHash(64, 0); return err }},
		{"node not complete", func() error { _, err := tr.nodeHash(2, 2); return err }},
		{"node with huge index", func() error { _, err := tr.nodeHash(3, 1<<62); return err }},
		{"tile width 0", func() error { _, err := tr.tileData(0, 0, 0); return err }},
		{"tile width 257", func() error { _, err := tr.tileData(0, 0, 257); return err }},
		{"tile wider than tree", func() error { _, err := tr.tileData(0, 0, 11); return err }},
		{"tile index overflow", func() error { _, err := tr.tileData(0, 1<<62, 1); return err }},
		{"tile level beyond tree", func() error { _, err := tr.tileData(1, 0, 1); return err }},
		{"tile level 63", func() error { _, err := tr.tileData(63, 0, 1); return err }},
		{"tile level negative", func() error { _, err := tr.tileData(-1, 0, 1); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, ErrOutOfRange) {
				t.Fatalf("err = %v, want ErrOutOfRange", err)
			}
		})
	}
}

func TestTree_EmptyRootIsSHA256OfNothing(t *testing.T) {
	root, err := newTree().rootAt(0)
	if err != nil {
		t.Fatal(err)
	}
	want := rfc6962.DefaultHasher.EmptyRoot()
	if !bytes.Equal(root, want) {
		t.Fatalf("empty root %x, want %x", root, want)
	}
	var b Builder
	if !bytes.Equal(b.Root(), want) || !bytes.Equal(RootOf(nil), want) {
		t.Fatal("Builder or RootOf of no leaves is not the empty root")
	}
}

// TestBuilder_MatchesTreeForAnyBatching is a property test: however leaves
// are batched into the tree, its root at every size equals what the
// streaming Builder computes.
func TestBuilder_MatchesTreeForAnyBatching(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		batches := rapid.SliceOfN(rapid.IntRange(0, 70), 1, 20).Draw(rt, "batches")
		tr := newTree()
		var b Builder
		var all [][HashSize]byte
		for _, n := range batches {
			leaves := testLeaves("p", uint64(len(all)), uint64(len(all)+n))
			if err := tr.append(leaves); err != nil {
				rt.Fatalf("append: %v", err)
			}
			for _, l := range leaves {
				b.Append(l)
			}
			all = append(all, leaves...)
			root, err := tr.rootAt(tr.size)
			if err != nil {
				rt.Fatal(err)
			}
			if b.Size() != tr.size || !bytes.Equal(root, b.Root()) {
				rt.Fatalf("size %d: tree root %x, builder root %x", tr.size, root, b.Root())
			}
		}
		if size := rapid.Uint64Range(0, uint64(len(all))).Draw(rt, "size"); true {
			root, err := tr.rootAt(size)
			if err != nil {
				rt.Fatal(err)
			}
			if want := RootOf(all[:size]); !bytes.Equal(root, want) {
				rt.Fatalf("rootAt(%d) = %x, RootOf = %x", size, root, want)
			}
		}
	})
}

// BenchmarkHashChildren is the machine's own limit for the numbers above:
// appending costs about one interior hash per leaf, amortised.
func BenchmarkHashChildren(b *testing.B) {
	l, r := make([]byte, HashSize), make([]byte, HashSize)
	b.ReportAllocs()
	for b.Loop() {
		l = rfc6962.DefaultHasher.HashChildren(l, r)
	}
}

func BenchmarkInclusionProof(b *testing.B) {
	tr := newTree()
	const n = 1 << 20
	for i := uint64(0); i < n; i += 4096 {
		if err := tr.append(testLeaves("b", i, i+4096)); err != nil {
			b.Fatal(err)
		}
	}
	var i uint64
	for b.Loop() {
		if _, err := tr.inclusion(i%n, n-1); err != nil {
			b.Fatal(err)
		}
		i += 7919
	}
}
