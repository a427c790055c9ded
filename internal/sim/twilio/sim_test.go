package twiliosim

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// The published vector from Twilio's webhook-security docs and SDK tests.
func TestSign_PublishedVector(t *testing.T) {
	params := url.Values{"CallSid": {"CA1234567890ABCDE"}, "Caller": {"+14158675309"}, "Digits": {"1234"},
		"From": {"+14158675309"}, "To": {"+18005551212"}}
	if got := Sign("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", params); got != "RSOYDt4T1cUTdK1PDd93/VVr8B8=" {
		t.Fatalf("Sign = %s", got)
	}
	if got := Sign("12345", "https://mycompany.com/myapp.php?foo=1&bar=2&bodySHA256=0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620", nil); got != "a9nBmqA0ju/hNViExpshrM61xv4=" {
		t.Fatalf("Sign JSON = %s", got)
	}
}

func newServer(t *testing.T) (*Sim, *httptest.Server) {
	t.Helper()
	s := New(Options{})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	s.SetBaseURL(srv.URL)
	return s, srv
}

func TestHandler_MediaNeedsBasicAuthThenRedirects(t *testing.T) {
	s, srv := newServer(t)
	me := mediaSID(2, "test")
	u := srv.URL + "/2010-04-01/Accounts/" + s.opts.AccountSID + "/Messages/MM" + hexID("m") + "/Media/" + me
	tests := []struct {
		name       string
		user, pass string
		status     int
	}{
		{"no credentials", "", "", http.StatusUnauthorized},
		{"wrong token", s.opts.AccountSID, "nope", http.StatusUnauthorized},
		{"right credentials", s.opts.AccountSID, s.opts.AuthToken, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
			if tt.user != "" {
				req.SetBasicAuth(tt.user, tt.pass)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if tt.status == http.StatusOK && (resp.Header.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(string(body), "%PDF")) {
				t.Errorf("served %s %q…", resp.Header.Get("Content-Type"), body[:8])
			}
		})
	}
	// The CDN URL is only good with its signature.
	resp, err := http.Get(srv.URL + "/cdn/media/" + me + "?Signature=forged")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("CDN with a forged signature: %d", resp.StatusCode)
	}
}

func TestHandler_SendRecordsAndRefuses(t *testing.T) {
	s, srv := newServer(t)
	post := func(user, pass string, form url.Values) int {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+"/2010-04-01/Accounts/"+s.opts.AccountSID+"/Messages.json", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(user, pass)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	ok := url.Values{"To": {"+13125550142"}, "From": {"+12125550100"}, "Body": {"hello"}}
	if got := post(s.opts.AccountSID, "wrong", ok); got != http.StatusUnauthorized {
		t.Errorf("wrong token: %d", got)
	}
	if got := post(s.opts.AccountSID, s.opts.AuthToken, url.Values{"From": {"+1"}, "Body": {"x"}}); got != http.StatusBadRequest {
		t.Errorf("no To: %d", got)
	}
	if got := post(s.opts.AccountSID, s.opts.AuthToken, ok); got != http.StatusCreated {
		t.Errorf("valid send: %d", got)
	}
	if sent := s.Sent(); len(sent) != 1 || sent[0].Body != "hello" || !validSID(sent[0].SID, "SM") {
		t.Errorf("Sent() = %+v", sent)
	}
}

func TestWorkload_SizeAndKinds(t *testing.T) {
	s := New(Options{})
	ds := s.Workload("https://records.example/hooks/sms", 7, 500)
	if len(ds) != 500 {
		t.Fatalf("%d deliveries", len(ds))
	}
	kinds := map[string]int{}
	for _, d := range ds {
		kinds[d.Kind]++
		if d.Header.Get("X-Twilio-Signature") == "" {
			t.Fatalf("%s unsigned", d.Kind)
		}
	}
	for _, k := range []string{"sms_text", "whatsapp_text", "mms", "status_queued", "conversations_message_added", "eventstreams_batch"} {
		if kinds[k] == 0 {
			t.Errorf("no %s in workload: %v", k, kinds)
		}
	}
}
