package localfs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/onrecord/onrecord/internal/blob"
)

func mustOpen(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func content(i int) []byte { return bytes.Repeat([]byte(fmt.Sprintf("blob %d;", i)), 10+i) }

func mustPut(t *testing.T, s *Store, i int) {
	t.Helper()
	if err := s.Put(context.Background(), addr(i), content(i)); err != nil {
		t.Fatalf("put %d: %v", i, err)
	}
}

func mustGet(t *testing.T, s *Store, i int) {
	t.Helper()
	got, err := s.Get(context.Background(), addr(i))
	if err != nil || !bytes.Equal(got, content(i)) {
		t.Fatalf("get %d: %q, %v", i, got, err)
	}
}

func notFound(t *testing.T, s *Store, i int) {
	t.Helper()
	if _, err := s.Get(context.Background(), addr(i)); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("get %d: %v, want not found", i, err)
	}
}

func lastPack(t *testing.T, dir string) string {
	t.Helper()
	nums, err := listPacks(filepath.Join(dir, "packs"))
	if err != nil || len(nums) == 0 {
		t.Fatalf("packs: %v %v", nums, err)
	}
	return packPath(filepath.Join(dir, "packs"), nums[len(nums)-1])
}

func TestPacks_ReopenFindsEveryBlob(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	s.packLimit = 1 << 10 // several packs
	for i := range 30 {
		mustPut(t, s, i)
	}
	s.Close()
	if nums, _ := listPacks(filepath.Join(dir, "packs")); len(nums) < 3 {
		t.Fatalf("%d packs, want several", len(nums))
	}
	s = mustOpen(t, dir)
	for i := range 30 {
		mustGet(t, s, i)
	}
	mustPut(t, s, 30)
	mustGet(t, s, 30)
}

// Concurrent puts group-commit several packs' frames at once, each pack's
// from its own buffer, and the buffers are reused from one commit to the
// next: every blob must read back as put, before and after a reopen.
func TestPacks_ConcurrentPutsAcrossPacks(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	s.packLimit = 1 << 10 // most blobs roll to a new pack
	const writers, each = 8, 40
	errs := make(chan error, writers)
	for w := range writers {
		go func() {
			for k := range each {
				i := w*each + k
				if err := s.Put(context.Background(), addr(i), content(i%50)); err != nil {
					errs <- fmt.Errorf("put %d: %w", i, err)
					return
				}
			}
			errs <- nil
		}()
	}
	for range writers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	check := func(s *Store) {
		t.Helper()
		for i := range writers * each {
			got, err := s.Get(context.Background(), addr(i))
			if err != nil || !bytes.Equal(got, content(i%50)) {
				t.Fatalf("get %d: %.40q, %v", i, got, err)
			}
		}
	}
	check(s)
	s.Close()
	check(mustOpen(t, dir))
}

// A crash leaves the last pack with a torn tail: frames whose writes were
// never synced, so never acknowledged. Reopening cuts it off, keeps what
// was before, and a provider's retry stores the blob again.
func TestPacks_TornTailIsCut(t *testing.T) {
	for _, tail := range []struct {
		name string
		cut  func(frame []byte) []byte
	}{
		{"partial header", func(f []byte) []byte { return f[:20] }},
		{"partial data", func(f []byte) []byte { return f[:len(f)-5] }},
		{"header without its data", func(f []byte) []byte {
			return append(f[:frameHeaderSize:frameHeaderSize], make([]byte, len(f)-frameHeaderSize)...)
		}},
		{"zeros", func(f []byte) []byte { return make([]byte, len(f)) }},
	} {
		t.Run(tail.name, func(t *testing.T) {
			dir := t.TempDir()
			s := mustOpen(t, dir)
			for i := range 5 {
				mustPut(t, s, i)
			}
			s.Close()
			var key [32]byte
			k, _ := parseAddr(addr(9))
			copy(key[:], k[:])
			torn := tail.cut(appendFrame(nil, key, content(9)))
			p := lastPack(t, dir)
			f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.Write(torn)
			f.Close()
			before, _ := os.Stat(p)

			s = mustOpen(t, dir)
			for i := range 5 {
				mustGet(t, s, i)
			}
			notFound(t, s, 9)
			if after, _ := os.Stat(p); after.Size() != before.Size()-int64(len(torn)) {
				t.Fatalf("pack is %d bytes after reopening, want %d", after.Size(), before.Size()-int64(len(torn)))
			}
			mustPut(t, s, 9)
			mustGet(t, s, 9)
			s.Close()
			s = mustOpen(t, dir)
			mustGet(t, s, 9)
		})
	}
}

// A damaged frame costs its own blob, not the blobs after it.
func TestPacks_DamagedFrameCostsOnlyItsBlob(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	for i := range 5 {
		mustPut(t, s, i)
	}
	s.mu.Lock()
	k, _ := parseAddr(addr(2))
	l := s.index[k]
	s.mu.Unlock()
	s.Close()
	f, err := os.OpenFile(lastPack(t, dir), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("XX"), l.off+frameHeaderSize+3)
	f.Close()
	s = mustOpen(t, dir)
	notFound(t, s, 2)
	for _, i := range []int{0, 1, 3, 4} {
		mustGet(t, s, i)
	}
}

// Delete takes the ciphertext off the disk, not only out of the index,
// and the blob stays deleted after reopening.
func TestPacks_DeleteRemovesTheBytes(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	s.packLimit = 1 << 10
	for i := range 12 {
		mustPut(t, s, i)
	}
	for _, i := range []int{1, 11} { // in a sealed pack and in the active one
		if err := s.Delete(context.Background(), addr(i)); err != nil {
			t.Fatal(err)
		}
		notFound(t, s, i)
	}
	s.Close()
	packs, _ := filepath.Glob(filepath.Join(dir, "packs", "*"+packExt))
	for _, p := range packs {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, i := range []int{1, 11} {
			if bytes.Contains(b, content(i)) {
				t.Fatalf("deleted blob %d still in %s", i, p)
			}
		}
	}
	s = mustOpen(t, dir)
	for i := range 12 {
		if i == 1 || i == 11 {
			notFound(t, s, i)
		} else {
			mustGet(t, s, i)
		}
	}
	// Stored again after deletion, it is found again.
	mustPut(t, s, 1)
	mustGet(t, s, 1)
}

// Blobs stored one file each, before packs, are still read, count as
// stored, and are deleted.
func TestPacks_OneFilePerBlobLayoutStillWorks(t *testing.T) {
	dir := t.TempDir()
	a := addr(3)
	if err := os.MkdirAll(filepath.Join(dir, a[:2]), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, a[:2], a), content(3), 0o600); err != nil {
		t.Fatal(err)
	}
	s := mustOpen(t, dir)
	mustGet(t, s, 3)
	mustPut(t, s, 3)
	s.mu.Lock()
	n := len(s.index)
	s.mu.Unlock()
	if n != 0 {
		t.Fatalf("a blob stored before was packed again")
	}
	if err := s.Delete(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	notFound(t, s, 3)
	if _, err := os.Stat(filepath.Join(dir, a[:2], a)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("file of deleted blob: %v", err)
	}
}
