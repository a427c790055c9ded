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
// which the garbage collector never scans, one entry per record: the id's
// first record and its content, both hashes cut to 128 bits. (A sync.Map of
// *pending, each with its channel, cost about 415 bytes and six pointers per
// record for the life of the process, and a GC over 300,000 records 146 ms.)
// Cutting the keyed hashes is safe here: two ids that agree in 128 bits make
// the second a conflict of the first, stored and alerted, never dropped; a
// record is taken for a duplicate only if its id and its content both agree
// in 128 bits with a stored one's, and the content hash covers the id
// (channel, provider id, kind), so a different record would need two
// independent 128-bit coincidences. Contents after an id's first
// (conflicts, rare) are in a second map. Only appends in flight have a
// *pending, for others of the same pair to wait on.
type dedup struct {
	mu       sync.Mutex
	ids      map[[16]byte]firstRecord // idempotency hash → its first record
	others   map[[16]byte]uint64      // dupKey → seq, for an id's later contents
	inflight map[[32]byte]*pending    // dupKey → the append storing it now
	claiming map[[32]byte]*pending    // idempotency hash → the first append of it, in flight
}

// firstRecord is an id's first record and what it said.
type firstRecord struct {
	seq     uint64
	content [16]byte
}

func cut(h [32]byte) (c [16]byte) {
	copy(c[:], h[:16])
	return c
}

// pending is one append in flight: done is closed when it has finished,
// with seq or err set.
type pending struct {
	done chan struct{}
	key  [32]byte // dupKey of the pair being appended
	seq  uint64
	err  error
}

func newDedup() *dedup {
	return &dedup{
		ids: map[[16]byte]firstRecord{}, others: map[[16]byte]uint64{},
		inflight: map[[32]byte]*pending{}, claiming: map[[32]byte]*pending{},
	}
}

// learn records a committed record found when the journal is replayed. The
// earliest record of a pair or id is kept.
func (d *dedup) learn(idem, content [32]byte, seq uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f, ok := d.ids[cut(idem)]
	switch {
	case !ok:
		d.ids[cut(idem)] = firstRecord{seq: seq, content: cut(content)}
	case f.content != cut(content):
		// Hashed only for the rare later content of an id.
		k := cut(dupKey(idem, content))
		if _, seen := d.others[k]; !seen {
			d.others[k] = seq
		}
	}
}

// storedLocked returns the record holding (idem, content), if any; key is
// their dupKey.
func (d *dedup) storedLocked(idem, content, key [32]byte) (uint64, bool) {
	if f, ok := d.ids[cut(idem)]; ok && f.content == cut(content) {
		return f.seq, true
	}
	seq, ok := d.others[cut(key)]
	return seq, ok
}

// commitLocked remembers seq as holding (idem, content), whose dupKey is
// key: as the id's first record if it has none yet, else as a later content.
func (d *dedup) commitLocked(idem, content, key [32]byte, seq uint64) {
	if _, ok := d.ids[cut(idem)]; !ok {
		d.ids[cut(idem)] = firstRecord{seq: seq, content: cut(content)}
		return
	}
	d.others[cut(key)] = seq
}

// begin returns the seq of the record already holding (idem, content) (dup true), or
// a pending that the caller now owns and must pass to finish. An append of
// the same key still in flight is waited for: if it succeeds this one is
// its duplicate, if it fails this one takes its place.
func (d *dedup) begin(ctx context.Context, idem, content [32]byte) (p *pending, seq uint64, dup bool, err error) {
	key := dupKey(idem, content)
	for {
		d.mu.Lock()
		if seq, ok := d.storedLocked(idem, content, key); ok {
			d.mu.Unlock()
			return nil, seq, true, nil
		}
		q := d.inflight[key]
		if q == nil {
			p = &pending{done: make(chan struct{}), key: key}
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
		if f, ok := d.ids[cut(idem)]; ok {
			d.mu.Unlock()
			return f.seq, false, nil
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
// success the pair is committed (as its id's first record if the id has
// none); on failure the next append of them starts afresh.
func (d *dedup) finish(p *pending, idem, content [32]byte, claimed bool, seq uint64, err error) {
	d.mu.Lock()
	delete(d.inflight, p.key)
	if claimed && d.claiming[idem] == p {
		delete(d.claiming, idem)
	}
	if err == nil {
		d.commitLocked(idem, content, p.key, seq)
	}
	p.seq, p.err = seq, err
	d.mu.Unlock()
	close(p.done)
}
