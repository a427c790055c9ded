package detect

import (
	"fmt"
	"regexp"
	"strings"
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
// trie, matched case-insensitively (ASCII) on whole words.
type Compiled struct {
	spec     LexiconSpec
	matcher  *matcher
	patterns []string
	role     []patternRole
	near     []nearRule
	confirm  *regexp.Regexp
}

// nearRule is a NearSpec by pattern index, with the entry its findings
// carry.
type nearRule struct {
	a, b, within int
	entry        string
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
		a, err := add(n.A)
		if err != nil {
			return nil, err
		}
		b, err := add(n.B)
		if err != nil {
			return nil, err
		}
		c.near = append(c.near, nearRule{a: a, b: b, within: n.Within,
			entry: fmt.Sprintf("%s NEAR/%d %s", c.patterns[a], n.Within, c.patterns[b])})
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
	m, err := newMatcher([]*Compiled{c})
	if err != nil {
		return nil, fmt.Errorf("lexicon %q: %w", spec.Name, err)
	}
	c.matcher = m
	return c, nil
}

// Name is the lexicon's name.
func (c *Compiled) Name() string { return c.spec.Name }

// MaxText is the length in bytes of the longest string a finding of this
// lexicon carries: its name or an entry.
func (c *Compiled) MaxText() int {
	n := len(c.spec.Name)
	for _, p := range c.patterns {
		n = max(n, len(p))
	}
	for _, r := range c.near {
		n = max(n, len(r.entry))
	}
	return n
}

// normalise lower-cases a phrase and collapses its whitespace, as text is
// normalised before matching.
func normalise(s string) string { return strings.Join(strings.Fields(strings.ToLower(s)), " ") }

// Find returns the lexicon's findings in text.
func (c *Compiled) Find(text string) []Finding {
	s := getScratch(1)
	defer putScratch(s)
	c.matcher.match(text, s)
	return c.findings(text, s.hits[0], nil)
}

// findings appends to out the lexicon's findings among its hits: terms
// not negated, then near pairs, each confirmed if the lexicon says so.
func (c *Compiled) findings(text string, hits []hit, out []Finding) []Finding {
	if len(hits) == 0 {
		return out
	}
	negated := func(h hit) bool {
		for _, n := range hits {
			if c.role[n.pattern].negation && n.word < h.word && h.word-n.word <= c.spec.NegationWindow {
				return true
			}
		}
		return false
	}
	for _, h := range hits {
		if c.role[h.pattern].term && !negated(h) && c.confirmed(text, h.start, h.end) {
			out = append(out, Finding{Detector: Lexicon, Lexicon: c.spec.Name, Start: h.start, End: h.end, Entry: c.patterns[h.pattern]})
		}
	}
	for _, n := range c.near {
		for _, x := range hits {
			if x.pattern != n.a || negated(x) {
				continue
			}
			for _, y := range hits {
				if y.pattern != n.b || y.word == x.word {
					continue
				}
				if d := y.word - x.word; d <= n.within && d >= -n.within {
					s, e := min(x.start, y.start), max(x.end, y.end)
					if c.confirmed(text, s, e) {
						out = append(out, Finding{Detector: Lexicon, Lexicon: c.spec.Name, Start: s, End: e, Entry: n.entry})
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
