// Package localfs stores blobs as files in a directory: one file per
// address under a one-level fan-out of 256 directories (ab/abcd…), each
// written with a
// temporary file, fsync, link and directory fsync so that a blob a record
// refers to is durable before the record is.
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
}

var _ blob.Store = (*Store)(nil)

// Open creates dir if needed and returns the store in it.
func Open(dir string) (*Store, error) {
	if err := durable.MkdirAll(dir); err != nil {
		return nil, fmt.Errorf("blob directory: %w", err)
	}
	return &Store{dir: dir}, nil
}

func (s *Store) path(addr string) string {
	return filepath.Join(s.dir, addr[:2], addr)
}

// Put implements blob.Store.
func (s *Store) Put(ctx context.Context, addr string, b []byte) error {
	if err := blob.ValidAddress(addr); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	p := s.path(addr)
	if _, err := os.Stat(p); err == nil {
		return nil // content-addressed: already there is already right
	}
	// Creating a fan-out directory costs a mkdir and an fsync of its
	// parent; remember the ones made so each is paid once per process.
	if sub := filepath.Dir(p); !s.knownDir(sub) {
		if err := durable.MkdirAll(sub); err != nil {
			return err
		}
		s.made.Store(sub, true)
	}
	if _, err := durable.CreateFile(p, b); err != nil {
		return fmt.Errorf("put blob %s: %w", addr, err)
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
