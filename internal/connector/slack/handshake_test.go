package slack

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/onrecord/onrecord/internal/connector"
)

func TestHandshake_URLVerificationEchoesChallengeOnlyWhenSigned(t *testing.T) {
	c := mustNew(t, connector.Config{})
	body := readFixture(t, "url_verification.json")
	now := time.Now()

	resp, ok, err := c.Handshake(signedRequest(testSecret, now, body))
	if err != nil || !ok {
		t.Fatalf("Handshake = %v, %v", ok, err)
	}
	if resp.Status != http.StatusOK || string(resp.Body) != "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" || !strings.HasPrefix(resp.ContentType, "text/plain") {
		t.Errorf("response = %d %q %q", resp.Status, resp.ContentType, resp.Body)
	}

	for name, req := range map[string]*connector.Request{
		"wrong secret": signedRequest("another-secret", now, body),
		"stale": func() *connector.Request {
			r := signedRequest(testSecret, now, body)
			r.ReceivedAt = now.Add(6 * time.Minute)
			return r
		}(),
		"unsigned": {Method: http.MethodPost, Header: http.Header{}, Body: body, ReceivedAt: now},
	} {
		resp, ok, err := c.Handshake(req)
		if !ok || resp != nil || !errors.Is(err, connector.ErrSignature) {
			t.Errorf("%s: Handshake = %v, %v, %v; want refused with ErrSignature", name, resp, ok, err)
		}
	}
}

func TestHandshake_SSLCheck(t *testing.T) {
	c := mustNew(t, connector.Config{})
	resp, ok, err := c.Handshake(signedRequest(testSecret, time.Now(), []byte("ssl_check=1&token=Zq3rVNRh8c5zPmxkZkJQ0Fnz")))
	if err != nil || !ok || resp.Status != http.StatusOK || len(resp.Body) != 0 {
		t.Fatalf("Handshake = %+v, %v, %v", resp, ok, err)
	}
}

func TestHandshake_OtherDeliveriesAreNotHandshakes(t *testing.T) {
	c := mustNew(t, connector.Config{})
	for _, f := range []string{"message_channel.json", "app_rate_limited.json", "slackdocs_signing_example_body.form"} {
		// Unsigned on purpose: a non-handshake is passed on to Authenticate.
		resp, ok, err := c.Handshake(&connector.Request{Method: http.MethodPost, Header: http.Header{}, Body: readFixture(t, f)})
		if ok || resp != nil || err != nil {
			t.Errorf("%s: Handshake = %v, %v, %v", f, resp, ok, err)
		}
	}
	if _, ok, _ := c.Handshake(&connector.Request{Method: http.MethodGet, Body: readFixture(t, "url_verification.json")}); ok {
		t.Error("GET treated as a handshake")
	}
}

func TestNew_Validates(t *testing.T) {
	tests := []struct {
		cfg  connector.Config
		want string
	}{
		{connector.Config{Name: "sl", BotToken: "x"}, `channel "sl": signing_secret is required`},
		{connector.Config{Name: "sl", SigningSecret: "s"}, `channel "sl": bot_token is required`},
		{connector.Config{Name: "sl", SigningSecret: "s", BotToken: "x", APIBaseURL: "ftp://x"}, `api_base_url`},
	}
	for _, tt := range tests {
		if _, err := New(tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("New(%+v) = %v, want %q", tt.cfg, err, tt.want)
		}
	}
	c := mustNew(t, connector.Config{})
	if c.apiBase != DefaultAPIBaseURL {
		t.Errorf("default api base = %q", c.apiBase)
	}
}

func TestParse_UnreadableBodiesAreErrors(t *testing.T) {
	c := mustNew(t, connector.Config{})
	for _, body := range []string{"", "   ", "[1,2]", `{"token":"x"}`, `{"type":`, "%zz", "just=a&form=post", `"string"`} {
		if evs, err := c.Parse(&connector.Request{Body: []byte(body), ReceivedAt: receivedAt}); err == nil {
			t.Errorf("Parse(%q) = %+v, want an error", body, evs)
		}
	}
}

func TestParse_RecognisableButOddPayloadsBecomeSystemEvents(t *testing.T) {
	c := mustNew(t, connector.Config{})
	tests := []struct {
		name, body, kind, subtype string
	}{
		{"unknown envelope type", `{"type":"block_suggestion","team_id":"T1"}`, "system", "block_suggestion"},
		{"event_callback without event", `{"type":"event_callback","team_id":"T1","event_id":"Ev1"}`, "system", "unsupported"},
		{"unknown message subtype", `{"type":"event_callback","event_id":"Ev2","event":{"type":"message","subtype":"huddle_summary_v9","channel":"C1","user":"U1","text":"hi","ts":"1.2"}}`, "message", "unsupported"},
		{"message without ts", `{"type":"event_callback","event_id":"Ev3","event":{"type":"message","channel":"C1","user":"U1","text":"hi"}}`, "system", "text"},
		{"edit without message", `{"type":"event_callback","event_id":"Ev4","event":{"type":"message","subtype":"message_changed","channel":"C1","ts":"1.2"}}`, "system", "message_changed"},
		{"delete without deleted_ts", `{"type":"event_callback","event_id":"Ev5","event":{"type":"message","subtype":"message_deleted","channel":"C1","ts":"1.2"}}`, "system", "message_deleted"},
		{"reaction to nothing", `{"type":"event_callback","event_id":"Ev6","event":{"type":"reaction_added","user":"U1","reaction":"eyes","item":{}}}`, "system", "reaction_added"},
		{"reaction to a file", `{"type":"event_callback","event_id":"Ev7","event":{"type":"reaction_added","user":"U1","reaction":"eyes","item":{"type":"file","file":"F1"}}}`, "reaction", "emoji"},
		{"wrong JSON types are tolerated", `{"type":"event_callback","event_id":7,"event":{"type":"message","channel":"C1","user":{"id":"U1"},"text":5,"ts":"1.2"}}`, "message", "text"},
		{"interactive payload", "payload=" + urlEscape(`{"type":"block_actions","trigger_id":"13345224609.738474920.8088930838d88f008e0","user":{"id":"U1","name":"maria"},"channel":{"id":"C1","name":"deals"},"container":{"message_ts":"1.2","channel_id":"C1"},"actions":[{"action_id":"approve","value":"yes","action_ts":"1548426417.840180"}]}`), "system", "block_actions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs, err := c.Parse(&connector.Request{Body: []byte(tt.body), ReceivedAt: receivedAt})
			if err != nil || len(evs) != 1 {
				t.Fatalf("Parse = %+v, %v", evs, err)
			}
			if string(evs[0].Kind) != tt.kind || evs[0].Subtype != tt.subtype {
				t.Errorf("kind/subtype = %s/%s, want %s/%s", evs[0].Kind, evs[0].Subtype, tt.kind, tt.subtype)
			}
		})
	}
}
