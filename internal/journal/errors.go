package journal

import (
	"errors"
	"fmt"
)

var (
	// ErrFailed is wrapped by every error returned after the journal hit a
	// fatal error (a failed fsync, a failed write other than a full disk, a
	// failed segment roll). Nothing is acknowledged after it; close the
	// journal and open it again, which recovers the durable prefix.
	ErrFailed = errors.New("journal failed: close and reopen it to recover the durable records")

	// ErrDiskFull is wrapped by the error returned to the callers of a batch
	// that could not be written because the disk is full. Nothing in the
	// batch is acknowledged and nothing acknowledged earlier is harmed;
	// appends succeed again once space is freed.
	ErrDiskFull = errors.New("journal: disk full")

	// ErrClosed is returned by Append after Close.
	ErrClosed = errors.New("journal: closed")

	// ErrReadOnly is returned by Append on a journal opened with
	// Options.ReadOnly.
	ErrReadOnly = errors.New("journal: opened read-only")

	// ErrRecordTooLarge is returned by Append for a payload larger than
	// Options.MaxRecordSize.
	ErrRecordTooLarge = errors.New("journal: record too large")
)

// CorruptError reports damage inside the log: a bad segment header, a bad
// frame that is not a torn tail, or a segment that is missing, truncated,
// renamed or out of order. The journal never repairs it; restore the
// segment from a replica or the WORM copy.
type CorruptError struct {
	// Segment is the path of the damaged segment file.
	Segment string
	// Offset is the byte offset within Segment where the damage starts.
	Offset int64
	// Reason says what is wrong.
	Reason string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("journal: corrupt segment %s at offset %d: %s (the log is not repaired automatically; restore this segment from a replica or the WORM copy)",
		e.Segment, e.Offset, e.Reason)
}

// ErrNotFound is returned by Read for a record the journal does not hold.
var ErrNotFound = errors.New("no such record")
