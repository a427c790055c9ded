package durable

import (
	"errors"
	"os"
	"sync/atomic"
)

// Syncer runs fdatasyncs without blocking a thread where the kernel
// allows it (Linux AIO, see aio_linux.go), else as fdatasync(2) does. The
// journal and the blob store's packs use it. One sync at a time; Close
// when done.
type Syncer struct {
	// aio is nil for fdatasync(2). Fdatasync and Close are called by the
	// owner, one at a time; Poke may be called by anyone at any time.
	aio atomic.Pointer[aioSync]
}

// NewSyncer sets up a Syncer.
func NewSyncer() *Syncer {
	s := &Syncer{}
	if a := newAIOSync(); a != nil {
		s.aio.Store(a)
	}
	return s
}

// Poke hands the completion of the sync in flight, if the kernel has
// posted it, to the goroutine waiting in Fdatasync, which then runs next
// on the caller's P (see aioSync). Safe from any goroutine, and cheap
// when no sync is in flight.
func (s *Syncer) Poke() {
	if s == nil {
		return
	}
	if a := s.aio.Load(); a != nil {
		a.poke()
	}
}

// Fdatasync makes f's data, and the metadata needed to read it back,
// durable. Its error is the sync's: the caller must not retry it and
// count on the retry (after a failed sync the kernel may have dropped the
// dirty pages).
func (s *Syncer) Fdatasync(f *os.File) error {
	if a := s.aio.Load(); a != nil {
		err := a.fdatasync(f)
		if !errors.Is(err, errAIOUnsupported) {
			return err
		}
		// Refused before anything was submitted (this kernel or this
		// file): sync with fdatasync(2) from now on.
		s.aio.Store(nil)
		a.close()
	}
	return Fdatasync(f)
}

// Close releases the Syncer's kernel resources.
func (s *Syncer) Close() error {
	a := s.aio.Swap(nil)
	if a == nil {
		return nil
	}
	return a.close()
}
