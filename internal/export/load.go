package export

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/onrecord/onrecord/internal/archive"
)

// discloser is a Source that reads many records at once, each once (the
// archive does: archive.Disclose). Without it, Produce reads a record three
// times: Get, then Envelope and RecordKey for the bundle.
type discloser interface {
	Disclose(ctx context.Context, seqs []uint64) ([]archive.Disclosure, error)
}

// prover is a Source that proves many records against one tree size at
// once, computing the nodes the proofs share once.
type prover interface {
	InclusionProofs(seqs []uint64, size uint64) ([][][]byte, error)
}

// loadChunk is how many records are read between two progress reports.
const loadChunk = 4096

// load reads the records seqs with their attachments' data, in the order
// of seqs. A record that cannot be read carries Err (it is withheld); an
// attachment that cannot be read fails the production. Envelope and
// RecordKey are filled in when the source reads them together with the
// event, and left nil otherwise.
func load(ctx context.Context, src Source, seqs []uint64, progress func(done, total int)) ([]archive.Disclosure, error) {
	out := make([]archive.Disclosure, 0, len(seqs))
	bulk, _ := src.(discloser)
	for lo := 0; lo < len(seqs); lo += loadChunk {
		chunk := seqs[lo:min(lo+loadChunk, len(seqs))]
		var ds []archive.Disclosure
		if bulk != nil {
			var err error
			if ds, err = bulk.Disclose(ctx, chunk); err != nil {
				return nil, err
			}
		} else {
			ds = make([]archive.Disclosure, len(chunk))
			for i, seq := range chunk {
				ds[i].Event, ds[i].Err = src.Get(seq)
			}
		}
		if err := loadAttachments(ctx, src, chunk, ds); err != nil {
			return nil, err
		}
		out = append(out, ds...)
		if progress != nil {
			progress(len(out), len(seqs))
		}
	}
	return out, nil
}

// loadAttachments fetches the attachments of the records in ds, and the
// provider payloads kept as blobs (RawBlob) into Raw, on every
// CPU; the error reported is that of the first record that failed.
func loadAttachments(ctx context.Context, src Source, seqs []uint64, ds []archive.Disclosure) error {
	var todo []int
	for i := range ds {
		if ds[i].Err == nil && (len(ds[i].Event.Attachments) > 0 || ds[i].Event.RawBlob != nil) {
			todo = append(todo, i)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	errs := make([]error, len(ds))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(todo)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := next.Add(1) - 1; k < int64(len(todo)); k = next.Add(1) - 1 {
				i := todo[k]
				ev := ds[i].Event
				if ev.RawBlob != nil {
					// Every format reads the payload from Raw, as for a
					// record that kept it inline.
					raw, err := src.Attachment(ctx, ev.RawBlob)
					if err != nil {
						errs[i] = fmt.Errorf("record %d raw payload: %w", seqs[i], err)
						continue
					}
					ev.Raw, ev.RawBlob = raw, nil
				}
				for j := range ev.Attachments {
					data, err := src.Attachment(ctx, &ev.Attachments[j])
					if err != nil {
						errs[i] = fmt.Errorf("record %d attachment %d: %w", seqs[i], j, err)
						break
					}
					ev.Attachments[j].Data = data
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// inclusionProofs proves seqs against the tree of the given size, in one
// batch when the source can.
func inclusionProofs(src Source, seqs []uint64, size uint64) ([][][]byte, error) {
	if p, ok := src.(prover); ok {
		proofs, err := p.InclusionProofs(seqs, size)
		if err != nil {
			return nil, fmt.Errorf("inclusion proofs: %w", err)
		}
		return proofs, nil
	}
	proofs := make([][][]byte, len(seqs))
	for i, seq := range seqs {
		p, err := src.InclusionProof(seq, size)
		if err != nil {
			return nil, fmt.Errorf("inclusion proof of record %d: %w", seq, err)
		}
		proofs[i] = p
	}
	return proofs, nil
}
