package index

import (
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/ncruces/go-sqlite3"
	"github.com/ncruces/go-sqlite3/util/vfsutil"
	"github.com/ncruces/go-sqlite3/vfs"
	"github.com/ncruces/go-sqlite3/vfs/adiantum"

	"github.com/onrecord/onrecord/internal/durable"
)

// The index shares its disk with the journal, whose fdatasync is on every
// webhook's path. Left to itself, SQLite writes a commit's WAL frames and
// a checkpoint's pages into the page cache and fsyncs them in one go (up
// to 128 MiB, wal_autocheckpoint): the disk then holds every fdatasync
// queued behind them for as long as they take to write, which was 20 to
// 200 ms under load and the gateway's whole tail latency. So the index's
// files are written back to the disk as they are written, a megabyte at a
// time, each waited for before the next: the disk never has more than
// that of the index's in its queue. The index's own commits and
// checkpoints take the disk's time they took before, now in their own
// goroutine rather than in the journal's fdatasync.

// writeBackEvery is how many bytes the index writes to one file before it
// writes them back and waits.
const writeBackEvery = 1 << 20

// vfsName is the index's VFS: adiantum encryption over pacedVFS over the
// operating system's. The files are as adiantum alone writes them.
const vfsName = "onrecord-index"

var registerVFS = sync.OnceFunc(func() {
	vfs.Register(vfsName, adiantum.Wrap(pacedVFS{vfs.Find("")}, nil))
})

// pacedVFS wraps a VFS whose files can be written back (the OS VFS's):
// the main database and its WAL are opened as pacedFiles.
type pacedVFS struct{ vfs.VFS }

func (p pacedVFS) Open(name string, flags vfs.OpenFlag) (vfs.File, vfs.OpenFlag, error) {
	// SQLite calls OpenFilename, which this VFS has; only a nameless
	// temporary file could come here.
	if name == "" {
		return p.OpenFilename(nil, flags)
	}
	return nil, flags, sqlite3.CANTOPEN
}

func (p pacedVFS) OpenFilename(name *vfs.Filename, flags vfs.OpenFlag) (vfs.File, vfs.OpenFlag, error) {
	f, flags, err := vfsutil.WrapOpenFilename(p.VFS, name, flags)
	if err != nil || flags&(vfs.OPEN_MAIN_DB|vfs.OPEN_WAL) == 0 || flags&vfs.OPEN_READONLY != 0 {
		return f, flags, err
	}
	sc, ok := f.(syscall.Conn)
	if !ok {
		return f, flags, nil
	}
	return &pacedFile{File: f, conn: sc}, flags, nil
}

// pacedFile writes its data back to the disk after every writeBackEvery
// bytes written. SQLite uses a file from one connection at a time.
type pacedFile struct {
	vfs.File
	conn syscall.Conn
	// from and to bound what was written since the last write-back;
	// pending is how much that was.
	from, to, pending int64
}

// writeBacks counts the index's write-backs, for tests.
var writeBacks atomic.Int64

func (f *pacedFile) WriteAt(p []byte, off int64) (int, error) {
	n, err := f.File.WriteAt(p, off)
	if n > 0 {
		end := off + int64(n)
		if f.pending == 0 {
			f.from, f.to = off, end
		} else {
			f.from, f.to = min(f.from, off), max(f.to, end)
		}
		f.pending += int64(n)
	}
	if err != nil || f.pending < writeBackEvery {
		return n, err
	}
	from, to := f.from, f.to
	f.pending = 0
	writeBacks.Add(1)
	// The data is written either way; an error here only means it was
	// not paced, and the next fsync, which SQLite checks, writes it.
	_ = durable.WriteBack(f.conn, from, to-from)
	return n, nil
}

// The optional interfaces adiantum's files pass through, passed through
// again.

func (f *pacedFile) Unwrap() vfs.File { return f.File }

func (f *pacedFile) SharedMemory() vfs.SharedMemory { return vfsutil.WrapSharedMemory(f.File) }

func (f *pacedFile) LockState() vfs.LockLevel { return vfsutil.WrapLockState(f.File) }

func (f *pacedFile) PersistentWAL() bool { return vfsutil.WrapPersistWAL(f.File) }

func (f *pacedFile) SetPersistentWAL(keep bool) { vfsutil.WrapSetPersistWAL(f.File, keep) }

func (f *pacedFile) HasMoved() (bool, error) { return vfsutil.WrapHasMoved(f.File) }

func (f *pacedFile) Overwrite() error { return vfsutil.WrapOverwrite(f.File) }

func (f *pacedFile) SyncSuper(super string) error { return vfsutil.WrapSyncSuper(f.File, super) }

func (f *pacedFile) CommitPhaseTwo() error { return vfsutil.WrapCommitPhaseTwo(f.File) }

func (f *pacedFile) BeginAtomicWrite() error { return vfsutil.WrapBeginAtomicWrite(f.File) }

func (f *pacedFile) CommitAtomicWrite() error { return vfsutil.WrapCommitAtomicWrite(f.File) }

func (f *pacedFile) RollbackAtomicWrite() error { return vfsutil.WrapRollbackAtomicWrite(f.File) }

func (f *pacedFile) CheckpointStart() { vfsutil.WrapCheckpointStart(f.File) }

func (f *pacedFile) CheckpointDone() { vfsutil.WrapCheckpointDone(f.File) }

func (f *pacedFile) BusyHandler(handler func() bool) { vfsutil.WrapBusyHandler(f.File, handler) }

func (f *pacedFile) Pragma(name, value string) (string, error) {
	return vfsutil.WrapPragma(f.File, name, value)
}

func (f *pacedFile) ChunkSize(size int) { vfsutil.WrapChunkSize(f.File, size) }

func (f *pacedFile) SizeHint(size int64) error { return vfsutil.WrapSizeHint(f.File, size) }
