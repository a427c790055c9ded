package localfs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/onrecord/onrecord/internal/durable"
)

// A pack index lists the live blobs of a pack that is no longer written
// to, so that Open need not find them by reading every frame header. On a
// cold start that was a random read per blob: 40,000 blobs of 100 KiB (61
// packs) took 5.2 s to open after the page cache was dropped, 0.14 s
// warm. It is derived state, written by Open after it scanned a pack, and
// trusted only if it is whole (its checksum holds) and was made for this
// pack as it is now (its size and modification time):
//
//	0  magic  "OBX1"
//	4  pack   uint32 little endian: the pack's number
//	8  size   uint64: the pack file's size when it was indexed
//	16 mtime  int64: its modification time then, Unix nanoseconds
//	24 count  uint32: entries that follow
//	28 zero   4 bytes
//	32 count × (addr 32 bytes, offset uint64, data size uint32)
//	…  crc    uint32 CRC-32C of everything before it
//
// Deleting a blob changes its frame but not the pack's size, so Delete
// removes the pack's index, durably, before it touches the frame; the next
// Open scans that pack and indexes it again. (The modification time
// catches what changed a pack otherwise: an older onrecord that knew no
// indexes deleting from it, or a hand.) The pack being written (the
// last) never has one. An index is written without fsync: a torn one fails
// its checksum and the pack is scanned.
const (
	indexExt        = ".idx"
	indexMagic      = "OBX1"
	indexHeaderSize = 32
	indexEntrySize  = 44
)

func indexPath(dir string, n uint32) string {
	return filepath.Join(dir, strings.TrimSuffix(packName(n), packExt)+indexExt)
}

// readPackIndex returns the live blobs the index of pack n lists, if it has
// a whole index made when the pack was as st says it is.
func readPackIndex(dir string, n uint32, st fs.FileInfo) ([]scanned, bool) {
	size := st.Size()
	b, err := os.ReadFile(indexPath(dir, n))
	if err != nil || len(b) < indexHeaderSize+4 {
		return nil, false
	}
	body, sum := b[:len(b)-4], binary.LittleEndian.Uint32(b[len(b)-4:])
	count := binary.LittleEndian.Uint32(body[24:28])
	if string(body[:4]) != indexMagic || binary.LittleEndian.Uint32(body[4:8]) != n ||
		binary.LittleEndian.Uint64(body[8:16]) != uint64(size) || // #nosec G115 -- a file size: never negative
		int64(binary.LittleEndian.Uint64(body[16:24])) != st.ModTime().UnixNano() || binary.LittleEndian.Uint32(body[28:32]) != 0 || // #nosec G115 -- the bit pattern written below from UnixNano
		uint64(len(body)) != indexHeaderSize+uint64(count)*indexEntrySize || crc32.Checksum(body, castagnoli) != sum {
		return nil, false
	}
	live := make([]scanned, count)
	for i := range live {
		e := body[indexHeaderSize+i*indexEntrySize:]
		copy(live[i].key[:], e[:32])
		live[i].off = int64(binary.LittleEndian.Uint64(e[32:40])) // #nosec G115 -- a negative or too large offset is refused just below
		live[i].size = binary.LittleEndian.Uint32(e[40:44])
		if live[i].off < 0 || live[i].off+frameHeaderSize+int64(live[i].size) > size {
			return nil, false
		}
	}
	return live, true
}

// writePackIndex writes the index of pack n, as st describes it, listing
// live.
func writePackIndex(dir string, n uint32, st fs.FileInfo, live []scanned) error {
	b := make([]byte, indexHeaderSize, indexHeaderSize+len(live)*indexEntrySize+4)
	copy(b, indexMagic)
	binary.LittleEndian.PutUint32(b[4:8], n)
	binary.LittleEndian.PutUint64(b[8:16], uint64(st.Size())) // #nosec G115 -- a file size: never negative
	binary.LittleEndian.PutUint64(b[16:24], uint64(st.ModTime().UnixNano()))
	binary.LittleEndian.PutUint32(b[24:28], uint32(len(live))) // #nosec G115 -- the live blobs of one pack (packLimit bytes): far below 2^32
	for _, l := range live {
		b = append(b, l.key[:]...)
		b = binary.LittleEndian.AppendUint64(b, uint64(l.off)) // #nosec G115 -- a pack offset: never negative
		b = binary.LittleEndian.AppendUint32(b, l.size)
	}
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
	p := indexPath(dir, n)
	if err := os.WriteFile(p+".tmp", b, 0o600); err != nil {
		return fmt.Errorf("write pack index: %w", err)
	}
	if err := os.Rename(p+".tmp", p); err != nil {
		return fmt.Errorf("write pack index: %w", err)
	}
	return nil
}

// removePackIndex removes the index of pack n, if any, durably. The
// directory is synced even if the file was already gone: another Delete
// may have removed it a moment ago and not yet made that durable.
func removePackIndex(dir string, n uint32) error {
	if err := os.Remove(indexPath(dir, n)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove pack index: %w", err)
	}
	return durable.SyncDir(dir)
}
