package ingest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/connector"
)

// RegisterAPI adds the gateway's API routes to mux, behind the tokens.
func (g *Gateway) RegisterAPI(mux *http.ServeMux, tokens *Tokens) {
	mux.HandleFunc("GET /api/v1/channels", tokens.Require(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"channels": g.Channels()})
	}))
	mux.HandleFunc("POST /api/v1/messages", tokens.Require(g.sendMessage))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// OutboundRequest is the body of POST /api/v1/messages.
type OutboundRequest struct {
	// From names the employee sending (directory id or user name); required
	// when roles are configured, since governance needs to know who sends.
	From        string                `json:"from,omitempty"`
	Channel     string                `json:"channel"`
	To          string                `json:"to"`
	Body        string                `json:"body"`
	Attachments []onrecord.Attachment `json:"attachments,omitempty"`
}

// sendMessage commits the outbound message first, then sends it through
// the provider, then records the provider's id (or the failure) as a status
// linked to it: what the organisation said is on the record even if the
// provider never receives it.
func (g *Gateway) sendMessage(w http.ResponseWriter, r *http.Request) {
	var in OutboundRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, g.opts.MaxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "body must be JSON {channel, to, body, attachments}: " + err.Error()})
		return
	}
	ch := g.channel(in.Channel)
	if ch == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no channel named " + in.Channel})
		return
	}
	if strings.TrimSpace(in.To) == "" || (in.Body == "" && len(in.Attachments) == 0) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "to and body (or attachments) are required"})
		return
	}
	var idb [12]byte
	rand.Read(idb[:])
	localID := "onrecord:" + hex.EncodeToString(idb[:])
	now := g.opts.Now().UTC()
	account := ch.Config.Account
	if account == "" {
		account = ch.Config.Name
	}
	msg := onrecord.Event{
		Channel: ch.Config.Name, Kind: onrecord.KindMessage, ProviderID: localID, Conversation: in.To,
		Direction: onrecord.Outbound, Sender: onrecord.Party{ID: account}, Recipients: []onrecord.Party{{ID: in.To}},
		SentAt: now, Body: in.Body, Attachments: in.Attachments, Subtype: "api", RetentionClass: ch.Retention,
		// Which API client asked for it, beside who it is from.
		Meta: map[string]string{"submitted_by": Caller(r.Context())},
	}
	if g.opts.Outbound != nil {
		body, err := g.opts.Outbound(r.Context(), in.From, &msg)
		if err != nil {
			var refusal interface {
				StatusCode() int
				JSON() any
			}
			if errors.As(err, &refusal) {
				writeJSON(w, refusal.StatusCode(), refusal.JSON())
				return
			}
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "not sent: " + err.Error()})
			return
		}
		msg.Body = body
	}
	status, out := g.commitAndSend(r.Context(), ch, &msg)
	writeJSON(w, status, out)
}

// SendPrepared commits and sends a message the outbound hook already
// decided on and held (an approved message): the same path as a message
// sent at once. It returns the HTTP status and body the API answers with.
func (g *Gateway) SendPrepared(ctx context.Context, msg *onrecord.Event) (int, map[string]any) {
	ch := g.channel(msg.Channel)
	if ch == nil {
		return http.StatusNotFound, map[string]any{"error": "no channel named " + msg.Channel}
	}
	return g.commitAndSend(ctx, ch, msg)
}

// commitAndSend records the message, then sends it through the provider,
// then records the provider's answer as a status linked to it: a message
// that could not be recorded is never sent.
func (g *Gateway) commitAndSend(ctx context.Context, ch *channel, msg *onrecord.Event) (int, map[string]any) {
	localID, now, to := msg.ProviderID, msg.SentAt, msg.Conversation
	res, err := g.opts.Archive.Append(ctx, msg)
	if err != nil {
		status := http.StatusServiceUnavailable
		if onrecord.ErrorCode(err) == onrecord.EINVALID {
			status = http.StatusBadRequest
		}
		return status, map[string]any{"error": "not sent: the message could not be recorded: " + err.Error()}
	}
	pid, sendErr := ch.connector().Send(ctx, ch.Client, connector.Outbound{To: to, Body: msg.Body, Attachments: msg.Attachments, Group: msg.Group})
	st := onrecord.Event{
		Channel: ch.Config.Name, Kind: onrecord.KindStatus, ProviderID: localID + ":sent", Conversation: to,
		Direction: onrecord.Outbound, Sender: msg.Sender, SentAt: g.opts.Now().UTC(),
		Target: localID, Status: "sent", RetentionClass: ch.Retention, Meta: map[string]string{"provider_message_id": pid},
	}
	if sendErr != nil {
		st.ProviderID, st.Status, st.StatusError = localID+":failed", "failed", truncate(sendErr.Error(), 300)
		st.Meta = nil
	}
	_, stErr := g.opts.Archive.Append(ctx, &st)
	out := map[string]any{"id": localID, "seq": res.Seq, "sent_at": now.Format(time.RFC3339Nano)}
	switch {
	case sendErr != nil:
		out["error"] = "recorded but the provider refused it: " + sendErr.Error()
		return http.StatusBadGateway, out
	case stErr != nil:
		out["provider_message_id"] = pid
		out["error"] = "sent, but its provider id could not be recorded: " + stErr.Error()
		return http.StatusAccepted, out
	default:
		out["provider_message_id"] = pid
		return http.StatusCreated, out
	}
}

// SendText sends a text through a channel's provider API, outside the
// message API: the consent request to a new contact, which the contact
// registry records itself.
func (g *Gateway) SendText(ctx context.Context, channel, to, body string) error {
	ch := g.channel(channel)
	if ch == nil {
		return onrecord.Errorf(onrecord.ENOTFOUND, "no channel named %s", channel)
	}
	_, err := ch.connector().Send(ctx, ch.Client, connector.Outbound{To: to, Body: body})
	return err
}
