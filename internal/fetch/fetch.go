// Package fetch is the only way onrecord reaches out to a provider's media
// servers. Its client is safe against server-side request forgery: the
// address actually dialled is checked at dial time (so DNS rebinding cannot
// slip a private address past a check made earlier), every redirect hop is
// checked again, only the providers' own hosts (and hosts the operator
// configured) are allowed, and time and size are bounded.
//
// The one exception is a host the operator configured as a channel's
// api_base_url (a simulator, an internal proxy): the operator named it, so
// it may be dialled wherever it resolves.
package fetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"code.dny.dev/ssrf"
)

// ErrRefused is wrapped by every refusal of a destination.
var ErrRefused = errors.New("destination refused")

// ErrTooLarge is returned by ReadAll when a body exceeds the cap.
var ErrTooLarge = errors.New("media larger than max_media_bytes")

// Options configure a client.
type Options struct {
	// AllowHosts are host patterns requests may go to: "example.com",
	// "*.example.com" (any subdomain) or "host:port".
	AllowHosts []string
	// Trusted are host:port pairs (a channel's api_base_url) that may be
	// dialled even when they resolve to private or loopback addresses.
	Trusted []string
	Timeout time.Duration
	// MaxRedirects bounds redirect chains (default 5).
	MaxRedirects int
}

// NewClient returns an SSRF-safe client.
func NewClient(opts Options) *http.Client {
	if opts.MaxRedirects == 0 {
		opts.MaxRedirects = 5
	}
	trusted := map[string]bool{}
	for _, t := range opts.Trusted {
		trusted[strings.ToLower(t)] = true
	}
	guarded := &net.Dialer{Timeout: 10 * time.Second, Control: ssrf.New().Safe}
	plain := &net.Dialer{Timeout: 10 * time.Second}
	tr := &http.Transport{
		Proxy: nil, // never through an environment proxy: it would hide the real destination
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if trusted[strings.ToLower(addr)] {
				return plain.DialContext(ctx, network, addr)
			}
			c, err := guarded.DialContext(ctx, network, addr)
			if err != nil && isSSRF(err) {
				return nil, fmt.Errorf("%w: %s: %v", ErrRefused, addr, err)
			}
			return c, err
		},
		ForceAttemptHTTP2:     true,
		MaxIdleConnsPerHost:   8,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
	}
	allowed := func(u *url.URL) error {
		if u.Scheme != "https" && u.Scheme != "http" {
			return fmt.Errorf("%w: scheme %q", ErrRefused, u.Scheme)
		}
		if u.User != nil {
			return fmt.Errorf("%w: credentials in URL", ErrRefused)
		}
		host := strings.ToLower(u.Hostname())
		hostport := strings.ToLower(u.Host)
		if trusted[hostport] || trusted[withDefaultPort(u)] {
			return nil
		}
		for _, p := range opts.AllowHosts {
			p = strings.ToLower(p)
			switch {
			case p == host || p == hostport:
				return nil
			case strings.HasPrefix(p, "*.") && strings.HasSuffix(host, p[1:]):
				return nil
			}
		}
		return fmt.Errorf("%w: host %s is not one of the channel's media hosts (add it to media_allow_hosts if it should be)", ErrRefused, u.Host)
	}
	return &http.Client{
		Timeout:   opts.Timeout,
		Transport: checkedTransport{tr, allowed},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= opts.MaxRedirects {
				return fmt.Errorf("%w: more than %d redirects", ErrRefused, opts.MaxRedirects)
			}
			return allowed(req.URL)
		},
	}
}

func withDefaultPort(u *url.URL) string {
	if u.Port() != "" {
		return strings.ToLower(u.Host)
	}
	if u.Scheme == "https" {
		return strings.ToLower(u.Hostname()) + ":443"
	}
	return strings.ToLower(u.Hostname()) + ":80"
}

// checkedTransport checks every request, the first and each redirect, before
// it is sent.
type checkedTransport struct {
	rt      http.RoundTripper
	allowed func(*url.URL) error
}

func (t checkedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.allowed(req.URL); err != nil {
		return nil, err
	}
	return t.rt.RoundTrip(req)
}

func isSSRF(err error) bool {
	return errors.Is(err, ssrf.ErrProhibitedIP) || errors.Is(err, ssrf.ErrProhibitedPort) ||
		errors.Is(err, ssrf.ErrProhibitedNetwork) || errors.Is(err, ssrf.ErrInvalidHostPort)
}

// ReadAll reads at most max bytes of r. A longer body returns the first max
// bytes and ErrTooLarge, so the caller can record the cut.
func ReadAll(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return b, err
	}
	if int64(len(b)) > max {
		return b[:max], fmt.Errorf("%w (%d bytes)", ErrTooLarge, max)
	}
	return b, nil
}

// TrustedFromURL returns the host:port of a configured base URL.
func TrustedFromURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("not an absolute URL: %q", raw)
	}
	return withDefaultPort(u), nil
}
