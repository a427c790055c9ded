package journal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/onrecord/onrecord/internal/durable"
	"time"
)

// maxFreeBufs bounds the batch buffers kept for reuse.
const maxFreeBufs = 4

// run is the writer goroutine: the only code that writes segments. It takes
// one pending batch at a time, writes it with one call, fsyncs it, then
// publishes it (Len, Scan, OnCommit) and releases its callers.
//
// When to commit: at once if a newer batch is already queued (this one is
// full), if this one already holds as many records as the previous batch
// (every caller that was waiting has come back, so waiting longer buys
// nothing), or when closing; otherwise once MaxBatchDelay has passed since
// its first record. A lone caller is thus never delayed, and under load the
// batch size follows the number of concurrent callers.
func (j *Journal) run() {
	defer close(j.stopped)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var recycle []byte
	for {
		j.mu.Lock()
		if recycle != nil {
			if len(j.freeBufs) < maxFreeBufs && cap(recycle) <= 2*j.batchCap {
				j.freeBufs = append(j.freeBufs, recycle)
			}
			recycle = nil
		}
		if len(j.pending) == 0 {
			closing := j.closing
			j.mu.Unlock()
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

		j.commit(b)
		recycle = b.buf
		b.buf = nil
	}
}

// commit makes b durable and releases its callers with the outcome.
func (j *Journal) commit(b *batch) {
	first, err := j.writeBatch(b)
	if err == nil && j.opts.OnCommit != nil {
		j.records = j.records[:0]
		for off := 0; off < len(b.buf); {
			n := int(binary.LittleEndian.Uint32(b.buf[off:]))
			j.records = append(j.records, b.buf[off+frameHeaderSize:off+frameHeaderSize+n])
			off += frameHeaderSize + n
		}
		j.opts.OnCommit(first, j.records)
		clear(j.records)
	}
	b.first, b.err = first, err
	close(b.done)
}

// writeBatch writes b at the end of the active segment (rolling to a new
// segment first if it would not fit) and fsyncs it. Only after the fsync
// succeeds is the batch published to Len and Scan.
func (j *Journal) writeBatch(b *batch) (uint64, error) {
	if err := j.failure(); err != nil {
		return 0, err
	}
	seg := j.active
	if seg.count > 0 && seg.off+int64(len(b.buf)) > j.opts.SegmentSize {
		if err := j.roll(); err != nil {
			return 0, err
		}
		seg = j.active
	}
	n, err := seg.f.WriteAt(b.buf, seg.off)
	if err != nil {
		return 0, j.writeFailed(seg, n, err)
	}
	synced := time.Now()
	if err := j.sync(seg.f, b.n); err != nil {
		// fsyncgate: after a failed fsync the kernel may have dropped the
		// dirty pages and a second fsync could "succeed" without them. The
		// batch is not acknowledged and the journal stops.
		return 0, j.fatal(fmt.Errorf("fsync segment %s: %w", seg.path, err))
	}
	if j.opts.OnSync != nil {
		j.opts.OnSync(time.Since(synced), b.n)
	}
	first := j.next
	// The offsets of the batch's frames that fall on a mark.
	var marks []int64
	for i, o := uint64(0), 0; i < uint64(b.n) && o+frameHeaderSize <= len(b.buf); i++ { // #nosec G115 -- a batch's record count, never negative
		if (seg.count+i)%markEvery == 0 {
			marks = append(marks, seg.off+int64(o))
		}
		o += frameHeaderSize + int(binary.LittleEndian.Uint32(b.buf[o:o+4]))
	}
	seg.off += int64(len(b.buf))
	seg.count += uint64(b.n) // #nosec G115 -- a batch's record count, never negative
	j.next += uint64(b.n)    // #nosec G115 -- a batch's record count, never negative
	j.segMu.Lock()
	last := &j.segs[len(j.segs)-1]
	last.count, last.end = seg.count, seg.off
	last.marks = append(last.marks, marks...)
	j.segMu.Unlock()
	j.committed.Store(j.next)
	return first, nil
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
// free. The Syncer is shared by the journal's segments, so a segment roll
// creates and destroys none (io_destroy waits for an RCU grace period).
func (j *Journal) sync(f File, n int) error {
	of, ok := f.(*osFile)
	if !ok || n <= 1 {
		return f.Sync()
	}
	if j.syncer == nil {
		j.syncer = durable.NewSyncer()
	}
	return j.syncer.Fdatasync(of.File)
}
