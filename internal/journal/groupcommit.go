package journal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// maxFreeBufs bounds the batch buffers kept for reuse.
const maxFreeBufs = 4

// run is the writer goroutine: the only code that writes segments. It takes
// one pending batch at a time, writes it with one call and starts its
// fsync, on a Syncer of its own (syncBatch), while the previous batch's
// may still be running: up to Options.SyncDepth batches are written and
// syncing at once. publish then releases them in order, each once its own
// fsync has succeeded.
//
// Why more than one: a record that arrives while a batch syncs used to
// wait for that sync to end before its own could start. Concurrent
// fdatasyncs of one file do not wait for each other here (two in parallel
// each took as long as one alone, and did twice as many a second), so the
// next batch's may start at once. Measured under bench ingest (ten pairs,
// BENCHMARKS.md): p99 at 10,000 webhooks/s median 43 → 24 ms, p50 3.3 →
// 2.7 ms; the commit's mean in the closed loop barely moved, as the pending
// batch now waits for the batching rule below rather than for the sync in
// flight (committing as soon as a slot is free, without it, was worse).
//
// When to commit: at once if a newer batch is already queued (this one is
// full), if this one already holds as many records as the previous batch
// (every caller that was waiting has come back, so waiting longer buys
// nothing), or when closing; otherwise once MaxBatchDelay has passed since
// its first record. A lone caller is thus never delayed, and under load the
// batch size follows the number of concurrent callers. While every sync
// slot is taken the pending batch keeps growing.
func (j *Journal) run() {
	order := make(chan *inflight, j.opts.SyncDepth)
	published := make(chan struct{})
	go func() {
		defer close(published)
		j.publish(order)
	}()
	defer func() {
		close(order)
		<-published
		close(j.stopped)
	}()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		// A slot first, so that the batch keeps taking records while
		// every slot is busy rather than being closed early.
		j.slots <- struct{}{}
		j.mu.Lock()
		if len(j.pending) == 0 {
			closing := j.closing
			j.mu.Unlock()
			<-j.slots
			if closing {
				return
			}
			<-j.kick
			continue
		}
		b := j.pending[0]
		ready := len(j.pending) > 1 || b.n >= j.target || j.closing || j.failErr != nil || j.opts.MaxBatchDelay < 0
		if !ready {
			if wait := j.opts.MaxBatchDelay - time.Since(b.start); wait > 0 {
				j.mu.Unlock()
				<-j.slots
				timer.Reset(wait)
				select {
				case <-j.kick:
				case <-timer.C:
				}
				timer.Stop()
				continue
			}
		}
		copy(j.pending, j.pending[1:])
		j.pending[len(j.pending)-1] = nil
		j.pending = j.pending[:len(j.pending)-1]
		j.target = max(b.n, 1)
		j.mu.Unlock()

		order <- j.writeBatch(b) // the slot is released by publish
	}
}

// inflight is a batch written to the active segment whose fsync is
// running (or that failed before it could start: err is set and synced
// is closed).
type inflight struct {
	b     *batch
	first uint64
	// The active segment's count and end once this batch is in it, and
	// the offsets of its frames that fall on a mark.
	count  uint64
	end    int64
	marks  []int64
	synced chan struct{}
	err    error         // the write's or the sync's, set before synced is closed
	took   time.Duration // the fsync's
}

// publish releases the batches in the order they were written, each once
// its fsync has ended: a batch is published (Len, Scan, OnCommit) only
// after it and every batch before it are durable. After a fatal error no
// batch is published, including one whose own sync succeeded: sequence
// numbers have no gaps.
func (j *Journal) publish(order <-chan *inflight) {
	for f := range order {
		<-f.synced
		b, err := f.b, f.err
		if err == nil {
			err = j.failure()
		}
		if err == nil {
			if j.opts.OnSync != nil {
				j.opts.OnSync(f.took, b.n)
			}
			j.segMu.Lock()
			last := &j.segs[len(j.segs)-1]
			last.count, last.end = f.count, f.end
			last.marks = append(last.marks, f.marks...)
			j.segMu.Unlock()
			j.committed.Store(f.first + uint64(b.n)) // #nosec G115 -- a batch's record count, never negative
			if j.opts.OnCommit != nil {
				j.records = j.records[:0]
				for off := 0; off < len(b.buf); {
					n := int(binary.LittleEndian.Uint32(b.buf[off:]))
					j.records = append(j.records, b.buf[off+frameHeaderSize:off+frameHeaderSize+n])
					off += frameHeaderSize + n
				}
				j.opts.OnCommit(f.first, j.records)
				clear(j.records)
			}
		}
		b.first, b.err = f.first, err
		recycle := b.buf
		b.buf = nil
		close(b.done)
		j.mu.Lock()
		if len(j.freeBufs) < maxFreeBufs && cap(recycle) <= 2*j.batchCap {
			j.freeBufs = append(j.freeBufs, recycle)
		}
		j.mu.Unlock()
		<-j.slots
	}
}

// writeBatch writes b at the end of the active segment (rolling to a new
// segment first if it would not fit) and starts its fsync. Only after the
// fsync succeeds is the batch published (publish).
func (j *Journal) writeBatch(b *batch) *inflight {
	f := &inflight{b: b, synced: make(chan struct{})}
	fail := func(err error) *inflight {
		f.err = err
		close(f.synced)
		return f
	}
	if err := j.failure(); err != nil {
		return fail(err)
	}
	seg := j.active
	if seg.count > 0 && seg.off+int64(len(b.buf)) > j.opts.SegmentSize {
		// Every slot but this batch's: nothing of the old segment is still
		// syncing or unpublished when it is sealed and the new one's
		// reference is added.
		for range j.opts.SyncDepth - 1 {
			j.slots <- struct{}{}
		}
		err := j.roll()
		for range j.opts.SyncDepth - 1 {
			<-j.slots
		}
		if err != nil {
			return fail(err)
		}
		seg = j.active
	}
	n, err := seg.f.WriteAt(b.buf, seg.off)
	if err != nil {
		return fail(j.writeFailed(seg, n, err))
	}
	f.first = j.next
	// The offsets of the batch's frames that fall on a mark.
	for i, o := uint64(0), 0; i < uint64(b.n) && o+frameHeaderSize <= len(b.buf); i++ { // #nosec G115 -- a batch's record count, never negative
		if (seg.count+i)%markEvery == 0 {
			f.marks = append(f.marks, seg.off+int64(o))
		}
		o += frameHeaderSize + int(binary.LittleEndian.Uint32(b.buf[o:o+4]))
	}
	seg.off += int64(len(b.buf))
	seg.count += uint64(b.n) // #nosec G115 -- a batch's record count, never negative
	j.next += uint64(b.n)    // #nosec G115 -- a batch's record count, never negative
	f.count, f.end = seg.count, seg.off
	go j.syncBatch(f, seg)
	return f
}

// syncBatch makes f's batch durable in seg. A failed fsync is fatal
// (fsyncgate: the kernel may have dropped the dirty pages, and a second
// fsync could "succeed" without them): the batch is not acknowledged and
// the journal stops.
func (j *Journal) syncBatch(f *inflight, seg *activeSegment) {
	defer close(f.synced)
	start := time.Now()
	if err := j.sync(seg.f, f.b.n); err != nil {
		f.err = j.fatal(fmt.Errorf("fsync segment %s: %w", seg.path, err))
		return
	}
	f.took = time.Since(start)
}

// writeFailed handles an error from writing a batch. A full disk is not
// fatal: the partial bytes are cut off (so neither their complete frames nor
// stale bytes after a later, shorter batch can surface) and the callers are
// told to free space. Any other write error is fatal.
func (j *Journal) writeFailed(seg *activeSegment, n int, err error) error {
	if !isENOSPC(err) {
		return j.fatal(fmt.Errorf("write segment %s at offset %d: %w", seg.path, seg.off, err))
	}
	if n > 0 {
		if terr := seg.f.Truncate(seg.off); terr != nil {
			return j.fatal(fmt.Errorf("disk full writing segment %s, then truncating the partial batch at %d failed: %w", seg.path, seg.off, terr))
		}
		if serr := seg.f.Sync(); serr != nil {
			return j.fatal(fmt.Errorf("disk full writing segment %s, then fsync after truncating the partial batch failed: %w", seg.path, serr))
		}
	}
	j.log.Warn("journal: disk full", "segment", seg.path, "err", err)
	return diskFull(seg.path, err)
}

// roll starts a new segment at the current end of the log and seals the
// previous one. If the new segment cannot be created for lack of space, the
// previous segment stays active and the error wraps ErrDiskFull.
func (j *Journal) roll() error {
	old := j.active
	seg, err := j.createSegment(j.next)
	if err != nil {
		if !errors.Is(err, ErrFailed) && isENOSPC(err) {
			j.log.Warn("journal: disk full creating segment", "err", err)
			return diskFull(segmentName(j.next), err)
		}
		return j.fatal(fmt.Errorf("roll to a new segment: %w", err))
	}
	j.active = seg
	j.segMu.Lock()
	j.segs = append(j.segs, segmentRef{path: seg.path, first: seg.first, end: seg.off})
	j.segMu.Unlock()
	if err := j.sealFile(old.f, old.path, old.off, -1); err != nil {
		return j.fatal(err)
	}
	if err := j.fs.SyncDir(j.dir); err != nil {
		return j.fatal(fmt.Errorf("sync directory %s after sealing %s: %w", j.dir, old.path, err))
	}
	j.log.Debug("journal: sealed segment", "segment", old.path, "records", old.count)
	return nil
}

// fatal records the first fatal error; every later Append is refused with
// it. It returns the error (wrapping ErrFailed) for the current batch.
func (j *Journal) fatal(err error) error {
	if !errors.Is(err, ErrFailed) {
		err = fmt.Errorf("%w: %w", ErrFailed, err)
	}
	j.mu.Lock()
	if j.failErr == nil {
		j.failErr = err
	} else {
		err = j.failErr
	}
	j.mu.Unlock()
	j.log.Error("journal: fatal error, refusing appends until reopened", "err", err)
	return err
}

func (j *Journal) failure() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.failErr
}

// sync makes a batch of n records in f durable. A batch of several —
// callers are waiting together, so goroutines are queueing for the CPUs —
// is synced through a durable.Syncer, which waits without keeping a
// thread and its P (durable/aio_linux.go). A batch of one is synced by
// fdatasync(2) itself: a caller alone is answered sooner that way (about
// 0.1 against 0.2 ms here), and with no one else waiting there is no P to
// free. The Syncers (one per sync slot, each running one sync at a time)
// are shared by the journal's segments, so a segment roll creates and
// destroys none (io_destroy waits for an RCU grace period).
func (j *Journal) sync(f File, n int) error {
	of, ok := f.(*osFile)
	if !ok || n <= 1 {
		return f.Sync()
	}
	s := <-j.syncers
	defer func() { j.syncers <- s }()
	return s.Fdatasync(of.File)
}
