//go:build linux && (amd64 || arm64)

package durable

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
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
type aioSync struct {
	mu  sync.Mutex
	ctx uintptr  // aio_context_t
	efd *os.File // eventfd the completion is signalled on
	// efdNum is efd's descriptor, kept from its creation: (*os.File).Fd
	// would switch efd to blocking mode, and its reads would then block a
	// thread instead of waiting in the poller.
	efdNum int
	seq    uint64 // tags each request, so its completion is told from a stale one
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
	return &aioSync{ctx: ctx, efd: os.NewFile(uintptr(fd), "aio-eventfd"), efdNum: fd}
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
	// Wait for the completion; the eventfd counts completed requests.
	var n [8]byte
	if _, err := a.efd.Read(n[:]); err != nil {
		// The request is in flight and cannot be waited for: fail, and
		// the journal stops (a sync's outcome must be known).
		return fmt.Errorf("fdatasync %s: wait for completion: %w", f.Name(), err)
	}
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
	unix.Syscall(unix.SYS_IO_DESTROY, a.ctx, 0, 0)
	return a.efd.Close()
}
