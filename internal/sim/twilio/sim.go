package twiliosim

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/onrecord/onrecord/internal/connector"
)

// Options are the account the simulator plays. Empty fields get fixed
// defaults, so two simulators built alike sign alike.
type Options struct {
	// AuthToken signs webhooks and is the Basic-auth password.
	AuthToken string
	// AccountSID (AC…) is the Basic-auth user and in every API path.
	AccountSID string
	// Number is the organisation's SMS/MMS number (E.164).
	Number string
	// WhatsAppNumber is the organisation's WhatsApp sender (E.164, no
	// "whatsapp:" prefix).
	WhatsAppNumber string
	// SharedKey, if set, signs webhooks in place of AuthToken, as a
	// Webhook Rule's Setting with a SharedKey does: with SharedKeyAlgorithm
	// (HMAC_SHA256 unless set), announced in
	// X-Twilio-Webhooks-Signature-Settings with SharedKeyID.
	SharedKey, SharedKeyID, SharedKeyAlgorithm string
}

// SentMessage is one message onrecord sent through the simulated API.
type SentMessage struct {
	SID            string
	To             string
	From           string
	Body           string
	MediaURLs      []string
	StatusCallback string
}

// Sim is a simulated Twilio account. It is safe for concurrent use.
type Sim struct {
	opts Options

	mu      sync.Mutex
	baseURL string
	sent    []SentMessage
	// inboundSeq numbers the messages Text and ButtonReply build.
	inboundSeq int
}

// DefaultBaseURL is where media URLs point until SetBaseURL is called.
const DefaultBaseURL = "https://api.twilio.com"

// New returns a simulator for opts.
func New(opts Options) *Sim {
	if opts.AuthToken == "" {
		opts.AuthToken = "sim-auth-token-5f1c0e7a9b2d4c68"
	}
	if opts.AccountSID == "" {
		opts.AccountSID = "AC" + "7d3c1e0b5a9f42e6b8c4d2a1f0e9c3b7"
	}
	if opts.Number == "" {
		opts.Number = "+12125550100"
	}
	if opts.WhatsAppNumber == "" {
		opts.WhatsAppNumber = "+12125550199"
	}
	if opts.SharedKey != "" && opts.SharedKeyAlgorithm == "" {
		opts.SharedKeyAlgorithm = "HMAC_SHA256"
	}
	if opts.SharedKey != "" && opts.SharedKeyID == "" {
		opts.SharedKeyID = "webhooks_sharedkey_01k2sim7f3q9x5d8c4b6a0e1h2"
	}
	return &Sim{opts: opts, baseURL: DefaultBaseURL}
}

// Options returns the options in effect, defaults filled in.
func (s *Sim) Options() Options { return s.opts }

// SetBaseURL tells the simulator where its Handler is served, for the
// media URLs it hands out in deliveries.
func (s *Sim) SetBaseURL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.baseURL = strings.TrimRight(u, "/")
}

func (s *Sim) base() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.baseURL
}

// Sent returns what was sent through the API, in order.
func (s *Sim) Sent() []SentMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]SentMessage, len(s.sent))
	copy(out, s.sent)
	return out
}

// ChannelConfig is a channel configuration wired to this simulator:
// hookBase is the gateway's public base URL (its webhook is
// hookBase/hooks/name).
func (s *Sim) ChannelConfig(name, hookBase string) connector.Config {
	return connector.Config{
		Name:       name,
		Type:       "twilio",
		APIBaseURL: s.base(),
		PublicURL:  strings.TrimRight(hookBase, "/"),
		AuthToken:  s.opts.AuthToken,
		AccountSID: s.opts.AccountSID,
		From:       s.opts.Number,
		SharedKeys: s.sharedKeys(),
	}
}

func (s *Sim) sharedKeys() []string {
	if s.opts.SharedKey == "" {
		return nil
	}
	return []string{s.opts.SharedKey}
}

// Handler serves the simulated API:
//
//	POST /2010-04-01/Accounts/{AccountSid}/Messages.json
//	GET  /2010-04-01/Accounts/{AccountSid}/Messages/{MessageSid}/Media/{MediaSid}
//	GET  /cdn/media/{MediaSid}?Expires=…&Signature=…  (where media redirects)
func (s *Sim) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /2010-04-01/Accounts/{account}/Messages.json", s.handleSend)
	mux.HandleFunc("GET /2010-04-01/Accounts/{account}/Messages/{message}/Media/{media}", s.handleMedia)
	mux.HandleFunc("GET /cdn/media/{media}", s.handleCDN)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
	})
	return mux
}

// authorized checks Basic auth as Twilio does: the account's SID and Auth
// Token, for the account named in the path.
func (s *Sim) authorized(w http.ResponseWriter, r *http.Request) bool {
	user, pass, ok := r.BasicAuth()
	if !ok || user != s.opts.AccountSID || !hmac.Equal([]byte(pass), []byte(s.opts.AuthToken)) {
		w.Header().Set("WWW-Authenticate", `Basic realm="Twilio API"`)
		writeError(w, http.StatusUnauthorized, 20003, "Authenticate")
		return false
	}
	if r.PathValue("account") != s.opts.AccountSID {
		writeError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
		return false
	}
	return true
}

func writeError(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{
		"code": code, "message": msg, "more_info": "https://www.twilio.com/docs/errors/" + strconv.Itoa(code), "status": status,
	})
}

func (s *Sim) handleSend(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, 20001, "Invalid form body")
		return
	}
	to, from, body, media := r.PostForm.Get("To"), r.PostForm.Get("From"), r.PostForm.Get("Body"), r.PostForm["MediaUrl"]
	switch {
	case to == "":
		writeError(w, http.StatusBadRequest, 21604, "A 'To' phone number is required.")
		return
	case from == "" && r.PostForm.Get("MessagingServiceSid") == "":
		writeError(w, http.StatusBadRequest, 21603, "A 'From' phone number is required.")
		return
	case body == "" && len(media) == 0:
		writeError(w, http.StatusBadRequest, 21602, "Message body is required.")
		return
	case len(media) > 10:
		writeError(w, http.StatusBadRequest, 21623, "Number of media files exceeds allowed limit.")
		return
	}
	s.mu.Lock()
	prefix := "SM"
	if len(media) > 0 {
		prefix = "MM"
	}
	sid := prefix + hexID("sent", s.opts.AccountSID, strconv.Itoa(len(s.sent)))
	s.sent = append(s.sent, SentMessage{SID: sid, To: to, From: from, Body: body, MediaURLs: media, StatusCallback: r.PostForm.Get("StatusCallback")})
	s.mu.Unlock()

	now := time.Now().UTC().Format(time.RFC1123Z)
	uri := "/2010-04-01/Accounts/" + s.opts.AccountSID + "/Messages/" + sid
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(map[string]any{
		"account_sid": s.opts.AccountSID, "api_version": "2010-04-01", "body": body,
		"date_created": now, "date_updated": now, "date_sent": nil, "direction": "outbound-api",
		"error_code": nil, "error_message": nil, "from": from, "messaging_service_sid": nil,
		"num_media": strconv.Itoa(len(media)), "num_segments": "1", "price": nil, "price_unit": "USD",
		"sid": sid, "status": "queued", "to": to, "uri": uri + ".json",
		"subresource_uris": map[string]string{"media": uri + "/Media.json"},
	})
}

// handleMedia answers an authenticated media request with a redirect to a
// short-lived, signed CDN URL, as api.twilio.com does.
func (s *Sim) handleMedia(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	media := r.PathValue("media")
	if !validSID(media, "ME") {
		writeError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
		return
	}
	http.Redirect(w, r, "/cdn/media/"+media+"?Expires=1893456000&Signature="+s.cdnSignature(media), http.StatusTemporaryRedirect)
}

func (s *Sim) handleCDN(w http.ResponseWriter, r *http.Request) {
	media := r.PathValue("media")
	if !validSID(media, "ME") || !hmac.Equal([]byte(r.URL.Query().Get("Signature")), []byte(s.cdnSignature(media))) {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`)
		return
	}
	ct := MediaContentType(media)
	w.Header().Set("Content-Type", ct)
	w.Write(MediaBytes(media))
}

func (s *Sim) cdnSignature(media string) string {
	m := hmac.New(sha256.New, []byte(s.opts.AuthToken))
	m.Write([]byte("cdn/" + media))
	return hex.EncodeToString(m.Sum(nil))[:40]
}

func validSID(sid, prefix string) bool {
	if len(sid) != 34 || !strings.HasPrefix(sid, prefix) {
		return false
	}
	_, err := hex.DecodeString(sid[2:])
	return err == nil
}

// mediaTypes is indexed by the third character of a simulated Media SID,
// so a SID alone says what the simulator serves for it.
var mediaTypes = []string{"image/jpeg", "image/png", "application/pdf", "video/mp4", "audio/ogg", "text/vcard"}

// MediaContentType is the content type the simulator serves for a Media
// SID it handed out.
func MediaContentType(mediaSID string) string {
	if len(mediaSID) > 2 {
		if i, err := strconv.ParseUint(mediaSID[2:3], 16, 8); err == nil && int(i) < len(mediaTypes) {
			return mediaTypes[i]
		}
	}
	return "image/jpeg"
}

// MediaBytes are the deterministic bytes the simulator serves for a Media
// SID: the content type's magic number, then filler derived from the SID.
func MediaBytes(mediaSID string) []byte {
	var b []byte
	switch MediaContentType(mediaSID) {
	case "image/jpeg":
		b = []byte{0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0x00}
	case "image/png":
		b = []byte("\x89PNG\r\n\x1a\n")
	case "application/pdf":
		b = []byte("%PDF-1.4\n")
	case "video/mp4":
		b = []byte("\x00\x00\x00\x18ftypmp42")
	case "audio/ogg":
		b = []byte("OggS\x00\x02")
	case "text/vcard":
		return []byte("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Harbor Street Bank Wealth Desk\r\nTEL;TYPE=work:+12125550100\r\nNOTE:" + mediaSID + "\r\nEND:VCARD\r\n")
	}
	seed := sha256.Sum256([]byte(mediaSID))
	for len(b) < 2048 {
		seed = sha256.Sum256(seed[:])
		b = append(b, seed[:]...)
	}
	return b
}

// hexID is 32 hex digits derived from parts: the body of a Twilio SID.
func hexID(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(h[:16])
}
