package telegram

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	json "github.com/go-json-experiment/json/v1"
	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/connector"
)

// DefaultAPIBaseURL is the Bot API root used when api_base_url is not set.
const DefaultAPIBaseURL = "https://api.telegram.org"

// SecretTokenHeader carries the secret_token given to setWebhook on every
// delivery. It is the only authentication Telegram offers: there is no
// signature over the body.
const SecretTokenHeader = "X-Telegram-Bot-Api-Secret-Token" // #nosec G101 -- a header name

const (
	// maxAPIResponse bounds what is read of a Bot API method's JSON answer.
	maxAPIResponse = 1 << 20
	// maxMetaValue bounds one Meta value built from a JSON sub-object.
	maxMetaValue = 4096
	// maxCaption is the Bot API's caption limit (characters after entity
	// parsing); a longer text is sent as its own message.
	maxCaption = 1024
	// maxText is sendMessage's limit.
	maxText = 4096
)

// Connector is one configured Telegram bot.
type Connector struct {
	name        string
	token       string
	botID       int64
	secretToken string
	apiBase     string
}

var _ connector.Connector = (*Connector)(nil)

// New validates cfg and returns the connector. bot_token (for getFile, the
// file download and sendMessage) and secret_token (the only thing that
// authenticates a delivery) are required. The bot's own user id is the
// number before the colon of the token; it decides which messages are
// outbound.
func New(cfg connector.Config) (*Connector, error) {
	name := cfg.Name
	token := strings.TrimSpace(cfg.BotToken)
	if token == "" {
		return nil, fmt.Errorf("channel %q: bot_token is required (the token @BotFather gave the bot)", name)
	}
	botID, err := botIDFromToken(token)
	if err != nil {
		// The token is a secret: the message says what is wrong, never what it is.
		return nil, fmt.Errorf("channel %q: bot_token %v; it looks like 123456789:AAE… (from @BotFather)", name, err)
	}
	secret := cfg.SecretToken
	if secret == "" {
		return nil, fmt.Errorf("channel %q: secret_token is required (the secret_token passed to setWebhook; without it anyone can post updates)", name)
	}
	if len(secret) > 256 || !tokenChars(secret) {
		return nil, fmt.Errorf("channel %q: secret_token must be 1-256 characters of A-Z a-z 0-9 _ - (Telegram's setWebhook rule)", name)
	}
	base := strings.TrimRight(strings.TrimSpace(cfg.APIBaseURL), "/")
	if base == "" {
		base = DefaultAPIBaseURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("channel %q: api_base_url %q must be an http(s) URL such as %s", name, cfg.APIBaseURL, DefaultAPIBaseURL)
	}
	return &Connector{name: name, token: token, botID: botID, secretToken: secret, apiBase: base}, nil
}

// botIDFromToken reads "<bot id>:<secret part>".
func botIDFromToken(token string) (int64, error) {
	id, rest, ok := strings.Cut(token, ":")
	if !ok || rest == "" {
		return 0, errors.New("has no colon between the bot id and the secret part")
	}
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 {
		return 0, errors.New("does not start with the bot's numeric id")
	}
	if !tokenChars(rest) {
		return 0, errors.New("has characters other than A-Z a-z 0-9 _ - after the colon")
	}
	return n, nil
}

func tokenChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// BotID is the bot's own user id, taken from the token.
func (c *Connector) BotID() int64 { return c.botID }

// Handshake: Telegram has no verification request; setWebhook is a call
// the bot makes, not one it receives.
func (c *Connector) Handshake(*connector.Request) (*connector.Response, bool, error) {
	return nil, false, nil
}

// Authenticate compares X-Telegram-Bot-Api-Secret-Token with secret_token
// in constant time. Both sides are hashed first so the comparison takes
// the same time whatever the length of what an attacker sends.
func (c *Connector) Authenticate(req *connector.Request) error {
	if req == nil {
		return fmt.Errorf("%w: no request", connector.ErrSignature)
	}
	vals := req.Header.Values(SecretTokenHeader)
	switch {
	case len(vals) == 0 || (len(vals) == 1 && vals[0] == ""):
		return fmt.Errorf("%w: %s header is missing (set secret_token with setWebhook)", connector.ErrSignature, SecretTokenHeader)
	case len(vals) > 1:
		return fmt.Errorf("%w: %d %s headers, want exactly one", connector.ErrSignature, len(vals), SecretTokenHeader)
	}
	got := sha256.Sum256([]byte(vals[0]))
	want := sha256.Sum256([]byte(c.secretToken))
	if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
		return fmt.Errorf("%w: %s does not match secret_token", connector.ErrSignature, SecretTokenHeader)
	}
	return nil
}

// Fetch downloads a file: getFile(file_id) gives a file_path, valid for
// at least an hour, which is then read from {base}/file/bot<token>/<file_path>.
// The Bot API serves files up to 20 MB; getFile refuses larger ones.
func (c *Connector) Fetch(ctx context.Context, client *http.Client, m connector.MediaRef) (io.ReadCloser, string, error) {
	if m.Ref == "" {
		return nil, "", errors.New("telegram fetch: media has no file_id")
	}
	q := url.Values{"file_id": {m.Ref}}
	res, err := c.call(ctx, client, http.MethodGet, "getFile?"+q.Encode(), "", nil)
	if err != nil {
		return nil, "", fmt.Errorf("telegram getFile: %w", err)
	}
	var f struct {
		FilePath string `json:"file_path"`
		FileSize int64  `json:"file_size"`
	}
	if err := json.Unmarshal(res, &f); err != nil {
		return nil, "", fmt.Errorf("telegram getFile: read result: %w", err)
	}
	p, err := escapeFilePath(f.FilePath)
	if err != nil {
		return nil, "", fmt.Errorf("telegram getFile: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.apiBase+"/file/bot"+c.token+"/"+p, nil)
	if err != nil {
		return nil, "", fmt.Errorf("telegram download: %w", c.scrub(err))
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("telegram download: %w", c.scrub(err))
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, "", fmt.Errorf("telegram download: HTTP %d", resp.StatusCode)
	}
	ctype := resp.Header.Get("Content-Type")
	// The file server often answers application/octet-stream; the type the
	// update announced (mime_type) is more useful then.
	if (ctype == "" || strings.HasPrefix(ctype, "application/octet-stream")) && m.ContentType != "" {
		ctype = m.ContentType
	}
	return resp.Body, ctype, nil
}

// escapeFilePath checks getFile's file_path ("photos/file_12.jpg") and
// escapes each segment, so a hostile or broken answer cannot point the
// download (with the token in its URL) anywhere but the file endpoint.
func escapeFilePath(p string) (string, error) {
	if p == "" {
		return "", errors.New("no file_path in the answer (file too big for the Bot API, or expired)")
	}
	if strings.HasPrefix(p, "/") || strings.ContainsAny(p, "\\?#") || len(p) > 1024 {
		return "", errors.New("file_path is not a relative file path")
	}
	segs := strings.Split(p, "/")
	for i, s := range segs {
		if s == "" || s == "." || s == ".." {
			return "", errors.New("file_path is not a relative file path")
		}
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/"), nil
}

// Send sends msg.Body to the chat msg.To (a chat id, or @channelusername)
// with sendMessage, and each attachment with sendDocument (the body becomes
// the first document's caption when it fits). It returns the provider id
// "<chat_id>:<message_id>" of the first message sent, the same form Parse
// gives messages.
func (c *Connector) Send(ctx context.Context, client *http.Client, msg connector.Outbound) (string, error) {
	to := strings.TrimSpace(msg.To)
	if to == "" {
		return "", errors.New("telegram send: no chat id to send to")
	}
	var chatID any = to
	if n, err := strconv.ParseInt(to, 10, 64); err == nil {
		chatID = n
	} else if !strings.HasPrefix(to, "@") {
		return "", fmt.Errorf("telegram send: %q is not a chat id or @channelusername", truncate(to, 64))
	}
	if len(msg.Attachments) == 0 && strings.TrimSpace(msg.Body) == "" {
		return "", errors.New("telegram send: the message is empty")
	}
	captionFirst := len(msg.Attachments) > 0 && msg.Body != "" && utf8.RuneCountInString(msg.Body) <= maxCaption
	var first string
	if msg.Body != "" && !captionFirst {
		if utf8.RuneCountInString(msg.Body) > maxText {
			return "", fmt.Errorf("telegram send: text is %d characters; sendMessage takes at most %d", utf8.RuneCountInString(msg.Body), maxText)
		}
		body, _ := json.Marshal(map[string]any{"chat_id": chatID, "text": msg.Body})
		res, err := c.call(ctx, client, http.MethodPost, "sendMessage", "application/json", body)
		if err != nil {
			return "", fmt.Errorf("telegram sendMessage: %w", err)
		}
		if first, err = sentID(res); err != nil {
			return "", fmt.Errorf("telegram sendMessage: %w", err)
		}
	}
	for i, a := range msg.Attachments {
		caption := ""
		if i == 0 && captionFirst {
			caption = msg.Body
		}
		body, ctype, err := documentForm(to, caption, a)
		if err != nil {
			return "", fmt.Errorf("telegram sendDocument %d: %w", i, err)
		}
		res, err := c.call(ctx, client, http.MethodPost, "sendDocument", ctype, body)
		if err != nil {
			return first, fmt.Errorf("telegram sendDocument %d: %w", i, err)
		}
		id, err := sentID(res)
		if err != nil {
			return first, fmt.Errorf("telegram sendDocument %d: %w", i, err)
		}
		if first == "" {
			first = id
		}
	}
	return first, nil
}

// documentForm builds sendDocument's multipart body.
func documentForm(chatID, caption string, a onrecord.Attachment) ([]byte, string, error) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	_ = w.WriteField("chat_id", chatID)
	if caption != "" {
		_ = w.WriteField("caption", caption)
	}
	name := a.Name
	if name == "" {
		name = "attachment"
	}
	h := make(textproto.MIMEHeader)
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="document"; filename=%q`, strings.Map(func(r rune) rune {
		if r < 0x20 || r == '"' || r == '\\' {
			return '_'
		}
		return r
	}, name)))
	ct := a.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	h.Set("Content-Type", ct)
	part, err := w.CreatePart(h)
	if err != nil {
		return nil, "", err
	}
	if _, err := part.Write(a.Data); err != nil {
		return nil, "", err
	}
	if err := w.Close(); err != nil {
		return nil, "", err
	}
	return b.Bytes(), w.FormDataContentType(), nil
}

// sentID reads the Message a send method returns.
func sentID(res json.RawMessage) (string, error) {
	var m struct {
		MessageID int64 `json:"message_id"`
		Chat      *chat `json:"chat"`
	}
	if err := json.Unmarshal(res, &m); err != nil {
		return "", fmt.Errorf("read result: %w", err)
	}
	if m.MessageID == 0 || m.Chat == nil {
		return "", errors.New("result has no message_id or chat")
	}
	return msgKey("", m.Chat.ID, m.MessageID), nil
}

// call invokes one Bot API method and returns its result. Errors never
// contain the token, which is part of every method URL.
func (c *Connector) call(ctx context.Context, client *http.Client, method, pathAndQuery, ctype string, body []byte) (json.RawMessage, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.apiBase+"/bot"+c.token+"/"+pathAndQuery, rd)
	if err != nil {
		return nil, c.scrub(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, c.scrub(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAPIResponse))
	if err != nil {
		return nil, fmt.Errorf("read answer: %w", c.scrub(err))
	}
	var ar apiResponse
	if err := json.Unmarshal(data, &ar); err != nil {
		return nil, fmt.Errorf("HTTP %d with an answer that is not Bot API JSON", resp.StatusCode)
	}
	if !ar.OK {
		msg := fmt.Sprintf("Bot API error %d: %s", ar.ErrorCode, truncate(ar.Description, 200))
		if ar.Parameters != nil && ar.Parameters.RetryAfter > 0 {
			msg += fmt.Sprintf(" (retry after %d s)", ar.Parameters.RetryAfter)
		}
		if ar.ErrorCode == http.StatusUnauthorized || resp.StatusCode == http.StatusNotFound && ar.ErrorCode == http.StatusNotFound {
			msg += " (check bot_token)"
		}
		return nil, errors.New(msg)
	}
	return ar.Result, nil
}

// scrub removes the bot token from an error (net/http puts the request URL
// in its errors, and the URL holds the token) while keeping it unwrappable
// for errors.Is (context.DeadlineExceeded and the like).
func (c *Connector) scrub(err error) error {
	if err == nil || !strings.Contains(err.Error(), c.token) {
		return err
	}
	return &scrubbedError{msg: strings.ReplaceAll(err.Error(), c.token, "<bot_token>"), err: unwrapURLError(err)}
}

type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

// unwrapURLError skips the *url.Error (whose message holds the URL) so
// that unwrapping a scrubbed error never reaches the token either.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xc0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
