package policy

import (
	"time"

	"github.com/google/cel-go/checker"
	"github.com/google/cel-go/common/ast"

	"github.com/onrecord/onrecord/internal/policy/detect"
)

// A condition must not run away with the CPU: CEL's runtime cost tracker
// stops any evaluation past costLimit, and the rule is then reported as
// not evaluable. Tracking costs about as much as evaluating, so a rule is
// evaluated without it whenever that is provably the same: at load, CEL's
// static estimate of the rule's worst case, with every list, map and
// string of the input bounded as below, is at most costLimit; at decision
// time, the variables the rule reads are checked against the same
// bounds. Within them the limit cannot be reached, so tracking it changes
// nothing; an input outside them (a huge message, a directory attribute
// holding a long list) is evaluated with the tracker as before.
const (
	costLimit = 100_000
	// maxFindings bounds the findings list.
	maxFindings = 1024
	// maxBody bounds event.body, in bytes.
	maxBody = 64 << 10
	// maxField bounds every other string (bytes) and every list and map
	// (entries) reachable from a variable.
	maxField = 4096
	// maxDepth bounds the nesting of directory and contact attributes.
	maxDepth = 8
)

// sizeEstimator gives CEL's cost estimator the bounds above. Strings in
// findings are bounded by the set itself (detector, lexicon and entry
// names), so findingText is computed when the set is compiled.
type sizeEstimator struct {
	findingText uint64
}

func (s sizeEstimator) EstimateSize(n checker.AstNode) *checker.SizeEstimate {
	p := n.Path()
	if len(p) == 0 {
		return nil // not reachable from a variable: unknown, so unbounded
	}
	upTo := func(max uint64) *checker.SizeEstimate { return &checker.SizeEstimate{Min: 0, Max: max} }
	switch p[0] {
	case "findings":
		switch len(p) {
		case 1:
			return upTo(maxFindings)
		case 2:
			return upTo(5) // detector, lexicon, entry, start, end
		}
		return upTo(s.findingText)
	case "event":
		// event["body"] reads as event.@values: any value of event may
		// be the body.
		if len(p) == 2 && (p[1] == "body" || p[1] == "@values") {
			return upTo(maxBody)
		}
		return upTo(maxField)
	case "sender", "recipients", "contact", "channel", "direction":
		return upTo(maxField)
	}
	return nil
}

func (sizeEstimator) EstimateCallCost(string, string, *checker.AstNode, []checker.AstNode) *checker.CallEstimate {
	return nil
}

// findingTextBound is the longest string a finding of this set can carry.
func findingTextBound(lexicons []*detect.Compiled) uint64 {
	n := uint64(16) // key and detector names, card issuers, "+NNN", IBAN countries
	for _, l := range lexicons {
		n = max(n, uint64(l.MaxText())) // #nosec G115 -- a length, never negative
	}
	return n
}

// vars is a set of the variables conditions see, as bits.
type vars uint8

const (
	varEvent vars = 1 << iota
	varSender
	varRecipients
	varContact
	varChannel
	varDirection
	varNow
	varFindings
)

var varNames = map[string]vars{"event": varEvent, "sender": varSender, "recipients": varRecipients,
	"contact": varContact, "channel": varChannel, "direction": varDirection, "now": varNow, "findings": varFindings}

// referenced is every variable e names. A comprehension variable that
// shadows one counts as it, which only means one check too many.
func referenced(e ast.Expr) vars {
	var vs vars
	ast.PostOrderVisit(e, ast.NewExprVisitor(func(e ast.Expr) {
		if e.Kind() == ast.IdentKind {
			vs |= varNames[e.AsIdent()]
		}
	}))
	return vs
}

// inputBounds checks one decision's input against the bounds, one
// variable at a time and only for the variables a rule reads: the cost of
// a condition depends on nothing else.
type inputBounds struct {
	in       *Input
	findings []detect.Finding
	checked  vars
	ok       vars
}

// within reports whether every variable of vs is within the bounds.
func (b *inputBounds) within(vs vars) bool {
	for todo := vs &^ b.checked; todo != 0; todo &= todo - 1 {
		v := todo & -todo
		if b.check(v) {
			b.ok |= v
		}
		b.checked |= v
	}
	return vs&^b.ok == 0
}

func (b *inputBounds) check(v vars) bool {
	in, ev := b.in, b.in.Event
	switch v {
	case varFindings:
		return len(b.findings) <= maxFindings
	case varChannel:
		return len(ev.Channel) <= maxField
	case varDirection:
		return len(ev.Direction) <= maxField
	case varNow:
		return true
	case varSender:
		return bounded(in.Sender, 0)
	case varContact:
		return bounded(in.Contact, 0)
	case varRecipients:
		if len(in.Recipients) > maxField {
			return false
		}
		for _, r := range in.Recipients {
			if !bounded(r, 0) {
				return false
			}
		}
		return true
	case varEvent:
		if len(ev.Body) > maxBody || len(ev.Recipients) > maxField || len(ev.Attachments) > maxField {
			return false
		}
		for _, s := range []string{string(ev.Kind), ev.Channel, ev.Conversation, string(ev.Direction), ev.Subtype,
			ev.GroupName, ev.Sender.ID, ev.Sender.Name} {
			if len(s) > maxField {
				return false
			}
		}
		for _, r := range ev.Recipients {
			if len(r.ID) > maxField || len(r.Name) > maxField {
				return false
			}
		}
		for _, a := range ev.Attachments {
			if len(a.Name) > maxField || len(a.ContentType) > maxField {
				return false
			}
		}
		return true
	}
	return false
}

// bounded reports whether v is of a type CEL sees as a plain value and
// every string, list and map in it is within maxField. Anything else
// (structs, protos, deeper nesting) is not known to be bounded.
func bounded(v any, depth int) bool {
	if depth > maxDepth {
		return false
	}
	switch v := v.(type) {
	case nil, bool, int, int32, int64, uint, uint32, uint64, float32, float64, time.Time, time.Duration:
		return true
	case string:
		return len(v) <= maxField
	case []byte:
		return len(v) <= maxField
	case []string:
		if len(v) > maxField {
			return false
		}
		for _, s := range v {
			if len(s) > maxField {
				return false
			}
		}
		return true
	case map[string]string:
		if len(v) > maxField {
			return false
		}
		for k, s := range v {
			if len(k) > maxField || len(s) > maxField {
				return false
			}
		}
		return true
	case []any:
		if len(v) > maxField {
			return false
		}
		for _, e := range v {
			if !bounded(e, depth+1) {
				return false
			}
		}
		return true
	case map[string]any:
		if len(v) > maxField {
			return false
		}
		for k, e := range v {
			if len(k) > maxField || !bounded(e, depth+1) {
				return false
			}
		}
		return true
	}
	return false
}
