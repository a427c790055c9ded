// Package detect finds sensitive data and watched language in message text:
// payment card numbers (Luhn and issuer ranges), US social security
// numbers, IBANs (ISO 13616 mod-97), ABA routing numbers (checksum), email
// addresses, phone numbers (validated with libphonenumber's metadata) and
// lexicons of literal phrases, with proximity and negation. A Scanner
// puts the phrases of all its lexicons in one trie, so a message is read
// once however many lexicons a policy set has.
//
// Every detector works the same way: a cheap scan proposes candidates, and
// a validator (checksum, range table, metadata) decides. A finding is a
// byte span and the detector that produced it, never a copy of the text,
// so findings can be logged and recorded without leaking content.
package detect

import (
	"iter"
	"slices"
	"strings"
)

// Finding is one match: which detector, where (byte offsets into the text,
// End exclusive), and for lexicons the entry that matched.
type Finding struct {
	Detector string `json:"detector"`
	Start    int    `json:"start"`
	End      int    `json:"end"`
	// Entry names the lexicon term or rule that matched.
	Entry string `json:"entry,omitempty"`
	// Lexicon is the lexicon's name for lexicon findings.
	Lexicon string `json:"lexicon,omitempty"`
}

// Detector names.
const (
	Card    = "payment_card"
	SSN     = "us_ssn"
	IBAN    = "iban"
	ABA     = "aba_routing"
	Email   = "email"
	Phone   = "phone"
	Lexicon = "lexicon"
)

// Builtin are the names of the built-in detectors, in the order Scan runs
// them.
var Builtin = []string{Card, SSN, IBAN, ABA, Email, Phone}

// Options tune Scan.
type Options struct {
	// Detectors limits Scan to these built-in detectors (default: all).
	Detectors []string
	// Region is the default region for phone numbers without a country
	// code (default "US").
	Region string
	// Lexicons are matched too.
	Lexicons []*Compiled
}

// Scan runs the detectors over text and returns the findings ordered by
// position. A caller that scans many texts with the same options should
// build a Scanner once instead.
func Scan(text string, opts Options) []Finding {
	out := scanBuiltin(text, opts)
	if len(opts.Lexicons) > 0 {
		s := getScratch(1)
		for _, l := range opts.Lexicons {
			s.hits[0] = s.hits[0][:0]
			l.matcher.match(text, s)
			out = l.findings(text, s.hits[0], out)
		}
		putScratch(s)
	}
	sortFindings(out)
	return out
}

// Scanner is Scan with its options prepared: the phrases of every
// lexicon in one trie, so a message is read once however
// many lexicons there are. It is safe for concurrent use.
type Scanner struct {
	opts    Options
	matcher *matcher
}

// NewScanner prepares opts for Scan. It fails only when the lexicons
// together are too large to match in one pass.
func NewScanner(opts Options) (*Scanner, error) {
	s := &Scanner{opts: opts}
	if len(opts.Lexicons) > 0 {
		m, err := newMatcher(opts.Lexicons)
		if err != nil {
			return nil, err
		}
		s.matcher = m
	}
	return s, nil
}

// Scan is Scan(text, opts) with the scanner's options: the same findings
// in the same order.
func (sc *Scanner) Scan(text string) []Finding {
	out := scanBuiltin(text, sc.opts)
	if sc.matcher != nil {
		s := getScratch(sc.matcher.slots)
		sc.matcher.match(text, s)
		for i, l := range sc.opts.Lexicons {
			out = l.findings(text, s.hits[i], out)
		}
		putScratch(s)
	}
	sortFindings(out)
	return out
}

// scanBuiltin runs the built-in detectors opts asks for, in Builtin order
// of the request.
func scanBuiltin(text string, opts Options) []Finding {
	want := opts.Detectors
	if len(want) == 0 {
		want = Builtin
	}
	// Cards, SSNs and routing numbers share one pass over the digits.
	cards, ssns, abas := numbers(text, slices.Contains(want, Card), slices.Contains(want, SSN), slices.Contains(want, ABA))
	var out []Finding
	for _, d := range want {
		switch d {
		case Card:
			out = append(out, cards...)
		case SSN:
			out = append(out, ssns...)
		case IBAN:
			out = append(out, IBANs(text)...)
		case ABA:
			out = append(out, abas...)
		case Email:
			out = append(out, Emails(text)...)
		case Phone:
			out = append(out, Phones(text, opts.Region)...)
		}
	}
	return out
}

func sortFindings(out []Finding) {
	slices.SortStableFunc(out, func(a, b Finding) int {
		if a.Start != b.Start {
			return a.Start - b.Start
		}
		return a.End - b.End
	})
}

// digitRun is a candidate number: digits possibly grouped by single
// spaces or dashes, as people type card and account numbers. n counts its
// digits, so that callers look at the digits only of runs of the right
// length.
type digitRun struct {
	start, end int
	n          int
}

// digits is the run without its separators.
func (r digitRun) digits(text string) string {
	if r.end-r.start == r.n {
		return text[r.start:r.end]
	}
	b := make([]byte, 0, r.n)
	for i := r.start; i < r.end; i++ {
		if isDigit(text[i]) {
			b = append(b, text[i])
		}
	}
	return string(b)
}

// digitRuns yields the maximal runs of digits joined by single separators
// from seps. A run touching a letter or another digit group on either side
// is still returned; callers check boundaries where they matter.
func digitRuns(text, seps string) iter.Seq[digitRun] {
	return func(yield func(digitRun) bool) {
		i := 0
		for i < len(text) {
			if i = nextDigit(text, i); i == len(text) {
				return
			}
			r := digitRun{start: i, end: i}
			for i < len(text) {
				if isDigit(text[i]) {
					r.n++
					i++
					r.end = i
					continue
				}
				if strings.IndexByte(seps, text[i]) >= 0 && i+1 < len(text) && isDigit(text[i+1]) {
					i++
					continue
				}
				break
			}
			if !yield(r) {
				return
			}
		}
	}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// nextDigit is the index of the first digit of text at or after i, or
// len(text). Chat is mostly letters, and the number detectors spent most
// of their time stepping over them a byte at a time, so it looks at
// eight bytes at once and steps byte by byte only where one is a digit.
func nextDigit(text string, i int) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	for ; i+8 <= len(text); i += 8 {
		x := uint64(text[i]) | uint64(text[i+1])<<8 | uint64(text[i+2])<<16 | uint64(text[i+3])<<24 |
			uint64(text[i+4])<<32 | uint64(text[i+5])<<40 | uint64(text[i+6])<<48 | uint64(text[i+7])<<56
		// Some byte is between '0'-1 and '9'+1, exclusive (Bit Twiddling
		// Hacks, "determine if a word has a byte between m and n").
		low := x & (ones * 127)
		if (ones*(127+'9'+1)-low)&^x&(low+ones*(127-('0'-1)))&highs != 0 {
			break
		}
	}
	for ; i < len(text); i++ {
		if isDigit(text[i]) {
			return i
		}
	}
	return len(text)
}
func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// boundary reports whether the span [s,e) of text is not glued to letters
// or digits on either side.
func boundary(text string, s, e int) bool {
	if s > 0 && (isDigit(text[s-1]) || isLetter(text[s-1])) {
		return false
	}
	if e < len(text) && (isDigit(text[e]) || isLetter(text[e])) {
		return false
	}
	return true
}

// near reports whether one of the words occurs within window bytes before
// position at (case-insensitive): the context that turns a bare 9-digit
// number into an SSN or a routing number.
func near(text string, at, window int, words ...string) bool {
	from := max(0, at-window)
	ctx := strings.ToLower(text[from:at])
	for _, w := range words {
		if strings.Contains(ctx, w) {
			return true
		}
	}
	return false
}
