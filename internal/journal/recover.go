package journal

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// segmentState is what a recovery scan learned about one segment file.
type segmentState struct {
	name      string
	path      string
	first     uint64
	count     uint64  // valid frames
	end       int64   // offset just past the last valid frame
	size      int64   // file size
	readOnly  bool    // no write permission: sealed
	tornBytes int64   // garbage after end that Open truncates (last segment only)
	marks     []int64 // see segmentRef.marks
}

// dirState is the result of scanning a journal directory.
type dirState struct {
	segs         []segmentState
	temps        []string // leftover segment creations (*.seg.tmp)
	records      uint64
	payloadBytes int64
	frames       uint64 // frames whose header and payload checksums were verified
}

// frameVisitor is called for every valid frame, in sequence order. data
// aliases a buffer that is reused for the next segment.
type frameVisitor func(seq uint64, seg string, off int64, data []byte) error

// scanDir reads every segment of dir in order and verifies the whole log:
// segment names, headers, sequence continuity and every frame checksum. It
// never modifies anything. On corruption it returns a *CorruptError together
// with the state gathered so far.
//
// The rules (doc.go states them for auditors):
//   - segment names parse as 20-digit first sequence numbers and the header
//     agrees with the name;
//   - the first segment starts at 0 and each next one starts where the
//     previous one's frames end;
//   - after the last valid frame of a segment there may be only zeros,
//     except in the last segment, which may also end in a torn tail: non-zero
//     bytes among which no valid frame starts at any offset;
//   - anything else is corruption and fails closed.
func scanDir(fsys FS, dir string, visit frameVisitor) (*dirState, error) {
	entries, err := fsys.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("journal: read directory %s: %w", dir, err)
	}
	st := &dirState{}
	type named struct {
		name  string
		first uint64
	}
	var segs []named
	for _, e := range entries {
		name := e.Name()
		switch {
		case strings.HasSuffix(name, segmentExt+tempExt):
			st.temps = append(st.temps, filepath.Join(dir, name))
		case strings.HasSuffix(name, segmentExt):
			first, ok := parseSegmentName(name)
			if !ok {
				return st, &CorruptError{Segment: filepath.Join(dir, name), Reason: fmt.Sprintf("segment file name is not %d decimal digits followed by %s", segmentNameDigits, segmentExt)}
			}
			segs = append(segs, named{name, first})
		}
	}
	slices.SortFunc(segs, func(a, b named) int {
		switch {
		case a.first < b.first:
			return -1
		case a.first > b.first:
			return 1
		}
		return 0
	})

	var buf []byte
	for i, s := range segs {
		path := filepath.Join(dir, s.name)
		last := i == len(segs)-1
		var ss segmentState
		ss, buf, err = scanSegment(fsys, path, s.name, s.first, st.records, last, buf, st, visit)
		if err != nil {
			return st, err
		}
		st.segs = append(st.segs, ss)
		st.records += ss.count
	}
	return st, nil
}

// scanSegment verifies one segment. expect is the number of records held by
// the segments before it.
func scanSegment(fsys FS, path, name string, nameFirst, expect uint64, last bool, buf []byte, st *dirState, visit frameVisitor) (segmentState, []byte, error) {
	ss := segmentState{name: name, path: path}
	f, err := fsys.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return ss, buf, fmt.Errorf("journal: open segment %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return ss, buf, fmt.Errorf("journal: stat segment %s: %w", path, err)
	}
	ss.size = fi.Size()
	ss.readOnly = fi.Mode().Perm()&0o222 == 0
	if ss.size > int64(maxInt) {
		return ss, buf, &CorruptError{Segment: path, Reason: fmt.Sprintf("segment is %d bytes, too large to be a journal segment", ss.size)}
	}
	if cap(buf) < int(ss.size) {
		buf = make([]byte, ss.size)
	}
	buf = buf[:ss.size]
	if n, err := f.ReadAt(buf, 0); n != len(buf) {
		if err == nil || errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return ss, buf, fmt.Errorf("journal: read segment %s: %w", path, err)
	}

	first, reason := decodeSegmentHeader(buf)
	if reason != "" {
		return ss, buf, &CorruptError{Segment: path, Offset: 0, Reason: reason}
	}
	ss.first = first
	if first != nameFirst {
		return ss, buf, &CorruptError{Segment: path, Offset: 16, Reason: fmt.Sprintf(
			"segment header says its first record is %d but the file is named for %d: the segment was renamed or swapped", first, nameFirst)}
	}
	if first != expect {
		what := "a segment before it is missing or was truncated"
		if first < expect {
			what = "it overlaps the segment before it"
		}
		if expect == 0 {
			what = "the segments before it are missing"
		}
		return ss, buf, &CorruptError{Segment: path, Offset: 0, Reason: fmt.Sprintf(
			"segment starts at record %d but the segments before it hold %d records: %s", first, expect, what)}
	}

	off := segmentHeaderSize
	seq := first
	for off < len(buf) {
		data, n, fst := decodeFrame(buf[off:])
		if fst != frameOK {
			break
		}
		if (seq-first)%markEvery == 0 {
			ss.marks = append(ss.marks, int64(off))
		}
		st.frames++
		st.payloadBytes += int64(len(data))
		if visit != nil {
			if err := visit(seq, path, int64(off), data); err != nil {
				return ss, buf, err
			}
		}
		seq++
		off += n
	}
	ss.count = seq - first
	ss.end = int64(off)
	if off >= len(buf) {
		return ss, buf, nil
	}

	_, _, fst := decodeFrame(buf[off:])
	kind, garbage, validAt := classifyTail(buf[off:])
	switch {
	case kind == tailZero:
		return ss, buf, nil
	case kind == tailCorrupt:
		return ss, buf, &CorruptError{Segment: path, Offset: int64(off), Reason: fmt.Sprintf(
			"%s where record %d should start, and a valid frame follows at offset %d, so this is damage inside the log, not a torn tail", fst, seq, int64(off+validAt))}
	case !last || ss.readOnly:
		return ss, buf, &CorruptError{Segment: path, Offset: int64(off), Reason: fmt.Sprintf(
			"%s where record %d should start, in a sealed segment (read-only or not the last one), so this is damage inside the log, not a torn tail", fst, seq)}
	default:
		ss.tornBytes = int64(garbage)
		return ss, buf, nil
	}
}

const maxInt = int(^uint(0) >> 1)

// CheckReport is the result of Check: what an offline verification saw.
type CheckReport struct {
	// Segments describes every segment checked, in order.
	Segments []SegmentReport
	// Records is the number of valid records.
	Records uint64
	// PayloadBytes is the total size of the valid records' payloads.
	PayloadBytes int64
	// FramesChecked counts frames whose header and payload CRC32C were
	// verified.
	FramesChecked uint64
	// Torn is set when the last segment ends in a torn tail, the bytes Open
	// would truncate. It is an interrupted write, not corruption.
	Torn *TornTail
	// TempFiles lists interrupted segment creations Open would remove.
	TempFiles []string
	// Unsealed lists segments other than the last that are still writable
	// (a roll was interrupted); Open would seal them.
	Unsealed []string
}

// SegmentReport describes one segment file.
type SegmentReport struct {
	Path     string
	FirstSeq uint64
	Records  uint64
	// ValidEnd is the offset just past the segment's last valid frame.
	ValidEnd int64
	// Size is the file size (it includes preallocated zeros).
	Size     int64
	ReadOnly bool
}

// TornTail locates a torn tail.
type TornTail struct {
	Segment string
	Offset  int64
	// Bytes is the length of the non-zero garbage starting at Offset.
	Bytes int64
}

// Check verifies the journal in dir without modifying anything: every
// segment header, the sequence continuity between segments, and the
// checksums of every frame. fn, if not nil, is called for every valid record
// in order with its sequence number, segment path and byte offset; data is
// only valid during the call.
//
// Corruption is returned as a *CorruptError naming the segment and offset,
// together with the report of everything checked before it. A torn tail is
// not an error: it is reported in CheckReport.Torn. An error from fn stops
// the check and is returned as is. fsys nil means the operating system.
func Check(fsys FS, dir string, fn func(seq uint64, seg string, off int64, data []byte) error) (CheckReport, error) {
	if fsys == nil {
		fsys = OSFS()
	}
	if _, err := fsys.Stat(dir); err != nil {
		return CheckReport{}, fmt.Errorf("journal: check %s: %w", dir, err)
	}
	st, err := scanDir(fsys, dir, fn)
	var rep CheckReport
	if st == nil {
		return rep, err
	}
	rep.Records = st.records
	rep.PayloadBytes = st.payloadBytes
	rep.FramesChecked = st.frames
	rep.TempFiles = st.temps
	for i, s := range st.segs {
		rep.Segments = append(rep.Segments, SegmentReport{Path: s.path, FirstSeq: s.first, Records: s.count, ValidEnd: s.end, Size: s.size, ReadOnly: s.readOnly})
		if i < len(st.segs)-1 && !s.readOnly {
			rep.Unsealed = append(rep.Unsealed, s.path)
		}
		if s.tornBytes > 0 {
			rep.Torn = &TornTail{Segment: s.path, Offset: s.end, Bytes: s.tornBytes}
		}
	}
	return rep, err
}
