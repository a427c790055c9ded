package twilio

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	json "github.com/go-json-experiment/json/v1"
	"github.com/onrecord/onrecord/internal/connector"
)

// Fetch downloads a MediaUrl with the account's Basic credentials. Twilio
// answers with a redirect to a short-lived CDN URL; client follows it under
// the gateway's redirect policy, and Go's client drops the Authorization
// header when the redirect leaves the API host. The credentials are only
// sent to the configured API host or to Twilio's own hosts: a media URL
// elsewhere is refused rather than handed the account's secret.
func (c *Connector) Fetch(ctx context.Context, client *http.Client, m connector.MediaRef) (io.ReadCloser, string, error) {
	u, err := url.Parse(strings.TrimSpace(m.Ref))
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, "", fmt.Errorf("twilio media %q: not an absolute http(s) URL", m.Ref)
	}
	if !c.trustedHost(u) {
		return nil, "", fmt.Errorf("twilio media %q: host %q is neither the API host %q nor a twilio.com host; not sending credentials there", m.Ref, u.Host, c.apiBase.Host)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, "", fmt.Errorf("twilio media %q: %w", m.Ref, err)
	}
	req.SetBasicAuth(c.accountSID, c.authToken)
	resp, err := client.Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("fetch twilio media: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		return nil, "", fmt.Errorf("fetch twilio media %s: %w", u.Path, apiError(resp))
	}
	ct := resp.Header.Get("Content-Type")
	if ct == "" {
		ct = m.ContentType
	}
	return resp.Body, ct, nil
}

func (c *Connector) trustedHost(u *url.URL) bool {
	if strings.EqualFold(u.Host, c.apiBase.Host) {
		return true
	}
	h := strings.ToLower(u.Hostname())
	return u.Scheme == "https" && (h == "twilio.com" || strings.HasSuffix(h, ".twilio.com"))
}

// Send creates a Message through the REST API and returns its SID. The
// sender is the configured from number ("whatsapp:"-prefixed when the
// recipient is a WhatsApp address). Twilio attaches media by public URL
// only, so each attachment must carry one in Ref. When public_url is set,
// the message's StatusCallback points at this channel's webhook so its
// delivery statuses are archived too.
func (c *Connector) Send(ctx context.Context, client *http.Client, msg connector.Outbound) (string, error) {
	if c.from == "" {
		return "", fmt.Errorf("channel %q: from is required to send (the Twilio number or whatsapp:+number to send from)", c.name)
	}
	to := strings.TrimSpace(msg.To)
	if to == "" {
		return "", fmt.Errorf("channel %q: send: no recipient", c.name)
	}
	from := c.from
	if _, t := address(to); t != "" {
		if _, ft := address(from); ft == "" {
			from = t + ":" + from
		}
	}
	form := url.Values{"To": {to}, "From": {from}}
	if msg.Body != "" {
		form.Set("Body", msg.Body)
	}
	for _, a := range msg.Attachments {
		r, err := url.Parse(a.Ref)
		if err != nil || r.Host == "" || (r.Scheme != "https" && r.Scheme != "http") {
			return "", fmt.Errorf("channel %q: send: attachment %q has no public URL (Twilio fetches media from a URL)", c.name, a.Name)
		}
		form.Add("MediaUrl", a.Ref)
	}
	if msg.Body == "" && len(msg.Attachments) == 0 {
		return "", fmt.Errorf("channel %q: send: message has neither body nor attachments", c.name)
	}
	if c.publicURL != "" && c.name != "" {
		form.Set("StatusCallback", c.publicURL+"/hooks/"+url.PathEscape(c.name))
	}
	endpoint := c.apiBase.JoinPath("2010-04-01", "Accounts", c.accountSID, "Messages.json") // #nosec G125 -- New refuses an account_sid with / ? # %
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint.String(), strings.NewReader(form.Encode()))
	if err != nil {
		return "", fmt.Errorf("twilio send: %w", err)
	}
	req.SetBasicAuth(c.accountSID, c.authToken)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("twilio send: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return "", fmt.Errorf("twilio send to %s: %w", to, apiError(resp))
	}
	var created struct {
		SID    string `json:"sid"`
		Status string `json:"status"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&created); err != nil {
		return "", fmt.Errorf("twilio send: read response: %w", err)
	}
	if created.SID == "" {
		return "", fmt.Errorf("twilio send: response has no sid")
	}
	return created.SID, nil
}

// apiError reads Twilio's error body ({"code", "message", "more_info"}).
func apiError(resp *http.Response) error {
	var e struct {
		Code     int    `json:"code"`
		Message  string `json:"message"`
		MoreInfo string `json:"more_info"`
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if json.Unmarshal(b, &e) == nil && (e.Code != 0 || e.Message != "") {
		return fmt.Errorf("HTTP %d: Twilio error %d: %s", resp.StatusCode, e.Code, e.Message)
	}
	return fmt.Errorf("HTTP %d", resp.StatusCode)
}
