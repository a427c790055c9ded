package slacksim

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/onrecord/onrecord/internal/connector"
	"github.com/onrecord/onrecord/internal/sim"
)

// Options are the app's credentials and ids the simulator signs and checks
// with. Empty fields get working defaults.
type Options struct {
	SigningSecret string
	BotToken      string
	TeamID        string
	APIAppID      string
	// BotUserID and BotID are the app's bot user and bot ids (what its own
	// posts carry).
	BotUserID string
	BotID     string
	// Now is the clock deliveries are signed with; time.Now if nil.
	Now func() time.Time
}

// SentMessage is one chat.postMessage call the simulator accepted.
type SentMessage struct {
	Channel string
	Text    string
	TS      string
}

// Sim is a simulated Slack workspace with the app installed.
type Sim struct {
	opts Options

	mu     sync.Mutex
	base   string
	sent   []SentMessage
	lastTS time.Time
	files  map[string]simFile // by id, for files.info
}

// New returns a simulator; call SetBaseURL once it is served.
func New(opts Options) *Sim {
	if opts.SigningSecret == "" {
		opts.SigningSecret = "5e1f0c8b2a7d4e6f9a3b1c0d8e7f6a5b"
	}
	if opts.BotToken == "" {
		opts.BotToken = "xoxb-1000000001-2000000002-SimulatedBotToken0001"
	}
	if opts.TeamID == "" {
		opts.TeamID = "T0HTB00001"
	}
	if opts.APIAppID == "" {
		opts.APIAppID = "A0ONREC001"
	}
	if opts.BotUserID == "" {
		opts.BotUserID = "U0ONRECBOT"
	}
	if opts.BotID == "" {
		opts.BotID = "B0ONREC001"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Sim{opts: opts, base: "http://slack.invalid", files: map[string]simFile{}}
}

// SetBaseURL tells the simulator where it is served (e.g. an httptest
// server's URL); file URLs it hands out and ChannelConfig point there.
func (s *Sim) SetBaseURL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.base = strings.TrimRight(u, "/")
}

func (s *Sim) baseURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.base
}

// APIBaseURL is the Web API root of the simulator (Slack's https://slack.com/api).
func (s *Sim) APIBaseURL() string { return s.baseURL() + "/api" }

// ChannelConfig returns a [[channel]] config wired to this simulator.
func (s *Sim) ChannelConfig(name, hookBase string) connector.Config {
	_ = hookBase // Slack is configured with the hook URL on Slack's side; nothing here signs it.
	return connector.Config{
		Name:          name,
		Type:          "slack",
		APIBaseURL:    s.APIBaseURL(),
		SigningSecret: s.opts.SigningSecret,
		BotToken:      s.opts.BotToken,
	}
}

// Sent returns the messages accepted by chat.postMessage, in order.
func (s *Sim) Sent() []SentMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SentMessage(nil), s.sent...)
}

// Handler serves the Web API methods and file downloads.
func (s *Sim) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/chat.postMessage", s.postMessage)
	mux.HandleFunc("GET /api/files.info", s.filesInfo)
	mux.HandleFunc("POST /api/files.info", s.filesInfo)
	mux.HandleFunc("GET /files-pri/{teamfile}/{rest...}", s.download)
	mux.HandleFunc("/api/{method}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{"ok": false, "error": "unknown_method"})
	})
	return mux
}

func (s *Sim) authorized(r *http.Request) (ok bool, errCode string) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return false, "not_authed"
	}
	tok, found := strings.CutPrefix(h, "Bearer ")
	if !found || !hmac.Equal([]byte(tok), []byte(s.opts.BotToken)) {
		return false, "invalid_auth"
	}
	return true, ""
}

func (s *Sim) postMessage(w http.ResponseWriter, r *http.Request) {
	if ok, code := s.authorized(r); !ok {
		writeJSON(w, map[string]any{"ok": false, "error": code})
		return
	}
	var in struct {
		Channel string `json:"channel"`
		Text    string `json:"text"`
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(body, &in); err != nil {
			writeJSON(w, map[string]any{"ok": false, "error": "invalid_json"})
			return
		}
	} else {
		r.Body = io.NopCloser(bytes.NewReader(body))
		_ = r.ParseForm()
		in.Channel, in.Text = r.PostForm.Get("channel"), r.PostForm.Get("text")
	}
	switch {
	case in.Channel == "" || !strings.ContainsAny(in.Channel[:1], "CDGU"):
		writeJSON(w, map[string]any{"ok": false, "error": "channel_not_found"})
		return
	case strings.TrimSpace(in.Text) == "":
		writeJSON(w, map[string]any{"ok": false, "error": "no_text"})
		return
	}
	channel := in.Channel
	if channel[0] == 'U' {
		// Posting to a user id opens the app's DM with them.
		channel = "D" + channel[1:]
	}
	ts := s.nextTS()
	s.mu.Lock()
	s.sent = append(s.sent, SentMessage{Channel: channel, Text: in.Text, TS: ts})
	s.mu.Unlock()
	writeJSON(w, map[string]any{
		"ok": true, "channel": channel, "ts": ts,
		"message": map[string]any{
			"user": s.opts.BotUserID, "type": "message", "ts": ts, "bot_id": s.opts.BotID,
			"app_id": s.opts.APIAppID, "text": in.Text, "team": s.opts.TeamID,
		},
	})
}

// nextTS is a Slack ts for now, strictly increasing.
func (s *Sim) nextTS() string {
	now := s.opts.Now().Truncate(time.Microsecond)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !now.After(s.lastTS) {
		now = s.lastTS.Add(time.Microsecond)
	}
	s.lastTS = now
	return fmt.Sprintf("%d.%06d", now.Unix(), now.Nanosecond()/1000)
}

func (s *Sim) filesInfo(w http.ResponseWriter, r *http.Request) {
	if ok, code := s.authorized(r); !ok {
		writeJSON(w, map[string]any{"ok": false, "error": code})
		return
	}
	id := r.FormValue("file")
	s.mu.Lock()
	f, ok := s.files[id]
	s.mu.Unlock()
	if !ok {
		writeJSON(w, map[string]any{"ok": false, "error": "file_not_found"})
		return
	}
	f.URLPrivate, f.URLPrivateDownload = s.fileURLs(f.ID, f.Name)
	f.FileAccess = ""
	writeJSON(w, map[string]any{"ok": true, "file": f})
}

// download serves url_private and url_private_download. Without the bot
// token Slack does not answer 401: it redirects to its sign-in page, which
// a client following redirects receives as HTML with a 200.
func (s *Sim) download(w http.ResponseWriter, r *http.Request) {
	if ok, _ := s.authorized(r); !ok {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "<!DOCTYPE html><html><head><title>Slack</title></head><body>Sign in to Harbor Trust Bank</body></html>")
		return
	}
	_, fileID, ok := strings.Cut(r.PathValue("teamfile"), "-")
	if !ok || fileID == "" {
		http.NotFound(w, r)
		return
	}
	ct := mime.TypeByExtension(path.Ext(r.URL.Path))
	if ct == "" {
		ct = "application/octet-stream"
	}
	data := FileContent(fileID)
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.Write(data)
}

// FileContent is the deterministic content the simulator serves for a
// file id.
func FileContent(fileID string) []byte {
	seed := sha256.Sum256([]byte("slacksim file " + fileID))
	n := 256 + int(binary.BigEndian.Uint16(seed[:2]))%3840
	out := make([]byte, 0, n+sha256.Size)
	block := seed
	for len(out) < n {
		out = append(out, block[:]...)
		block = sha256.Sum256(block[:])
	}
	return out[:n]
}

// fileURLs are url_private and url_private_download for a file, shaped
// like files.slack.com's.
func (s *Sim) fileURLs(id, name string) (string, string) {
	p := s.baseURL() + "/files-pri/" + s.opts.TeamID + "-" + id + "/"
	return p + name, p + "download/" + name
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	b, err := marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Write(b)
}

// marshal encodes like Slack: UTF-8 as is, "<" and ">" not escaped (they
// delimit mentions and links in message text), "/" escaped as "\/".
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	b := bytes.TrimRight(buf.Bytes(), "\n")
	// "/" only ever occurs inside JSON strings.
	return bytes.ReplaceAll(b, []byte("/"), []byte(`\/`)), nil
}

// sign returns the headers Slack sends with a signed request.
func (s *Sim) sign(body []byte, contentType string) http.Header {
	ts := strconv.FormatInt(s.opts.Now().Unix(), 10)
	m := hmac.New(sha256.New, []byte(s.opts.SigningSecret))
	fmt.Fprintf(m, "v0:%s:", ts)
	m.Write(body)
	h := http.Header{}
	h.Set("Content-Type", contentType)
	h.Set("User-Agent", "Slackbot 1.0 (+https://api.slack.com/robots)")
	h.Set("X-Slack-Request-Timestamp", ts)
	h.Set("X-Slack-Signature", "v0="+hex.EncodeToString(m.Sum(nil)))
	return h
}

func (s *Sim) delivery(kind, hookURL string, body []byte, contentType string) sim.Delivery {
	return sim.Delivery{Kind: kind, Method: http.MethodPost, URL: hookURL, Header: s.sign(body, contentType), Body: body}
}
