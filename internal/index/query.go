package index

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/search"
)

// ErrNoCustodians is returned by Search for a custodian: query when the
// caller gave no way to resolve custodians to the ids they use.
var ErrNoCustodians = errors.New("custodian: needs the directory to resolve custodians, which this search was not given")

// CustodianSpan is a business identity a custodian held, and when: their
// records are the events with that participant on that channel sent
// within the span. A number later handed to someone else stays out of the
// earlier holder's search, and the earlier holder's out of theirs.
type CustodianSpan struct {
	Channel string    // the configured channel name
	ID      string    // the participant id (a number, a handle)
	From    time.Time // zero: from the beginning
	To      time.Time // zero: still held
}

// CustodianResolver resolves the name in a custodian: query to the spans
// of the identities the person held. An unknown or ambiguous name (an
// *onrecord.Error with ENOTFOUND or EINVALID) fails the search as the
// query's fault, wrapped in a *CustodianError; any other error is the
// resolver's own failure.
type CustodianResolver func(ctx context.Context, name string) ([]CustodianSpan, error)

// CustodianError is a custodian: name the resolver refused: the query's
// fault, not the index's.
type CustodianError struct {
	Name string
	Err  error
}

func (e *CustodianError) Error() string { return "custodian:" + e.Name + ": " + e.Err.Error() }
func (e *CustodianError) Unwrap() error { return e.Err }

// plan is a query turned into SQL: an optional FTS5 MATCH expression that
// drives the search (and gives snippets and relevance), and predicates
// over the events table e. User input only ever reaches SQLite as bound
// parameters: the SQL text is built from the tree's shape alone, and
// every word inside an FTS5 expression is a quoted string.
type plan struct {
	match string
	where []string
	args  []any
}

type compiler struct {
	ctx       context.Context
	q         search.Query
	custodian CustodianResolver
}

func (c *compiler) plan() (*plan, error) {
	p := &plan{}
	var rest []search.Node
	switch root := c.q.Root.(type) {
	case nil:
		return nil, errors.New("empty query")
	case *search.And:
		// The text terms ANDed at the top become one MATCH, which
		// SQLite answers from the full-text index directly; the other
		// terms filter what it finds.
		var pos, neg []search.Node
		for _, n := range root.Nodes {
			if textual(n) {
				pos = append(pos, n)
			} else if not, ok := n.(*search.Not); ok && textual(not.Node) {
				neg = append(neg, not.Node)
			} else {
				rest = append(rest, n)
			}
		}
		if len(pos) > 0 {
			p.match = ftsAnd(pos, neg)
		} else {
			rest = root.Nodes
		}
	default:
		if textual(root) {
			p.match = ftsExpr(root)
		} else {
			rest = []search.Node{root}
		}
	}
	for _, n := range rest {
		w, err := c.pred(n, p)
		if err != nil {
			return nil, err
		}
		p.where = append(p.where, w)
	}
	return p, nil
}

// textual says whether n can be written as one FTS5 expression: text
// terms combined by AND and OR, with NOT only beside a positive term
// (FTS5's NOT is binary: "a NOT b").
func textual(n search.Node) bool {
	switch n := n.(type) {
	case *search.Term, *search.Phrase:
		return true
	case *search.Or:
		for _, c := range n.Nodes {
			if !textual(c) {
				return false
			}
		}
		return true
	case *search.And:
		positive := false
		for _, c := range n.Nodes {
			if not, ok := c.(*search.Not); ok {
				if !textual(not.Node) {
					return false
				}
				continue
			}
			if !textual(c) {
				return false
			}
			positive = true
		}
		return positive
	}
	return false
}

// ftsQuote makes s one FTS5 string: SQLite tokenizes it, so a quoted
// word or phrase matches its tokens in order, and no character of s can
// be read as FTS5 syntax. SQLite reads the expression as a C string, so
// a NUL would end it early: it becomes a space, which separates tokens
// as it would have anyway.
func ftsQuote(s string) string {
	s = strings.ReplaceAll(s, "\x00", " ")
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// ftsExpr writes a textual node as an FTS5 expression.
func ftsExpr(n search.Node) string {
	switch n := n.(type) {
	case *search.Term:
		if n.Prefix {
			return "(" + ftsQuote(n.Text) + " * OR " + ftsQuote(nameText(n.Text)) + " *)"
		}
		return "(" + ftsQuote(n.Text) + " OR " + ftsQuote(nameText(n.Text)) + ")"
	case *search.Phrase:
		// The words in text, or the words of a name (nameMark).
		return "(" + ftsQuote(n.Text) + " OR " + ftsQuote(nameText(n.Text)) + ")"
	case *search.Or:
		parts := make([]string, len(n.Nodes))
		for i, c := range n.Nodes {
			parts[i] = ftsExpr(c)
		}
		return "(" + strings.Join(parts, " OR ") + ")"
	case *search.And:
		var pos, neg []search.Node
		for _, c := range n.Nodes {
			if not, ok := c.(*search.Not); ok {
				neg = append(neg, not.Node)
			} else {
				pos = append(pos, c)
			}
		}
		return ftsAnd(pos, neg)
	}
	panic(fmt.Sprintf("ftsExpr: %T is not textual", n))
}

func ftsAnd(pos, neg []search.Node) string {
	parts := make([]string, len(pos))
	for i, c := range pos {
		parts[i] = ftsExpr(c)
	}
	expr := "(" + strings.Join(parts, " AND ") + ")"
	for _, c := range neg {
		expr = "(" + expr + " NOT " + ftsExpr(c) + ")"
	}
	return expr
}

// matchPred is a predicate for a full-text expression that is not the
// search's driving MATCH (inside OR or NOT with metadata filters).
func matchPred(p *plan, expr string) string {
	p.args = append(p.args, expr)
	return "e.seq IN (SELECT rowid FROM fts WHERE fts MATCH ?)"
}

// inEpochs says column (an epoch) is one of the index's epochs: it makes
// SQLite probe an epoch-led index once per epoch (epochShift).
func inEpochs(column string) string {
	return column + " IN (SELECT epoch FROM epochs)"
}

// partyPred matches an id (role 0 sender, 1 recipient, -1 either) or a
// name in the given full-text columns.
func partyPred(p *plan, value string, role int, columns string) string {
	p.args = append(p.args, normID(value))
	id := "e.seq IN (SELECT seq FROM participants WHERE " + inEpochs("epoch") + " AND id_norm = ?"
	if role >= 0 {
		id += fmt.Sprintf(" AND role = %d", role)
	}
	id += ")"
	if !strings.ContainsFunc(value, isWordRune) {
		return id
	}
	return "(" + id + " OR " + matchPred(p, "{"+columns+"} : "+ftsQuote(nameText(value))) + ")"
}

func (c *compiler) pred(n search.Node, p *plan) (string, error) {
	if textual(n) {
		return matchPred(p, ftsExpr(n)), nil
	}
	switch n := n.(type) {
	case *search.And, *search.Or:
		op, nodes := " AND ", []search.Node(nil)
		if or, ok := n.(*search.Or); ok {
			op, nodes = " OR ", or.Nodes
		} else {
			nodes = n.(*search.And).Nodes
		}
		parts := make([]string, len(nodes))
		for i, child := range nodes {
			w, err := c.pred(child, p)
			if err != nil {
				return "", err
			}
			parts[i] = w
		}
		return "(" + strings.Join(parts, op) + ")", nil
	case *search.Not:
		w, err := c.pred(n.Node, p)
		if err != nil {
			return "", err
		}
		return "NOT " + w, nil
	case *search.DateFilter:
		loc := c.q.Location
		start := n.Date.Start(loc).UnixNano()
		switch n.Op {
		case search.Before:
			p.args = append(p.args, start)
			return "e.sent_at < ?", nil
		case search.After:
			p.args = append(p.args, start)
			return "e.sent_at >= ?", nil
		case search.On:
			p.args = append(p.args, start, n.Date.End(loc).UnixNano())
			return "(e.sent_at >= ? AND e.sent_at < ?)", nil
		}
	case *search.Field:
		v := n.Value
		switch n.Name {
		case search.FieldFrom:
			return partyPred(p, v, 0, "sender_name"), nil
		case search.FieldTo:
			return partyPred(p, v, 1, "recipient_names"), nil
		case search.FieldParticipant:
			return partyPred(p, v, -1, "sender_name recipient_names"), nil
		case search.FieldChannel:
			p.args = append(p.args, v)
			return "e.channel = ?", nil
		case search.FieldConversation:
			p.args = append(p.args, v, v)
			return "((" + inEpochs("e.epoch") + " AND e.conversation = ?) OR (" + inEpochs("e.epoch") + " AND e.group_name = ?))", nil
		case search.FieldDirection:
			p.args = append(p.args, v)
			return "e.direction = ?", nil
		case search.FieldKind:
			p.args = append(p.args, v)
			return "e.kind = ?", nil
		case search.FieldHas:
			return "e.has_attachment = 1", nil
		case search.FieldCustodian:
			return c.custodianPred(v, p)
		case search.FieldFlag:
			if v == "any" {
				return "e.seq IN (SELECT seq FROM flags)", nil
			}
			p.args = append(p.args, v)
			return "e.seq IN (SELECT seq FROM flags WHERE flag = ?)", nil
		}
	}
	return "", fmt.Errorf("search: %s is not supported by the index", n)
}

func (c *compiler) custodianPred(name string, p *plan) (string, error) {
	if c.custodian == nil {
		return "", ErrNoCustodians
	}
	spans, err := c.custodian(c.ctx, name)
	if err != nil {
		if code := onrecord.ErrorCode(err); code == onrecord.ENOTFOUND || code == onrecord.EINVALID {
			return "", &CustodianError{Name: name, Err: err}
		}
		return "", fmt.Errorf("custodian:%s: %w", name, err) // the resolver's failure, not the query's
	}
	if len(spans) == 0 {
		return "0", nil
	}
	ors := make([]string, 0, len(spans))
	for _, sp := range spans {
		pred := "(e.seq IN (SELECT seq FROM participants WHERE " + inEpochs("epoch") + " AND id_norm = ?) AND e.channel = ?"
		p.args = append(p.args, normID(sp.ID), sp.Channel)
		if !sp.From.IsZero() {
			pred += " AND e.sent_at >= ?"
			p.args = append(p.args, sp.From.UnixNano())
		}
		if !sp.To.IsZero() {
			pred += " AND e.sent_at < ?"
			p.args = append(p.args, sp.To.UnixNano())
		}
		ors = append(ors, pred+")")
	}
	return "(" + strings.Join(ors, " OR ") + ")", nil
}
