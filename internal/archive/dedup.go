package archive

import (
	"context"
	"sync"
)

// dedup remembers, for every record in the journal, its (idempotency key,
// content) pair and the first record of each idempotency key: what makes a
// provider's retry a duplicate and a changed re-delivery a conflict.
//
// Committed entries live in maps whose keys and values hold no pointers,
// about 90 bytes per record, which the garbage collector never scans. (A
// sync.Map of *pending, each with its channel, cost about 300 bytes and six
// pointers per record for the life of the process; with a few hundred
// thousand records, each collection's marking took over 100 ms of the
// capture path's CPU.) Only appends in flight have a *pending, for others
// of the same pair to wait on.
type dedup struct {
	mu       sync.Mutex
	stored   map[[32]byte]uint64   // dupKey → seq of the record holding it
	firsts   map[[32]byte]uint64   // idempotency hash → seq of its first record
	inflight map[[32]byte]*pending // dupKey → the append storing it now
	claiming map[[32]byte]*pending // idempotency hash → the first append of it, in flight
}

// pending is one append in flight: done is closed when it has finished,
// with seq or err set.
type pending struct {
	done chan struct{}
	seq  uint64
	err  error
}

func newDedup() *dedup {
	return &dedup{
		stored: map[[32]byte]uint64{}, firsts: map[[32]byte]uint64{},
		inflight: map[[32]byte]*pending{}, claiming: map[[32]byte]*pending{},
	}
}

// learn records a committed record found when the journal is replayed. The
// earliest record of a pair or key is kept.
func (d *dedup) learn(idem, key [32]byte, seq uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.stored[key]; !ok {
		d.stored[key] = seq
	}
	if _, ok := d.firsts[idem]; !ok {
		d.firsts[idem] = seq
	}
}

// begin returns the seq of the record already holding key (dup true), or
// a pending that the caller now owns and must pass to finish. An append of
// the same key still in flight is waited for: if it succeeds this one is
// its duplicate, if it fails this one takes its place.
func (d *dedup) begin(ctx context.Context, key [32]byte) (p *pending, seq uint64, dup bool, err error) {
	for {
		d.mu.Lock()
		if seq, ok := d.stored[key]; ok {
			d.mu.Unlock()
			return nil, seq, true, nil
		}
		q := d.inflight[key]
		if q == nil {
			p = &pending{done: make(chan struct{})}
			d.inflight[key] = p
			d.mu.Unlock()
			return p, 0, false, nil
		}
		d.mu.Unlock()
		select {
		case <-q.done:
		case <-ctx.Done():
			return nil, 0, false, ctx.Err()
		}
	}
}

// claimFirst makes p the first record of idem (claimed true), or returns
// the first record's seq if another content got there before. It waits for
// a first append still in flight, so that two versions that arrive
// together are still seen as a conflict.
func (d *dedup) claimFirst(ctx context.Context, idem [32]byte, p *pending) (firstSeq uint64, claimed bool, err error) {
	for {
		d.mu.Lock()
		if seq, ok := d.firsts[idem]; ok {
			d.mu.Unlock()
			return seq, false, nil
		}
		q := d.claiming[idem]
		if q == nil {
			d.claiming[idem] = p
			d.mu.Unlock()
			return 0, true, nil
		}
		d.mu.Unlock()
		select {
		case <-q.done:
		case <-ctx.Done():
			return 0, false, ctx.Err()
		}
	}
}

// finish ends p's append with its outcome and releases its waiters. On
// success the pair (and, if p claimed it, the key's first record) is
// committed; on failure the next append of them starts afresh.
func (d *dedup) finish(p *pending, key, idem [32]byte, claimed bool, seq uint64, err error) {
	d.mu.Lock()
	delete(d.inflight, key)
	if claimed && d.claiming[idem] == p {
		delete(d.claiming, idem)
	}
	if err == nil {
		d.stored[key] = seq
		if claimed {
			d.firsts[idem] = seq
		}
	}
	p.seq, p.err = seq, err
	d.mu.Unlock()
	close(p.done)
}
