package transcript

import (
	_ "embed"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode"
)

// The PDF embeds DejaVu Sans Condensed (font/LICENSE): fpdf's core fonts
// encode cp1252 only, which cannot show the names and text of a
// multilingual archive (Cyrillic, Greek, Arabic, Hebrew, Latin with
// diacritics, arrows, many symbols all work with DejaVu). The font is
// compiled into the binary rather than read from /usr/share/fonts so
// that a transcript comes out the same on every machine; fpdf embeds
// only the subset of glyphs a document uses.
//
//go:embed font/DejaVuSansCondensed.ttf
var fontRegular []byte

//go:embed font/DejaVuSansCondensed-Bold.ttf
var fontBold []byte

// coverage is the set of runes both embedded fonts can draw.
type coverage [0x10000 / 64]uint64

func (c *coverage) has(r rune) bool {
	return r >= 0 && r < 0x10000 && c[r/64]&(1<<(r%64)) != 0
}

var fontCoverage = sync.OnceValues(func() (*coverage, error) {
	reg, err := cmapCoverage(fontRegular)
	if err != nil {
		return nil, fmt.Errorf("read embedded font DejaVuSansCondensed: %w", err)
	}
	bold, err := cmapCoverage(fontBold)
	if err != nil {
		return nil, fmt.Errorf("read embedded font DejaVuSansCondensed-Bold: %w", err)
	}
	for i := range reg {
		reg[i] &= bold[i]
	}
	return reg, nil
})

// cmapCoverage reads which runes a TrueType font maps to a glyph, from the
// Unicode BMP subtable (format 4) of its cmap: the same subtable fpdf
// uses, so a rune reported here is one fpdf can draw. fpdf does not read
// the supplementary planes at all, which is why every emoji above U+FFFF
// is reported as missing.
func cmapCoverage(ttf []byte) (*coverage, error) {
	errShort := errors.New("truncated font file")
	u16 := func(off int) (int, error) {
		if off < 0 || off+2 > len(ttf) {
			return 0, errShort
		}
		return int(binary.BigEndian.Uint16(ttf[off:])), nil
	}
	u32 := func(off int) (int, error) {
		if off < 0 || off+4 > len(ttf) {
			return 0, errShort
		}
		return int(binary.BigEndian.Uint32(ttf[off:])), nil
	}
	numTables, err := u16(4)
	if err != nil {
		return nil, err
	}
	cmap := -1
	for i := range numTables {
		rec := 12 + 16*i
		if rec+16 > len(ttf) {
			return nil, errShort
		}
		if string(ttf[rec:rec+4]) == "cmap" {
			if cmap, err = u32(rec + 8); err != nil {
				return nil, err
			}
		}
	}
	if cmap < 0 {
		return nil, errors.New("no cmap table")
	}
	n, err := u16(cmap + 2)
	if err != nil {
		return nil, err
	}
	sub := -1
	for i := range n {
		rec := cmap + 4 + 8*i
		platform, err1 := u16(rec)
		encoding, err2 := u16(rec + 2)
		off, err3 := u32(rec + 4)
		format, err4 := u16(cmap + off)
		if err := errors.Join(err1, err2, err3, err4); err != nil {
			return nil, err
		}
		if (platform == 3 && encoding == 1 || platform == 0) && format == 4 {
			sub = cmap + off
			break
		}
	}
	if sub < 0 {
		return nil, errors.New("no Unicode BMP (format 4) cmap subtable")
	}
	segX2, err := u16(sub + 6)
	if err != nil {
		return nil, err
	}
	ends, starts := sub+14, sub+16+segX2
	deltas, rangeOffs := starts+segX2, starts+2*segX2
	cov := new(coverage)
	for i := 0; i < segX2; i += 2 {
		end, err1 := u16(ends + i)
		start, err2 := u16(starts + i)
		delta, err3 := u16(deltas + i)
		ro, err4 := u16(rangeOffs + i)
		if err := errors.Join(err1, err2, err3, err4); err != nil {
			return nil, err
		}
		for c := start; c <= end && c < 0xFFFF; c++ {
			g := 0
			if ro == 0 {
				g = (c + delta) & 0xFFFF
			} else {
				// idRangeOffset is relative to its own position, as the
				// TrueType specification defines it.
				if g, err = u16(rangeOffs + i + ro + 2*(c-start)); err != nil {
					return nil, err
				}
				if g != 0 {
					g = (g + delta) & 0xFFFF
				}
			}
			if g != 0 {
				cov[c/64] |= 1 << (c % 64)
			}
		}
	}
	return cov, nil
}

// pdfText makes s drawable with the embedded font without losing what it
// said. A rune the font has no glyph for (emoji, CJK, anything above
// U+FFFF, control characters) is written as its code point in brackets,
// "[U+1F44D]"; the runes of one emoji sequence (joined by U+200D, with
// skin-tone modifiers, or a flag's two regional indicators) are kept
// together in one bracket, "[U+1F468 U+200D U+1F469]". Variation selectors
// only choose between text and emoji presentation and are dropped when
// the font lacks them; tabs become spaces, and line breaks are kept.
func pdfText(cov *coverage, s string) string {
	var b strings.Builder
	var pending []rune
	flush := func() {
		if len(pending) == 0 {
			return
		}
		b.WriteByte('[')
		for i, r := range pending {
			if i > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "U+%04X", r)
		}
		b.WriteByte(']')
		pending = pending[:0]
	}
	rs := []rune(s)
	for i, r := range rs {
		joined := i > 0 && rs[i-1] == 0x200D && len(pending) > 0
		switch {
		case r == '\n':
			flush()
			b.WriteByte('\n')
		case r == '\r':
			flush()
			if i+1 >= len(rs) || rs[i+1] != '\n' {
				b.WriteByte('\n')
			}
		case r == '\t':
			flush()
			b.WriteString("    ")
		case unicode.Is(unicode.Variation_Selector, r) && (len(pending) > 0 || !cov.has(r)):
			// Presentation only: nothing to show, nothing lost.
		case len(pending) > 0 && (joined || modifier(r) || (regional(r) && len(pending) == 1 && regional(pending[0]))):
			pending = append(pending, r)
		case cov.has(r) && !unicode.IsControl(r):
			flush()
			b.WriteRune(r)
		default:
			flush()
			pending = append(pending, r)
		}
	}
	flush()
	return b.String()
}

// modifier reports whether r only modifies the rune before it within an
// emoji sequence: the zero-width joiner, skin tones, tag characters and
// the keycap.
func modifier(r rune) bool {
	return r == 0x200D || r == 0x20E3 || (r >= 0x1F3FB && r <= 0x1F3FF) || (r >= 0xE0020 && r <= 0xE007F)
}

func regional(r rune) bool { return r >= 0x1F1E6 && r <= 0x1F1FF }
