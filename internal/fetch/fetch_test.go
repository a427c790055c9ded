package fetch

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// target is a loopback server that counts the requests that reach it: a
// refused destination must not be reached at all.
func target(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte(strings.Repeat("m", 100)))
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func TestClient_RefusesInternalDestinations(t *testing.T) {
	srv, hits := target(t)
	port := srv.URL[strings.LastIndex(srv.URL, ":")+1:]
	c := NewClient(Options{Timeout: 2 * time.Second, AllowHosts: []string{
		"127.0.0.1", "localhost", "10.0.0.1", "169.254.169.254", "[::1]", "::1", "0x7f000001", "2130706433", "127.1", "[::ffff:127.0.0.1]", "::ffff:127.0.0.1",
	}})
	for _, u := range []string{
		srv.URL + "/media",                         // loopback
		"http://localhost:" + port + "/media",      // a name that resolves to loopback (rebinding)
		"http://10.0.0.1/media",                    // private
		"http://169.254.169.254/latest/meta-data/", // cloud metadata service
		"http://[::1]:" + port + "/media",          // IPv6 loopback
		"http://[::ffff:127.0.0.1]:" + port + "/x", // IPv4-mapped IPv6
		"http://0x7f000001:" + port + "/media",     // hex encoding
		"http://2130706433:" + port + "/media",     // decimal encoding
		"http://127.1:" + port + "/media",          // short form
		"ftp://127.0.0.1/media",                    // another scheme
		"http://user:pw@127.0.0.1:" + port + "/x",  // credentials
	} {
		resp, err := c.Get(u)
		if err == nil {
			resp.Body.Close()
			t.Errorf("%s: fetched", u)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("%d refused requests reached the server", n)
	}
}

func TestClient_HostNotAllowedIsRefused(t *testing.T) {
	c := NewClient(Options{AllowHosts: []string{"*.fbcdn.net"}})
	_, err := c.Get("https://evil.example.com/x")
	if !errors.Is(err, ErrRefused) {
		t.Fatalf("err = %v", err)
	}
}

func TestClient_TrustedBaseAndRedirectsAreRechecked(t *testing.T) {
	internal, hits := target(t)
	// The trusted API host redirects to an internal address it does not own.
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			w.Write([]byte("media bytes"))
		case "/redirect-internal":
			http.Redirect(w, r, internal.URL+"/steal", http.StatusFound)
		case "/redirect-self":
			http.Redirect(w, r, "/ok", http.StatusFound)
		}
	}))
	defer api.Close()
	host, _ := TrustedFromURL(api.URL)
	c := NewClient(Options{Trusted: []string{host}, Timeout: 2 * time.Second})
	resp, err := c.Get(api.URL + "/redirect-self")
	if err != nil {
		t.Fatalf("trusted host: %v", err)
	}
	b, _ := ReadAll(resp.Body, 1<<20)
	resp.Body.Close()
	if string(b) != "media bytes" {
		t.Fatalf("body = %q", b)
	}
	if _, err := c.Get(api.URL + "/redirect-internal"); !errors.Is(err, ErrRefused) {
		t.Fatalf("redirect to internal: err = %v", err)
	}
	if hits.Load() != 0 {
		t.Fatal("the redirect reached the internal server")
	}
}

func TestReadAll_CutsOffOversizedMedia(t *testing.T) {
	b, err := ReadAll(strings.NewReader(strings.Repeat("x", 1000)), 100)
	if !errors.Is(err, ErrTooLarge) || len(b) != 100 {
		t.Fatalf("len %d err %v", len(b), err)
	}
	b, err = ReadAll(strings.NewReader("small"), 100)
	if err != nil || string(b) != "small" {
		t.Fatalf("%q %v", b, err)
	}
}
