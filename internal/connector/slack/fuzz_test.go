package slack

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	json "github.com/go-json-experiment/json/v1"
	"pgregory.net/rapid"

	"github.com/onrecord/onrecord/internal/connector"
)

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"type":"event_callback","event":{"type":"message","channel":"","ts":"9999999999999.9999999999"}}`))
	f.Add([]byte(`{"type":"event_callback","event":{"type":"message","subtype":"message_changed","channel":"C","message":{"subtype":"tombstone"}}}`))
	f.Add([]byte("command=%2Fx&payload=%7B%7D"))
	c := mustNew(f, connector.Config{})
	f.Fuzz(func(t *testing.T, body []byte) {
		evs, err := c.Parse(&connector.Request{Body: body, Header: http.Header{}, ReceivedAt: receivedAt})
		if err != nil {
			return
		}
		for _, e := range evs {
			e.Channel = "slack"
			if err := e.Validate(); err != nil {
				t.Fatalf("invalid event %+v: %v", e, err)
			}
			// The archive seals the event as JSON: it must encode.
			if _, err := json.Marshal(e.Event); err != nil {
				t.Fatalf("event does not encode: %v", err)
			}
		}
	})
}

// TestProperty_SignedBodiesParseOrFail: whatever Slack might sign, a body
// that authenticates either parses into valid events or is an error.
func TestProperty_SignedBodiesParseOrFail(t *testing.T) {
	c := mustNew(t, connector.Config{})
	str := rapid.OneOf(rapid.SampledFrom([]string{"", "C0WEALTH01", "D1", "G1", "U1", "1772461847.001013", "x", "1.2.3", "∆"}), rapid.String())
	rapid.Check(t, func(t *rapid.T) {
		typ := rapid.SampledFrom([]string{"message", "app_mention", "reaction_added", "reaction_removed", "file_shared", "channel_created", "zzz", ""}).Draw(t, "type")
		sub := rapid.SampledFrom([]string{"", "message_changed", "message_deleted", "thread_broadcast", "file_share", "bot_message", "channel_join", "tombstone", "odd"}).Draw(t, "subtype")
		inner := map[string]any{
			"type": typ, "subtype": sub, "channel": str.Draw(t, "channel"), "user": str.Draw(t, "user"), "ts": str.Draw(t, "ts"),
			"text": str.Draw(t, "text"), "thread_ts": str.Draw(t, "thread_ts"), "deleted_ts": str.Draw(t, "deleted_ts"),
			"event_ts": str.Draw(t, "event_ts"), "reaction": str.Draw(t, "reaction"),
			"item":    map[string]any{"channel": str.Draw(t, "item_channel"), "ts": str.Draw(t, "item_ts")},
			"message": rapid.SampledFrom([]any{nil, map[string]any{"ts": str.Draw(t, "m_ts"), "text": "x", "subtype": sub}, "notanobject"}).Draw(t, "message"),
			"files":   rapid.SampledFrom([]any{nil, []any{map[string]any{"id": str.Draw(t, "file_id"), "url_private": str.Draw(t, "url")}}, []any{nil, 3}}).Draw(t, "files"),
		}
		outer := map[string]any{
			"type":     rapid.SampledFrom([]string{"event_callback", "app_rate_limited", "url_verification", "other"}).Draw(t, "outer"),
			"event":    inner,
			"event_id": str.Draw(t, "event_id"), "team_id": str.Draw(t, "team_id"),
			"event_time": rapid.SampledFrom([]any{0, -5, 1e20, "x", 1772461847}).Draw(t, "event_time"),
		}
		body := mustJSON(t, outer)
		req := signedRequest(testSecret, time.Now(), body)
		if err := c.Authenticate(req); err != nil {
			t.Fatalf("signed body does not authenticate: %v", err)
		}
		evs, err := c.Parse(req)
		if err != nil {
			return
		}
		for _, e := range evs {
			e.Channel = "slack"
			if err := e.Validate(); err != nil {
				t.Fatalf("invalid event from %s: %v", body, err)
			}
		}
	})
}

func BenchmarkParse_Message(b *testing.B) {
	c := mustNew(b, connector.Config{})
	body := readFixture(b, "message_channel.json")
	req := signedRequest(testSecret, time.Now(), body)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Authenticate(req); err != nil {
			b.Fatal(err)
		}
		if _, err := c.Parse(req); err != nil {
			b.Fatal(err)
		}
	}
}
