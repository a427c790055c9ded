package ledger

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
)

// TestLedger_LeafTilesSpillAndComeBackChecked: past a few thousand leaves
// the ledger keeps its full leaf tiles in the file, not in memory; every
// read of one comes back identical to the leaves appended, and a change to
// the file — one bit of one hash — is an error naming the file, never a
// wrong proof, tile or leaf hash.
func TestLedger_LeafTilesSpillAndComeBackChecked(t *testing.T) {
	dir := t.TempDir()
	entries := func(o *Options) {
		o.Entries = func(from, to uint64) ([][]byte, error) {
			var out [][]byte
			for i := from; i < to; i++ {
				out = append(out, testEntry("s", i))
			}
			return out, nil
		}
	}
	l := mustOpen(t, dir, mustKey(t, ""), entries)
	defer l.Close()
	const n = 40*TileWidth + 17
	for i := uint64(0); i < n; i += 3 * TileWidth { // as the journal's batches come
		mustAppend(t, l, "s", i, min(i+3*TileWidth, n))
	}
	leaves := testLeaves("s", 0, n)

	l.mu.RLock()
	inMemory := 0
	for _, tl := range l.tree.tiles[0] {
		if tl != nil {
			inMemory++
		}
	}
	written := l.tree.spill.written
	l.mu.RUnlock()
	// Written once 16 wait: at 18 and 36 full tiles; 4 full and the
	// partial one are still in memory.
	if written != 36 || inMemory != 5 {
		t.Fatalf("%d tiles written, %d in memory; want 36 and 5", written, inMemory)
	}
	fi, err := os.Stat(filepath.Join(dir, LeafTilesFile))
	if err != nil || fi.Size() != 36*TileWidth*HashSize {
		t.Fatalf("leaf tiles file: %v, %v", fi, err)
	}
	for _, i := range []uint64{0, 255, 256, 5000, 36*TileWidth - 1, 36 * TileWidth, n - 1} {
		h, err := l.LeafHash(i)
		if err != nil || h != leaves[i] {
			t.Fatalf("LeafHash(%d) = %x, %v; want %x", i, h, err, leaves[i])
		}
	}
	tile, err := l.ReadTile(0, 3, TileWidth)
	if err != nil || !bytes.Equal(tile, slices.Concat(sliceOf(leaves[3*TileWidth:4*TileWidth])...)) {
		t.Fatalf("ReadTile(0, 3): %v", err)
	}
	proofBefore, err := l.InclusionProof(1000, n)
	if err != nil {
		t.Fatal(err)
	}

	// Change one bit of leaf 7*256+5 on disk; tile 7 is not cached yet.
	f, err := os.OpenFile(filepath.Join(dir, LeafTilesFile), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	off := int64(7*TileWidth+5) * HashSize
	b := make([]byte, 1)
	f.ReadAt(b, off)
	b[0] ^= 1
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
	f.Close()
	for what, call := range map[string]func() error{
		"LeafHash":        func() error { _, err := l.LeafHash(7*TileWidth + 5); return err },
		"ReadTile":        func() error { _, err := l.ReadTile(0, 7, TileWidth); return err },
		"InclusionProof":  func() error { _, err := l.InclusionProof(7*TileWidth+9, n); return err },
		"InclusionProofs": func() error { _, err := l.InclusionProofs([]uint64{1, 7 * TileWidth}, n); return err },
		"ReadEntryBundle": func() error { _, err := l.ReadEntryBundle(7, TileWidth); return err },
	} {
		if err := call(); !errors.Is(err, errDamagedSpill) {
			t.Errorf("%s over the changed tile: err = %v, want the damaged-file error", what, err)
		}
	}
	// Tiles elsewhere still serve, and the same proofs as before.
	if p, err := l.InclusionProof(1000, n); err != nil || !slices.EqualFunc(p, proofBefore, bytes.Equal) {
		t.Fatalf("proof away from the change: %v", err)
	}
	if _, err := l.ReadEntryBundle(8, TileWidth); err != nil {
		t.Fatalf("entry bundle away from the change: %v", err)
	}

	// Reopening rebuilds the file from the replayed leaves.
	l.Close()
	l2 := mustOpen(t, dir, mustKey(t, ""))
	defer l2.Close()
	mustAppend(t, l2, "s", 0, n)
	if h, err := l2.LeafHash(7*TileWidth + 5); err != nil || h != leaves[7*TileWidth+5] {
		t.Fatalf("after reopen: %x, %v", h, err)
	}
}

func sliceOf(hs [][HashSize]byte) [][]byte {
	out := make([][]byte, len(hs))
	for i := range hs {
		out[i] = hs[i][:]
	}
	return out
}

// TestLedger_LeafTilesStayInMemoryWhenTheFileCannotBeWritten: the file
// only saves memory; when writing it fails the tree keeps its tiles and
// answers as before.
func TestLedger_LeafTilesStayInMemoryWhenTheFileCannotBeWritten(t *testing.T) {
	l := mustOpen(t, t.TempDir(), mustKey(t, ""))
	defer l.Close()
	l.tree.spill.f.Close() // every write now fails
	const n = 20 * TileWidth
	mustAppend(t, l, "w", 0, n)
	leaves := testLeaves("w", 0, n)
	if l.tree.spill.failed == nil || !l.tree.spill.warned || l.tree.spill.written != 0 {
		t.Fatalf("failed %v warned %v written %d", l.tree.spill.failed, l.tree.spill.warned, l.tree.spill.written)
	}
	for i := uint64(0); i < n; i += 97 {
		if h, err := l.LeafHash(i); err != nil || h != leaves[i] {
			t.Fatalf("LeafHash(%d): %v", i, err)
		}
	}
	if _, err := l.InclusionProofs([]uint64{0, 300, n - 1}, n); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkAppendLeavesHeap reports the heap the tree holds per leaf once
// a million leaves are in: the leaf tiles are on disk.
func BenchmarkAppendLeavesHeap(b *testing.B) {
	const n = 1 << 20
	leaves := testLeaves("h", 0, n)
	var heap uint64
	for b.Loop() {
		b.StopTimer()
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		l := mustOpen(b, b.TempDir(), mustKey(b, ""))
		b.StartTimer()
		for i := uint64(0); i < n; i += 4096 {
			if err := l.AppendLeaves(i, leaves[i:i+4096]); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&after)
		heap += after.HeapAlloc - before.HeapAlloc
		runtime.KeepAlive(l)
		l.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "leaves/s")
	b.ReportMetric(float64(heap)/float64(b.N)/n, "heap-B/leaf")
}
