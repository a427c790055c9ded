package ledger

import (
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/transparency-dev/merkle/rfc6962"
)

// LeafTilesFile is the name, under the ledger directory, of the file that
// holds the tree's full level-0 tiles (the leaf hashes). It is derived
// state: written again from the start as the journal is replayed at every
// open (over the old bytes, which costs less than truncating and growing
// it again; a tile is read only after this run wrote it), never fsynced,
// and it holds only hashes of sealed records.
const LeafTilesFile = "leaf-tiles.cache"

// Spilling level-0 tiles: a full tile is written once spillBatch of them
// are waiting, and then dropped from memory; spillCache of the tiles read
// back are kept.
const (
	spillBatch = 16  // 128 KiB per write, every 4,096 leaves
	spillCache = 256 // 2 MiB
)

// tileSpill keeps the tree's full level-0 tiles in a file instead of in
// memory. The leaf hashes are 32 of the 32.1 bytes per record the tree
// would otherwise hold for the life of the process (320 MB at ten million
// records), and a proof or tile needs only a few of them at a time. Tiles
// at higher levels are 1/256 of that and stay in memory, which is what
// makes a tile read back checkable: its 256 hashes must hash up to the
// level-8 node kept in memory, so a damaged or altered file is an error,
// never a wrong proof.
//
// Writes happen in tree.append, under the ledger's write lock; reads under
// its read lock, from many goroutines, so the cache has a mutex of its own.
type tileSpill struct {
	f       *os.File
	written uint64 // tiles [0, written) are in the file and dropped from memory
	batch   uint64 // how many full tiles wait before a write
	buf     []byte // the bytes of one write, reused
	failed  error  // a write failed: nothing more is spilled, tiles stay in memory
	warned  bool   // the ledger has logged failed

	mu    sync.Mutex
	cache map[uint64]*hashTile
	ring  []uint64 // cache keys in the order they were added
	next  int      // where the next key goes in ring once it is full
	max   int
}

func openTileSpill(path string, cacheTiles int, batch uint64) (*tileSpill, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("leaf tiles file: %w", err)
	}
	return &tileSpill{f: f, batch: max(batch, 1), cache: map[uint64]*hashTile{}, max: max(cacheTiles, 1)}, nil
}

func (s *tileSpill) close() error {
	if s == nil {
		return nil
	}
	return s.f.Close()
}

// flush writes the full level-0 tiles not yet written once spillBatch of
// them wait (batch), then drops them from memory. A failed write leaves them (and
// every later one) in memory: the file is only a way to save memory.
func (s *tileSpill) flush(tiles []*hashTile, full uint64) {
	if s.failed != nil || full-s.written < s.batch {
		return
	}
	buf := s.buf[:0]
	for n := s.written; n < full; n++ {
		for i := range tiles[n] {
			buf = append(buf, tiles[n][i][:]...)
		}
	}
	s.buf = buf
	if _, err := s.f.WriteAt(buf, int64(s.written)*TileWidth*HashSize); err != nil { // #nosec G115 -- a tile number times 8 KiB: below 2^63 for any tree that fits a disk
		s.failed = err
		return
	}
	for n := s.written; n < full; n++ {
		tiles[n] = nil
	}
	s.written = full
}

// load reads full level-0 tile n back, checking that its hashes make the
// level-8 node root.
func (s *tileSpill) load(n uint64, root []byte) (*hashTile, error) {
	s.mu.Lock()
	tile := s.cache[n]
	s.mu.Unlock()
	if tile != nil {
		return tile, nil
	}
	buf := make([]byte, TileWidth*HashSize)
	if _, err := s.f.ReadAt(buf, int64(n)*TileWidth*HashSize); err != nil { // #nosec G115 -- a tile number times 8 KiB: below 2^63 for any tree that fits a disk
		return nil, fmt.Errorf("read leaf tile %d from %s: %w", n, LeafTilesFile, err)
	}
	tile = new(hashTile)
	level := make([][]byte, TileWidth)
	for i := range tile {
		copy(tile[i][:], buf[i*HashSize:])
		level[i] = buf[i*HashSize : (i+1)*HashSize]
	}
	for len(level) > 1 {
		for i := range len(level) / 2 {
			level[i] = rfc6962.DefaultHasher.HashChildren(level[2*i], level[2*i+1])
		}
		level = level[:len(level)/2]
	}
	if string(level[0]) != string(root) {
		return nil, fmt.Errorf("leaf tile %d in %s does not hash to the tree's node (8, %d): %w", n, LeafTilesFile, n, errDamagedSpill)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if cached := s.cache[n]; cached != nil { // another reader loaded it meanwhile
		return cached, nil
	}
	if len(s.ring) < s.max {
		s.ring = append(s.ring, n)
	} else {
		delete(s.cache, s.ring[s.next])
		s.ring[s.next] = n
		s.next = (s.next + 1) % s.max
	}
	s.cache[n] = tile
	return tile, nil
}

// errDamagedSpill is wrapped when the leaf tiles file does not match the
// tree; a restart writes it again from the journal.
var errDamagedSpill = errors.New("the leaf tiles file is damaged or was changed; restarting rebuilds it from the journal")
