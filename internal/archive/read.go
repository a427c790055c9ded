package archive

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/crypt"
	"github.com/onrecord/onrecord/record"
)

// Disclosure is one record as an export discloses it: the decrypted event,
// the envelope exactly as the journal holds it (what the Merkle leaf
// commits to) and the per-record key that opens it and no other.
type Disclosure struct {
	Event     *onrecord.Event
	Envelope  []byte
	RecordKey []byte
	// Err says why the record cannot be disclosed (no such record, not an
	// event, disposed of), with the error Get would return; Event and
	// RecordKey are nil then.
	Err error
}

// disclosureBatch is how many records travel to a decrypting worker at a
// time: enough to make the hand-over cheap, few enough to keep both ends
// busy.
const disclosureBatch = 64

// Disclose reads the records seqs, in any order, and returns them in that
// order. It is Get, Envelope and RecordKey in one: the journal is read once
// per record, in journal order so that it streams (ReadMany), each record
// key is derived once and opens the record (so the key handed out is the
// one that opened it), and decryption and decoding run on every CPU.
// Records that cannot be disclosed carry Err; the error returned is for
// what stops the whole read (a damaged journal, ctx).
func (a *Archive) Disclose(ctx context.Context, seqs []uint64) ([]Disclosure, error) {
	out := make([]Disclosure, len(seqs))
	n := a.journal.Len()
	order := make([]int, 0, len(seqs))
	for i, seq := range seqs {
		if seq >= n {
			out[i].Err = onrecord.Errorf(onrecord.ENOTFOUND, "no record %d", seq)
			continue
		}
		order = append(order, i)
	}
	slices.SortStableFunc(order, func(x, y int) int { return cmp.Compare(seqs[x], seqs[y]) })
	sorted := make([]uint64, len(order))
	for k, i := range order {
		sorted[k] = seqs[i]
	}

	type job struct {
		i   int
		seq uint64
		env []byte
	}
	batches := make(chan []job, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				for _, j := range b {
					out[j.i] = a.disclose(j.seq, j.env)
				}
			}
		}()
	}
	var cur []job
	err := a.journal.ReadMany(sorted, func(k int, seq uint64, data []byte) error {
		cur = append(cur, job{i: order[k], seq: seq, env: slices.Clone(data)})
		if len(cur) == disclosureBatch {
			batches <- cur
			cur = nil
			return ctx.Err()
		}
		return nil
	})
	if len(cur) > 0 {
		batches <- cur
	}
	close(batches)
	wg.Wait()
	if err != nil {
		return nil, fmt.Errorf("read records: %w", err)
	}
	return out, nil
}

// disclose opens one envelope: the record key is derived and checked
// against the envelope's key commitment, then opens it. What fails is
// reported with the error Get gives for the record.
func (a *Archive) disclose(seq uint64, b []byte) Disclosure {
	d := Disclosure{Envelope: b}
	env, err := record.Unmarshal(b)
	if err == nil && env.Kind == record.KindEvent {
		var rk, pt []byte
		if rk, err = a.sealer.RecordKey(env); err == nil {
			if pt, err = crypt.OpenWithRecordKey(env, rk); err == nil {
				var ev onrecord.Event
				if err = decodeEvent(pt, &ev); err != nil {
					d.Err = fmt.Errorf("decode record %d: %w", seq, err)
					return d
				}
				if err = a.inflate(&ev); err != nil {
					d.Err = fmt.Errorf("record %d: %w", seq, err)
					return d
				}
				d.Event, d.RecordKey = &ev, rk
				return d
			}
		}
	}
	// The rare path: say what Get would say.
	if _, gerr := a.openEvent(seq, b); gerr != nil {
		d.Err = gerr
	} else {
		d.Err = fmt.Errorf("record %d: %w", seq, errors.Join(err, errors.New("cannot be disclosed")))
	}
	return d
}

// InclusionProofs proves many records are in the log of the given size (a
// checkpoint's) at once, in the order of seqs; see ledger.InclusionProofs.
func (a *Archive) InclusionProofs(seqs []uint64, size uint64) ([][][]byte, error) {
	return a.ledger.InclusionProofs(seqs, size)
}
