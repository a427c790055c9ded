// Package policy decides, in real time, what happens to a message: allow,
// block, redact, warn, flag or hold it for approval. Policies are data:
// YAML files whose rules have conditions in CEL over the event, the
// parties, the channel, the time and what the detectors found. Every
// decision says which rule fired, on which detector finding, at which span,
// so it can be explained to the sender and recorded for the examiner.
//
// Deciding is on the path of every message, so a decision reads the text
// once for every detector and lexicon (detect.Scanner), gives conditions
// only the variables they read, runs them without CEL's cost tracker
// where its limit provably cannot be reached (cost.go) and does not run a
// rule that provably cannot fire (needs.go). The outcome is always the
// one full evaluation of every rule would give.
package policy

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/interpreter"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/policy/detect"
)

// Action is what a rule does when its condition holds.
type Action string

// Actions, from least to most restrictive.
const (
	Allow           Action = "allow"
	Flag            Action = "flag"
	Warn            Action = "warn"
	Redact          Action = "redact"
	RequireApproval Action = "require_approval"
	Block           Action = "block"
)

var severity = map[Action]int{Allow: 0, Flag: 1, Warn: 2, Redact: 3, RequireApproval: 4, Block: 5}

// Valid reports whether a is a known action.
func (a Action) Valid() bool { _, ok := severity[a]; return ok }

// Input is what a decision is about: the event and the context the
// directory and contact registry supply. Fields the caller does not know
// are left empty; conditions see them as empty values.
type Input struct {
	Event *onrecord.Event
	// Sender and Recipients carry directory attributes (role, department,
	// seniority, official) keyed by name.
	Sender     map[string]any
	Recipients []map[string]any
	// Contact describes the external party: approved, consented.
	Contact map[string]any
	// Now is the decision time (default: time.Now).
	Now time.Time
}

// Match is one rule that fired, with the findings that made it fire.
type Match struct {
	Policy   string           `json:"policy"`
	Rule     string           `json:"rule"`
	Action   Action           `json:"action"`
	Message  string           `json:"message,omitempty"`
	Findings []detect.Finding `json:"findings,omitempty"`
}

// Decision is the outcome: the most restrictive action of every rule that
// fired, all of them listed, and for a redaction the body to send instead.
type Decision struct {
	Action  Action  `json:"action"`
	Matches []Match `json:"matches,omitempty"`
	// Redacted is the body with the redacted spans replaced, set when the
	// action is redact.
	Redacted string `json:"redacted,omitempty"`
	// Findings are everything the detectors found, fired or not.
	Findings []detect.Finding `json:"findings,omitempty"`
	// Version identifies the policy set that decided (a hash of its files).
	Version string `json:"policy_version"`
}

// Reason is a one-line explanation for the sender, without the content.
func (d *Decision) Reason() string {
	var parts []string
	for _, m := range d.Matches {
		if m.Action == d.Action {
			s := m.Policy + "/" + m.Rule
			if m.Message != "" {
				s += ": " + m.Message
			}
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, "; ")
}

// Evaluate runs every rule of the set over in.
func (s *Set) Evaluate(ctx context.Context, in Input) (*Decision, error) {
	if in.Event == nil {
		return nil, fmt.Errorf("policy: no event")
	}
	now := in.Now
	if now.IsZero() {
		now = time.Now()
	}
	text := in.Event.Body
	var findings []detect.Finding
	if s.scanner != nil {
		findings = s.scanner.Scan(text)
	} else { // a Set not made by Compile
		findings = detect.Scan(text, detect.Options{Lexicons: s.lexicons})
	}
	act := &activation{in: &in, now: now.UTC(), findings: findings, adapter: s.adapter}
	bounds := inputBounds{in: &in, findings: findings}
	d := &Decision{Action: Allow, Findings: findings, Version: s.Version}
	var redact []detect.Finding
	for _, r := range s.rules {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		prg := r.prg
		if r.fast != nil && bounds.within(r.vars) {
			// Within the bounds the limit cannot be reached, so a rule
			// whose findings.exists term finds nothing is false, even
			// if another of its terms would be an error.
			if !met(r.needs, findings) {
				continue
			}
			prg = r.fast
		}
		out, _, err := prg.Eval(act)
		if err != nil {
			// A rule that cannot be evaluated on this input fails closed
			// to its own action only if it is a block; otherwise it is
			// reported as a flag so the gap is seen, never silently passed.
			d.Matches = append(d.Matches, Match{Policy: r.policy, Rule: r.ID, Action: Flag,
				Message: "rule could not be evaluated: " + err.Error()})
			if severity[Flag] > severity[d.Action] {
				d.Action = Flag
			}
			continue
		}
		fired, ok := out.Value().(bool)
		if !ok || !fired {
			continue
		}
		m := Match{Policy: r.policy, Rule: r.ID, Action: r.Action, Message: r.Message}
		for _, f := range findings {
			if r.wants(f) {
				m.Findings = append(m.Findings, f)
			}
		}
		if r.Action == Redact {
			redact = append(redact, m.Findings...)
		}
		d.Matches = append(d.Matches, m)
		if severity[r.Action] > severity[d.Action] {
			d.Action = r.Action
		}
	}
	if d.Action == Redact {
		d.Redacted = applyRedactions(text, redact)
	}
	return d, nil
}

// applyRedactions replaces each span with a marker naming the detector.
// Overlapping spans are merged.
func applyRedactions(text string, fs []detect.Finding) string {
	fs = slices.Clone(fs)
	slices.SortFunc(fs, func(a, b detect.Finding) int { return a.Start - b.Start })
	var b strings.Builder
	pos := 0
	for _, f := range fs {
		if f.End <= pos {
			continue
		}
		start := max(f.Start, pos)
		b.WriteString(text[pos:start])
		b.WriteString("[REDACTED:" + f.Detector + "]")
		pos = f.End
	}
	b.WriteString(text[pos:])
	return b.String()
}

// activation gives conditions their variables, built only when a rule
// first reads them and then shared by the decision's other rules: most
// rules read direction and findings, and most messages have no findings,
// so the event and recipient maps are rarely built at all. The values are
// the Go values conditions always saw (findings already as the CEL list
// and maps CEL would make of them), so CEL sees the same types.
type activation struct {
	in       *Input
	now      time.Time
	findings []detect.Finding

	adapter types.Adapter

	event, recipients, findingVars any
}

var emptyList = []any{}

func (a *activation) ResolveName(name string) (any, bool) {
	switch name {
	case "event":
		if a.event == nil {
			a.event = eventVars(a.in.Event)
		}
		return a.event, true
	case "sender":
		return orEmpty(a.in.Sender), true
	case "recipients":
		if a.recipients == nil {
			a.recipients = recipientsVars(a.in.Recipients)
		}
		return a.recipients, true
	case "contact":
		return orEmpty(a.in.Contact), true
	case "channel":
		return a.in.Event.Channel, true
	case "direction":
		return string(a.in.Event.Direction), true
	case "now":
		return a.now, true
	case "findings":
		if a.findingVars == nil {
			a.findingVars = findingVals(a.adapter, a.findings)
		}
		return a.findingVars, true
	}
	return nil, false
}

func (a *activation) Parent() interpreter.Activation { return nil }

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

func eventVars(ev *onrecord.Event) map[string]any {
	var recips []any
	for _, r := range ev.Recipients {
		recips = append(recips, map[string]any{"id": r.ID, "name": r.Name})
	}
	var atts []any
	for _, a := range ev.Attachments {
		atts = append(atts, map[string]any{"name": a.Name, "content_type": a.ContentType, "size": int64(len(a.Data))})
	}
	return map[string]any{
		"kind": string(ev.Kind), "channel": ev.Channel, "conversation": ev.Conversation,
		"direction": string(ev.Direction), "body": ev.Body, "subtype": ev.Subtype,
		"sender":     map[string]any{"id": ev.Sender.ID, "name": ev.Sender.Name},
		"recipients": orList(recips), "attachments": orList(atts),
		"group": ev.Group, "group_name": ev.GroupName, "forwarded": ev.Forwarded,
		"sent_at": ev.SentAt.UTC(),
	}
}

func recipientsVars(rs []map[string]any) []any {
	out := []any{}
	for _, r := range rs {
		out = append(out, orEmpty(r))
	}
	return out
}

func orList(l []any) []any {
	if l == nil {
		return []any{}
	}
	return l
}

// findingVals is findingVars as CEL sees it: the list and the maps
// NativeToValue would make of them on every access, made once per
// decision for all its rules.
func findingVals(adapter types.Adapter, fs []detect.Finding) any {
	if len(fs) == 0 {
		return emptyList
	}
	vals := make([]ref.Val, len(fs))
	for i, f := range findingVars(fs) {
		vals[i] = types.NewStringInterfaceMap(adapter, f.(map[string]any))
	}
	return types.NewRefValList(adapter, vals)
}

func findingVars(fs []detect.Finding) []any {
	if len(fs) == 0 {
		return emptyList
	}
	out := make([]any, 0, len(fs))
	for _, f := range fs {
		out = append(out, map[string]any{"detector": f.Detector, "lexicon": f.Lexicon, "entry": f.Entry,
			"start": int64(f.Start), "end": int64(f.End)})
	}
	return out
}

// env is the CEL environment every condition is compiled in.
func env() (*cel.Env, error) {
	return cel.NewEnv(
		cel.Variable("event", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("sender", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("recipients", cel.ListType(cel.MapType(cel.StringType, cel.DynType))),
		cel.Variable("contact", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("channel", cel.StringType),
		cel.Variable("direction", cel.StringType),
		cel.Variable("now", cel.TimestampType),
		cel.Variable("findings", cel.ListType(cel.MapType(cel.StringType, cel.DynType))),
	)
}
