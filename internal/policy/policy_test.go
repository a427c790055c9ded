package policy

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/onrecord/onrecord"
)

// starterFiles reads the starter pack from disk (the starter package
// embeds the same files; importing it here would be a cycle).
func starterFiles(t testing.TB) []File {
	t.Helper()
	names, _ := filepath.Glob("starter/*.yaml")
	var fs []File
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		fs = append(fs, File{Name: filepath.Base(n), Text: string(b)})
	}
	if len(fs) == 0 {
		t.Fatal("no starter policies")
	}
	return fs
}

func TestStarterPackDecisions(t *testing.T) {
	set, err := Compile(starterFiles(t))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("testdata/cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Name, Direction, Body, Action, Redacted string
		Rules                                   []string
	}
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			ev := &onrecord.Event{Channel: "wa", Kind: onrecord.KindMessage, Direction: onrecord.Direction(tc.Direction), Body: tc.Body}
			d, err := set.Evaluate(t.Context(), Input{Event: ev})
			if err != nil {
				t.Fatal(err)
			}
			var rules []string
			for _, m := range d.Matches {
				rules = append(rules, m.Policy+"/"+m.Rule)
				// Every match explains itself with the spans it found.
				if m.Action != Allow && len(m.Findings) == 0 {
					t.Errorf("%s fired with no finding to explain it", m.Rule)
				}
				for _, f := range m.Findings {
					if f.Start < 0 || f.End > len(tc.Body) || f.Start >= f.End {
						t.Errorf("bad span %+v", f)
					}
				}
			}
			if string(d.Action) != tc.Action || !slices.Equal(rules, tc.Rules) && !(len(rules) == 0 && len(tc.Rules) == 0) {
				t.Fatalf("decision %s by %v, want %s by %v", d.Action, rules, tc.Action, tc.Rules)
			}
			if d.Redacted != tc.Redacted {
				t.Errorf("redacted %q, want %q", d.Redacted, tc.Redacted)
			}
			if d.Action != Allow && d.Reason() == "" {
				t.Error("no reason")
			}
			if strings.Contains(d.Reason(), tc.Body) {
				t.Error("reason quotes the message")
			}
		})
	}
}

func TestConditionsSeeContextAndTime(t *testing.T) {
	set, err := Compile([]File{{Name: "ctx.yaml", Text: `
policy: ctx
rules:
  - id: unconsented
    when: direction == "outbound" && !contact.consented
    action: block
    message: The contact has not consented.
  - id: junior-after-hours
    when: sender.seniority == "junior" && now.getHours("America/New_York") >= 20
    action: require_approval
  - id: big-group
    when: event.group && size(event.recipients) > 2
    action: flag
`}})
	if err != nil {
		t.Fatal(err)
	}
	ev := &onrecord.Event{Channel: "wa", Kind: onrecord.KindMessage, Direction: onrecord.Outbound, Body: "hi", Group: true,
		Recipients: []onrecord.Party{{ID: "1"}, {ID: "2"}, {ID: "3"}}}
	late := time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC) // 21:00 in New York
	d, err := set.Evaluate(t.Context(), Input{Event: ev, Contact: map[string]any{"consented": false},
		Sender: map[string]any{"seniority": "junior"}, Now: late})
	if err != nil {
		t.Fatal(err)
	}
	if d.Action != Block || len(d.Matches) != 3 {
		t.Fatalf("decision %+v", d)
	}
	d, _ = set.Evaluate(t.Context(), Input{Event: ev, Contact: map[string]any{"consented": true},
		Sender: map[string]any{"seniority": "senior"}, Now: late})
	if d.Action != Flag {
		t.Fatalf("decision %+v", d)
	}
	// A condition over a field the caller did not supply does not pass
	// silently: it is reported as a flag.
	d, _ = set.Evaluate(t.Context(), Input{Event: ev})
	if d.Action != Flag || !strings.Contains(d.Matches[0].Message, "could not be evaluated") {
		t.Fatalf("missing context: %+v", d)
	}
}

func TestLoadErrorsNameFileAndLine(t *testing.T) {
	tests := []struct {
		name, text, want string
	}{
		{"cel syntax", "policy: p\nrules:\n  - id: a\n    when: \"true\"\n    action: flag\n  - id: b\n    when: 'event.body.contains('\n    action: block\n", `p.yaml:6: rule "b": when:`},
		{"undeclared", "policy: p\nrules:\n  - id: a\n    when: sender.x == unknown_var\n    action: flag\n", `p.yaml:3: rule "a": when:`},
		{"not a bool", "policy: p\nrules:\n  - id: a\n    when: '\"yes\"'\n    action: flag\n", "must be a condition"},
		{"bad action", "policy: p\nrules:\n  - id: a\n    when: 'true'\n    action: delete\n", `action "delete"`},
		{"unknown field", "policy: p\nrules:\n  - id: a\n    when: 'true'\n    acton: flag\n", "line 5: field acton not found"},
		{"no name", "rules: []\n", "policy: a name is required"},
		{"bad detector", "policy: p\nrules:\n  - id: a\n    when: 'true'\n    action: flag\n    detectors: [ssn]\n", `detector "ssn"`},
		{"unknown lexicon", "policy: p\nrules:\n  - id: a\n    when: 'true'\n    action: flag\n    detectors: ['lexicon:nope']\n", `no lexicon named "nope"`},
		{"yaml syntax", "policy: p\nrules: [\n", "p.yaml"},
	}
	for _, tt := range tests {
		_, err := Compile([]File{{Name: "p.yaml", Text: tt.text}})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want it to contain %q", tt.name, err, tt.want)
		}
	}
}

func TestBrokenReloadKeepsActiveSet(t *testing.T) {
	dir := t.TempDir()
	good := "policy: p\nrules:\n  - id: ssn\n    when: findings.exists(f, f.detector == 'us_ssn')\n    action: block\n"
	if err := os.WriteFile(filepath.Join(dir, "p.yaml"), []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	e, err := NewEngine(dir)
	if err != nil {
		t.Fatal(err)
	}
	v1 := e.Active().Version
	broken, _ := os.ReadFile("testdata/broken/bad_cel.yaml")
	os.WriteFile(filepath.Join(dir, "p.yaml"), broken, 0o600)
	changed, err := e.Reload()
	if err == nil || changed || !strings.Contains(err.Error(), "bad_cel.yaml") && !strings.Contains(err.Error(), "p.yaml:6") {
		t.Fatalf("broken reload: changed %v err %v", changed, err)
	}
	ev := &onrecord.Event{Kind: onrecord.KindMessage, Direction: onrecord.Outbound, Body: "SSN 123-45-6789"}
	if d, _ := e.Evaluate(t.Context(), Input{Event: ev}); d.Action != Block || d.Version != v1 {
		t.Fatalf("after a broken reload: %+v", d)
	}
	os.WriteFile(filepath.Join(dir, "p.yaml"), []byte(strings.Replace(good, "block", "warn", 1)), 0o600)
	if changed, err := e.Reload(); !changed || err != nil {
		t.Fatalf("good reload: %v %v", changed, err)
	}
	if d, _ := e.Evaluate(t.Context(), Input{Event: ev}); d.Action != Warn {
		t.Fatalf("after a good reload: %+v", d)
	}
	if _, err := NewEngine(filepath.Join("testdata", "broken")); err == nil {
		t.Fatal("a broken first load was accepted")
	}
}

// FuzzCompile: a policy file never panics the loader, and a set that
// compiles evaluates without panicking.
func FuzzCompile(f *testing.F) {
	names, _ := filepath.Glob("starter/*.yaml")
	for _, n := range names {
		b, _ := os.ReadFile(n)
		f.Add(string(b), "hello 4111111111111111")
	}
	b, _ := os.ReadFile("testdata/broken/bad_cel.yaml")
	f.Add(string(b), "x")
	f.Fuzz(func(t *testing.T, text, body string) {
		set, err := Compile([]File{{Name: "f.yaml", Text: text}})
		if err != nil {
			return
		}
		ev := &onrecord.Event{Kind: onrecord.KindMessage, Direction: onrecord.Outbound, Body: body}
		if _, err := set.Evaluate(t.Context(), Input{Event: ev}); err != nil {
			t.Fatal(err)
		}
	})
}

// TestEvaluate_ConcurrentDecisionsAgree: decisions share pooled scan
// memory and compiled programs, so many at once must decide as one at a
// time does (run with -race).
func TestEvaluate_ConcurrentDecisionsAgree(t *testing.T) {
	phrases := benchPhrases()
	set := benchSet(t, phrases)
	msgs := benchMessages(400, phrases)
	want := make([]*Decision, len(msgs))
	for i, m := range msgs {
		d, err := set.Evaluate(t.Context(), m)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = d
	}
	errs := make(chan error, 4)
	for g := range 4 {
		go func() {
			for k := range msgs {
				i := (k + g*97) % len(msgs)
				d, err := set.Evaluate(t.Context(), msgs[i])
				if err == nil && !reflect.DeepEqual(d, want[i]) {
					err = fmt.Errorf("message %d: %+v, alone %+v", i, d, want[i])
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// TestLoadDir_StaysInsideTheDirectory: policies in subdirectories and
// links that stay inside the policy directory load, under their paths
// relative to it; a link that leads out of it refuses the whole set
// instead of loading a file from wherever it points.
func TestLoadDir_StaysInsideTheDirectory(t *testing.T) {
	base := t.TempDir()
	dir, outside := filepath.Join(base, "policies"), filepath.Join(base, "elsewhere")
	for _, d := range []string{filepath.Join(dir, "desk"), outside} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	policy := func(name, action string) []byte {
		return []byte("policy: " + name + "\nrules:\n  - id: ssn\n    when: findings.exists(f, f.detector == 'us_ssn')\n    action: " + action + "\n")
	}
	write := func(path string, b []byte) {
		t.Helper()
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(dir, "desk", "trading.yaml"), policy("trading", "block"))
	write(filepath.Join(dir, "desk", "shared.txt"), policy("shared", "warn")) // not *.yaml: read only through the link
	write(filepath.Join(outside, "lenient.yaml"), policy("lenient", "allow"))
	if err := os.Symlink(filepath.Join("desk", "shared.txt"), filepath.Join(dir, "alias.yml")); err != nil {
		t.Fatal(err)
	}
	s, err := LoadDir(dir)
	if err != nil {
		t.Fatalf("links inside the directory: %v", err)
	}
	var names []string
	for _, f := range s.Files {
		names = append(names, f.Name)
	}
	if want := []string{"alias.yml", "desk/trading.yaml"}; !slices.Equal(names, want) {
		t.Errorf("loaded %q, want %q", names, want)
	}

	if err := os.Symlink(filepath.Join(outside, "lenient.yaml"), filepath.Join(dir, "zz.yaml")); err != nil {
		t.Fatal(err)
	}
	if s, err := LoadDir(dir); err == nil || !strings.Contains(err.Error(), "zz.yaml") {
		t.Errorf("a link out of the policy directory: %v, %v", s, err)
	}
	if _, err := LoadDir(filepath.Join(base, "missing")); err == nil || !strings.Contains(err.Error(), "policy_dir") {
		t.Errorf("a missing directory: %v", err)
	}
}
