package app

import (
	"net/http/httptest"
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
