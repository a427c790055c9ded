package localfs

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// storeWithPacks stores n blobs across several packs and closes the store.
func storeWithPacks(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	s := mustOpen(t, dir)
	s.packLimit = 1 << 10
	for i := range n {
		mustPut(t, s, i)
	}
	s.Close()
	return dir
}

func indexOf(t *testing.T, s *Store) map[[32]byte]loc {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[[32]byte]loc, len(s.index))
	for k, l := range s.index {
		l.gen = 0
		out[k] = l
	}
	return out
}

// TestPackIndex_ReopenReadsIndexesNotFrames: the first open scans the
// sealed packs and indexes them; the next one finds the same blobs from
// the indexes alone — shown by damaging a frame header in a sealed pack,
// which a scan would stop at, losing the blobs after it.
func TestPackIndex_ReopenReadsIndexesNotFrames(t *testing.T) {
	dir := storeWithPacks(t, 40)
	packs := filepath.Join(dir, "packs")
	nums, _ := listPacks(packs)
	if len(nums) < 4 {
		t.Fatalf("%d packs, want several", len(nums))
	}
	s := mustOpen(t, dir)
	want := indexOf(t, s)
	s.Close()
	for i, n := range nums {
		_, err := os.Stat(indexPath(packs, n))
		if last := i == len(nums)-1; last != os.IsNotExist(err) {
			t.Fatalf("pack %d (last %v): index %v", n, last, err)
		}
	}
	// Break the header of the first frame of the first pack, as the disk
	// would (the file's modification time stays).
	p := packPath(packs, nums[0])
	st, _ := os.Stat(p)
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("XXXX"), 0)
	f.Close()
	if err := os.Chtimes(p, st.ModTime(), st.ModTime()); err != nil {
		t.Fatal(err)
	}
	s = mustOpen(t, dir)
	if got := indexOf(t, s); len(got) != len(want) {
		t.Fatalf("%d blobs after reopening, want %d", len(got), len(want))
	}
	for i := range 40 {
		k, _ := parseAddr(addr(i))
		if s.index[k].off == 0 && s.index[k].pack == nums[0] {
			continue // the damaged frame: listed, but its read fails
		}
		mustGet(t, s, i)
	}
}

// deletedInPlace is the blob a test case erased behind the store's back.
var deletedInPlace [32]byte

// TestPackIndex_OnlyAWholeMatchingIndexIsUsed: an index that is torn, has
// a changed byte, was made for another pack, at another size or before the
// pack was changed in place is not used; the pack is scanned and indexed again, and every blob is found.
func TestPackIndex_OnlyAWholeMatchingIndexIsUsed(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, packs string, nums []uint32)
	}{
		{"torn", func(t *testing.T, packs string, nums []uint32) {
			b, _ := os.ReadFile(indexPath(packs, nums[1]))
			os.WriteFile(indexPath(packs, nums[1]), b[:len(b)-10], 0o600)
		}},
		{"a byte changed", func(t *testing.T, packs string, nums []uint32) {
			b, _ := os.ReadFile(indexPath(packs, nums[1]))
			b[indexHeaderSize+33] ^= 1 // an offset
			os.WriteFile(indexPath(packs, nums[1]), b, 0o600)
		}},
		{"another pack's", func(t *testing.T, packs string, nums []uint32) {
			b, _ := os.ReadFile(indexPath(packs, nums[0]))
			os.WriteFile(indexPath(packs, nums[1]), b, 0o600)
		}},
		{"the pack grew", func(t *testing.T, packs string, nums []uint32) {
			// A frame the index cannot know of: a scan finds it.
			k, _ := parseAddr(addr(99))
			f, _ := os.OpenFile(packPath(packs, nums[1]), os.O_WRONLY|os.O_APPEND, 0)
			f.Write(appendFrame(nil, k, content(99)))
			f.Close()
		}},
		{"empty", func(t *testing.T, packs string, nums []uint32) {
			os.WriteFile(indexPath(packs, nums[1]), nil, 0o600)
		}},
		{"the pack changed in place (an older onrecord deleted a blob)", func(t *testing.T, packs string, nums []uint32) {
			f, _ := os.OpenFile(packPath(packs, nums[1]), os.O_RDWR, 0)
			live, _, _ := scanPack(f, false)
			erase(f, loc{pack: nums[1], off: live[0].off, size: live[0].size})
			f.Close()
			deletedInPlace = live[0].key
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := storeWithPacks(t, 40)
			packs := filepath.Join(dir, "packs")
			nums, _ := listPacks(packs)
			s := mustOpen(t, dir) // writes the indexes
			want := indexOf(t, s)
			s.Close()
			tc.change(t, packs, nums)
			s = mustOpen(t, dir)
			got := indexOf(t, s)
			if k, _ := parseAddr(addr(99)); tc.name == "the pack grew" {
				mustGet(t, s, 99)
				delete(got, k)
			}
			if deletedInPlace != ([32]byte{}) {
				if _, listed := got[deletedInPlace]; listed {
					t.Fatal("a blob deleted in place is listed")
				}
				delete(want, deletedInPlace)
				deletedInPlace = [32]byte{}
			}
			if len(got) != len(want) {
				t.Fatalf("%d blobs, want %d", len(got), len(want))
			}
			for k, l := range want {
				if got[k] != l {
					t.Fatalf("blob %x at %+v, want %+v", k, got[k], l)
				}
			}
			for i := range 40 {
				if k, _ := parseAddr(addr(i)); want[k] != (loc{}) {
					mustGet(t, s, i)
				}
			}
			s.Close()
			st, _ := os.Stat(packPath(packs, nums[1]))
			if _, ok := readPackIndex(packs, nums[1], st); !ok {
				t.Fatal("the pack was not indexed again")
			}
		})
	}
}

// TestPackIndex_DeleteRemovesTheIndexFirst: a blob deleted from an
// indexed pack stays deleted after a restart, and the same content stored
// again is stored (not taken for present because a stale index said so).
func TestPackIndex_DeleteRemovesTheIndexFirst(t *testing.T) {
	dir := storeWithPacks(t, 40)
	packs := filepath.Join(dir, "packs")
	s := mustOpen(t, dir)
	k, _ := parseAddr(addr(3))
	pack := s.index[k].pack
	if !s.indexed[pack] {
		t.Fatalf("pack %d of blob 3 not indexed", pack)
	}
	if err := s.Delete(context.Background(), addr(3)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(indexPath(packs, pack)); !os.IsNotExist(err) {
		t.Fatalf("index of pack %d after a delete in it: %v", pack, err)
	}
	s.Close()
	s = mustOpen(t, dir)
	notFound(t, s, 3)
	mustPut(t, s, 3)
	s.Close()
	s = mustOpen(t, dir)
	mustGet(t, s, 3)
	for i := range 40 {
		mustGet(t, s, i)
	}
}

// TestPackIndex_LastPackIsAlwaysScanned: an index beside the pack being
// written (left by a copy, or a pack removed after it) is removed, not
// used: the pack is written to again.
func TestPackIndex_LastPackIsAlwaysScanned(t *testing.T) {
	dir := storeWithPacks(t, 40)
	packs := filepath.Join(dir, "packs")
	nums, _ := listPacks(packs)
	last := nums[len(nums)-1]
	st, _ := os.Stat(packPath(packs, last))
	if err := writePackIndex(packs, last, st, nil); err != nil { // lists nothing
		t.Fatal(err)
	}
	s := mustOpen(t, dir)
	for i := range 40 {
		mustGet(t, s, i)
	}
	if _, err := os.Stat(indexPath(packs, last)); !os.IsNotExist(err) {
		t.Fatalf("index of the last pack: %v", err)
	}
}
