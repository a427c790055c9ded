package whatsappsim

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/onrecord/onrecord/internal/connector"
)

// Options are the identities and secrets the simulator uses. Zero fields
// take realistic defaults.
type Options struct {
	// AppSecret signs webhook bodies (X-Hub-Signature-256).
	AppSecret string
	// VerifyToken is what the verification GET presents.
	VerifyToken string
	// AccessToken is the bearer token the API accepts.
	AccessToken string
	// PhoneNumberID is the business number's Graph id (send endpoint).
	PhoneNumberID string
	// DisplayPhoneNumber is the business number as webhooks show it.
	DisplayPhoneNumber string
	// WABAID is the WhatsApp Business Account id (webhook entry id).
	WABAID string
	// APIVersion is the Graph version the API is served under ("v21.0").
	APIVersion string
}

// SentMessage is one message the simulated API accepted.
type SentMessage struct {
	// ID is the wamid the API answered.
	ID   string
	To   string
	Type string
	// Body is the text, or the caption of a media message.
	Body string
	// MediaID is the uploaded media a media message refers to.
	MediaID string
	// Payload is the request body as received.
	Payload []byte
}

type mediaFile struct {
	mime string
	data []byte
}

// Sim is a simulated WhatsApp Business Cloud API. It is safe for
// concurrent use.
type Sim struct {
	opts Options

	mu      sync.Mutex
	baseURL string
	media   map[string]mediaFile
	sent    []SentMessage
	seq     int
	// inboundSeq numbers the messages Text and the replies build.
	inboundSeq int
}

// New returns a simulator; see Options for the defaults.
func New(opts Options) *Sim {
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	def(&opts.AppSecret, "sim-app-secret")
	def(&opts.VerifyToken, "sim-verify-token")
	def(&opts.AccessToken, "sim-access-token")
	def(&opts.PhoneNumberID, "106540352242922")
	def(&opts.DisplayPhoneNumber, "15550100200")
	def(&opts.WABAID, "102290129340398")
	def(&opts.APIVersion, "v21.0")
	return &Sim{opts: opts, baseURL: "http://whatsapp.sim.invalid", media: map[string]mediaFile{}}
}

// Options returns the options in effect, defaults filled in.
func (s *Sim) Options() Options { return s.opts }

// SetBaseURL tells the simulator where its Handler is served, for the
// media URLs it hands out.
func (s *Sim) SetBaseURL(u string) {
	s.mu.Lock()
	s.baseURL = strings.TrimRight(u, "/")
	s.mu.Unlock()
}

// BaseURL is where the simulator believes it is served.
func (s *Sim) BaseURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.baseURL
}

// APIBaseURL is the Graph root to configure as api_base_url.
func (s *Sim) APIBaseURL() string { return s.BaseURL() + "/" + s.opts.APIVersion }

// ChannelConfig returns a channel configuration wired to this simulator.
// hookBase is the gateway's public base URL.
func (s *Sim) ChannelConfig(name, hookBase string) connector.Config {
	return connector.Config{
		Name: name, Type: "whatsapp", APIBaseURL: s.APIBaseURL(), PublicURL: hookBase,
		AppSecret: s.opts.AppSecret, VerifyToken: s.opts.VerifyToken, AccessToken: s.opts.AccessToken,
		PhoneNumberID: s.opts.PhoneNumberID,
	}
}

// Sent returns the messages the API accepted, in order.
func (s *Sim) Sent() []SentMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SentMessage(nil), s.sent...)
}

// Handler serves the Graph API endpoints onrecord calls.
func (s *Sim) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /whatsapp_business/attachments/", s.serveDownload)
	mux.HandleFunc("GET /{version}/{id}", s.serveMediaInfo)
	mux.HandleFunc("POST /{version}/{pnid}/messages", s.serveSend)
	mux.HandleFunc("POST /{version}/{pnid}/media", s.serveUpload)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		graphErr(w, http.StatusBadRequest, 100, "GraphMethodException", "Unsupported "+strings.ToLower(r.Method)+" request.")
	})
	return mux
}

// registerMedia records a media id the webhooks refer to, so the API can
// serve it later; the bytes are derived from the id.
func (s *Sim) registerMedia(id, mimeType string) {
	s.mu.Lock()
	if _, ok := s.media[id]; !ok {
		s.media[id] = mediaFile{mime: mimeType}
	}
	s.mu.Unlock()
}

// MediaBytes returns the bytes the simulator serves for a media id.
func (s *Sim) MediaBytes(id string) ([]byte, string, bool) {
	s.mu.Lock()
	f, ok := s.media[id]
	s.mu.Unlock()
	if !ok {
		return nil, "", false
	}
	if f.data != nil {
		return f.data, f.mime, true
	}
	return mediaContent(id, f.mime), f.mime, true
}

// mediaContent is deterministic file content for a media id: the format's
// magic bytes followed by filler derived from the id.
func mediaContent(id, mimeType string) []byte {
	mt, _, _ := mime.ParseMediaType(mimeType)
	magic := map[string]string{
		"image/jpeg": "\xff\xd8\xff\xe0\x00\x10JFIF\x00", "image/png": "\x89PNG\r\n\x1a\n", "image/webp": "RIFF\x00\x10\x00\x00WEBPVP8 ",
		"video/mp4": "\x00\x00\x00\x18ftypmp42", "audio/ogg": "OggS\x00\x02", "audio/mpeg": "ID3\x03\x00",
		"application/pdf": "%PDF-1.7\n",
	}[mt]
	out := []byte(magic)
	seed := sha256.Sum256([]byte("whatsappsim media " + id))
	size := 1024 + int(seed[0])*8
	block := seed
	for len(out) < size {
		out = append(out, block[:]...)
		block = sha256.Sum256(block[:])
	}
	return out[:size]
}

func (s *Sim) authorized(w http.ResponseWriter, r *http.Request) bool {
	if r.Header.Get("Authorization") != "Bearer "+s.opts.AccessToken {
		graphErr(w, http.StatusUnauthorized, 190, "OAuthException", "Invalid OAuth access token - Cannot parse access token")
		return false
	}
	return true
}

var versionRE = regexp.MustCompile(`^v[0-9]+\.[0-9]+$`)

func (s *Sim) serveMediaInfo(w http.ResponseWriter, r *http.Request) {
	if !versionRE.MatchString(r.PathValue("version")) {
		graphErr(w, http.StatusBadRequest, 2500, "OAuthException", "Unknown path components")
		return
	}
	if !s.authorized(w, r) {
		return
	}
	id := r.PathValue("id")
	data, mimeType, ok := s.MediaBytes(id)
	if !ok {
		graphErr(w, http.StatusBadRequest, 100, "GraphMethodException",
			fmt.Sprintf("Unsupported get request. Object with ID '%s' does not exist, cannot be loaded due to missing permissions, or does not support this operation.", id))
		return
	}
	sum := sha256.Sum256(data)
	writeJSON(w, http.StatusOK, map[string]any{
		"messaging_product": "whatsapp",
		"url":               s.mediaURL(id),
		"mime_type":         mimeType,
		"sha256":            hex.EncodeToString(sum[:]),
		"file_size":         len(data),
		"id":                id,
	})
}

// mediaURL is the lookaside-style download URL of a media id.
func (s *Sim) mediaURL(id string) string {
	return s.BaseURL() + "/whatsapp_business/attachments/?mid=" + id + "&ext=" + strconv.Itoa(1700000000) + "&hash=" + shortHash(id)
}

func (s *Sim) serveDownload(w http.ResponseWriter, r *http.Request) {
	// The real lookaside host also refuses a download without the token.
	if !s.authorized(w, r) {
		return
	}
	data, mimeType, ok := s.MediaBytes(r.URL.Query().Get("mid"))
	if !ok {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", mimeType)
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.Write(data)
}

func (s *Sim) checkPhone(w http.ResponseWriter, r *http.Request) bool {
	if !versionRE.MatchString(r.PathValue("version")) {
		graphErr(w, http.StatusBadRequest, 2500, "OAuthException", "Unknown path components")
		return false
	}
	if !s.authorized(w, r) {
		return false
	}
	if r.PathValue("pnid") != s.opts.PhoneNumberID {
		graphErr(w, http.StatusBadRequest, 100, "GraphMethodException",
			fmt.Sprintf("Unsupported post request. Object with ID '%s' does not exist, cannot be loaded due to missing permissions, or does not support this operation.", r.PathValue("pnid")))
		return false
	}
	return true
}

func (s *Sim) serveSend(w http.ResponseWriter, r *http.Request) {
	if !s.checkPhone(w, r) {
		return
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		graphErr(w, http.StatusBadRequest, 100, "OAuthException", "cannot read request body")
		return
	}
	var in map[string]json.RawMessage
	if json.Unmarshal(raw, &in) != nil {
		graphErr(w, http.StatusBadRequest, 100, "OAuthException", "(#100) The parameter messaging_product is required.")
		return
	}
	str := func(k string) string {
		var v string
		_ = json.Unmarshal(in[k], &v)
		return v
	}
	if str("messaging_product") != "whatsapp" {
		graphErr(w, http.StatusBadRequest, 100, "OAuthException", "(#100) The parameter messaging_product is required.")
		return
	}
	to := str("to")
	if to == "" {
		graphErr(w, http.StatusBadRequest, 100, "OAuthException", "(#100) The parameter to is required.")
		return
	}
	typ := str("type")
	if typ == "" {
		typ = "text"
	}
	sm := SentMessage{To: to, Type: typ, Payload: raw}
	var obj struct {
		Body    string `json:"body"`
		Caption string `json:"caption"`
		ID      string `json:"id"`
		Link    string `json:"link"`
	}
	switch typ {
	case "text":
		if json.Unmarshal(in["text"], &obj) != nil || obj.Body == "" {
			graphErr(w, http.StatusBadRequest, 100, "OAuthException", "(#100) The parameter text['body'] is required.")
			return
		}
		sm.Body = obj.Body
	case "image", "video", "audio", "document", "sticker":
		if json.Unmarshal(in[typ], &obj) != nil || (obj.ID == "" && obj.Link == "") {
			graphErr(w, http.StatusBadRequest, 100, "OAuthException", fmt.Sprintf("(#100) Param %s must contain either id or link", typ))
			return
		}
		if obj.ID != "" {
			if _, _, ok := s.MediaBytes(obj.ID); !ok {
				graphErr(w, http.StatusBadRequest, 131053, "OAuthException", "(#131053) Media upload error")
				return
			}
		}
		sm.Body, sm.MediaID = obj.Caption, obj.ID
	case "reaction", "location", "contacts", "interactive", "template":
	default:
		graphErr(w, http.StatusBadRequest, 100, "OAuthException", fmt.Sprintf("(#100) Param type must be one of {AUDIO, CONTACTS, DOCUMENT, IMAGE, INTERACTIVE, LOCATION, REACTION, STICKER, TEMPLATE, TEXT, VIDEO} - got %q.", typ))
		return
	}
	s.mu.Lock()
	s.seq++
	sm.ID = wamid(fmt.Sprintf("send:%d", s.seq))
	s.sent = append(s.sent, sm)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"messaging_product": "whatsapp",
		"contacts":          []map[string]string{{"input": to, "wa_id": digits(to)}},
		"messages":          []map[string]string{{"id": sm.ID}},
	})
}

func (s *Sim) serveUpload(w http.ResponseWriter, r *http.Request) {
	if !s.checkPhone(w, r) {
		return
	}
	if err := r.ParseMultipartForm(32 << 20); err != nil {
		graphErr(w, http.StatusBadRequest, 100, "OAuthException", "(#100) The parameter file is required.")
		return
	}
	if r.FormValue("messaging_product") != "whatsapp" {
		graphErr(w, http.StatusBadRequest, 100, "OAuthException", "(#100) The parameter messaging_product is required.")
		return
	}
	f, fh, err := r.FormFile("file")
	if err != nil {
		graphErr(w, http.StatusBadRequest, 100, "OAuthException", "(#100) The parameter file is required.")
		return
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		graphErr(w, http.StatusBadRequest, 100, "OAuthException", "cannot read file")
		return
	}
	mimeType := firstNonEmpty(r.FormValue("type"), fh.Header.Get("Content-Type"), "application/octet-stream")
	s.mu.Lock()
	s.seq++
	id := strconv.FormatInt(int64(9100000000000000+s.seq), 10)
	s.media[id] = mediaFile{mime: mimeType, data: data}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]string{"id": id})
}

func graphErr(w http.ResponseWriter, status, code int, typ, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{
		"message": msg, "type": typ, "code": code, "fbtrace_id": "AbCdEfSim" + shortHash(msg)[:8],
	}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

// wamid makes a message id in the shape Meta uses ("wamid." and base64),
// derived from key so scripted ids are stable.
func wamid(key string) string {
	sum := sha256.Sum256([]byte("wamid " + key))
	return "wamid.HBgL" + base64.StdEncoding.EncodeToString(append([]byte("MTU1NTAxMDAyMDAVAgASGBQ"), sum[:18]...))
}

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:8])
}

func digits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
