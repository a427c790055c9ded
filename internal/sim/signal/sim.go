// Package signalsim simulates signal-cli's HTTP daemon (`signal-cli daemon
// --http`) and signal-cli-rest-api's receive webhook, for tests and
// `onrecord demo`: the JSON-RPC endpoint POST /api/v1/rpc (getAttachment,
// send), the server-sent-event stream GET /api/v1/events, and pushed
// deliveries in the body forms signal-cli-rest-api posts. Envelopes follow
// signal-cli's Json*.java records field for field; people and content are
// a bank's relationship managers and their clients.
//
// Like the real daemon, the event stream hands each notification out once:
// a reconnecting client gets what is still queued, not a replay.
package signalsim

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/onrecord/onrecord/internal/connector"
	"github.com/onrecord/onrecord/internal/sim"
)

// Options configure the simulated account.
type Options struct {
	// Account is the signal-cli account's number (default +15550100).
	Account string
	// AccountUUID is its ACI (default a fixed uuid).
	AccountUUID string
	// AccountName is its profile name (default "Dana Whitfield").
	AccountName string
	// PushToken, when set, is put in pushed deliveries' URLs as ?token=,
	// the only place signal-cli-rest-api's RECEIVE_WEBHOOK_URL can carry it.
	PushToken string
	// StreamSeed and StreamCount choose the workload the event stream
	// serves (default seed 1, 25 notifications; a negative count: none).
	StreamSeed  int64
	StreamCount int
	// KeepAlive is how often an idle stream gets a ":" comment, as
	// signal-cli does every 15 s (the default).
	KeepAlive time.Duration
}

// SentMessage is one JSON-RPC send the simulator accepted.
type SentMessage struct {
	Account     string
	Recipients  []string
	GroupID     string
	Message     string
	Attachments []string
	Timestamp   int64
}

// Sim is a simulated signal-cli daemon.
type Sim struct {
	opts Options

	mu          sync.Mutex
	base        string
	sent        []SentMessage
	attachments map[string]string // id → content type
	queue       [][]byte
	queued      bool
	changed     chan struct{}
	lastTS      int64
}

// New returns a simulator with opts' defaults filled in.
func New(opts Options) *Sim {
	if opts.Account == "" {
		opts.Account = "+15550100"
	}
	if opts.AccountUUID == "" {
		opts.AccountUUID = "5f3c9a1e-2b7d-4c8e-9f10-6a2b3c4d5e01"
	}
	if opts.AccountName == "" {
		opts.AccountName = "Dana Whitfield"
	}
	if opts.StreamSeed == 0 {
		opts.StreamSeed = 1
	}
	if opts.StreamCount == 0 {
		opts.StreamCount = 25
	}
	if opts.KeepAlive <= 0 {
		opts.KeepAlive = 15 * time.Second
	}
	return &Sim{opts: opts, attachments: map[string]string{}, changed: make(chan struct{})}
}

// SetBaseURL tells the simulator where it is served.
func (s *Sim) SetBaseURL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.base = strings.TrimRight(u, "/")
}

// Account is the simulated account's number.
func (s *Sim) Account() string { return s.opts.Account }

// AccountUUID is the simulated account's ACI.
func (s *Sim) AccountUUID() string { return s.opts.AccountUUID }

// Sent returns what was sent through the JSON-RPC send method, in order.
func (s *Sim) Sent() []SentMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]SentMessage, len(s.sent))
	copy(out, s.sent)
	return out
}

// ChannelConfig returns a Config for a gateway channel wired to this
// simulator: its base URL as rpc_url (and api_base_url), its account and
// push token. hookBase is not needed: signal-cli signs nothing with it.
func (s *Sim) ChannelConfig(name, hookBase string) connector.Config {
	s.mu.Lock()
	base := s.base
	s.mu.Unlock()
	return connector.Config{
		Name: name, Type: "signal", APIBaseURL: base, RPCURL: base, PublicURL: hookBase,
		Account: s.opts.Account, PushToken: s.opts.PushToken,
	}
}

// Notify queues a notification payload ({envelope, account} JSON) for the
// event stream, as signal-cli does when it decrypts an envelope.
func (s *Sim) Notify(payload []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fillQueue()
	s.queue = append(s.queue, payload)
	close(s.changed)
	s.changed = make(chan struct{})
}

// Handler serves the daemon's HTTP API.
func (s *Sim) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/api/v1/rpc", s.serveRPC)
	mux.HandleFunc("/api/v1/events", s.serveEvents)
	mux.HandleFunc("GET /api/v1/check", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	return mux
}

// fillQueue puts the stream workload in the queue once. Called with mu
// held.
func (s *Sim) fillQueue() {
	if s.queued {
		return
	}
	s.queued = true
	if s.opts.StreamCount < 0 {
		return
	}
	for _, it := range s.items(s.opts.StreamSeed, s.opts.StreamCount) {
		s.queue = append(s.queue, marshal(it.p))
	}
}

// next pops the next queued notification, or returns the channel that
// closes when one arrives.
func (s *Sim) next() ([]byte, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fillQueue()
	if len(s.queue) == 0 {
		return nil, s.changed
	}
	b := s.queue[0]
	s.queue = s.queue[1:]
	return b, nil
}

func (s *Sim) serveEvents(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/api/v1/events" {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	if a := r.URL.Query().Get("account"); a != "" && a != s.opts.Account {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	fl, _ := w.(http.Flusher)
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	if fl != nil {
		fl.Flush()
	}
	tick := time.NewTicker(s.opts.KeepAlive)
	defer tick.Stop()
	for {
		b, wait := s.next()
		if b != nil {
			// signal-cli's ServerSentEventSender: "event:receive", one data line.
			if _, err := w.Write([]byte("event:receive\ndata:" + string(b) + "\n\n")); err != nil {
				return
			}
			if fl != nil {
				fl.Flush()
			}
			continue
		}
		select {
		case <-r.Context().Done():
			return
		case <-wait:
		case <-tick.C:
			if _, err := w.Write([]byte(":\n")); err != nil {
				return
			}
			if fl != nil {
				fl.Flush()
			}
		}
	}
}

type rpcRequest struct {
	JSONRPC string          `json:"jsonrpc"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params"`
	ID      json.RawMessage `json:"id"`
}

type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    any    `json:"data"`
}

func (s *Sim) serveRPC(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		w.WriteHeader(http.StatusUnsupportedMediaType)
		return
	}
	var req rpcRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<20)).Decode(&req); err != nil {
		writeRPC(w, nil, nil, &rpcError{Code: -32700, Message: "Parse error"})
		return
	}
	if req.Method == "" {
		writeRPC(w, req.ID, nil, &rpcError{Code: -32600, Message: "method field must be set"})
		return
	}
	var params struct {
		Account     string          `json:"account"`
		ID          string          `json:"id"`
		Recipient   json.RawMessage `json:"recipient"`
		GroupID     string          `json:"groupId"`
		Message     string          `json:"message"`
		Attachments json.RawMessage `json:"attachments"`
		Attachment  json.RawMessage `json:"attachment"`
	}
	if len(req.Params) > 0 {
		if err := json.Unmarshal(req.Params, &params); err != nil {
			writeRPC(w, req.ID, nil, &rpcError{Code: -32602, Message: "Invalid params"})
			return
		}
	}
	if params.Account != "" && params.Account != s.opts.Account {
		writeRPC(w, req.ID, nil, &rpcError{Code: -32602, Message: "Specified account does not exist"})
		return
	}
	switch req.Method {
	case "getAttachment":
		s.mu.Lock()
		ct, ok := s.attachments[params.ID]
		s.mu.Unlock()
		if !ok {
			writeRPC(w, req.ID, nil, &rpcError{Code: -3, Message: "An error occurred reading attachment: " + params.ID})
			return
		}
		writeRPC(w, req.ID, map[string]string{"data": base64.StdEncoding.EncodeToString(AttachmentBytes(params.ID, ct))}, nil)
	case "send":
		recipients := stringList(params.Recipient)
		if len(recipients) == 0 && params.GroupID == "" {
			writeRPC(w, req.ID, nil, &rpcError{Code: -1, Message: "No recipients given"})
			return
		}
		msg := SentMessage{Account: s.opts.Account, Recipients: recipients, GroupID: params.GroupID, Message: params.Message,
			Attachments: append(stringList(params.Attachments), stringList(params.Attachment)...)}
		s.mu.Lock()
		msg.Timestamp = s.stamp()
		s.sent = append(s.sent, msg)
		s.mu.Unlock()
		type addr struct {
			UUID   *string `json:"uuid"`
			Number *string `json:"number"`
		}
		type result struct {
			RecipientAddress addr   `json:"recipientAddress"`
			Type             string `json:"type"`
		}
		var results []result
		for _, rc := range recipients {
			a := addr{}
			if strings.HasPrefix(rc, "+") {
				a.Number = &rc
				if p, ok := byNumber(rc); ok {
					a.UUID = &p.UUID
				}
			} else {
				a.UUID = &rc
			}
			results = append(results, result{RecipientAddress: a, Type: "SUCCESS"})
		}
		if params.GroupID != "" {
			for _, p := range groupMembers(params.GroupID) {
				results = append(results, result{RecipientAddress: addr{UUID: strp(p.UUID), Number: strp(p.Number)}, Type: "SUCCESS"})
			}
		}
		writeRPC(w, req.ID, map[string]any{"timestamp": msg.Timestamp, "results": results}, nil)
	default:
		writeRPC(w, req.ID, nil, &rpcError{Code: -32601, Message: "Method not implemented"})
	}
}

// stamp returns a fresh sent timestamp, strictly increasing. Called with
// mu held.
func (s *Sim) stamp() int64 {
	ts := time.Now().UnixMilli()
	if ts <= s.lastTS {
		ts = s.lastTS + 1
	}
	s.lastTS = ts
	return ts
}

func writeRPC(w http.ResponseWriter, id json.RawMessage, result any, e *rpcError) {
	resp := map[string]any{"jsonrpc": "2.0", "id": id}
	if e != nil {
		resp["error"] = e
	} else {
		resp["result"] = result
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(resp)
}

// stringList reads a JSON-RPC parameter that, like signal-cli's, may be a
// single value or a list.
func stringList(raw json.RawMessage) []string {
	if len(raw) == 0 {
		return nil
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		if one == "" {
			return nil
		}
		return []string{one}
	}
	var many []string
	json.Unmarshal(raw, &many)
	return many
}

// AttachmentBytes is the deterministic content the simulator serves for an
// attachment id: the format's magic bytes, then bytes derived from the id.
func AttachmentBytes(id, contentType string) []byte {
	var out []byte
	switch contentType {
	case "image/jpeg":
		out = []byte{0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0x00}
	case "image/png":
		out = []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'}
	case "application/pdf":
		out = []byte("%PDF-1.7\n")
	}
	h := sha256.Sum256([]byte(id))
	for len(out) < 2048 {
		out = append(out, h[:]...)
		h = sha256.Sum256(h[:])
	}
	return out
}

// marshal encodes as signal-cli's Jackson does: UTF-8 as is, no HTML
// escaping, one line.
func marshal(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Only the simulator's own types are encoded; they always encode.
		return nil
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// hookURL adds the push token to a webhook URL as ?token=.
func (s *Sim) hookURL(hook string) string {
	if s.opts.PushToken == "" {
		return hook
	}
	u, err := url.Parse(hook)
	if err != nil {
		return hook
	}
	q := u.Query()
	q.Set("token", s.opts.PushToken)
	u.RawQuery = q.Encode()
	return u.String()
}

// delivery wraps a payload as signal-cli-rest-api would push it, in one of
// the body forms.
func (s *Sim) delivery(hook, kind string, p *payload, form int) sim.Delivery {
	var body any
	switch form {
	case formJSONRPC:
		body = notification{JSONRPC: "2.0", Method: "receive", Params: p}
	case formSubscription:
		body = notification{JSONRPC: "2.0", Method: "receive", Params: subscriptionParams{Subscription: 0, Result: p}}
	default:
		body = p
	}
	b := marshal(body)
	return sim.Delivery{
		Kind: kind, Method: http.MethodPost, URL: s.hookURL(hook),
		Header: http.Header{"Content-Type": {"application/json"}}, Body: b,
	}
}

// Body forms of a pushed delivery.
const (
	formJSONRPC      = iota // {"jsonrpc":"2.0","method":"receive","params":{envelope,account}}: what signal-cli-rest-api posts
	formPayload             // {envelope, account}
	formSubscription        // params {subscription, result:{envelope, account}}: --receive-mode=manual
)
