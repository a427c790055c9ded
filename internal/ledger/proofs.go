package ledger

import (
	"fmt"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// InclusionProofs returns the RFC 6962 inclusion proofs of many leaves in
// the tree of one size, in the order of indexes, each as InclusionProof
// would return it.
//
// Proofs in one tree share most of their nodes: every node above the
// leaves' common ancestors appears in many of them, and a node between two
// tile levels is recomputed from up to 128 stored hashes. Here each node is
// computed once for the whole batch, and from the nodes below it that the
// batch already computed, so a batch costs about one hash per leaf under
// the touched tiles instead of a few hundred per proof. An export proves
// thousands of records against one checkpoint this way.
func (l *Ledger) InclusionProofs(indexes []uint64, size uint64) ([][][]byte, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	t := l.tree
	if size > t.size {
		return nil, fmt.Errorf("ledger: inclusion proofs in tree of size %d (current size %d): %w", size, t.size, ErrOutOfRange)
	}
	m := nodeMemo{t: t, tiles: map[tileID]*tileNodes{}}
	out := make([][][]byte, len(indexes))
	for i, index := range indexes {
		if index >= size {
			return nil, fmt.Errorf("ledger: inclusion proof of leaf %d in tree of size %d: %w", index, size, ErrOutOfRange)
		}
		nodes, err := proof.Inclusion(index, size)
		if err != nil {
			return nil, fmt.Errorf("ledger: inclusion proof of leaf %d in tree of size %d: %w", index, size, err)
		}
		hs := make([][]byte, len(nodes.IDs))
		for j, id := range nodes.IDs {
			h, err := m.hash(id.Level, id.Index)
			if err != nil {
				return nil, fmt.Errorf("ledger: %w", err)
			}
			hs[j] = h
		}
		// Rehash writes into hs only where it merges the ephemeral nodes
		// of the right border; the memoised hashes are never written to.
		p, err := nodes.Rehash(hs, rfc6962.DefaultHasher.HashChildren)
		if err != nil {
			return nil, fmt.Errorf("ledger: rehash proof of leaf %d: %w", index, err)
		}
		// Callers own their proofs: copy out of the shared memo.
		flat := make([]byte, len(p)*HashSize)
		for j, h := range p {
			n := copy(flat[j*HashSize:], h)
			p[j] = flat[j*HashSize : j*HashSize+n : j*HashSize+n]
		}
		out[i] = p
	}
	return out, nil
}

// nodeMemo computes perfect-subtree node hashes of one tree, each once.
// Nodes between two tile levels are computed a tile at a time: the first
// time a proof needs a node above tile (k, n), every complete node of
// levels 8k+1 .. 8k+7 over that tile is hashed from the tile's stored
// hashes (at most 255 hashes, what a single proof would spend on that tile
// anyway), and kept for every later proof that passes through it.
type nodeMemo struct {
	t     *tree
	tiles map[tileID]*tileNodes
}

type tileID struct {
	level int
	index uint64
}

// tileNodes are the hashes of levels 1..7 within one tile: levels[r][j] is
// node (8k+r, n<<(8-r) + j).
type tileNodes struct {
	levels [TileHeight][][HashSize]byte
}

// hash returns the hash of node (level, index), which must be complete.
// The returned slice is shared: the caller must not write to it.
func (m *nodeMemo) hash(level uint, index uint64) ([]byte, error) {
	if level >= 64 || index >= m.t.size>>level {
		return nil, fmt.Errorf("node (level %d, index %d) in tree of size %d: %w", level, index, m.t.size, ErrOutOfRange)
	}
	k, r := int(level/TileHeight), level%TileHeight
	if r == 0 {
		return m.t.slot(k, index)
	}
	id := tileID{k, index >> (TileHeight - r)}
	tn := m.tiles[id]
	if tn == nil {
		var err error
		if tn, err = m.fill(id); err != nil {
			return nil, err
		}
		m.tiles[id] = tn
	}
	return tn.levels[r][index&(TileWidth>>r-1)][:], nil
}

// fill hashes every complete node of levels 1..7 over tile id.
func (m *nodeMemo) fill(id tileID) (*tileNodes, error) {
	width := min(uint64(TileWidth), m.t.levelCount(id.level)-id.index*TileWidth)
	tile, err := m.t.tile(id.level, id.index)
	if err != nil {
		return nil, err
	}
	tn := &tileNodes{}
	below := func(r uint, j uint64) []byte {
		if r == 0 {
			return tile[j][:]
		}
		return tn.levels[r][j][:]
	}
	for r := uint(1); r < TileHeight; r++ {
		n := width >> r
		tn.levels[r] = make([][HashSize]byte, n)
		for j := range n {
			copy(tn.levels[r][j][:], rfc6962.DefaultHasher.HashChildren(below(r-1, 2*j), below(r-1, 2*j+1)))
		}
	}
	return tn, nil
}
