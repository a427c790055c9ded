package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/ingest"
	"github.com/onrecord/onrecord/internal/meta"
	"github.com/onrecord/onrecord/internal/policy"
)

// Approval is an outbound message a policy held for a supervisor
// (require_approval): sent only once someone other than its author
// approves it. Requests and decisions are records; the queue is rebuilt
// from them at start.
type Approval struct {
	ID          string           `json:"id"`
	From        string           `json:"from"`
	Message     onrecord.Event   `json:"message"`
	Decision    *policy.Decision `json:"decision"`
	RequestedAt time.Time        `json:"requested_at"`
	State       string           `json:"state"` // pending, approved, rejected
	DecidedBy   string           `json:"decided_by,omitempty"`
	// DecidedVia is the API token the decision came with (api:NAME): by
	// is what the caller says, this is what it holds.
	DecidedVia string    `json:"decided_via,omitempty"`
	Reason     string    `json:"reason,omitempty"`
	DecidedAt  time.Time `json:"decided_at,omitzero"`
}

// approvals is the queue of held messages.
type approvals struct {
	mu sync.Mutex
	m  map[string]*Approval
}

// replay takes in an approval record.
func (q *approvals) replay(subtype string, raw []byte) error {
	var a Approval
	if err := json.Unmarshal(raw, &a); err != nil {
		return fmt.Errorf("%s record: %w", subtype, err)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.m == nil {
		q.m = map[string]*Approval{}
	}
	switch subtype {
	case "approval.request":
		q.m[a.ID] = &a
	case "approval.decision":
		if p := q.m[a.ID]; p != nil {
			p.State, p.DecidedBy, p.Reason, p.DecidedAt = a.State, a.DecidedBy, a.Reason, a.DecidedAt
		}
	}
	return nil
}

func (q *approvals) pending() []Approval {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []Approval
	for _, a := range q.m {
		if a.State == "pending" {
			out = append(out, *a)
		}
	}
	slices.SortFunc(out, func(a, b Approval) int { return a.RequestedAt.Compare(b.RequestedAt) })
	return out
}

// pendingApproval answers the sender: held, not refused.
type pendingApproval struct{ a *Approval }

func (e pendingApproval) Error() string   { return "held for approval " + e.a.ID }
func (e pendingApproval) StatusCode() int { return http.StatusAccepted }
func (e pendingApproval) JSON() any {
	return map[string]any{"status": "pending_approval", "approval_id": e.a.ID, "code": policy.NeedsApproval,
		"reason": e.a.Decision.Reason(), "decision": e.a.Decision}
}

// hold records a held message and queues it.
func (g *Governance) hold(ctx context.Context, from string, msg *onrecord.Event, d *policy.Decision) error {
	a := &Approval{ID: "apr-" + meta.NewID(), From: from, Message: *msg, Decision: d, RequestedAt: time.Now().UTC(), State: "pending"}
	if err := g.recordApproval(ctx, "approval.request", a); err != nil {
		return err
	}
	g.approvals.mu.Lock()
	if g.approvals.m == nil {
		g.approvals.m = map[string]*Approval{}
	}
	g.approvals.m[a.ID] = a
	g.approvals.mu.Unlock()
	return pendingApproval{a}
}

func (g *Governance) recordApproval(ctx context.Context, subtype string, a *Approval) error {
	raw, err := json.Marshal(a)
	if err != nil {
		return err
	}
	_, err = g.archive.AppendSystem(ctx, &onrecord.Event{Kind: onrecord.KindSystem, Subtype: subtype,
		ProviderID: subtype + ":" + a.ID, Conversation: a.Message.Channel + ":" + a.Message.Conversation,
		Direction: onrecord.Outbound, Sender: onrecord.Party{ID: orDefault(a.DecidedBy, orDefault(a.From, "api"))},
		SentAt: time.Now().UTC(), Body: subtype + " " + a.ID + " " + a.State, Raw: raw, Meta: map[string]string{"approval": a.ID, "state": a.State}})
	return err
}

// decide approves or rejects a held message. The decision is recorded
// first; an approved message then takes the normal path: committed, then
// sent. The author may not approve their own message.
func (a *App) decide(ctx context.Context, id, decision, by, reason string) (int, any) {
	g := a.Governance
	if by == "" {
		return http.StatusBadRequest, map[string]string{"error": "by is required: who decides is on the record"}
	}
	if decision != "approve" && decision != "reject" {
		return http.StatusBadRequest, map[string]string{"error": `decision must be "approve" or "reject"`}
	}
	g.approvals.mu.Lock()
	ap := g.approvals.m[id]
	if ap == nil || ap.State != "pending" {
		g.approvals.mu.Unlock()
		return http.StatusNotFound, map[string]string{"error": "no pending approval " + id}
	}
	if strings.EqualFold(by, ap.From) {
		g.approvals.mu.Unlock()
		return http.StatusForbidden, map[string]string{"error": "the author of a message cannot approve it", "code": "four_eyes"}
	}
	next := *ap
	next.State, next.DecidedBy, next.Reason, next.DecidedAt = decision+"d", by, reason, time.Now().UTC()
	next.DecidedVia = ingest.Caller(ctx)
	if decision == "reject" {
		next.State = "rejected"
	}
	// Claimed under the lock, so that two approvers cannot both send it.
	ap.State = "deciding"
	g.approvals.mu.Unlock()
	if err := g.recordApproval(ctx, "approval.decision", &next); err != nil {
		g.approvals.mu.Lock()
		ap.State = "pending"
		g.approvals.mu.Unlock()
		return http.StatusServiceUnavailable, map[string]string{"error": "the decision could not be recorded: " + err.Error()}
	}
	g.approvals.mu.Lock()
	*ap = next
	g.approvals.mu.Unlock()
	if next.State == "rejected" {
		return http.StatusOK, map[string]any{"approval_id": id, "state": "rejected"}
	}
	msg := next.Message
	if msg.Meta == nil {
		msg.Meta = map[string]string{}
	}
	msg.Meta["approved_by"], msg.Meta["approval"] = by, id
	status, out := a.Gateway.SendPrepared(ctx, &msg)
	out["approval_id"], out["state"] = id, "approved"
	return status, out
}

// approvalRoutes serves the queue to holders of an API token.
func (a *App) approvalRoutes(mux *http.ServeMux, guard func(http.HandlerFunc) http.HandlerFunc) {
	mux.HandleFunc("GET /api/v1/approvals", guard(func(w http.ResponseWriter, r *http.Request) {
		writeJSONBody(w, http.StatusOK, map[string]any{"pending": a.Governance.approvals.pending()})
	}))
	mux.HandleFunc("POST /api/v1/approvals/{id}", guard(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Decision string `json:"decision"`
			By       string `json:"by"`
			Reason   string `json:"reason"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&in); err != nil {
			writeJSONError(w, http.StatusBadRequest, `body must be JSON {"decision": "approve"|"reject", "by", "reason"}`)
			return
		}
		status, out := a.decide(r.Context(), r.PathValue("id"), in.Decision, in.By, in.Reason)
		writeJSONBody(w, status, out)
	}))
}
