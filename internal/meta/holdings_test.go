package meta

import (
	"slices"
	"testing"
	"time"

	"github.com/onrecord/onrecord"
)

// TestHoldingsFollowReassignment: a number handed from one employee to the
// next splits its history between them at the hand-over, and replay
// rebuilds the same spans.
func TestHoldingsFollowReassignment(t *testing.T) {
	ctx := t.Context()
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	now := t0
	rec := &memRecorder{}
	d := New(Options{Recorder: rec, Now: func() time.Time { return now }})
	wa := func(n string) []onrecord.Identity { return []onrecord.Identity{{Channel: "wa", Address: n}} }
	ann, err := d.PutPerson(ctx, "t", onrecord.Person{UserName: "ann", Active: true, Identities: wa("101")})
	if err != nil {
		t.Fatal(err)
	}
	now = t0.Add(24 * time.Hour) // ann gets a second, never-held number (hers from the start), keeps the first
	ann.Identities = append(ann.Identities, onrecord.Identity{Channel: "sms", Address: "+1555"})
	if ann, err = d.PutPerson(ctx, "t", ann); err != nil {
		t.Fatal(err)
	}
	now = t0.Add(48 * time.Hour) // ann leaves
	ann.Active = false
	if _, err = d.PutPerson(ctx, "t", ann); err != nil {
		t.Fatal(err)
	}
	now = t0.Add(72 * time.Hour) // bob gets her WhatsApp number
	bob, err := d.PutPerson(ctx, "t", onrecord.Person{UserName: "bob", Active: true, Identities: wa("101")})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]Holding{
		ann.ID: {{Channel: "wa", Address: "101", To: t0.Add(48 * time.Hour)}, {Channel: "sms", Address: "+1555", To: t0.Add(48 * time.Hour)}},
		bob.ID: {{Channel: "wa", Address: "101", From: t0.Add(72 * time.Hour)}},
	}
	r := New(Options{})
	for _, c := range rec.changes {
		r.Replay(c)
	}
	for id, w := range want {
		if got := d.Holdings(id); !slices.Equal(got, w) {
			t.Errorf("holdings of %s: %+v, want %+v", id, got, w)
		}
		if got := r.Holdings(id); !slices.Equal(got, w) {
			t.Errorf("replayed holdings of %s: %+v, want %+v", id, got, w)
		}
	}
	jan := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	if h := d.Holdings(ann.ID)[0]; !h.Covers(jan) || h.Covers(t0.Add(50*time.Hour)) {
		t.Error("the first holder holds the number from the beginning until she leaves")
	}
	if h := d.Holdings(bob.ID)[0]; h.Covers(jan) || !h.Covers(t0.Add(100*time.Hour)) {
		t.Error("the next holder holds it from the hand-over on")
	}
}

func TestCustodianByAnyName(t *testing.T) {
	d := New(Options{})
	for _, p := range []onrecord.Person{
		{UserName: "mchen", Email: "maria.chen@example.com", DisplayName: "Maria Chen", Active: true},
		{UserName: "tlee", DisplayName: "Tom Lee", Active: true},
		{UserName: "tlee2", DisplayName: "Tom Lee", Active: true},
	} {
		if _, err := d.PutPerson(t.Context(), "t", p); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct{ name, user, code string }{
		{"mchen", "mchen", ""},
		{"MARIA.CHEN@example.com", "mchen", ""},
		{"maria chen", "mchen", ""},
		{"Tom Lee", "", onrecord.EINVALID},
		{"nobody", "", onrecord.ENOTFOUND},
	} {
		p, err := d.Custodian(tt.name)
		if p.UserName != tt.user || onrecord.ErrorCode(err) != tt.code && !(tt.code == "" && err == nil) {
			t.Errorf("Custodian(%q) = %q, %v", tt.name, p.UserName, err)
		}
	}
}
