package ledger

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// TilePath names one C2SP tlog-tiles resource relative to the log prefix:
// "tile/<L>/<N>[.p/<W>]" or "tile/entries/<N>[.p/<W>]".
type TilePath struct {
	// Entries is true for an entry bundle; Level is then unused.
	Entries bool
	// Level is the tile level L (0..63); its hashes sit at tree level 8L.
	Level int
	// Index is the tile index N within its level.
	Index uint64
	// Width is the number of hashes or entries: 256 for a full tile,
	// 1..255 for a partial one (".p/<W>").
	Width int
}

// ErrBadTilePath is wrapped by every ParseTilePath error.
var ErrBadTilePath = errors.New("bad tile path")

// maxTilePathLen bounds the input: "tile/entries/" plus seven index
// elements (enough for 2^64) plus ".p/255" is well under this.
const maxTilePathLen = 64

// Partial reports whether the path names a partial tile or bundle.
func (p TilePath) Partial() bool { return p.Width < TileWidth }

// String returns the canonical path, the one ParseTilePath accepts.
func (p TilePath) String() string {
	var b strings.Builder
	b.WriteString("tile/")
	if p.Entries {
		b.WriteString("entries/")
	} else {
		b.WriteString(strconv.Itoa(p.Level))
		b.WriteByte('/')
	}
	b.WriteString(encodeTileIndex(p.Index))
	if p.Partial() {
		b.WriteString(".p/")
		b.WriteString(strconv.Itoa(p.Width))
	}
	return b.String()
}

// encodeTileIndex writes N as zero-padded 3-digit elements, all but the last
// prefixed with "x": 1234067 -> "x001/x234/067".
func encodeTileIndex(n uint64) string {
	var groups []string
	for {
		groups = append(groups, fmt.Sprintf("%03d", n%1000))
		n /= 1000
		if n == 0 {
			break
		}
	}
	var b strings.Builder
	for i := len(groups) - 1; i >= 0; i-- {
		if i > 0 {
			b.WriteByte('x')
			b.WriteString(groups[i])
			b.WriteByte('/')
		} else {
			b.WriteString(groups[i])
		}
	}
	return b.String()
}

// ParseTilePath parses a tile or entry-bundle path. It accepts only the
// canonical spelling (no leading zeros in L or W, no redundant "x000"
// elements), so every resource has exactly one URL and caches cannot be
// split or poisoned with aliases. It never panics.
func ParseTilePath(path string) (TilePath, error) {
	bad := func(why string) (TilePath, error) {
		return TilePath{}, fmt.Errorf("%w %q: %s", ErrBadTilePath, truncate(path), why)
	}
	if len(path) > maxTilePathLen {
		return bad("too long")
	}
	rest, ok := strings.CutPrefix(path, "tile/")
	if !ok {
		return bad(`does not start with "tile/"`)
	}
	var p TilePath
	p.Width = TileWidth
	level, rest, ok := strings.Cut(rest, "/")
	if !ok {
		return bad("no tile index")
	}
	if level == "entries" {
		p.Entries = true
	} else {
		l, err := parseSmallDecimal(level, 0, 63)
		if err != nil {
			return bad("level " + err.Error())
		}
		p.Level = l
	}
	index, width, partial := strings.Cut(rest, ".p/")
	if partial {
		w, err := parseSmallDecimal(width, 1, TileWidth-1)
		if err != nil {
			return bad("width " + err.Error())
		}
		p.Width = w
	}
	elems := strings.Split(index, "/")
	var n uint64
	for i, e := range elems {
		last := i == len(elems)-1
		if !last {
			var ok bool
			if e, ok = strings.CutPrefix(e, "x"); !ok {
				return bad("index element without x prefix before the last")
			}
		}
		if len(e) != 3 || !allDigits(e) {
			return bad("index element is not three digits")
		}
		d, _ := strconv.ParseUint(e, 10, 64) // three digits always parse
		if n > (^uint64(0)-d)/1000 {
			return bad("index overflows 64 bits")
		}
		n = n*1000 + d
	}
	p.Index = n
	// Reject non-canonical spellings such as "x000/001".
	if p.String() != path {
		return bad("not in canonical form")
	}
	return p, nil
}

// parseSmallDecimal parses a decimal in [lo, hi] with no sign and no
// leading zeros.
func parseSmallDecimal(s string, lo, hi int) (int, error) {
	if s == "" || len(s) > 3 || !allDigits(s) || (len(s) > 1 && s[0] == '0') {
		return 0, errors.New("is not a plain decimal")
	}
	v, _ := strconv.Atoi(s)
	if v < lo || v > hi {
		return 0, fmt.Errorf("%d outside %d..%d", v, lo, hi)
	}
	return v, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// truncate keeps hostile input from bloating error messages and logs.
func truncate(s string) string {
	if len(s) > maxTilePathLen {
		return s[:maxTilePathLen] + "..."
	}
	return s
}
