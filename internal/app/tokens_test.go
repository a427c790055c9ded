package app

import (
	"fmt"
	"maps"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/config"
)

// TestAPITokens_AccessIsRecordedUnderTheTokensName: every search and
// conversation view through the API is on the record under the name of the
// token it came with (api:NAME; an unnamed api_tokens entry by its place),
// and a token past its expiry is refused, said why and counted.
func TestAPITokens_AccessIsRecordedUnderTheTokensName(t *testing.T) {
	const (
		unnamed    = "unnamed-0123456789abcdef0123"
		ediscovery = "ediscovery-0123456789abcdef"
		expired    = "expired-0123456789abcdef0123"
	)
	cfg := config.Default()
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	cfg.ExportDir = filepath.Join(t.TempDir(), "exports")
	cfg.APITokens = []string{unnamed}
	cfg.NamedAPITokens = []config.APIToken{
		{Name: "ediscovery", Token: ediscovery, Expires: "2999-01-01"},
		{Name: "old-siem", Token: expired, Expires: "2020-01-01"},
	}
	srv := httptest.NewUnstartedServer(nil)
	a := serveTestApp(t, srv, cfg)
	msg := &onrecord.Event{Channel: "wa", Kind: onrecord.KindMessage, ProviderID: "wamid.1", Conversation: "+15550102030",
		Direction: onrecord.Inbound, Sender: onrecord.Party{ID: "+15550102030"}, SentAt: time.Now().UTC(), Body: "your statement"}
	if _, err := a.Archive.Append(t.Context(), msg); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		token, path string
		code        int
		body        string
	}{
		{unnamed, "/api/v1/search?q=statement", 200, ""},
		{ediscovery, "/api/v1/search?q=statement", 200, ""},
		{ediscovery, "/api/v1/conversations/+15550102030", 200, ""},
		{expired, "/api/v1/search?q=statement", 401, `\"old-siem\" expired at 2020-01-01T00:00:00Z`},
		{"", "/api/v1/search?q=statement", 401, "a bearer token is required"},
		{"not-a-token-0123456789abcdef", "/api/v1/channels", 401, "not one of the API tokens"},
	} {
		code, body := apiDo(t, srv.URL, tc.token, "GET", tc.path, "")
		if code != tc.code || !strings.Contains(body, tc.body) {
			t.Errorf("%s with %q: %d %s, want %d with %s", tc.path, tc.token, code, body, tc.code, tc.body)
		}
	}

	var who []string
	err := a.Archive.Events(0, func(_ uint64, ev *onrecord.Event, err error) error {
		if err == nil && strings.HasPrefix(ev.Subtype, "access.") {
			who = append(who, ev.Subtype+" "+ev.Sender.ID)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"access.search api:api_tokens[0]", "access.search api:ediscovery", "access.view api:ediscovery"}
	if !slices.Equal(who, want) {
		t.Errorf("access records %q, want %q", who, want)
	}

	// status lists the tokens by name and expiry, never their secrets.
	st, err := a.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, tok := range st.APITokens {
		listed = append(listed, fmt.Sprintf("%s %s %v", tok.Name, tok.Expires.Format(time.DateOnly), tok.Expired))
	}
	if want := []string{"api_tokens[0] 0001-01-01 false", "ediscovery 2999-01-01 false", "old-siem 2020-01-01 true"}; !slices.Equal(listed, want) {
		t.Errorf("status lists %q, want %q", listed, want)
	}

	mfs, err := a.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), "onrecord_api_") {
			continue
		}
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range m.GetLabel() {
				key += " " + l.GetValue()
			}
			got[key] = m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	wantMetrics := map[string]float64{
		"onrecord_api_refused_total expired": 1, "onrecord_api_refused_total missing": 1, "onrecord_api_refused_total unknown": 1,
		"onrecord_api_token_expiry_timestamp_seconds ediscovery": float64(time.Date(2999, 1, 1, 0, 0, 0, 0, time.UTC).Unix()),
		"onrecord_api_token_expiry_timestamp_seconds old-siem":   float64(time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).Unix()),
	}
	if !maps.Equal(got, wantMetrics) {
		t.Errorf("metrics %v, want %v", got, wantMetrics)
	}
}

// TestReloadAPITokens_RevokesWithoutARestartAndIsRecorded: tokens read
// again from the configuration replace the running server's at once, and
// the change is on the record with the names, not the secrets.
func TestReloadAPITokens_RevokesWithoutARestartAndIsRecorded(t *testing.T) {
	const (
		leaked      = "leaked-0123456789abcdef01234"
		replacement = "rotated-0123456789abcdef0123"
	)
	cfg := config.Default()
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	cfg.ExportDir = filepath.Join(t.TempDir(), "exports")
	cfg.NamedAPITokens = []config.APIToken{{Name: "ediscovery", Token: leaked}}
	srv := httptest.NewUnstartedServer(nil)
	a := serveTestApp(t, srv, cfg)
	status := func(token string) int {
		code, _ := apiDo(t, srv.URL, token, "GET", "/api/v1/search?q=statement", "")
		return code
	}
	if status(leaked) != 200 || status(replacement) != 401 {
		t.Fatal("before the reload")
	}

	next := cfg
	next.NamedAPITokens = []config.APIToken{{Name: "ediscovery-2", Token: replacement, Expires: "2999-01-01"}}
	if err := next.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := a.ReloadAPITokens(t.Context(), next); err != nil {
		t.Fatal(err)
	}
	if got := status(leaked); got != 401 {
		t.Errorf("the revoked token: %d, want 401", got)
	}
	if got := status(replacement); got != 200 {
		t.Errorf("the new token: %d, want 200", got)
	}

	var changes, access []string
	err := a.Archive.Events(0, func(_ uint64, ev *onrecord.Event, err error) error {
		switch {
		case err != nil:
			return err
		case ev.Subtype == "admin.api_tokens":
			changes = append(changes, ev.Body+" "+ev.Meta["expires:ediscovery-2"])
			if strings.Contains(string(ev.Raw)+ev.Body, replacement) {
				t.Error("the change record holds the secret")
			}
		case strings.HasPrefix(ev.Subtype, "access."):
			access = append(access, ev.Sender.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"API tokens accepted from now on: ediscovery-2 2999-01-01T00:00:00Z"}; !slices.Equal(changes, want) {
		t.Errorf("change records %q, want %q", changes, want)
	}
	if want := []string{"api:ediscovery", "api:ediscovery-2"}; !slices.Equal(access, want) {
		t.Errorf("access records %q, want %q", access, want)
	}
}
