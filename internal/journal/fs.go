package journal

import (
	"errors"
	"github.com/onrecord/onrecord/internal/durable"
	"io"
	"io/fs"
	"os"
)

// FS is the file-system seam of the journal. Every file operation the
// journal performs goes through it, so tests can inject faults (see package
// faultfs) and crash simulators can observe which data and directory entries
// were made durable. OSFS is the production implementation.
//
// Paths are ordinary OS paths (filepath.Join of the journal directory and a
// file name). Errors follow the os package conventions: a missing file is
// reported with an error for which errors.Is(err, fs.ErrNotExist) holds, and
// a full disk with one for which errors.Is(err, syscall.ENOSPC) holds.
type FS interface {
	// OpenFile opens name like os.OpenFile.
	OpenFile(name string, flag int, perm fs.FileMode) (File, error)
	// Remove removes the named file.
	Remove(name string) error
	// Rename atomically replaces newname with oldname. It is not durable
	// until SyncDir is called on the parent directory.
	Rename(oldname, newname string) error
	// ReadDir lists a directory, sorted by name.
	ReadDir(name string) ([]fs.DirEntry, error)
	// MkdirAll creates a directory and any missing parents.
	MkdirAll(name string, perm fs.FileMode) error
	// Stat describes the named file.
	Stat(name string) (fs.FileInfo, error)
	// Chmod changes the mode of the named file.
	Chmod(name string, mode fs.FileMode) error
	// SyncDir makes the directory's entries (creations, renames, removals)
	// durable: fsync(2) on the directory.
	SyncDir(name string) error
}

// File is an open file of an FS.
type File interface {
	io.ReaderAt
	io.WriterAt
	io.Closer
	// Sync makes the file's data, and the metadata needed to read it back
	// (its size), durable. On OSFS it is fdatasync(2). The journal treats any
	// error from Sync as fatal and never calls it again for the same data.
	Sync() error
	// Truncate changes the size of the file.
	Truncate(size int64) error
	// Stat describes the open file.
	Stat() (fs.FileInfo, error)
}

// Allocator is implemented by files that can reserve disk blocks in advance
// (fallocate(2) on Linux). Preallocation keeps a segment's blocks contiguous
// and makes a full disk show up when a segment is created rather than in the
// middle of a batch. Allocate returns an error wrapping errors.ErrUnsupported
// when the file system cannot preallocate; the journal then carries on
// without preallocation.
type Allocator interface {
	Allocate(off, n int64) error
}

// OSFS returns the FS backed by the operating system.
func OSFS() FS { return osFS{} }

type osFS struct{}

func (osFS) OpenFile(name string, flag int, perm fs.FileMode) (File, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &osFile{File: f}, nil
}

func (osFS) Remove(name string) error                     { return os.Remove(name) }
func (osFS) Rename(oldname, newname string) error         { return os.Rename(oldname, newname) }
func (osFS) ReadDir(name string) ([]fs.DirEntry, error)   { return os.ReadDir(name) }
func (osFS) MkdirAll(name string, perm fs.FileMode) error { return os.MkdirAll(name, perm) }
func (osFS) Stat(name string) (fs.FileInfo, error)        { return os.Stat(name) }
func (osFS) Chmod(name string, mode fs.FileMode) error    { return os.Chmod(name, mode) }

func (osFS) SyncDir(name string) error {
	d, err := os.Open(name)
	if err != nil {
		return err
	}
	// A full fsync, not fdatasync: directory entries are metadata.
	serr := d.Sync()
	cerr := d.Close()
	return errors.Join(serr, cerr)
}

type osFile struct {
	*os.File
}

func (f *osFile) Sync() error { return durable.Fdatasync(f.File) }

func (f *osFile) Allocate(off, n int64) error { return fallocate(f.File, off, n) }

var (
	_ FS        = osFS{}
	_ File      = (*osFile)(nil)
	_ Allocator = (*osFile)(nil)
)
