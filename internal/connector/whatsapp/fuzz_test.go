package whatsapp

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	json "github.com/go-json-experiment/json/v1"
	"pgregory.net/rapid"

	"github.com/onrecord/onrecord/internal/connector"
	whatsappsim "github.com/onrecord/onrecord/internal/sim/whatsapp"
)

// seedBodies are every fixture and every scripted simulator delivery.
func seedBodies(tb testing.TB) [][]byte {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var out [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, b)
	}
	for _, d := range whatsappsim.New(whatsappsim.Options{}).Deliveries("https://gateway.example/hooks/wa") {
		if len(d.Body) > 0 {
			out = append(out, d.Body)
		}
	}
	return out
}

func FuzzParse(f *testing.F) {
	for _, b := range seedBodies(f) {
		f.Add(b)
	}
	f.Add([]byte(`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"messages":[{"type":"edit","edit":{"message":{"type":"edit"}}}]}}]}]}`))
	f.Add([]byte(`{"object":"whatsapp_business_account","entry":[{"id":1e400,"changes":[{"field":"x","value":"\ud800"}]}]}`))
	c := mustConnector(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		evs, err := c.Parse(&connector.Request{Method: http.MethodPost, Body: body, ReceivedAt: received})
		if err != nil {
			return
		}
		if len(evs) == 0 {
			t.Fatal("no error and no events: the delivery would be dropped")
		}
		for i := range evs {
			assertValid(t, &evs[i])
		}
	})
}

func FuzzAuthenticate(f *testing.F) {
	body := []byte(`{"object":"whatsapp_business_account","entry":[]}`)
	good := whatsappsim.Sign("test_app_secret", body)
	for _, s := range []string{good, "", "sha256=", "sha256=zz", "SHA256=" + good[7:], "sha1=abc", good + " ", strings.Repeat("=", 100)} {
		f.Add(s, body)
	}
	c := mustConnector(f)
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		if _, err := parseSignatureHeader(header); err != nil && strings.Contains(err.Error(), header) && len(header) > 8 {
			t.Fatalf("reason %q echoes the header", err)
		}
		err := c.Authenticate(signed(body, header))
		want := whatsappsim.Sign("test_app_secret", body)
		matches := strings.EqualFold(strings.TrimSpace(header), want)
		if matches && err != nil {
			t.Fatalf("correct signature refused: %v", err)
		}
		if !matches && !errors.Is(err, connector.ErrSignature) {
			t.Fatalf("header %q accepted or failed without ErrSignature: %v", header, err)
		}
	})
}

// TestProperty_SignedBodiesParseOrFail builds random deliveries in the
// webhook's shape — known and unknown types, fields of the wrong JSON type,
// missing ids — signs them as Meta would and checks that each one
// authenticates and then either parses into valid events or is refused
// with an error; never a panic, never an invalid event.
func TestProperty_SignedBodiesParseOrFail(t *testing.T) {
	c := mustConnector(t)
	anyValue := rapid.OneOf(
		rapid.Just[any](nil), rapid.Just[any](true), rapid.Just[any](""), rapid.Just[any]("   "),
		rapid.Map(rapid.String(), func(s string) any { return s }),
		rapid.Map(rapid.Int64(), func(n int64) any { return n }),
		rapid.Map(rapid.Float64(), func(x float64) any { return x }),
		rapid.Just[any](map[string]any{}), rapid.Just[any]([]any{}),
		rapid.Just[any](map[string]any{"id": "wamid.x", "body": "b", "type": "text", "emoji": "👍", "message_id": "wamid.y"}),
	)
	keys := []string{"from", "id", "timestamp", "type", "text", "image", "audio", "document", "location", "contacts", "interactive",
		"button", "order", "reaction", "edit", "revoke", "system", "context", "group_id", "errors", "unsupported", "status",
		"recipient_id", "recipient_type", "conversation", "pricing", "to", "identity", "referral"}
	types := []string{"text", "image", "video", "audio", "document", "sticker", "location", "contacts", "interactive", "button",
		"order", "reaction", "edit", "revoke", "system", "unsupported", "request_welcome", "ephemeral", ""}
	item := rapid.Custom(func(t *rapid.T) map[string]any {
		m := map[string]any{}
		if rapid.Bool().Draw(t, "typed") {
			m["type"] = rapid.SampledFrom(types).Draw(t, "type")
		}
		for range rapid.IntRange(0, 8).Draw(t, "fields") {
			m[rapid.SampledFrom(keys).Draw(t, "key")] = anyValue.Draw(t, "value")
		}
		return m
	})
	rapid.Check(t, func(t *rapid.T) {
		value := map[string]any{"messaging_product": "whatsapp",
			"metadata": map[string]any{"display_phone_number": "+1 555 010 0200", "phone_number_id": "1"}}
		for _, list := range []string{"messages", "message_echoes", "statuses", "contacts"} {
			if rapid.Bool().Draw(t, "has "+list) {
				value[list] = rapid.SliceOfN(item, 0, 4).Draw(t, list)
			}
		}
		field := rapid.SampledFrom([]string{"messages", "smb_message_echoes", "account_update", "history", ""}).Draw(t, "field")
		var v any = value
		if rapid.Bool().Draw(t, "scalar value") {
			v = anyValue.Draw(t, "value")
		}
		body, err := whatsappsim.MarshalASCII(map[string]any{"object": "whatsapp_business_account",
			"entry": []any{map[string]any{"id": "1", "changes": []any{map[string]any{"field": field, "value": v}}}}})
		if err != nil {
			t.Skip(err)
		}
		req := signed(body, whatsappsim.Sign("test_app_secret", body))
		if err := c.Authenticate(req); err != nil {
			t.Fatalf("correctly signed body refused: %v", err)
		}
		evs, err := c.Parse(req)
		if err != nil {
			return
		}
		if len(evs) == 0 {
			t.Fatal("no error and no events")
		}
		for i := range evs {
			e := evs[i].Event
			e.Channel = "wa"
			if err := e.Validate(); err != nil {
				b, _ := json.Marshal(e)
				t.Fatalf("invalid event %s: %v", b, err)
			}
		}
	})
}

func TestCompact_DecodesMetaEscapes(t *testing.T) {
	got := compact(json.RawMessage(`{ "name" : "Chlo\u00e9 <M>", "n": 1.50 }`))
	if got != `{"n":1.50,"name":"Chloé <M>"}` {
		t.Fatalf("compact = %s", got)
	}
}
