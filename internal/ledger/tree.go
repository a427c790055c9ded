package ledger

import (
	"errors"
	"fmt"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// Tile geometry of C2SP tlog-tiles: a tile is a subtree of height 8, so it
// holds up to 256 hashes of one tree level.
const (
	TileHeight = 8
	TileWidth  = 1 << TileHeight
	// HashSize is the size of one Merkle tree hash (SHA-256).
	HashSize = 32
	// maxTileLevel is the highest tile level whose hashes sit below tree level
	// 64; tiles above it can never hold a hash in a tree of 2^64-1 leaves.
	maxTileLevel = (64 - 1) / TileHeight
)

// ErrOutOfRange is wrapped by every error about an index or tree size that
// the tree does not (yet) have.
var ErrOutOfRange = errors.New("out of range")

// hashTile is one tile's worth of hashes. Tiles are allocated one at a time
// and never move, so a slice into one stays valid as the tree grows and no
// append ever copies more than a slice of pointers.
type hashTile [TileWidth][HashSize]byte

// tree is the in-memory Merkle tree state. It is not safe for concurrent use;
// Ledger guards it with an RWMutex.
//
// Storage choice: only the hashes at tile levels are kept, that is tree
// levels 0, 8, 16, ... (tiles[k] holds tree level 8k). That is exactly the
// data of every C2SP tile, so tiles are served by copying, and it costs about
// 32.13 bytes per leaf (versus 64 for every node of every level) — of which
// the 32 of level 0 go to a file once their tile is full when spill is set
// (spill.go). Any other
// node at tree level 8k+r (0 < r < 8) is recomputed from at most 2^r <= 128
// stored hashes below it, so a proof costs at most a few thousand SHA-256
// calls: well under a millisecond, and never on the append path.
type tree struct {
	rf    compact.RangeFactory
	rng   *compact.Range // the compact range [0, size): the current root in O(log n)
	size  uint64
	tiles [][]*hashTile // tiles[k][n] is tile n at tile level k; nil if spilled
	// spill, if set, holds the full level-0 tiles instead of memory.
	spill *tileSpill
}

func newTree() *tree {
	t := &tree{rf: compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}}
	t.rng = t.rf.NewEmptyRange(0)
	return t
}

// levelCount is how many complete nodes tree level 8k has: size >> 8k.
func (t *tree) levelCount(k int) uint64 {
	if k < 0 || k > maxTileLevel {
		return 0
	}
	return t.size >> (uint(k) * TileHeight)
}

// store puts the hash of node (level 8k, index) into its tile. Nodes at one
// level are always produced left to right, so index is the next free slot.
func (t *tree) store(k int, index uint64, hash []byte) {
	for len(t.tiles) <= k {
		t.tiles = append(t.tiles, nil)
	}
	n := index / TileWidth
	if n == uint64(len(t.tiles[k])) {
		t.tiles[k] = append(t.tiles[k], new(hashTile))
	}
	copy(t.tiles[k][n][index%TileWidth][:], hash)
}

// tile returns tile n at tile level k, reading it back from the spill
// file if it was written there. The caller must have checked that the
// tile has hashes; the tile must not be written to.
func (t *tree) tile(k int, n uint64) (*hashTile, error) {
	if tl := t.tiles[k][n]; tl != nil {
		return tl, nil
	}
	// Only full level-0 tiles are spilled, and the level-8 node over a
	// full one is always in memory.
	return t.spill.load(n, t.tiles[1][n/TileWidth][n%TileWidth][:])
}

// slot returns a view of the stored hash of node (level 8k, index). The
// caller must have checked that the node exists.
func (t *tree) slot(k int, index uint64) ([]byte, error) {
	tl, err := t.tile(k, index/TileWidth)
	if err != nil {
		return nil, err
	}
	return tl[index%TileWidth][:], nil
}

// append adds leaf hashes. It does O(1) amortised hashing per leaf: the
// compact range merges each new leaf with the perfect subtrees it completes,
// and the visitor keeps the ones that land on a tile level.
func (t *tree) append(leafHashes [][HashSize]byte) error {
	visit := func(id compact.NodeID, hash []byte) {
		if id.Level > 0 && id.Level%TileHeight == 0 {
			t.store(int(id.Level/TileHeight), id.Index, hash)
		}
	}
	for i := range leafHashes {
		idx := t.size
		t.store(0, idx, leafHashes[i][:])
		// The range keeps the slice it is given; the tile slot is never
		// rewritten, so it can hold a view instead of a copy (which keeps
		// that one tile alive if it is spilled).
		if err := t.rng.Append(t.tiles[0][idx/TileWidth][idx%TileWidth][:], visit); err != nil {
			return fmt.Errorf("append leaf %d: %w", idx, err)
		}
		t.size++
	}
	if t.spill != nil && t.size >= TileWidth {
		t.spill.flush(t.tiles[0], t.size/TileWidth)
	}
	return nil
}

// nodeHash returns a fresh copy of the hash of the perfect subtree node
// (level, index), which must lie entirely inside [0, size).
func (t *tree) nodeHash(level uint, index uint64) ([]byte, error) {
	// A node is complete iff index < size / 2^level.
	if level >= 64 || index >= t.size>>level {
		return nil, fmt.Errorf("node (level %d, index %d) in tree of size %d: %w", level, index, t.size, ErrOutOfRange)
	}
	k := int(level / TileHeight)
	r := level % TileHeight
	if r == 0 {
		h, err := t.slot(k, index)
		return append([]byte(nil), h...), err
	}
	// Recompute from the 2^r stored hashes of the tile level below, all
	// in one tile.
	n := uint64(1) << r
	first := index << r
	tl, err := t.tile(k, first/TileWidth)
	if err != nil {
		return nil, err
	}
	hs := make([][]byte, n)
	for i := range n {
		hs[i] = tl[(first+i)%TileWidth][:]
	}
	for len(hs) > 1 {
		for i := 0; i < len(hs)/2; i++ {
			hs[i] = rfc6962.DefaultHasher.HashChildren(hs[2*i], hs[2*i+1])
		}
		hs = hs[:len(hs)/2]
	}
	return hs[0], nil
}

// rootAt returns the RFC 6962 root of the first size leaves.
func (t *tree) rootAt(size uint64) ([]byte, error) {
	if size > t.size {
		return nil, fmt.Errorf("root at size %d of a tree of size %d: %w", size, t.size, ErrOutOfRange)
	}
	if size == 0 {
		return rfc6962.DefaultHasher.EmptyRoot(), nil
	}
	if size == t.size {
		return t.rng.GetRootHash(nil)
	}
	ids := compact.RangeNodes(0, size, nil)
	hashes, err := t.hashes(ids)
	if err != nil {
		return nil, err
	}
	rng, err := t.rf.NewRange(0, size, hashes)
	if err != nil {
		return nil, fmt.Errorf("root at size %d: %w", size, err)
	}
	return rng.GetRootHash(nil)
}

func (t *tree) hashes(ids []compact.NodeID) ([][]byte, error) {
	hs := make([][]byte, len(ids))
	for i, id := range ids {
		h, err := t.nodeHash(id.Level, id.Index)
		if err != nil {
			return nil, err
		}
		hs[i] = h
	}
	return hs, nil
}

// inclusion returns the RFC 6962 inclusion proof of leaf index in the tree
// of the given size.
func (t *tree) inclusion(index, size uint64) ([][]byte, error) {
	if size > t.size || index >= size {
		return nil, fmt.Errorf("inclusion proof of leaf %d in tree of size %d (current size %d): %w", index, size, t.size, ErrOutOfRange)
	}
	nodes, err := proof.Inclusion(index, size)
	if err != nil {
		return nil, fmt.Errorf("inclusion proof of leaf %d in tree of size %d: %w", index, size, err)
	}
	return t.rehash(nodes)
}

// consistency returns the RFC 6962 consistency proof between two sizes.
func (t *tree) consistency(size1, size2 uint64) ([][]byte, error) {
	if size2 > t.size || size1 > size2 {
		return nil, fmt.Errorf("consistency proof from size %d to %d (current size %d): %w", size1, size2, t.size, ErrOutOfRange)
	}
	nodes, err := proof.Consistency(size1, size2)
	if err != nil {
		return nil, fmt.Errorf("consistency proof from size %d to %d: %w", size1, size2, err)
	}
	return t.rehash(nodes)
}

func (t *tree) rehash(nodes proof.Nodes) ([][]byte, error) {
	hs, err := t.hashes(nodes.IDs)
	if err != nil {
		return nil, err
	}
	out, err := nodes.Rehash(hs, rfc6962.DefaultHasher.HashChildren)
	if err != nil {
		return nil, fmt.Errorf("rehash proof: %w", err)
	}
	return out, nil
}

// tileData returns the hashes of tile (level k, index n) at the given width
// (1..256) concatenated, or an ErrOutOfRange error if the tree does not have
// that many hashes there yet.
func (t *tree) tileData(k int, n uint64, width int) ([]byte, error) {
	count := t.levelCount(k)
	// n <= count/256 keeps n*256 from overflowing; then the tile has
	// count - n*256 hashes available (capped at 256 by width's own bound).
	if width < 1 || width > TileWidth || n > count/TileWidth || uint64(width) > count-n*TileWidth {
		return nil, fmt.Errorf("tile %d/%d width %d in tree of size %d: %w", k, n, width, t.size, ErrOutOfRange)
	}
	tile, err := t.tile(k, n)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, width*HashSize)
	for i := range width {
		out = append(out, tile[i][:]...)
	}
	return out, nil
}

// Builder computes an RFC 6962 root over a stream of leaf hashes in O(log n)
// memory. It is what an offline verifier uses to recompute the root of the
// journal at each checkpoint's size. The zero value is an empty tree.
type Builder struct {
	rf  compact.RangeFactory
	rng *compact.Range
}

// Append adds one leaf hash.
func (b *Builder) Append(leafHash [HashSize]byte) {
	if b.rng == nil {
		b.rf.Hash = rfc6962.DefaultHasher.HashChildren
		b.rng = b.rf.NewEmptyRange(0)
	}
	// Append on a range that starts at 0 cannot fail: the merge path is
	// derived from the range's own size.
	_ = b.rng.Append(append([]byte(nil), leafHash[:]...), nil)
}

// Size is the number of leaves appended so far.
func (b *Builder) Size() uint64 {
	if b.rng == nil {
		return 0
	}
	return b.rng.End()
}

// Root returns the RFC 6962 root of the leaves appended so far; the empty
// tree's root is SHA-256 of the empty string.
func (b *Builder) Root() []byte {
	if b.rng == nil || b.rng.End() == 0 {
		return rfc6962.DefaultHasher.EmptyRoot()
	}
	root, err := b.rng.GetRootHash(nil)
	if err != nil {
		// Unreachable: the range always begins at 0.
		return nil
	}
	return root
}

// RootOf returns the RFC 6962 root of a list of leaf hashes.
func RootOf(leafHashes [][HashSize]byte) []byte {
	var b Builder
	for _, h := range leafHashes {
		b.Append(h)
	}
	return b.Root()
}
