package ingest

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Token is one API bearer token: the name the access log records for what
// it does, its secret, and when it stops being accepted (zero: never).
type Token struct {
	Name    string
	Secret  string
	Expires time.Time
}

// Tokens checks API bearer tokens. It keeps only their SHA-256, and compares
// a presented token with every one in constant time, so neither which
// token matched nor how much of it did shows in the time taken.
type Tokens struct {
	// entries is replaced whole (Replace), never changed.
	entries atomic.Pointer[[]tokenEntry]
	now     func() time.Time
	refused *prometheus.CounterVec
	expiry  *prometheus.GaugeVec
}

type tokenEntry struct {
	name    string
	hash    [32]byte
	expires time.Time
}

// NewTokens returns a checker for tokens; now is the clock expiry is
// read from (nil: time.Now).
func NewTokens(tokens []Token, now func() time.Time) *Tokens {
	if now == nil {
		now = time.Now
	}
	t := &Tokens{now: now,
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "onrecord_api_refused_total",
			Help: "API calls refused for their bearer token, by reason: missing, unknown or expired."}, []string{"reason"}),
		expiry: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "onrecord_api_token_expiry_timestamp_seconds",
			Help: "When each API token that expires stops being accepted, in Unix seconds."}, []string{"name"}),
	}
	for _, reason := range []string{"missing", "unknown", "expired"} {
		t.refused.WithLabelValues(reason)
	}
	t.Replace(tokens)
	return t
}

// Replace makes tokens the ones accepted from now on: a request checked
// after it returns is checked against them alone (a revoked token is
// refused at once, without a restart).
func (t *Tokens) Replace(tokens []Token) {
	entries := make([]tokenEntry, 0, len(tokens))
	for _, tok := range tokens {
		entries = append(entries, tokenEntry{name: tok.Name, hash: sha256.Sum256([]byte(tok.Secret)), expires: tok.Expires})
	}
	t.entries.Store(&entries)
	t.expiry.Reset()
	for _, tok := range tokens {
		if !tok.Expires.IsZero() {
			t.expiry.WithLabelValues(tok.Name).Set(float64(tok.Expires.Unix()))
		}
	}
}

func (t *Tokens) list() []tokenEntry {
	if t == nil {
		return nil
	}
	if p := t.entries.Load(); p != nil {
		return *p
	}
	return nil
}

// TokenInfo is what may be shown of a token: its name and expiry, never
// its secret.
type TokenInfo struct {
	Name    string    `json:"name"`
	Expires time.Time `json:"expires,omitzero"`
	Expired bool      `json:"expired,omitempty"`
}

// List returns the tokens accepted now (and the expired ones, marked), in
// configuration order.
func (t *Tokens) List() []TokenInfo {
	now := t.now()
	entries := t.list()
	out := make([]TokenInfo, 0, len(entries))
	for _, e := range entries {
		out = append(out, TokenInfo{Name: e.name, Expires: e.expires, Expired: !e.expires.IsZero() && !now.Before(e.expires)})
	}
	return out
}

// Metrics are the refusals by reason and each expiring token's expiry.
func (t *Tokens) Metrics() []prometheus.Collector { return []prometheus.Collector{t.refused, t.expiry} }

// Expiring returns the names and expiry of the tokens that stop being
// accepted within d (or already have), for a warning at start.
func (t *Tokens) Expiring(d time.Duration) map[string]time.Time {
	out := map[string]time.Time{}
	for _, e := range t.list() {
		if !e.expires.IsZero() && e.expires.Before(t.now().Add(d)) {
			out[e.name] = e.expires
		}
	}
	return out
}

// Check returns the name of the token r carries, or why it is refused:
// no bearer token, an unknown one, or one past its expiry.
func (t *Tokens) Check(r *http.Request) (string, error) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || tok == "" {
		return "", &refusal{"missing", "a bearer token is required (api_tokens or [[api_token]])"}
	}
	entries := t.list()
	if len(entries) == 0 {
		return "", &refusal{"unknown", "no API token is configured (api_tokens or [[api_token]])"}
	}
	sum := sha256.Sum256([]byte(tok))
	match := -1
	for i, e := range entries {
		if subtle.ConstantTimeCompare(sum[:], e.hash[:]) == 1 {
			match = i
		}
	}
	if match < 0 {
		return "", &refusal{"unknown", "the bearer token is not one of the API tokens"}
	}
	e := entries[match]
	if !e.expires.IsZero() && !t.now().Before(e.expires) {
		return "", &refusal{"expired", fmt.Sprintf("the bearer token %q expired at %s: ask for a new one", e.name, e.expires.UTC().Format(time.RFC3339))}
	}
	return e.name, nil
}

// refusal is why Check refused a call: reason is the metric's label, msg
// what the caller is told.
type refusal struct{ reason, msg string }

func (e *refusal) Error() string { return e.msg }

func refusalReason(err error) string {
	if r, ok := err.(*refusal); ok {
		return r.reason
	}
	return "unknown"
}

type callerKey struct{}

// Require lets through to h only requests with a token Check accepts,
// with the token's name in the request's context (Caller); others are
// answered 401 with Check's reason.
func (t *Tokens) Require(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name, err := t.Check(r)
		if err != nil {
			if t != nil {
				t.refused.WithLabelValues(refusalReason(err)).Inc()
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="onrecord"`)
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": err.Error()})
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), callerKey{}, name)))
	}
}

// Caller is who the access log records for a request Require let through:
// "api:" and the token's name. Outside Require it is "api".
func Caller(ctx context.Context) string {
	if name, ok := ctx.Value(callerKey{}).(string); ok {
		return "api:" + name
	}
	return "api"
}
