package journal

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"strconv"
	"strings"
)

const (
	// segmentHeaderSize is the size of the header at the start of every
	// segment file; the first frame starts right after it.
	segmentHeaderSize = 32
	// segmentMagic identifies a journal segment file.
	segmentMagic = "ONRJRNL\x00"
	// segmentVersion is the on-disk format version described in doc.go.
	segmentVersion = 1
	// segmentExt is the extension of segment files.
	segmentExt = ".seg"
	// tempExt marks a segment being created; it is renamed to its final name
	// only once its header is durable, so a ".seg" file always has a header.
	tempExt = ".tmp"
	// segmentNameDigits is the width of the zero-padded sequence number in a
	// segment's name, enough for any uint64, so names sort like numbers.
	segmentNameDigits = 20
)

// segmentName returns the file name of the segment whose first record has
// sequence number first.
func segmentName(first uint64) string {
	return fmt.Sprintf("%0*d%s", segmentNameDigits, first, segmentExt)
}

// parseSegmentName returns the first sequence number encoded in a segment
// file name.
func parseSegmentName(name string) (uint64, bool) {
	digits, ok := strings.CutSuffix(name, segmentExt)
	if !ok || len(digits) != segmentNameDigits {
		return 0, false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	if err != nil {
		return 0, false
	}
	return n, true
}

// encodeSegmentHeader returns the header of a segment starting at first.
//
//	0  magic     [8]byte "ONRJRNL\x00"
//	8  version   uint16
//	10 hdrSize   uint16 (32)
//	12 flags     uint32 (0)
//	16 firstSeq  uint64
//	24 reserved  uint32 (0)
//	28 crc32c    uint32 over bytes 0..28
func encodeSegmentHeader(first uint64) [segmentHeaderSize]byte {
	var h [segmentHeaderSize]byte
	copy(h[0:8], segmentMagic)
	binary.LittleEndian.PutUint16(h[8:10], segmentVersion)
	binary.LittleEndian.PutUint16(h[10:12], segmentHeaderSize)
	binary.LittleEndian.PutUint64(h[16:24], first)
	binary.LittleEndian.PutUint32(h[28:32], crc32.Checksum(h[0:28], castagnoli))
	return h
}

// decodeSegmentHeader validates a segment header and returns its first
// sequence number, or a reason why it is not valid.
func decodeSegmentHeader(b []byte) (first uint64, reason string) {
	if len(b) < segmentHeaderSize {
		return 0, fmt.Sprintf("file is %d bytes, shorter than the %d-byte segment header", len(b), segmentHeaderSize)
	}
	if string(b[0:8]) != segmentMagic {
		return 0, "bad segment magic: not a journal segment"
	}
	if got, want := binary.LittleEndian.Uint32(b[28:32]), crc32.Checksum(b[0:28], castagnoli); got != want {
		return 0, fmt.Sprintf("segment header checksum mismatch (stored %08x, computed %08x)", got, want)
	}
	if v := binary.LittleEndian.Uint16(b[8:10]); v != segmentVersion {
		return 0, fmt.Sprintf("unsupported segment format version %d (this build reads version %d)", v, segmentVersion)
	}
	if s := binary.LittleEndian.Uint16(b[10:12]); s != segmentHeaderSize {
		return 0, fmt.Sprintf("unsupported segment header size %d", s)
	}
	if f := binary.LittleEndian.Uint32(b[12:16]); f != 0 {
		return 0, fmt.Sprintf("unknown segment flags %#x", f)
	}
	return binary.LittleEndian.Uint64(b[16:24]), ""
}
