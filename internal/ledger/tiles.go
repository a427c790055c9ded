package ledger

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/onrecord/onrecord/record"
)

// ErrNoEntries is returned by ReadEntryBundle when no Options.Entries
// callback was configured.
var ErrNoEntries = errors.New("ledger: entry bundles are not available (no entries source)")

// ReadTile returns the data of the C2SP tile at the given tile level and
// index: width (1..256) consecutive hashes of tree level 8*level, 32 bytes
// each. It wraps ErrOutOfRange if the tree does not have that many hashes
// there. A full tile (width 256) never changes once it exists; a partial
// tile of width W is a prefix of the later full tile, so it never changes
// either.
func (l *Ledger) ReadTile(level int, index uint64, width int) ([]byte, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	data, err := l.tree.tileData(level, index, width)
	if err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	return data, nil
}

// ReadEntryBundle returns the C2SP entry bundle at the given index: width
// (1..256) entries, each a big-endian uint16 length followed by the encoded
// envelope. Entries come from Options.Entries and each is checked against
// its leaf hash before it is served, so a damaged journal is never passed
// off as the log. It wraps ErrOutOfRange if the tree is too small and
// ErrNoEntries without an entries source.
func (l *Ledger) ReadEntryBundle(index uint64, width int) ([]byte, error) {
	if l.entries == nil {
		return nil, ErrNoEntries
	}
	l.mu.RLock()
	size := l.tree.size
	var leaves *hashTile
	ok := width >= 1 && width <= TileWidth && index <= size/TileWidth && uint64(width) <= size-index*TileWidth
	var err error
	if ok {
		leaves, err = l.tree.tile(0, index)
	}
	l.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("ledger: entry bundle %d width %d in tree of size %d: %w", index, width, size, ErrOutOfRange)
	}
	if err != nil {
		return nil, fmt.Errorf("ledger: entry bundle %d: %w", index, err)
	}
	from := index * TileWidth
	// The callback may do I/O, so it runs without the tree lock; the
	// leaves it returns are immutable, so nothing can change under us.
	entries, err := l.entries(from, from+uint64(width)) // #nosec G115 -- width is 1..TileWidth, checked above
	if err != nil {
		return nil, fmt.Errorf("ledger: read entries [%d, %d): %w", from, from+uint64(width), err) // #nosec G115 -- width is 1..TileWidth, checked above
	}
	if len(entries) != width {
		return nil, fmt.Errorf("ledger: read entries [%d, %d): got %d entries", from, from+uint64(width), len(entries)) // #nosec G115 -- width is 1..TileWidth, checked above
	}
	n := 0
	for _, e := range entries {
		n += 2 + len(e)
	}
	out := make([]byte, 0, n)
	for i, e := range entries {
		if len(e) > math.MaxUint16 {
			return nil, fmt.Errorf("ledger: entry %d is %d bytes, more than an entry bundle can hold (%d)", from+uint64(i), len(e), math.MaxUint16)
		}
		if record.LeafHash(e) != leaves[i] {
			return nil, fmt.Errorf("ledger: entry %d does not match its leaf hash; the journal is damaged", from+uint64(i))
		}
		out = binary.BigEndian.AppendUint16(out, uint16(len(e))) // #nosec G115 -- len(e) <= MaxUint16, checked above
		out = append(out, e...)
	}
	return out, nil
}
