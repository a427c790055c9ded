package detect

import (
	"encoding/json"
	"os"
	"slices"
	"testing"
)

type detectorCase struct {
	Name     string   `json:"name"`
	Detector string   `json:"detector"`
	Text     string   `json:"text"`
	Want     []string `json:"want"`
}

func spans(text string, fs []Finding) []string {
	out := []string{}
	for _, f := range fs {
		out = append(out, text[f.Start:f.End])
	}
	return out
}

func TestDetectors(t *testing.T) {
	b, err := os.ReadFile("testdata/cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []detectorCase
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			fs := Scan(tc.Text, Options{Detectors: []string{tc.Detector}})
			got := spans(tc.Text, fs)
			if !slices.Equal(got, tc.Want) {
				t.Fatalf("%s on %q = %q, want %q", tc.Detector, tc.Text, got, tc.Want)
			}
			for _, f := range fs {
				if f.Detector != tc.Detector {
					t.Errorf("finding from %s", f.Detector)
				}
			}
		})
	}
}

func TestLexicons(t *testing.T) {
	b, err := os.ReadFile("testdata/lexicons.json")
	if err != nil {
		t.Fatal(err)
	}
	var sets []struct {
		Lexicon LexiconSpec `json:"lexicon"`
		Cases   []struct {
			Text string   `json:"text"`
			Want []string `json:"want"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(b, &sets); err != nil {
		t.Fatal(err)
	}
	for _, set := range sets {
		c, err := Compile(set.Lexicon)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range set.Cases {
			got := spans(tc.Text, Scan(tc.Text, Options{Detectors: []string{"none"}, Lexicons: []*Compiled{c}}))
			if !slices.Equal(got, tc.Want) {
				t.Errorf("%s on %q = %q, want %q", set.Lexicon.Name, tc.Text, got, tc.Want)
			}
		}
	}
}

func TestCompileErrors(t *testing.T) {
	for _, spec := range []LexiconSpec{
		{},
		{Name: "x"},
		{Name: "x", Terms: []string{"  "}},
		{Name: "x", Near: []NearSpec{{A: "a", B: "b"}}},
		{Name: "x", Terms: []string{"a"}, Confirm: "("},
	} {
		if _, err := Compile(spec); err == nil {
			t.Errorf("Compile(%+v) accepted", spec)
		}
	}
}

func TestScanAllOrdersFindings(t *testing.T) {
	text := "SSN 123-45-6789, card 4111111111111111, mail a@example.com, call +1 202-456-1111"
	fs := Scan(text, Options{})
	var kinds []string
	for _, f := range fs {
		kinds = append(kinds, f.Detector)
	}
	want := []string{SSN, Card, Email, Phone}
	if !slices.Equal(kinds, want) {
		t.Fatalf("findings %v, want %v", kinds, want)
	}
}

func FuzzScan(f *testing.F) {
	b, _ := os.ReadFile("testdata/cases.json")
	var cases []detectorCase
	json.Unmarshal(b, &cases)
	for _, c := range cases {
		f.Add(c.Text)
	}
	lex, err := Compile(LexiconSpec{Name: "f", Terms: []string{"guaranteed return", "text me"}, Near: []NearSpec{{A: "a", B: "b", Within: 2}}, Negations: []string{"not"}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text string) {
		for _, fd := range Scan(text, Options{Lexicons: []*Compiled{lex}}) {
			if fd.Start < 0 || fd.End > len(text) || fd.Start >= fd.End {
				t.Fatalf("bad span %+v in %d bytes", fd, len(text))
			}
		}
	})
}

// BenchmarkScan is the cost of all built-in detectors and a 50-phrase
// lexicon on a 1 KiB message.
func BenchmarkScan(b *testing.B) {
	var terms []string
	for i := range 50 {
		terms = append(terms, "watched phrase number "+string(rune('a'+i%26))+string(rune('a'+i/26)))
	}
	lex, err := Compile(LexiconSpec{Name: "bench", Terms: terms, Negations: []string{"not"}})
	if err != nil {
		b.Fatal(err)
	}
	msg := ""
	for len(msg) < 1024 {
		msg += "Thanks for the update on the Weber account, call me at +1 202-456-1111 or mail a@example.com. "
	}
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		Scan(msg, Options{Lexicons: []*Compiled{lex}})
	}
}
