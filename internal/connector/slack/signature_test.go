package slack

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	json "github.com/go-json-experiment/json/v1"
	"github.com/onrecord/onrecord/internal/connector"
)

// vector is one entry of Slack's published signature vectors (copied from
// spec/signatures/slack.json into testdata).
type vector struct {
	Source    string `json:"source"`
	Secret    string `json:"signing_secret"`
	Timestamp string `json:"X-Slack-Request-Timestamp"`
	BodyFile  string `json:"body_file"`
	Expected  string `json:"expected_X-Slack-Signature"`
}

func loadVectors(t *testing.T) []vector {
	t.Helper()
	var vs []vector
	if err := json.Unmarshal(readFixture(t, "slack.json"), &vs); err != nil {
		t.Fatal(err)
	}
	if len(vs) != 2 {
		t.Fatalf("want 2 published vectors, got %d", len(vs))
	}
	return vs
}

func vectorRequest(t *testing.T, v vector, body []byte) *connector.Request {
	t.Helper()
	sec, err := strconv.ParseInt(v.Timestamp, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set("X-Slack-Request-Timestamp", v.Timestamp)
	h.Set("X-Slack-Signature", v.Expected)
	// The vectors are from 2018: the clock is injected as the time of receipt.
	return &connector.Request{Method: http.MethodPost, Header: h, Body: body, ReceivedAt: time.Unix(sec, 0).Add(30 * time.Second)}
}

func TestAuthenticate_PublishedVectorsVerify(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.BodyFile, func(t *testing.T) {
			file, _, _ := strings.Cut(v.BodyFile, " ")
			body := readFixture(t, file)
			c := mustNew(t, connector.Config{SigningSecret: v.Secret})
			if err := c.Authenticate(vectorRequest(t, v, body)); err != nil {
				t.Fatalf("published vector from %s does not verify: %v", v.Source, err)
			}
			// One byte changed anywhere must fail.
			for _, i := range []int{0, len(body) / 2, len(body) - 1} {
				changed := append([]byte(nil), body...)
				changed[i] ^= 0x01
				err := c.Authenticate(vectorRequest(t, v, changed))
				if !errors.Is(err, connector.ErrSignature) {
					t.Errorf("byte %d changed: err = %v, want ErrSignature", i, err)
				}
			}
		})
	}
}

func TestAuthenticate_Failures(t *testing.T) {
	v := loadVectors(t)[0]
	body := readFixture(t, "slackdocs_signing_example_body.form")
	sec, _ := strconv.ParseInt(v.Timestamp, 10, 64)
	good := func() *connector.Request { return vectorRequest(t, v, body) }
	tests := []struct {
		name   string
		secret string
		edit   func(r *connector.Request)
		reason string
	}{
		{"wrong secret", "8f742231b10e8888abcd99yyyzzz85a6", func(*connector.Request) {}, "does not match"},
		{"missing signature", v.Secret, func(r *connector.Request) { r.Header.Del("X-Slack-Signature") }, "missing X-Slack-Signature"},
		{"missing timestamp", v.Secret, func(r *connector.Request) { r.Header.Del("X-Slack-Request-Timestamp") }, "missing X-Slack-Request-Timestamp"},
		{"other timestamp than signed", v.Secret, func(r *connector.Request) { r.Header.Set("X-Slack-Request-Timestamp", itoa(sec+1)) }, "does not match"},
		{"timestamp not a number", v.Secret, func(r *connector.Request) { r.Header.Set("X-Slack-Request-Timestamp", "1531420618.5") }, "malformed"},
		{"wrong version", v.Secret, func(r *connector.Request) { r.Header.Set("X-Slack-Signature", "v1="+v.Expected[3:]) }, "version"},
		{"not hex", v.Secret, func(r *connector.Request) { r.Header.Set("X-Slack-Signature", "v0="+strings.Repeat("zz", 32)) }, "not hex"},
		{"truncated", v.Secret, func(r *connector.Request) { r.Header.Set("X-Slack-Signature", v.Expected[:40]) }, "characters"},
		{"stale: 5m01s after", v.Secret, func(r *connector.Request) { r.ReceivedAt = time.Unix(sec, 0).Add(5*time.Minute + time.Second) }, "from the time of receipt"},
		{"from the future: 5m01s before", v.Secret, func(r *connector.Request) { r.ReceivedAt = time.Unix(sec, 0).Add(-5*time.Minute - time.Second) }, "from the time of receipt"},
		{"no clock injected: real now is years later", v.Secret, func(r *connector.Request) { r.ReceivedAt = time.Time{} }, "from the time of receipt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustNew(t, connector.Config{SigningSecret: tt.secret})
			r := good()
			tt.edit(r)
			err := c.Authenticate(r)
			if !errors.Is(err, connector.ErrSignature) {
				t.Fatalf("err = %v, want ErrSignature", err)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("err = %q, want it to say %q", err, tt.reason)
			}
			if strings.Contains(err.Error(), "webhook-collect") || strings.Contains(err.Error(), "roadrunner") {
				t.Errorf("error leaks body content: %q", err)
			}
		})
	}
}

func TestAuthenticate_WindowEdgesAccepted(t *testing.T) {
	v := loadVectors(t)[1]
	body := readFixture(t, "slackgo_signed_body.json")
	sec, _ := strconv.ParseInt(v.Timestamp, 10, 64)
	c := mustNew(t, connector.Config{SigningSecret: v.Secret})
	for _, d := range []time.Duration{-MaxTimestampSkew, 0, MaxTimestampSkew} {
		r := vectorRequest(t, v, body)
		r.ReceivedAt = time.Unix(sec, 0).Add(d)
		if err := c.Authenticate(r); err != nil {
			t.Errorf("received %s from the timestamp: %v", d, err)
		}
	}
}

func TestParseSignature(t *testing.T) {
	good := "v0=" + strings.Repeat("ab", 32)
	if b, err := parseSignature(good); err != nil || len(b) != 32 {
		t.Fatalf("parseSignature(%q) = %x, %v", good, b, err)
	}
	for _, bad := range []string{"", "v0", "v0=", "=abc", "v0=" + strings.Repeat("ab", 31), "v0:" + strings.Repeat("ab", 32), "V0=" + strings.Repeat("ab", 32)} {
		if _, err := parseSignature(bad); err == nil {
			t.Errorf("parseSignature(%q) accepted", bad)
		}
	}
}

func FuzzAuthenticate(f *testing.F) {
	f.Add("v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503", "1531420618", []byte("token=x"))
	f.Add("v0=", "", []byte{})
	f.Add("v1=zz", "-1", []byte("{}"))
	f.Add("v0="+strings.Repeat("0", 64), "99999999999999999999", []byte("{"))
	c := mustNew(f, connector.Config{})
	f.Fuzz(func(t *testing.T, sig, ts string, body []byte) {
		if b, err := parseSignature(sig); err == nil && len(b) != 32 {
			t.Fatalf("parseSignature(%q) returned %d bytes", sig, len(b))
		}
		_, _ = parseTimestamp(ts)
		h := http.Header{}
		h.Set("X-Slack-Signature", sig)
		h.Set("X-Slack-Request-Timestamp", ts)
		err := c.Authenticate(&connector.Request{Header: h, Body: body, ReceivedAt: time.Unix(1531420618, 0)})
		if err != nil && !errors.Is(err, connector.ErrSignature) {
			t.Fatalf("error does not wrap ErrSignature: %v", err)
		}
	})
}
