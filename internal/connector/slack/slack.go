package slack

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	json "github.com/go-json-experiment/json/v1"
	"github.com/onrecord/onrecord/internal/connector"
)

// DefaultAPIBaseURL is Slack's Web API root.
const DefaultAPIBaseURL = "https://slack.com/api"

// MaxTimestampSkew is how far X-Slack-Request-Timestamp may be from the time
// a delivery was received, in either direction, as Slack recommends.
const MaxTimestampSkew = 5 * time.Minute

// Connector is one configured Slack app (one [[channel]] of type "slack").
type Connector struct {
	name          string
	signingSecret []byte
	botToken      string
	apiBase       string
	apiHost       string
	// now is the clock used when a request carries no ReceivedAt.
	now func() time.Time
}

var _ connector.Connector = (*Connector)(nil)

// New validates cfg and returns the connector. signing_secret and
// bot_token are required; api_base_url defaults to DefaultAPIBaseURL.
func New(cfg connector.Config) (*Connector, error) {
	if strings.TrimSpace(cfg.SigningSecret) == "" {
		return nil, fmt.Errorf("channel %q: signing_secret is required (Slack app → Basic Information → Signing Secret)", cfg.Name)
	}
	if strings.TrimSpace(cfg.BotToken) == "" {
		return nil, fmt.Errorf("channel %q: bot_token is required (a xoxb- token with files:read and chat:write)", cfg.Name)
	}
	base := strings.TrimRight(cfg.APIBaseURL, "/")
	if base == "" {
		base = DefaultAPIBaseURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("channel %q: api_base_url %q is not an http(s) URL", cfg.Name, cfg.APIBaseURL)
	}
	return &Connector{
		name:          cfg.Name,
		signingSecret: []byte(cfg.SigningSecret),
		botToken:      cfg.BotToken,
		apiBase:       base,
		apiHost:       strings.ToLower(u.Host),
		now:           time.Now,
	}, nil
}

// clock returns the time a request was received, which is the "now" the
// replay window is measured from.
func (c *Connector) clock(req *connector.Request) time.Time {
	if !req.ReceivedAt.IsZero() {
		return req.ReceivedAt
	}
	return c.now()
}

// Handshake answers Slack's url_verification (sent when the Request URL is
// saved in the app's Event Subscriptions) and the ssl_check that slash
// command URLs receive. Both are authenticated first: the challenge is only
// echoed to a correctly signed request.
func (c *Connector) Handshake(req *connector.Request) (*connector.Response, bool, error) {
	if req.Method != "" && req.Method != http.MethodPost {
		return nil, false, nil
	}
	body := bytes.TrimSpace(req.Body)
	switch {
	case len(body) > 0 && body[0] == '{' && bytes.Contains(body, []byte("url_verification")):
		// Only a body naming the type is decoded here: every event
		// delivery passes through this check, and Parse decodes it anyway.
		var v struct {
			Type      string `json:"type"`
			Challenge string `json:"challenge"`
		}
		if err := json.Unmarshal(body, &v); err != nil || v.Type != "url_verification" {
			return nil, false, nil
		}
		if err := c.Authenticate(req); err != nil {
			return nil, true, fmt.Errorf("url_verification: %w", err)
		}
		if v.Challenge == "" {
			return nil, true, errors.New("url_verification: no challenge in the request")
		}
		return &connector.Response{Status: http.StatusOK, ContentType: "text/plain; charset=utf-8", Body: []byte(v.Challenge)}, true, nil
	case bytes.HasPrefix(body, []byte("ssl_check=")) || bytes.Contains(body, []byte("&ssl_check=")):
		form, err := url.ParseQuery(string(body))
		if err != nil || form.Get("ssl_check") != "1" {
			return nil, false, nil
		}
		if err := c.Authenticate(req); err != nil {
			return nil, true, fmt.Errorf("ssl_check: %w", err)
		}
		return &connector.Response{Status: http.StatusOK, ContentType: "text/plain; charset=utf-8"}, true, nil
	}
	return nil, false, nil
}
