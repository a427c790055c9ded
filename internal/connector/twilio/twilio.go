package twilio

import (
	"fmt"
	"net/url"
	"strings"
	"sync"

	"github.com/onrecord/onrecord/internal/connector"
)

// DefaultAPIBaseURL is Twilio's REST API root.
const DefaultAPIBaseURL = "https://api.twilio.com"

// SignatureHeader is the header Twilio signs every webhook with.
const SignatureHeader = "X-Twilio-Signature"

// Connector is one configured Twilio channel.
type Connector struct {
	name       string
	authToken  string
	accountSID string
	from       string
	publicURL  string
	apiBase    *url.URL
	// macs are signers keyed with authToken (signature.go).
	macs sync.Pool
	// sharedKeys sign deliveries a Twilio Webhook Rule applies a Setting
	// with a SharedKey to (signature.go); two during a rotation.
	sharedKeys [][]byte
}

var _ connector.Connector = (*Connector)(nil)

// New validates cfg and returns the channel's connector. auth_token and
// account_sid are required; from is only needed to send; api_base_url
// defaults to Twilio's API.
func New(cfg connector.Config) (*Connector, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("channel %q: %s", cfg.Name, fmt.Sprintf(format, a...))
	}
	if strings.TrimSpace(cfg.AuthToken) == "" {
		return nil, bad("auth_token is required (the Twilio account's Auth Token)")
	}
	sid := strings.TrimSpace(cfg.AccountSID)
	if sid == "" {
		return nil, bad("account_sid is required (the Twilio Account SID, AC…)")
	}
	if strings.ContainsAny(sid, "/?#% ") {
		return nil, bad("account_sid %q is not an Account SID such as AC0123…", sid)
	}
	base := cfg.APIBaseURL
	if base == "" {
		base = DefaultAPIBaseURL
	}
	u, err := url.Parse(strings.TrimRight(base, "/"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, bad("api_base_url %q must be an absolute http(s) URL such as %s", base, DefaultAPIBaseURL)
	}
	if cfg.PublicURL != "" {
		p, err := url.Parse(cfg.PublicURL)
		if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
			return nil, bad("public_url %q must be an absolute http(s) URL", cfg.PublicURL)
		}
	}
	c := &Connector{
		name:       cfg.Name,
		authToken:  cfg.AuthToken,
		accountSID: sid,
		from:       strings.TrimSpace(cfg.From),
		publicURL:  strings.TrimRight(cfg.PublicURL, "/"),
		apiBase:    u,
	}
	c.macs.New = c.newSigner
	for i, k := range cfg.SharedKeys {
		if strings.TrimSpace(k) == "" {
			return nil, bad("shared_keys[%d] is empty", i)
		}
		c.sharedKeys = append(c.sharedKeys, []byte(k))
	}
	return c, nil
}

// Handshake: Twilio has no verification handshake; every call carries a
// signature and, possibly, events.
func (c *Connector) Handshake(*connector.Request) (*connector.Response, bool, error) {
	return nil, false, nil
}
