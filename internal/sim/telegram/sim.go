package telegramsim

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/onrecord/onrecord/internal/connector"
)

// Defaults used when Options leaves a field empty.
const (
	DefaultBotToken    = "7352001234:AAHf-sim_Harbor-Finch-archive-bot-token"
	DefaultSecretToken = "hf-telegram-webhook-secret_2025"
	DefaultBotUsername = "harborfinch_archive_bot"
)

// maxUpload bounds a sendDocument body the simulator reads.
const maxUpload = 50 << 20

// Options are the credentials the simulated bot has.
type Options struct {
	// BotToken is "<bot id>:<secret>"; API and file URLs carry it.
	BotToken string
	// SecretToken is sent as X-Telegram-Bot-Api-Secret-Token with every
	// delivery, as setWebhook(secret_token) makes Telegram do.
	SecretToken string
	BotUsername string
}

// SentMessage is one message a client sent through the simulated API.
type SentMessage struct {
	Method      string // sendMessage or sendDocument
	ChatID      string
	MessageID   int64
	Text        string // the text, or the document's caption
	FileName    string
	ContentType string
	Data        []byte
}

// Sim is a simulated Telegram Bot API and webhook sender.
type Sim struct {
	opts  Options
	botID int64

	mu      sync.Mutex
	baseURL string
	sent    []SentMessage
	nextID  map[int64]int64
	// updates counts the updates Text builds, for their update_id.
	updates int64
}

// New returns a simulator; empty options take the defaults above.
func New(opts Options) *Sim {
	if opts.BotToken == "" {
		opts.BotToken = DefaultBotToken
	}
	if opts.SecretToken == "" {
		opts.SecretToken = DefaultSecretToken
	}
	if opts.BotUsername == "" {
		opts.BotUsername = DefaultBotUsername
	}
	id, _, _ := strings.Cut(opts.BotToken, ":")
	botID, _ := strconv.ParseInt(id, 10, 64)
	return &Sim{opts: opts, botID: botID, baseURL: "https://api.telegram.org", nextID: map[int64]int64{}}
}

// SetBaseURL tells the simulator where its API is served.
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

// Sent returns what was sent through the API so far, in order.
func (s *Sim) Sent() []SentMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]SentMessage, len(s.sent))
	copy(out, s.sent)
	return out
}

// ChannelConfig returns a [[channel]] configuration wired to this
// simulator.
func (s *Sim) ChannelConfig(name, hookBase string) connector.Config {
	return connector.Config{
		Name:        name,
		Type:        "telegram",
		APIBaseURL:  s.base(),
		PublicURL:   hookBase,
		BotToken:    s.opts.BotToken,
		SecretToken: s.opts.SecretToken,
	}
}

func (s *Sim) bot() tgUser {
	return tgUser{ID: s.botID, IsBot: true, FirstName: "Harbor & Finch Archive", Username: s.opts.BotUsername}
}

// Handler serves getFile, the file download, sendMessage and sendDocument
// at {base}/bot<token>/METHOD and {base}/file/bot<token>/<file_path>. A
// wrong token is answered 404 Not Found, as the real API does.
func (s *Sim) Handler() http.Handler {
	return http.HandlerFunc(s.serve)
}

func (s *Sim) serve(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if rest, ok := strings.CutPrefix(p, "/file/bot"+s.opts.BotToken+"/"); ok {
		s.serveFile(w, r, rest)
		return
	}
	method, ok := strings.CutPrefix(p, "/bot"+s.opts.BotToken+"/")
	if !ok || strings.Contains(method, "/") {
		apiError(w, http.StatusNotFound, "Not Found")
		return
	}
	switch strings.ToLower(method) {
	case "getfile":
		s.getFile(w, r)
	case "sendmessage":
		s.sendMessage(w, r)
	case "senddocument":
		s.sendDocument(w, r)
	case "getme":
		writeOK(w, s.bot())
	default:
		apiError(w, http.StatusNotFound, "Not Found")
	}
}

func apiError(w http.ResponseWriter, code int, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	b, _ := json.Marshal(map[string]any{"ok": false, "error_code": code, "description": desc})
	w.Write(b)
}

func writeOK(w http.ResponseWriter, result any) {
	w.Header().Set("Content-Type", "application/json")
	b, err := marshal(map[string]any{"ok": true, "result": result})
	if err != nil {
		apiError(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	w.Write(b)
}

// params reads a method's parameters the ways the Bot API accepts them:
// query string, URL-encoded form, JSON or multipart form.
func params(r *http.Request) (map[string]string, error) {
	out := map[string]string{}
	for k, v := range r.URL.Query() {
		out[k] = v[0]
	}
	if r.Method != http.MethodPost {
		return out, nil
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		var m map[string]any
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&m); err != nil {
			return nil, fmt.Errorf("can't parse JSON: %w", err)
		}
		for k, v := range m {
			switch v := v.(type) {
			case string:
				out[k] = v
			case float64:
				out[k] = strconv.FormatFloat(v, 'f', -1, 64)
			default:
				b, _ := json.Marshal(v)
				out[k] = string(b)
			}
		}
	case "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			return nil, err
		}
		for k, v := range r.PostForm {
			out[k] = v[0]
		}
	case "multipart/form-data":
		if err := r.ParseMultipartForm(maxUpload); err != nil {
			return nil, err
		}
		for k, v := range r.MultipartForm.Value {
			out[k] = v[0]
		}
	}
	return out, nil
}

// File ids the simulator hands out start with the kind prefix real file
// ids have; the prefix says where the file lives.
var fileKinds = map[string]struct{ dir, ext, ctype string }{
	"AgAC": {"photos", "jpg", "image/jpeg"},
	"BAAC": {"videos", "mp4", "video/mp4"},
	"AwAC": {"voice", "oga", "audio/ogg"},
	"CQAC": {"music", "mp3", "audio/mpeg"},
	"BQAC": {"documents", "pdf", "application/pdf"},
	"CgAC": {"animations", "mp4", "video/mp4"},
	"CAAC": {"stickers", "webp", "image/webp"},
	"DQAC": {"video_notes", "mp4", "video/mp4"},
}

// filePath is where getFile says a file id's file is: derived from the id
// alone, so any simulator with the same token serves any delivery's files.
func filePath(fileID string) (string, bool) {
	if len(fileID) < 20 || len(fileID) > 200 || !idChars(fileID) {
		return "", false
	}
	k, ok := fileKinds[fileID[:4]]
	if !ok {
		return "", false
	}
	sum := sha256.Sum256([]byte(fileID))
	return fmt.Sprintf("%s/file_%x.%s", k.dir, sum[:6], k.ext), true
}

func idChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// magic starts each file kind so content sniffing sees the real type.
var magic = map[string][]byte{
	"jpg":  {0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0x00},
	"mp4":  {0x00, 0x00, 0x00, 0x18, 'f', 't', 'y', 'p', 'm', 'p', '4', '2'},
	"oga":  []byte("OggS\x00\x02"),
	"mp3":  []byte("ID3\x04\x00\x00"),
	"pdf":  []byte("%PDF-1.7\n"),
	"webp": []byte("RIFF\x00\x10\x00\x00WEBPVP8 "),
}

// fileBytes is the deterministic content of a file path.
func fileBytes(path string) []byte {
	ext := path[strings.LastIndexByte(path, '.')+1:]
	seed := sha256.Sum256([]byte(path))
	n := 512 + int(binary.BigEndian.Uint16(seed[:2]))%3584
	b := make([]byte, 0, n)
	b = append(b, magic[ext]...)
	block := seed
	for len(b) < n {
		block = sha256.Sum256(block[:])
		b = append(b, block[:]...)
	}
	return b[:n]
}

// fileSize is what an update announces for a file id.
func fileSize(fileID string) int64 {
	p, ok := filePath(fileID)
	if !ok {
		return 0
	}
	return int64(len(fileBytes(p)))
}

func (s *Sim) getFile(w http.ResponseWriter, r *http.Request) {
	ps, err := params(r)
	if err != nil {
		apiError(w, http.StatusBadRequest, "Bad Request: "+err.Error())
		return
	}
	id := ps["file_id"]
	if id == "" {
		apiError(w, http.StatusBadRequest, "Bad Request: file_id is empty")
		return
	}
	p, ok := filePath(id)
	if !ok {
		apiError(w, http.StatusBadRequest, "Bad Request: invalid file_id")
		return
	}
	sum := sha256.Sum256([]byte("unique" + id))
	writeOK(w, map[string]any{
		"file_id": id, "file_unique_id": fmt.Sprintf("AQAD%x", sum[:6]),
		"file_size": len(fileBytes(p)), "file_path": p,
	})
}

func (s *Sim) serveFile(w http.ResponseWriter, r *http.Request, path string) {
	dir, name, ok := strings.Cut(path, "/")
	valid := ok && !strings.Contains(name, "/") && strings.HasPrefix(name, "file_")
	var ctype string
	if valid {
		valid = false
		for _, k := range fileKinds {
			if k.dir == dir && strings.HasSuffix(name, "."+k.ext) && len(name) == len("file_")+12+1+len(k.ext) {
				valid, ctype = true, k.ctype
			}
		}
	}
	if !valid || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		apiError(w, http.StatusNotFound, "Not Found")
		return
	}
	b := fileBytes(path)
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	if r.Method == http.MethodHead {
		return
	}
	w.Write(b)
}

// chatFor resolves a chat_id parameter to the chat a message goes to.
func (s *Sim) chatFor(id string) (tgChat, bool) {
	if id == "@"+channel.Username {
		return channel, true
	}
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n == 0 {
		return tgChat{}, false
	}
	for _, c := range []tgChat{groupDesk, groupForum, channel} {
		if c.ID == n {
			return c, true
		}
	}
	if n < 0 {
		return tgChat{ID: n, Title: "Group " + id, Type: "supergroup"}, true
	}
	c := tgChat{ID: n, Type: "private", FirstName: "User " + id}
	for _, p := range append(append([]person{}, clients...), employees...) {
		if p.ID == n {
			c.FirstName, c.LastName, c.Username = p.First, p.Last, p.Username
		}
	}
	return c, true
}

func (s *Sim) record(m SentMessage, chatID int64) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID[chatID]++
	m.MessageID = 1000 + s.nextID[chatID]
	s.sent = append(s.sent, m)
	return m.MessageID
}

func (s *Sim) sendMessage(w http.ResponseWriter, r *http.Request) {
	ps, err := params(r)
	if err != nil {
		apiError(w, http.StatusBadRequest, "Bad Request: "+err.Error())
		return
	}
	if ps["chat_id"] == "" {
		apiError(w, http.StatusBadRequest, "Bad Request: chat_id is empty")
		return
	}
	c, ok := s.chatFor(ps["chat_id"])
	if !ok {
		apiError(w, http.StatusBadRequest, "Bad Request: chat not found")
		return
	}
	text := ps["text"]
	switch n := utf8.RuneCountInString(text); {
	case strings.TrimSpace(text) == "":
		apiError(w, http.StatusBadRequest, "Bad Request: message text is empty")
		return
	case n > 4096:
		apiError(w, http.StatusBadRequest, "Bad Request: message is too long")
		return
	}
	id := s.record(SentMessage{Method: "sendMessage", ChatID: strconv.FormatInt(c.ID, 10), Text: text}, c.ID)
	bot := s.bot()
	writeOK(w, tgMessage{MessageID: id, From: &bot, Chat: c, Date: time.Now().Unix(), Text: text})
}

func (s *Sim) sendDocument(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxUpload)
	ps, err := params(r)
	if err != nil {
		apiError(w, http.StatusBadRequest, "Bad Request: "+err.Error())
		return
	}
	c, ok := s.chatFor(ps["chat_id"])
	if !ok {
		apiError(w, http.StatusBadRequest, "Bad Request: chat not found")
		return
	}
	if r.MultipartForm == nil || len(r.MultipartForm.File["document"]) == 0 {
		apiError(w, http.StatusBadRequest, "Bad Request: there is no document in the request")
		return
	}
	fh := r.MultipartForm.File["document"][0]
	f, err := fh.Open()
	if err != nil {
		apiError(w, http.StatusBadRequest, "Bad Request: can't read the document")
		return
	}
	data, err := io.ReadAll(f)
	f.Close()
	if err != nil || len(data) == 0 {
		apiError(w, http.StatusBadRequest, "Bad Request: file must be non-empty")
		return
	}
	caption := ps["caption"]
	if utf8.RuneCountInString(caption) > 1024 {
		apiError(w, http.StatusBadRequest, "Bad Request: message caption is too long")
		return
	}
	ctype := fh.Header.Get("Content-Type")
	id := s.record(SentMessage{Method: "sendDocument", ChatID: strconv.FormatInt(c.ID, 10), Text: caption,
		FileName: fh.Filename, ContentType: ctype, Data: data}, c.ID)
	sum := sha256.Sum256(data)
	fileID := fmt.Sprintf("BQACAgIAAxkDAAI%x", sum[:12])
	bot := s.bot()
	writeOK(w, tgMessage{MessageID: id, From: &bot, Chat: c, Date: time.Now().Unix(), Caption: caption,
		Document: &tgFile{FileName: fh.Filename, MimeType: ctype, FileID: fileID, FileUniqueID: fmt.Sprintf("AgAD%x", sum[:5]), FileSize: int64(len(data))}})
}

// marshal encodes JSON the way the Bot API does: UTF-8 as is, no HTML
// escaping.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}
