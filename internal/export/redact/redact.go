// Package redact removes exempt information from a production before it
// is released (FOIA and the state public-records laws): it rewrites the
// produced copy of each record and never the archive, whose sealed records
// stay whole for the next request, the appeal and the court.
//
// Two things select what is withheld: rules, which run the policy
// detectors (SSNs, card numbers, IBANs, routing numbers, emails, phone
// numbers) over every text field of every item, and spans, which a
// reviewer marks on one field of one record. Each redacted stretch is
// replaced in place by a marker with the exemption code burned in,
// "[REDACTED (b)(6)]", so the reader sees where and why.
//
// A redaction that can be undone is a disclosure, so Apply also removes
// the redacted text from everywhere else the production carries it: every
// other occurrence of the same string in any text field of any item (the
// edit that repeats the SSN, the reply that quotes the name), the
// provider's raw payload of the record, and attachments whose bytes hold
// it. The log it returns says what was withheld, where, why and how much,
// and never what.
package redact

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/export"
	"github.com/onrecord/onrecord/internal/policy/detect"
)

// Rule redacts everything one detector finds, in every text field of every
// item, under one exemption code.
type Rule struct {
	// Detector is "ssn", "card", "iban", "aba", "email", "phone" (or the
	// detect package's names for them: "us_ssn", "payment_card",
	// "aba_routing"), or "*" for every built-in detector not given a rule
	// of its own.
	Detector string `json:"detector"`
	// Code is the exemption burned into the marker, e.g. "(b)(6)".
	Code string `json:"code"`
	// Reason is logged with each redaction; empty gives a description of
	// what the detector finds ("US social security number").
	Reason string `json:"reason,omitempty"`
}

// Span redacts a stretch of one field of one record that a reviewer
// marked.
type Span struct {
	Seq uint64 `json:"seq"`
	// Field names the text field: "body", "sender.id", "sender.name",
	// "recipients[0].name", "attachments[0].name", "meta.KEY" (the value
	// stored under KEY), "meta-key.KEY" (the key itself),
	// "capture.roster[0].name" (and .address, .person: a governed
	// group's members), and the other text fields by their JSON names
	// ("group_name", "status_error", "capture.group_id"...).
	Field string `json:"field"`
	// Start and End are byte offsets into the field's value, End
	// exclusive; both must fall on UTF-8 character boundaries.
	Start  int    `json:"start"`
	End    int    `json:"end"`
	Code   string `json:"code"`
	Reason string `json:"reason,omitempty"`
}

// Options say what to redact.
type Options struct {
	Rules []Rule `json:"rules,omitempty"`
	Spans []Span `json:"spans,omitempty"`
	// DropAttachments withholds the files of every record with a
	// redaction, keeping each file's name and content type and putting
	// "withheld CODE" in its error: a photo or PDF can show the text that
	// was redacted, and no detector reads it. A file whose bytes contain a
	// redacted string is withheld whatever this says.
	DropAttachments bool `json:"drop_attachments,omitempty"`
	// Region is the default region of phone numbers written without a
	// country code (default "US").
	Region string `json:"region,omitempty"`
}

// Entry is one line of the redaction log: a stretch withheld from a field,
// or a whole raw payload or file. It never holds the withheld text.
type Entry struct {
	Seq   uint64 `json:"seq"`
	Bates string `json:"bates,omitempty"`
	// Field is the field as produced ("body", "meta.KEY", "raw",
	// "attachments[0].data"); a redacted meta key is named by its produced
	// form.
	Field string `json:"field"`
	// Start and End are byte offsets into the archived value, End
	// exclusive, so that the archive's custodian can find what was
	// withheld; for raw and attachment data they cover the whole value.
	Start int `json:"start"`
	End   int `json:"end"`
	// Code is the exemption code, or codes joined by ", " when redactions
	// under different codes touched and were merged.
	Code string `json:"code"`
	// Source is what asked for the redaction: a detector's name, "span",
	// "repeat" (the same text redacted elsewhere in the production), "raw"
	// or "attachment"; merged redactions list theirs joined by ", ".
	Source string `json:"source"`
	Reason string `json:"reason,omitempty"`
	// Length is how much was withheld: characters for a text field, bytes
	// for raw and attachment data.
	Length int `json:"length"`
}

// Sources named in the log besides the detectors.
const (
	SourceSpan       = "span"
	SourceRepeat     = "repeat"
	SourceRaw        = "raw"
	SourceAttachment = "attachment"
)

// SpanError is a span that cannot be applied; a review tool can point the
// reviewer at it.
type SpanError struct {
	Index   int // position in Options.Spans
	Seq     uint64
	Field   string
	Problem string
}

func (e *SpanError) Error() string {
	return fmt.Sprintf("redact: span %d (seq %d, field %q): %s", e.Index, e.Seq, e.Field, e.Problem)
}

// aliases maps the short detector names a records officer writes to the
// detect package's names.
var aliases = map[string]string{
	"card": detect.Card, "ssn": detect.SSN, "aba": detect.ABA,
	detect.Card: detect.Card, detect.SSN: detect.SSN, detect.ABA: detect.ABA,
	detect.IBAN: detect.IBAN, detect.Email: detect.Email, detect.Phone: detect.Phone,
}

// descriptions are the default reasons logged for each detector.
var descriptions = map[string]string{
	detect.Card:  "payment card number",
	detect.SSN:   "US social security number",
	detect.IBAN:  "bank account number (IBAN)",
	detect.ABA:   "bank routing number",
	detect.Email: "email address",
	detect.Phone: "phone number",
}

// Apply redacts items for release and returns the produced items, in the
// same order, and the log, ordered by seq, field (in the event's field
// order) and offset. Items with nothing to redact are returned as they
// are; every other event is a copy, so the caller's items and events are
// never changed. The same input gives the same output, whatever the order
// of rules and spans.
//
// It fails, changing nothing, on a rule naming an unknown detector, a
// missing or malformed code, an item without an event, a seq twice in
// items, or a span that names no item or field, is empty, or falls outside
// the field or inside a UTF-8 character (a *SpanError).
func Apply(items []export.Item, opts Options) ([]export.Item, []Entry, error) {
	det, err := compileRules(opts.Rules, opts.Region)
	if err != nil {
		return nil, nil, err
	}
	recs := make([]*record, len(items))
	bySeq := make(map[uint64]*record, len(items))
	for i, it := range items {
		if it.Event == nil {
			return nil, nil, fmt.Errorf("redact: item %d (seq %d) has no event", i, it.Seq)
		}
		if _, dup := bySeq[it.Seq]; dup {
			return nil, nil, fmt.Errorf("redact: seq %d is in the production twice", it.Seq)
		}
		r := newRecord(it)
		recs[i], bySeq[it.Seq] = r, r
	}
	for i, sp := range opts.Spans {
		if err := addSpan(bySeq, i, sp); err != nil {
			return nil, nil, err
		}
	}
	for _, r := range recs {
		if err := r.scan(det); err != nil {
			return nil, nil, err
		}
	}
	secrets := collectSecrets(recs)
	for _, r := range recs {
		r.findRepeats(secrets)
	}

	out := make([]export.Item, len(items))
	var log []entry
	for i, r := range recs {
		it, es := r.produce(opts, det, secrets)
		out[i] = it
		log = append(log, es...)
	}
	slices.SortStableFunc(log, func(a, b entry) int {
		return cmp.Or(cmp.Compare(a.Seq, b.Seq), cmp.Compare(a.ord, b.ord), cmp.Compare(a.Start, b.Start))
	})
	entries := make([]Entry, len(log))
	for i, e := range log {
		// A reviewer's reason can quote what it redacts ("Bob's SSN
		// 123-45-6789"); the log is released with the production.
		e.Reason = scrub(e.Reason, secrets)
		entries[i] = e.Entry
	}
	return out, entries, nil
}

// rule is a compiled Rule.
type rule struct{ code, reason string }

// detectors are the detectors the rules switched on.
type detectors struct {
	rules map[string]rule
	opts  detect.Options
}

func compileRules(rs []Rule, region string) (*detectors, error) {
	d := &detectors{rules: map[string]rule{}}
	var star *rule
	for i, r := range rs {
		code, err := checkCode(r.Code)
		if err != nil {
			return nil, fmt.Errorf("redact: rule %d (%s): %w", i, r.Detector, err)
		}
		if r.Detector == "*" {
			if star != nil {
				return nil, fmt.Errorf("redact: rule %d: a second rule for \"*\"", i)
			}
			star = &rule{code: code, reason: r.Reason}
			continue
		}
		name, ok := aliases[strings.ToLower(strings.TrimSpace(r.Detector))]
		if !ok {
			return nil, fmt.Errorf("redact: rule %d: detector %q is not one of ssn, card, iban, aba, email, phone or *", i, r.Detector)
		}
		if _, dup := d.rules[name]; dup {
			return nil, fmt.Errorf("redact: rule %d: a second rule for %s; which code applies?", i, name)
		}
		d.rules[name] = rule{code: code, reason: cmp.Or(r.Reason, descriptions[name])}
	}
	if star != nil {
		for _, name := range detect.Builtin {
			if _, ok := d.rules[name]; !ok {
				d.rules[name] = rule{code: star.code, reason: cmp.Or(star.reason, descriptions[name])}
			}
		}
	}
	for _, name := range detect.Builtin { // Builtin order: the order Scan runs them
		if _, ok := d.rules[name]; ok {
			d.opts.Detectors = append(d.opts.Detectors, name)
		}
	}
	d.opts.Region = region
	return d, nil
}

// scan runs the switched-on detectors over text. With no rules it finds
// nothing: detect.Scan with no detectors named runs them all.
func (d *detectors) scan(text string) []detect.Finding {
	if len(d.opts.Detectors) == 0 || text == "" {
		return nil
	}
	return detect.Scan(text, d.opts)
}

// checkCode returns the code trimmed, or why it cannot be burned into a
// marker.
func checkCode(code string) (string, error) {
	code = strings.TrimSpace(code)
	switch {
	case code == "":
		return "", errors.New(`an exemption code is required, e.g. "(b)(6)"`)
	case len(code) > 64:
		return "", fmt.Errorf("code of %d bytes is too long for a marker (at most 64)", len(code))
	case !utf8.ValidString(code):
		return "", errors.New("code is not valid UTF-8")
	case strings.IndexFunc(code, unicode.IsControl) >= 0:
		return "", fmt.Errorf("code %q contains a control character", code)
	case strings.ContainsAny(code, "[]"):
		// A bracket would let a marker begin or end inside another, and
		// "where does the redaction end" must have one answer.
		return "", fmt.Errorf("code %q may not contain [ or ]", code)
	}
	return code, nil
}

// marker is what replaces redacted text.
func marker(codes []string) string { return "[REDACTED " + strings.Join(codes, ", ") + "]" }

// hit is one request to redact [start,end) of a field.
type hit struct {
	start, end int
	codes      []string
	source     string
	reason     string
}

// region is a stretch of a field that is replaced by one marker: hits that
// overlap or touch, merged, so that the marker count does not tell how
// many things were withheld side by side.
type region struct {
	start, end int
	codes      []string
	sources    []string
	reasons    []string
}

// entry is a log entry with the position of its field in the event, for
// ordering.
type entry struct {
	Entry
	ord int
}

// record is one item while it is being redacted.
type record struct {
	item   export.Item
	fields []textField
	byName map[string]int
	// direct are the hits of spans and detectors, repeats those of text
	// redacted elsewhere; both per field.
	direct, repeats [][]hit
}

func newRecord(it export.Item) *record {
	fs := fieldsOf(it.Event)
	r := &record{item: it, fields: fs, byName: make(map[string]int, len(fs)),
		direct: make([][]hit, len(fs)), repeats: make([][]hit, len(fs))}
	for k, f := range fs {
		r.byName[f.name] = k
	}
	return r
}

func addSpan(bySeq map[uint64]*record, i int, sp Span) error {
	bad := func(format string, args ...any) error {
		return &SpanError{Index: i, Seq: sp.Seq, Field: sp.Field, Problem: fmt.Sprintf(format, args...)}
	}
	r, ok := bySeq[sp.Seq]
	if !ok {
		return bad("no item in the production has this seq")
	}
	k, ok := r.byName[sp.Field]
	if !ok {
		return bad("the event has no such text field (body, sender.name, recipients[0].name, attachments[0].name, meta.KEY...)")
	}
	code, err := checkCode(sp.Code)
	if err != nil {
		return bad("%v", err)
	}
	v := r.fields[k].value
	switch {
	case sp.Start < 0 || sp.End > len(v) || sp.Start >= sp.End:
		return bad("[%d,%d) is not a non-empty range inside the field's %d bytes", sp.Start, sp.End, len(v))
	case !runeBoundary(v, sp.Start) || !runeBoundary(v, sp.End):
		return bad("[%d,%d) cuts through a UTF-8 character", sp.Start, sp.End)
	}
	r.direct[k] = append(r.direct[k], hit{start: sp.Start, end: sp.End, codes: []string{code}, source: SourceSpan, reason: sp.Reason})
	return nil
}

func runeBoundary(s string, i int) bool { return i == len(s) || utf8.RuneStart(s[i]) }

// scan adds the detectors' findings in every field of r.
func (r *record) scan(d *detectors) error {
	for k, f := range r.fields {
		for _, fd := range d.scan(f.value) {
			ru, ok := d.rules[fd.Detector]
			if !ok {
				continue
			}
			if fd.Start < 0 || fd.End > len(f.value) || fd.Start >= fd.End {
				return fmt.Errorf("redact: seq %d field %s: detector %s reported [%d,%d) outside the field's %d bytes",
					r.item.Seq, f.name, fd.Detector, fd.Start, fd.End, len(f.value))
			}
			r.direct[k] = append(r.direct[k], hit{start: fd.Start, end: fd.End, codes: []string{ru.code}, source: fd.Detector, reason: ru.reason})
		}
	}
	return nil
}

// secret is a string redacted somewhere in the production, which must
// therefore be gone from all of it.
type secret struct {
	text  string
	codes []string
	seq   uint64 // the lowest seq it was redacted in, for the log
}

// collectSecrets gathers the text of every span and finding, ordered by
// text. Each is kept whole rather than merged with its neighbours: two
// overlapping spans each mark something the reviewer wanted gone.
func collectSecrets(recs []*record) []*secret {
	byText := map[string]*secret{}
	for _, r := range recs {
		for k, f := range r.fields {
			for _, h := range r.direct[k] {
				t := f.value[h.start:h.end]
				s, ok := byText[t]
				if !ok {
					s = &secret{text: t, seq: r.item.Seq}
					byText[t] = s
				}
				s.codes = union(s.codes, h.codes)
				s.seq = min(s.seq, r.item.Seq)
			}
		}
	}
	list := make([]*secret, 0, len(byText))
	for _, s := range byText {
		list = append(list, s)
	}
	slices.SortFunc(list, func(a, b *secret) int { return strings.Compare(a.text, b.text) })
	return list
}

// findRepeats adds a hit for every occurrence of a secret in r that no
// direct hit already covers. Matching is exact and byte for byte, and a
// short span therefore redacts every occurrence of its text: an edit, a
// quote or a meta value repeating it would otherwise give it back.
//
// strings.Index per secret is quadratic in principle, but productions hold
// few distinct redacted strings and short fields, and this is the code
// that must be obviously right.
func (r *record) findRepeats(secrets []*secret) {
	for k, f := range r.fields {
		for _, s := range secrets {
			for _, at := range occurrences(f.value, s.text) {
				end := at + len(s.text)
				if slices.ContainsFunc(r.direct[k], func(h hit) bool { return h.start <= at && end <= h.end }) {
					continue
				}
				r.repeats[k] = append(r.repeats[k], hit{start: at, end: end, codes: s.codes, source: SourceRepeat,
					reason: fmt.Sprintf("same text as a redaction in seq %d", s.seq)})
			}
		}
	}
}

// occurrences returns the offset of every occurrence of sub in text,
// overlapping ones included ("aa" twice in "aaa").
func occurrences(text, sub string) []int {
	if sub == "" {
		return nil
	}
	var out []int
	for i := 0; i+len(sub) <= len(text); {
		j := strings.Index(text[i:], sub)
		if j < 0 {
			break
		}
		out = append(out, i+j)
		i += j + 1
	}
	return out
}

// merge sorts hits and merges those that overlap or touch.
func merge(hits []hit) []region {
	hs := slices.Clone(hits)
	slices.SortFunc(hs, func(a, b hit) int { return cmp.Or(cmp.Compare(a.start, b.start), cmp.Compare(a.end, b.end)) })
	var out []region
	for _, h := range hs {
		if n := len(out); n == 0 || h.start > out[n-1].end {
			out = append(out, region{start: h.start, end: h.end})
		}
		g := &out[len(out)-1]
		g.end = max(g.end, h.end)
		g.codes = append(g.codes, h.codes...)
		g.sources = append(g.sources, h.source)
		if h.reason != "" {
			g.reasons = append(g.reasons, h.reason)
		}
	}
	for i := range out {
		g := &out[i]
		g.codes, g.sources, g.reasons = union(g.codes, nil), union(g.sources, nil), union(g.reasons, nil)
	}
	return out
}

// burn replaces each region of s with its marker.
func burn(s string, regions []region) string {
	var b strings.Builder
	pos := 0
	for _, g := range regions {
		b.WriteString(s[pos:g.start])
		b.WriteString(marker(g.codes))
		pos = g.end
	}
	b.WriteString(s[pos:])
	return b.String()
}

// scrub burns every secret out of s.
func scrub(s string, secrets []*secret) string {
	var hits []hit
	for _, sc := range secrets {
		for _, at := range occurrences(s, sc.text) {
			hits = append(hits, hit{start: at, end: at + len(sc.text), codes: sc.codes})
		}
	}
	if len(hits) == 0 {
		return s
	}
	return burn(s, merge(hits))
}

// union returns the sorted set of a and b's elements, in a new slice.
func union(a, b []string) []string {
	out := make([]string, 0, len(a)+len(b))
	out = append(append(out, a...), b...)
	slices.Sort(out)
	return slices.Compact(out)
}

// produce returns r's item as released, and its log entries.
func (r *record) produce(opts Options, d *detectors, secrets []*secret) (export.Item, []entry) {
	ev := r.item.Event
	produced := make([]string, len(r.fields))
	regions := make([][]region, len(r.fields))
	var codes []string // every code redacted under in this record
	for k, f := range r.fields {
		produced[k] = f.value
		hits := append(slices.Clone(r.direct[k]), r.repeats[k]...)
		if len(hits) == 0 {
			continue
		}
		regions[k] = merge(hits)
		produced[k] = burn(f.value, regions[k])
		for _, g := range regions[k] {
			codes = union(codes, g.codes)
		}
	}
	names, meta := r.producedNames(produced)
	var log []entry
	add := func(ord int, e Entry) {
		e.Seq, e.Bates = r.item.Seq, r.item.Bates
		log = append(log, entry{Entry: e, ord: ord})
	}
	for k, f := range r.fields {
		for _, g := range regions[k] {
			add(2*k, Entry{Field: names[k], Start: g.start, End: g.end, Code: strings.Join(g.codes, ", "),
				Source: strings.Join(g.sources, ", "), Reason: strings.Join(g.reasons, "; "),
				Length: utf8.RuneCountInString(f.value[g.start:g.end])})
		}
	}
	textRedacted := len(codes) > 0

	// Files: those of a redacted record when asked, and any whose bytes
	// hold a redacted string, which a reader would simply open.
	withheld := make(map[int]string, len(ev.Attachments)) // index → code
	for i, a := range ev.Attachments {
		var wc []string
		reason := ""
		if opts.DropAttachments && textRedacted {
			wc, reason = codes, "file of a redacted record withheld"
		}
		for _, s := range secrets {
			if bytes.Contains(a.Data, []byte(s.text)) {
				wc, reason = union(wc, s.codes), "file withheld: it contains redacted text"
			}
		}
		if wc == nil {
			continue
		}
		code := strings.Join(wc, ", ")
		withheld[i] = code
		codes = union(codes, wc)
		ord := 2*r.byName[fmt.Sprintf("attachments[%d].error", i)] + 1
		add(ord, Entry{Field: fmt.Sprintf("attachments[%d].data", i), End: len(a.Data), Code: code,
			Source: SourceAttachment, Reason: reason, Length: len(a.Data)})
	}

	// The raw payload goes whenever anything in the record changed: it
	// repeats the body, names and numbers in the provider's own format,
	// and a file's digest in it would let a guess at the file be checked.
	// A record left alone loses it too if it holds a redacted string or
	// something a rule's detector finds, in any of its encodings.
	dropRaw, rawReason := false, ""
	switch {
	case len(ev.Raw) == 0:
	case len(codes) > 0:
		dropRaw, rawReason = true, "provider payload of a redacted record withheld"
	default:
		if rc, why := rawLeak(ev.Raw, d, secrets); len(rc) > 0 {
			dropRaw, rawReason = true, "provider payload withheld: "+why
			codes = rc
		}
	}
	if dropRaw {
		add(2*len(r.fields)+1, Entry{Field: "raw", End: len(ev.Raw), Code: strings.Join(codes, ", "),
			Source: SourceRaw, Reason: rawReason, Length: len(ev.Raw)})
	}

	if !textRedacted && len(withheld) == 0 && !dropRaw {
		return r.item, nil
	}
	cp := cloneEvent(ev)
	for k, f := range r.fields {
		if f.set != nil {
			f.set(cp, produced[k])
		}
	}
	cp.Meta = meta
	for i, code := range withheld {
		a := &cp.Attachments[i]
		// Only what names the file stays: its digest and size would let
		// a guess at a small file be confirmed, and its blob key and
		// provider reference would fetch it.
		*a = onrecord.Attachment{Name: a.Name, ContentType: a.ContentType, Error: "withheld " + code}
	}
	if dropRaw {
		cp.Raw = nil
	}
	it := r.item
	it.Event = cp
	return it, log
}

// producedNames returns the log name of each field and the produced meta
// map. A redacted meta key takes its redacted form as its name, made
// unique with " (2)", " (3)"... after the keys left alone have kept
// theirs.
func (r *record) producedNames(produced []string) ([]string, map[string]string) {
	names := make([]string, len(r.fields))
	keyOf := map[string]string{} // original key → produced key
	used := map[string]bool{}
	for k, f := range r.fields {
		names[k] = f.name
		if f.kind == metaKeyField && produced[k] == f.value {
			keyOf[f.metaKey], used[f.value] = f.value, true
		}
	}
	for k, f := range r.fields {
		if f.kind != metaKeyField || produced[k] == f.value {
			continue
		}
		key := produced[k]
		for n := 2; used[key]; n++ {
			key = fmt.Sprintf("%s (%d)", produced[k], n)
		}
		keyOf[f.metaKey], used[key] = key, true
	}
	var meta map[string]string
	if r.item.Event.Meta != nil {
		meta = make(map[string]string, len(r.item.Event.Meta))
	}
	for k, f := range r.fields {
		switch f.kind {
		case metaKeyField:
			names[k] = "meta-key." + keyOf[f.metaKey]
		case metaValueField:
			names[k] = "meta." + keyOf[f.metaKey]
			meta[keyOf[f.metaKey]] = produced[k]
		}
	}
	return names, meta
}

// rawLeak reports the codes under which raw must be withheld from a record
// that has no redaction of its own, and why: it holds a redacted string,
// or a switched-on detector finds something in it. The payload is read as
// it is, and also decoded as JSON or as a form (Twilio), because an
// escape ("\u0040", "%40") hides a string from a byte search.
func rawLeak(raw []byte, d *detectors, secrets []*secret) ([]string, string) {
	var codes, found []string
	repeats := false
	for _, t := range rawTexts(raw) {
		for _, s := range secrets {
			if strings.Contains(t, s.text) {
				codes, repeats = union(codes, s.codes), true
			}
		}
		for _, fd := range d.scan(t) {
			if ru, ok := d.rules[fd.Detector]; ok {
				codes, found = union(codes, []string{ru.code}), union(found, []string{fd.Detector})
			}
		}
	}
	var why []string
	if repeats {
		why = append(why, "it contains redacted text")
	}
	if len(found) > 0 {
		why = append(why, "detectors found "+strings.Join(found, ", ")+" in it")
	}
	return codes, strings.Join(why, "; ")
}

// rawTexts returns raw as text and, when it decodes as JSON or as a form,
// every key and value in it.
func rawTexts(raw []byte) []string {
	out := []string{string(raw)}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // a number too big for a float64 (a card number) stays exact
	var v any
	if err := dec.Decode(&v); err == nil {
		var walk func(any)
		walk = func(v any) {
			switch v := v.(type) {
			case string:
				out = append(out, v)
			case json.Number:
				out = append(out, v.String())
			case []any:
				for _, e := range v {
					walk(e)
				}
			case map[string]any:
				for k, e := range v {
					out = append(out, k)
					walk(e)
				}
			}
		}
		walk(v)
		return out
	}
	if q, err := url.ParseQuery(string(raw)); err == nil {
		for k, vs := range q {
			out = append(out, k)
			out = append(out, vs...)
		}
	}
	return out
}
