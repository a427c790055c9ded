package durable

import (
	"errors"
	"os"
	"slices"
	"sync"
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
		live.add(s)
	}
	return s
}

// live is every Syncer that waits for its syncs in the poller, for
// PokeAll. The list is replaced, never changed in place, so PokeAll reads
// it without a lock.
var live liveSyncers

type liveSyncers struct {
	mu   sync.Mutex
	list atomic.Pointer[[]*Syncer]
}

func (l *liveSyncers) add(s *Syncer) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var next []*Syncer
	if cur := l.list.Load(); cur != nil {
		next = slices.Clone(*cur)
	}
	next = append(next, s)
	l.list.Store(&next)
}

func (l *liveSyncers) remove(s *Syncer) {
	l.mu.Lock()
	defer l.mu.Unlock()
	cur := l.list.Load()
	if cur == nil {
		return
	}
	next := slices.DeleteFunc(slices.Clone(*cur), func(x *Syncer) bool { return x == s })
	l.list.Store(&next)
}

// PokeAll pokes every Syncer (Poke). The journal's appends call it: they
// come often while capture is busy, and a webhook with media waits for the
// blob store's sync before the journal's, so the blob store's completions
// are handed over by the same appends as the journal's own.
func PokeAll() {
	if l := live.list.Load(); l != nil {
		for _, s := range *l {
			s.Poke()
		}
	}
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
		live.remove(s)
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
	live.remove(s)
	return a.close()
}
