package journal

import (
	"encoding/binary"
	"hash/crc32"
)

// frameHeaderSize is the size of a frame header: payload length, payload
// CRC32C and header CRC32C, each a little-endian uint32.
const frameHeaderSize = 12

// maxFrameLen bounds a payload so that a frame length always fits the
// uint32 field with room to spare and a corrupt length cannot ask for an
// absurd allocation.
const maxFrameLen = 1 << 30

// castagnoli is the CRC32C table. crc32.MakeTable caches the Castagnoli
// table and selects the hardware implementation; the value is never mutated.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// appendFrameHeader appends the header of a frame whose payload is n bytes
// with checksum dataCRC. It takes no slice of a local array, so calling it
// does not move anything to the heap (crc32.Checksum's argument escapes).
func appendFrameHeader(b []byte, n int, dataCRC uint32) []byte {
	off := len(b)
	b = binary.LittleEndian.AppendUint32(b, uint32(n)) // #nosec G115 -- n <= maxFrameLen (1 GiB): Append refuses larger records
	b = binary.LittleEndian.AppendUint32(b, dataCRC)
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b[off:off+8], castagnoli))
}

// appendFrame appends the frame carrying data to b.
func appendFrame(b, data []byte) []byte {
	b = appendFrameHeader(b, len(data), crc32.Checksum(data, castagnoli))
	return append(b, data...)
}

// frameStatus classifies the bytes at one offset of a segment.
type frameStatus int

const (
	frameOK        frameStatus = iota
	frameShort                 // fewer than frameHeaderSize bytes remain
	frameBadHeader             // the header checksum does not match
	frameOverrun               // a valid header whose payload runs past the end of the data
	frameBadData               // the payload checksum does not match
)

func (s frameStatus) String() string {
	switch s {
	case frameOK:
		return "valid frame"
	case frameShort:
		return "incomplete frame header"
	case frameBadHeader:
		return "frame header checksum (CRC32C) mismatch"
	case frameOverrun:
		return "frame length runs past the end of the segment"
	case frameBadData:
		return "frame payload checksum (CRC32C) mismatch"
	default:
		return "unknown frame status"
	}
}

// decodeFrame decodes the frame at the start of b. On frameOK it returns the
// payload (aliasing b) and the frame's total size. It never panics.
func decodeFrame(b []byte) (data []byte, size int, st frameStatus) {
	if len(b) < frameHeaderSize {
		return nil, 0, frameShort
	}
	if crc32.Checksum(b[0:8], castagnoli) != binary.LittleEndian.Uint32(b[8:12]) {
		return nil, 0, frameBadHeader
	}
	n := binary.LittleEndian.Uint32(b[0:4])
	if n > maxFrameLen || uint64(n) > uint64(len(b)-frameHeaderSize) { // #nosec G115 -- len(b) >= frameHeaderSize, checked above
		return nil, 0, frameOverrun
	}
	data = b[frameHeaderSize : frameHeaderSize+int(n)]
	if crc32.Checksum(data, castagnoli) != binary.LittleEndian.Uint32(b[4:8]) {
		return nil, 0, frameBadData
	}
	return data, frameHeaderSize + int(n), frameOK
}

// tailKind classifies what follows the last valid frame of a segment.
type tailKind int

const (
	tailZero    tailKind = iota // nothing, or only zero bytes (preallocated space)
	tailTorn                    // garbage with no valid frame after it: an interrupted write
	tailCorrupt                 // a valid frame follows the bad bytes: damage inside the log
)

// classifyTail looks at b, the bytes from the first offset where no valid
// frame starts up to the end of the segment. It reports whether they are
// zeros, a torn tail, or corruption. For a torn tail, garbage is the length
// of the prefix of b that holds non-zero bytes. For corruption, validAt is
// the offset within b of the first valid frame found after the bad bytes.
//
// The search for a later valid frame tries every byte offset, because after
// a bad length field the frame boundaries are unknown. The header checksum
// makes each attempt cheap, so the search is linear in len(b).
func classifyTail(b []byte) (kind tailKind, garbage int, validAt int) {
	last := lastNonZero(b)
	if last < 0 {
		return tailZero, 0, 0
	}
	for p := 1; p+frameHeaderSize <= len(b); {
		// A valid header is never all zeros (its checksum over zeros is
		// non-zero), so skip runs of zeros quickly.
		nz := firstNonZero(b[p:])
		if nz < 0 {
			break
		}
		if nz >= frameHeaderSize {
			p += nz - frameHeaderSize + 1
			continue
		}
		if _, _, st := decodeFrame(b[p:]); st == frameOK {
			return tailCorrupt, 0, p
		}
		p++
	}
	return tailTorn, last + 1, 0
}

func firstNonZero(b []byte) int {
	for i, c := range b {
		if c != 0 {
			return i
		}
	}
	return -1
}

func lastNonZero(b []byte) int {
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] != 0 {
			return i
		}
	}
	return -1
}
