// Package journal is the append-only, crash-safe log that every onrecord
// record is written to. It stores opaque payloads (encoded record
// envelopes; the journal does not look inside them) and gives each one a
// sequence number: its 0-based position in the log, dense and never reused,
// which is also its Merkle leaf index.
//
// # Why it is built this way
//
// onrecord acknowledges a message to its provider only once the record is
// durable, so the journal's one promise is: Append returns nil only after
// the record's bytes are on stable storage (written, then fdatasync'd), and
// a record once acknowledged is never lost or silently altered. Everything
// below serves that promise and the ability of an auditor to check it.
//
//   - Group commit: one writer goroutine owns the files. Callers encode their
//     frame into a shared batch buffer under a short lock and wait on the
//     batch; the writer writes the whole batch with one write call, fsyncs
//     once, then releases every caller of the batch. One fsync is amortized
//     over all concurrent callers. The writer commits a batch at once when it
//     already holds as many records as the previous batch, so a lone caller
//     pays no added latency, and otherwise waits at most MaxBatchDelay.
//   - Up to SyncDepth batches (default 2) are written and syncing at once:
//     the next batch's write and fsync start while the previous fsync runs,
//     instead of after it. Batches are still released strictly in order,
//     each only once its own fsync and every earlier batch's succeeded, so
//     Len, Scan and OnCommit never skip a record and no acknowledgement
//     depends on a sync that failed.
//   - The fsync of a batch of several records goes through Linux AIO
//     (IOCB_CMD_FDSYNC), waited for on an eventfd in the runtime's poller
//     (durable.Syncer): a blocking fdatasync(2) keeps its thread's P
//     for its whole length, which on a two-CPU machine left a CPU idle while
//     goroutines queued. Same kernel call (vfs_fsync, datasync), same
//     result, same rule on failure; a lone record is synced by fdatasync(2).
//   - Fsync failure is fatal ("fsyncgate"): Linux may drop dirty pages after
//     a write-back error, and a retried fsync can then report success for data
//     that is gone. The batch fails, OnCommit is not called, and every later
//     Append fails with ErrFailed until the journal is reopened, which
//     recovers the durable prefix. The fsync is never retried. A later batch
//     already syncing fails too, even if its own fsync succeeds.
//   - A full disk is not fatal: the batch fails with ErrDiskFull, its partial
//     bytes are truncated away (so they can never surface as records or as
//     stale bytes after a later, shorter batch), and appends resume when space
//     is freed. If the failing step was an fsync, the fsync rule applies.
//     Any other write error is fatal.
//   - Preallocation (fallocate) reserves a segment's space up front, so a full
//     disk usually shows up when a segment is created, before any byte of a
//     batch is written.
//
// # On-disk format (version 1)
//
// The journal directory holds segment files named by the sequence number of
// their first record, 20 zero-padded decimal digits and ".seg"
// (00000000000000000000.seg, 00000000000000004096.seg, ...). All integers
// are little-endian. CRC32C is CRC-32 with the Castagnoli polynomial.
//
// Segment header, 32 bytes at offset 0:
//
//	offset size field
//	0      8    magic "ONRJRNL\x00"
//	8      2    format version (1)
//	10     2    header size (32)
//	12     4    flags (0)
//	16     8    sequence number of the segment's first record
//	24     4    reserved (0)
//	28     4    CRC32C of bytes 0..27
//
// Frames follow back to back from offset 32, one per record:
//
//	offset size field
//	0      4    payload length n
//	4      4    CRC32C of the payload
//	8      4    CRC32C of bytes 0..7 of this frame header
//	12     n    payload
//
// The header checksum lets recovery tell at any byte offset, cheaply,
// whether a frame starts there, which the torn-tail rule below needs. A frame
// header of all zeros is never valid (the CRC32C of eight zero bytes is not
// zero), so preallocated zero space never reads as a record.
//
// The record with sequence number s is the k-th frame (from 0) of the
// segment whose first sequence number f satisfies s = f + k.
//
// # Writing
//
//   - A new segment is built as NAME.seg.tmp: preallocated to SegmentSize,
//     header written, fsynced, then renamed to NAME.seg and the directory
//     fsynced. A .seg file therefore always has a durable, valid header.
//   - A batch is appended to the last segment at the end of its last frame,
//     then fdatasync'd. Only then are Len and Scan advanced, OnCommit called,
//     and the callers released.
//   - When a batch would not fit in the rest of the segment, the writer
//     creates the next segment (named for the next sequence number) and then
//     seals the full one: truncated to its last frame (dropping the unused
//     preallocated space), fsynced, made read-only (mode 0400), and the
//     directory fsynced. A segment exceeds SegmentSize only when a single
//     batch is larger than a whole segment.
//
// # Recovery rules (Open and Check)
//
// Every segment is read in sequence order and verified:
//
//  1. Every *.seg name must be 20 decimal digits; the header magic, version,
//     size, flags and checksum must be valid; the header's first sequence
//     number must equal the one in the file name (a renamed or swapped file
//     fails here).
//  2. The first segment must start at 0, and each segment must start exactly
//     where the records of the segments before it end. A missing segment, a
//     segment truncated at a frame boundary, or an overlap fails here, naming
//     the segment whose start does not match.
//  3. Frames are decoded from offset 32 while both checksums hold. Where they
//     stop, the rest of the segment is classified:
//     - only zero bytes (or nothing): the normal end of the data;
//     - non-zero bytes, and a valid frame starts at some later offset:
//     corruption inside the log;
//     - non-zero bytes, no valid frame at any later offset: a torn tail,
//     the remains of a write that was interrupted and never acknowledged.
//  4. A torn tail is accepted only at the end of the last segment, and only
//     if that segment is not sealed (sealing truncates and fsyncs before the
//     chmod, so a read-only segment never ends in an interrupted write). In
//     any other segment it is corruption. Zero bytes after the last frame are accepted in every
//     segment: a crash between creating a new segment and sealing the
//     previous one leaves them, and rule 2 proves no record is missing.
//
// Corruption fails closed: Open and Check return a *CorruptError naming the
// segment file and the byte offset where the first bad frame starts, and
// nothing is modified. Repair is a human decision (restore the segment from a
// replica or the WORM copy), never automatic.
//
// On a writable Open, and only then, recovery also:
//   - truncates a torn tail at the end of its last valid frame, re-preallocates
//     and fsyncs the segment, and reports the dropped bytes in Recovered;
//   - removes leftover *.seg.tmp files (interrupted segment creations);
//   - completes an interrupted seal of any segment but the last (truncate to
//     the last frame, fsync, chmod 0400);
//   - starts a new segment when the last one is already sealed (a sealed
//     segment is never reopened for writing);
//   - fsyncs the directory after any of these.
//
// Options.ReadOnly opens without any of these repairs: a torn tail is
// reported by Recovered and excluded from Len and Scan, and Append returns
// ErrReadOnly. Check is the offline verifier used by "onrecord verify": it
// visits every record with its segment and offset, counts the checksums it
// verified, and reports a torn tail, leftover temporary files and unsealed
// segments separately from corruption.
//
// # Limits of what recovery can tell
//
// A bad frame at the very end of the log is indistinguishable from an
// interrupted write and is treated as a torn tail; damage to acknowledged
// records there is caught by comparing Len with the last signed Merkle
// checkpoint, as is the loss of whole trailing segments. Conversely, if a
// power loss persisted the pages of unacknowledged batches (one, or two
// whose fsyncs overlapped) out of order (a
// later page on disk, an earlier one not), a valid frame can follow a bad
// one at the tail; recovery then fails closed as corruption rather than
// guess, and an operator confirms from the checkpoint that the frames after
// the bad one were never acknowledged.
package journal
