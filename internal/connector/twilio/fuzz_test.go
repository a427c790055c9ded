package twilio

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"pgregory.net/rapid"

	"github.com/onrecord/onrecord/internal/connector"
	twiliosim "github.com/onrecord/onrecord/internal/sim/twilio"
)

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.form")
	js, _ := filepath.Glob("testdata/*.json")
	for _, name := range append(files, js...) {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, filepath.Ext(name) == ".json")
	}
	f.Add([]byte("MessageSid=SM1&From=whatsapp%3A&NumMedia=99999999&MediaUrl99=%3A"), false)
	f.Add([]byte(`{"type":"com.twilio.messaging.message.","data":null}`), true)
	c := mustNew(f, "secret")
	f.Fuzz(func(t *testing.T, body []byte, isJSON bool) {
		h := http.Header{}
		if isJSON {
			h.Set("Content-Type", "application/json")
		}
		evs, err := c.Parse(&connector.Request{Method: http.MethodPost, Header: h, Body: body, ReceivedAt: received})
		if err != nil {
			return
		}
		for _, ev := range evs {
			ev.Channel = "sms"
			if err := ev.Validate(); err != nil {
				t.Fatalf("Parse returned an invalid event: %v", err)
			}
		}
	})
}

func FuzzAuthenticate(f *testing.F) {
	f.Add("RSOYDt4T1cUTdK1PDd93/VVr8B8=", "https://mycompany.com/myapp.php?foo=1&bar=2", []byte("CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1234&From=%2B14158675309&To=%2B18005551212"), "")
	f.Add("a9nBmqA0ju/hNViExpshrM61xv4=", "https://mycompany.com/myapp.php?foo=1&bar=2&bodySHA256=0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620", []byte(`{"property": "value", "boolean": true}`), "application/json")
	f.Add("", "https://[::1]:99999/", []byte("%"), "application/x-www-form-urlencoded")
	f.Add("AAAA", "http://u@h:/?bodySHA256=zz", []byte{}, "text/plain; charset")
	c := mustNew(f, "12345")
	f.Fuzz(func(t *testing.T, sig, publicURL string, body []byte, contentType string) {
		h := http.Header{}
		h.Set(SignatureHeader, sig)
		h.Set("Content-Type", contentType)
		_ = c.Authenticate(&connector.Request{Method: http.MethodPost, PublicURL: publicURL, Header: h, Body: body})
		_, _, _ = urlVariants(publicURL)
	})
}

// FuzzSignatureSettings: whatever X-Twilio-Webhooks-Signature-Settings and
// X-Twilio-Signature say, a channel with shared_keys refuses or accepts
// without panicking, and accepts nothing a shared key did not sign.
func FuzzSignatureSettings(f *testing.F) {
	f.Add("key=webhooks_sharedkey_01,algorithm=HMAC_SHA256", "AAAA")
	f.Add("algorithm=HMAC_SHA1", "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
	f.Add(",,=,key,algorithm=hmac_sha256 ,", "")
	f.Add("algorithm=HMAC_SHA512", "x")
	cfg := connector.Config{Name: "sms", Type: "twilio", AuthToken: "12345", AccountSID: "AC1", SharedKeys: []string{"sk-0123456789abcdef"}}
	c, err := New(cfg)
	if err != nil {
		f.Fatal(err)
	}
	body := []byte("CallSid=CA1234567890ABCDE&Caller=%2B14158675309")
	f.Fuzz(func(t *testing.T, settings, sig string) {
		h := http.Header{}
		h.Set(SignatureHeader, sig)
		h.Set(SignatureSettingsHeader, settings)
		h.Set("Content-Type", "application/x-www-form-urlencoded")
		if c.Authenticate(&connector.Request{Method: http.MethodPost, PublicURL: "https://mycompany.com/hook", Header: h, Body: body}) == nil {
			t.Fatalf("accepted settings %q with signature %q", settings, sig)
		}
	})
}

// Any correctly signed body either parses into valid events or is an
// error: never a panic, never an invalid event.
func TestProperty_SignedBodiesParseOrError(t *testing.T) {
	const token, hook = "prop-token", "https://records.example/hooks/sms"
	c := mustNew(t, token)
	rapid.Check(t, func(t *rapid.T) {
		keys := rapid.SampledFrom([]string{"MessageSid", "SmsSid", "From", "To", "Body", "NumMedia", "MediaUrl0", "MediaContentType0",
			"MessageStatus", "ErrorCode", "EventType", "ConversationSid", "Author", "Latitude", "Longitude", "MessageType", "ProfileName", "X"})
		params := url.Values{}
		for range rapid.IntRange(0, 8).Draw(t, "n") {
			params.Add(keys.Draw(t, "key"), rapid.String().Draw(t, "value"))
		}
		h := http.Header{}
		h.Set(SignatureHeader, twiliosim.Sign(token, hook, params))
		req := &connector.Request{Method: http.MethodPost, PublicURL: hook, Header: h, Body: []byte(params.Encode()), ReceivedAt: received}
		if err := c.Authenticate(req); err != nil {
			t.Fatalf("correctly signed body rejected: %v", err)
		}
		evs, err := c.Parse(req)
		if err != nil {
			return
		}
		for _, ev := range evs {
			ev.Channel = "sms"
			if err := ev.Validate(); err != nil {
				t.Fatalf("invalid event: %v", err)
			}
		}
	})
}
