package slack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	json "github.com/go-json-experiment/json/v1"
	"github.com/onrecord/onrecord/internal/connector"
)

// maxAPIResponse bounds what is read from a Web API JSON answer.
const maxAPIResponse = 1 << 20

// Fetch downloads a shared file. m.Ref is the file's url_private_download
// (or url_private), fetched with the bot token as Slack requires; a bare
// file id (Slack Connect files that arrive without URLs) is first resolved
// with files.info. The token is only sent to Slack's hosts or to the
// configured API root.
func (c *Connector) Fetch(ctx context.Context, client *http.Client, m connector.MediaRef) (io.ReadCloser, string, error) {
	ref := strings.TrimSpace(m.Ref)
	if ref == "" {
		return nil, "", errors.New("slack: fetch: empty file reference")
	}
	contentType := m.ContentType
	if !strings.Contains(ref, "://") {
		u, ct, err := c.fileURL(ctx, client, ref)
		if err != nil {
			return nil, "", err
		}
		ref, contentType = u, or(contentType, ct)
	}
	u, err := url.Parse(ref)
	if err != nil {
		return nil, "", fmt.Errorf("slack: fetch: file url does not parse: %w", err)
	}
	if !c.trustedHost(u) {
		return nil, "", fmt.Errorf("slack: fetch: refusing to send the bot token to %s://%s (not a Slack file host nor api_base_url)", u.Scheme, u.Host)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, "", fmt.Errorf("slack: fetch: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.botToken)
	resp, err := client.Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("slack: fetch %s: %w", u.Redacted(), err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, "", fmt.Errorf("slack: fetch %s: HTTP %d", u.Redacted(), resp.StatusCode)
	}
	got := resp.Header.Get("Content-Type")
	if isHTML(got) && !isHTML(contentType) {
		// Slack answers a request without a valid token (or without
		// files:read) with its sign-in page and a 200.
		resp.Body.Close()
		return nil, "", fmt.Errorf("slack: fetch %s: Slack returned an HTML page instead of the file; check that bot_token is valid and has the files:read scope", u.Redacted())
	}
	if got == "" || got == "application/octet-stream" && contentType != "" {
		got = contentType
	}
	return resp.Body, got, nil
}

func isHTML(ct string) bool {
	mt, _, _ := mime.ParseMediaType(ct)
	return mt == "text/html"
}

// trustedHost reports whether the bot token may be sent to u: Slack's own
// HTTPS hosts (files.slack.com, *.slack.com) or the configured API root's
// host (a simulator or proxy), with that root's scheme.
func (c *Connector) trustedHost(u *url.URL) bool {
	host := strings.ToLower(u.Host)
	if u.User != nil {
		return false
	}
	if host == c.apiHost {
		base, _ := url.Parse(c.apiBase)
		return base != nil && u.Scheme == base.Scheme
	}
	h := strings.ToLower(u.Hostname())
	return u.Scheme == "https" && (h == "slack.com" || strings.HasSuffix(h, ".slack.com"))
}

// fileURL resolves a file id to its download URL with files.info.
func (c *Connector) fileURL(ctx context.Context, client *http.Client, id string) (string, string, error) {
	var out struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
		File  struct {
			Mimetype           string `json:"mimetype"`
			URLPrivate         string `json:"url_private"`
			URLPrivateDownload string `json:"url_private_download"`
		} `json:"file"`
	}
	q := url.Values{"file": {id}}
	if err := c.call(ctx, client, http.MethodGet, "files.info?"+q.Encode(), nil, &out); err != nil {
		return "", "", err
	}
	if !out.OK {
		return "", "", fmt.Errorf("slack: files.info %s: %s", id, or(out.Error, "not ok"))
	}
	u := or(out.File.URLPrivateDownload, out.File.URLPrivate)
	if u == "" {
		return "", "", fmt.Errorf("slack: files.info %s: the file has no download URL", id)
	}
	return u, out.File.Mimetype, nil
}

// Send posts msg.Body to msg.To (a channel id, or a user id for a direct
// message from the app) with chat.postMessage and returns
// "<channel>:<ts>", the same provider id the message's own event will carry.
// Attachments are refused: Slack's upload flow (files.getUploadURLExternal,
// upload, files.completeUploadExternal) does not return the message ts.
func (c *Connector) Send(ctx context.Context, client *http.Client, msg connector.Outbound) (string, error) {
	if strings.TrimSpace(msg.To) == "" {
		return "", errors.New("slack: send: no channel (To)")
	}
	if len(msg.Attachments) > 0 {
		return "", errors.New("slack: send: attachments are not supported; send text only")
	}
	if strings.TrimSpace(msg.Body) == "" {
		return "", errors.New("slack: send: empty message")
	}
	payload, err := json.Marshal(struct {
		Channel string `json:"channel"`
		Text    string `json:"text"`
	}{msg.To, msg.Body})
	if err != nil {
		return "", fmt.Errorf("slack: send: %w", err)
	}
	var out struct {
		OK      bool   `json:"ok"`
		Error   string `json:"error"`
		Channel string `json:"channel"`
		TS      string `json:"ts"`
	}
	if err := c.call(ctx, client, http.MethodPost, "chat.postMessage", payload, &out); err != nil {
		return "", err
	}
	if !out.OK {
		return "", fmt.Errorf("slack: chat.postMessage to %s: %s", msg.To, or(out.Error, "not ok"))
	}
	if out.TS == "" {
		return "", fmt.Errorf("slack: chat.postMessage to %s: answer has no ts", msg.To)
	}
	return or(out.Channel, msg.To) + ":" + out.TS, nil
}

// call makes one Web API call with the bot token and decodes its JSON
// answer into out. Slack reports most failures as 200 {"ok":false}; HTTP
// errors (429 rate limits above all) are returned with their status.
func (c *Connector) call(ctx context.Context, client *http.Client, method, path string, body []byte, out any) error {
	name, _, _ := strings.Cut(path, "?")
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.apiBase+"/"+path, rd)
	if err != nil {
		return fmt.Errorf("slack: %s: %w", name, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.botToken)
	if body != nil {
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("slack: %s: %w", name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusTooManyRequests {
		return fmt.Errorf("slack: %s: rate limited, retry after %ss", name, or(resp.Header.Get("Retry-After"), "?"))
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("slack: %s: HTTP %d", name, resp.StatusCode)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxAPIResponse)).Decode(out); err != nil {
		return fmt.Errorf("slack: %s: decode answer: %w", name, err)
	}
	return nil
}
