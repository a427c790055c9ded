package redact

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/export"
	"github.com/onrecord/onrecord/internal/policy/detect"
)

// fixtureItem is an item as written in testdata: the event in its JSON
// form, with the raw payload and attachment bytes as readable text.
type fixtureItem struct {
	Seq      uint64         `json:"seq"`
	Bates    string         `json:"bates"`
	Event    onrecord.Event `json:"event"`
	RawText  string         `json:"raw_text"`
	DataText []string       `json:"data_text"`
}

// loadItems reads testdata/name, replacing each {{KEY}} of repl in the
// file's text first.
func loadItems(tb testing.TB, name string, repl map[string]string) []export.Item {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	s := string(b)
	for k, v := range repl {
		s = strings.ReplaceAll(s, "{{"+k+"}}", v)
	}
	var fx []fixtureItem
	if err := json.Unmarshal([]byte(s), &fx); err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	items := make([]export.Item, len(fx))
	for i, f := range fx {
		ev := f.Event
		if f.RawText != "" {
			ev.Raw = []byte(f.RawText)
		}
		for j, d := range f.DataText {
			ev.Attachments[j].Data = []byte(d)
		}
		items[i] = export.Item{Seq: f.Seq, Bates: f.Bates, Event: &ev}
	}
	return items
}

// snapshot is the whole of items as JSON (attachment bytes and raw
// payloads included), to tell whether anything in them changed.
func snapshot(tb testing.TB, items []export.Item) string {
	tb.Helper()
	b, err := json.Marshal(items)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// field returns the value of the named text field of ev.
func field(tb testing.TB, ev *onrecord.Event, name string) string {
	tb.Helper()
	for _, f := range fieldsOf(ev) {
		if f.name == name {
			return f.value
		}
	}
	tb.Fatalf("event has no field %q", name)
	return ""
}

// leaks lists where s can still be read in items: their JSON encoding, and
// the raw payloads and attachment bytes, which JSON shows as base64.
func leaks(tb testing.TB, items []export.Item, s string) []string {
	tb.Helper()
	var out []string
	for _, it := range items {
		j, err := json.Marshal(it.Event)
		if err != nil {
			tb.Fatal(err)
		}
		if strings.Contains(string(j), s) {
			out = append(out, fmt.Sprintf("seq %d JSON: %s", it.Seq, j))
		}
		if bytes.Contains(it.Event.Raw, []byte(s)) {
			out = append(out, fmt.Sprintf("seq %d raw", it.Seq))
		}
		for i, a := range it.Event.Attachments {
			if bytes.Contains(a.Data, []byte(s)) {
				out = append(out, fmt.Sprintf("seq %d attachment %d data", it.Seq, i))
			}
		}
	}
	return out
}

func message(body string) []export.Item {
	return []export.Item{{Seq: 1, Bates: "B-1", Event: &onrecord.Event{Channel: "sms", Kind: onrecord.KindMessage,
		ProviderID: "SM1", Conversation: "c1", Direction: onrecord.Inbound, Sender: onrecord.Party{ID: "p1"},
		SentAt: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), Body: body}}}
}

func TestApply_RulesRedactWhatDetectorsFindWithTheirCode(t *testing.T) {
	body := func(start, end int, code, source, reason string, length int) Entry {
		return Entry{Seq: 1, Bates: "B-1", Field: "body", Start: start, End: end, Code: code, Source: source, Reason: reason, Length: length}
	}
	tests := []struct {
		name    string
		rules   []Rule
		in      string
		want    string
		wantLog []Entry
	}{
		{"ssn", []Rule{{Detector: "ssn", Code: "(b)(6)"}},
			"My SSN is 123-45-6789.", "My SSN is [REDACTED (b)(6)].",
			[]Entry{body(10, 21, "(b)(6)", "us_ssn", "US social security number", 11)}},
		{"card", []Rule{{Detector: "card", Code: "(b)(4)"}},
			"card 4111 1111 1111 1111 exp 12/29", "card [REDACTED (b)(4)] exp 12/29",
			[]Entry{body(5, 24, "(b)(4)", "payment_card", "payment card number", 19)}},
		{"email with the rule's own reason", []Rule{{Detector: "email", Code: "(b)(6)", Reason: "personal email"}},
			"write to jose@example.com today", "write to [REDACTED (b)(6)] today",
			[]Entry{body(9, 25, "(b)(6)", "email", "personal email", 16)}},
		{"star covers every detector", []Rule{{Detector: "*", Code: "(b)(6)"}},
			"SSN 123-45-6789, card 4111111111111111", "SSN [REDACTED (b)(6)], card [REDACTED (b)(6)]",
			[]Entry{body(4, 15, "(b)(6)", "us_ssn", "US social security number", 11),
				body(22, 38, "(b)(6)", "payment_card", "payment card number", 16)}},
		{"a rule of its own beats star", []Rule{{Detector: "*", Code: "(b)(6)"}, {Detector: "SSN", Code: "(b)(7)(C)"}},
			"SSN 123-45-6789 mail a@b.org", "SSN [REDACTED (b)(7)(C)] mail [REDACTED (b)(6)]",
			[]Entry{body(4, 15, "(b)(7)(C)", "us_ssn", "US social security number", 11),
				body(21, 28, "(b)(6)", "email", "email address", 7)}},
		{"the detect package's names work too", []Rule{{Detector: "us_ssn", Code: " (b)(6) "}},
			"123-45-6789", "[REDACTED (b)(6)]",
			[]Entry{body(0, 11, "(b)(6)", "us_ssn", "US social security number", 11)}},
		{"a rule for another detector leaves the text alone", []Rule{{Detector: "iban", Code: "(b)(6)"}},
			"SSN 123-45-6789", "SSN 123-45-6789", nil},
		{"no rules run no detectors", nil, "SSN 123-45-6789", "SSN 123-45-6789", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, log, err := Apply(message(tt.in), Options{Rules: tt.rules})
			if err != nil {
				t.Fatal(err)
			}
			if got := out[0].Event.Body; got != tt.want {
				t.Errorf("body = %q, want %q", got, tt.want)
			}
			if !slices.Equal(log, tt.wantLog) {
				t.Errorf("log =\n%+v\nwant\n%+v", log, tt.wantLog)
			}
		})
	}
}

func TestApply_SpansRedactTheFieldTheyName(t *testing.T) {
	items := loadItems(t, "production.json", nil)
	at := func(seq uint64, fieldName, sub string) Span {
		for _, it := range items {
			if it.Seq == seq {
				v := field(t, it.Event, fieldName)
				i := strings.Index(v, sub)
				if i < 0 {
					t.Fatalf("%q not in seq %d %s", sub, seq, fieldName)
				}
				return Span{Seq: seq, Field: fieldName, Start: i, End: i + len(sub), Code: "(b)(6)"}
			}
		}
		t.Fatalf("no seq %d", seq)
		return Span{}
	}
	tests := []struct {
		name       string
		span       Span
		want       string // the field afterwards
		wantLength int    // characters withheld
	}{
		{"multi-byte name in the body", at(14, "body", "Zoë"), "Grüße an [REDACTED (b)(6)] — see the attached notes 👍🏽", 3},
		{"emoji with a skin tone", at(14, "body", "👍🏽"), "Grüße an Zoë — see the attached notes [REDACTED (b)(6)]", 2},
		{"dash and emoji at the end", at(14, "body", " — see the attached notes 👍🏽"), "Grüße an Zoë[REDACTED (b)(6)]", 28},
		{"sender name", at(14, "sender.name", "Ångström"), "Zoë [REDACTED (b)(6)]", 8},
		{"recipient name", at(11, "recipients[0].name", "Records"), "[REDACTED (b)(6)] Office", 7},
		{"meta value", at(14, "meta.lat", "52.52"), "[REDACTED (b)(6)]", 5},
		{"attachment name", at(14, "attachments[0].name", "notes"), "[REDACTED (b)(6)].txt", 5},
		{"group name", at(14, "group_name", "Zoë's"), "[REDACTED (b)(6)] team", 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, log, err := Apply(items, Options{Spans: []Span{tt.span}})
			if err != nil {
				t.Fatal(err)
			}
			var got *onrecord.Event
			for _, it := range out {
				if it.Seq == tt.span.Seq {
					got = it.Event
				}
			}
			if v := field(t, got, tt.span.Field); v != tt.want {
				t.Errorf("%s = %q, want %q", tt.span.Field, v, tt.want)
			}
			var e *Entry
			for i := range log {
				if log[i].Seq == tt.span.Seq && log[i].Field == tt.span.Field {
					e = &log[i]
				}
			}
			if e == nil {
				t.Fatalf("no log entry for seq %d %s: %+v", tt.span.Seq, tt.span.Field, log)
			}
			if e.Start != tt.span.Start || e.End != tt.span.End || e.Length != tt.wantLength || e.Source != SourceSpan || e.Code != "(b)(6)" {
				t.Errorf("entry %+v, want [%d,%d) length %d source span code (b)(6)", *e, tt.span.Start, tt.span.End, tt.wantLength)
			}
		})
	}
}

func TestApply_BadSpansAreRefusedNamingSeqAndField(t *testing.T) {
	items := loadItems(t, "production.json", nil)
	body14 := field(t, items[3].Event, "body") // "Grüße an Zoë — ..."
	inE := strings.Index(body14, "ë") + 1      // inside the two bytes of ë
	tests := []struct {
		name        string
		span        Span
		wantProblem string
	}{
		{"inside a character", Span{Seq: 14, Field: "body", Start: 0, End: inE, Code: "(b)(6)"}, "cuts through a UTF-8 character"},
		{"starting inside a character", Span{Seq: 14, Field: "body", Start: inE, End: inE + 3, Code: "(b)(6)"}, "cuts through a UTF-8 character"},
		{"past the end", Span{Seq: 14, Field: "body", Start: 0, End: len(body14) + 1, Code: "(b)(6)"}, "inside the field"},
		{"negative start", Span{Seq: 14, Field: "body", Start: -1, End: 3, Code: "(b)(6)"}, "inside the field"},
		{"empty", Span{Seq: 14, Field: "body", Start: 3, End: 3, Code: "(b)(6)"}, "non-empty"},
		{"reversed", Span{Seq: 14, Field: "body", Start: 5, End: 2, Code: "(b)(6)"}, "non-empty"},
		{"in an empty field", Span{Seq: 14, Field: "status_error", Start: 0, End: 1, Code: "(b)(6)"}, "inside the field"},
		{"unknown seq", Span{Seq: 99, Field: "body", Start: 0, End: 1, Code: "(b)(6)"}, "no item"},
		{"a field that is not text", Span{Seq: 14, Field: "kind", Start: 0, End: 1, Code: "(b)(6)"}, "no such text field"},
		{"a recipient that is not there", Span{Seq: 11, Field: "recipients[3].name", Start: 0, End: 1, Code: "(b)(6)"}, "no such text field"},
		{"a meta key that is not there", Span{Seq: 14, Field: "meta.nope", Start: 0, End: 1, Code: "(b)(6)"}, "no such text field"},
		{"no code", Span{Seq: 14, Field: "body", Start: 0, End: 1}, "exemption code is required"},
		{"a bracket in the code", Span{Seq: 14, Field: "body", Start: 0, End: 1, Code: "(b)[6]"}, "may not contain"},
		{"a line break in the code", Span{Seq: 14, Field: "body", Start: 0, End: 1, Code: "(b)\n(6)"}, "control character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := snapshot(t, items)
			good := Span{Seq: 11, Field: "body", Start: 0, End: 2, Code: "(b)(6)"}
			out, log, err := Apply(items, Options{Spans: []Span{good, tt.span}})
			var se *SpanError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want a *SpanError", err)
			}
			if se.Index != 1 || se.Seq != tt.span.Seq || se.Field != tt.span.Field || !strings.Contains(se.Problem, tt.wantProblem) {
				t.Errorf("error %+v, want span 1, seq %d, field %q, problem containing %q", *se, tt.span.Seq, tt.span.Field, tt.wantProblem)
			}
			msg := err.Error()
			if !strings.Contains(msg, fmt.Sprintf("seq %d", tt.span.Seq)) || !strings.Contains(msg, fmt.Sprintf("%q", tt.span.Field)) {
				t.Errorf("message %q does not name the seq and field", msg)
			}
			if out != nil || log != nil {
				t.Errorf("a failed Apply returned items or a log")
			}
			if snapshot(t, items) != before {
				t.Errorf("a failed Apply changed its input")
			}
		})
	}
}

func TestApply_BadOptionsAreRefused(t *testing.T) {
	ok := message("x")
	tests := []struct {
		name  string
		items []export.Item
		opts  Options
		want  string
	}{
		{"unknown detector", ok, Options{Rules: []Rule{{Detector: "passport", Code: "(b)(6)"}}}, `detector "passport" is not one of`},
		{"two rules for a detector", ok, Options{Rules: []Rule{{Detector: "ssn", Code: "(b)(6)"}, {Detector: "us_ssn", Code: "(b)(3)"}}}, "a second rule for us_ssn"},
		{"two star rules", ok, Options{Rules: []Rule{{Detector: "*", Code: "(b)(6)"}, {Detector: "*", Code: "(b)(3)"}}}, `a second rule for "*"`},
		{"rule without a code", ok, Options{Rules: []Rule{{Detector: "ssn"}}}, "rule 0 (ssn): an exemption code is required"},
		{"item without an event", []export.Item{{Seq: 4}}, Options{}, "item 0 (seq 4) has no event"},
		{"seq twice", append(message("a"), message("b")...), Options{}, "seq 1 is in the production twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Apply(tt.items, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestApply_OverlappingAndAdjacentRedactionsMerge(t *testing.T) {
	const text = "SSN 123-45-6789 for Jane Roe"
	span := func(sub string, code string) Span {
		i := strings.Index(text, sub)
		return Span{Seq: 1, Field: "body", Start: i, End: i + len(sub), Code: code, Reason: "reviewer: " + code}
	}
	tests := []struct {
		name       string
		spans      []Span
		rules      []Rule
		want       string
		wantLog    [][2]int // [start,end) of each entry
		wantCode   string   // of the first entry
		wantSource string   // of the first entry
	}{
		{"overlapping", []Span{span("Jane R", "(b)(6)"), span("e Roe", "(b)(6)")}, nil,
			"SSN 123-45-6789 for [REDACTED (b)(6)]", [][2]int{{20, 28}}, "(b)(6)", "span"},
		{"adjacent", []Span{span("Jane", "(b)(6)"), span(" Roe", "(b)(6)")}, nil,
			"SSN 123-45-6789 for [REDACTED (b)(6)]", [][2]int{{20, 28}}, "(b)(6)", "span"},
		{"one inside another", []Span{span("Jane Roe", "(b)(6)"), span("ne", "(b)(6)")}, nil,
			"SSN 123-45-6789 for [REDACTED (b)(6)]", [][2]int{{20, 28}}, "(b)(6)", "span"},
		{"different codes are both burned in", []Span{span("Jane", "(b)(7)(C)"), span("e Roe", "(b)(6)")}, nil,
			"SSN 123-45-6789 for [REDACTED (b)(6), (b)(7)(C)]", [][2]int{{20, 28}}, "(b)(6), (b)(7)(C)", "span"},
		{"span over a detector finding", []Span{span("6789 for", "(b)(6)")}, []Rule{{Detector: "ssn", Code: "(b)(6)"}},
			"SSN [REDACTED (b)(6)] Jane Roe", [][2]int{{4, 19}}, "(b)(6)", "span, us_ssn"},
		{"apart stay apart", []Span{span("SSN", "(b)(6)"), span("Roe", "(b)(6)")}, nil,
			"[REDACTED (b)(6)] 123-45-6789 for Jane [REDACTED (b)(6)]", [][2]int{{0, 3}, {25, 28}}, "(b)(6)", "span"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, log, err := Apply(message(text), Options{Spans: tt.spans, Rules: tt.rules})
			if err != nil {
				t.Fatal(err)
			}
			if got := out[0].Event.Body; got != tt.want {
				t.Errorf("body = %q, want %q", got, tt.want)
			}
			var got [][2]int
			for _, e := range log {
				got = append(got, [2]int{e.Start, e.End})
			}
			if !reflect.DeepEqual(got, tt.wantLog) {
				t.Fatalf("log spans %v, want %v (%+v)", got, tt.wantLog, log)
			}
			if log[0].Code != tt.wantCode || log[0].Source != tt.wantSource {
				t.Errorf("first entry code %q source %q, want %q %q", log[0].Code, log[0].Source, tt.wantCode, tt.wantSource)
			}
		})
	}
}

func TestApply_LeavesItsInputUnchanged(t *testing.T) {
	items := loadItems(t, "production.json", nil)
	before := snapshot(t, items)
	events := make([]*onrecord.Event, len(items))
	for i, it := range items {
		events[i] = it.Event
	}
	name := strings.Index(items[0].Event.Sender.Name, "Müller")
	opts := Options{
		Rules:           []Rule{{Detector: "*", Code: "(b)(6)"}},
		Spans:           []Span{{Seq: 11, Field: "sender.name", Start: name, End: name + len("Müller"), Code: "(b)(6)"}},
		DropAttachments: true,
	}
	out, _, err := Apply(items, opts)
	if err != nil {
		t.Fatal(err)
	}
	if after := snapshot(t, items); after != before {
		t.Errorf("the input changed:\nbefore %s\nafter  %s", before, after)
	}
	for i, it := range items {
		if it.Event != events[i] {
			t.Errorf("item %d's event pointer was replaced in the input", i)
		}
	}
	changed := 0
	for i := range out {
		if out[i].Event != items[i].Event {
			changed++
		}
	}
	if changed == 0 {
		t.Fatal("nothing was redacted; the test proves nothing")
	}
	// Writing into what Apply produced must not reach the archive's
	// events either.
	for _, it := range out {
		if it.Event == items[slices.IndexFunc(items, func(x export.Item) bool { return x.Seq == it.Seq })].Event {
			continue
		}
		it.Event.Body = "scribbled"
		for j := range it.Event.Recipients {
			it.Event.Recipients[j].Name = "scribbled"
		}
		for k := range it.Event.Meta {
			it.Event.Meta[k] = "scribbled"
		}
		for j := range it.Event.Attachments {
			it.Event.Attachments[j].Name = "scribbled"
		}
		if c := it.Event.Capture; c != nil {
			for j := range c.Roster {
				c.Roster[j].Name = "scribbled"
			}
		}
	}
	if after := snapshot(t, items); after != before {
		t.Errorf("changing the output changed the input")
	}
}

func TestApply_NothingToRedactReturnsTheItemsAsTheyAre(t *testing.T) {
	items := loadItems(t, "production.json", nil)
	out, log, err := Apply(items, Options{Rules: []Rule{{Detector: "iban", Code: "(b)(6)"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 0 {
		t.Errorf("log = %+v, want none", log)
	}
	for i := range items {
		if out[i] != items[i] {
			t.Errorf("item %d: got %+v, want it unchanged", i, out[i])
		}
	}
}

func TestApply_RawPayloadsThatCouldGiveTheTextBackAreRemoved(t *testing.T) {
	items := loadItems(t, "production.json", nil)
	out, log, err := Apply(items, Options{Rules: []Rule{{Detector: "ssn", Code: "(b)(6)"}, {Detector: "email", Code: "(b)(6)"}}})
	if err != nil {
		t.Fatal(err)
	}
	raw := map[uint64]Entry{}
	for _, e := range log {
		if e.Field == "raw" {
			raw[e.Seq] = e
		}
	}
	tests := []struct {
		seq        uint64
		wantRaw    bool
		wantReason string
	}{
		{11, false, "provider payload of a redacted record withheld"},
		{12, false, "provider payload of a redacted record withheld"},
		// Nothing in seq 15's fields is redacted, but its payload carries
		// the email behind a JSON escape.
		{15, false, "provider payload withheld: it contains redacted text; detectors found email in it"},
		{16, true, ""},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.seq), func(t *testing.T) {
			i := slices.IndexFunc(out, func(it export.Item) bool { return it.Seq == tt.seq })
			in := items[i].Event.Raw
			if got := out[i].Event.Raw != nil; got != tt.wantRaw {
				t.Fatalf("raw kept = %v, want %v", got, tt.wantRaw)
			}
			e, logged := raw[tt.seq]
			if tt.wantRaw {
				if logged {
					t.Errorf("kept raw is logged: %+v", e)
				}
				return
			}
			want := Entry{Seq: tt.seq, Bates: items[i].Bates, Field: "raw", Start: 0, End: len(in), Code: "(b)(6)",
				Source: SourceRaw, Reason: tt.wantReason, Length: len(in)}
			if e != want {
				t.Errorf("entry %+v, want %+v", e, want)
			}
		})
	}
}

func TestApply_TextRedactedOnceIsRedactedEverywhere(t *testing.T) {
	items := loadItems(t, "production.json", nil)
	name := strings.Index(items[0].Event.Sender.Name, "José Müller")
	out, log, err := Apply(items, Options{Spans: []Span{{Seq: 11, Field: "sender.name", Start: name, End: name + len("José Müller"),
		Code: "(b)(6)", Reason: "private individual"}}})
	if err != nil {
		t.Fatal(err)
	}
	if l := leaks(t, out, "José Müller"); len(l) > 0 {
		t.Fatalf("the name is still in the production: %v", l)
	}
	type where struct {
		seq   uint64
		field string
	}
	got := map[where]Entry{}
	for _, e := range log {
		got[where{e.Seq, e.Field}] = e
	}
	for _, w := range []where{{12, "sender.name"}, {13, "recipients[0].name"}, {13, "body"}} {
		e, ok := got[w]
		if !ok {
			t.Errorf("no entry for seq %d %s", w.seq, w.field)
			continue
		}
		if e.Source != SourceRepeat || e.Reason != "same text as a redaction in seq 11" || e.Code != "(b)(6)" {
			t.Errorf("seq %d %s: %+v, want a repeat of seq 11 under (b)(6)", w.seq, w.field, e)
		}
	}
	if e := got[where{11, "sender.name"}]; e.Source != SourceSpan || e.Reason != "private individual" {
		t.Errorf("the span itself is logged as %+v", e)
	}
	if body := out[2].Event.Body; body != "Thanks [REDACTED (b)(6)], we received it." {
		t.Errorf("reply body = %q", body)
	}
}

func TestApply_AttachmentsOfRedactedRecords(t *testing.T) {
	tests := []struct {
		name string
		drop bool
		// want says, by seq, whether the file's bytes are withheld.
		want map[uint64]bool
	}{
		// Seq 14's file holds the SSN itself, so it goes either way; seq
		// 11's is an image no search can read, withheld only when asked.
		{"kept unless they hold the text", false, map[uint64]bool{11: false, 14: true}},
		{"dropped for every redacted record", true, map[uint64]bool{11: true, 14: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items := loadItems(t, "production.json", nil)
			out, log, err := Apply(items, Options{Rules: []Rule{{Detector: "ssn", Code: "(b)(6)"}}, DropAttachments: tt.drop})
			if err != nil {
				t.Fatal(err)
			}
			for i, it := range out {
				want, ok := tt.want[it.Seq]
				if !ok {
					continue
				}
				a := it.Event.Attachments[0]
				orig := items[i].Event.Attachments[0]
				entry := slices.ContainsFunc(log, func(e Entry) bool { return e.Seq == it.Seq && e.Field == "attachments[0].data" })
				if !want {
					if !bytes.Equal(a.Data, orig.Data) || a.SHA256 != orig.SHA256 || entry {
						t.Errorf("seq %d: file changed or logged: %+v", it.Seq, a)
					}
					continue
				}
				wantA := onrecord.Attachment{Name: orig.Name, ContentType: orig.ContentType, Error: "withheld (b)(6)"}
				if !reflect.DeepEqual(a, wantA) {
					t.Errorf("seq %d: attachment %+v, want %+v", it.Seq, a, wantA)
				}
				if !entry {
					t.Errorf("seq %d: withheld file not logged", it.Seq)
				}
			}
		})
	}
}

func TestApply_RedactedMetaKeysAreRenamed(t *testing.T) {
	items := message("nothing here")
	items[0].Event.Meta = map[string]string{
		"123-45-6789":       "a",
		"ssn 234-56-7890":   "b",
		"[REDACTED (b)(6)]": "c", // already the marker: keeps its name
		"lat":               "52.5",
	}
	out, log, err := Apply(items, Options{Rules: []Rule{{Detector: "ssn", Code: "(b)(6)"}}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"[REDACTED (b)(6)] (2)": "a",
		"ssn [REDACTED (b)(6)]": "b",
		"[REDACTED (b)(6)]":     "c",
		"lat":                   "52.5",
	}
	if !reflect.DeepEqual(out[0].Event.Meta, want) {
		t.Errorf("meta = %v, want %v", out[0].Event.Meta, want)
	}
	var fields []string
	for _, e := range log {
		fields = append(fields, e.Field)
	}
	if wantF := []string{"meta-key.[REDACTED (b)(6)] (2)", "meta-key.ssn [REDACTED (b)(6)]"}; !slices.Equal(fields, wantF) {
		t.Errorf("logged fields %q, want %q", fields, wantF)
	}
}

// jsonEscaped writes every character of s as a \u escape, as some
// providers' JSON encoders do for anything outside ASCII.
func jsonEscaped(s string) string {
	var b strings.Builder
	for _, r := range s {
		fmt.Fprintf(&b, `\\u%04x`, r) // doubled: it is written inside the fixture's JSON string
	}
	return b.String()
}

func TestApply_CanaryIsNowhereInTheProduction(t *testing.T) {
	load := func(t *testing.T, canary string) []export.Item {
		return loadItems(t, "canary.json", map[string]string{
			"CANARY": canary, "CANARY_JSON": jsonEscaped(canary), "CANARY_FORM": url.QueryEscape(canary)})
	}
	check := func(t *testing.T, canary string, items []export.Item, opts Options) {
		t.Helper()
		out, log, err := Apply(items, opts)
		if err != nil {
			t.Fatal(err)
		}
		if l := leaks(t, out, canary); len(l) > 0 {
			t.Errorf("the canary survived in:\n%s", strings.Join(l, "\n"))
		}
		j, err := json.Marshal(log)
		if err != nil {
			t.Fatal(err)
		}
		c, err := encodeCSV(log)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(j), canary) || strings.Contains(string(c), canary) {
			t.Errorf("the canary is in the log: %s", j)
		}
		// Every record of the fixture carries the canary in some form.
		for i, it := range out {
			if it.Event == items[i].Event {
				t.Errorf("seq %d carries the canary but was not changed", it.Seq)
			}
		}
	}

	// A reviewer's span on any one field must take the canary out of
	// every field of every item.
	const canary = "Cañary Q7X"
	items := load(t, canary)
	for _, f := range fieldsOf(items[0].Event) {
		at := strings.Index(f.value, canary)
		if at < 0 {
			continue
		}
		t.Run("span in "+f.name, func(t *testing.T) {
			check(t, canary, load(t, canary), Options{Spans: []Span{{Seq: 1, Field: f.name, Start: at, End: at + len(canary), Code: "(b)(6)"}}})
		})
	}
	// A detector finds it wherever it is.
	const ssn = "078-05-1120"
	t.Run("ssn rule", func(t *testing.T) {
		check(t, ssn, load(t, ssn), Options{Rules: []Rule{{Detector: "ssn", Code: "(b)(6)"}}})
	})
	t.Run("ssn rule dropping attachments", func(t *testing.T) {
		check(t, ssn, load(t, ssn), Options{Rules: []Rule{{Detector: "ssn", Code: "(b)(6)"}}, DropAttachments: true})
	})
}

func TestApply_LogHoldsNoRedactedText(t *testing.T) {
	items := loadItems(t, "production.json", nil)
	const secret = "Jane Roe"
	items[4].Event.Body = "Ask Jane Roe about it"
	i := strings.Index(items[4].Event.Body, secret)
	opts := Options{
		Rules: []Rule{{Detector: "*", Code: "(b)(6)", Reason: "PII such as 123-45-6789"}},
		Spans: []Span{{Seq: 15, Field: "body", Start: i, End: i + len(secret), Code: "(b)(6)", Reason: "reviewer: Jane Roe is a private citizen"}},
	}
	out, log, err := Apply(items, opts)
	if err != nil {
		t.Fatal(err)
	}
	var secrets []string
	for _, it := range items {
		for _, f := range fieldsOf(it.Event) {
			for _, fd := range detect.Scan(f.value, detect.Options{}) {
				secrets = append(secrets, f.value[fd.Start:fd.End])
			}
		}
	}
	secrets = append(secrets, secret, "123-45-6789", "4111 1111 1111 1111", "jose.muller@example.com")
	j, _ := json.Marshal(log)
	c, err := encodeCSV(log)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets {
		if l := leaks(t, out, s); len(l) > 0 {
			t.Errorf("%q survived in %v", s, l)
		}
		if strings.Contains(string(j), s) || strings.Contains(string(c), s) {
			t.Errorf("%q is in the log", s)
		}
	}
	e := log[slices.IndexFunc(log, func(e Entry) bool { return e.Seq == 15 && e.Field == "body" })]
	if e.Reason != "reviewer: [REDACTED (b)(6)] is a private citizen" {
		t.Errorf("reason = %q", e.Reason)
	}
}

func TestApply_IsDeterministic(t *testing.T) {
	opts := func(items []export.Item, seed uint64) Options {
		rules := []Rule{{Detector: "*", Code: "(b)(6)"}, {Detector: "card", Code: "(b)(4)"}, {Detector: "email", Code: "(b)(7)(C)"}}
		body := items[slices.IndexFunc(items, func(it export.Item) bool { return it.Seq == 14 })].Event.Body
		zoe := strings.Index(body, "Zoë")
		spans := []Span{
			{Seq: 14, Field: "body", Start: zoe, End: zoe + 4, Code: "(b)(6)"},
			{Seq: 14, Field: "body", Start: zoe - 3, End: zoe + 2, Code: "(b)(7)(C)"},
			{Seq: 11, Field: "recipients[0].name", Start: 0, End: 7, Code: "(b)(5)", Reason: "deliberative"},
			{Seq: 13, Field: "body", Start: 0, End: 6, Code: "(b)(5)"},
		}
		r := rand.New(rand.NewPCG(seed, seed))
		r.Shuffle(len(rules), func(i, j int) { rules[i], rules[j] = rules[j], rules[i] })
		r.Shuffle(len(spans), func(i, j int) { spans[i], spans[j] = spans[j], spans[i] })
		return Options{Rules: rules, Spans: spans, DropAttachments: true}
	}
	bySeq := func(items []export.Item) []export.Item {
		return slices.SortedFunc(slices.Values(items), func(a, b export.Item) int { return cmp.Compare(a.Seq, b.Seq) })
	}
	var firstItems string
	var firstLog []Entry
	for run := range 8 {
		items := loadItems(t, "production.json", nil)
		if run%2 == 1 {
			slices.Reverse(items) // the log is in seq order whatever the items' order
		}
		out, log, err := Apply(items, opts(items, uint64(run)))
		if err != nil {
			t.Fatal(err)
		}
		got := snapshot(t, bySeq(out))
		if run == 0 {
			firstItems, firstLog = got, log
			if len(log) < 10 {
				t.Fatalf("only %d entries; the test proves little", len(log))
			}
			continue
		}
		if got != firstItems {
			t.Errorf("run %d: items differ:\n%s\n%s", run, got, firstItems)
		}
		if !reflect.DeepEqual(log, firstLog) {
			t.Errorf("run %d: log differs:\n%+v\n%+v", run, log, firstLog)
		}
	}
	for i := 1; i < len(firstLog); i++ {
		if firstLog[i-1].Seq > firstLog[i].Seq {
			t.Errorf("log not in seq order at %d: %+v", i, firstLog)
		}
	}
}
