package search

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/onrecord/onrecord"
)

// Limits that keep a hostile query from costing more than a useful one.
const (
	MaxQueryBytes = 4096
	maxDepth      = 32
)

// Error is a query that cannot be parsed. Column is 1-based and counts
// characters, so a UI can point at the place.
type Error struct {
	Offset int // byte offset in the input
	Column int
	Msg    string
}

func (e *Error) Error() string { return fmt.Sprintf("search query, column %d: %s", e.Column, e.Msg) }

// Fields lists the field names the language knows, for help texts.
var Fields = []string{"from", "to", "participant", "channel", "conversation", "direction", "kind", "has", "before", "after", "on", "custodian", "flag"}

// Parse reads a query. Dates are read as days in loc (UTC when nil).
//
// The language: words match words anywhere in the text (body, attachment
// names, sender and recipient names); "quoted phrases" match those words
// in that order; word* matches words starting with word. Terms side by
// side must all match (AND); OR between terms means either; NOT or a
// leading - excludes; parentheses group. NOT binds tightest, then AND,
// then OR, so `a b OR c` is `(a AND b) OR c`. Operators are upper case;
// lower-case and/or/not are words. field:value filters on metadata (see
// Fields); a value with spaces is quoted: from:"Ana Lima".
func Parse(input string, loc *time.Location) (Query, error) {
	if loc == nil {
		loc = time.UTC
	}
	if len(input) > MaxQueryBytes {
		return Query{}, &Error{Offset: MaxQueryBytes, Column: 1, Msg: fmt.Sprintf("query is longer than %d bytes", MaxQueryBytes)}
	}
	if !utf8.ValidString(input) {
		off := 0
		for off < len(input) {
			r, n := utf8.DecodeRuneInString(input[off:])
			if r == utf8.RuneError && n == 1 {
				break
			}
			off += n
		}
		return Query{}, errAt(input, off, "query is not valid UTF-8")
	}
	toks, err := lex(input)
	if err != nil {
		return Query{}, err
	}
	p := &parser{in: input, toks: toks}
	if len(toks) == 0 {
		return Query{}, errAt(input, 0, "query is empty")
	}
	root, err := p.parseOr(0)
	if err != nil {
		return Query{}, err
	}
	if t := p.peek(); t.kind != tEOF {
		// Only a stray ) can stop parseOr before the end.
		return Query{}, errAt(input, t.off, "unexpected ) with no ( before it")
	}
	return Query{Root: root, Location: loc}, nil
}

func errAt(in string, off int, format string, args ...any) *Error {
	off = min(off, len(in))
	return &Error{Offset: off, Column: utf8.RuneCountInString(in[:off]) + 1, Msg: fmt.Sprintf(format, args...)}
}

type tokKind int

const (
	tEOF tokKind = iota
	tLParen
	tRParen
	tMinus
	tAnd
	tOr
	tNot
	tWord
	tPhrase
	tField
)

type token struct {
	kind  tokKind
	off   int
	text  string // word, phrase text, or field value
	name  string // field name
	vOff  int    // offset of a field's value
	quote bool   // field value was quoted
}

func isSpace(r rune) bool { return unicode.IsSpace(r) }

func isWordEnd(r rune) bool { return isSpace(r) || r == '(' || r == ')' || r == '"' }

// isTokenRune says whether the full-text tokenizer keeps r: letters and
// digits (and private-use characters, as SQLite's unicode61 does).
func isTokenRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.Is(unicode.Co, r)
}

func isASCIILetters(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return s != ""
}

var dateFields = map[string]DateOp{"before": Before, "after": After, "on": On}

func knownField(name string) bool {
	if _, ok := dateFields[name]; ok {
		return true
	}
	switch FieldName(name) {
	case FieldFrom, FieldTo, FieldParticipant, FieldChannel, FieldConversation, FieldDirection, FieldKind, FieldHas, FieldCustodian, FieldFlag:
		return true
	}
	return false
}

func lex(in string) ([]token, error) {
	var toks []token
	i := 0
	// quoted reads a "..." starting at i and returns its text and the
	// offset after the closing quote.
	quoted := func(i int) (string, int, error) {
		end := strings.IndexByte(in[i+1:], '"')
		if end < 0 {
			return "", 0, errAt(in, i, `unterminated quote: add the closing "`)
		}
		return in[i+1 : i+1+end], i + 2 + end, nil
	}
	for i < len(in) {
		r, n := utf8.DecodeRuneInString(in[i:])
		switch {
		case isSpace(r):
			i += n
		case r == '(':
			toks = append(toks, token{kind: tLParen, off: i})
			i++
		case r == ')':
			toks = append(toks, token{kind: tRParen, off: i})
			i++
		case r == '-':
			next, _ := utf8.DecodeRuneInString(in[i+1:])
			if i+1 >= len(in) || isSpace(next) || next == ')' {
				return nil, errAt(in, i, "- must be followed by what to exclude, as in -word")
			}
			toks = append(toks, token{kind: tMinus, off: i})
			i++
		case r == '"':
			text, end, err := quoted(i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{kind: tPhrase, off: i, text: text})
			i = end
		default:
			start := i
			for i < len(in) {
				r, n := utf8.DecodeRuneInString(in[i:])
				if isWordEnd(r) {
					break
				}
				i += n
			}
			word := in[start:i]
			switch word {
			case "AND":
				toks = append(toks, token{kind: tAnd, off: start})
				continue
			case "OR":
				toks = append(toks, token{kind: tOr, off: start})
				continue
			case "NOT":
				toks = append(toks, token{kind: tNot, off: start})
				continue
			}
			colon := strings.IndexByte(word, ':')
			if colon < 0 || !isASCIILetters(word[:colon]) {
				toks = append(toks, token{kind: tWord, off: start, text: word})
				continue
			}
			name := strings.ToLower(word[:colon])
			if !knownField(name) {
				return nil, errAt(in, start, "unknown field %q (fields are %s; to search for the text itself, put it in quotes)",
					word[:colon], strings.Join(Fields, ", "))
			}
			t := token{kind: tField, off: start, name: name, text: word[colon+1:], vOff: start + colon + 1}
			if t.text == "" {
				if i < len(in) && in[i] == '"' {
					text, end, err := quoted(i)
					if err != nil {
						return nil, err
					}
					t.text, t.quote, i = text, true, end
				}
			}
			toks = append(toks, t)
		}
	}
	return toks, nil
}

type parser struct {
	in   string
	toks []token
	pos  int
}

func (p *parser) peek() token {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return token{kind: tEOF, off: len(p.in)}
}

func (p *parser) next() token {
	t := p.peek()
	if p.pos < len(p.toks) {
		p.pos++
	}
	return t
}

// startsTerm says whether t can begin an operand.
func startsTerm(t token) bool {
	switch t.kind {
	case tLParen, tMinus, tNot, tWord, tPhrase, tField:
		return true
	}
	return false
}

func opName(k tokKind) string {
	switch k {
	case tAnd:
		return "AND"
	case tOr:
		return "OR"
	case tNot:
		return "NOT"
	}
	return "-"
}

func (p *parser) parseOr(depth int) (Node, error) {
	first, err := p.parseAnd(depth)
	if err != nil {
		return nil, err
	}
	nodes := []Node{first}
	for p.peek().kind == tOr {
		op := p.next()
		if !startsTerm(p.peek()) {
			return nil, errAt(p.in, op.off, "OR must be followed by a term")
		}
		n, err := p.parseAnd(depth)
		if err != nil {
			return nil, err
		}
		nodes = append(nodes, n)
	}
	return join(nodes, false), nil
}

func (p *parser) parseAnd(depth int) (Node, error) {
	var nodes []Node
	for {
		t := p.peek()
		switch t.kind {
		case tEOF, tRParen, tOr:
			if len(nodes) == 0 {
				return nil, p.missingOperand(t)
			}
			return join(nodes, true), nil
		case tAnd:
			if len(nodes) == 0 {
				return nil, errAt(p.in, t.off, "AND must have a term before it")
			}
			p.next()
			if !startsTerm(p.peek()) {
				return nil, errAt(p.in, t.off, "AND must be followed by a term")
			}
		}
		n, err := p.parseUnary(depth)
		if err != nil {
			return nil, err
		}
		nodes = append(nodes, n)
	}
}

// missingOperand explains why there is no term where one was needed.
func (p *parser) missingOperand(t token) error {
	switch t.kind {
	case tOr:
		return errAt(p.in, t.off, "OR must have a term before it")
	case tRParen:
		if p.pos > 0 && p.toks[p.pos-1].kind == tLParen {
			return errAt(p.in, p.toks[p.pos-1].off, "empty parentheses")
		}
		return errAt(p.in, t.off, "unexpected ) with no ( before it")
	}
	return errAt(p.in, t.off, "query ends where a term was expected")
}

func (p *parser) parseUnary(depth int) (Node, error) {
	t := p.peek()
	if t.kind == tNot || t.kind == tMinus {
		p.next()
		if !startsTerm(p.peek()) {
			return nil, errAt(p.in, t.off, "%s must be followed by what to exclude", opName(t.kind))
		}
		// The chain of NOTs is bounded by MaxQueryBytes; only
		// parentheses count towards maxDepth.
		n, err := p.parseUnary(depth)
		if err != nil {
			return nil, err
		}
		return &Not{Node: n}, nil
	}
	return p.parsePrimary(depth)
}

func (p *parser) parsePrimary(depth int) (Node, error) {
	t := p.next()
	switch t.kind {
	case tLParen:
		if depth >= maxDepth {
			return nil, errAt(p.in, t.off, "parentheses nested more than %d deep", maxDepth)
		}
		if p.peek().kind == tRParen {
			return nil, errAt(p.in, t.off, "empty parentheses")
		}
		n, err := p.parseOr(depth + 1)
		if err != nil {
			return nil, err
		}
		if p.next().kind != tRParen {
			return nil, errAt(p.in, t.off, "unclosed parenthesis: add the )")
		}
		return n, nil
	case tPhrase:
		if !strings.ContainsFunc(t.text, isTokenRune) {
			return nil, errAt(p.in, t.off, "phrase %q has no letters or digits to search for", t.text)
		}
		return &Phrase{Text: t.text}, nil
	case tWord:
		return p.term(t)
	case tField:
		return p.field(t)
	}
	return nil, p.missingOperand(t)
}

func (p *parser) term(t token) (Node, error) {
	text, prefix := strings.CutSuffix(t.text, "*")
	if i := strings.IndexByte(text, '*'); i >= 0 {
		return nil, errAt(p.in, t.off+i, "* may only end a word, as in invoic*")
	}
	if !strings.ContainsFunc(text, isTokenRune) {
		return nil, errAt(p.in, t.off, "%q has no letters or digits to search for", t.text)
	}
	return &Term{Text: text, Prefix: prefix}, nil
}

func (p *parser) field(t token) (Node, error) {
	v := t.text
	if v == "" {
		return nil, errAt(p.in, t.off, "%s: needs a value, as in %s", t.name, example(t.name))
	}
	if !t.quote && strings.Contains(v, "*") {
		return nil, errAt(p.in, t.vOff, "%s: does not take a prefix*; give the whole value", t.name)
	}
	if op, ok := dateFields[t.name]; ok {
		d, err := time.Parse("2006-01-02", v)
		if err != nil {
			return nil, errAt(p.in, t.vOff, "%s: wants a date as YYYY-MM-DD, as in %s; %q is not one", t.name, example(t.name), v)
		}
		return &DateFilter{Op: op, Date: Date{Year: d.Year(), Month: d.Month(), Day: d.Day()}}, nil
	}
	switch name := FieldName(t.name); name {
	case FieldDirection:
		switch strings.ToLower(v) {
		case "inbound", "in":
			v = string(onrecord.Inbound)
		case "outbound", "out":
			v = string(onrecord.Outbound)
		default:
			return nil, errAt(p.in, t.vOff, "direction: is inbound or outbound, not %q", v)
		}
	case FieldKind:
		v = strings.ToLower(v)
		if !onrecord.EventKind(v).Valid() {
			return nil, errAt(p.in, t.vOff, "kind: is one of message, edit, delete, reaction, status, system, unparsed; not %q", t.text)
		}
	case FieldHas:
		switch strings.ToLower(v) {
		case "attachment", "attachments":
			v = "attachment"
		default:
			return nil, errAt(p.in, t.vOff, "has: only knows has:attachment, not %q", v)
		}
	case FieldChannel:
		v = strings.ToLower(v)
	case FieldFlag:
		v = strings.ToLower(v)
		if v != "any" && !slices.Contains(onrecord.CaptureFlags, v) {
			return nil, errAt(p.in, t.vOff, "flag: is any or one of %s; not %q", strings.Join(onrecord.CaptureFlags, ", "), t.text)
		}
	}
	return &Field{Name: FieldName(t.name), Value: v}, nil
}

func example(name string) string {
	switch name {
	case "before", "after", "on":
		return name + ":2024-03-01"
	case "direction":
		return "direction:inbound"
	case "kind":
		return "kind:message"
	case "has":
		return "has:attachment"
	case "channel":
		return "channel:whatsapp"
	}
	return name + `:"Ana Lima"`
}

// join makes one node of several, flattening nested nodes of the same
// operator so that equal queries have equal trees.
func join(nodes []Node, and bool) Node {
	if len(nodes) == 1 {
		return nodes[0]
	}
	var flat []Node
	for _, n := range nodes {
		switch n := n.(type) {
		case *And:
			if and {
				flat = append(flat, n.Nodes...)
				continue
			}
		case *Or:
			if !and {
				flat = append(flat, n.Nodes...)
				continue
			}
		}
		flat = append(flat, n)
	}
	flat = slices.Clip(flat)
	if and {
		return &And{Nodes: flat}
	}
	return &Or{Nodes: flat}
}
