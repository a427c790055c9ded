package policy

import (
	"errors"
	"testing"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/meta"
)

func TestGate(t *testing.T) {
	ctx := t.Context()
	dir := meta.New(meta.Options{})
	put := func(p onrecord.Person) onrecord.Person {
		out, err := dir.PutPerson(ctx, "test", p)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	maria := put(onrecord.Person{UserName: "maria", Role: "advisor", Active: true, Identities: []onrecord.Identity{{Channel: "wa", Address: "15550100001"}}})
	ops := put(onrecord.Person{UserName: "ops", Role: "operations", Active: true, Identities: []onrecord.Identity{{Channel: "wa", Address: "15550100002"}}})
	noID := put(onrecord.Person{UserName: "new", Role: "advisor", Active: true})
	gone := put(onrecord.Person{UserName: "gone", Role: "advisor", Active: true, Identities: []onrecord.Identity{{Channel: "wa", Address: "15550100003"}}})
	gone.Active = false
	put(gone)
	contacts := meta.NewContacts(meta.ContactOptions{})
	for addr, reply := range map[string]string{"+491700000001": "yes", "+491700000002": "no", "+491700000003": ""} {
		contacts.Add(ctx, maria, "wa", addr, "", "")
		if reply != "" {
			contacts.Answer(ctx, "wa", addr, reply)
		}
	}
	set, err := Compile(starterFiles(t))
	if err != nil {
		t.Fatal(err)
	}
	eng := &Engine{}
	eng.cur.Store(set)
	g := &Gate{People: dir, Contacts: contacts, Policies: eng, Roles: []Role{
		{Name: "advisor", Channels: []string{"wa", "sms"}, CreateGroups: []string{"wa"}},
		{Name: "operations", Channels: []string{"sms"}},
	}}
	msg := func(to, body string) *onrecord.Event {
		return &onrecord.Event{Channel: "wa", Kind: onrecord.KindMessage, Direction: onrecord.Outbound, Body: body, Recipients: []onrecord.Party{{ID: to}}}
	}
	tests := []struct {
		name, sender, to, body, code string
		action                       Action
	}{
		{"entitled, consented, clean", maria.ID, "+491700000001", "Confirmed for Thursday.", "", Allow},
		{"redaction passes with the redacted body", maria.ID, "+491700000001", "card 4111 1111 1111 1111", "", Redact},
		{"blocked by policy", maria.ID, "+491700000001", "SSN 123-45-6789", PolicyBlocked, Block},
		{"needs approval", maria.ID, "+491700000001", "IBAN DE89370400440532013000", NeedsApproval, RequireApproval},
		{"contact declined", maria.ID, "+491700000002", "hello", NotConsented, ""},
		{"contact pending", maria.ID, "+491700000003", "hello", NotConsented, ""},
		{"unknown contact", maria.ID, "+491700000009", "hello", ContactUnknown, ""},
		{"role not entitled to the channel", ops.ID, "+491700000001", "hello", NotEntitled, ""},
		{"no business identity on the channel", noID.ID, "+491700000001", "hello", NoIdentity, ""},
		{"deprovisioned", gone.ID, "+491700000001", "hello", Inactive, ""},
		{"not in the directory", "nobody", "+491700000001", "hello", NotInDirectory, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := g.CheckSend(ctx, tt.sender, msg(tt.to, tt.body))
			var r *Refusal
			errors.As(err, &r)
			switch {
			case tt.code == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.code != "" && (r == nil || r.Code != tt.code):
				t.Fatalf("err = %v, want code %s", err, tt.code)
			}
			if tt.action != "" && (d == nil || d.Action != tt.action) {
				t.Fatalf("decision %+v, want %s", d, tt.action)
			}
			if r != nil && r.Message == "" {
				t.Fatal("refusal without a message")
			}
		})
	}
	isEmployee := func(ch, addr string) (onrecord.Person, bool) { return dir.ByIdentity(ch, addr) }
	if r := g.CheckGroup(maria.ID, "wa", []string{"+491700000001", "15550100002"}, isEmployee); r == nil || r.Code != MemberNotAllowed {
		t.Fatalf("group with a colleague not entitled to wa: %v", r)
	}
	if r := g.CheckGroup(maria.ID, "wa", []string{"+491700000001"}, isEmployee); r != nil {
		t.Fatalf("group with a consented contact: %v", r)
	}
	if r := g.CheckGroup(maria.ID, "wa", []string{"+491700000003"}, isEmployee); r == nil || r.Code != MemberNotAllowed {
		t.Fatalf("group with a pending contact: %v", r)
	}
	if r := g.CheckGroup(maria.ID, "sms", nil, isEmployee); r == nil || r.Code != NoIdentity && r.Code != GroupNotAllowed {
		t.Fatalf("group on a channel the role may not create on: %v", r)
	}
}
