package detect

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	ac "github.com/petar-dambovaliev/aho-corasick"
)

// referenceFind is how a lexicon was matched before the shared trie: its
// own leftmost-longest, whole-word Aho-Corasick automaton (the library),
// run over the text normalised by this lexicon alone. It is the oracle the
// trie is checked against.
func referenceFind(automata map[*Compiled]ac.AhoCorasick, c *Compiled, text string) []Finding {
	m, ok := automata[c]
	if !ok {
		b := ac.NewAhoCorasickBuilder(ac.Opts{AsciiCaseInsensitive: true, MatchOnlyWholeWords: true,
			MatchKind: ac.LeftMostLongestMatch, DFA: true})
		m = b.Build(c.patterns)
		automata[c] = m
	}
	norm, offs, words := normaliseWithMap(text)
	var hits []hit
	for _, x := range m.FindAll(norm) {
		hits = append(hits, hit{pattern: x.Pattern(), start: offs[x.Start()], end: offs[x.End()-1] + 1, word: words[x.Start()]})
	}
	return c.findings(text, hits, nil)
}

// normaliseWithMap lower-cases ASCII and collapses whitespace runs to one
// space, returning for every byte of the result the offset of the byte it
// came from and the index of the word it is in: the text the reference
// automaton runs on.
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

// randomLexicons are lexicons over a small vocabulary, so that phrases
// overlap, nest, share prefixes and occur inside other words.
func randomLexicons(rng *rand.Rand, vocab []string) []*Compiled {
	phrase := func() string {
		n := 1 + rng.IntN(3)
		var ws []string
		for range n {
			ws = append(ws, vocab[rng.IntN(len(vocab))])
		}
		return strings.Join(ws, []string{" ", "  ", "\t", " \n"}[rng.IntN(4)])
	}
	var out []*Compiled
	for i := range 1 + rng.IntN(4) {
		spec := LexiconSpec{Name: "l" + string(rune('a'+i)), NegationWindow: rng.IntN(4)}
		for range 1 + rng.IntN(8) {
			spec.Terms = append(spec.Terms, phrase())
		}
		for range rng.IntN(3) {
			spec.Near = append(spec.Near, NearSpec{A: phrase(), B: phrase(), Within: 1 + rng.IntN(5)})
		}
		for range rng.IntN(3) {
			spec.Negations = append(spec.Negations, vocab[rng.IntN(len(vocab))])
		}
		if rng.IntN(5) == 0 {
			spec.Confirm = "(?i)" + vocab[rng.IntN(len(vocab))]
		}
		c, err := Compile(spec)
		if err != nil {
			panic(err)
		}
		out = append(out, c)
	}
	return out
}

// TestScanner_FindsWhatEachLexiconsAutomatonFound checks the shared trie
// against the per-lexicon automata it replaced, on random lexicons and
// texts built to hit the corner cases: phrases inside words, a longer
// phrase ending inside a word and hiding a shorter one, negations, case,
// runs of whitespace, punctuation and non-ASCII bytes at word edges.
func TestScanner_FindsWhatEachLexiconsAutomatonFound(t *testing.T) {
	vocab := []string{"a", "ab", "abc", "b", "ba", "not", "no", "nothing", "can't", "cannot", "don't", "x-y", "x",
		"guarantee", "guaranteed", "return", "returns", "risk", "free", "é", "naïve", "µ", "1", "12"}
	seps := []string{" ", " ", " ", "  ", "\t", "\n", "\r\n", " \t ", "\v", ", ", ". ", "!", "?", "(", ")", "'", "-", "", "é", "ª", "\u00a0", "2"}
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := range 600 {
		lexicons := randomLexicons(rng, vocab)
		automata := map[*Compiled]ac.AhoCorasick{}
		sc, err := NewScanner(Options{Detectors: []string{"none"}, Lexicons: lexicons})
		if err != nil {
			t.Fatal(err)
		}
		for range 10 {
			var b strings.Builder
			if rng.IntN(4) == 0 {
				b.WriteString(seps[rng.IntN(len(seps))])
			}
			for range rng.IntN(30) {
				w := vocab[rng.IntN(len(vocab))]
				if rng.IntN(4) == 0 {
					w = strings.ToUpper(w)
				}
				b.WriteString(w)
				b.WriteString(seps[rng.IntN(len(seps))])
			}
			text := b.String()
			var want []Finding
			for _, c := range lexicons {
				want = append(want, referenceFind(automata, c, text)...)
			}
			sortFindings(want)
			got := sc.Scan(text)
			if !slices.Equal(got, want) {
				t.Fatalf("iteration %d: text %q\nscanner %+v\nreference %+v", iter, text, got, want)
			}
			if got := Scan(text, Options{Detectors: []string{"none"}, Lexicons: lexicons}); !slices.Equal(got, want) {
				t.Fatalf("iteration %d: text %q\nScan %+v\nreference %+v", iter, text, got, want)
			}
			for _, c := range lexicons {
				if got, want := c.Find(text), referenceFind(automata, c, text); !slices.Equal(got, want) {
					t.Fatalf("iteration %d: %s on %q\nFind %+v\nreference %+v", iter, c.Name(), text, got, want)
				}
			}
		}
	}
}

// referenceDigitRuns is how digit runs were found before the detectors
// shared one pass: the runs of each separator set found on their own.
func referenceDigitRuns(text, seps string) []digitRun {
	var out []digitRun
	i := 0
	for i < len(text) {
		if !isDigit(text[i]) {
			i++
			continue
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
		out = append(out, r)
	}
	return out
}

// TestNumbers_OnePassFindsWhatEachDetectorFound checks the shared pass of
// the card, SSN and routing number detectors against each detector run
// over its own digit runs, on random digits, separators and context words.
func TestNumbers_OnePassFindsWhatEachDetectorFound(t *testing.T) {
	pieces := []string{"4111", "1111", "021000021", "123", "45", "6789", "0", "9", "5555", "4444", "12", "-", " ", "  ",
		"--", "SSN ", "routing ", "aba ", "x", ".", "\n", "011000015", "123456789"}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		var b strings.Builder
		for range rng.IntN(12) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		text := b.String()
		var wantC, wantS, wantA []Finding
		for _, r := range referenceDigitRuns(text, " -") {
			if f, ok := cardAt(text, r); ok {
				wantC = append(wantC, f)
			}
			if f, ok := ssnAt(text, r); ok {
				wantS = append(wantS, f)
			}
		}
		for _, r := range referenceDigitRuns(text, "") {
			if f, ok := abaAt(text, r); ok {
				wantA = append(wantA, f)
			}
		}
		c, s, a := numbers(text, true, true, true)
		if !slices.Equal(c, wantC) || !slices.Equal(s, wantS) || !slices.Equal(a, wantA) {
			t.Fatalf("%q: cards %v ssns %v routing %v, want %v %v %v", text, c, s, a, wantC, wantS, wantA)
		}
	}
}

// TestNextDigit_FindsEveryDigit checks the eight-bytes-at-a-time search
// against a byte-by-byte one, on every byte value next to every digit.
func TestNextDigit_FindsEveryDigit(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for range 100000 {
		b := make([]byte, rng.IntN(40))
		for i := range b {
			b[i] = byte(rng.IntN(256))
			if rng.IntN(8) != 0 && isDigit(b[i]) {
				b[i] = 'x'
			}
		}
		text := string(b)
		from := 0
		if len(text) > 0 {
			from = rng.IntN(len(text) + 1)
		}
		want := len(text)
		for i := from; i < len(text); i++ {
			if isDigit(text[i]) {
				want = i
				break
			}
		}
		if got := nextDigit(text, from); got != want {
			t.Fatalf("nextDigit(%q, %d) = %d, want %d", text, from, got, want)
		}
	}
}

// TestMatcher_RefusesATrieTooLargeToIndex lowers the limit the int32
// tables impose, and checks that a lexicon (and a set of lexicons) whose
// trie would pass it is refused with an error instead of being indexed
// wrongly, at each of the three tables.
func TestMatcher_RefusesATrieTooLargeToIndex(t *testing.T) {
	defer func(n int) { maxTrieCells = n }(maxTrieCells)
	spec := func(name string, terms ...string) LexiconSpec { return LexiconSpec{Name: name, Terms: terms} }
	cases := []struct {
		name  string
		limit int
		specs []LexiconSpec
		ok    bool
	}{
		{"fits", 64, []LexiconSpec{spec("a", "front run", "wash trade")}, true},
		{"nodes", 8, []LexiconSpec{spec("a", "front running")}, false},
		// Two branching nodes of (classes+1) cells each: "ab"/"ac" at the
		// root's child, "xy"/"xz" another.
		{"rows", 12, []LexiconSpec{spec("a", "ab", "ac", "xy", "xz")}, false},
		{"set", 12, []LexiconSpec{spec("a", "abc"), spec("b", "abd"), spec("c", "xyz")}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			maxTrieCells = 1 << 30
			var lexicons []*Compiled
			for _, s := range tc.specs {
				c, err := Compile(s)
				if err != nil {
					t.Fatal(err)
				}
				lexicons = append(lexicons, c)
			}
			maxTrieCells = tc.limit
			_, err := NewScanner(Options{Lexicons: lexicons})
			if tc.ok != (err == nil) {
				t.Fatalf("NewScanner: err = %v, want ok %v", err, tc.ok)
			}
			if !tc.ok && !errors.Is(err, errTrieTooLarge) {
				t.Fatalf("err = %v, want errTrieTooLarge", err)
			}
			if _, err := Compile(tc.specs[0]); tc.name != "set" && tc.ok != (err == nil) {
				t.Fatalf("Compile: err = %v, want ok %v", err, tc.ok)
			}
		})
	}
}
