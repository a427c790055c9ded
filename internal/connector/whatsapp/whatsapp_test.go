package whatsapp

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	json "github.com/go-json-experiment/json/v1"
	"github.com/onrecord/onrecord/internal/connector"
	whatsappsim "github.com/onrecord/onrecord/internal/sim/whatsapp"
)

func TestNew_RequiredFieldsAreNamedByTOMLKey(t *testing.T) {
	ok := connector.Config{Name: "wa", AppSecret: "s", VerifyToken: "v", AccessToken: "a", PhoneNumberID: "1"}
	cases := []struct {
		name    string
		mutate  func(*connector.Config)
		wantErr string
	}{
		{"complete", func(*connector.Config) {}, ""},
		{"no phone number id is fine for capture", func(c *connector.Config) { c.PhoneNumberID = "" }, ""},
		{"app_secret", func(c *connector.Config) { c.AppSecret = "" }, `channel "wa": app_secret is required`},
		{"verify_token", func(c *connector.Config) { c.VerifyToken = " " }, `channel "wa": verify_token is required`},
		{"access_token", func(c *connector.Config) { c.AccessToken = "" }, `channel "wa": access_token is required`},
		{"bad api_base_url", func(c *connector.Config) { c.APIBaseURL = "ftp://graph" }, "api_base_url"},
		{"phone id with a path", func(c *connector.Config) { c.PhoneNumberID = "1/../2" }, "phone_number_id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok
			tc.mutate(&cfg)
			c, err := New(cfg)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if c.apiBase != DefaultAPIBaseURL {
					t.Errorf("apiBase = %q, want the default %q", c.apiBase, DefaultAPIBaseURL)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestHandshake_AnswersOnlyAMatchingSubscribe(t *testing.T) {
	c := mustConnector(t)
	get := func(q string) *connector.Request {
		u, _ := url.Parse("/hooks/wa?" + q)
		return &connector.Request{Method: http.MethodGet, URL: u}
	}
	cases := []struct {
		name   string
		req    *connector.Request
		ok     bool
		refuse bool
		body   string
	}{
		{"match", get("hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=vt"), true, false, "1158201444"},
		{"wrong token", get("hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=nope"), true, true, ""},
		{"token prefix", get("hub.mode=subscribe&hub.challenge=1&hub.verify_token=v"), true, true, ""},
		{"wrong mode", get("hub.mode=unsubscribe&hub.challenge=1&hub.verify_token=vt"), true, true, ""},
		{"no challenge", get("hub.mode=subscribe&hub.verify_token=vt"), true, true, ""},
		{"markup challenge", get("hub.mode=subscribe&hub.challenge=%3Cscript%3E%20x&hub.verify_token=vt"), true, true, ""},
		{"bare GET", get(""), true, true, ""},
		{"POST is not a handshake", &connector.Request{Method: http.MethodPost, URL: &url.URL{RawQuery: "hub.mode=subscribe"}}, false, false, ""},
		{"nil URL", &connector.Request{Method: http.MethodGet}, true, true, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, ok, err := c.Handshake(tc.req)
			if ok != tc.ok || (err != nil) != tc.refuse {
				t.Fatalf("ok=%v err=%v, want ok=%v refused=%v", ok, err, tc.ok, tc.refuse)
			}
			if tc.body != "" {
				if resp.Status != http.StatusOK || string(resp.Body) != tc.body || !strings.HasPrefix(resp.ContentType, "text/plain") {
					t.Fatalf("resp = %+v", resp)
				}
			}
			if err != nil && strings.Contains(err.Error(), "vt") {
				t.Fatalf("refusal %q leaks the verify token", err)
			}
		})
	}
}

type vector struct {
	AppSecret string `json:"app_secret"`
	Decoded   string `json:"raw_body_as_received_decoded_utf8"`
	Signed    string `json:"bytes_actually_signed"`
	Expected  string `json:"expected_header_X-Hub-Signature-256"`
	Wrong     string `json:"wrong_if_signing_decoded_utf8"`
}

func signed(body []byte, sig ...string) *connector.Request {
	h := http.Header{}
	for _, s := range sig {
		h.Add(SignatureHeader, s)
	}
	return &connector.Request{Method: http.MethodPost, Header: h, Body: body}
}

func TestAuthenticate_PublishedVector(t *testing.T) {
	var v vector
	if err := json.Unmarshal(readFixture(t, "signature_vector_whatsapp-api-js.json"), &v); err != nil {
		t.Fatal(err)
	}
	c, err := New(connector.Config{Name: "wa", AppSecret: v.AppSecret, VerifyToken: "x", AccessToken: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Authenticate(signed([]byte(v.Signed), v.Expected)); err != nil {
		t.Fatalf("published vector does not verify: %v", err)
	}
	// The simulator's escaping produces exactly the bytes Meta signs.
	if got := string(whatsappsim.EscapeNonASCII([]byte(v.Decoded))); got != v.Signed {
		t.Fatalf("EscapeNonASCII:\n got  %q\n want %q", got, v.Signed)
	}
	if got := whatsappsim.Sign(v.AppSecret, []byte(v.Signed)); got != v.Expected {
		t.Fatalf("Sign = %s, want %s", got, v.Expected)
	}
	// Signing the decoded text is the classic mistake: it must not pass.
	if err := c.Authenticate(signed([]byte(v.Decoded), v.Expected)); !errors.Is(err, connector.ErrSignature) {
		t.Fatalf("decoded body verified with the escaped body's signature: %v", err)
	}
	if err := c.Authenticate(signed([]byte(v.Signed), v.Wrong)); !errors.Is(err, connector.ErrSignature) {
		t.Fatalf("the wrong (decoded) signature verified: %v", err)
	}
	for i := range len(v.Signed) {
		b := []byte(v.Signed)
		b[i] ^= 0x01
		if err := c.Authenticate(signed(b, v.Expected)); !errors.Is(err, connector.ErrSignature) {
			t.Fatalf("body changed at byte %d still verifies", i)
		}
	}
}

func TestAuthenticate_DerivedMetaDocsVector(t *testing.T) {
	// HMAC-SHA256 (key "test_app_secret") of testdata/metadocs_text.json
	// byte for byte; if this fails, the fixture's bytes were changed
	// (line endings!) — it is marked -text in .gitattributes.
	const want = "sha256=4968165fc2beefe2fdd8e9ba0d93af62ca5ff5ee18e44cdb70d9ad19e34755e8"
	c := mustConnector(t)
	if err := c.Authenticate(signed(readFixture(t, "metadocs_text.json"), want)); err != nil {
		t.Fatal(err)
	}
}

func TestAuthenticate_FailuresWrapErrSignatureWithoutBodyContent(t *testing.T) {
	c := mustConnector(t)
	body := readFixture(t, "text.json")
	good := whatsappsim.Sign("test_app_secret", body)
	changed := append([]byte(nil), body...)
	changed[len(changed)/2] ^= 0x20
	cases := []struct {
		name string
		req  *connector.Request
	}{
		{"missing header", signed(body)},
		{"wrong secret", signed(body, whatsappsim.Sign("another_secret", body))},
		{"body changed by one byte", signed(changed, good)},
		{"sha1 scheme", signed(body, "sha1="+strings.TrimPrefix(good, "sha256=")[:40])},
		{"no prefix", signed(body, strings.TrimPrefix(good, "sha256="))},
		{"not hex", signed(body, "sha256="+strings.Repeat("zz", 32))},
		{"truncated digest", signed(body, good[:len(good)-2])},
		{"empty", signed(body, "")},
		{"two headers", signed(body, good, good)},
		{"nil request", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := c.Authenticate(tc.req)
			if !errors.Is(err, connector.ErrSignature) {
				t.Fatalf("err = %v, want ErrSignature", err)
			}
			for _, leak := range []string{"Puede", "34615550147", "test_app_secret", good[10:30]} {
				if strings.Contains(err.Error(), leak) {
					t.Fatalf("reason %q leaks %q", err, leak)
				}
			}
		})
	}
	if err := c.Authenticate(signed(body, good)); err != nil {
		t.Fatalf("the correct signature fails: %v", err)
	}
	if err := c.Authenticate(signed(body, strings.ToUpper(good[:7])+strings.ToUpper(good[7:]))); err != nil {
		t.Fatalf("upper-case hex fails: %v", err)
	}
}

func BenchmarkAuthenticate(b *testing.B) {
	c := mustConnector(b)
	body := readFixture(b, "batch.json")
	req := signed(body, whatsappsim.Sign("test_app_secret", body))
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if err := c.Authenticate(req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	c := mustConnector(b)
	req := &connector.Request{Body: readFixture(b, "batch.json")}
	b.SetBytes(int64(len(req.Body)))
	for b.Loop() {
		if _, err := c.Parse(req); err != nil {
			b.Fatal(err)
		}
	}
}
