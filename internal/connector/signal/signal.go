package signal

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"

	"github.com/onrecord/onrecord/internal/connector"
)

// DefaultRPCURL is where `signal-cli daemon --http` listens when given no
// address.
const DefaultRPCURL = "http://localhost:8080"

// StreamMethod and StreamRemoteAddr mark a Request that [Connector.Stream]
// read from the daemon's event stream rather than one that arrived over
// HTTP.
const (
	StreamMethod     = "STREAM"
	StreamRemoteAddr = "signal-cli"
)

// Connector is one configured Signal channel backed by signal-cli.
type Connector struct {
	name       string
	rpcURL     string // without trailing slash
	account    string
	pushToken  string
	keepTyping bool
	rpcID      atomic.Int64
}

var (
	_ connector.Connector = (*Connector)(nil)
	_ connector.Streamer  = (*Connector)(nil)
)

// New validates cfg and returns the channel's connector. account is
// required; rpc_url (else api_base_url) defaults to [DefaultRPCURL].
func New(cfg connector.Config) (*Connector, error) {
	if cfg.Account == "" {
		return nil, fmt.Errorf("channel %q: account is required (the signal-cli account's number, e.g. +15550100)", cfg.Name)
	}
	if !validNumber(cfg.Account) {
		return nil, fmt.Errorf("channel %q: account must be the signal-cli account's number in E.164 form (+15550100)", cfg.Name)
	}
	base := cfg.RPCURL
	key := "rpc_url"
	if base == "" {
		base, key = cfg.APIBaseURL, "api_base_url"
	}
	if base == "" {
		base = DefaultRPCURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("channel %q: %s must be the signal-cli HTTP daemon's base URL (http://127.0.0.1:8080)", cfg.Name, key)
	}
	return &Connector{
		name:       cfg.Name,
		rpcURL:     strings.TrimRight(base, "/"),
		account:    cfg.Account,
		pushToken:  cfg.PushToken,
		keepTyping: cfg.KeepTyping,
	}, nil
}

// validNumber reports whether s is an E.164 number: + and 6 to 15 digits.
func validNumber(s string) bool {
	if len(s) < 7 || len(s) > 16 || s[0] != '+' {
		return false
	}
	for _, r := range s[1:] {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// Handshake: signal-cli has none.
func (c *Connector) Handshake(*connector.Request) (*connector.Response, bool, error) {
	return nil, false, nil
}

// Authenticate accepts a streamed notification, or a pushed one that
// carries push_token (or, with no push_token, comes from loopback). See the
// package documentation for why the push feed cannot be signed.
func (c *Connector) Authenticate(req *connector.Request) error {
	if req == nil {
		return fmt.Errorf("%w: no request", connector.ErrSignature)
	}
	if req.Method == StreamMethod && req.RemoteAddr == StreamRemoteAddr {
		return nil
	}
	if c.pushToken == "" {
		if !loopback(req.RemoteAddr) {
			return fmt.Errorf("%w: unsigned push from a non-loopback address; set push_token", connector.ErrSignature)
		}
		// A reverse proxy on the same host makes every caller look local;
		// a forwarded request is not trusted without the token.
		for _, h := range []string{"Forwarded", "X-Forwarded-For", "X-Real-Ip"} {
			if req.Header.Get(h) != "" {
				return fmt.Errorf("%w: unsigned push relayed by a proxy (%s); set push_token", connector.ErrSignature, h)
			}
		}
		return nil
	}
	got, ok := pushToken(req)
	if !ok {
		return fmt.Errorf("%w: push token missing (token query parameter, Authorization: Bearer or X-Onrecord-Token)", connector.ErrSignature)
	}
	// Hashing first makes the comparison constant-time in the length too.
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(c.pushToken))
	if subtle.ConstantTimeCompare(a[:], b[:]) != 1 {
		return fmt.Errorf("%w: push token does not match", connector.ErrSignature)
	}
	return nil
}

// pushToken finds the token a pushed delivery carries, in the order a
// proxy-added header beats the URL.
func pushToken(req *connector.Request) (string, bool) {
	if v := req.Header.Get("Authorization"); v != "" {
		scheme, tok, ok := strings.Cut(strings.TrimSpace(v), " ")
		if ok && strings.EqualFold(scheme, "Bearer") && strings.TrimSpace(tok) != "" {
			return strings.TrimSpace(tok), true
		}
	}
	if v := req.Header.Get("X-Onrecord-Token"); v != "" {
		return v, true
	}
	if req.URL != nil {
		if v := req.URL.Query().Get("token"); v != "" {
			return v, true
		}
	}
	return "", false
}

// loopback reports whether addr (host:port, or a bare host) is a loopback
// address.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	ip, err := netip.ParseAddr(strings.Trim(host, "[]"))
	if err != nil {
		return false
	}
	return ip.Unmap().IsLoopback()
}

// errNoSource is returned for an envelope that names nobody.
var errNoSource = errors.New("envelope has no source")
