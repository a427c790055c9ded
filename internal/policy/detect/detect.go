// Package detect finds sensitive data and watched language in message text:
// payment card numbers (Luhn and issuer ranges), US social security
// numbers, IBANs (ISO 13616 mod-97), ABA routing numbers (checksum), email
// addresses, phone numbers (validated with libphonenumber's metadata) and
// lexicons of literal phrases compiled into one Aho-Corasick automaton,
// with proximity and negation.
//
// Every detector works the same way: a cheap scan proposes candidates, and
// a validator (checksum, range table, metadata) decides. A finding is a
// byte span and the detector that produced it, never a copy of the text,
// so findings can be logged and recorded without leaking content.
package detect

import (
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
// position.
func Scan(text string, opts Options) []Finding {
	want := opts.Detectors
	if len(want) == 0 {
		want = Builtin
	}
	var out []Finding
	for _, d := range want {
		switch d {
		case Card:
			out = append(out, Cards(text)...)
		case SSN:
			out = append(out, SSNs(text)...)
		case IBAN:
			out = append(out, IBANs(text)...)
		case ABA:
			out = append(out, RoutingNumbers(text)...)
		case Email:
			out = append(out, Emails(text)...)
		case Phone:
			out = append(out, Phones(text, opts.Region)...)
		}
	}
	for _, l := range opts.Lexicons {
		out = append(out, l.Find(text)...)
	}
	slices.SortStableFunc(out, func(a, b Finding) int {
		if a.Start != b.Start {
			return a.Start - b.Start
		}
		return a.End - b.End
	})
	return out
}

// digitRun is a candidate number: digits possibly grouped by single
// spaces or dashes, as people type card and account numbers.
type digitRun struct {
	start, end int
	digits     string
}

// digitRuns finds maximal runs of digits joined by single separators
// from seps. A run touching a letter or another digit group on either side
// is still returned; callers check boundaries where they matter.
func digitRuns(text, seps string) []digitRun {
	var out []digitRun
	i := 0
	for i < len(text) {
		if !isDigit(text[i]) {
			i++
			continue
		}
		start := i
		var b strings.Builder
		end := i
		for i < len(text) {
			if isDigit(text[i]) {
				b.WriteByte(text[i])
				i++
				end = i
				continue
			}
			if strings.IndexByte(seps, text[i]) >= 0 && i+1 < len(text) && isDigit(text[i+1]) {
				i++
				continue
			}
			break
		}
		out = append(out, digitRun{start, end, b.String()})
	}
	return out
}

func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
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
