package app

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onrecord/onrecord/internal/config"
)

// serveTestApp validates cfg, opens the app on it and starts srv (made
// with httptest.NewUnstartedServer, so that its address could go into
// cfg first) serving the public handler; both close when the test ends.
func serveTestApp(t *testing.T, srv *httptest.Server, cfg config.Config) *App {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	a, err := Open(t.Context(), Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	srv.Config.Handler = a.PublicHandler()
	srv.Start()
	t.Cleanup(srv.Close)
	return a
}

// testAPIToken is the API bearer token of apiTestApp.
const testAPIToken = "api-token-0123456789abcdef01"

// apiTestApp is serveTestApp on the default configuration in a temporary
// data directory (and exports in another: the default is relative to the
// working directory, which is the source tree), with testAPIToken as its
// API token.
func apiTestApp(t *testing.T) (*App, *httptest.Server) {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	cfg.ExportDir = filepath.Join(t.TempDir(), "exports")
	cfg.APITokens = []string{testAPIToken}
	srv := httptest.NewUnstartedServer(nil)
	return serveTestApp(t, srv, cfg), srv
}

// apiDo sends method path (under base, the server's URL) with body and the
// bearer token (none if empty), and returns the status and body.
func apiDo(t *testing.T, base, token, method, path, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// apiCall sends an API request to srv with testAPIToken and decodes the
// JSON answer into out.
func apiCall(t *testing.T, srv *httptest.Server, method, path, body string, out any) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testAPIToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	json.NewDecoder(resp.Body).Decode(out)
	return resp
}
