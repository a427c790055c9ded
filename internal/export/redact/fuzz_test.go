package redact

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/export"
)

// FuzzApplySpans redacts one span of arbitrary text, repeated in another
// field and another item, and checks that Apply never panics, refuses
// exactly the spans that are not whole characters inside the body, and
// leaves the span's bytes nowhere outside a marker.
func FuzzApplySpans(f *testing.F) {
	f.Add("My SSN is 123-45-6789", 10, 21)
	f.Add("Grüße an Zoë", 10, 14)
	f.Add("Grüße an Zoë", 11, 13)
	f.Add("👍🏽 ok", 0, 4)
	f.Add("aaaa", 1, 3)
	f.Add("aabb", 1, 3)
	f.Add("[REDACTED (b)(6)]]", 16, 17)
	f.Add("REDACTED", 0, 1)
	f.Add("\xff\xfeabc", 0, 1)
	f.Add("x", 0, 0)
	f.Add("x", -1, 5)
	f.Add("", 0, 1)
	f.Fuzz(func(t *testing.T, body string, start, end int) {
		at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
		items := []export.Item{
			{Seq: 1, Bates: "F-1", Event: &onrecord.Event{Channel: "sms", Kind: onrecord.KindMessage, ProviderID: "p1",
				Conversation: "c", Direction: onrecord.Inbound, Sender: onrecord.Party{ID: "s", Name: body}, SentAt: at,
				Body: body, Meta: map[string]string{"quote": body}, Raw: []byte(body)}},
			{Seq: 2, Bates: "F-2", Event: &onrecord.Event{Channel: "sms", Kind: onrecord.KindEdit, ProviderID: "p2", Target: "p1",
				Conversation: "c", Direction: onrecord.Inbound, Sender: onrecord.Party{ID: "s"}, SentAt: at, Body: body + " / " + body}},
		}
		before := snapshot(t, items)
		const code = "(b)(6)"
		out, log, err := Apply(items, Options{Spans: []Span{{Seq: 1, Field: "body", Start: start, End: end, Code: code}}})
		if snapshot(t, items) != before {
			t.Fatal("Apply changed its input")
		}
		if utf8.ValidString(body) {
			valid := 0 <= start && start < end && end <= len(body) &&
				utf8.ValidString(body[:start]) && utf8.ValidString(body[start:end])
			if valid != (err == nil) {
				t.Fatalf("span [%d,%d) of %q: valid %v, err %v", start, end, body, valid, err)
			}
		}
		if err != nil {
			var se *SpanError
			if !errors.As(err, &se) {
				t.Fatalf("err %v is not a *SpanError", err)
			}
			return
		}
		secret := body[start:end]
		m := marker([]string{code})
		for _, it := range out {
			if it.Event.Raw != nil {
				t.Errorf("seq %d: raw kept", it.Seq)
			}
			for _, fl := range fieldsOf(it.Event) {
				// The marker itself may contain the secret ("R"); what
				// must not is any stretch of original text between markers.
				for _, piece := range strings.Split(fl.value, m) {
					if strings.Contains(piece, secret) {
						t.Fatalf("seq %d %s = %q still holds %q", it.Seq, fl.name, fl.value, secret)
					}
				}
			}
		}
		if len(log) == 0 || log[0].Seq != 1 {
			t.Fatalf("log %+v does not start with seq 1", log)
		}
	})
}
