package telegram

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	json "github.com/go-json-experiment/json/v1"
	"pgregory.net/rapid"

	"github.com/onrecord/onrecord/internal/connector"
	telegramsim "github.com/onrecord/onrecord/internal/sim/telegram"
)

func addFixtureSeeds(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	s := telegramsim.New(telegramsim.Options{BotToken: testToken, SecretToken: testSecret})
	for _, d := range s.Deliveries("h") {
		f.Add(d.Body)
	}
	for _, b := range []string{"", "[]", "{}", `{"update_id":1}`, `[{"update_id":1},{"update_id":2,"poll":{}}]`,
		`{"update_id":1,"message":{"message_id":1,"chat":{"id":1},"date":-5}}`,
		`{"update_id":1,"message_reaction":{"chat":{"id":1},"message_id":1,"old_reaction":[{"type":"emoji"}],"new_reaction":[{"type":"emoji"}]}}`,
		`{"update_id":1,"deleted_business_messages":{"chat":{"id":1},"message_ids":[]}}`} {
		f.Add([]byte(b))
	}
}

// FuzzParse: Parse never panics, and whatever it returns validates.
func FuzzParse(f *testing.F) {
	addFixtureSeeds(f)
	c := mustNew(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		evs, err := c.Parse(request(body))
		if err != nil {
			return
		}
		for _, ev := range evs {
			e := ev.Event
			e.Channel = "tg"
			if err := e.Validate(); err != nil {
				t.Fatalf("invalid event %+v: %v", e, err)
			}
			if _, err := json.Marshal(e); err != nil {
				t.Fatalf("event does not encode: %v", err)
			}
		}
	})
}

// FuzzAuthenticate: any header value is either exactly the secret token or
// refused with ErrSignature, never a panic.
func FuzzAuthenticate(f *testing.F) {
	for _, v := range []string{testSecret, "", " ", testSecret + "\x00", "\xff\xfe", "hf-telegram-webhook-secret_2024"} {
		f.Add(v, []byte(`{"update_id":1}`))
	}
	c := mustNew(f)
	f.Fuzz(func(t *testing.T, v string, body []byte) {
		req := &connector.Request{Method: "POST", Header: http.Header{}, Body: body}
		req.Header[http.CanonicalHeaderKey(SecretTokenHeader)] = []string{v}
		err := c.Authenticate(req)
		switch {
		case v == testSecret && err != nil:
			t.Fatalf("correct secret refused: %v", err)
		case v != testSecret && !errors.Is(err, connector.ErrSignature):
			t.Fatalf("header %q: err = %v", v, err)
		}
	})
}

// jsonValue generates JSON values biased toward the shapes of Telegram
// updates: known keys, ids, dates, nested chats and reaction lists.
func jsonValue(depth int) *rapid.Generator[any] {
	keys := []string{"update_id", "message", "edited_message", "channel_post", "business_message", "edited_business_message",
		"deleted_business_messages", "message_reaction", "message_reaction_count", "business_connection", "callback_query",
		"chat_member", "message_id", "chat", "id", "type", "from", "user", "date", "edit_date", "text", "caption", "photo",
		"file_id", "document", "sticker", "location", "venue", "latitude", "poll", "options", "old_reaction", "new_reaction",
		"emoji", "custom_emoji_id", "reply_to_message", "forward_origin", "business_connection_id", "message_ids", "pinned_message",
		"new_chat_members", "sender_chat", "is_enabled", "rights", "message_thread_id", "is_topic_message", "reactions"}
	return rapid.Custom(func(t *rapid.T) any {
		kind := rapid.IntRange(0, 7).Draw(t, "kind")
		if depth <= 0 && kind >= 5 {
			kind = rapid.IntRange(0, 4).Draw(t, "leaf")
		}
		switch kind {
		case 0:
			return rapid.Int64().Draw(t, "int")
		case 1:
			return rapid.Int64Range(-5, 5).Draw(t, "small")
		case 2:
			return rapid.String().Draw(t, "str")
		case 3:
			return rapid.Bool().Draw(t, "bool")
		case 4:
			return nil
		case 5:
			return rapid.SliceOfN(jsonValue(depth-1), 0, 3).Draw(t, "list")
		default:
			m := map[string]any{}
			n := rapid.IntRange(0, 6).Draw(t, "n")
			for range n {
				m[rapid.SampledFrom(keys).Draw(t, "key")] = jsonValue(depth-1).Draw(t, "v")
			}
			return m
		}
	})
}

// TestProperty_SignedBodiesParseOrError: every correctly authenticated body
// either parses into valid events or is an error, never a panic.
func TestProperty_SignedBodiesParseOrError(t *testing.T) {
	c := mustNew(t)
	rapid.Check(t, func(rt *rapid.T) {
		update := map[string]any{"update_id": rapid.Int64Range(0, 1<<40).Draw(rt, "update_id")}
		field := rapid.SampledFrom([]string{"message", "edited_message", "channel_post", "business_message", "edited_business_message",
			"deleted_business_messages", "message_reaction", "message_reaction_count", "business_connection", "callback_query",
			"poll_answer", "future"}).Draw(rt, "field")
		update[field] = jsonValue(3).Draw(rt, "value")
		body, err := json.Marshal(update)
		if err != nil {
			rt.Skip("not encodable")
		}
		req := request(body)
		if err := c.Authenticate(req); err != nil {
			rt.Fatalf("Authenticate: %v", err)
		}
		evs, err := c.Parse(req)
		if err != nil {
			return
		}
		for _, ev := range evs {
			e := ev.Event
			e.Channel = "tg"
			if err := e.Validate(); err != nil {
				rt.Fatalf("invalid event from %s: %v", body, err)
			}
		}
	})
}

func BenchmarkParseText(b *testing.B) {
	c := mustNew(b)
	req := request(readFixture(b, "business_message_outbound"))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Parse(req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParsePhoto(b *testing.B) {
	c := mustNew(b)
	req := request(readFixture(b, "message_photo"))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Parse(req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAuthenticate(b *testing.B) {
	c := mustNew(b)
	req := request(readFixture(b, "message_text_private"))
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Authenticate(req); err != nil {
			b.Fatal(err)
		}
	}
}
