package scim

import (
	"fmt"
	"strings"
)

// filter is a parsed SCIM filter (RFC 7644 §3.4.2.2): comparisons joined
// by and/or/not with parentheses, and value paths like
// emails[type eq "work"].
type filter interface {
	match(get func(path string) []string) bool
}

type cmpFilter struct {
	path, op, value string
}

type andFilter struct{ a, b filter }
type orFilter struct{ a, b filter }
type notFilter struct{ f filter }

func (f andFilter) match(get func(string) []string) bool { return f.a.match(get) && f.b.match(get) }
func (f orFilter) match(get func(string) []string) bool  { return f.a.match(get) || f.b.match(get) }
func (f notFilter) match(get func(string) []string) bool { return !f.f.match(get) }

func (f cmpFilter) match(get func(string) []string) bool {
	vals := get(strings.ToLower(f.path))
	if f.op == "pr" {
		for _, v := range vals {
			if v != "" {
				return true
			}
		}
		return false
	}
	want := strings.ToLower(f.value)
	for _, v := range vals {
		v = strings.ToLower(v) // SCIM string attributes here are case-insensitive (caseExact false)
		var ok bool
		switch f.op {
		case "eq":
			ok = v == want
		case "ne":
			ok = v != want
		case "co":
			ok = strings.Contains(v, want)
		case "sw":
			ok = strings.HasPrefix(v, want)
		case "ew":
			ok = strings.HasSuffix(v, want)
		case "gt":
			ok = v > want
		case "ge":
			ok = v >= want
		case "lt":
			ok = v < want
		case "le":
			ok = v <= want
		}
		if ok {
			return true
		}
	}
	return f.op == "ne" && len(vals) == 0
}

// parseFilter parses a filter expression.
func parseFilter(s string) (filter, error) {
	p := &filterParser{toks: tokenize(s)}
	if len(p.toks) == 0 {
		return nil, fmt.Errorf("empty filter")
	}
	f, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.i != len(p.toks) {
		return nil, fmt.Errorf("unexpected %q", p.toks[p.i])
	}
	return f, nil
}

type filterParser struct {
	toks []string
	i    int
}

func (p *filterParser) peek() string {
	if p.i < len(p.toks) {
		return p.toks[p.i]
	}
	return ""
}

func (p *filterParser) next() string {
	t := p.peek()
	p.i++
	return t
}

func (p *filterParser) or() (filter, error) {
	a, err := p.and()
	if err != nil {
		return nil, err
	}
	for strings.EqualFold(p.peek(), "or") {
		p.next()
		b, err := p.and()
		if err != nil {
			return nil, err
		}
		a = orFilter{a, b}
	}
	return a, nil
}

func (p *filterParser) and() (filter, error) {
	a, err := p.unary()
	if err != nil {
		return nil, err
	}
	for strings.EqualFold(p.peek(), "and") {
		p.next()
		b, err := p.unary()
		if err != nil {
			return nil, err
		}
		a = andFilter{a, b}
	}
	return a, nil
}

func (p *filterParser) unary() (filter, error) {
	switch t := p.peek(); {
	case strings.EqualFold(t, "not"):
		p.next()
		f, err := p.unary()
		if err != nil {
			return nil, err
		}
		return notFilter{f}, nil
	case t == "(":
		p.next()
		f, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.next() != ")" {
			return nil, fmt.Errorf("missing )")
		}
		return f, nil
	case t == "":
		return nil, fmt.Errorf("filter ends early")
	}
	path := p.next()
	// A value path: attr[filter] is true when an element matches; only
	// the simple attr[sub op value] form that Entra ID and Okta send.
	if open := strings.IndexByte(path, '['); open > 0 && strings.HasSuffix(path, "]") {
		inner, err := parseFilter(path[open+1 : len(path)-1])
		if err != nil {
			return nil, err
		}
		return valuePath{attr: path[:open], f: inner}, nil
	}
	op := strings.ToLower(p.next())
	switch op {
	case "pr":
		return cmpFilter{path: path, op: op}, nil
	case "eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le":
	default:
		return nil, fmt.Errorf("unknown operator %q after %s", op, path)
	}
	v := p.next()
	if v == "" {
		return nil, fmt.Errorf("%s %s: no value", path, op)
	}
	if strings.HasPrefix(v, `"`) {
		v = unquote(v)
	}
	return cmpFilter{path: path, op: op, value: v}, nil
}

// valuePath matches a multi-valued attribute's elements: members[value eq "x"].
type valuePath struct {
	attr string
	f    filter
}

func (v valuePath) match(get func(string) []string) bool {
	prefix := strings.ToLower(v.attr) + "."
	return v.f.match(func(sub string) []string { return get(prefix + sub) })
}

func unquote(s string) string {
	s = strings.TrimPrefix(strings.TrimSuffix(s, `"`), `"`)
	return strings.NewReplacer(`\"`, `"`, `\\`, `\`).Replace(s)
}

// tokenize splits a filter into words, quoted strings, parentheses and
// value paths (attr[...] kept whole).
func tokenize(s string) []string {
	var out []string
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			i++
		case c == '(' || c == ')':
			out = append(out, string(c))
			i++
		case c == '"':
			j := i + 1
			for j < len(s) && s[j] != '"' {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			out = append(out, s[i:min(j+1, len(s))])
			i = j + 1
		default:
			j := i
			depth := 0
			for j < len(s) {
				if s[j] == '[' {
					depth++
				} else if s[j] == ']' {
					depth--
				} else if depth == 0 && (s[j] == ' ' || s[j] == '(' || s[j] == ')') {
					break
				} else if s[j] == '"' && depth > 0 {
					j++
					for j < len(s) && s[j] != '"' {
						j++
					}
				}
				j++
			}
			out = append(out, s[i:min(j, len(s))])
			i = j
		}
	}
	return out
}
