package policy

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/policy/detect"
)

// tracked is set with every rule evaluated as before the fast path: under
// the runtime cost limit, none skipped.
func tracked(set *Set) *Set {
	slow := *set
	slow.rules = nil
	for _, r := range set.rules {
		c := *r
		c.fast = nil
		slow.rules = append(slow.rules, &c)
	}
	return &slow
}

// TestFastPath_DecidesAsTheTrackedPrograms evaluates random messages and
// contexts with the rules as compiled (untracked where the estimate
// allows, skipped where nothing was found) and with every rule under the
// runtime cost limit: the decisions must be the same, errors included.
func TestFastPath_DecidesAsTheTrackedPrograms(t *testing.T) {
	files := append(starterFiles(t), File{Name: "ctx.yaml", Text: `
policy: ctx
rules:
  - id: unconsented
    when: direction == "outbound" && !contact.consented
    action: block
  - id: junior-late
    when: sender.seniority == "junior" && now.getHours("America/New_York") >= 20
    action: require_approval
  - id: group
    when: event.group && size(event.recipients) > 2 && findings.exists(f, f.detector == "email")
    action: flag
  - id: counts
    when: size(findings) > 1 && findings.filter(f, f.detector == "lexicon").size() > 0
    action: flag
  - id: missing
    when: findings.exists(f, f.nope == 1) && direction == "inbound"
    action: flag
  - id: error-first
    when: contact.missing && findings.exists(f, f.lexicon == "promissory")
    action: warn
  - id: recipients
    when: recipients.exists(r, r.role == "x") && findings.exists(f, true)
    action: flag
  - id: nested
    when: findings.exists(f, findings.exists(g, g.start < f.start))
    action: flag
`})
	set, err := Compile(files)
	if err != nil {
		t.Fatal(err)
	}
	slow := tracked(set)
	words := []string{"guaranteed return", "we never offer", "text me on my personal", "merger", "confidential",
		"4111 1111 1111 1111", "123-45-6789", "a@example.com", "IBAN DE89370400440532013000", "hello", "there",
		"I never authorized this trade", "not", "risk free", "+1 202-456-1111"}
	rng := rand.New(rand.NewPCG(8, 9))
	for i := range 3000 {
		var b strings.Builder
		for range rng.IntN(8) {
			b.WriteString(words[rng.IntN(len(words))] + " ")
		}
		dir := onrecord.Outbound
		if rng.IntN(2) == 0 {
			dir = onrecord.Inbound
		}
		ev := &onrecord.Event{Channel: "wa", Kind: onrecord.KindMessage, Direction: dir, Body: b.String(), Group: rng.IntN(2) == 0}
		for k := range rng.IntN(4) {
			ev.Recipients = append(ev.Recipients, onrecord.Party{ID: fmt.Sprint(k)})
		}
		in := Input{Event: ev, Now: time.Date(2026, 11, 23, rng.IntN(24), 0, 0, 0, time.UTC)}
		if rng.IntN(2) == 0 {
			in.Sender = map[string]any{"seniority": []string{"junior", "senior"}[rng.IntN(2)]}
			in.Contact = map[string]any{"consented": rng.IntN(2) == 0}
			in.Recipients = []map[string]any{{"role": "x"}}
		}
		got, err := set.Evaluate(t.Context(), in)
		if err != nil {
			t.Fatal(err)
		}
		want, err := slow.Evaluate(t.Context(), in)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("message %d %q:\nfast    %+v\ntracked %+v", i, ev.Body, got, want)
		}
	}
}

// TestFastPath_OnlyWhereTheLimitCannotBeReached checks which rules run
// without the cost tracker, and that a rule that can run away still
// stops at the limit and is reported.
func TestFastPath_OnlyWhereTheLimitCannotBeReached(t *testing.T) {
	set, err := Compile([]File{{Name: "p.yaml", Text: `
policy: p
rules:
  - id: starter-like
    when: direction == "outbound" && findings.exists(f, f.lexicon == "x")
    action: flag
  - id: body
    when: event.body.contains("wire") && sender.role == "adviser"
    action: flag
  - id: quadratic
    when: sender.list.all(x, sender.list.all(y, x != y || x == y))
    action: flag
`}})
	if err != nil {
		t.Fatal(err)
	}
	fast := map[string]bool{}
	for _, r := range set.rules {
		fast[r.ID] = r.fast != nil
	}
	if !fast["starter-like"] || !fast["body"] || fast["quadratic"] {
		t.Fatalf("untracked: %v", fast)
	}
	list := make([]any, 1000)
	for i := range list {
		list[i] = int64(i)
	}
	ev := &onrecord.Event{Kind: onrecord.KindMessage, Direction: onrecord.Outbound, Body: "wire it"}
	d, err := set.Evaluate(t.Context(), Input{Event: ev, Sender: map[string]any{"role": "adviser", "list": list}})
	if err != nil {
		t.Fatal(err)
	}
	var stopped bool
	for _, m := range d.Matches {
		if m.Rule == "quadratic" && strings.Contains(m.Message, "cost limit") {
			stopped = true
		}
	}
	if !stopped {
		t.Fatalf("a runaway rule was not stopped: %+v", d.Matches)
	}
	// A directory attribute beyond the bounds sends even a cheap rule
	// back to the tracker; the decision is the same.
	long := strings.Repeat("x", maxField+1)
	for _, in := range []Input{
		{Event: ev, Sender: map[string]any{"role": long}},
		{Event: &onrecord.Event{Kind: onrecord.KindMessage, Body: strings.Repeat("wire ", maxBody/5+1)}, Sender: map[string]any{"role": "adviser"}},
	} {
		b := inputBounds{in: &in}
		if b.within(varEvent | varSender) {
			t.Errorf("input beyond the bounds taken as within them")
		}
		got, _ := set.Evaluate(t.Context(), in)
		want, _ := tracked(set).Evaluate(t.Context(), in)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("beyond the bounds: %+v, tracked %+v", got, want)
		}
	}
}

// TestFindingNeeds_SkipOnlyFalseRules: whenever the needs of a condition
// are not met by the findings, the condition is false (not true, not an
// error), on random lists of findings; and the tests of the starter
// pack's form are translated, not taken as "any finding".
func TestFindingNeeds_SkipOnlyFalseRules(t *testing.T) {
	e, err := env()
	if err != nil {
		t.Fatal(err)
	}
	conds := map[string]int{ // condition: how many needs, -1 for "any finding" ones
		`findings.exists(f, f.detector == "iban")`:                                          1,
		`direction == "outbound" && findings.exists(f, f.lexicon == "a")`:                   1,
		`direction == "x" && (channel == "y" && findings.exists(f, "a" == f.lexicon))`:      1,
		`findings.exists(f, f.detector in ["us_ssn", "iban"]) && contact.missing`:           1,
		`findings.exists(f, f.lexicon == "a" || f.entry == "x" && f.detector == "lexicon")`: 1,
		`findings.exists(f, f.lexicon == "a") && findings.exists(g, g.lexicon == "b")`:      2,
		`findings.exists(f, f.start > 3)`:                                                   -1,
		`findings.exists(f, f.lexicon.startsWith("a"))`:                                     -1,
		`findings.exists(f, f.nope == "a")`:                                                 -1,
		`findings.exists(f, has(f.lexicon))`:                                                -1,
		`findings.exists(f, true) || direction == "outbound"`:                               0,
		`!findings.exists(f, f.lexicon == "a")`:                                             0,
		`findings.all(f, f.detector == "iban")`:                                             0,
		`findings.exists_one(f, f.lexicon == "a")`:                                          0,
		`recipients.exists(r, true) && direction == "x"`:                                    0,
		`findings.map(f, f.lexicon).exists(s, s == "a")`:                                    0,
		`[1].exists(findings, findings == 1) && direction == "x"`:                           0,
		`findings.filter(f, f.detector == "email").exists(f, f.start > 0)`:                  0,
		`size(findings) > 0 && findings.exists(f, f.detector == "us_ssn")`:                  1,
	}
	pool := []detect.Finding{{Detector: "iban", Start: 1, End: 5, Entry: "DE"}, {Detector: "us_ssn", Start: 2, End: 9},
		{Detector: "lexicon", Lexicon: "a", Entry: "x", Start: 4, End: 6}, {Detector: "lexicon", Lexicon: "b", Entry: "y", Start: 7, End: 8},
		{Detector: "lexicon", Lexicon: "a", Entry: "z"}}
	rng := rand.New(rand.NewPCG(10, 11))
	for when, n := range conds {
		ast, iss := e.Compile(when)
		if iss.Err() != nil {
			t.Fatalf("%s: %v", when, iss.Err())
		}
		needs := findingNeeds(ast.NativeRep().Expr())
		if len(needs) != max(n, -n) {
			t.Errorf("%s: %d needs, want %d", when, len(needs), max(n, -n))
		}
		if n < 0 && !met(needs, []detect.Finding{{Detector: "zzz"}}) {
			t.Errorf("%s: an untranslated test must accept any finding", when)
		}
		prg, err := e.Program(ast)
		if err != nil {
			t.Fatal(err)
		}
		for range 200 {
			var fs []detect.Finding
			for _, f := range pool {
				if rng.IntN(3) == 0 {
					fs = append(fs, f)
				}
			}
			if met(needs, fs) {
				continue
			}
			out, _, err := prg.Eval(map[string]any{"findings": findingVars(fs), "direction": "x", "channel": "y",
				"contact": map[string]any{}, "recipients": []any{}})
			if err != nil || out.Value() != false {
				t.Fatalf("%s with %v: needs not met, yet %v %v", when, fs, out, err)
			}
		}
	}
}

// TestSizeEstimator_BodyBoundedHoweverRead: the body may be read as a
// field or by index, and both must be estimated with its own bound.
func TestSizeEstimator_BodyBoundedHoweverRead(t *testing.T) {
	e, err := env()
	if err != nil {
		t.Fatal(err)
	}
	maxCost := func(when string) uint64 {
		ast, iss := e.Compile(when)
		if iss.Err() != nil {
			t.Fatal(iss.Err())
		}
		c, err := e.EstimateCost(ast, sizeEstimator{findingText: 16})
		if err != nil {
			t.Fatal(err)
		}
		return c.Max
	}
	field, index := maxCost(`event.body.contains("x")`), maxCost(`event["body"].contains("x")`)
	if index < field || field < maxBody/10 {
		t.Fatalf("estimates: event.body %d, event[\"body\"] %d", field, index)
	}
}
