//go:build linux && (amd64 || arm64)

package durable

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// aioSync makes a file's data durable with an fdatasync run by the kernel
// on the caller's behalf (Linux AIO, IOCB_CMD_FDSYNC, since 4.18), the
// caller waiting for its completion on an eventfd through the runtime's
// network poller. A plain fdatasync(2) blocks its thread, and the thread
// keeps its P — on a two-CPU machine half of the CPUs Go code runs on —
// until the scheduler notices, which under load it rarely does before the
// sync ends: measured, the journal's fdatasyncs left a CPU idle half of
// the time while runnable goroutines queued. Waiting on the poller leaves
// the P to them. The durability is the same: the kernel runs vfs_fsync
// with datasync set, and its result is the sync's result, never retried.
//
// The poller alone is slow to notice, though: while every P has runnable
// goroutines, the scheduler polls the network only from sysmon, up to
// 10 ms apart. Measured on two CPUs under a saturating load, the writer
// saw its syncs end 2.6 ms after it started them on average (9.4 ms at
// p99), about 1 ms of that after the kernel had posted the completion,
// and every record of the batch waited with it. So a watcher goroutine waits
// on the poller, and poke lets any running goroutine (the journal's
// appenders, which come often under exactly that load) take the
// completion from the eventfd itself and wake the waiter, which then runs
// next on that goroutine's P.
type aioSync struct {
	mu  sync.Mutex // one sync at a time
	ctx uintptr    // aio_context_t
	efd *os.File   // eventfd the completion is signalled on
	// efdNum is efd's descriptor, kept from its creation: (*os.File).Fd
	// would switch efd to blocking mode, and its reads would then block a
	// thread instead of waiting in the poller.
	efdNum int
	seq    uint64 // tags each request, so its completion is told from a stale one

	// wake carries one token per eventfd read that found completions,
	// whoever read it (the watcher or poke); dead is closed when the
	// watcher stops (the eventfd was closed or failed).
	wake     chan struct{}
	dead     chan struct{}
	inflight atomic.Bool
	// closeMu keeps poke from reading efdNum once close has released
	// it: the number could by then belong to another file.
	closeMu sync.RWMutex
	closed  bool
}

// Linux's AIO ABI (include/uapi/linux/aio_abi.h), little-endian layout.
const (
	iocbCmdFdsync = 3
	iocbFlagResfd = 1 << 0
)

type iocb struct {
	data     uint64
	key      uint32
	rwFlags  int32
	opcode   uint16
	reqprio  int16
	fildes   uint32
	buf      uint64
	nbytes   uint64
	offset   int64
	reserved uint64
	flags    uint32
	resfd    uint32
}

type ioEvent struct {
	data, obj uint64
	res, res2 int64
}

// newAIOSync sets up an AIO context and its eventfd, or returns nil where
// the kernel offers neither; syncs then block as fdatasync does.
func newAIOSync() *aioSync {
	var ctx uintptr
	if _, _, e := unix.Syscall(unix.SYS_IO_SETUP, 1, uintptr(unsafe.Pointer(&ctx)), 0); e != 0 { // #nosec G103 -- the kernel writes the context id
		return nil
	}
	fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Syscall(unix.SYS_IO_DESTROY, ctx, 0, 0)
		return nil
	}
	// Non-blocking, so reads wait in the network poller.
	a := &aioSync{ctx: ctx, efd: os.NewFile(uintptr(fd), "aio-eventfd"), efdNum: fd,
		wake: make(chan struct{}, 1), dead: make(chan struct{})}
	go a.watch()
	return a
}

// watch waits in the network poller for completions, until the eventfd is
// closed.
func (a *aioSync) watch() {
	defer close(a.dead)
	var n [8]byte
	for {
		if _, err := a.efd.Read(n[:]); err != nil {
			return
		}
		a.signal()
	}
}

func (a *aioSync) signal() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// poke takes a completion of the sync in flight, if the kernel has posted
// one, and wakes its waiter. It costs one non-blocking read(2) while a
// sync is in flight and nothing otherwise.
func (a *aioSync) poke() {
	if !a.inflight.Load() {
		return
	}
	a.closeMu.RLock()
	defer a.closeMu.RUnlock()
	if a.closed {
		return
	}
	var n [8]byte
	if k, err := unix.Read(a.efdNum, n[:]); err == nil && k == len(n) {
		a.signal()
	}
}

// errAIOUnsupported says the kernel refused the request itself: nothing
// was submitted, and a plain fdatasync may be used instead.
var errAIOUnsupported = errors.New("aio fdatasync not supported")

// fdatasync submits an fdatasync of f and waits for its result.
func (a *aioSync) fdatasync(f *os.File) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	a.seq++
	cb := &iocb{data: a.seq, opcode: iocbCmdFdsync, flags: iocbFlagResfd, resfd: uint32(a.efdNum)} // #nosec G115 -- a file descriptor number: small and non-negative
	var serr unix.Errno
	if err := rc.Control(func(fd uintptr) {
		cb.fildes = uint32(fd)           // #nosec G115 -- a file descriptor number: small and non-negative
		p := uintptr(unsafe.Pointer(cb)) // #nosec G103 -- io_submit takes an array of iocb pointers
		for {
			// io_submit copies the request; the kernel keeps no
			// pointer into Go memory.
			_, _, serr = unix.Syscall(unix.SYS_IO_SUBMIT, a.ctx, 1, uintptr(unsafe.Pointer(&p))) // #nosec G103 -- see above
			if serr != unix.EINTR && serr != unix.EAGAIN {
				return
			}
		}
	}); err != nil {
		return err
	}
	runtime.KeepAlive(cb)
	switch serr {
	case 0:
	case unix.EINVAL, unix.ENOSYS, unix.EOPNOTSUPP:
		return errAIOUnsupported
	default:
		return &os.PathError{Op: "io_submit fdatasync", Path: f.Name(), Err: serr}
	}
	// Wait for the completion; the eventfd counts completed requests, and
	// each read of it that found some is one token on wake.
	a.inflight.Store(true)
	select {
	case <-a.wake:
		a.inflight.Store(false)
	case <-a.dead:
		a.inflight.Store(false)
		// The request is in flight and cannot be waited for: fail, and
		// the journal stops (a sync's outcome must be known).
		return fmt.Errorf("fdatasync %s: wait for completion: the eventfd watcher stopped", f.Name())
	}
	// A token means at least one completion was posted; if it was a
	// stale request's, io_getevents below blocks until this one's.
	var ev ioEvent
	for {
		got, _, e := unix.Syscall6(unix.SYS_IO_GETEVENTS, a.ctx, 1, 1, uintptr(unsafe.Pointer(&ev)), 0, 0) // #nosec G103 -- the kernel fills ev
		if e == unix.EINTR {
			continue
		}
		if e != 0 || got != 1 {
			return fmt.Errorf("fdatasync %s: reap completion: %d events, %v", f.Name(), got, e)
		}
		if ev.data == a.seq {
			break
		}
		// The completion of a request whose wait failed earlier: not
		// this sync's result.
	}
	if ev.res < 0 {
		return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: unix.Errno(-ev.res)}
	}
	return nil
}

func (a *aioSync) close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.closeMu.Lock()
	a.closed = true
	a.closeMu.Unlock()
	unix.Syscall(unix.SYS_IO_DESTROY, a.ctx, 0, 0)
	err := a.efd.Close()
	<-a.dead
	return err
}
