// Package localfs stores blobs in a directory. A blob a record refers to
// must be durable before the record is, and a file per blob cost a create,
// a link, an unlink and a share of a filesystem-wide sync (syncfs) each:
// the largest cost of capturing media. So blobs are appended to pack files
// (pack.go) instead, and writers wait for a group commit: the first writer
// to find no commit running writes everything appended so far with one
// write and makes it durable with one fdatasync of the pack, however many
// writers arrived meanwhile (like the journal's group commit). A failed
// write or sync fails every write it covered and every write after it:
// nothing is acknowledged on the strength of a sync that failed. The sync
// is the journal's (durable.Syncer): it waits without holding a thread
// where the kernel allows.
//
// Layout:
//
//	packs/0000000001.pack   frames of sealed blobs, appended; a new pack every 64 MiB
//	packs/0000000001.idx    where the live blobs of a pack no longer written to are
//	ab/abcd…                one file per blob: the layout before packs, still read and deleted
//
// Which blob is where is kept in memory, rebuilt on Open from the packs'
// index files (packindex.go) or, for a pack without one, its frame
// headers. Delete marks the frame deleted and punches its data out
// of the file (zeroing it where the filesystem cannot punch holes), so the
// ciphertext is gone from the disk, not only from the index.
package localfs

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/onrecord/onrecord/internal/blob"
	"github.com/onrecord/onrecord/internal/durable"
)

// Store is a directory of blobs.
type Store struct {
	dir   string
	packs string // dir/packs
	// legacy is set when the directory holds fan-out directories of
	// one-file-per-blob blobs, which are then looked for too.
	legacy bool

	mu      sync.Mutex
	cond    *sync.Cond
	index   map[[32]byte]loc
	files   map[uint32]*os.File // every pack, open for reading and writing
	indexed map[uint32]bool     // the packs that have an index file (packindex.go)
	active  uint32              // the pack new blobs go to
	end     int64               // where the next frame goes in the active pack
	pending []chunk             // appended frames not yet written
	spare   []byte              // a committed chunk's buffer, for the next chunk
	written uint64              // generation of the latest appended blob
	synced  uint64              // every blob up to this generation is durable
	syncing bool                // a writer is running the group commit
	broken  error               // a failed write or sync: the store takes no more writes
	// syncFile makes a pack's data durable (syncer's fdatasync); a test
	// replaces it to inject failures.
	syncFile func(f *os.File) error
	syncer   *durable.Syncer
	// packLimit is packSize; a test lowers it.
	packLimit int64
}

// loc is where a blob's frame is, and the generation of the write that put
// it there: it may be read and acknowledged once that is durable.
type loc struct {
	pack uint32
	off  int64
	size uint32
	gen  uint64
}

// maxSpare bounds the chunk buffer kept between commits.
const maxSpare = 8 << 20

// chunk is frames appended to one pack that are not yet written.
type chunk struct {
	pack uint32
	off  int64
	buf  []byte
}

var _ blob.Store = (*Store)(nil)

// Open creates dir if needed and returns the store in it.
func Open(dir string) (*Store, error) {
	if err := durable.MkdirAll(dir); err != nil {
		return nil, fmt.Errorf("blob directory: %w", err)
	}
	s := &Store{dir: dir, packs: filepath.Join(dir, "packs"), index: map[[32]byte]loc{}, files: map[uint32]*os.File{}, indexed: map[uint32]bool{}}
	s.cond = sync.NewCond(&s.mu)
	s.syncer = durable.NewSyncer()
	s.syncFile, s.packLimit = s.syncer.Fdatasync, packSize
	if err := durable.MkdirAll(s.packs); err != nil {
		return nil, fmt.Errorf("blob directory: %w", err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("blob directory: %w", err)
	}
	for _, e := range ents {
		if e.IsDir() && isFanOut(e.Name()) {
			s.legacy = true
		}
	}
	if err := s.load(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// load opens every pack and indexes its blobs; the last one becomes the
// active pack, cut back to its last valid frame.
func (s *Store) load() error {
	nums, err := listPacks(s.packs)
	if err != nil {
		return fmt.Errorf("list blob packs: %w", err)
	}
	for i, n := range nums {
		f, err := os.OpenFile(packPath(s.packs, n), os.O_RDWR, 0)
		if err != nil {
			return fmt.Errorf("open blob pack: %w", err)
		}
		s.files[n] = f
		last := i == len(nums)-1
		live, end, err := s.loadPack(f, n, last)
		if err != nil {
			return err
		}
		for _, b := range live {
			s.index[b.key] = loc{pack: n, off: b.off, size: b.size}
		}
		if last {
			s.active, s.end = n, end
			if st, err := f.Stat(); err != nil {
				return err
			} else if st.Size() != end {
				// A torn tail: writes that were never synced, so never
				// acknowledged.
				if err := f.Truncate(end); err != nil {
					return fmt.Errorf("cut torn tail of %s: %w", f.Name(), err)
				}
				if err := f.Sync(); err != nil {
					return fmt.Errorf("sync %s: %w", f.Name(), err)
				}
			}
		}
	}
	if len(nums) == 0 {
		return s.newPack(1)
	}
	return nil
}

// loadPack lists the live blobs of pack n from its index (packindex.go),
// or else by scanning it, and then writes its index. The last pack is
// always scanned and verified, and any index it has is removed first: it
// is written to again from now on.
func (s *Store) loadPack(f *os.File, n uint32, last bool) (live []scanned, end int64, err error) {
	if last {
		if _, err := os.Stat(indexPath(s.packs, n)); err == nil {
			if err := removePackIndex(s.packs, n); err != nil {
				return nil, 0, err
			}
		}
	} else {
		st, err := f.Stat()
		if err != nil {
			return nil, 0, err
		}
		if live, ok := readPackIndex(s.packs, n, st); ok {
			s.indexed[n] = true
			return live, st.Size(), nil
		}
		defer func() {
			// Only a cost saved next time: a pack without an index is
			// scanned again.
			if err == nil && writePackIndex(s.packs, n, st, live) == nil {
				s.indexed[n] = true
			}
		}()
	}
	live, end, err = scanPack(f, last)
	if err != nil {
		return nil, 0, fmt.Errorf("scan blob pack %s: %w", f.Name(), err)
	}
	return live, end, nil
}

// newPack creates pack n, durably, and makes it the active pack.
func (s *Store) newPack(n uint32) error {
	p := packPath(s.packs, n)
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("create blob pack: %w", err)
	}
	if err := durable.SyncDir(s.packs); err != nil {
		f.Close()
		os.Remove(p)
		return fmt.Errorf("create blob pack: %w", err)
	}
	s.files[n], s.active, s.end = f, n, 0
	return nil
}

// Packed is how many blobs the packs hold (blobs stored one file each,
// before packs, are not counted).
func (s *Store) Packed() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.index)
}

// Close closes the packs. Nothing may be in flight.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, f := range s.files {
		errs = append(errs, f.Close())
	}
	clear(s.files)
	errs = append(errs, s.syncer.Close())
	return errors.Join(errs...)
}

// isFanOut says whether name is a fan-out directory of the one-file-per-blob
// layout: two lowercase hex digits.
func isFanOut(name string) bool {
	hexDigit := func(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' }
	return len(name) == 2 && hexDigit(name[0]) && hexDigit(name[1])
}

func (s *Store) legacyPath(addr string) string {
	return filepath.Join(s.dir, addr[:2], addr)
}

func parseAddr(addr string) ([32]byte, error) {
	var key [32]byte
	if err := blob.ValidAddress(addr); err != nil {
		return key, err
	}
	hex.Decode(key[:], []byte(addr))
	return key, nil
}

// Put stores b under addr and returns once it is durable.
func (s *Store) Put(ctx context.Context, addr string, b []byte) error {
	key, err := parseAddr(addr)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(b) > maxBlobSize {
		return fmt.Errorf("put blob %s: %d bytes, more than a pack frame holds", addr, len(b))
	}
	if s.legacy {
		// Content-addressed: already there is already right.
		if _, err := os.Stat(s.legacyPath(addr)); err == nil {
			return nil
		}
	}
	s.mu.Lock()
	if s.broken != nil {
		s.mu.Unlock()
		return fmt.Errorf("put blob %s: %w", addr, s.broken)
	}
	if l, ok := s.index[key]; ok {
		// Stored already, or being stored: acknowledged once durable.
		s.mu.Unlock()
		return s.waitSynced(l.gen)
	}
	if s.end >= s.packLimit {
		if err := s.roll(); err != nil {
			s.mu.Unlock()
			return fmt.Errorf("put blob %s: %w", addr, err)
		}
	}
	if n := len(s.pending); n == 0 || s.pending[n-1].pack != s.active {
		s.pending = append(s.pending, chunk{pack: s.active, off: s.end, buf: s.spare})
		s.spare = nil
	}
	c := &s.pending[len(s.pending)-1]
	c.buf = appendFrame(c.buf, key, b)
	s.written++
	gen := s.written
	s.index[key] = loc{pack: s.active, off: s.end, size: uint32(len(b)), gen: gen} // #nosec G115 -- len(b) <= maxBlobSize (2^32-1), checked above
	s.end += frameHeaderSize + int64(len(b))
	s.mu.Unlock()
	// A sync in flight may have ended already (durable.PokeAll).
	durable.PokeAll()
	return s.waitSynced(gen)
}

// roll moves writes on to a new pack; frames already appended to the old
// one are still written there. Called with s.mu held. A pack that cannot
// be created fails this Put only: nothing was written.
func (s *Store) roll() error { return s.newPack(s.active + 1) }

// waitSynced returns once every write up to generation gen is durable.
// The first waiter to find no commit running writes and syncs everything
// appended so far; the others wait for it (and, if their blob came after
// it started, for the next).
func (s *Store) waitSynced(gen uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.synced < gen {
		if s.broken != nil {
			return s.broken
		}
		if s.syncing {
			s.cond.Wait()
			continue
		}
		s.syncing = true
		target, chunks := s.written, s.pending
		s.pending = nil
		files := make([]*os.File, len(chunks))
		for i, c := range chunks {
			files[i] = s.files[c.pack]
		}
		s.mu.Unlock()
		err := s.commit(chunks, files)
		s.mu.Lock()
		if n := len(chunks); n > 0 && cap(chunks[n-1].buf) <= maxSpare {
			// Kept for the next chunk rather than grown again from
			// nothing: the frames are sealed blobs, written already.
			s.spare = chunks[n-1].buf[:0]
		}
		s.syncing = false
		if err != nil {
			s.broken = err
		} else {
			s.synced = target
		}
		s.cond.Broadcast()
	}
	return nil
}

// commit writes chunks and syncs the packs they went to.
func (s *Store) commit(chunks []chunk, files []*os.File) error {
	for i, c := range chunks {
		if _, err := files[i].WriteAt(c.buf, c.off); err != nil {
			return fmt.Errorf("write blob pack %s: %w", files[i].Name(), err)
		}
	}
	for i, f := range files {
		if i > 0 && f == files[i-1] {
			continue
		}
		if err := s.syncFile(f); err != nil {
			return fmt.Errorf("sync blob pack %s: %w", f.Name(), err)
		}
	}
	return nil
}

// Get implements blob.Store.
func (s *Store) Get(ctx context.Context, addr string) ([]byte, error) {
	key, err := parseAddr(addr)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	l, ok := s.index[key]
	f := s.files[l.pack]
	s.mu.Unlock()
	if !ok {
		return s.getLegacy(addr)
	}
	if err := s.waitSynced(l.gen); err != nil {
		return nil, fmt.Errorf("get blob %s: %w", addr, err)
	}
	buf := make([]byte, frameHeaderSize+int(l.size))
	if _, err := f.ReadAt(buf, l.off); err != nil {
		return nil, fmt.Errorf("get blob %s: %w", addr, err)
	}
	k, n, crc, flags, ok := frameAt(buf)
	switch {
	case ok && flags&flagDeleted != 0:
		return nil, fmt.Errorf("get blob %s: %w", addr, blob.ErrNotFound)
	case !ok || k != key || n != l.size || frameCRC(k, buf[frameHeaderSize:]) != crc:
		return nil, fmt.Errorf("get blob %s: damaged frame at %d in %s", addr, l.off, f.Name())
	}
	return buf[frameHeaderSize:], nil
}

func (s *Store) getLegacy(addr string) ([]byte, error) {
	if !s.legacy {
		return nil, fmt.Errorf("get blob %s: %w", addr, blob.ErrNotFound)
	}
	b, err := os.ReadFile(s.legacyPath(addr))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("get blob %s: %w", addr, blob.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get blob %s: %w", addr, err)
	}
	return b, nil
}

// Delete implements blob.Store: the blob's frame is marked deleted and its
// data punched out of the pack, durably, before Delete returns.
func (s *Store) Delete(ctx context.Context, addr string) error {
	key, err := parseAddr(addr)
	if err != nil {
		return err
	}
	s.mu.Lock()
	l, ok := s.index[key]
	s.mu.Unlock()
	if ok {
		// A blob still being written is deleted once it is on disk.
		if err := s.waitSynced(l.gen); err != nil {
			return fmt.Errorf("delete blob %s: %w", addr, err)
		}
		s.mu.Lock()
		if cur, still := s.index[key]; still && cur == l {
			delete(s.index, key)
		} else {
			ok = false // deleted meanwhile
		}
		f := s.files[l.pack]
		indexed := s.indexed[l.pack]
		s.mu.Unlock()
		if ok && indexed {
			// The index would list the blob as live after a restart.
			if err := removePackIndex(s.packs, l.pack); err != nil {
				return fmt.Errorf("delete blob %s: %w", addr, err)
			}
			s.mu.Lock()
			s.indexed[l.pack] = false
			s.mu.Unlock()
		}
		if ok {
			if err := erase(f, l); err != nil {
				return fmt.Errorf("delete blob %s: %w", addr, err)
			}
		}
	}
	if !s.legacy {
		return nil
	}
	p := s.legacyPath(addr)
	switch err := os.Remove(p); {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("delete blob %s: %w", addr, err)
	}
	return durable.SyncDir(filepath.Dir(p))
}

// erase marks the frame at l deleted and removes its data from the pack.
func erase(f *os.File, l loc) error {
	if _, err := f.WriteAt([]byte{flagDeleted}, l.off+4); err != nil {
		return fmt.Errorf("mark frame deleted: %w", err)
	}
	if err := punch(f, l.off+frameHeaderSize, int64(l.size)); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", f.Name(), err)
	}
	return nil
}
