package journal

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Defaults for Options fields left zero.
const (
	DefaultSegmentSize     = 64 << 20
	DefaultMaxRecordSize   = 16 << 20
	DefaultMaxBatchDelay   = time.Millisecond
	DefaultMaxBatchBytes   = 4 << 20
	DefaultMaxBatchRecords = 8192
	DefaultSyncDepth       = 2
	maxSyncDepth           = 8
)

// minSegmentSize keeps a segment able to hold its header and a frame.
const minSegmentSize = segmentHeaderSize + frameHeaderSize + 1

// Options configure a Journal. Zero values take the defaults above.
type Options struct {
	// Dir is the journal directory. Required.
	Dir string
	// FS is the file-system seam; nil means the operating system (OSFS).
	FS FS

	// SegmentSize is how much space a segment preallocates and the size at
	// which the journal starts a new segment. A segment only grows past it
	// when a single batch is larger than a whole segment.
	SegmentSize int64
	// MaxRecordSize is the largest payload Append accepts.
	MaxRecordSize int
	// MaxBatchDelay is the longest the writer waits for more records before
	// committing a batch. The writer does not wait when the batch already
	// holds as many records as the previous one (every caller that was
	// waiting has come back), so a lone caller is not delayed. Negative
	// means never wait.
	MaxBatchDelay time.Duration
	// MaxBatchBytes caps the encoded size of a batch (one write, one fsync).
	MaxBatchBytes int
	// MaxBatchRecords caps the number of records in a batch.
	MaxBatchRecords int
	// SyncDepth is how many batches may be written and syncing at once
	// (each is still acknowledged only after its own fsync and every
	// earlier batch's). 1 syncs one batch at a time.
	SyncDepth int

	// OnCommit, if set, is called by the journal's publishing goroutine,
	// one batch at a time and in order, after a batch is durable and before
	// its callers are released, with the sequence number of the first
	// record and the batch's payloads in order. It must not retain the
	// slices after it returns (copy what it keeps), and it must not call
	// Append (it would wait for itself). Len and Scan already include the
	// batch when OnCommit runs.
	OnCommit func(first uint64, records [][]byte)

	// OnSync, if set, is called by the same goroutine after each batch's
	// fsync succeeds, with how long the fsync took and how many records
	// the batch holds: the disk's latency as every acknowledgement sees
	// it, and how well commits are grouped. It must return quickly.
	OnSync func(took time.Duration, records int)

	// OnRecover, if set, is called by Open for every record it finds on
	// disk, in order, as it verifies the segments: a caller that rebuilds
	// its state from the whole journal at start reads the journal once
	// instead of twice. It sees exactly the records Len and Scan will hold
	// (none past a torn tail). data is only valid during the call. An error
	// stops Open with that error.
	OnRecover func(seq uint64, data []byte) error

	// ReadOnly opens the journal for reading only: no repair, no new
	// segment, no writer. A torn tail is reported by Recovered but left on
	// disk and excluded from Len and Scan. Append returns ErrReadOnly.
	ReadOnly bool

	// Logger receives rare operational events (repairs, rolls, fatal
	// errors); nil discards them. Record payloads are never logged.
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.FS == nil {
		o.FS = OSFS()
	}
	if o.SegmentSize == 0 {
		o.SegmentSize = DefaultSegmentSize
	}
	if o.MaxRecordSize == 0 {
		o.MaxRecordSize = DefaultMaxRecordSize
	}
	if o.MaxBatchDelay == 0 {
		o.MaxBatchDelay = DefaultMaxBatchDelay
	}
	if o.MaxBatchBytes == 0 {
		o.MaxBatchBytes = DefaultMaxBatchBytes
	}
	if o.MaxBatchRecords == 0 {
		o.MaxBatchRecords = DefaultMaxBatchRecords
	}
	if o.SyncDepth == 0 {
		o.SyncDepth = DefaultSyncDepth
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Validate reports the first invalid field, naming it.
func (o Options) Validate() error {
	var errs []error
	if o.Dir == "" {
		errs = append(errs, errors.New("journal: Options.Dir is empty: set the journal directory"))
	}
	if o.SegmentSize != 0 && o.SegmentSize < minSegmentSize {
		errs = append(errs, fmt.Errorf("journal: Options.SegmentSize %d is too small: use at least %d bytes (default %d)", o.SegmentSize, minSegmentSize, DefaultSegmentSize))
	}
	if o.MaxRecordSize < 0 || o.MaxRecordSize > maxFrameLen {
		errs = append(errs, fmt.Errorf("journal: Options.MaxRecordSize %d is out of range: use 1..%d (default %d)", o.MaxRecordSize, maxFrameLen, DefaultMaxRecordSize))
	}
	if o.MaxBatchBytes < 0 {
		errs = append(errs, fmt.Errorf("journal: Options.MaxBatchBytes %d is negative", o.MaxBatchBytes))
	}
	if o.MaxBatchRecords < 0 {
		errs = append(errs, fmt.Errorf("journal: Options.MaxBatchRecords %d is negative", o.MaxBatchRecords))
	}
	if o.SyncDepth < 0 || o.SyncDepth > maxSyncDepth {
		errs = append(errs, fmt.Errorf("journal: Options.SyncDepth %d is out of range: use 1..%d (default %d)", o.SyncDepth, maxSyncDepth, DefaultSyncDepth))
	}
	return errors.Join(errs...)
}
