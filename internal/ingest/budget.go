package ingest

import (
	"io"
	"sync/atomic"
	"time"
)

// memBudget bounds the bytes the gateway holds at once of one kind: the
// webhook bodies (max_body_memory), or the fetched files waiting for their
// records' commit (max_media_memory).
//
// Anyone can open connections to the public listener, and a body is read
// whole before its signature can be checked: without a bound, a thousand
// connections each sending max_body_bytes (slowly, within the read
// timeout) would hold ten gigabytes and the process would be killed for
// memory, losing every delivery in flight, answered or not. A body's
// buffer is reserved as it grows (readBody: at first its announced length,
// up to 64 KiB); a delivery whose buffer does not fit is refused with 503
// and Retry-After, before its body is read or as soon as it outgrows the
// room; the providers that retry (Meta, Slack, Telegram) send it again.
// Deliveries are a few KiB, so the default 256 MiB is only reached by a
// flood or by many very large payloads at once. Files come only from
// signed deliveries, but 16 of up to max_media_bytes each may be held per
// delivery until its commit; they are reserved as they are read
// (budgetReader), and one for which there is no room is fetched after the
// acknowledgement instead (fetchAttachment).
type memBudget struct {
	max  int64 // 0: no bound
	used atomic.Int64
	// lastLog throttles the warning to one a second under a flood.
	lastLog atomic.Int64
}

// reserve takes n bytes of the budget, or says there is no room.
func (b *memBudget) reserve(n int64) bool {
	if b.max <= 0 {
		return true
	}
	for {
		u := b.used.Load()
		if u+n > b.max {
			return false
		}
		if b.used.CompareAndSwap(u, u+n) {
			return true
		}
	}
}

// release gives back n bytes reserved.
func (b *memBudget) release(n int64) {
	if b.max > 0 {
		b.used.Add(-n)
	}
}

// shouldLog says whether a refusal at now is the first in a second.
func (b *memBudget) shouldLog(now time.Time) bool {
	last := b.lastLog.Load()
	return now.UnixNano()-last >= int64(time.Second) && b.lastLog.CompareAndSwap(last, now.UnixNano())
}

// budgetReader reserves what it reads from r against b, in steps of at
// most budgetStep, and fails with errMediaMemory when there is no room;
// n is what it holds reserved.
type budgetReader struct {
	r io.Reader
	b *memBudget
	n int64
}

// budgetStep bounds one read's reservation, so that a reader asking for a
// large buffer is not refused for room it will not use.
const budgetStep = 64 << 10

func (r *budgetReader) Read(p []byte) (int, error) {
	if len(p) > budgetStep {
		p = p[:budgetStep]
	}
	if !r.b.reserve(int64(len(p))) {
		return 0, errMediaMemory
	}
	n, err := r.r.Read(p)
	r.b.release(int64(len(p) - n))
	r.n += int64(n)
	return n, err
}
