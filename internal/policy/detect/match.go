package detect

import (
	"errors"
	"math"
	"slices"
	"sync"
	"unicode"
)

// Lexicons are defined on normalised text: lower-cased (ASCII), every
// run of spaces, tabs and line breaks collapsed to one space, leading
// whitespace dropped. The matcher reads the original text through that
// lens instead of copying it, so it reports original offsets directly
// and one pass serves every lexicon of a set.

// folded is what a byte of text reads as in normalised text; isSpace
// marks the bytes that collapse into one space.
var folded, isSpace = func() (f [256]byte, sp [256]bool) {
	for b := range f {
		f[b] = byte(b)
	}
	for b := 'A'; b <= 'Z'; b++ {
		f[b] = byte(b) + 'a' - 'A'
	}
	for _, b := range []byte{' ', '\t', '\n', '\r'} {
		f[b], sp[b] = ' ', true
	}
	return f, sp
}()

// wordByte says which bytes glue a phrase to its neighbour. It is the
// test the Aho-Corasick library's whole-word option applied (a byte read
// as a Latin-1 rune that is a letter or a digit), kept byte for byte so
// that what matches did not change when the library was replaced.
var wordByte = func() (t [256]bool) {
	for b := range t {
		t[b] = unicode.IsLetter(rune(b)) || unicode.IsDigit(rune(b))
	}
	return t
}()

// matcher is a trie of the phrases of one or more lexicons. Matching
// follows leftmost-longest Aho-Corasick restarted after every match's
// first byte, then filtered to whole words, which is what the lexicons
// were defined with: at every position, each lexicon's longest phrase
// starting there is a candidate, kept only if it starts and ends on a word
// boundary. (A longer phrase that ends inside a word therefore hides a
// shorter one that would have matched: with "risk" and "risk free",
// "risk freely" matches neither.) Positions inside a word are skipped
// without walking the trie, since nothing starting there is kept.
type matcher struct {
	// class numbers the bytes phrases are made of, for a byte of text
	// as it reads in normalised text; 0 is a byte in no phrase.
	class   [256]uint8
	classes int
	root    [256]int32 // child of the root by byte of text; 0 is none
	nodes   []trieNode
	// rows holds, for each node with several children, a row of them
	// by class; the many nodes inside a single phrase keep their one
	// child in the node itself.
	rows  []int32
	outs  []trieOut
	slots int // lexicons
}

type trieNode struct {
	row           int32 // start of its row in rows, or -1
	only          int32 // the one child if row is -1 (0: a leaf)
	onlyClass     uint8
	outs, outsEnd int32 // phrases ending here, in outs
}

// trieOut is a phrase ending at a node: pattern of lexicon slot.
type trieOut struct {
	slot, pattern int32
}

// maxTrieCells bounds the trie's node, row and output tables: they are
// indexed by int32 to halve the cache they take. A set of lexicons that
// would need more (millions of branching phrases) is refused rather than
// indexed wrongly. Tests lower it.
var maxTrieCells = math.MaxInt32

// errTrieTooLarge is a set of lexicons whose trie exceeds maxTrieCells.
var errTrieTooLarge = errors.New("the lexicons are too large to match together (their trie would exceed 2^31 cells); split them across policy sets or remove phrases")

// newMatcher builds the trie of every pattern of every lexicon, lexicon i
// reporting as slot i.
func newMatcher(lexicons []*Compiled) (*matcher, error) {
	m := &matcher{slots: len(lexicons)}
	// Phrases are lower-cased, so A-Z never occur in them and there are
	// fewer than 255 classes.
	for _, c := range lexicons {
		for _, pat := range c.patterns {
			for i := 0; i < len(pat); i++ {
				if m.class[pat[i]] == 0 {
					m.classes++
					m.class[pat[i]] = uint8(m.classes) // #nosec G115 -- at most 230 classes: A-Z never occur in phrases
				}
			}
		}
	}
	type buildNode struct {
		kids map[uint8]int32
		outs []trieOut
	}
	nodes := []buildNode{{}}
	outs := 0
	for slot, c := range lexicons {
		for p, pat := range c.patterns {
			n := int32(0)
			for i := 0; i < len(pat); i++ {
				k := m.class[pat[i]]
				next, ok := nodes[n].kids[k]
				if !ok {
					if len(nodes) >= maxTrieCells {
						return nil, errTrieTooLarge
					}
					next = int32(len(nodes)) // #nosec G115 -- below maxTrieCells, checked above
					if nodes[n].kids == nil {
						nodes[n].kids = map[uint8]int32{}
					}
					nodes[n].kids[k] = next
					nodes = append(nodes, buildNode{})
				}
				n = next
			}
			if outs++; outs > maxTrieCells || p >= maxTrieCells {
				return nil, errTrieTooLarge
			}
			nodes[n].outs = append(nodes[n].outs, trieOut{int32(slot), int32(p)})
		}
	}
	// Number the nodes breadth first: the few near the root are the ones
	// nearly every walk visits, and kept together they stay in cache.
	order := make([]int32, 0, len(nodes))
	id := make([]int32, len(nodes))
	order = append(order, 0)
	for q := 0; q < len(order); q++ {
		bn := nodes[order[q]]
		keys := make([]uint8, 0, len(bn.kids))
		for k := range bn.kids {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			id[bn.kids[k]] = int32(len(order)) // #nosec G115 -- order holds each node once: below maxTrieCells
			order = append(order, bn.kids[k])
		}
	}
	m.nodes = make([]trieNode, len(nodes))
	for i, old := range order {
		bn := nodes[old]
		tn := &m.nodes[i]
		tn.row = -1
		switch {
		case len(bn.kids) == 1:
			for k, next := range bn.kids {
				tn.only, tn.onlyClass = id[next], k
			}
		case len(bn.kids) > 1:
			if len(m.rows) > maxTrieCells-(m.classes+1) {
				return nil, errTrieTooLarge
			}
			tn.row = int32(len(m.rows)) // #nosec G115 -- below maxTrieCells, checked above
			m.rows = append(m.rows, make([]int32, m.classes+1)...)
			for k, next := range bn.kids {
				m.rows[int(tn.row)+int(k)] = id[next]
			}
		}
		tn.outs = int32(len(m.outs)) // #nosec G115 -- at most maxTrieCells outputs, checked as they were added
		m.outs = append(m.outs, bn.outs...)
		tn.outsEnd = int32(len(m.outs)) // #nosec G115 -- as above
	}
	// Read text bytes as normalised text does: A-Z as a-z, whitespace
	// as a space.
	var class [256]uint8
	for b := range class {
		class[b] = m.class[folded[b]]
	}
	m.class = class
	for b := range m.root {
		if next, ok := nodes[0].kids[m.class[b]]; ok && m.class[b] != 0 {
			m.root[b] = id[next]
		}
	}
	return m, nil
}

// hit is a phrase found in the text.
type hit struct {
	pattern    int
	start, end int // byte offsets in the original text
	word       int // index of the first word
}

// longest is, during one walk, the longest phrase of a lexicon so far.
type longest struct {
	pattern int32
	end     int32 // in the normalised text
	walk    int32 // the walk that set it, plus one
}

// matchScratch is the per-call memory of a scan, pooled so that a scan
// allocates only the findings it returns.
type matchScratch struct {
	hits    [][]hit // by lexicon slot
	best    []longest
	touched []int32
	walk    int32 // walks so far, to tell a stale best from this walk's
}

var scratchPool = sync.Pool{New: func() any { return new(matchScratch) }}

func getScratch(slots int) *matchScratch {
	s := scratchPool.Get().(*matchScratch)
	if cap(s.hits) < slots {
		s.hits = make([][]hit, slots)
		s.best = make([]longest, slots)
	}
	s.hits, s.best = s.hits[:slots], s.best[:slots]
	for i := range s.hits {
		s.hits[i] = s.hits[i][:0]
		s.best[i] = longest{}
	}
	s.walk = 0
	return s
}

func putScratch(s *matchScratch) { scratchPool.Put(s) }

// match appends to s.hits[slot] every hit of each lexicon in text.
func (m *matcher) match(text string, s *matchScratch) {
	// Offsets are int32; no message comes near (bodies are capped far
	// lower), but a longer text is read only up to where they reach.
	text = text[:min(len(text), math.MaxInt32-1)]
	n := len(text)
	words := wordCounter{word: -1, inSpace: true}
	// start is always a byte after one that is not a word byte (or the
	// first): the only places a kept phrase can start. Whitespace has no
	// child at the root, as no phrase starts with a space.
	for start := 0; start < n; {
		c := text[start]
		if node := m.root[c]; node != 0 {
			m.walk(text, start, node, s)
			m.report(text, start, s, &words)
		}
		start++
		if wordByte[c] {
			// Nothing starts inside the word, nor just after it.
			for start < n && wordByte[text[start]] {
				start++
			}
			start++
		}
	}
}

// walk follows the trie from start, leaving in s.best the longest phrase
// of each lexicon that starts there and in s.touched their slots.
func (m *matcher) walk(text string, start int, node int32, s *matchScratch) {
	n := len(text)
	s.walk++
	walk := s.walk
	s.touched = s.touched[:0]
	last := start // the last byte read that is not whitespace
	for i := start + 1; ; {
		tn := &m.nodes[node]
		// Deeper is longer: the last phrase of a lexicon met on the way
		// is its longest from start.
		for k := tn.outs; k < tn.outsEnd; k++ {
			o := m.outs[k]
			b := &s.best[o.slot]
			if b.walk != walk {
				b.walk = walk
				s.touched = append(s.touched, o.slot)
			}
			b.pattern, b.end = o.pattern, int32(last+1) // #nosec G115 -- match reads at most math.MaxInt32 bytes
		}
		if i >= n {
			return
		}
		c := text[i]
		i++
		if isSpace[c] {
			for i < n && isSpace[text[i]] {
				i++
			}
		} else {
			last = i - 1
		}
		if node = m.next(tn, m.class[c]); node == 0 {
			return
		}
	}
}

// report turns the longest phrases of a walk from start into hits, in
// slot order so that every lexicon's hits stay in position order.
func (m *matcher) report(text string, start int, s *matchScratch, words *wordCounter) {
	if len(s.touched) > 1 {
		slices.Sort(s.touched)
	}
	for _, slot := range s.touched {
		b := s.best[slot]
		// A phrase ending inside a word is not kept either; the byte
		// after it reads as a word byte in normalised text exactly when
		// it is one in the original.
		if int(b.end) < len(text) && wordByte[text[b.end]] {
			continue
		}
		s.hits[slot] = append(s.hits[slot], hit{pattern: int(b.pattern), start: start, end: int(b.end),
			word: words.at(text, start)})
	}
}

// wordCounter numbers the words of normalised text, counted only as far
// as a hit needs: most text has none.
type wordCounter struct {
	pos, word int
	inSpace   bool
}

// at is the index of the word the byte at p (not whitespace) is in. p
// never decreases from one call to the next.
func (w *wordCounter) at(text string, p int) int {
	for ; w.pos <= p; w.pos++ {
		if isSpace[text[w.pos]] {
			w.inSpace = true
		} else if w.inSpace {
			w.word++
			w.inSpace = false
		}
	}
	return w.word
}

// next is n's child by the class of a byte of text, or 0.
func (m *matcher) next(n *trieNode, k uint8) int32 {
	switch {
	case k == 0:
		return 0
	case n.row >= 0:
		return m.rows[int(n.row)+int(k)]
	case n.onlyClass == k:
		return n.only
	}
	return 0
}
