package whatsapp

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/onrecord/onrecord/internal/connector"
)

// DefaultAPIBaseURL is the Graph API root used when api_base_url is not
// configured. The version is pinned so a Graph API upgrade is a deliberate
// change, not a surprise.
const DefaultAPIBaseURL = "https://graph.facebook.com/v21.0"

// SignatureHeader is the header Meta signs webhook deliveries with.
const SignatureHeader = "X-Hub-Signature-256"

// maxChallengeLen bounds the echoed hub.challenge: Meta sends a short
// integer, and the gateway should not reflect arbitrary amounts of text.
const maxChallengeLen = 256

// Connector is one configured WhatsApp Business channel.
type Connector struct {
	name          string
	appSecret     []byte
	verifyToken   string
	accessToken   string
	phoneNumberID string
	apiBase       string
	apiHost       string
}

var _ connector.Connector = (*Connector)(nil)

// New validates cfg and returns the connector. app_secret, verify_token and
// access_token are required (signatures, webhook verification and media
// download cannot work without them); phone_number_id is needed only to
// send, so its absence is reported by Send.
func New(cfg connector.Config) (*Connector, error) {
	name := cfg.Name
	for _, f := range []struct{ key, v string }{
		{"app_secret", cfg.AppSecret}, {"verify_token", cfg.VerifyToken}, {"access_token", cfg.AccessToken},
	} {
		if strings.TrimSpace(f.v) == "" {
			return nil, fmt.Errorf("channel %q: %s is required", name, f.key)
		}
	}
	if strings.ContainsAny(cfg.PhoneNumberID, "/?#") {
		return nil, fmt.Errorf("channel %q: phone_number_id %q must be the numeric id from WhatsApp Manager", name, cfg.PhoneNumberID)
	}
	base := strings.TrimRight(strings.TrimSpace(cfg.APIBaseURL), "/")
	if base == "" {
		base = DefaultAPIBaseURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("channel %q: api_base_url %q must be an http(s) URL such as %s", name, cfg.APIBaseURL, DefaultAPIBaseURL)
	}
	return &Connector{
		name:          name,
		appSecret:     []byte(cfg.AppSecret),
		verifyToken:   cfg.VerifyToken,
		accessToken:   cfg.AccessToken,
		phoneNumberID: cfg.PhoneNumberID,
		apiBase:       base,
		apiHost:       strings.ToLower(u.Host),
	}, nil
}

// Handshake answers Meta's webhook verification: a GET with
// hub.mode=subscribe and the configured hub.verify_token is answered 200
// with the bare hub.challenge as text/plain. Meta only ever GETs the
// callback URL to verify it, so any other GET is a refused handshake
// (403), and a POST is not a handshake at all.
func (c *Connector) Handshake(req *connector.Request) (*connector.Response, bool, error) {
	if req == nil || req.Method != http.MethodGet {
		return nil, false, nil
	}
	var q url.Values
	if req.URL != nil {
		q = req.URL.Query()
	}
	if mode := q.Get("hub.mode"); mode != "subscribe" {
		return nil, true, fmt.Errorf("verification refused: hub.mode is %q, want \"subscribe\"", truncate(mode, 32))
	}
	token := q.Get("hub.verify_token")
	if subtle.ConstantTimeCompare([]byte(token), []byte(c.verifyToken)) != 1 {
		return nil, true, errors.New("verification refused: hub.verify_token does not match verify_token")
	}
	challenge := q.Get("hub.challenge")
	if challenge == "" || len(challenge) > maxChallengeLen || !printableASCII(challenge) {
		return nil, true, errors.New("verification refused: hub.challenge is missing or not a short printable value")
	}
	return &connector.Response{Status: http.StatusOK, ContentType: "text/plain; charset=utf-8", Body: []byte(challenge)}, true, nil
}

// Authenticate checks X-Hub-Signature-256: "sha256=" and the lowercase hex
// HMAC-SHA256 of the raw body keyed with the app secret, compared in
// constant time. The legacy SHA-1 X-Hub-Signature is ignored.
func (c *Connector) Authenticate(req *connector.Request) error {
	if req == nil {
		return fmt.Errorf("%w: no request", connector.ErrSignature)
	}
	vals := req.Header.Values(SignatureHeader)
	switch len(vals) {
	case 0:
		return fmt.Errorf("%w: %s header is missing", connector.ErrSignature, SignatureHeader)
	case 1:
	default:
		return fmt.Errorf("%w: %d %s headers, want exactly one", connector.ErrSignature, len(vals), SignatureHeader)
	}
	got, err := parseSignatureHeader(vals[0])
	if err != nil {
		return fmt.Errorf("%w: %s: %v", connector.ErrSignature, SignatureHeader, err)
	}
	mac := hmac.New(sha256.New, c.appSecret)
	mac.Write(req.Body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return fmt.Errorf("%w: %s does not match the body (wrong app_secret, or the body was altered or re-encoded)", connector.ErrSignature, SignatureHeader)
	}
	return nil
}

// parseSignatureHeader reads "sha256=<64 hex digits>" and returns the
// digest. The reason it returns never echoes the header's value.
func parseSignatureHeader(v string) ([]byte, error) {
	v = strings.TrimSpace(v)
	const prefix = "sha256="
	if len(v) < len(prefix) || !strings.EqualFold(v[:len(prefix)], prefix) {
		return nil, errors.New(`value does not start with "sha256="`)
	}
	hexDigest := v[len(prefix):]
	if len(hexDigest) != 2*sha256.Size {
		return nil, fmt.Errorf("digest has %d hex digits, want %d", len(hexDigest), 2*sha256.Size)
	}
	sum, err := hex.DecodeString(hexDigest)
	if err != nil {
		return nil, errors.New("digest is not hexadecimal")
	}
	return sum, nil
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut on a rune boundary so the result stays valid UTF-8.
	for n > 0 && n < len(s) && s[n]&0xc0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
