package durable

import (
	"errors"
	"os"
)

// Syncer runs fdatasyncs without blocking a thread where the kernel
// allows it (Linux AIO, see aio_linux.go), else as fdatasync(2) does. The
// journal and the blob store's packs use it. One sync at a time; Close
// when done.
type Syncer struct {
	aio *aioSync // nil: fdatasync(2)
}

// NewSyncer sets up a Syncer.
func NewSyncer() *Syncer { return &Syncer{aio: newAIOSync()} }

// Fdatasync makes f's data, and the metadata needed to read it back,
// durable. Its error is the sync's: the caller must not retry it and
// count on the retry (after a failed sync the kernel may have dropped the
// dirty pages).
func (s *Syncer) Fdatasync(f *os.File) error {
	if s.aio != nil {
		err := s.aio.fdatasync(f)
		if !errors.Is(err, errAIOUnsupported) {
			return err
		}
		// Refused before anything was submitted (this kernel or this
		// file): sync with fdatasync(2) from now on.
		s.aio.close()
		s.aio = nil
	}
	return Fdatasync(f)
}

// Close releases the Syncer's kernel resources.
func (s *Syncer) Close() error {
	if s.aio == nil {
		return nil
	}
	err := s.aio.close()
	s.aio = nil
	return err
}
