package signal

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/onrecord/onrecord/internal/connector"
)

func TestNew_ValidatesConfigNamingTOMLKeys(t *testing.T) {
	tests := []struct {
		name    string
		cfg     connector.Config
		wantErr string
	}{
		{"missing account", connector.Config{Name: "sig"}, `channel "sig": account is required`},
		{"account not E.164", connector.Config{Name: "sig", Account: "15550100"}, `channel "sig": account must be`},
		{"account with letters", connector.Config{Name: "sig", Account: "+1555abc0100"}, "account must be"},
		{"bad rpc_url", connector.Config{Name: "sig", Account: testAccount, RPCURL: "localhost:8080"}, `channel "sig": rpc_url`},
		{"bad api_base_url", connector.Config{Name: "sig", Account: testAccount, APIBaseURL: "ftp://x"}, "api_base_url"},
		{"ok with default rpc", connector.Config{Name: "sig", Account: testAccount}, ""},
		{"ok", connector.Config{Name: "sig", Account: testAccount, RPCURL: "http://127.0.0.1:8080/"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.cfg)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				if strings.HasSuffix(c.rpcURL, "/") || c.rpcURL == "" {
					t.Errorf("rpcURL = %q", c.rpcURL)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
	if c, _ := New(connector.Config{Name: "s", Account: testAccount}); c.rpcURL != DefaultRPCURL {
		t.Errorf("default rpc URL = %q", c.rpcURL)
	}
}

func TestAuthenticate(t *testing.T) {
	const token = "s3cr3t-push-token"
	body := []byte(`{"envelope":{}}`)
	req := func(method, remote, rawURL string, h map[string]string) *connector.Request {
		u, _ := url.Parse(rawURL)
		hdr := http.Header{}
		for k, v := range h {
			hdr.Set(k, v)
		}
		return &connector.Request{Method: method, RemoteAddr: remote, URL: u, Header: hdr, Body: body}
	}
	tests := []struct {
		name  string
		token string
		req   *connector.Request
		ok    bool
	}{
		{"stream request", token, req(StreamMethod, StreamRemoteAddr, "", nil), true},
		{"stream request without token configured", "", req(StreamMethod, StreamRemoteAddr, "", nil), true},
		{"STREAM method over HTTP from a network peer", token, req(StreamMethod, "203.0.113.9:4431", "/hooks/sig", nil), false},
		{"stream remote addr with POST", token, req("POST", StreamRemoteAddr, "/hooks/sig", nil), false},
		{"token in query", token, req("POST", "203.0.113.9:4431", "/hooks/sig?token="+token, nil), true},
		{"token as bearer", token, req("POST", "203.0.113.9:4431", "/hooks/sig", map[string]string{"Authorization": "Bearer " + token}), true},
		{"token as bearer lower-case scheme", token, req("POST", "203.0.113.9:4431", "/hooks/sig", map[string]string{"Authorization": "bearer " + token}), true},
		{"token in X-Onrecord-Token", token, req("POST", "203.0.113.9:4431", "/hooks/sig", map[string]string{"X-Onrecord-Token": token}), true},
		{"token missing", token, req("POST", "127.0.0.1:4431", "/hooks/sig", nil), false},
		{"token wrong", token, req("POST", "127.0.0.1:4431", "/hooks/sig?token=nope", nil), false},
		{"token one byte changed", token, req("POST", "127.0.0.1:4431", "/hooks/sig?token=s3cr3t-push-tokeN", nil), false},
		{"token prefix", token, req("POST", "127.0.0.1:4431", "/hooks/sig?token=s3cr3t", nil), false},
		{"basic auth is not a token", token, req("POST", "127.0.0.1:4431", "/hooks/sig", map[string]string{"Authorization": "Basic " + token}), false},
		{"wrong bearer beats right query", token, req("POST", "127.0.0.1:1", "/hooks/sig?token="+token, map[string]string{"Authorization": "Bearer x"}), false},
		{"no token: loopback v4", "", req("POST", "127.0.0.1:51000", "/hooks/sig", nil), true},
		{"no token: loopback 127.8.9.10", "", req("POST", "127.8.9.10:51000", "/hooks/sig", nil), true},
		{"no token: loopback v6", "", req("POST", "[::1]:51000", "/hooks/sig", nil), true},
		{"no token: v4-mapped loopback", "", req("POST", "[::ffff:127.0.0.1]:51000", "/hooks/sig", nil), true},
		{"no token: loopback relayed by a local proxy", "", req("POST", "127.0.0.1:51000", "/hooks/sig", map[string]string{"X-Forwarded-For": "198.51.100.1"}), false},
		{"no token: loopback with Forwarded", "", req("POST", "127.0.0.1:51000", "/hooks/sig", map[string]string{"Forwarded": "for=198.51.100.1"}), false},
		{"no token: private network", "", req("POST", "10.0.0.7:51000", "/hooks/sig", nil), false},
		{"no token: public", "", req("POST", "198.51.100.1:51000", "/hooks/sig", nil), false},
		{"no token: garbage addr", "", req("POST", "localhost:51000", "/hooks/sig", nil), false},
		{"no token: empty addr", "", req("POST", "", "/hooks/sig", nil), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustNew(t, connector.Config{PushToken: tt.token})
			err := c.Authenticate(tt.req)
			if tt.ok && err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
			if !tt.ok {
				if !errors.Is(err, connector.ErrSignature) {
					t.Fatalf("Authenticate = %v, want ErrSignature", err)
				}
				if strings.Contains(err.Error(), string(body)) || strings.Contains(err.Error(), "nope") {
					t.Errorf("error leaks request content: %v", err)
				}
			}
		})
	}
	if err := mustNew(t, connector.Config{}).Authenticate(nil); !errors.Is(err, connector.ErrSignature) {
		t.Errorf("Authenticate(nil) = %v", err)
	}
}

func TestHandshake_None(t *testing.T) {
	resp, ok, err := mustNew(t, connector.Config{}).Handshake(&connector.Request{Method: "GET"})
	if resp != nil || ok || err != nil {
		t.Fatalf("Handshake = %v %v %v", resp, ok, err)
	}
}
