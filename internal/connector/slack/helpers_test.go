package slack

import (
	"encoding/hex"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	json "github.com/go-json-experiment/json/v1"
	"github.com/onrecord/onrecord/internal/connector"
)

const testSecret = "8f742231b10e8888abcd99yyyzzz85a5"

func mustNew(tb testing.TB, cfg connector.Config) *Connector {
	tb.Helper()
	if cfg.Name == "" {
		cfg.Name = "slack-test"
	}
	if cfg.SigningSecret == "" {
		cfg.SigningSecret = testSecret
	}
	if cfg.BotToken == "" {
		cfg.BotToken = "xoxb-test-token"
	}
	c, err := New(cfg)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return c
}

func readFixture(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// signedRequest is body signed with secret at ts, received at ts.
func signedRequest(secret string, ts time.Time, body []byte) *connector.Request {
	tsText := ts.Unix()
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set(headerTimestamp, itoa(tsText))
	h.Set(headerSignature, "v0="+hexString(sign([]byte(secret), itoa(tsText), body)))
	return &connector.Request{Method: http.MethodPost, Header: h, Body: body, ReceivedAt: ts}
}

// slackTime parses a Slack ts in a test, failing on a bad one.
func slackTime(tb testing.TB, ts string) time.Time {
	tb.Helper()
	t, ok := parseTS(ts)
	if !ok {
		tb.Fatalf("bad ts %q", ts)
	}
	return t
}

func itoa(n int64) string       { return strconv.FormatInt(n, 10) }
func hexString(b []byte) string { return hex.EncodeToString(b) }

func urlEscape(s string) string { return url.QueryEscape(s) }

func mustJSON(t interface{ Fatalf(string, ...any) }, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return b
}
