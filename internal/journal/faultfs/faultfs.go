// Package faultfs wraps a journal.FS and injects the storage faults the
// journal must survive: a failing fsync (optionally dropping the unsynced
// data, as Linux may after a write-back error), a full disk after N more
// bytes, failing preallocation and failing directory syncs. It exists for
// tests, in this package and in others that build on the journal.
//
// Faults are armed and cleared at run time and are safe to change while the
// journal runs.
package faultfs

import (
	"io/fs"
	"sync"
	"syscall"

	"github.com/onrecord/onrecord/internal/journal"
)

// FS is a journal.FS that injects faults into an inner FS.
type FS struct {
	inner journal.FS

	mu           sync.Mutex
	syncErr      error
	syncTimes    int // remaining failing file syncs; negative: all
	dropUnsynced bool
	dirSyncErr   error
	dirSyncTimes int
	allocErr     error
	limited      bool
	writeBudget  int64
	syncs        int
	failedSyncs  int
	holding      bool
	held         []chan error // one per File.Sync held, in call order
	released     []bool
}

// New wraps inner; nil means journal.OSFS().
func New(inner journal.FS) *FS {
	if inner == nil {
		inner = journal.OSFS()
	}
	return &FS{inner: inner}
}

// FailSync makes the next times calls of File.Sync fail with err (times < 0:
// every call until Reset). With dropUnsynced, a failing Sync also zeroes
// every range written to that file since its last successful Sync,
// imitating the kernel dropping dirty pages after a write-back error: a
// later Sync that "succeeds" does not bring them back.
func (f *FS) FailSync(err error, times int, dropUnsynced bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.syncErr, f.syncTimes, f.dropUnsynced = err, times, dropUnsynced
}

// HoldSyncs makes every later File.Sync wait, once called, until Release
// lets it go, so that a test can see syncs run at the same time and end
// them in any order. Held says how many were held so far.
func (f *FS) HoldSyncs() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.holding = true
}

// Held returns how many File.Sync calls HoldSyncs has held (released or
// not).
func (f *FS) Held() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.held)
}

// Release lets the i-th held File.Sync (from 0, in call order) go on: with
// err nil it syncs as usual, otherwise it fails with err (dropping the
// unsynced data if FailSync asked for that). Releasing one again does
// nothing.
func (f *FS) Release(i int, err error) {
	f.mu.Lock()
	ch, done := f.held[i], f.released[i]
	f.released[i] = true
	f.mu.Unlock()
	if !done {
		ch <- err
	}
}

// ReleaseAll stops holding syncs and lets every held one that was not
// released go on with err (as Release does), so that a test that failed
// part way can still close what it opened.
func (f *FS) ReleaseAll(err error) {
	f.mu.Lock()
	f.holding = false
	n := len(f.held)
	f.mu.Unlock()
	for i := range n {
		f.Release(i, err)
	}
}

// FailSyncDir makes the next times calls of SyncDir fail with err (times <
// 0: every call until Reset).
func (f *FS) FailSyncDir(err error, times int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dirSyncErr, f.dirSyncTimes = err, times
}

// FailAllocate makes every preallocation fail with err until Reset; use
// syscall.ENOSPC for a disk too full for a new segment.
func (f *FS) FailAllocate(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.allocErr = err
}

// LimitWrites lets the next n bytes of WriteAt calls through, then fails
// writes with ENOSPC. A write that straddles the limit is partial: the bytes
// up to the limit are written and ENOSPC is returned with their count.
func (f *FS) LimitWrites(n int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.limited, f.writeBudget = true, n
}

// Reset clears every armed fault.
func (f *FS) Reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.syncErr, f.syncTimes, f.dropUnsynced = nil, 0, false
	f.dirSyncErr, f.dirSyncTimes = nil, 0
	f.allocErr = nil
	f.limited, f.writeBudget = false, 0
	f.holding = false
}

// Syncs returns how many File.Sync calls were made and how many of them
// were failed by injection.
func (f *FS) Syncs() (total, failed int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.syncs, f.failedSyncs
}

func (f *FS) OpenFile(name string, flag int, perm fs.FileMode) (journal.File, error) {
	inner, err := f.inner.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &file{fs: f, inner: inner, name: name}, nil
}

func (f *FS) Remove(name string) error                     { return f.inner.Remove(name) }
func (f *FS) Rename(oldname, newname string) error         { return f.inner.Rename(oldname, newname) }
func (f *FS) ReadDir(name string) ([]fs.DirEntry, error)   { return f.inner.ReadDir(name) }
func (f *FS) MkdirAll(name string, perm fs.FileMode) error { return f.inner.MkdirAll(name, perm) }
func (f *FS) Stat(name string) (fs.FileInfo, error)        { return f.inner.Stat(name) }
func (f *FS) Chmod(name string, mode fs.FileMode) error    { return f.inner.Chmod(name, mode) }

func (f *FS) SyncDir(name string) error {
	f.mu.Lock()
	err := take(&f.dirSyncErr, &f.dirSyncTimes)
	f.mu.Unlock()
	if err != nil {
		return &fs.PathError{Op: "fsync", Path: name, Err: err}
	}
	return f.inner.SyncDir(name)
}

// take returns the armed error and consumes one use of it.
func take(err *error, times *int) error {
	if *err == nil || *times == 0 {
		return nil
	}
	e := *err
	if *times > 0 {
		*times--
	}
	return e
}

type extent struct{ off, n int64 }

type file struct {
	fs    *FS
	inner journal.File
	name  string

	mu    sync.Mutex
	dirty []extent // written since the last successful Sync
}

func (w *file) ReadAt(p []byte, off int64) (int, error) { return w.inner.ReadAt(p, off) }
func (w *file) Close() error                            { return w.inner.Close() }
func (w *file) Stat() (fs.FileInfo, error)              { return w.inner.Stat() }

// Truncate also forgets unsynced ranges past the new size, so a later
// dropped Sync does not extend the file again.
func (w *file) Truncate(size int64) error {
	w.mu.Lock()
	kept := w.dirty[:0]
	for _, e := range w.dirty {
		if e.off >= size {
			continue
		}
		e.n = min(e.n, size-e.off)
		kept = append(kept, e)
	}
	w.dirty = kept
	w.mu.Unlock()
	return w.inner.Truncate(size)
}

func (w *file) WriteAt(p []byte, off int64) (int, error) {
	allowed, full := len(p), false
	w.fs.mu.Lock()
	if w.fs.limited {
		if int64(len(p)) > w.fs.writeBudget {
			allowed, full = int(max(w.fs.writeBudget, 0)), true
		}
		w.fs.writeBudget -= int64(allowed)
	}
	w.fs.mu.Unlock()
	n, err := w.inner.WriteAt(p[:allowed], off)
	if n > 0 {
		w.mu.Lock()
		w.dirty = append(w.dirty, extent{off, int64(n)})
		w.mu.Unlock()
	}
	if err != nil {
		return n, err
	}
	if full {
		return n, &fs.PathError{Op: "write", Path: w.name, Err: syscall.ENOSPC}
	}
	return n, nil
}

func (w *file) Sync() error {
	w.fs.mu.Lock()
	w.fs.syncs++
	err := take(&w.fs.syncErr, &w.fs.syncTimes)
	drop := w.fs.dropUnsynced
	var wait chan error
	if w.fs.holding {
		wait = make(chan error, 1)
		w.fs.held = append(w.fs.held, wait)
		w.fs.released = append(w.fs.released, false)
	}
	w.fs.mu.Unlock()
	if wait != nil {
		if herr := <-wait; herr != nil && err == nil {
			err = herr
		}
	}
	if err != nil {
		w.fs.mu.Lock()
		w.fs.failedSyncs++
		w.fs.mu.Unlock()
	}

	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		if drop {
			for _, e := range w.dirty {
				if _, werr := w.inner.WriteAt(make([]byte, e.n), e.off); werr != nil {
					return &fs.PathError{Op: "fdatasync", Path: w.name, Err: werr}
				}
			}
		}
		w.dirty = w.dirty[:0]
		return &fs.PathError{Op: "fdatasync", Path: w.name, Err: err}
	}
	if err := w.inner.Sync(); err != nil {
		return err
	}
	w.dirty = w.dirty[:0]
	return nil
}

func (w *file) Allocate(off, n int64) error {
	w.fs.mu.Lock()
	aerr := w.fs.allocErr
	w.fs.mu.Unlock()
	if aerr != nil {
		return &fs.PathError{Op: "fallocate", Path: w.name, Err: aerr}
	}
	if a, ok := w.inner.(journal.Allocator); ok {
		return a.Allocate(off, n)
	}
	return nil
}

var (
	_ journal.FS        = (*FS)(nil)
	_ journal.File      = (*file)(nil)
	_ journal.Allocator = (*file)(nil)
)
