package ledger

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"iter"
	"os"
	"path/filepath"

	"github.com/onrecord/onrecord/internal/durable"
)

// CheckpointsFile is the name of the append-only checkpoint history in the
// ledger directory.
const CheckpointsFile = "checkpoints.log"

// Frame layout of one entry in the checkpoint history:
//
//	length  uint32 big-endian   number of payload bytes (1..MaxCheckpointSize)
//	crc     uint32 big-endian   CRC-32C (Castagnoli) of the payload
//	payload                     the signed note, byte for byte as published
//
// The payload is the complete signed note, so anyone can cut the file into
// notes and check them with note.Open and the log's verifier key.
const (
	frameHeaderSize = 8
	// MaxCheckpointSize bounds one stored note. A checkpoint is a few hundred
	// bytes; the headroom is for cosignatures added later.
	MaxCheckpointSize = 64 << 10
)

// StoredCheckpoint is one signed note read back from the checkpoint history.
type StoredCheckpoint struct {
	// Offset is the byte offset of the entry's frame in the file.
	Offset int64
	// Note is the signed checkpoint note exactly as it was published.
	Note []byte
}

// CorruptCheckpointError reports an entry of the checkpoint history that
// cannot be read. Torn is true when the damage is confined to the end of
// the file and is what a crash in the middle of an append leaves behind
// (Open truncates it); otherwise valid data follows the bad entry, which
// means corruption, and Open fails closed.
type CorruptCheckpointError struct {
	Path   string
	Offset int64
	Torn   bool
	Reason string
}

func (e *CorruptCheckpointError) Error() string {
	kind := "corrupt"
	if e.Torn {
		kind = "torn"
	}
	return fmt.Sprintf("checkpoint history %s: %s entry at offset %d: %s", e.Path, kind, e.Offset, e.Reason)
}

func castagnoli() *crc32.Table { return crc32.MakeTable(crc32.Castagnoli) }

// appendFrame appends the frame of payload to b.
func appendFrame(b, payload []byte, tab *crc32.Table) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(payload))) // #nosec G115 -- a checkpoint note, at most maxFrameSize bytes
	b = binary.BigEndian.AppendUint32(b, crc32.Checksum(payload, tab))
	return append(b, payload...)
}

// maxFrameSize is the largest frame a single append writes.
const maxFrameSize = frameHeaderSize + MaxCheckpointSize

// ScanCheckpoints reads framed checkpoint entries from r and calls fn for
// each valid one, in order, without repairing anything. It stops at the
// first entry that cannot be read and returns a *CorruptCheckpointError for
// it (path is only used in that error); io errors are returned wrapped. It
// returns fn's error if fn fails. It never panics and never buffers more
// than two frames, whatever r holds.
//
// A bad entry is torn, not corrupt, when it can be what a crash in the
// middle of one append leaves: every append is fsynced before the next one
// starts, so only the last frame can be unsynced, and then the bytes from
// the bad entry to the end of the file are at most one frame long and hold
// no valid frame. Anything else means durable data was damaged.
func ScanCheckpoints(path string, r io.Reader, fn func(StoredCheckpoint) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	tab := castagnoli()
	var off int64
	bad := func(consumed []byte, why string) error {
		torn, err := tornTail(consumed, br, tab)
		if err != nil {
			return fmt.Errorf("read checkpoint history %s at offset %d: %w", path, off, err)
		}
		return &CorruptCheckpointError{Path: path, Offset: off, Torn: torn, Reason: why}
	}
	hdr := make([]byte, frameHeaderSize)
	for {
		n, err := io.ReadFull(br, hdr)
		switch {
		case err == io.EOF:
			return nil
		case errors.Is(err, io.ErrUnexpectedEOF):
			return bad(hdr[:n], fmt.Sprintf("frame header cut short after %d bytes", n))
		case err != nil:
			return fmt.Errorf("read checkpoint history %s at offset %d: %w", path, off, err)
		}
		length := binary.BigEndian.Uint32(hdr[0:4])
		sum := binary.BigEndian.Uint32(hdr[4:8])
		if length == 0 || length > MaxCheckpointSize {
			return bad(hdr, fmt.Sprintf("frame length %d outside 1..%d", length, MaxCheckpointSize))
		}
		frame := make([]byte, frameHeaderSize+int(length))
		copy(frame, hdr)
		if n, err := io.ReadFull(br, frame[frameHeaderSize:]); err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) || err == io.EOF {
				return bad(frame[:frameHeaderSize+n], fmt.Sprintf("frame of %d bytes cut short after %d", length, n))
			}
			return fmt.Errorf("read checkpoint history %s at offset %d: %w", path, off, err)
		}
		payload := frame[frameHeaderSize:]
		if crc32.Checksum(payload, tab) != sum {
			// A frame that is all there but does not match its CRC is a
			// torn write only if it ends in unwritten (zero) bytes; a
			// signed note always ends in a newline, so a whole frame with
			// other bytes is damage to a durable entry.
			if payload[len(payload)-1] != 0 {
				return &CorruptCheckpointError{Path: path, Offset: off, Reason: "CRC-32C mismatch in a complete entry"}
			}
			return bad(frame, "CRC-32C mismatch")
		}
		if err := fn(StoredCheckpoint{Offset: off, Note: payload}); err != nil {
			return err
		}
		off += int64(len(frame))
	}
}

// tornTail reports whether the bytes from a bad entry to the end of the
// file (consumed, then the rest of r) can be a torn last append: at most one
// frame long, with no valid frame starting anywhere after the bad entry's
// first byte.
func tornTail(consumed []byte, r io.Reader, tab *crc32.Table) (bool, error) {
	rest, err := io.ReadAll(io.LimitReader(r, int64(maxFrameSize+1-len(consumed))))
	if err != nil {
		return false, err
	}
	tail := append(consumed[:len(consumed):len(consumed)], rest...)
	if len(tail) > maxFrameSize {
		return false, nil
	}
	for p := 1; p+frameHeaderSize < len(tail); p++ {
		length := binary.BigEndian.Uint32(tail[p : p+4])
		if length == 0 || uint64(length) > uint64(len(tail)-p-frameHeaderSize) { // #nosec G115 -- p+frameHeaderSize < len(tail), the loop's condition
			continue
		}
		payload := tail[p+frameHeaderSize : p+frameHeaderSize+int(length)]
		if crc32.Checksum(payload, tab) == binary.BigEndian.Uint32(tail[p+4:p+8]) {
			return false, nil
		}
	}
	return true, nil
}

// Checkpoints iterates over the checkpoint history at path without
// repairing it. A bad entry is yielded as a *CorruptCheckpointError naming
// its offset, after all good entries before it, and ends the sequence.
func Checkpoints(path string) iter.Seq2[StoredCheckpoint, error] {
	return func(yield func(StoredCheckpoint, error) bool) {
		f, err := os.Open(path)
		if err != nil {
			yield(StoredCheckpoint{}, fmt.Errorf("open checkpoint history: %w", err))
			return
		}
		defer f.Close()
		stopped := errors.New("stopped")
		err = ScanCheckpoints(path, f, func(c StoredCheckpoint) error {
			if !yield(c, nil) {
				return stopped
			}
			return nil
		})
		if err != nil && err != stopped {
			yield(StoredCheckpoint{}, err)
		}
	}
}

// ReadCheckpoints returns every readable entry of the checkpoint history at
// path, in order. If an entry is bad it returns the entries before it along
// with a *CorruptCheckpointError naming the bad entry's offset. It repairs
// nothing: it is what `onrecord verify` reads.
func ReadCheckpoints(path string) ([]StoredCheckpoint, error) {
	var out []StoredCheckpoint
	for c, err := range Checkpoints(path) {
		if err != nil {
			return out, err
		}
		out = append(out, c)
	}
	return out, nil
}

// checkpointFile appends to the checkpoint history. Not safe for concurrent
// use; the ledger serialises signing.
type checkpointFile struct {
	path string
	f    *os.File
	end  int64 // offset where the next frame goes
	tab  *crc32.Table
}

// openCheckpointFile opens (creating if needed) the history in dir, reads
// every entry through fn, truncates a torn tail, and fails closed on
// corruption before the tail.
func openCheckpointFile(dir string, fn func(StoredCheckpoint) error, onTorn func(*CorruptCheckpointError)) (*checkpointFile, error) {
	path := filepath.Join(dir, CheckpointsFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	created := err == nil
	if errors.Is(err, os.ErrExist) {
		f, err = os.OpenFile(path, os.O_RDWR, 0)
	}
	if err != nil {
		return nil, fmt.Errorf("open checkpoint history: %w", err)
	}
	if created {
		// Make the new directory entry durable before anything relies on it.
		if err := durable.SyncDir(dir); err != nil {
			f.Close()
			return nil, err
		}
	}
	cf := &checkpointFile{path: path, f: f, tab: castagnoli()}
	var end int64
	err = ScanCheckpoints(path, f, func(c StoredCheckpoint) error {
		end = c.Offset + frameHeaderSize + int64(len(c.Note))
		return fn(c)
	})
	var ce *CorruptCheckpointError
	switch {
	case errors.As(err, &ce) && ce.Torn:
		if onTorn != nil {
			onTorn(ce)
		}
		if err := f.Truncate(end); err != nil {
			f.Close()
			return nil, fmt.Errorf("truncate torn checkpoint history %s to %d: %w", path, end, err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, fmt.Errorf("sync checkpoint history %s: %w", path, err)
		}
	case err != nil:
		f.Close()
		return nil, err
	}
	cf.end = end
	return cf, nil
}

// append writes one framed note and makes it durable before returning its
// offset. After an error the file's state is unknown (a failed fsync may
// have dropped the data), so the caller must stop appending.
func (cf *checkpointFile) append(signed []byte) (int64, error) {
	if len(signed) == 0 || len(signed) > MaxCheckpointSize {
		return 0, fmt.Errorf("append checkpoint: note is %d bytes, want 1..%d", len(signed), MaxCheckpointSize)
	}
	off := cf.end
	frame := appendFrame(make([]byte, 0, frameHeaderSize+len(signed)), signed, cf.tab)
	if _, err := cf.f.WriteAt(frame, off); err != nil {
		return 0, fmt.Errorf("write checkpoint at offset %d of %s: %w", off, cf.path, err)
	}
	if err := cf.f.Sync(); err != nil {
		return 0, fmt.Errorf("sync checkpoint at offset %d of %s: %w", off, cf.path, err)
	}
	cf.end = off + int64(len(frame))
	return off, nil
}

func (cf *checkpointFile) close() error {
	if err := cf.f.Close(); err != nil {
		return fmt.Errorf("close checkpoint history %s: %w", cf.path, err)
	}
	return nil
}
