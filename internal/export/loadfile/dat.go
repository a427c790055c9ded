package loadfile

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// The Concordance DAT conventions this package writes and reads. There is
// no published standard; these are the defaults Concordance and Relativity
// use and review platforms expect, as described in, for example,
// https://www.perlmonks.org/?node_id=1007942 ("U+0014 field separator,
// U+00FE string delimiter, U+00AE newline placeholder; UTF-8 with BOM;
// records terminated by CR LF") and
// https://www.litigationsupporttipofthenight.com/single-post/2016/10/02/pilcrows-and-thorns-þ
// (columns ASCII 20 shown as ¶, quote ASCII 254 þ, newline ASCII 174 ®).
// Some secondary sources swap the roles (þ as the separator); we follow
// the two that agree with Concordance's defaults.
const (
	// FieldSep separates fields: DC4, ASCII 20, which Concordance shows as ¶.
	FieldSep = '\x14'
	// Quote encloses every field: þ, U+00FE (ASCII 254 in Windows-1252).
	Quote = 'þ'
	// Newline stands for a line break inside a value: ®, U+00AE (ASCII 174).
	Newline = '®'
	// bom starts the file: it tells review platforms the file is UTF-8,
	// without which þ and ® would be read as Windows-1252 bytes.
	bom = "\uFEFF"
)

var (
	quoteStr   = string(Quote)
	newlineStr = string(Newline)
	// toNewline maps every line break, and the placeholder, to "\n".
	toNewline = strings.NewReplacer("\r\n", "\n", "\r", "\n", newlineStr, "\n")
	// toPlaceholder maps every line break to the placeholder.
	toPlaceholder = strings.NewReplacer("\r\n", newlineStr, "\r", newlineStr, "\n", newlineStr)
)

// Canonical is value as it reads back from a DAT file: every line break
// ("\r\n", "\r", "\n") and every ® becomes "\n". The convention has no way
// to tell a ® that was in the data from one that stands for a line break,
// so a reader can only take them all as line breaks; compare ReadDAT's
// values with Canonical(original), not with the original.
func Canonical(value string) string { return toNewline.Replace(value) }

// WriteDAT writes a DAT file: BOM, the header record, then one record per
// row; every field enclosed in þ and separated by DC4 (0x14); records
// ended by CR LF; line breaks in values written as ®. A þ inside a value is
// doubled (þþ), as RFC 4180 doubles quotes: the convention defines no
// escape, and doubling is the one a reader can undo without ambiguity.
// Every row must have as many fields as the header, and every value must be
// valid UTF-8.
func WriteDAT(w io.Writer, header []string, rows [][]string) error {
	var b bytes.Buffer
	b.WriteString(bom)
	for j, v := range header {
		if !utf8.ValidString(v) {
			return fmt.Errorf("dat header field %d: %q is not valid UTF-8", j+1, v)
		}
	}
	appendRecord(&b, header)
	for i, row := range rows {
		if len(row) != len(header) {
			return fmt.Errorf("dat row %d has %d fields, the header %d", i+1, len(row), len(header))
		}
		for j, v := range row {
			if !utf8.ValidString(v) {
				return fmt.Errorf("dat row %d field %s: %q is not valid UTF-8", i+1, header[j], v)
			}
		}
		appendRecord(&b, row)
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("write dat: %w", err)
	}
	return nil
}

func appendRecord(b *bytes.Buffer, fields []string) {
	for i, v := range fields {
		if i > 0 {
			b.WriteRune(FieldSep)
		}
		b.WriteRune(Quote)
		v = toPlaceholder.Replace(v)
		b.WriteString(strings.ReplaceAll(v, quoteStr, quoteStr+quoteStr))
		b.WriteRune(Quote)
	}
	b.WriteString("\r\n")
}

// ReadDAT reads a DAT file written to the conventions above: an optional
// UTF-8 BOM; records ended by CR LF or LF (the last one may be unended);
// fields separated by DC4, each either enclosed in þ (a doubled þþ inside
// standing for one þ, line breaks and DC4 inside taken literally) or bare
// (running to the next DC4 or line end, and holding no þ). Values come back
// in Canonical form: ® and every line break as "\n". The first record is
// the header; every other record must have as many fields.
//
// It is strict, because it is used to verify productions: anything that
// does not follow the rules is an error saying where, never a guess.
func ReadDAT(r io.Reader) (header []string, rows [][]string, err error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, nil, fmt.Errorf("read dat: %w", err)
	}
	s := strings.TrimPrefix(string(data), bom)
	if !utf8.ValidString(s) {
		i := 0
		for i < len(s) {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				break
			}
			i += n
		}
		return nil, nil, fmt.Errorf("dat: not UTF-8 at byte %d (a Windows-1252 DAT must be converted first)", i+len(data)-len(s))
	}
	if s == "" {
		return nil, nil, fmt.Errorf("dat: empty file, no header record")
	}
	var records [][]string
	base := len(data) - len(s) // error positions count from the file's start
	pos := 0
	for pos < len(s) {
		rec, next, err := readRecord(s, pos, base)
		if err != nil {
			return nil, nil, fmt.Errorf("dat record %d: %w", len(records)+1, err)
		}
		records = append(records, rec)
		pos = next
	}
	header = records[0]
	if len(records) > 1 {
		rows = records[1:]
	}
	for i, row := range rows {
		if len(row) != len(header) {
			return nil, nil, fmt.Errorf("dat record %d has %d fields, the header %d", i+2, len(row), len(header))
		}
	}
	return header, rows, nil
}

// readRecord reads the record starting at s[pos:] and returns it and the
// position after its terminator.
// Byte positions in errors are pos+base.
func readRecord(s string, pos, base int) (rec []string, next int, err error) {
	for {
		var v string
		if strings.HasPrefix(s[pos:], quoteStr) {
			start := pos
			pos += len(quoteStr)
			var b strings.Builder
			for {
				i := strings.Index(s[pos:], quoteStr)
				if i < 0 {
					return nil, 0, fmt.Errorf("field %d: þ opened at byte %d is never closed", len(rec)+1, start+base)
				}
				b.WriteString(s[pos : pos+i])
				pos += i + len(quoteStr)
				if !strings.HasPrefix(s[pos:], quoteStr) {
					break
				}
				b.WriteString(quoteStr) // þþ stands for one þ
				pos += len(quoteStr)
			}
			v = b.String()
		} else {
			end := strings.IndexAny(s[pos:], "\x14\r\n")
			if end < 0 {
				end = len(s) - pos
			}
			v = s[pos : pos+end]
			if strings.Contains(v, quoteStr) {
				return nil, 0, fmt.Errorf("field %d: unenclosed value %q holds a þ", len(rec)+1, v)
			}
			pos += end
		}
		rec = append(rec, Canonical(v))
		switch {
		case pos == len(s):
			return rec, pos, nil
		case s[pos] == FieldSep:
			pos++
		case strings.HasPrefix(s[pos:], "\r\n"):
			return rec, pos + 2, nil
		case s[pos] == '\n':
			return rec, pos + 1, nil
		default:
			r, _ := utf8.DecodeRuneInString(s[pos:])
			return nil, 0, fmt.Errorf("field %d: %q at byte %d where a DC4 (0x14) or line end should follow the field", len(rec), r, pos+base)
		}
	}
}
