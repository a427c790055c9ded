// Package durable creates files and directories so that they survive a
// crash: data fsynced before it is linked into place, and the parent
// directory fsynced after every entry added to it (a new name is not
// durable until its directory is; etcd#6368). Keys and other secrets are
// created with it, never overwritten.
package durable

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// SyncDir fsyncs a directory so that entries created, linked, renamed or
// removed in it survive a crash (a rename is not durable until its parent
// directory is synced; etcd#6368).
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

// MkdirAll creates dir and any missing parents with mode 0700, fsyncing
// each parent after the entry is added to it.
func MkdirAll(dir string) error {
	fi, err := os.Stat(dir)
	if err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%s exists and is not a directory", dir)
		}
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("stat %s: %w", dir, err)
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := MkdirAll(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create directory %s: %w", dir, err)
	}
	return SyncDir(parent)
}

// CreateFile writes data to path only if path does not exist yet:
// temp file in the same directory (mode 0600), fsync, hard link to path
// (which fails if path exists, unlike rename), remove the temp name, fsync
// the directory. It reports whether this call created path; false means
// another writer got there first and its file was left untouched.
func CreateFile(path string, data []byte) (created bool, err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return false, fmt.Errorf("create temporary file in %s: %w", dir, err)
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName) // after the link, only the temporary name goes
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return false, fmt.Errorf("chmod %s: %w", tmpName, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return false, fmt.Errorf("write %s: %w", tmpName, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return false, fmt.Errorf("fsync %s: %w", tmpName, err)
	}
	if err := tmp.Close(); err != nil {
		return false, fmt.Errorf("close %s: %w", tmpName, err)
	}
	switch err := os.Link(tmpName, path); {
	case errors.Is(err, fs.ErrExist):
		created = false
	case err != nil:
		return false, fmt.Errorf("link %s into place: %w", path, err)
	default:
		created = true
	}
	if err := os.Remove(tmpName); err != nil {
		return false, fmt.Errorf("remove %s: %w", tmpName, err)
	}
	// Sync even when we lost the race: the winner may not have synced yet,
	// and we are about to rely on its file.
	if err := SyncDir(dir); err != nil {
		return false, err
	}
	return created, nil
}
