package archive

import "sync"

// writeBufs are the buffers one Append encodes into: the event as hashed
// (enc), as sealed (pt, sealed in place, so it ends up holding the
// ciphertext) and the envelope as the journal takes it (env). The journal
// copies a record before Append returns, so they go back to a pool
// afterwards: allocated per append they were about 10 KB of garbage per
// webhook (BENCHMARKS.md, "the write path's allocations").
type writeBufs struct {
	enc, pt, env []byte
}

// maxPooledBuf is the largest buffer kept for reuse; a rare large record
// (an unparsed delivery, a long message) should not pin its memory.
const maxPooledBuf = 64 << 10

var writePool = sync.Pool{New: func() any { return new(writeBufs) }}

func getWriteBufs() *writeBufs { return writePool.Get().(*writeBufs) }

// release clears what may hold plaintext (the event's encodings) and
// returns the buffers to the pool.
func (w *writeBufs) release() {
	clear(w.enc)
	clear(w.pt) // sealed in place it is ciphertext, but not if it had no room for the tag
	w.enc, w.pt, w.env = keep(w.enc), keep(w.pt), keep(w.env)
	writePool.Put(w)
}

func keep(b []byte) []byte {
	if cap(b) > maxPooledBuf {
		return nil
	}
	return b[:0]
}
