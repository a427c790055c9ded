package telegram

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/connector"
	telegramsim "github.com/onrecord/onrecord/internal/sim/telegram"
)

func TestNew_ValidatesAndNamesTOMLKeys(t *testing.T) {
	tests := []struct {
		name    string
		cfg     connector.Config
		wantKey string
	}{
		{"no bot_token", connector.Config{Name: "tg", SecretToken: testSecret}, "bot_token is required"},
		{"token without colon", connector.Config{Name: "tg", BotToken: "7352001234AAHf", SecretToken: testSecret}, "bot_token"},
		{"token without bot id", connector.Config{Name: "tg", BotToken: "bot:AAHf-secret", SecretToken: testSecret}, "bot_token"},
		{"token with odd characters", connector.Config{Name: "tg", BotToken: "7352001234:AAH f/secret", SecretToken: testSecret}, "bot_token"},
		{"no secret_token", connector.Config{Name: "tg", BotToken: testToken}, "secret_token is required"},
		{"secret_token with spaces", connector.Config{Name: "tg", BotToken: testToken, SecretToken: "not allowed here"}, "secret_token"},
		{"secret_token too long", connector.Config{Name: "tg", BotToken: testToken, SecretToken: strings.Repeat("a", 257)}, "secret_token"},
		{"api_base_url not http", connector.Config{Name: "tg", BotToken: testToken, SecretToken: testSecret, APIBaseURL: "ftp://x"}, "api_base_url"},
		{"api_base_url with query", connector.Config{Name: "tg", BotToken: testToken, SecretToken: testSecret, APIBaseURL: "https://x/?a=b"}, "api_base_url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if err == nil {
				t.Fatal("New accepted the configuration")
			}
			if !strings.Contains(err.Error(), `channel "tg"`) || !strings.Contains(err.Error(), tt.wantKey) {
				t.Errorf("error %q does not name the channel and %q", err, tt.wantKey)
			}
			for _, secret := range []string{tt.cfg.BotToken, tt.cfg.SecretToken} {
				if len(secret) > 4 && strings.Contains(err.Error(), secret) {
					t.Errorf("error %q reveals a secret", err)
				}
			}
		})
	}
}

func TestNew_DefaultsAndBotID(t *testing.T) {
	c := mustNew(t)
	if c.apiBase != DefaultAPIBaseURL {
		t.Errorf("apiBase %q", c.apiBase)
	}
	if c.BotID() != 7352001234 {
		t.Errorf("BotID %d", c.BotID())
	}
	c2, err := New(connector.Config{Name: "tg", BotToken: testToken, SecretToken: testSecret, APIBaseURL: "http://127.0.0.1:9/"})
	if err != nil || c2.apiBase != "http://127.0.0.1:9" {
		t.Fatalf("custom base: %v %q", err, c2.apiBase)
	}
}

func TestAuthenticate(t *testing.T) {
	c := mustNew(t)
	body := readFixture(t, "message_text_private")
	oneByte := []byte(testSecret)
	oneByte[3] ^= 1
	tests := []struct {
		name   string
		header []string // nil: no header
		ok     bool
	}{
		{"secret token matches", []string{testSecret}, true},
		{"wrong secret", []string{"another-bots-secret"}, false},
		{"secret changed by one byte", []string{string(oneByte)}, false},
		{"secret prefix", []string{testSecret[:len(testSecret)-1]}, false},
		{"secret with suffix", []string{testSecret + "x"}, false},
		{"secret with trailing space", []string{testSecret + " "}, false},
		{"header missing", nil, false},
		{"header empty", []string{""}, false},
		{"header twice", []string{testSecret, testSecret}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := &connector.Request{Method: "POST", Header: http.Header{}, Body: body}
			for _, v := range tt.header {
				req.Header.Add(SecretTokenHeader, v)
			}
			err := c.Authenticate(req)
			if tt.ok {
				if err != nil {
					t.Fatalf("Authenticate: %v", err)
				}
				return
			}
			if !errors.Is(err, connector.ErrSignature) {
				t.Fatalf("err = %v, want ErrSignature", err)
			}
			if strings.Contains(err.Error(), "Tagesgeld") || strings.Contains(err.Error(), testSecret) {
				t.Errorf("reason %q reveals the body or the secret", err)
			}
		})
	}
	if err := c.Authenticate(nil); !errors.Is(err, connector.ErrSignature) {
		t.Errorf("nil request: %v", err)
	}
}

func TestHandshake_TelegramHasNone(t *testing.T) {
	c := mustNew(t)
	resp, ok, err := c.Handshake(request(readFixture(t, "message_text_private")))
	if resp != nil || ok || err != nil {
		t.Fatalf("Handshake = %v %v %v", resp, ok, err)
	}
}

// simServer serves a simulator and returns it with a connector wired to it.
func simServer(t *testing.T) (*telegramsim.Sim, *Connector, *httptest.Server) {
	t.Helper()
	s := telegramsim.New(telegramsim.Options{BotToken: testToken, SecretToken: testSecret})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	s.SetBaseURL(srv.URL)
	c, err := New(s.ChannelConfig("tg", "https://archive.example"))
	if err != nil {
		t.Fatal(err)
	}
	return s, c, srv
}

func TestFetch_ThroughSimulator(t *testing.T) {
	s, c, srv := simServer(t)
	for _, d := range s.Deliveries(srv.URL + "/hooks/tg") {
		evs, err := c.Parse(request(d.Body))
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			for _, m := range ev.Media {
				body, ctype, err := c.Fetch(t.Context(), srv.Client(), m)
				if err != nil {
					t.Fatalf("%s: Fetch %s: %v", d.Kind, m.Name, err)
				}
				data, _ := io.ReadAll(body)
				body.Close()
				if int64(len(data)) != m.Size {
					t.Errorf("%s: fetched %d bytes, update announced %d", d.Kind, len(data), m.Size)
				}
				if ctype == "" || (m.ContentType != "" && strings.Split(ctype, "/")[0] != strings.Split(m.ContentType, "/")[0]) {
					t.Errorf("%s: content type %q for %q", d.Kind, ctype, m.ContentType)
				}
			}
		}
	}
}

func TestFetch_Failures(t *testing.T) {
	_, c, srv := simServer(t)
	ctx := t.Context()
	if _, _, err := c.Fetch(ctx, srv.Client(), connector.MediaRef{Ref: "not-a-file-id"}); err == nil || !strings.Contains(err.Error(), "invalid file_id") {
		t.Errorf("unknown file id: %v", err)
	}
	if _, _, err := c.Fetch(ctx, srv.Client(), connector.MediaRef{}); err == nil {
		t.Error("empty ref accepted")
	}
	wrong, err := New(connector.Config{Name: "tg", BotToken: "7352001234:AAwrong-token", SecretToken: testSecret, APIBaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = wrong.Fetch(ctx, srv.Client(), connector.MediaRef{Ref: "AgACAgIAAxkBAAI26348f40fe6fa7da48a090fe9c3b4f8fe174"})
	if err == nil || !strings.Contains(err.Error(), "404") || strings.Contains(err.Error(), "AAwrong-token") {
		t.Errorf("wrong token: %v", err)
	}
}

func TestFetch_RefusesHostileFilePath(t *testing.T) {
	for _, p := range []string{"../../../etc/passwd", "/etc/passwd", "photos/../../x", "photos/x?y=1", `photos\x`, ""} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/getFile") {
				io.WriteString(w, `{"ok":true,"result":{"file_id":"x","file_path":"`+strings.ReplaceAll(p, `\`, `\\`)+`"}}`)
				return
			}
			t.Errorf("downloaded %q for file_path %q", r.URL.Path, p)
		}))
		c, _ := New(connector.Config{Name: "tg", BotToken: testToken, SecretToken: testSecret, APIBaseURL: srv.URL})
		if _, _, err := c.Fetch(t.Context(), srv.Client(), connector.MediaRef{Ref: "AgACAgIAAxkBAAI"}); err == nil {
			t.Errorf("file_path %q accepted", p)
		}
		srv.Close()
	}
}

func TestFetch_TransportErrorsNeverContainTheToken(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens any more
	c, _ := New(connector.Config{Name: "tg", BotToken: testToken, SecretToken: testSecret, APIBaseURL: url})
	_, _, err := c.Fetch(context.Background(), http.DefaultClient, connector.MediaRef{Ref: "AgACAgIAAxkBAAI"})
	if err == nil {
		t.Fatal("Fetch against a closed server succeeded")
	}
	if strings.Contains(err.Error(), testToken) || !strings.Contains(err.Error(), "<bot_token>") {
		t.Errorf("error %q: token not scrubbed", err)
	}
	_, err = c.Send(context.Background(), http.DefaultClient, connector.Outbound{To: "6022000001", Body: "hi"})
	if err == nil || strings.Contains(err.Error(), testToken) {
		t.Errorf("Send error %v", err)
	}
}

func TestSend_TextThroughSimulator(t *testing.T) {
	s, c, srv := simServer(t)
	id, err := c.Send(t.Context(), srv.Client(), connector.Outbound{To: "6022000001", Body: "Guten Tag Herr Weber, Ihr Termin ist bestätigt ✅"})
	if err != nil {
		t.Fatal(err)
	}
	sent := s.Sent()
	if len(sent) != 1 || sent[0].Method != "sendMessage" || sent[0].ChatID != "6022000001" || sent[0].Text != "Guten Tag Herr Weber, Ihr Termin ist bestätigt ✅" {
		t.Fatalf("sim recorded %+v", sent)
	}
	if want := "6022000001:" + itoa(sent[0].MessageID); id != want {
		t.Errorf("provider id %q, want %q", id, want)
	}
	id2, err := c.Send(t.Context(), srv.Client(), connector.Outbound{To: "@hf_market_notes", Body: "Market note"})
	if err != nil || !strings.HasPrefix(id2, "-1001870000003:") {
		t.Errorf("send to @channel: %q %v", id2, err)
	}
}

func TestSend_AttachmentsAsDocuments(t *testing.T) {
	s, c, srv := simServer(t)
	pdf := onrecord.Attachment{Name: "Vertrag.pdf", ContentType: "application/pdf", Data: []byte("%PDF-1.7 contract")}
	id, err := c.Send(t.Context(), srv.Client(), connector.Outbound{To: "6022000003", Body: "Le contrat signé", Attachments: []onrecord.Attachment{pdf}})
	if err != nil {
		t.Fatal(err)
	}
	sent := s.Sent()
	if len(sent) != 1 || sent[0].Method != "sendDocument" || sent[0].Text != "Le contrat signé" || sent[0].FileName != "Vertrag.pdf" ||
		!bytes.Equal(sent[0].Data, pdf.Data) || sent[0].ContentType != "application/pdf" {
		t.Fatalf("sim recorded %+v", sent)
	}
	if id != "6022000003:"+itoa(sent[0].MessageID) {
		t.Errorf("id %q", id)
	}
	// A body too long for a caption goes first, as its own message.
	long := strings.Repeat("é", maxCaption+1)
	id, err = c.Send(t.Context(), srv.Client(), connector.Outbound{To: "6022000003", Body: long, Attachments: []onrecord.Attachment{pdf, pdf}})
	if err != nil {
		t.Fatal(err)
	}
	sent = s.Sent()[1:]
	if len(sent) != 3 || sent[0].Method != "sendMessage" || sent[1].Text != "" || sent[2].Method != "sendDocument" {
		t.Fatalf("sim recorded %+v", sent)
	}
	if id != "6022000003:"+itoa(sent[0].MessageID) {
		t.Errorf("id %q is not the first message's", id)
	}
}

func TestSend_Errors(t *testing.T) {
	_, c, srv := simServer(t)
	tests := []struct {
		name string
		msg  connector.Outbound
		want string
	}{
		{"no recipient", connector.Outbound{Body: "x"}, "no chat id"},
		{"bad recipient", connector.Outbound{To: "jonas", Body: "x"}, "not a chat id"},
		{"empty", connector.Outbound{To: "6022000001"}, "empty"},
		{"too long", connector.Outbound{To: "6022000001", Body: strings.Repeat("x", maxText+1)}, "at most"},
		{"unknown channel", connector.Outbound{To: "@nobody", Body: "x"}, "chat not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Send(t.Context(), srv.Client(), tt.msg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestSend_ReportsRetryAfter(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTooManyRequests)
		io.WriteString(w, `{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7","parameters":{"retry_after":7}}`)
	}))
	defer srv.Close()
	c, _ := New(connector.Config{Name: "tg", BotToken: testToken, SecretToken: testSecret, APIBaseURL: srv.URL})
	_, err := c.Send(t.Context(), srv.Client(), connector.Outbound{To: "1", Body: "x"})
	if err == nil || !strings.Contains(err.Error(), "429") || !strings.Contains(err.Error(), "retry after 7 s") {
		t.Fatalf("err = %v", err)
	}
}

func itoa(n int64) string { return fmtInt(n) }
