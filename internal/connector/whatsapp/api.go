package whatsapp

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"path"
	"strings"

	json "github.com/go-json-experiment/json/v1"
	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/connector"
)

// maxAPIResponse bounds the JSON answers of the Graph API read into memory.
const maxAPIResponse = 1 << 20

// bearerHostSuffixes are Meta's hosts that may receive the access token
// besides the configured API root: the media URLs Graph hands out live on
// lookaside.fbsbx.com and Meta's CDNs. The token is never sent elsewhere,
// whatever a payload says.
var bearerHostSuffixes = []string{".fbsbx.com", ".facebook.com", ".fbcdn.net", ".whatsapp.net", ".whatsapp.com"}

// mediaRef builds the handle the gateway fetches: the URL when the webhook
// carried one (no extra round trip), else the media id.
func mediaRef(kind string, md *media) (connector.MediaRef, bool) {
	id := strings.TrimSpace(md.ID.String())
	ref := id
	if u := strings.TrimSpace(md.URL); u != "" {
		ref = u
	}
	if ref == "" {
		return connector.MediaRef{}, false
	}
	name := safeFileName(md.Filename)
	if name == "" {
		if id == "" { // a URL without a media id
			id = shortHash([]byte(ref))
		}
		name = kind + "-" + safeFileName(id) + extensionFor(md.MimeType)
	}
	var size int64
	if n, err := json.Number(md.FileSize.String()).Int64(); err == nil && n > 0 {
		size = n
	}
	return connector.MediaRef{Ref: ref, Name: name, ContentType: md.MimeType, Size: size}, true
}

// safeFileName keeps the last path element of a sender-chosen file name
// and drops characters that have meaning to file systems.
func safeFileName(s string) string {
	s = strings.ReplaceAll(strings.TrimSpace(s), "\\", "/")
	s = path.Base(s)
	if s == "." || s == "/" || s == ".." {
		return ""
	}
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || strings.ContainsRune(`<>:"|?*`, r) {
			return '_'
		}
		return r
	}, s)
	return truncate(s, 200)
}

var extensions = map[string]string{
	"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "video/mp4": ".mp4", "video/3gpp": ".3gp",
	"audio/ogg": ".ogg", "audio/mpeg": ".mp3", "audio/aac": ".aac", "audio/mp4": ".m4a", "audio/amr": ".amr",
	"application/pdf": ".pdf", "text/plain": ".txt",
}

func extensionFor(mimeType string) string {
	mt, _, err := mime.ParseMediaType(mimeType)
	if err != nil {
		return ""
	}
	return extensions[mt]
}

// Fetch downloads a media file the way Graph documents it: GET
// {api}/{media-id} with the bearer token answers {url, mime_type, sha256,
// ...}; GET url with the same bearer answers the bytes. A ref that is
// already a URL skips the first step. When Graph announces a sha256, the
// stream fails at its end if the bytes do not match.
func (c *Connector) Fetch(ctx context.Context, client *http.Client, m connector.MediaRef) (io.ReadCloser, string, error) {
	if client == nil {
		client = http.DefaultClient
	}
	ref := strings.TrimSpace(m.Ref)
	if ref == "" {
		return nil, "", errors.New("fetch media: empty media reference")
	}
	if strings.HasPrefix(ref, "https://") || strings.HasPrefix(ref, "http://") {
		return c.download(ctx, client, ref, m.ContentType, "")
	}
	if ref == "." || ref == ".." || strings.ContainsAny(ref, "/?#\\") {
		return nil, "", fmt.Errorf("fetch media: media id %q is not a Graph id", truncate(ref, 64))
	}
	infoURL := c.apiBase + "/" + url.PathEscape(ref)
	resp, err := c.do(ctx, client, http.MethodGet, infoURL, nil, "")
	if err != nil {
		return nil, "", fmt.Errorf("fetch media %s: %w", ref, err)
	}
	var info struct {
		URL      string `json:"url"`
		MimeType string `json:"mime_type"`
		SHA256   string `json:"sha256"`
		ID       string `json:"id"`
	}
	err = decodeResponse(resp, &info)
	if err != nil {
		return nil, "", fmt.Errorf("fetch media %s: %w", ref, err)
	}
	if info.URL == "" {
		return nil, "", fmt.Errorf("fetch media %s: Graph answered no download url", ref)
	}
	return c.download(ctx, client, info.URL, firstNonEmpty(info.MimeType, m.ContentType), info.SHA256)
}

func (c *Connector) download(ctx context.Context, client *http.Client, rawURL, contentType, wantSHA string) (io.ReadCloser, string, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return nil, "", errors.New("download media: the media url is not an absolute URL")
	}
	if !c.mayReceiveToken(u) {
		return nil, "", fmt.Errorf("download media: host %q is not Meta's or the configured api_base_url; the access token is not sent there", u.Hostname())
	}
	resp, err := c.do(ctx, client, http.MethodGet, u.String(), nil, "")
	if err != nil {
		return nil, "", fmt.Errorf("download media from %s: %w", u.Hostname(), err)
	}
	if resp.StatusCode != http.StatusOK {
		err := graphError(resp)
		resp.Body.Close()
		return nil, "", fmt.Errorf("download media from %s: %w", u.Hostname(), err)
	}
	ct := resp.Header.Get("Content-Type")
	if ct == "" || ct == "application/octet-stream" {
		ct = firstNonEmpty(contentType, ct)
	}
	body := io.ReadCloser(resp.Body)
	if want := decodeDigest(wantSHA); want != nil {
		body = &verifyingReader{rc: resp.Body, h: sha256.New(), want: want}
	}
	return body, ct, nil
}

// mayReceiveToken reports whether the access token may be sent to u.
func (c *Connector) mayReceiveToken(u *url.URL) bool {
	host := strings.ToLower(u.Host)
	if host == c.apiHost {
		return true
	}
	if u.Scheme != "https" {
		return false
	}
	h := strings.ToLower(u.Hostname())
	for _, s := range bearerHostSuffixes {
		if strings.HasSuffix(h, s) || h == s[1:] {
			return true
		}
	}
	return false
}

// decodeDigest reads a SHA-256 as Meta writes it: hex from the media
// endpoint, base64 in some webhooks. Anything else is not checked.
func decodeDigest(s string) []byte {
	s = strings.TrimSpace(s)
	if len(s) == 2*sha256.Size {
		if b, err := hex.DecodeString(s); err == nil {
			return b
		}
	}
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) == sha256.Size {
		return b
	}
	return nil
}

// verifyingReader fails the read that reaches the end of the body if the
// bytes do not hash to what Graph announced, so a corrupted download is
// recorded as a failure instead of archived as the file.
type verifyingReader struct {
	rc   io.ReadCloser
	h    hash.Hash
	want []byte
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	n, err := v.rc.Read(p)
	v.h.Write(p[:n])
	if errors.Is(err, io.EOF) && !bytes.Equal(v.h.Sum(nil), v.want) {
		return n, errors.New("media does not match the sha256 Graph announced")
	}
	return n, err
}

func (v *verifyingReader) Close() error { return v.rc.Close() }

// Send sends msg through POST {api}/{phone_number_id}/messages. Text goes
// as a text message; each attachment is uploaded to {api}/{phone_number_id}/media
// and sent as an image, video, audio or document message, the body riding
// as the caption of the first attachment that can carry one. It returns the
// wamid, or the wamids joined by "," when several messages were needed.
func (c *Connector) Send(ctx context.Context, client *http.Client, msg connector.Outbound) (string, error) {
	if client == nil {
		client = http.DefaultClient
	}
	if strings.TrimSpace(c.phoneNumberID) == "" {
		return "", fmt.Errorf("channel %q: phone_number_id is required to send", c.name)
	}
	to := strings.TrimSpace(msg.To)
	if to == "" {
		return "", errors.New("send: no recipient")
	}
	if msg.Body == "" && len(msg.Attachments) == 0 {
		return "", errors.New("send: nothing to send")
	}
	type outMsg struct {
		kind    string
		payload map[string]any
	}
	var msgs []outMsg
	bodyUsed := false
	for i, a := range msg.Attachments {
		id, err := c.upload(ctx, client, a)
		if err != nil {
			return "", fmt.Errorf("send: attachment %d: %w", i, err)
		}
		kind := sendKind(a.ContentType)
		obj := map[string]any{"id": id}
		if kind != "audio" && !bodyUsed && msg.Body != "" {
			obj["caption"] = msg.Body
			bodyUsed = true
		}
		if kind == "document" && a.Name != "" {
			obj["filename"] = a.Name
		}
		msgs = append(msgs, outMsg{kind, obj})
	}
	if msg.Body != "" && !bodyUsed {
		text := outMsg{"text", map[string]any{"body": msg.Body, "preview_url": false}}
		msgs = append([]outMsg{text}, msgs...)
	}
	recipientType := "individual"
	if msg.Group {
		recipientType = "group" // the Groups API: "to" is the group id
	}
	ids := make([]string, 0, len(msgs))
	for _, m := range msgs {
		payload := map[string]any{
			"messaging_product": "whatsapp", "recipient_type": recipientType, "to": to, "type": m.kind, m.kind: m.payload,
		}
		b, err := json.Marshal(payload)
		if err != nil {
			return "", fmt.Errorf("send: encode %s message: %w", m.kind, err)
		}
		resp, err := c.do(ctx, client, http.MethodPost, c.apiBase+"/"+url.PathEscape(c.phoneNumberID)+"/messages", bytes.NewReader(b), "application/json")
		if err != nil {
			return "", fmt.Errorf("send %s message: %w", m.kind, err)
		}
		var out struct {
			Messages []struct {
				ID string `json:"id"`
			} `json:"messages"`
		}
		if err := decodeResponse(resp, &out); err != nil {
			return "", fmt.Errorf("send %s message: %w", m.kind, err)
		}
		if len(out.Messages) == 0 || out.Messages[0].ID == "" {
			return "", fmt.Errorf("send %s message: Graph answered no message id", m.kind)
		}
		ids = append(ids, out.Messages[0].ID)
	}
	return strings.Join(ids, ","), nil
}

// sendKind picks the WhatsApp message type for a file; anything WhatsApp
// would not render inline goes as a document.
func sendKind(contentType string) string {
	mt, _, _ := mime.ParseMediaType(contentType)
	switch mt {
	case "image/jpeg", "image/png":
		return "image"
	case "video/mp4", "video/3gpp":
		return "video"
	case "audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg":
		return "audio"
	}
	return "document"
}

// upload stores a file with Graph and returns its media id.
func (c *Connector) upload(ctx context.Context, client *http.Client, a onrecord.Attachment) (string, error) {
	ct := firstNonEmpty(a.ContentType, "application/octet-stream")
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	_ = w.WriteField("messaging_product", "whatsapp")
	_ = w.WriteField("type", ct)
	h := make(textproto.MIMEHeader)
	name := firstNonEmpty(safeFileName(a.Name), "attachment")
	h.Set("Content-Disposition", mime.FormatMediaType("form-data", map[string]string{"name": "file", "filename": name}))
	h.Set("Content-Type", ct)
	part, err := w.CreatePart(h)
	if err != nil {
		return "", fmt.Errorf("upload: %w", err)
	}
	part.Write(a.Data)
	if err := w.Close(); err != nil {
		return "", fmt.Errorf("upload: %w", err)
	}
	resp, err := c.do(ctx, client, http.MethodPost, c.apiBase+"/"+url.PathEscape(c.phoneNumberID)+"/media", &buf, w.FormDataContentType())
	if err != nil {
		return "", fmt.Errorf("upload: %w", err)
	}
	var out struct {
		ID string `json:"id"`
	}
	if err := decodeResponse(resp, &out); err != nil {
		return "", fmt.Errorf("upload: %w", err)
	}
	if out.ID == "" {
		return "", errors.New("upload: Graph answered no media id")
	}
	return out.ID, nil
}

// do makes one authenticated Graph request.
func (c *Connector) do(ctx context.Context, client *http.Client, method, u string, body io.Reader, contentType string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.accessToken)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return client.Do(req)
}

// decodeResponse reads a Graph JSON answer into out, or Graph's error.
func decodeResponse(resp *http.Response, out any) error {
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return graphError(resp)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxAPIResponse)).Decode(out); err != nil {
		return fmt.Errorf("decode Graph answer: %w", err)
	}
	return nil
}

// graphError turns a Graph error answer into an error that names the
// status and Graph's code and message.
func graphError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var ge struct {
		Error struct {
			Message   string `json:"message"`
			Type      string `json:"type"`
			Code      int    `json:"code"`
			Subcode   int    `json:"error_subcode"`
			ErrorData struct {
				Details string `json:"details"`
			} `json:"error_data"`
		} `json:"error"`
	}
	if json.Unmarshal(b, &ge) == nil && ge.Error.Message != "" {
		msg := fmt.Sprintf("graph HTTP %d: code %d", resp.StatusCode, ge.Error.Code)
		if ge.Error.Subcode != 0 {
			msg += fmt.Sprintf(" subcode %d", ge.Error.Subcode)
		}
		msg += ": " + truncate(ge.Error.Message, 200)
		if d := ge.Error.ErrorData.Details; d != "" {
			msg += " (" + truncate(d, 200) + ")"
		}
		return errors.New(msg)
	}
	return fmt.Errorf("graph HTTP %d", resp.StatusCode)
}
