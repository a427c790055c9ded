package detect

import (
	"fmt"
	"regexp"
	"strings"

	ac "github.com/petar-dambovaliev/aho-corasick"
)

// LexiconSpec is a lexicon as written in a policy file: literal phrases,
// phrase pairs that count only near each other, and negation cues that
// cancel a match just before it ("we do not guarantee").
type LexiconSpec struct {
	Name  string   `yaml:"name" json:"name"`
	Terms []string `yaml:"terms" json:"terms"`
	// Near pairs match when both phrases occur within Within words.
	Near []NearSpec `yaml:"near" json:"near"`
	// Negations cancel a term or pair found within NegationWindow words
	// after them (default 3).
	Negations      []string `yaml:"negations" json:"negations"`
	NegationWindow int      `yaml:"negation_window" json:"negation_window"`
	// Confirm, when set, is a regular expression a candidate's sentence must
	// also match; it runs only on the candidates the automaton found.
	Confirm string `yaml:"confirm" json:"confirm"`
}

// NearSpec is a proximity rule: A and B within Within words.
type NearSpec struct {
	A      string `yaml:"a" json:"a"`
	B      string `yaml:"b" json:"b"`
	Within int    `yaml:"within" json:"within"`
}

// Compiled is a lexicon ready to match: every phrase it mentions in one
// Aho-Corasick automaton, matched case-insensitively on whole words.
type Compiled struct {
	spec     LexiconSpec
	matcher  ac.AhoCorasick
	patterns []string
	role     []patternRole
	confirm  *regexp.Regexp
}

type patternRole struct {
	term     bool
	negation bool
}

// Compile checks a lexicon and builds its automaton.
func Compile(spec LexiconSpec) (*Compiled, error) {
	if spec.Name == "" {
		return nil, fmt.Errorf("lexicon: a name is required")
	}
	if spec.NegationWindow == 0 {
		spec.NegationWindow = 3
	}
	c := &Compiled{spec: spec}
	index := map[string]int{}
	add := func(p string) (int, error) {
		p = normalise(p)
		if p == "" {
			return 0, fmt.Errorf("lexicon %q: an empty phrase", spec.Name)
		}
		if i, ok := index[p]; ok {
			return i, nil
		}
		index[p] = len(c.patterns)
		c.patterns = append(c.patterns, p)
		c.role = append(c.role, patternRole{})
		return len(c.patterns) - 1, nil
	}
	for _, t := range spec.Terms {
		i, err := add(t)
		if err != nil {
			return nil, err
		}
		c.role[i].term = true
	}
	for _, n := range spec.Near {
		if n.Within <= 0 {
			return nil, fmt.Errorf("lexicon %q: near %q/%q: within must be a positive number of words", spec.Name, n.A, n.B)
		}
		for _, p := range []string{n.A, n.B} {
			if _, err := add(p); err != nil {
				return nil, err
			}
		}
	}
	for _, n := range spec.Negations {
		i, err := add(n)
		if err != nil {
			return nil, err
		}
		c.role[i].negation = true
	}
	if len(c.patterns) == 0 {
		return nil, fmt.Errorf("lexicon %q: no terms", spec.Name)
	}
	if spec.Confirm != "" {
		re, err := regexp.Compile(spec.Confirm)
		if err != nil {
			return nil, fmt.Errorf("lexicon %q: confirm: %w", spec.Name, err)
		}
		c.confirm = re
	}
	b := ac.NewAhoCorasickBuilder(ac.Opts{AsciiCaseInsensitive: true, MatchOnlyWholeWords: true,
		MatchKind: ac.LeftMostLongestMatch, DFA: true})
	c.matcher = b.Build(c.patterns)
	return c, nil
}

// Name is the lexicon's name.
func (c *Compiled) Name() string { return c.spec.Name }

// normalise lower-cases a phrase and collapses its whitespace, as text is
// normalised before matching.
func normalise(s string) string { return strings.Join(strings.Fields(strings.ToLower(s)), " ") }

type hit struct {
	pattern    int
	start, end int // byte offsets in the original text
	word       int // index of the first word
}

// Find returns the lexicon's findings in text.
func (c *Compiled) Find(text string) []Finding {
	norm, offs, words := normaliseWithMap(text)
	var hits []hit
	for _, m := range c.matcher.FindAll(norm) {
		hits = append(hits, hit{pattern: m.Pattern(), start: offs[m.Start()], end: offs[m.End()-1] + 1, word: words[m.Start()]})
	}
	negated := func(h hit) bool {
		for _, n := range hits {
			if c.role[n.pattern].negation && n.word < h.word && h.word-n.word <= c.spec.NegationWindow {
				return true
			}
		}
		return false
	}
	var out []Finding
	for _, h := range hits {
		if c.role[h.pattern].term && !negated(h) && c.confirmed(text, h.start, h.end) {
			out = append(out, Finding{Detector: Lexicon, Lexicon: c.spec.Name, Start: h.start, End: h.end, Entry: c.patterns[h.pattern]})
		}
	}
	for _, n := range c.spec.Near {
		a, b := normalise(n.A), normalise(n.B)
		for _, x := range hits {
			if c.patterns[x.pattern] != a || negated(x) {
				continue
			}
			for _, y := range hits {
				if c.patterns[y.pattern] != b || y.word == x.word {
					continue
				}
				if d := y.word - x.word; d <= n.Within && d >= -n.Within {
					s, e := min(x.start, y.start), max(x.end, y.end)
					if c.confirmed(text, s, e) {
						out = append(out, Finding{Detector: Lexicon, Lexicon: c.spec.Name, Start: s, End: e,
							Entry: fmt.Sprintf("%s NEAR/%d %s", a, n.Within, b)})
					}
				}
			}
		}
	}
	return out
}

// confirmed runs the lexicon's regular expression, if any, on the sentence
// around a candidate.
func (c *Compiled) confirmed(text string, s, e int) bool {
	if c.confirm == nil {
		return true
	}
	from := strings.LastIndexAny(text[:s], ".!?\n") + 1
	to := len(text)
	if i := strings.IndexAny(text[e:], ".!?\n"); i >= 0 {
		to = e + i
	}
	return c.confirm.MatchString(text[from:to])
}

// normaliseWithMap lower-cases ASCII and collapses whitespace runs to one
// space, returning for every byte of the result the offset of the byte it
// came from and the index of the word it is in.
func normaliseWithMap(text string) (string, []int, []int) {
	var b strings.Builder
	offs := make([]int, 0, len(text))
	words := make([]int, 0, len(text))
	word := -1
	inSpace := true
	for i := 0; i < len(text); i++ {
		ch := text[i]
		if ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' {
			if !inSpace {
				b.WriteByte(' ')
				offs = append(offs, i)
				words = append(words, word)
			}
			inSpace = true
			continue
		}
		if inSpace {
			word++
			inSpace = false
		}
		if ch >= 'A' && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		b.WriteByte(ch)
		offs = append(offs, i)
		words = append(words, word)
	}
	return b.String(), offs, words
}
