package meta

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/onrecord/onrecord"
)

type sent struct{ channel, to, text string }

type fakeSender struct {
	out  []sent
	fail bool
}

func (f *fakeSender) SendConsent(_ context.Context, channel, to, text string) error {
	if f.fail {
		return errors.New("provider down")
	}
	f.out = append(f.out, sent{channel, to, text})
	return nil
}

type memRecorder struct{ changes []Change }

func (m *memRecorder) Record(_ context.Context, c Change) error {
	m.changes = append(m.changes, c)
	return nil
}

func TestConsentFlows(t *testing.T) {
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	rec, snd := &memRecorder{}, &fakeSender{}
	es := ConsentText{Language: "es", Notice: "{org}: {name} quiere escribirle. Responda SI o NO.", Accept: []string{"si", "sí"}, Decline: []string{"no"}}
	c := NewContacts(ContactOptions{Recorder: rec, Sender: snd, Org: "Harbor & Finch", Texts: []ConsentText{DefaultConsentText, es}, Now: clock, TTL: 72 * time.Hour})
	maria := onrecord.Person{ID: "p1", DisplayName: "Maria Chen"}
	ctx := t.Context()

	tests := []struct {
		name, address, lang, reply, state string
		advance                           time.Duration
	}{
		{"accept", "+14155550101", "en", "Yes!", ConsentAccepted, 0},
		{"decline", "+14155550102", "en", "STOP", ConsentDeclined, 0},
		{"accept in Spanish", "+34600000003", "es", "sí", ConsentAccepted, 0},
		{"other text is not an answer", "+14155550104", "en", "who is this?", ConsentPending, 0},
		{"a late answer does not count", "+14155550105", "en", "yes", ConsentPending, 73 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := now
			ct, err := c.Add(ctx, maria, "sms", tt.address, "", tt.lang)
			if err != nil {
				t.Fatal(err)
			}
			if ct.State != ConsentPending {
				t.Fatalf("state %s", ct.State)
			}
			if err := c.CanSend("sms", tt.address); err == nil {
				t.Fatal("sending allowed before an answer")
			}
			now = now.Add(tt.advance)
			c.Answer(ctx, "sms", tt.address, tt.reply)
			got, _ := c.Lookup("sms", tt.address)
			if got.State != tt.state {
				t.Fatalf("state %s, want %s", got.State, tt.state)
			}
			if err := c.CanSend("sms", tt.address); (err == nil) != (tt.state == ConsentAccepted) {
				t.Fatalf("CanSend = %v in state %s", err, got.State)
			}
			now = before
		})
	}
	last := snd.out[len(snd.out)-1]
	if !strings.Contains(snd.out[0].text, "Harbor & Finch: Maria Chen would like") || !strings.Contains(snd.out[2].text, "quiere escribirle") || last.to != "+14155550105" {
		t.Fatalf("notices: %+v", snd.out)
	}
	// A declined contact is not asked again.
	if _, err := c.Add(ctx, maria, "sms", "+14155550102", "", "en"); onrecord.ErrorCode(err) != onrecord.EFORBIDDEN {
		t.Fatalf("re-adding a declined contact: %v", err)
	}
	// No answer expires the request.
	now = now.Add(73 * time.Hour)
	n, err := c.Expire(ctx)
	if err != nil || n != 2 {
		t.Fatalf("expired %d, %v", n, err)
	}
	if got, _ := c.Lookup("sms", "+14155550104"); got.State != ConsentExpired {
		t.Fatalf("state %s", got.State)
	}
	if err := c.CanSend("sms", "+19999999999"); err == nil || !strings.Contains(err.Error(), "not an approved contact") {
		t.Fatalf("unknown contact: %v", err)
	}
	// Every step is a record; replaying them gives the same registry.
	re := NewContacts(ContactOptions{})
	for _, ch := range rec.changes {
		re.ReplayContact(*ch.Contact)
	}
	for _, a := range []string{"+14155550101", "+14155550102", "+34600000003", "+14155550104", "+14155550105"} {
		x, _ := c.Lookup("sms", a)
		y, _ := re.Lookup("sms", a)
		if x != y {
			t.Errorf("replay differs for %s: %+v %+v", a, x, y)
		}
	}
	// The request is recorded even when the provider fails to send it.
	snd.fail = true
	if _, err := c.Add(ctx, maria, "sms", "+14155550199", "", ""); err == nil {
		t.Fatal("send failure not reported")
	}
	if _, ok := c.Lookup("sms", "+14155550199"); !ok {
		t.Fatal("request not recorded")
	}
}

// TestContacts_AskingAgainAfterExpiryReplacesTheRequest: a contact whose
// request expired can be added again; the new request, not the expired
// one, then decides what may be sent and what an answer applies to.
func TestContacts_AskingAgainAfterExpiryReplacesTheRequest(t *testing.T) {
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	rec, snd := &memRecorder{}, &fakeSender{}
	c := NewContacts(ContactOptions{Recorder: rec, Sender: snd, Now: func() time.Time { return now }, TTL: time.Hour})
	maria := onrecord.Person{ID: "p1", DisplayName: "Maria Chen"}
	ctx := t.Context()
	const addr = "+14155550107"
	if _, err := c.Add(ctx, maria, "sms", addr, "", ""); err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * time.Hour)
	if n, err := c.Expire(ctx); err != nil || n != 1 {
		t.Fatalf("expired %d, %v", n, err)
	}
	now = now.Add(time.Minute)
	if ct, err := c.Add(ctx, maria, "sms", addr, "", ""); err != nil || ct.State != ConsentPending {
		t.Fatalf("asking again: %+v, %v", ct, err)
	}
	if len(snd.out) != 2 {
		t.Fatalf("notices: %+v", snd.out)
	}
	if _, ok, err := c.Answer(ctx, "sms", addr, "yes"); !ok || err != nil {
		t.Fatalf("answer to the new request: %v, %v", ok, err)
	}
	// Both requests stay in the registry (and on the record); every
	// lookup must see the new one, whatever the map's order.
	re := NewContacts(ContactOptions{})
	for _, ch := range rec.changes {
		re.ReplayContact(*ch.Contact)
	}
	for i := range 32 {
		for _, reg := range []*Contacts{c, re} {
			if state, _ := reg.ConsentState("sms", addr); state != ConsentAccepted {
				t.Fatalf("lookup %d: state %s, want %s", i, state, ConsentAccepted)
			}
		}
	}
}
