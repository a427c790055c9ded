package search

import (
	"fmt"
	"strings"
	"time"
)

// Query is a parsed search: the expression tree and the time zone its
// dates are read in.
type Query struct {
	Root Node
	// Location is the zone that before:, after: and on: dates name days in.
	Location *time.Location
}

// String renders the query in canonical form; parsing it again gives the
// same tree.
func (q Query) String() string {
	if q.Root == nil {
		return ""
	}
	return q.Root.String()
}

// Node is one element of a query's expression tree: *Term, *Phrase,
// *Field, *DateFilter, *And, *Or or *Not.
type Node interface {
	// String renders the node in the query language.
	String() string
	node()
}

// Term is a bare word; with Prefix it matches every word starting with Text.
type Term struct {
	Text   string
	Prefix bool
}

// Phrase is quoted text: its words must appear together and in order.
type Phrase struct {
	Text string
}

// FieldName names a field filter.
type FieldName string

// The fields a query can filter on. Dates (before:, after:, on:) are
// DateFilter nodes, not Fields.
const (
	FieldFrom         FieldName = "from"
	FieldTo           FieldName = "to"
	FieldParticipant  FieldName = "participant"
	FieldChannel      FieldName = "channel"
	FieldConversation FieldName = "conversation"
	FieldDirection    FieldName = "direction"
	FieldKind         FieldName = "kind"
	FieldHas          FieldName = "has"
	FieldCustodian    FieldName = "custodian"
	// FieldFlag finds events captured with a flag (onrecord.Capture):
	// flag:unknown_contact, flag:unconsented_contact,
	// flag:ungoverned_group, flag:not_a_member, or flag:any.
	FieldFlag FieldName = "flag"
)

// Field filters on event metadata: from:alice, channel:whatsapp,
// has:attachment. Values of direction:, kind: and has: are normalised to
// their canonical lower-case names by the parser.
type Field struct {
	Name  FieldName
	Value string
}

// DateOp says how a DateFilter compares.
type DateOp string

const (
	// Before matches events sent before the start of the day.
	Before DateOp = "before"
	// After matches events sent on or after the start of the day
	// (inclusive, as in mail search: after:D before:D+1 is on:D).
	After DateOp = "after"
	// On matches events sent during the day.
	On DateOp = "on"
)

// Date is a calendar day, without a zone: the query's Location says which
// instants it covers.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day) }

// Start is the first instant of the day in loc.
func (d Date) Start(loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
}

// End is the first instant of the next day in loc (days are not always 24
// hours long where the zone has daylight saving time).
func (d Date) End(loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day+1, 0, 0, 0, 0, loc)
}

// DateFilter restricts the time an event was sent.
type DateFilter struct {
	Op   DateOp
	Date Date
}

// And matches what every one of its nodes matches. Nodes has at least two
// elements, none of them an *And.
type And struct{ Nodes []Node }

// Or matches what any one of its nodes matches. Nodes has at least two
// elements, none of them an *Or.
type Or struct{ Nodes []Node }

// Not matches what its node does not.
type Not struct{ Node Node }

func (*Term) node()       {}
func (*Phrase) node()     {}
func (*Field) node()      {}
func (*DateFilter) node() {}
func (*And) node()        {}
func (*Or) node()         {}
func (*Not) node()        {}

func (t *Term) String() string {
	if t.Prefix {
		return t.Text + "*"
	}
	return t.Text
}

func (p *Phrase) String() string { return `"` + p.Text + `"` }

func (f *Field) String() string { return string(f.Name) + ":" + renderValue(f.Value) }

func (d *DateFilter) String() string { return string(d.Op) + ":" + d.Date.String() }

func (a *And) String() string {
	parts := make([]string, len(a.Nodes))
	for i, n := range a.Nodes {
		if _, ok := n.(*Or); ok {
			parts[i] = "(" + n.String() + ")"
		} else {
			parts[i] = n.String()
		}
	}
	return strings.Join(parts, " ")
}

func (o *Or) String() string {
	parts := make([]string, len(o.Nodes))
	for i, n := range o.Nodes {
		parts[i] = n.String()
	}
	return strings.Join(parts, " OR ")
}

func (n *Not) String() string {
	switch n.Node.(type) {
	case *And, *Or:
		return "NOT (" + n.Node.String() + ")"
	}
	return "NOT " + n.Node.String()
}

// renderValue writes a field value bare when the lexer would read it back
// as one word, and quoted otherwise.
func renderValue(v string) string {
	if v == "" || v == "AND" || v == "OR" || v == "NOT" || strings.ContainsFunc(v, func(r rune) bool {
		return isSpace(r) || r == '(' || r == ')' || r == '"' || r == '*'
	}) {
		return `"` + v + `"`
	}
	return v
}

// Walk calls fn for n and every node below it, depth first.
func Walk(n Node, fn func(Node)) {
	fn(n)
	switch n := n.(type) {
	case *And:
		for _, c := range n.Nodes {
			Walk(c, fn)
		}
	case *Or:
		for _, c := range n.Nodes {
			Walk(c, fn)
		}
	case *Not:
		Walk(n.Node, fn)
	}
}
