package localfs

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// A pack is an append-only file of frames, one blob each:
//
//	0  magic  "OBL1"
//	4  flags  1 byte: 1 = deleted (the data has been punched out)
//	5  zero   3 bytes
//	8  size   uint32 little endian: length of data
//	12 crc    uint32 CRC-32C of addr and data
//	16 addr   32 bytes: the blob's address
//	48 data
//
// Blobs are sealed before they get here (blob.Sealed), so a pack holds
// ciphertext and keyed-hash addresses only.
const (
	frameMagic      = "OBL1"
	frameHeaderSize = 48
	flagDeleted     = 1
	packExt         = ".pack"
	// packSize is the size at which writes move on to a new pack. A pack
	// only grows past it by the writes already under way.
	packSize = 64 << 20
	// maxBlobSize is the largest blob a frame holds.
	maxBlobSize = 1<<32 - 1
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func packName(n uint32) string { return fmt.Sprintf("%010d%s", n, packExt) }

func parsePackName(name string) (uint32, bool) {
	digits, ok := strings.CutSuffix(name, packExt)
	if !ok || len(digits) != 10 {
		return 0, false
	}
	n, err := strconv.ParseUint(digits, 10, 32)
	return uint32(n), err == nil
}

// appendFrame appends the frame of a blob to buf.
func appendFrame(buf []byte, key [32]byte, b []byte) []byte {
	var h [frameHeaderSize]byte
	copy(h[0:4], frameMagic)
	binary.LittleEndian.PutUint32(h[8:12], uint32(len(b))) // #nosec G115 -- len(b) <= maxBlobSize (2^32-1), checked by Put
	crc := crc32.Update(crc32.Checksum(key[:], castagnoli), castagnoli, b)
	binary.LittleEndian.PutUint32(h[12:16], crc)
	copy(h[16:48], key[:])
	return append(append(buf, h[:]...), b...)
}

// frameAt reads a frame header; ok is false for anything that is not one.
func frameAt(h []byte) (key [32]byte, size uint32, crc uint32, flags byte, ok bool) {
	if len(h) < frameHeaderSize || string(h[0:4]) != frameMagic || h[5]|h[6]|h[7] != 0 || h[4]&^flagDeleted != 0 {
		return key, 0, 0, 0, false
	}
	copy(key[:], h[16:48])
	return key, binary.LittleEndian.Uint32(h[8:12]), binary.LittleEndian.Uint32(h[12:16]), h[4], true
}

func frameCRC(key [32]byte, data []byte) uint32 {
	return crc32.Update(crc32.Checksum(key[:], castagnoli), castagnoli, data)
}

// listPacks returns the pack numbers in dir, in order.
func listPacks(dir string) ([]uint32, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []uint32
	for _, e := range ents {
		if n, ok := parsePackName(e.Name()); ok && e.Type().IsRegular() {
			out = append(out, n)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}

// scanned is one live blob found in a pack.
type scanned struct {
	key  [32]byte
	off  int64
	size uint32
}

// scanPack lists the live blobs of a pack and returns the end of its last
// valid frame.
//
// In a pack that was fully synced before writes moved on (every pack but
// the last), frames are found by hopping from header to header without
// reading the data. The last pack — the one being written when the
// process last stopped — is read and checked frame by frame (verify), as
// is the rest of any pack from a header that is not valid — the torn tail a crash leaves in the
// pack that was being written, or damage — the rest of the pack is read
// and checked frame by frame, and scanning resumes at the next frame whose
// checksum holds, so a damaged frame costs that blob and no other. A
// frame that is not valid is never listed: its blob was either not
// acknowledged (the write was not synced) or is lost, and reads of it say
// not found rather than return damaged bytes.
func scanPack(f *os.File, verify bool) (live []scanned, end int64, err error) {
	st, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	size := st.Size()
	var h [frameHeaderSize]byte
	off := int64(0)
	for off < size && !verify {
		if size-off < frameHeaderSize {
			break
		}
		if _, err := f.ReadAt(h[:], off); err != nil {
			return nil, 0, fmt.Errorf("read %s at %d: %w", f.Name(), off, err)
		}
		key, n, _, flags, ok := frameAt(h[:])
		if !ok || off+frameHeaderSize+int64(n) > size {
			break
		}
		if flags&flagDeleted == 0 {
			live = append(live, scanned{key: key, off: off, size: n})
		}
		off += frameHeaderSize + int64(n)
		end = off
	}
	if off >= size {
		return live, end, nil
	}
	// Verifying, or not a valid header at off: check the rest of the pack
	// frame by frame.
	rest := make([]byte, size-off)
	if _, err := f.ReadAt(rest, off); err != nil && !errors.Is(err, io.EOF) {
		return nil, 0, fmt.Errorf("read %s from %d: %w", f.Name(), off, err)
	}
	base := off
	for i := 0; i+frameHeaderSize <= len(rest); {
		key, n, crc, flags, ok := frameAt(rest[i:])
		if ok && i+frameHeaderSize+int(n) <= len(rest) {
			data := rest[i+frameHeaderSize : i+frameHeaderSize+int(n)]
			if flags&flagDeleted != 0 || frameCRC(key, data) == crc {
				if flags&flagDeleted == 0 {
					live = append(live, scanned{key: key, off: base + int64(i), size: n})
				}
				i += frameHeaderSize + int(n)
				end = base + int64(i)
				continue
			}
		}
		// Resume at the next magic.
		j := bytes.Index(rest[i+1:], []byte(frameMagic))
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return live, end, nil
}

func packPath(dir string, n uint32) string { return filepath.Join(dir, packName(n)) }

// zero overwrites [off, off+n) of f with zeros.
func zero(f *os.File, off, n int64) error {
	buf := make([]byte, min(n, 1<<20))
	for n > 0 {
		k := min(n, int64(len(buf)))
		if _, err := f.WriteAt(buf[:k], off); err != nil {
			return fmt.Errorf("zero %s at %d: %w", f.Name(), off, err)
		}
		off, n = off+k, n-k
	}
	return nil
}
