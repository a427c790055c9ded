package app

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/config"
	"github.com/onrecord/onrecord/internal/meta"
	"github.com/onrecord/onrecord/internal/sim"
	"github.com/onrecord/onrecord/internal/sim/fleet"
)

// TestConsent_EndToEndOnEveryChannel runs the consent flow through the
// simulator of every channel that can send: nothing goes to an unknown
// contact; adding contacts sends each the notice through the provider;
// nothing goes to a contact before they accept; a YES (typed, or a tapped
// button where the provider has them) accepts, a NO declines, silence
// expires and a late YES does not revive; a contact asked again after
// expiry can accept; inbound messages from people who have not accepted
// are still captured and flagged; and every step is on the record.
//
// Contacts are added in the form a user of each channel would type, which
// is not always the form the connector names the sender by: a Signal
// number (the sender is named by uuid), a Twilio "whatsapp:" address (the
// sender is the bare number) and a Slack DM channel id (the sender is the
// user id). Each must still match its answer.
func TestConsent_EndToEndOnEveryChannel(t *testing.T) {
	f, srv, cfg := fleetConfig(t, fleet.Options{SignalStreamCount: -1})
	public := cfg.PublicURL
	cfg.APITokens = []string{testAPIToken}
	cfg.Organisation = "Harbor & Finch"
	cfg.Roles = []config.Role{{Name: "advisor", Channels: fleet.Names}}
	a := serveTestApp(t, srv, cfg)
	// Maria's business identities: the numbers and bots each channel sends from.
	if _, err := a.Governance.Directory.PutPerson(t.Context(), "test", onrecord.Person{UserName: "maria", DisplayName: "Maria Chen",
		Role: "advisor", Active: true, Identities: []onrecord.Identity{
			{Channel: fleet.WhatsApp, Address: f.WhatsApp.Options().DisplayPhoneNumber},
			{Channel: fleet.SMS, Address: "+12125550100"},
			{Channel: fleet.Telegram, Address: "7012345678"},
			{Channel: fleet.Slack, Address: "U0ONRECBOT"},
			{Channel: fleet.Signal, Address: f.Signal.Account()},
		}}); err != nil {
		t.Fatal(err)
	}
	api := func(t *testing.T, path, body string) (int, string) {
		t.Helper()
		return apiDo(t, public, testAPIToken, "POST", path, body)
	}
	deliver := func(t *testing.T, d sim.Delivery) {
		t.Helper()
		code, body, err := d.Send(t.Context(), http.DefaultClient)
		if err != nil || code != http.StatusOK {
			t.Fatalf("%s webhook: %d %s %v", d.Kind, code, body, err)
		}
	}

	tests := []struct {
		channel string
		// unknown is never added; a accepts, b declines, c never answers.
		// They are addresses as an employee types them in "to".
		unknown, a, b, c string
		// sentTo is the recipient as the simulator records a send to addr.
		sentTo func(addr string) string
		// button, if the provider has reply buttons, is a tap that
		// accepts: a title that is no keyword, with an ACCEPT payload.
		button func(hook, from string) sim.Delivery
		// elsewhere is a YES from the same person in another address form
		// that must not answer b's request (the empty string: none).
		elsewhere string
	}{
		{channel: fleet.WhatsApp, unknown: "4915112340001", a: "4915112340002", b: "4915112340003", c: "4915112340004",
			button: func(hook, from string) sim.Delivery {
				return f.WhatsApp.ButtonReply(hook, from, "Yes, I agree", "ACCEPT")
			}},
		// Twilio: a is on WhatsApp through Twilio, b and c on SMS. The same
		// number's WhatsApp address is a different contact from its SMS one.
		{channel: fleet.SMS, unknown: "+4915112340001", a: "whatsapp:+4915112340002", b: "+4915112340003", c: "+4915112340004",
			button: func(hook, from string) sim.Delivery {
				return f.Twilio.ButtonReply(hook, from, "Yes, I agree", "ACCEPT")
			},
			elsewhere: "whatsapp:+4915112340003"},
		{channel: fleet.Telegram, unknown: "6033000001", a: "6033000002", b: "6033000003", c: "6033000004"},
		// Slack: b is added by the DM's channel id, the others by user id;
		// the app's DM with a user is where postMessage to the user lands.
		{channel: fleet.Slack, unknown: "U0EXT00001", a: "U0EXT00002", b: "D0EXT00003", c: "U0EXT00004",
			sentTo: func(addr string) string { return "D" + addr[1:] }},
		// Signal: a, b and c are added by number and answer from envelopes
		// that name them by uuid first; a second person hides their
		// number, so only their uuid is known.
		{channel: fleet.Signal, unknown: "+4915112340001", a: "+4915112340002", b: "+4915112340003", c: "9c6b1e2a-4d3f-4a8b-9e7c-0f1a2b3c4d55"},
	}
	for _, tt := range tests {
		t.Run(tt.channel, func(t *testing.T) {
			ch := tt.channel
			hook := fleet.HookURL(public, ch)
			sentTo := func(addr string) string {
				if tt.sentTo != nil {
					return tt.sentTo(addr)
				}
				return addr
			}
			send := func(to string) (int, string) {
				return api(t, "/api/v1/messages", `{"from":"maria","channel":"`+ch+`","to":"`+to+`","body":"The transfer settled this morning."}`)
			}
			refused := func(to, code, why string) {
				t.Helper()
				before := len(f.Sent(ch))
				status, body := send(to)
				if status != http.StatusForbidden || !strings.Contains(body, code) || !strings.Contains(body, why) {
					t.Fatalf("send to %s: %d %s, want 403 %s (%s)", to, status, body, code, why)
				}
				if n := len(f.Sent(ch)); n != before {
					t.Fatalf("a refused message reached the provider: %+v", f.Sent(ch)[before:])
				}
			}
			state := func(addr string) string {
				s, _ := a.Governance.Contacts.ConsentState(ch, addr)
				return s
			}
			add := func(addr string) {
				t.Helper()
				before := len(f.Sent(ch))
				if code, body := api(t, "/api/v1/contacts", `{"from":"maria","channel":"`+ch+`","address":"`+addr+`","name":"Client"}`); code != http.StatusCreated {
					t.Fatalf("add contact %s: %d %s", addr, code, body)
				}
				sent := f.Sent(ch)
				if len(sent) != before+1 || sent[before].To != sentTo(addr) || !strings.Contains(sent[before].Text, "Harbor & Finch: Maria Chen would like") {
					t.Fatalf("consent notice to %s through the provider: %+v", addr, sent[before:])
				}
			}

			// Nothing goes to someone nobody added; what they write is kept.
			refused(tt.unknown, "contact_not_approved", "not an approved contact")
			deliver(t, f.Text(public, ch, tt.unknown, "Hello, who is this?"))
			if ev := lastInbound(t, a, ch, "Hello, who is this?"); !hasFlag(ev, onrecord.FlagUnknownContact) {
				t.Errorf("message from an unknown contact not flagged: %+v", ev.Capture)
			}

			for _, addr := range []string{tt.a, tt.b, tt.c} {
				add(addr)
			}
			refused(tt.a, "contact_not_consented", "pending")
			// A message that is no answer leaves the request pending, and
			// is kept and flagged like any other.
			deliver(t, f.Text(public, ch, tt.a, "Who is Maria?"))
			if st := state(tt.a); st != meta.ConsentPending {
				t.Fatalf("a question answered the request: %s", st)
			}
			// Flagged as a contact who has not accepted, whatever form the
			// contact was added in (Signal number, Twilio "whatsapp:").
			if ev := lastInbound(t, a, ch, "Who is Maria?"); !hasFlag(ev, onrecord.FlagUnconsentedContact) {
				t.Errorf("message from a contact who has not accepted not flagged: %+v", ev.Capture)
			}

			if tt.button != nil {
				deliver(t, tt.button(hook, tt.a))
			} else {
				deliver(t, f.Text(public, ch, tt.a, "YES"))
			}
			if tt.elsewhere != "" {
				deliver(t, f.Text(public, ch, tt.elsewhere, "YES"))
				if st := state(tt.b); st != meta.ConsentPending {
					t.Fatalf("a YES from %s answered %s's request: %s", tt.elsewhere, tt.b, st)
				}
			}
			deliver(t, f.Text(public, ch, tt.b, "No."))
			if sa, sb := state(tt.a), state(tt.b); sa != meta.ConsentAccepted || sb != meta.ConsentDeclined {
				t.Fatalf("after the answers: a %s, b %s", sa, sb)
			}

			before := len(f.Sent(ch))
			if code, body := send(tt.a); code != http.StatusCreated {
				t.Fatalf("send after acceptance: %d %s", code, body)
			}
			if sent := f.Sent(ch); len(sent) != before+1 || sent[before].To != sentTo(tt.a) || sent[before].Text != "The transfer settled this morning." {
				t.Fatalf("message after acceptance through the provider: %+v", sent[before:])
			}
			refused(tt.b, "contact_not_consented", "declined")
			if code, body := api(t, "/api/v1/contacts", `{"from":"maria","channel":"`+ch+`","address":"`+tt.b+`"}`); code != http.StatusConflict {
				t.Fatalf("asking a contact who declined again: %d %s", code, body)
			}

			// c never answers. Its deadline (consent_ttl, a week by default)
			// is moved into the past, as if the week had gone by.
			ct, _ := a.Governance.Contacts.Lookup(ch, tt.c)
			ct.ExpiresAt = time.Now().Add(-time.Second)
			a.Governance.Contacts.ReplayContact(ct)
			deliver(t, f.Text(public, ch, tt.c, "yes")) // after the deadline, before the sweep
			if st := state(tt.c); st != meta.ConsentPending {
				t.Fatalf("an answer after the deadline counted: %s", st)
			}
			if n, err := a.Governance.Contacts.Expire(t.Context()); err != nil || n != 1 {
				t.Fatalf("expiry sweep: %d, %v", n, err)
			}
			deliver(t, f.Text(public, ch, tt.c, "yes")) // after the sweep
			if st := state(tt.c); st != meta.ConsentExpired {
				t.Fatalf("an answer after expiry counted: %s", st)
			}
			refused(tt.c, "contact_not_consented", "expired")
			// Asked again, c accepts the new request.
			add(tt.c)
			deliver(t, f.Text(public, ch, tt.c, "ok"))
			if code, body := send(tt.c); code != http.StatusCreated {
				t.Fatalf("send after accepting the second request: %d %s", code, body)
			}

			// Every step is on the record.
			var contacts, decisions []string
			a.Archive.ReplaySystem(func(_ uint64, ev *onrecord.Event) error {
				switch {
				case ev.Subtype == "directory.contact.put" && strings.HasPrefix(ev.Body, "contact.put "+ch+":"):
					contacts = append(contacts, strings.TrimPrefix(ev.Body, "contact.put "+ch+":"))
				case ev.Subtype == "policy.decision" && strings.HasPrefix(ev.Conversation, ch+":"):
					decisions = append(decisions, ev.Body)
				}
				return nil
			})
			for _, want := range []string{
				tt.a + " pending", tt.a + " accepted", tt.b + " pending", tt.b + " declined",
				tt.c + " pending", tt.c + " expired", tt.c + " accepted",
			} {
				if !slices.ContainsFunc(contacts, func(s string) bool { return strings.HasPrefix(s, want+" ") }) {
					t.Errorf("no record of %q in %q", want, contacts)
				}
			}
			for _, want := range []string{
				"refused:contact_not_approved: " + tt.unknown, "refused:contact_not_consented: " + tt.a + " on " + ch + " has not accepted (consent pending)",
				"refused:contact_not_consented: " + tt.b, "refused:contact_not_consented: " + tt.c + " on " + ch + " has not accepted (consent expired)",
			} {
				if !slices.ContainsFunc(decisions, func(s string) bool { return strings.HasPrefix(s, want) }) {
					t.Errorf("no decision record %q in %q", want, decisions)
				}
			}
		})
	}
}

// lastInbound returns the latest captured inbound message on channel
// with body, failing the test if there is none.
func lastInbound(t *testing.T, a *App, channel, body string) *onrecord.Event {
	t.Helper()
	var found *onrecord.Event
	err := a.Archive.Events(0, func(_ uint64, ev *onrecord.Event, err error) error {
		if err == nil && ev.Channel == channel && ev.Kind == onrecord.KindMessage && ev.Direction == onrecord.Inbound && ev.Body == body {
			found = ev
		}
		return nil
	})
	if err != nil || found == nil {
		t.Fatalf("inbound %q on %s not captured (%v)", body, channel, err)
	}
	return found
}

func hasFlag(ev *onrecord.Event, flag string) bool {
	return ev.Capture != nil && slices.Contains(ev.Capture.Flags, flag)
}

// TestConsent_AnswerForms pins which inbound messages answer a pending
// request, in the shapes the connectors give them.
func TestConsent_AnswerForms(t *testing.T) {
	tests := []struct {
		name    string
		address string // the contact as added
		ev      onrecord.Event
		want    string // state after the message
	}{
		{"typed keyword", "4915112340002",
			onrecord.Event{Sender: onrecord.Party{ID: "4915112340002"}, Conversation: "4915112340002", Body: "Yes"}, meta.ConsentAccepted},
		{"WhatsApp template button payload", "4915112340002",
			onrecord.Event{Sender: onrecord.Party{ID: "4915112340002"}, Conversation: "4915112340002", Body: "Yes, I agree",
				Meta: map[string]string{"button_text": "Yes, I agree", "button_payload": "ACCEPT"}}, meta.ConsentAccepted},
		{"WhatsApp interactive reply id", "4915112340002",
			onrecord.Event{Sender: onrecord.Party{ID: "4915112340002"}, Conversation: "4915112340002", Body: "No, thanks",
				Meta: map[string]string{"reply_id": "decline"}}, meta.ConsentDeclined},
		{"Twilio WhatsApp address", "whatsapp:+4915112340002",
			onrecord.Event{Sender: onrecord.Party{ID: "+4915112340002"}, Conversation: "+4915112340002", Body: "YES",
				Meta: map[string]string{"From": "whatsapp:+4915112340002"}}, meta.ConsentAccepted},
		{"Twilio WhatsApp answer does not consent to SMS", "+4915112340002",
			onrecord.Event{Sender: onrecord.Party{ID: "+4915112340002"}, Conversation: "+4915112340002", Body: "YES",
				Meta: map[string]string{"From": "whatsapp:+4915112340002"}}, meta.ConsentPending},
		{"Twilio button payload", "whatsapp:+4915112340002",
			onrecord.Event{Sender: onrecord.Party{ID: "+4915112340002"}, Conversation: "+4915112340002", Body: "Sure thing",
				Meta: map[string]string{"From": "whatsapp:+4915112340002", "ButtonPayload": "yes"}}, meta.ConsentAccepted},
		{"Signal sender by uuid, added by number", "+4915112340002",
			onrecord.Event{Sender: onrecord.Party{ID: "0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e"}, Conversation: "0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e",
				Body: "yes", Meta: map[string]string{"source_number": "+4915112340002"}}, meta.ConsentAccepted},
		{"Slack DM channel id", "D0EXT00003",
			onrecord.Event{Sender: onrecord.Party{ID: "U0EXT00003"}, Conversation: "D0EXT00003", Body: "no"}, meta.ConsentDeclined},
		{"a yes in a group is no answer", "4915112340002",
			onrecord.Event{Sender: onrecord.Party{ID: "4915112340002"}, Conversation: "120363041234567890", Group: true, Body: "Yes"}, meta.ConsentPending},
		{"someone else's yes", "4915112340002",
			onrecord.Event{Sender: onrecord.Party{ID: "4915112340009"}, Conversation: "4915112340009", Body: "Yes"}, meta.ConsentPending},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := &Governance{Contacts: meta.NewContacts(meta.ContactOptions{}), log: slog.New(slog.DiscardHandler)}
			ctx := context.Background()
			if _, err := g.Contacts.Add(ctx, onrecord.Person{ID: "p1", DisplayName: "Maria Chen"}, "chan", tt.address, "", ""); err != nil {
				t.Fatal(err)
			}
			ev := tt.ev
			ev.Kind, ev.Direction, ev.Channel = onrecord.KindMessage, onrecord.Inbound, "chan"
			g.committed(ctx, &ev)
			if got, _ := g.Contacts.ConsentState("chan", tt.address); got != tt.want {
				t.Fatalf("state %s, want %s", got, tt.want)
			}
		})
	}
}
