package journal

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/onrecord/onrecord/internal/durable"
)

// Journal is an append-only, crash-safe log of opaque records. It is safe
// for concurrent use. See the package documentation for the guarantees.
type Journal struct {
	opts Options
	fs   FS
	// syncers are the writer's, one per sync slot, for batches of several
	// records (sync). Made before the writer starts and never replaced.
	syncers chan *durable.Syncer
	// slots holds a token for every batch written and not yet published:
	// at most Options.SyncDepth (run, publish).
	slots     chan struct{}
	log       *slog.Logger
	dir       string
	batchCap  int // encoded bytes per batch: min(MaxBatchBytes, segment capacity)
	recovered RecoveryInfo

	committed atomic.Uint64 // Len: records that are durable

	// segMu guards segs, the committed view of the segments read by Scan.
	segMu sync.RWMutex
	segs  []segmentRef

	// mu guards the queue of batches waiting for the writer and the state
	// that decides whether Append is accepted.
	mu       sync.Mutex
	pending  []*batch
	freeBufs [][]byte
	target   int   // records in the last batch taken by the writer
	failErr  error // set once, on the first fatal error
	closing  bool
	kick     chan struct{} // wakes the writer; capacity 1
	stopped  chan struct{} // closed when the writer goroutine exits

	// Owned by the writer goroutine (and by Open before it starts).
	active *activeSegment
	next   uint64 // sequence number of the next record written

	records [][]byte // publish's
}

// RecoveryInfo says what Open found and repaired.
type RecoveryInfo struct {
	// Segments is the number of segment files found.
	Segments int
	// Records is the number of valid records found.
	Records uint64
	// TornSegment, TornOffset and TornBytes describe a torn tail at the end
	// of the last segment: TornBytes non-zero bytes starting at TornOffset
	// that were dropped (or, when opened read-only, ignored).
	TornSegment string
	TornOffset  int64
	TornBytes   int64
	// RemovedTemp lists interrupted segment creations that were removed.
	RemovedTemp []string
	// Resealed lists segments whose interrupted seal was completed.
	Resealed []string
}

// segmentRef is the committed view of one segment.
type segmentRef struct {
	path  string
	first uint64
	count uint64
	end   int64 // offset just past the last committed frame
	// marks[k] is the offset of frame first+k*markEvery, so that a scan
	// from the middle of a segment starts near its first record instead
	// of reading every frame before it. Only appended to (under segMu).
	marks []int64
}

// markEvery is how many frames apart the offsets in segmentRef.marks are:
// a scan from any record reads at most markEvery-1 frames it does not
// need, for 8 bytes of memory per markEvery records.
const markEvery = 64

// activeSegment is the segment the writer appends to.
type activeSegment struct {
	f     File
	name  string
	path  string
	first uint64
	count uint64
	off   int64 // where the next frame goes
}

// batch is a group of records committed with one write and one fsync.
// Appenders encode their frames straight into buf; all of them wait on done,
// which the writer closes after setting first and err.
type batch struct {
	buf   []byte
	n     int
	start time.Time
	done  chan struct{}
	first uint64
	err   error
}

// Open opens the journal in opts.Dir, creating it if needed, and recovers it:
// every segment is verified; a torn tail at the end of the last segment is
// truncated durably; an interrupted roll is completed. Corruption anywhere
// else fails with a *CorruptError and nothing is modified.
func Open(opts Options) (*Journal, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	j := &Journal{
		opts:    opts,
		fs:      opts.FS,
		log:     opts.Logger,
		dir:     filepath.Clean(opts.Dir),
		kick:    make(chan struct{}, 1),
		stopped: make(chan struct{}),
		target:  1,
	}
	j.batchCap = opts.MaxBatchBytes
	if c := opts.SegmentSize - segmentHeaderSize; int64(j.batchCap) > c {
		j.batchCap = int(c)
	}

	if opts.ReadOnly {
		if _, err := j.fs.Stat(j.dir); err != nil {
			return nil, fmt.Errorf("journal: open %s read-only: %w", j.dir, err)
		}
	} else {
		if err := j.fs.MkdirAll(j.dir, 0o700); err != nil {
			return nil, fmt.Errorf("journal: create directory %s: %w", j.dir, err)
		}
		if err := j.fs.SyncDir(filepath.Dir(j.dir)); err != nil {
			return nil, fmt.Errorf("journal: sync parent of %s: %w", j.dir, err)
		}
	}

	var visit frameVisitor
	if opts.OnRecover != nil {
		visit = func(seq uint64, _ string, _ int64, data []byte) error { return opts.OnRecover(seq, data) }
	}
	st, err := scanDir(j.fs, j.dir, visit)
	if err != nil {
		return nil, err
	}
	j.opts.OnRecover = nil // used only here; keep nothing of the caller's alive
	j.recovered = RecoveryInfo{Segments: len(st.segs), Records: st.records}
	for _, s := range st.segs {
		j.segs = append(j.segs, segmentRef{path: s.path, first: s.first, count: s.count, end: s.end, marks: s.marks})
		if s.tornBytes > 0 {
			j.recovered.TornSegment, j.recovered.TornOffset, j.recovered.TornBytes = s.path, s.end, s.tornBytes
		}
	}
	j.next = st.records
	j.committed.Store(st.records)

	if opts.ReadOnly {
		close(j.stopped)
		return j, nil
	}
	if err := j.repair(st); err != nil {
		return nil, err
	}
	j.slots = make(chan struct{}, j.opts.SyncDepth)
	j.syncers = make(chan *durable.Syncer, j.opts.SyncDepth)
	for range j.opts.SyncDepth {
		j.syncers <- durable.NewSyncer()
	}
	go j.run()
	return j, nil
}

// repair makes a writable journal ready to append: it removes interrupted
// segment creations, seals segments whose roll was interrupted, truncates a
// torn tail and opens (or creates) the active segment. Each change is made
// durable before Open returns.
func (j *Journal) repair(st *dirState) error {
	dirty := false
	for _, tmp := range st.temps {
		if err := j.fs.Remove(tmp); err != nil {
			return fmt.Errorf("journal: remove interrupted segment %s: %w", tmp, err)
		}
		j.recovered.RemovedTemp = append(j.recovered.RemovedTemp, tmp)
		j.log.Warn("journal: removed interrupted segment creation", "file", tmp)
		dirty = true
	}
	for i, s := range st.segs {
		if i == len(st.segs)-1 || s.readOnly {
			continue
		}
		if err := j.sealPath(s.path, s.end, s.size); err != nil {
			return err
		}
		j.recovered.Resealed = append(j.recovered.Resealed, s.path)
		j.log.Warn("journal: completed interrupted seal", "segment", s.path)
		dirty = true
	}
	if dirty {
		if err := j.fs.SyncDir(j.dir); err != nil {
			return fmt.Errorf("journal: sync directory %s: %w", j.dir, err)
		}
	}

	if len(st.segs) == 0 || st.segs[len(st.segs)-1].readOnly {
		// Empty journal, or the last segment was sealed before its
		// successor was created: start a new segment. A sealed segment is
		// never written again.
		seg, err := j.createSegment(j.next)
		if err != nil {
			return fmt.Errorf("journal: %w", err)
		}
		j.active = seg
		j.segs = append(j.segs, segmentRef{path: seg.path, first: seg.first, end: seg.off})
		return nil
	}

	last := st.segs[len(st.segs)-1]
	f, err := j.fs.OpenFile(last.path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("journal: open segment %s for writing: %w", last.path, err)
	}
	if last.tornBytes > 0 {
		// Only bytes among which no valid frame starts are dropped: the
		// remains of a write that was never acknowledged.
		if err := f.Truncate(last.end); err != nil {
			f.Close()
			return fmt.Errorf("journal: truncate torn tail of %s at %d: %w", last.path, last.end, err)
		}
		j.log.Warn("journal: truncated torn tail", "segment", last.path, "offset", last.end, "bytes", last.tornBytes)
	}
	if last.end < j.opts.SegmentSize {
		if err := allocate(f, last.end, j.opts.SegmentSize-last.end); err != nil {
			// Not fatal: appends report a full disk themselves.
			j.log.Warn("journal: cannot preallocate active segment", "segment", last.path, "err", err)
		}
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("journal: fsync segment %s after recovery: %w", last.path, err)
	}
	j.active = &activeSegment{f: f, name: last.name, path: last.path, first: last.first, count: last.count, off: last.end}
	return nil
}

// allocate preallocates [off, off+n) of f when the file system supports it.
func allocate(f File, off, n int64) error {
	a, ok := f.(Allocator)
	if !ok || n <= 0 {
		return nil
	}
	if err := a.Allocate(off, n); err != nil && !errors.Is(err, errors.ErrUnsupported) {
		return err
	}
	return nil
}

// createSegment creates the segment starting at first: it is built under a
// temporary name (preallocated, header written and fsynced), renamed into
// place and the directory fsynced, so a segment file never exists without a
// durable header. Errors from fsync, rename or directory sync wrap ErrFailed.
func (j *Journal) createSegment(first uint64) (*activeSegment, error) {
	name := segmentName(first)
	path := filepath.Join(j.dir, name)
	tmp := path + tempExt
	f, err := j.fs.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create segment %s: %w", tmp, err)
	}
	abandon := func(err error) (*activeSegment, error) {
		_ = f.Close()
		// Best effort: Open removes leftover temporary files anyway.
		_ = j.fs.Remove(tmp)
		return nil, err
	}
	if err := allocate(f, 0, j.opts.SegmentSize); err != nil {
		return abandon(fmt.Errorf("preallocate segment %s (%d bytes): %w", name, j.opts.SegmentSize, err))
	}
	h := encodeSegmentHeader(first)
	if _, err := f.WriteAt(h[:], 0); err != nil {
		return abandon(fmt.Errorf("write header of segment %s: %w", name, err))
	}
	if err := f.Sync(); err != nil {
		return abandon(fmt.Errorf("%w: fsync new segment %s: %w", ErrFailed, tmp, err))
	}
	if err := j.fs.Rename(tmp, path); err != nil {
		return abandon(fmt.Errorf("%w: rename new segment %s: %w", ErrFailed, tmp, err))
	}
	if err := j.fs.SyncDir(j.dir); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("%w: sync directory %s after creating %s: %w", ErrFailed, j.dir, name, err)
	}
	j.log.Debug("journal: created segment", "segment", path)
	return &activeSegment{f: f, name: name, path: path, first: first, off: segmentHeaderSize}, nil
}

// sealPath seals a segment that is not open: drops the zeros after its
// last frame, fsyncs it and makes it read-only. The caller syncs the
// directory.
func (j *Journal) sealPath(path string, end, size int64) error {
	f, err := j.fs.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("journal: open segment %s to seal it: %w", path, err)
	}
	return j.sealFile(f, path, end, size)
}

func (j *Journal) sealFile(f File, path string, end, size int64) error {
	if size != end {
		if err := f.Truncate(end); err != nil {
			f.Close()
			return fmt.Errorf("journal: seal segment %s: truncate to %d: %w", path, end, err)
		}
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("%w: seal segment %s: fsync: %w", ErrFailed, path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("journal: seal segment %s: close: %w", path, err)
	}
	if err := j.fs.Chmod(path, 0o400); err != nil {
		return fmt.Errorf("journal: seal segment %s: make read-only: %w", path, err)
	}
	return nil
}

// Append writes data as the next record and returns its sequence number
// once the record is durable (written and fsynced). The caller may reuse
// data as soon as Append returns.
//
// Errors: ErrRecordTooLarge; ErrDiskFull (nothing was written, retry after
// freeing space); ErrFailed (fatal: reopen the journal); ErrClosed;
// ErrReadOnly. If ctx ends first, Append returns ctx's error and the record
// may or may not become durable, like a timeout.
func (j *Journal) Append(ctx context.Context, data []byte) (uint64, error) {
	if len(data) > j.opts.MaxRecordSize {
		return 0, fmt.Errorf("%w: %d bytes, Options.MaxRecordSize is %d", ErrRecordTooLarge, len(data), j.opts.MaxRecordSize)
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	// The payload checksum is computed before taking the lock so the
	// critical section is little more than a copy.
	dataCRC := crc32.Checksum(data, castagnoli)

	j.mu.Lock()
	if err := j.refusalLocked(); err != nil {
		j.mu.Unlock()
		return 0, err
	}
	b := j.tailBatchLocked(frameHeaderSize + len(data))
	idx := b.n
	b.buf = appendFrameHeader(b.buf, len(data), dataCRC)
	b.buf = append(b.buf, data...)
	b.n++
	wake := b.n == 1 || b.n >= j.target
	j.mu.Unlock()
	if wake {
		select {
		case j.kick <- struct{}{}:
		default:
		}
	}
	// While the previous batch syncs, appenders are what runs: one that
	// finds its completion posted hands it to the writer, which then runs
	// as soon as this goroutine waits below. The same for the blob
	// store's syncs, which webhooks with media wait for (PokeAll).
	durable.PokeAll()

	select {
	case <-b.done:
		if b.err != nil {
			return 0, b.err
		}
		return b.first + uint64(idx), nil // #nosec G115 -- an index into the batch, never negative
	case <-ctx.Done():
		return 0, fmt.Errorf("journal: append not confirmed, the record may still be committed: %w", ctx.Err())
	}
}

func (j *Journal) refusalLocked() error {
	switch {
	case j.closing && j.opts.ReadOnly:
		return ErrClosed
	case j.opts.ReadOnly:
		return ErrReadOnly
	case j.closing:
		return ErrClosed
	case j.failErr != nil:
		return j.failErr
	}
	return nil
}

// tailBatchLocked returns the batch a frame of size bytes joins: the
// newest pending batch if it has room, otherwise a new one.
func (j *Journal) tailBatchLocked(size int) *batch {
	if n := len(j.pending); n > 0 {
		b := j.pending[n-1]
		if b.n < j.opts.MaxBatchRecords && len(b.buf)+size <= j.batchCap {
			return b
		}
	}
	b := &batch{done: make(chan struct{}), start: time.Now()}
	if n := len(j.freeBufs); n > 0 {
		b.buf = j.freeBufs[n-1][:0]
		j.freeBufs = j.freeBufs[:n-1]
	}
	j.pending = append(j.pending, b)
	return b
}

// Len returns the number of committed records: the sequence number the next
// record will get.
func (j *Journal) Len() uint64 { return j.committed.Load() }

// Recovered reports what Open found and repaired.
func (j *Journal) Recovered() RecoveryInfo { return j.recovered }

// Scan calls fn for every committed record with sequence number >= from, in
// order. It only reads records that were durable when Scan started, so it is
// safe while appends run. data is only valid during the call. A record whose
// checksum no longer matches stops the scan with a *CorruptError. An error
// from fn stops the scan and is returned as is.
func (j *Journal) Scan(from uint64, fn func(seq uint64, data []byte) error) error {
	j.segMu.RLock()
	var total uint64
	if n := len(j.segs); n > 0 {
		total = j.segs[n-1].first + j.segs[n-1].count
	}
	i := sort.Search(len(j.segs), func(i int) bool { return j.segs[i].first+j.segs[i].count > from })
	segs := slices.Clone(j.segs[i:])
	j.segMu.RUnlock()
	if from > total {
		return fmt.Errorf("journal: scan from record %d: the journal holds %d records", from, total)
	}
	var (
		br  *bufio.Reader
		buf []byte
	)
	for _, s := range segs {
		if s.count == 0 {
			continue
		}
		if err := j.scanCommitted(s, from, &br, &buf, fn); err != nil {
			return err
		}
	}
	return nil
}

// Read returns a copy of record seq. It reads from the nearest offset
// mark before seq, through a small buffer: a point read, where Scan is
// made for long runs of records.
func (j *Journal) Read(seq uint64) ([]byte, error) {
	j.segMu.RLock()
	i := sort.Search(len(j.segs), func(i int) bool { return j.segs[i].first+j.segs[i].count > seq })
	if i == len(j.segs) {
		j.segMu.RUnlock()
		return nil, fmt.Errorf("journal: read record %d: %w", seq, ErrNotFound)
	}
	s := j.segs[i]
	j.segMu.RUnlock()
	br := bufio.NewReaderSize(nil, 16<<10)
	var buf, out []byte
	stop := errors.New("stop")
	err := j.scanCommitted(s, seq, &br, &buf, func(_ uint64, data []byte) error {
		out = append([]byte(nil), data...)
		return stop
	})
	if err != nil && !errors.Is(err, stop) {
		return nil, err
	}
	return out, nil
}

func (j *Journal) scanCommitted(s segmentRef, from uint64, br **bufio.Reader, buf *[]byte, fn func(uint64, []byte) error) error {
	f, err := j.fs.OpenFile(s.path, os.O_RDONLY, 0)
	if err != nil {
		return fmt.Errorf("journal: scan: open segment %s: %w", s.path, err)
	}
	defer f.Close()
	off, seq := int64(segmentHeaderSize), s.first
	if from > s.first {
		if k := int((from - s.first) / markEvery); k < len(s.marks) { // #nosec G115 -- compared with len(s.marks) before use; a segment holds far fewer than 2^63 marks
			off, seq = s.marks[k], s.first+uint64(k)*markEvery // #nosec G115 -- k is a non-negative index into s.marks
		}
	}
	sr := io.NewSectionReader(f, off, s.end-off)
	if *br == nil {
		*br = bufio.NewReaderSize(sr, 256<<10)
	} else {
		(*br).Reset(sr)
	}
	r := *br
	var h [frameHeaderSize]byte
	for ; seq < s.first+s.count; seq++ {
		if _, err := io.ReadFull(r, h[:]); err != nil {
			return j.scanReadError(s.path, off, err)
		}
		if crc32.Checksum(h[0:8], castagnoli) != binary.LittleEndian.Uint32(h[8:12]) {
			return &CorruptError{Segment: s.path, Offset: off, Reason: fmt.Sprintf("%s in committed record %d", frameBadHeader, seq)}
		}
		n := int(binary.LittleEndian.Uint32(h[0:4]))
		if int64(n) > s.end-off-frameHeaderSize {
			return &CorruptError{Segment: s.path, Offset: off, Reason: fmt.Sprintf("%s in committed record %d", frameOverrun, seq)}
		}
		if seq < from {
			if _, err := r.Discard(n); err != nil {
				return j.scanReadError(s.path, off, err)
			}
			off += int64(frameHeaderSize + n)
			continue
		}
		if cap(*buf) < n {
			*buf = make([]byte, n)
		}
		data := (*buf)[:n]
		if _, err := io.ReadFull(r, data); err != nil {
			return j.scanReadError(s.path, off, err)
		}
		if crc32.Checksum(data, castagnoli) != binary.LittleEndian.Uint32(h[4:8]) {
			return &CorruptError{Segment: s.path, Offset: off, Reason: fmt.Sprintf("%s in committed record %d", frameBadData, seq)}
		}
		if err := fn(seq, data); err != nil {
			return err
		}
		off += int64(frameHeaderSize + n)
	}
	return nil
}

func (j *Journal) scanReadError(path string, off int64, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return &CorruptError{Segment: path, Offset: off, Reason: "segment is shorter than its committed records: it was truncated"}
	}
	return fmt.Errorf("journal: scan segment %s at offset %d: %w", path, off, err)
}

// Close commits the appends already queued, stops the writer and closes the
// active segment. Appends after Close return ErrClosed. The active segment
// is not sealed: the next Open continues it.
func (j *Journal) Close() error {
	j.mu.Lock()
	if j.closing {
		j.mu.Unlock()
		return nil
	}
	j.closing = true
	j.mu.Unlock()
	select {
	case j.kick <- struct{}{}:
	default:
	}
	<-j.stopped
	for len(j.syncers) > 0 {
		(<-j.syncers).Close()
	}
	if j.active != nil {
		if err := j.active.f.Close(); err != nil {
			return fmt.Errorf("journal: close segment %s: %w", j.active.path, err)
		}
		j.active = nil
	}
	return nil
}

// diskFull is the error returned to the callers of a batch that hit ENOSPC.
func diskFull(path string, err error) error {
	return fmt.Errorf("%w writing segment %s: free space and retry: %w", ErrDiskFull, path, err)
}

func isENOSPC(err error) bool { return errors.Is(err, syscall.ENOSPC) }
