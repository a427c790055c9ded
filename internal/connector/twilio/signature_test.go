package twilio

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	json "github.com/go-json-experiment/json/v1"
	"github.com/onrecord/onrecord/internal/connector"
	twiliosim "github.com/onrecord/onrecord/internal/sim/twilio"
)

// vector is one entry of testdata/signature_vectors.json, the official SDK
// test vectors (copied from the project's spec).
type vector struct {
	Source       string         `json:"source"`
	AuthToken    string         `json:"auth_token"`
	URL          string         `json:"url"`
	Params       map[string]any `json:"params"`
	JSONBody     string         `json:"json_body"`
	StringToSign string         `json:"string_to_sign"`
	Expected     string         `json:"expected_X-Twilio-Signature"`
	Rejected     string         `json:"expected_to_be_rejected"`
}

func loadVectors(t *testing.T) []vector {
	t.Helper()
	b, err := os.ReadFile("testdata/signature_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vs []vector
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatal(err)
	}
	return vs
}

func (v vector) values() url.Values {
	out := url.Values{}
	for k, p := range v.Params {
		switch p := p.(type) {
		case string:
			out.Add(k, p)
		case []any:
			for _, s := range p {
				out.Add(k, s.(string))
			}
		}
	}
	return out
}

// request builds the delivery the vector describes: a form POST, or a JSON
// POST when the vector has a JSON body.
func (v vector) request(sig string) *connector.Request {
	h := http.Header{}
	h.Set(SignatureHeader, sig)
	body := []byte(v.values().Encode())
	if v.JSONBody != "" {
		body = []byte(v.JSONBody)
		h.Set("Content-Type", "application/json")
	} else {
		h.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	u, _ := url.Parse(v.URL)
	return &connector.Request{Method: http.MethodPost, URL: u, PublicURL: v.URL, Header: h, Body: body}
}

func mustNew(t testing.TB, token string) *Connector {
	t.Helper()
	c, err := New(connector.Config{Name: "sms", Type: "twilio", AuthToken: token, AccountSID: "AC1f2e3d4c5b6a79881f2e3d4c5b6a7988"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSignature_PublishedVectorsVerify(t *testing.T) {
	for _, v := range loadVectors(t) {
		if v.Expected == "" {
			continue
		}
		t.Run(v.Source, func(t *testing.T) {
			c := mustNew(t, v.AuthToken)
			if err := c.Authenticate(v.request(v.Expected)); err != nil {
				t.Fatalf("published vector rejected: %v", err)
			}
			// The string we sign is the one the SDKs sign.
			urls, _, err := urlVariants(v.URL)
			if err != nil {
				t.Fatal(err)
			}
			var params url.Values
			if v.JSONBody == "" {
				params = v.values()
			}
			dedup, _ := appendParams(nil, params, true)
			if got := urls[0] + string(dedup); got != v.StringToSign {
				t.Errorf("string to sign\n got %q\nwant %q", got, v.StringToSign)
			}
		})
	}
}

func TestSignature_OneByteChangeFails(t *testing.T) {
	for _, v := range loadVectors(t) {
		if v.Expected == "" {
			continue
		}
		t.Run(v.Source, func(t *testing.T) {
			c := mustNew(t, v.AuthToken)
			req := v.request(v.Expected)
			for i := range req.Body {
				r := v.request(v.Expected)
				r.Body[i] ^= 0x01
				if err := c.Authenticate(r); !errors.Is(err, connector.ErrSignature) {
					t.Fatalf("body with byte %d flipped: err = %v, want ErrSignature", i, err)
				}
			}
			r := v.request(v.Expected)
			r.PublicURL = strings.Replace(v.URL, "myapp", "myapq", 1)
			if err := c.Authenticate(r); !errors.Is(err, connector.ErrSignature) {
				t.Fatalf("changed URL: err = %v, want ErrSignature", err)
			}
		})
	}
}

func TestSignature_SortingConcatenatedPairsIsRejected(t *testing.T) {
	var rejected string
	var base vector
	for _, v := range loadVectors(t) {
		if v.Rejected != "" {
			rejected = v.Rejected
		}
		if strings.Contains(v.StringToSign, "ReasonConferenceEnded") && strings.HasPrefix(v.URL, "https") {
			base = v
		}
	}
	if rejected == "" || base.URL == "" {
		t.Fatal("vectors file lacks the sorting-trap vectors")
	}
	if err := mustNew(t, base.AuthToken).Authenticate(base.request(rejected)); !errors.Is(err, connector.ErrSignature) {
		t.Fatalf("signature over wrongly sorted pairs accepted: %v", err)
	}
}

// Twilio's backend sometimes signs with the port and sometimes without:
// the SDKs accept both, and so must we.
func TestSignature_PortQuirkBothWays(t *testing.T) {
	var plain, withPort vector
	for _, v := range loadVectors(t) {
		switch {
		case v.URL == "https://mycompany.com/myapp.php?foo=1&bar=2" && v.Expected == "RSOYDt4T1cUTdK1PDd93/VVr8B8=":
			plain = v
		case strings.Contains(v.URL, ":443"):
			withPort = v
		}
	}
	c := mustNew(t, "12345")
	// Received without the port, signed with it.
	r := withPort.request(withPort.Expected)
	r.PublicURL = plain.URL
	if err := c.Authenticate(r); err != nil {
		t.Errorf("signature over URL with :443, request URL without: %v", err)
	}
	// Received with the port, signed without it.
	r = plain.request(plain.Expected)
	r.PublicURL = withPort.URL
	if err := c.Authenticate(r); err != nil {
		t.Errorf("signature over URL without port, request URL with :443: %v", err)
	}
	// As in the SDKs, a received port may be dropped, but a port that was
	// not received is only ever the scheme's default: a signature over
	// :8443 does not verify a request to the default port.
	r = plain.request(plain.Expected)
	r.PublicURL = "https://mycompany.com:8443/myapp.php?foo=1&bar=2"
	if err := c.Authenticate(r); err != nil {
		t.Errorf("request on :8443, signed without port: %v", err)
	}
	r = withPort.request(signFor(t, "12345", "https://mycompany.com:8443/myapp.php?foo=1&bar=2", withPort.values()))
	r.PublicURL = plain.URL
	if err := c.Authenticate(r); !errors.Is(err, connector.ErrSignature) {
		t.Errorf("signature over :8443 accepted for a request to the default port: %v", err)
	}
}

// signFor signs independently of the code under test.
func signFor(t *testing.T, token, u string, params url.Values) string {
	t.Helper()
	return twiliosim.Sign(token, u, params)
}

func TestSignature_RepeatedParamsSignedAsSDKs(t *testing.T) {
	for _, v := range loadVectors(t) {
		if _, ok := v.Params["Digits"].([]any); !ok {
			continue
		}
		c := mustNew(t, v.AuthToken)
		// The body carries Digits three times in its own order.
		r := v.request(v.Expected)
		r.Body = []byte("Digits=5678&Sid=CA123&Digits=1234&SidAccount=AC123&Digits=1234")
		if err := c.Authenticate(r); err != nil {
			t.Fatalf("repeated parameters: %v", err)
		}
		// An SDK that keeps repeats signs each value, sorted: that
		// string is accepted too, and one repeat fewer is not.
		for _, tt := range []struct {
			signed string
			ok     bool
		}{
			{"Digits1234Digits1234Digits5678SidCA123SidAccountAC123", true},
			{"Digits1234Digits5678Digits1234SidCA123SidAccountAC123", false},
		} {
			mac := hmac.New(sha1.New, []byte(v.AuthToken))
			mac.Write([]byte(v.URL + tt.signed))
			r.Header.Set(SignatureHeader, base64.StdEncoding.EncodeToString(mac.Sum(nil)))
			if err := c.Authenticate(r); (err == nil) != tt.ok {
				t.Errorf("signed over %q: err = %v, want accepted %v", tt.signed, err, tt.ok)
			}
		}
		return
	}
	t.Fatal("no repeated-parameter vector")
}

func TestSignature_Failures(t *testing.T) {
	var base vector
	var jsonV vector
	for _, v := range loadVectors(t) {
		if v.Expected == "RSOYDt4T1cUTdK1PDd93/VVr8B8=" {
			base = v
		}
		if v.JSONBody != "" {
			jsonV = v
		}
	}
	tests := []struct {
		name   string
		token  string
		mutate func(r *connector.Request)
	}{
		{"wrong auth token", "54321", func(*connector.Request) {}},
		{"missing header", "12345", func(r *connector.Request) { r.Header.Del(SignatureHeader) }},
		{"header not base64", "12345", func(r *connector.Request) { r.Header.Set(SignatureHeader, "not base64!") }},
		{"header wrong length", "12345", func(r *connector.Request) { r.Header.Set(SignatureHeader, "AAAA") }},
		{"parameter added", "12345", func(r *connector.Request) { r.Body = append(r.Body, "&Extra=1"...) }},
		{"trailing whitespace trimmed by a proxy", "12345", func(r *connector.Request) { r.Body = append(r.Body, "%20"...) }},
		{"query dropped from URL", "12345", func(r *connector.Request) { r.PublicURL = "https://mycompany.com/myapp.php" }},
		{"no public URL at all", "12345", func(r *connector.Request) { r.PublicURL = "" }},
		{"public URL not absolute", "12345", func(r *connector.Request) { r.PublicURL = "/myapp.php?foo=1&bar=2" }},
		{"JSON content type without bodySHA256", "12345", func(r *connector.Request) { r.Header.Set("Content-Type", "application/json") }},
		{"malformed form body", "12345", func(r *connector.Request) { r.Body = []byte("a=%zz") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := base.request(base.Expected)
			tt.mutate(r)
			err := mustNew(t, tt.token).Authenticate(r)
			if !errors.Is(err, connector.ErrSignature) {
				t.Fatalf("err = %v, want ErrSignature", err)
			}
			if strings.Contains(err.Error(), "14158675309") {
				t.Errorf("error reveals body content: %v", err)
			}
		})
	}

	jsonTests := []struct {
		name   string
		mutate func(r *connector.Request)
	}{
		{"body changed", func(r *connector.Request) { r.Body = []byte(`{"property": "value", "boolean": false}`) }},
		{"hash changed in URL", func(r *connector.Request) { r.PublicURL = strings.Replace(r.PublicURL, "0a1ff", "0a1fe", 1) }},
		{"hash not hex", func(r *connector.Request) { r.PublicURL = strings.Replace(r.PublicURL, "0a1ff", "0a1fz", 1) }},
		{"hash given twice", func(r *connector.Request) { r.PublicURL += "&bodySHA256=00" }},
	}
	for _, tt := range jsonTests {
		t.Run("json "+tt.name, func(t *testing.T) {
			r := jsonV.request(jsonV.Expected)
			tt.mutate(r)
			if err := mustNew(t, "12345").Authenticate(r); !errors.Is(err, connector.ErrSignature) {
				t.Fatalf("err = %v, want ErrSignature", err)
			}
		})
	}
}

// Without req.PublicURL the connector rebuilds it from public_url and the
// request URI, query kept.
func TestSignature_PublicURLFromConfig(t *testing.T) {
	var base vector
	for _, v := range loadVectors(t) {
		if v.Expected == "RSOYDt4T1cUTdK1PDd93/VVr8B8=" {
			base = v
		}
	}
	c, err := New(connector.Config{Name: "sms", AuthToken: "12345", AccountSID: "AC1", PublicURL: "https://mycompany.com/"})
	if err != nil {
		t.Fatal(err)
	}
	r := base.request(base.Expected)
	r.PublicURL = ""
	r.URL, _ = url.Parse("/myapp.php?foo=1&bar=2")
	if err := c.Authenticate(r); err != nil {
		t.Fatal(err)
	}
}

func TestURLVariants(t *testing.T) {
	tests := []struct{ in, other string }{
		{"https://a.example/x?y=1", "https://a.example:443/x?y=1"},
		{"https://a.example:443/x?y=1", "https://a.example/x?y=1"},
		{"http://a.example/x", "http://a.example:80/x"},
		{"http://a.example:8080/x", "http://a.example/x"},
		{"https://a.example?x=%2B", "https://a.example:443?x=%2B"},
		{"https://[::1]:8443/h", "https://[::1]/h"},
		{"https://[::1]/h", "https://[::1]:443/h"},
		{"https://u:p@a.example:443/h#frag", "https://u:p@a.example/h"},
	}
	for _, tt := range tests {
		got, _, err := urlVariants(tt.in)
		if err != nil {
			t.Fatalf("%s: %v", tt.in, err)
		}
		if len(got) != 2 || got[1] != tt.other {
			t.Errorf("urlVariants(%q) = %q, want second %q", tt.in, got, tt.other)
		}
	}
}

// BenchmarkAuthenticate checks the published vector's short form and a
// whole inbound MMS as Twilio posts it (about 30 parameters).
func BenchmarkAuthenticate(b *testing.B) {
	mms, err := os.ReadFile("testdata/mms_inbound.form")
	if err != nil {
		b.Fatal(err)
	}
	mmsParams, err := url.ParseQuery(string(mms))
	if err != nil {
		b.Fatal(err)
	}
	const hook = "https://records.example.gov/hooks/sms"
	for _, bc := range []struct {
		name, url, sig string
		body           []byte
	}{
		{"vector", "https://mycompany.com/myapp.php?foo=1&bar=2", "RSOYDt4T1cUTdK1PDd93/VVr8B8=",
			[]byte("CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1234&From=%2B14158675309&To=%2B18005551212")},
		{"mms", hook, twiliosim.Sign("12345", hook, mmsParams), mms},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c := mustNew(b, "12345")
			h := http.Header{}
			h.Set(SignatureHeader, bc.sig)
			req := &connector.Request{Method: http.MethodPost, PublicURL: bc.url, Header: h, Body: bc.body}
			if _, err := req.Form(); err != nil { // parsed once per delivery, shared with Parse
				b.Fatal(err)
			}
			for b.Loop() {
				if err := c.Authenticate(req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
