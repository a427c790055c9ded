package policy

import (
	"github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/operators"
	"github.com/google/cel-go/common/types"

	"github.com/onrecord/onrecord/internal/policy/detect"
)

// Most rules are "some context && findings.exists(f, <a test on f>)",
// and most messages have no finding such a test accepts. Such a rule is
// then false whatever its other terms: exists over findings none of
// which passes is false, and in CEL a conjunction with a false term is
// false even if another term is an error. Evaluate skips it (only where
// the cost limit provably cannot interrupt it, see cost.go).

// need is one findings.exists term of a condition's top-level
// conjunction: the test a finding must pass for the term to be true.
type need func(detect.Finding) bool

// met reports whether every need has a finding that passes it.
func met(needs []need, fs []detect.Finding) bool {
	for _, n := range needs {
		found := false
		for _, f := range fs {
			if n(f) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// findingNeeds finds the needs of a condition: one for each term of its
// top-level conjunction that is findings.exists(v, P). P is translated
// when it is made of v.detector, v.lexicon or v.entry compared with
// string literals (==, in a list of them, &&, ||), which are always
// present and strings, so it can neither fail nor differ; any other P
// becomes "any finding", which holds for exists over an empty list.
func findingNeeds(e ast.Expr) []need {
	if e.Kind() == ast.CallKind && e.AsCall().FunctionName() == operators.LogicalAnd {
		var out []need
		for _, a := range e.AsCall().Args() {
			out = append(out, findingNeeds(a)...)
		}
		return out
	}
	if e.Kind() != ast.ComprehensionKind {
		return nil
	}
	c := e.AsComprehension()
	r, init, res := c.IterRange(), c.AccuInit(), c.Result()
	if c.HasIterVar2() || r.Kind() != ast.IdentKind || r.AsIdent() != "findings" ||
		init.Kind() != ast.LiteralKind || init.AsLiteral() != types.False ||
		res.Kind() != ast.IdentKind || res.AsIdent() != c.AccuVar() {
		return nil
	}
	// exists expands to a step of accu || P.
	if step := c.LoopStep(); step.Kind() == ast.CallKind && step.AsCall().FunctionName() == operators.LogicalOr {
		if args := step.AsCall().Args(); len(args) == 2 && args[0].Kind() == ast.IdentKind && args[0].AsIdent() == c.AccuVar() {
			if p := findingTest(args[1], c.IterVar()); p != nil {
				return []need{p}
			}
		}
	}
	return []need{func(detect.Finding) bool { return true }}
}

// findingTest translates P over the iteration variable v, or returns nil.
func findingTest(e ast.Expr, v string) need {
	if e.Kind() != ast.CallKind {
		return nil
	}
	call := e.AsCall()
	args := call.Args()
	if len(args) != 2 || call.IsMemberFunction() {
		return nil
	}
	switch call.FunctionName() {
	case operators.LogicalAnd, operators.LogicalOr:
		a, b := findingTest(args[0], v), findingTest(args[1], v)
		if a == nil || b == nil {
			return nil
		}
		if call.FunctionName() == operators.LogicalAnd {
			return func(f detect.Finding) bool { return a(f) && b(f) }
		}
		return func(f detect.Finding) bool { return a(f) || b(f) }
	case operators.Equals:
		field, lit := args[0], args[1]
		if fieldOf(field, v) == nil {
			field, lit = lit, field
		}
		get, want, ok := fieldOf(field, v), "", false
		if lit.Kind() == ast.LiteralKind {
			want, ok = lit.AsLiteral().Value().(string)
		}
		if get == nil || !ok {
			return nil
		}
		return func(f detect.Finding) bool { return get(f) == want }
	case operators.In:
		get := fieldOf(args[0], v)
		if get == nil || args[1].Kind() != ast.ListKind {
			return nil
		}
		var set []string
		for _, el := range args[1].AsList().Elements() {
			if el.Kind() != ast.LiteralKind {
				return nil
			}
			s, ok := el.AsLiteral().Value().(string)
			if !ok {
				return nil
			}
			set = append(set, s)
		}
		return func(f detect.Finding) bool {
			got := get(f)
			for _, s := range set {
				if got == s {
					return true
				}
			}
			return false
		}
	}
	return nil
}

// fieldOf returns the getter of v.detector, v.lexicon or v.entry, or nil
// if e is not one of them.
func fieldOf(e ast.Expr, v string) func(detect.Finding) string {
	if e.Kind() != ast.SelectKind {
		return nil
	}
	sel := e.AsSelect()
	if sel.IsTestOnly() || sel.Operand().Kind() != ast.IdentKind || sel.Operand().AsIdent() != v {
		return nil
	}
	switch sel.FieldName() {
	case "detector":
		return func(f detect.Finding) string { return f.Detector }
	case "lexicon":
		return func(f detect.Finding) string { return f.Lexicon }
	case "entry":
		return func(f detect.Finding) string { return f.Entry }
	}
	return nil
}
