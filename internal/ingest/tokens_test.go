package ingest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestTokens_CheckNamesTheTokenOrSaysWhyNot(t *testing.T) {
	now := time.Date(2027, 1, 31, 12, 0, 0, 0, time.UTC)
	tokens := NewTokens([]Token{
		{Name: "ediscovery", Secret: "ediscovery-0123456789abcdef"},
		{Name: "siem", Secret: "siem-0123456789abcdef-0123", Expires: now.Add(time.Second)},
		{Name: "old", Secret: "old-0123456789abcdef-01234", Expires: now},
	}, func() time.Time { return now })
	for _, tc := range []struct {
		name, header, want, wantErr string
		// own replaces the tokens above with tokens.
		own    bool
		tokens *Tokens
	}{
		{name: "first", header: "Bearer ediscovery-0123456789abcdef", want: "ediscovery"},
		{name: "second, before its expiry", header: "Bearer siem-0123456789abcdef-0123", want: "siem"},
		{name: "at its expiry", header: "Bearer old-0123456789abcdef-01234", wantErr: `"old" expired at 2027-01-31T12:00:00Z`},
		{name: "unknown", header: "Bearer ediscovery-0123456789abcdeF", wantErr: "not one of the API tokens"},
		{name: "a prefix of one", header: "Bearer ediscovery-0123456789abcde", wantErr: "not one of the API tokens"},
		{name: "none", header: "", wantErr: "bearer token is required"},
		{name: "empty", header: "Bearer ", wantErr: "bearer token is required"},
		{name: "not bearer", header: "Basic ZWRpc2NvdmVyeTp4", wantErr: "bearer token is required"},
		{name: "none configured", header: "Bearer ediscovery-0123456789abcdef", wantErr: "no API token is configured", own: true, tokens: NewTokens(nil, nil)},
		{name: "nil", header: "Bearer ediscovery-0123456789abcdef", wantErr: "no API token is configured", own: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/api/v1/channels", nil)
			if tc.header != "" {
				r.Header.Set("Authorization", tc.header)
			}
			tk := tokens
			if tc.own {
				tk = tc.tokens
			}
			got, err := tk.Check(r)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || got != "" {
					t.Fatalf("Check = %q, %v; want an error with %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Check = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestTokens_RequirePutsTheCallerInTheContext(t *testing.T) {
	tokens := NewTokens([]Token{{Name: "ediscovery", Secret: "ediscovery-0123456789abcdef"}}, nil)
	var caller string
	h := tokens.Require(func(w http.ResponseWriter, r *http.Request) { caller = Caller(r.Context()) })
	r := httptest.NewRequest("GET", "/api/v1/channels", nil)
	w := httptest.NewRecorder()
	h(w, r)
	if w.Code != http.StatusUnauthorized || !strings.Contains(w.Header().Get("WWW-Authenticate"), "Bearer") || caller != "" {
		t.Fatalf("without a token: %d %q, caller %q", w.Code, w.Header().Get("WWW-Authenticate"), caller)
	}
	r.Header.Set("Authorization", "Bearer ediscovery-0123456789abcdef")
	h(httptest.NewRecorder(), r)
	if caller != "api:ediscovery" {
		t.Fatalf("caller %q, want api:ediscovery", caller)
	}
	if got := Caller(r.Context()); got != "api" {
		t.Fatalf("outside Require: %q", got)
	}
}

func TestTokens_ReplaceRevokesAtOnce(t *testing.T) {
	tokens := NewTokens([]Token{{Name: "old", Secret: "old-0123456789abcdef-012345", Expires: time.Now().Add(time.Hour)}}, nil)
	check := func(secret string) (string, error) {
		r := httptest.NewRequest("GET", "/api/v1/channels", nil)
		r.Header.Set("Authorization", "Bearer "+secret)
		return tokens.Check(r)
	}
	if name, err := check("old-0123456789abcdef-012345"); name != "old" || err != nil {
		t.Fatalf("before: %q %v", name, err)
	}
	tokens.Replace([]Token{{Name: "new", Secret: "new-0123456789abcdef-012345"}})
	if _, err := check("old-0123456789abcdef-012345"); err == nil {
		t.Fatal("the replaced token is still accepted")
	}
	if name, err := check("new-0123456789abcdef-012345"); name != "new" || err != nil {
		t.Fatalf("after: %q %v", name, err)
	}
	if len(tokens.Expiring(24*time.Hour)) != 0 {
		t.Fatalf("the old token's expiry is still reported: %v", tokens.Expiring(24*time.Hour))
	}
	ch := make(chan prometheus.Metric, 4)
	tokens.expiry.Collect(ch)
	close(ch)
	if n := len(ch); n != 0 {
		t.Fatalf("%d expiry series after the expiring token was replaced", n)
	}
}
