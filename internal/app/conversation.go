package app

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/archive"
	"github.com/onrecord/onrecord/internal/search"
)

// ConversationRecords is a conversation's records as the API and the
// command line return them; the reader rebuilds the thread from them
// (internal/thread), so every version, deletion, reaction and status is
// there as it was recorded.
type ConversationRecords struct {
	ID      string        `json:"id"`
	Channel string        `json:"channel,omitempty"`
	Records []RecordAtSeq `json:"records"`
	Viewed  string        `json:"viewed_by"`
	At      time.Time     `json:"viewed_at"`
}

// RecordAtSeq is one record with its journal position.
type RecordAtSeq struct {
	Seq   uint64          `json:"seq"`
	Event *onrecord.Event `json:"event"`
}

// Conversation returns the records of conversation id (on channel, when
// given) that match finds, and records the view (who, which conversation,
// how many records) before returning anything: a view that cannot be
// recorded shows nothing. Disposed records are left out.
func Conversation(ctx context.Context, a *archive.Archive, match func(context.Context, search.Query) ([]uint64, error), id, channel, who string) (*ConversationRecords, error) {
	// Built, not parsed: a conversation id may hold anything.
	var root search.Node = &search.Field{Name: search.FieldConversation, Value: id}
	if channel != "" {
		root = &search.And{Nodes: []search.Node{root, &search.Field{Name: search.FieldChannel, Value: channel}}}
	}
	q := search.Query{Root: root, Location: time.UTC}
	seqs, err := match(ctx, q)
	if err != nil {
		return nil, err
	}
	out := &ConversationRecords{ID: id, Channel: channel, Records: []RecordAtSeq{}, Viewed: who, At: time.Now().UTC()}
	for _, seq := range seqs {
		ev, err := a.Get(seq)
		if err != nil {
			continue // disposed: nothing to show
		}
		if ev.RawBlob != nil {
			// Readers find the payload in raw, whether or not the record
			// kept it as a blob.
			raw, err := a.Raw(ctx, ev)
			if err != nil {
				return nil, fmt.Errorf("record %d: raw payload: %w", seq, err)
			}
			ev.Raw, ev.RawBlob = raw, nil
		}
		// Where a file is stored and the key that opens it stay in the
		// record: a key handed out would outlive the record's disposal.
		// What identifies the file (name, type, size, digest) is shown.
		for i := range ev.Attachments {
			ev.Attachments[i].Blob, ev.Attachments[i].BlobKey = "", nil
		}
		out.Records = append(out.Records, RecordAtSeq{Seq: seq, Event: ev})
	}
	if _, err := a.AppendSystem(ctx, &onrecord.Event{Kind: onrecord.KindSystem, Subtype: "access.view",
		ProviderID: "view:" + out.At.Format(time.RFC3339Nano) + ":" + randHex(4), Conversation: "access", Direction: onrecord.Inbound,
		Sender: onrecord.Party{ID: who}, SentAt: out.At, Body: q.String(),
		Meta: map[string]string{"records": fmt.Sprint(len(out.Records))}}); err != nil {
		return nil, fmt.Errorf("the view could not be recorded, so nothing is shown: %w", err)
	}
	return out, nil
}

// serveConversation answers GET …/conversations/{id}[?channel=C] for who.
func (a *App) serveConversation(w http.ResponseWriter, r *http.Request, who string) {
	if who == "" {
		who = "api"
	}
	// What was acknowledged before the request is shown.
	if err := a.index.ready(r.Context()); err != nil {
		writeNotReady(w, err)
		return
	}
	match := func(ctx context.Context, q search.Query) ([]uint64, error) { return a.index.ix.Matches(ctx, q, nil) }
	res, err := Conversation(r.Context(), a.Archive, match, r.PathValue("id"), r.URL.Query().Get("channel"), who)
	switch {
	case err != nil:
		a.log.Error("conversation view failed", "err", err)
		writeJSONError(w, http.StatusInternalServerError, "conversation view failed")
	case len(res.Records) == 0:
		writeJSONError(w, http.StatusNotFound, "no records in conversation "+r.PathValue("id"))
	default:
		writeJSONBody(w, http.StatusOK, res)
	}
}
