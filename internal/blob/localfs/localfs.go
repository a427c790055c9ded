// Package localfs stores blobs as files in a directory: one file per
// address under a one-level fan-out of 256 directories (ab/abcd…). A blob a
// record refers to must be durable before the record is, but one fsync of
// the file and one of its directory per blob made blob writes the largest
// cost of capturing media. So files are written and linked into place
// without a sync of their own, and writers wait for a group sync: one
// syncfs(2) of the filesystem covers every blob written before it started,
// however many writers arrived meanwhile (a group commit, like the
// journal's). A failed sync fails every write it covered and every write
// after it: nothing is acknowledged on the strength of a sync that failed.
package localfs

import (
	"context"
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
	dir  string
	made sync.Map // fan-out directories known to exist durably

	mu      sync.Mutex
	cond    *sync.Cond
	written uint64            // generation of the latest write
	synced  uint64            // every write up to this generation is durable
	syncing bool              // a writer is running the group sync
	pending map[string]uint64 // blobs written but not yet synced, by generation
	broken  error             // a failed sync: the store takes no more writes
	// syncFS makes everything written to the filesystem durable
	// (syncfs(2) on Linux); a test replaces it to inject failures.
	syncFS func() error
}

var _ blob.Store = (*Store)(nil)

// Open creates dir if needed and returns the store in it.
func Open(dir string) (*Store, error) {
	if err := durable.MkdirAll(dir); err != nil {
		return nil, fmt.Errorf("blob directory: %w", err)
	}
	s := &Store{dir: dir, pending: map[string]uint64{}}
	s.cond = sync.NewCond(&s.mu)
	s.syncFS = func() error { return syncFS(dir) }
	return s, nil
}

func (s *Store) path(addr string) string {
	return filepath.Join(s.dir, addr[:2], addr)
}

// Put stores b under addr and returns once it is durable.
func (s *Store) Put(ctx context.Context, addr string, b []byte) error {
	if err := blob.ValidAddress(addr); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	p := s.path(addr)
	if _, err := os.Stat(p); err == nil {
		// Content-addressed: already there is already right, once the
		// write that put it there is durable.
		s.mu.Lock()
		gen, unsynced := s.pending[addr]
		s.mu.Unlock()
		if unsynced {
			return s.waitSynced(gen)
		}
		return nil
	}
	// Creating a fan-out directory costs a mkdir and an fsync of its
	// parent; remember the ones made so each is paid once per process.
	if sub := filepath.Dir(p); !s.knownDir(sub) {
		if err := durable.MkdirAll(sub); err != nil {
			return err
		}
		s.made.Store(sub, true)
	}
	if err := writeLinked(p, b); err != nil {
		return fmt.Errorf("put blob %s: %w", addr, err)
	}
	s.mu.Lock()
	if s.broken != nil {
		s.mu.Unlock()
		return fmt.Errorf("put blob %s: %w", addr, s.broken)
	}
	s.written++
	gen := s.written
	s.pending[addr] = gen
	s.mu.Unlock()
	return s.waitSynced(gen)
}

// writeLinked writes b to a temporary file and links it to path, so that
// path only ever names a complete file; the caller makes it durable.
func writeLinked(path string, b []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("create temporary file in %s: %w", dir, err)
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName)
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", tmpName, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmpName, err)
	}
	if err := os.Link(tmpName, path); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("link %s into place: %w", path, err)
	}
	return nil
}

// waitSynced returns once every write up to generation gen is durable.
// The first waiter to find no sync running runs one for everything
// written so far; the others wait for it (and, if their write came after
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
		target := s.written
		s.mu.Unlock()
		err := s.syncFS()
		s.mu.Lock()
		s.syncing = false
		if err != nil {
			s.broken = fmt.Errorf("sync blob store: %w", err)
		} else {
			s.synced = target
			for a, g := range s.pending {
				if g <= target {
					delete(s.pending, a)
				}
			}
		}
		s.cond.Broadcast()
	}
	return nil
}

func (s *Store) knownDir(d string) bool {
	_, ok := s.made.Load(d)
	return ok
}

// Get implements blob.Store.
func (s *Store) Get(ctx context.Context, addr string) ([]byte, error) {
	if err := blob.ValidAddress(addr); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(s.path(addr))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("get blob %s: %w", addr, blob.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get blob %s: %w", addr, err)
	}
	return b, nil
}

// Delete implements blob.Store.
func (s *Store) Delete(ctx context.Context, addr string) error {
	if err := blob.ValidAddress(addr); err != nil {
		return err
	}
	p := s.path(addr)
	switch err := os.Remove(p); {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("delete blob %s: %w", addr, err)
	}
	return durable.SyncDir(filepath.Dir(p))
}
