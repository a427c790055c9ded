package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/archive"
	"github.com/onrecord/onrecord/internal/config"
	"github.com/onrecord/onrecord/internal/ingest"
	"github.com/onrecord/onrecord/internal/meta"
	"github.com/onrecord/onrecord/internal/policy"
	"github.com/onrecord/onrecord/internal/policy/starter"
)

// Governance is the directory, the contact registry and the policies, all
// recorded in the journal and rebuilt from it at start.
type Governance struct {
	Directory *meta.Directory
	Contacts  *meta.Contacts
	Policies  *policy.Engine
	Gate      *policy.Gate
	archive   *archive.Archive
	log       *slog.Logger
	approvals approvals
}

// systemRecorder writes directory and contact changes as system events.
type systemRecorder struct{ a *archive.Archive }

func (r systemRecorder) Record(ctx context.Context, c meta.Change) error {
	raw, err := json.Marshal(c)
	if err != nil {
		return err
	}
	subject := ""
	switch {
	case c.Person != nil:
		subject = c.Person.UserName
	case c.Group != nil:
		subject = c.Group.DisplayName
	case c.Contact != nil:
		subject = c.Contact.Channel + ":" + c.Contact.Address + " " + c.Contact.State
	case c.Chat != nil:
		subject = c.Chat.Channel + " group " + c.Chat.Name
	}
	ev := &onrecord.Event{Kind: onrecord.KindSystem, Subtype: "directory." + c.Op, ProviderID: "change:" + meta.NewID(),
		Conversation: "directory", Direction: onrecord.Inbound, Sender: onrecord.Party{ID: c.Actor}, SentAt: c.At,
		Body: strings.TrimSpace(c.Op + " " + subject + " " + c.Reason), Raw: raw}
	if c.Contact != nil {
		// The consent step, so that verify counts requests, answers and
		// expiries apart.
		ev.Meta = map[string]string{"state": c.Contact.State}
	}
	_, err = r.a.AppendSystem(ctx, ev)
	return err
}

// openGovernance builds the registries, replays their recorded history and
// loads the policies, recording the policy set if it changed.
func openGovernance(ctx context.Context, cfg config.Config, a *archive.Archive, log *slog.Logger) (*Governance, error) {
	rec := systemRecorder{a}
	ttl, _ := time.ParseDuration(cfg.ConsentTTL)
	// Without roles nobody's entitlements are defined, so a change to a
	// person does not take them out of chat groups; leaving does.
	var entitled func(onrecord.Person, string) bool
	var gate *policy.Gate
	if len(cfg.Roles) > 0 {
		entitled = func(p onrecord.Person, channel string) bool { return gate.Entitled(p, channel) == nil }
	}
	g := &Governance{
		Directory: meta.New(meta.Options{Recorder: rec, FallbackAdminRole: cfg.FallbackAdminRole, Entitled: entitled}),
		Contacts:  meta.NewContacts(meta.ContactOptions{Recorder: rec, Org: cfg.Organisation, TTL: ttl}),
		archive:   a,
		log:       log,
	}
	lastPolicy := ""
	err := a.ReplaySystem(func(seq uint64, ev *onrecord.Event) error {
		switch {
		case strings.HasPrefix(ev.Subtype, "directory."):
			var c meta.Change
			if err := json.Unmarshal(ev.Raw, &c); err != nil {
				return fmt.Errorf("directory change in record %d: %w", seq, err)
			}
			if c.Contact != nil {
				g.Contacts.ReplayContact(*c.Contact)
			} else {
				g.Directory.Replay(c)
			}
		case ev.Subtype == "policy.set":
			lastPolicy = ev.Meta["version"]
		case strings.HasPrefix(ev.Subtype, "approval."):
			if err := g.approvals.replay(ev.Subtype, ev.Raw); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if cfg.PolicyDir == "" {
		set, err := policy.Compile(starter.Files())
		if err != nil {
			return nil, fmt.Errorf("starter policies: %w", err)
		}
		g.Policies = policy.NewStaticEngine(set)
	} else if g.Policies, err = policy.NewEngine(cfg.PolicyDir); err != nil {
		return nil, fmt.Errorf("policy_dir: %w", err)
	}
	if v := g.Policies.Active().Version; v != lastPolicy {
		if err := g.recordPolicy(ctx, g.Policies.Active()); err != nil {
			return nil, err
		}
	}
	var roles []policy.Role
	for _, r := range cfg.Roles {
		roles = append(roles, policy.Role{Name: r.Name, Channels: r.Channels, CreateGroups: r.CreateGroups})
	}
	gate = &policy.Gate{People: g.Directory, Contacts: g.Contacts, Policies: g.Policies, Roles: roles, Staff: g.Directory.ByIdentity}
	g.Gate = gate
	return g, nil
}

// recordPolicy records a policy set with the full text of every file.
func (g *Governance) recordPolicy(ctx context.Context, s *policy.Set) error {
	raw, err := json.Marshal(s.Files)
	if err != nil {
		return err
	}
	var names []string
	for _, f := range s.Files {
		names = append(names, f.Name)
	}
	ev := &onrecord.Event{Kind: onrecord.KindSystem, Subtype: "policy.set", ProviderID: "policy:" + s.Version,
		Conversation: "policies", Direction: onrecord.Inbound, Sender: onrecord.Party{ID: "onrecord"}, SentAt: time.Now().UTC(),
		Body: "policy set " + s.Version + ": " + strings.Join(names, ", "), Raw: raw, Meta: map[string]string{"version": s.Version}}
	_, err = g.archive.AppendSystem(ctx, ev)
	return err
}

// run watches policy_dir and expires consent requests until ctx ends.
func (g *Governance) run(ctx context.Context) {
	go g.Policies.Watch(ctx, 2*time.Second, func(s *policy.Set) {
		if err := g.recordPolicy(ctx, s); err != nil {
			g.log.Error("policy change not recorded", "version", s.Version, "err", err)
			return
		}
		g.log.Info("policies reloaded", "version", s.Version, "rules", len(s.Rules()))
	}, func(err error) {
		g.log.Error("ALERT policy files refused; the previous policies stay in force", "err", err)
	})
	go func() {
		t := time.NewTicker(time.Minute)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if n, err := g.Contacts.Expire(ctx); err != nil {
					g.log.Error("consent expiry not recorded", "err", err)
				} else if n > 0 {
					g.log.Info("consent requests expired", "count", n)
				}
			}
		}
	}()
}

// refusal is a gate refusal as the API answers it.
type refusal struct{ r *policy.Refusal }

func (e refusal) Error() string   { return e.r.Error() }
func (e refusal) StatusCode() int { return http.StatusForbidden }
func (e refusal) JSON() any {
	return map[string]any{"error": "not sent: " + e.r.Message, "code": e.r.Code, "decision": e.r.Decision}
}

// outbound is the gateway's hook for POST /api/v1/messages. With roles
// configured, the sender must be an entitled employee and the recipient a
// consented contact; the policies apply either way. Every decision that
// is not a plain allow is recorded, with the attempted message.
func (g *Governance) outbound(enforce bool) func(ctx context.Context, from string, msg *onrecord.Event) (string, error) {
	return func(ctx context.Context, from string, msg *onrecord.Event) (string, error) {
		var d *policy.Decision
		var err error
		switch {
		case enforce || from != "":
			p, ok := g.Directory.Find(from)
			if !ok {
				err = &policy.Refusal{Code: policy.NotInDirectory, Message: fmt.Sprintf("from %q is not an employee in the directory", from)}
				break
			}
			for _, id := range p.Identities {
				if id.Channel == msg.Channel {
					msg.Sender = onrecord.Party{ID: id.Address, Name: p.Name()}
				}
			}
			if _, r := g.groupSend(p, msg); r != nil {
				err = r
				break
			}
			d, err = g.Gate.CheckSend(ctx, p.ID, msg)
		default:
			d, err = g.Policies.Evaluate(ctx, policy.Input{Event: msg})
			if err == nil && (d.Action == policy.Block || d.Action == policy.RequireApproval) {
				code := policy.PolicyBlocked
				if d.Action == policy.RequireApproval {
					code = policy.NeedsApproval
				}
				err = &policy.Refusal{Code: code, Message: d.Reason(), Decision: d}
			}
		}
		var r *policy.Refusal
		if errors.As(err, &r) {
			if rerr := g.recordDecision(ctx, from, msg, d, r); rerr != nil {
				return "", rerr
			}
			if r.Code == policy.NeedsApproval && d != nil {
				return "", g.hold(ctx, from, msg, d) // held for a supervisor, not refused
			}
			return "", refusal{r}
		}
		if err != nil {
			return "", err
		}
		if d != nil && d.Action != policy.Allow {
			if rerr := g.recordDecision(ctx, from, msg, d, nil); rerr != nil {
				return "", rerr
			}
			msg.Meta = map[string]string{"policy_action": string(d.Action), "policy_version": d.Version}
		}
		if d != nil && d.Action == policy.Redact {
			return d.Redacted, nil
		}
		return msg.Body, nil
	}
}

// recordDecision records a policy or gate decision on an outbound message,
// with the attempted message sealed alongside.
func (g *Governance) recordDecision(ctx context.Context, from string, msg *onrecord.Event, d *policy.Decision, r *policy.Refusal) error {
	action, reason := "", ""
	if d != nil {
		action, reason = string(d.Action), d.Reason()
	}
	if r != nil {
		action, reason = "refused:"+r.Code, r.Message
	}
	raw, err := json.Marshal(map[string]any{"decision": d, "refusal": r, "attempted": msg})
	if err != nil {
		return err
	}
	ev := &onrecord.Event{Kind: onrecord.KindSystem, Subtype: "policy.decision", ProviderID: "decision:" + meta.NewID(),
		Conversation: msg.Channel + ":" + msg.Conversation, Direction: onrecord.Outbound, Sender: onrecord.Party{ID: orDefault(from, "api")},
		SentAt: time.Now().UTC(), Body: action + ": " + reason, Raw: raw, Meta: map[string]string{"action": action}}
	_, err = g.archive.AppendSystem(ctx, ev)
	return err
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// consentSender sends consent requests through the gateway's channels.
type consentSender struct{ g *ingest.Gateway }

func (s consentSender) SendConsent(ctx context.Context, channel, to, text string) error {
	return s.g.SendText(ctx, channel, to, text)
}

// committed reads consent answers from inbound messages once they are on
// the record. Only a one-to-one message answers: the request went to the
// contact alone, and a "yes" in a group is about something else. The
// message answers the pending request of the first of its sender's
// addresses that has one (answerAddresses), with the first of its text and
// button payloads that is an accept or decline keyword.
func (g *Governance) committed(ctx context.Context, ev *onrecord.Event) {
	if ev.Kind != onrecord.KindMessage || ev.Direction != onrecord.Inbound || ev.Group {
		return
	}
	// A tapped button's title arrives as the text; the payload the
	// organisation gave it ("ACCEPT") answers when the title is no keyword
	// ("Yes, I agree"). WhatsApp template buttons, WhatsApp interactive
	// replies and Twilio's WhatsApp buttons carry it under these keys.
	replies := []string{ev.Body}
	for _, k := range []string{"button_payload", "reply_id", "ButtonPayload"} {
		if v := ev.Meta[k]; v != "" {
			replies = append(replies, v)
		}
	}
	for _, addr := range answerAddresses(ev) {
		for _, reply := range replies {
			ct, ok, err := g.Contacts.Answer(ctx, ev.Channel, addr, reply)
			if err != nil {
				g.log.Error("consent answer not recorded", "channel", ev.Channel, "err", err)
				return
			}
			if ok {
				g.log.Info("consent answered", "channel", ev.Channel, "state", ct.State)
				return
			}
		}
	}
}

// answerAddresses lists the forms of an inbound message's sender that an
// employee may have added them under. A contact's address is where its
// messages go, so an answer counts only from that same address, in
// whichever form the provider names it:
//   - the sender id, on every channel;
//   - Twilio keeps From as sent ("whatsapp:+14155550123") while the sender
//     id is the bare number: that prefixed form is the only one, since a
//     number's WhatsApp and SMS addresses are different contacts and an
//     answer on one does not consent to the other;
//   - Signal names a sender by uuid when it has one and keeps the number
//     in source_number: people are added by number;
//   - Slack takes a DM's channel id ("D...") as an address as well as the
//     user id, and a one-to-one conversation's id names only the person.
func answerAddresses(ev *onrecord.Event) []string {
	if from := ev.Meta["From"]; from != ev.Sender.ID && strings.HasSuffix(from, ":"+ev.Sender.ID) {
		return []string{from}
	}
	out := []string{ev.Sender.ID}
	if n := ev.Meta["source_number"]; n != "" && n != ev.Sender.ID {
		out = append(out, n)
	}
	if c := ev.Conversation; c != "" && c != ev.Sender.ID {
		out = append(out, c)
	}
	return out
}

// addContact is POST /api/v1/contacts: an employee adds an external
// contact, which sends the one-time notice and consent request.
func (a *App) addContact(w http.ResponseWriter, r *http.Request) {
	writeJSON := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(v)
	}
	var in struct {
		From     string `json:"from"`
		Channel  string `json:"channel"`
		Address  string `json:"address"`
		Name     string `json:"name"`
		Language string `json:"language"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&in); err != nil {
		writeJSON(http.StatusBadRequest, map[string]string{"error": "body must be JSON {from, channel, address, name, language}"})
		return
	}
	by, found := a.Governance.Directory.Find(in.From)
	if !found || !by.Active {
		writeJSON(http.StatusForbidden, map[string]string{"error": "from must be an active employee in the directory", "code": policy.NotInDirectory})
		return
	}
	if r := a.Governance.Gate.Entitled(by, in.Channel); r != nil && len(a.Config.Roles) > 0 {
		writeJSON(http.StatusForbidden, map[string]string{"error": r.Message, "code": r.Code})
		return
	}
	ct, err := a.Governance.Contacts.Add(r.Context(), by, in.Channel, in.Address, in.Name, in.Language)
	switch {
	case onrecord.ErrorCode(err) == onrecord.EFORBIDDEN || onrecord.ErrorCode(err) == onrecord.EINVALID:
		writeJSON(http.StatusConflict, map[string]any{"error": err.Error(), "contact": ct})
	case err != nil && ct.ID == "":
		writeJSON(http.StatusServiceUnavailable, map[string]string{"error": err.Error()})
	case err != nil:
		writeJSON(http.StatusAccepted, map[string]any{"warning": err.Error(), "contact": ct})
	default:
		writeJSON(http.StatusCreated, map[string]any{"contact": ct})
	}
}
