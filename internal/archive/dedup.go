package archive

import (
	"context"
	"slices"
	"sync"
)

// dedup remembers, for every record in the journal, its (idempotency key,
// content) pair and the first record of each idempotency key: what makes a
// provider's retry a duplicate and a changed re-delivery a conflict.
//
// Each id's first record is kept in one of three places, all without
// pointers, which the garbage collector never scans: a sorted table (40
// bytes per record), built once from the replayed journal and then
// rebuilt in the background by merging in the map of ids committed since;
// that map while it is being merged; and the map taking new commits. The
// table is what makes a large archive affordable: a map cost about 86
// bytes per record at a million and grows in doublings, and the replay
// spent a sixth of a restart inserting into it, where appending to a slice
// and one sort per restart cost less. (A sync.Map of *pending, each with
// its channel, cost about 415 bytes and six pointers per record, and a GC
// over 300,000 records 146 ms.)
//
// The hashes are cut to 128 bits. That is safe here: two ids that agree in
// 128 bits make the second a conflict of the first, stored and alerted,
// never dropped; a record is taken for a duplicate only if its id and its
// content both agree in 128 bits with a stored one's, and the content hash
// covers the id (channel, provider id, kind), so a different record would
// need two independent 128-bit coincidences. Contents after an id's first
// (conflicts, rare) are in a map of their own. Only appends in flight have
// a *pending, for others of the same pair to wait on.
type dedup struct {
	mu       sync.Mutex
	table    firstTable               // sorted; replaced whole, never changed
	merging  map[[16]byte]firstRecord // being merged into a new table; read-only
	ids      map[[16]byte]firstRecord // id hash → its first record, committed since
	others   map[[32]byte]uint64      // pairKey → seq, for an id's later contents
	inflight map[[32]byte]*pending    // pairKey → the append storing it now
	claiming map[[32]byte]*pending    // idempotency hash → the first append of it, in flight
	// replay collects the journal's records as it is read, before
	// replayed sorts them into the table.
	replay [][]firstEntry
	// A merge starts when ids holds mergeMin ids and a quarter of the
	// table's count, so that merging costs a bounded multiple of what is
	// added; tests lower mergeMin.
	mergeMin int
	merged   chan struct{} // closed when the merge in progress ends; tests wait on it
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

// pairKey identifies one content under one id in others: both cut hashes.
func pairKey(idem, content [32]byte) [32]byte { return pairOf(cut(idem), cut(content)) }

// pending is one append in flight: done is closed when it has finished,
// with seq or err set.
type pending struct {
	done chan struct{}
	key  [32]byte // pairKey of the pair being appended
	seq  uint64
	err  error
}

// defaultMergeMin is how many ids committed after the last table build
// start a merge into a new one: about 90 MB of map.
const defaultMergeMin = 1 << 20

func newDedup() *dedup {
	return &dedup{
		ids: map[[16]byte]firstRecord{}, others: map[[32]byte]uint64{},
		inflight: map[[32]byte]*pending{}, claiming: map[[32]byte]*pending{},
		mergeMin: defaultMergeMin,
	}
}

// replayChunkEntries is the size of the slices learn appends to: fixed,
// so that growing never copies what is already there.
const replayChunkEntries = 1 << 16

// learn records a committed record found when the journal is replayed;
// replayed must be called after the last one, before any other use.
func (d *dedup) learn(idem, content [32]byte, seq uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := len(d.replay)
	if n == 0 || len(d.replay[n-1]) == cap(d.replay[n-1]) {
		d.replay = append(d.replay, make([]firstEntry, 0, replayChunkEntries))
		n++
	}
	d.replay[n-1] = append(d.replay[n-1], firstEntry{id: cut(idem), firstRecord: firstRecord{seq: seq, content: cut(content)}})
}

// replayed builds the table from what learn collected. Of the records of
// one id, the earliest is its first; each later content is kept at its
// earliest seq.
func (d *dedup) replayed() {
	d.mu.Lock()
	defer d.mu.Unlock()
	all := sortEntries(d.replay)
	d.replay = nil
	// Keep each id's first entry; later contents go to others.
	out := all[:0]
	for i, e := range all {
		if i > 0 && e.id == out[len(out)-1].id {
			if first := out[len(out)-1]; e.content != first.content {
				k := pairOf(e.id, e.content)
				if _, seen := d.others[k]; !seen {
					d.others[k] = e.seq
				}
			}
			continue
		}
		out = append(out, e)
	}
	if cap(out)-len(out) > len(out)/8 {
		out = slices.Clone(out)
	}
	d.table = newFirstTable(out)
}

func pairOf(id, content [16]byte) (k [32]byte) {
	copy(k[:16], id[:])
	copy(k[16:], content[:])
	return k
}

// firstLocked returns id's first record, wherever it is kept.
func (d *dedup) firstLocked(id [16]byte) (firstRecord, bool) {
	if f, ok := d.ids[id]; ok {
		return f, true
	}
	if f, ok := d.merging[id]; ok {
		return f, true
	}
	return d.table.find(id)
}

// storedLocked returns the record holding (idem, content), if any.
func (d *dedup) storedLocked(idem, content [32]byte) (uint64, bool) {
	if f, ok := d.firstLocked(cut(idem)); ok && f.content == cut(content) {
		return f.seq, true
	}
	seq, ok := d.others[pairKey(idem, content)]
	return seq, ok
}

// commitLocked remembers seq as holding (idem, content): as the id's first
// record if it has none yet, else as a later content.
func (d *dedup) commitLocked(idem, content [32]byte, seq uint64) {
	id := cut(idem)
	if _, ok := d.firstLocked(id); ok {
		d.others[pairKey(idem, content)] = seq
		return
	}
	d.ids[id] = firstRecord{seq: seq, content: cut(content)}
	if d.merging == nil && len(d.ids) >= max(d.mergeMin, d.table.len()/4) {
		d.startMergeLocked()
	}
}

// startMergeLocked hands the map of recent ids to a goroutine that merges
// it with the table into a new table; lookups meanwhile read the map as
// it was (no one writes to it any more) and commits go to a new map.
func (d *dedup) startMergeLocked() {
	d.merging, d.ids = d.ids, map[[16]byte]firstRecord{}
	done := make(chan struct{})
	d.merged = done
	old, recent := d.table, d.merging
	go func() {
		defer close(done)
		add := make([]firstEntry, 0, len(recent))
		for id, f := range recent {
			add = append(add, firstEntry{id: id, firstRecord: f})
		}
		t := old.merge(sortEntries([][]firstEntry{add}))
		d.mu.Lock()
		d.table, d.merging = t, nil
		d.mu.Unlock()
	}()
}

// begin returns the seq of the record already holding (idem, content) (dup true), or
// a pending that the caller now owns and must pass to finish. An append of
// the same key still in flight is waited for: if it succeeds this one is
// its duplicate, if it fails this one takes its place.
func (d *dedup) begin(ctx context.Context, idem, content [32]byte) (p *pending, seq uint64, dup bool, err error) {
	key := pairKey(idem, content)
	for {
		d.mu.Lock()
		if seq, ok := d.storedLocked(idem, content); ok {
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
		if f, ok := d.firstLocked(cut(idem)); ok {
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
		d.commitLocked(idem, content, seq)
	}
	p.seq, p.err = seq, err
	d.mu.Unlock()
	close(p.done)
}
