package meta

import (
	"slices"
	"testing"

	"github.com/onrecord/onrecord"
)

// TestChatGroupsFollowTheDirectory covers what happens to governed chat
// groups when people change: a role that loses the channel, a number
// handed to someone else, and a departure with the admin rights handed to
// the manager; each step recorded with the group's whole state.
func TestChatGroupsFollowTheDirectory(t *testing.T) {
	ctx := t.Context()
	rec := &memRecorder{}
	onWA := func(p onrecord.Person, channel string) bool { return p.Role == "advisor" && channel == "wa" }
	d := New(Options{Recorder: rec, Entitled: onWA})
	put := func(p onrecord.Person) onrecord.Person {
		t.Helper()
		p.Active = true
		out, err := d.PutPerson(ctx, "test", p)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	boss := put(onrecord.Person{UserName: "boss", Role: "advisor", Identities: []onrecord.Identity{{Channel: "wa", Address: "100"}}})
	maria := put(onrecord.Person{UserName: "maria", Role: "advisor", Manager: boss.ID, Identities: []onrecord.Identity{{Channel: "wa", Address: "101"}}})
	tom := put(onrecord.Person{UserName: "tom", Role: "advisor", Identities: []onrecord.Identity{{Channel: "wa", Address: "102"}}})
	ana := put(onrecord.Person{UserName: "ana", Role: "advisor", Identities: []onrecord.Identity{{Channel: "wa", Address: "103"}}})

	g, err := d.PutChatGroup(ctx, "maria", "created", onrecord.ChatGroup{Channel: "wa", Conversation: "grp-1", Name: "Desk", CreatedBy: maria.ID,
		Members: []onrecord.GroupMember{{Address: "101", Person: maria.ID, Admin: true}, {Address: "102", Person: tom.ID},
			{Address: "103", Person: ana.ID}, {Address: "4915112345678"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := d.ChatGroupAt("wa", "grp-1"); !ok || got.ID != g.ID {
		t.Fatalf("ChatGroupAt = %+v, %v", got, ok)
	}
	if _, err := d.PutChatGroup(ctx, "x", "", onrecord.ChatGroup{Channel: "wa", Conversation: "grp-1", Name: "Again",
		Members: []onrecord.GroupMember{{Address: "100", Person: boss.ID, Admin: true}}}); onrecord.ErrorCode(err) != onrecord.ECONFLICT {
		t.Fatalf("a second group on the same conversation: %v", err)
	}
	if _, err := d.PutChatGroup(ctx, "x", "", onrecord.ChatGroup{Channel: "wa", Conversation: "grp-2",
		Members: []onrecord.GroupMember{{Address: "100"}}}); onrecord.ErrorCode(err) != onrecord.EINVALID {
		t.Fatalf("a group without an admin: %v", err)
	}

	addresses := func() []string {
		g, _ := d.ChatGroup(g.ID)
		var out []string
		for _, m := range g.Members {
			a := m.Address
			if m.Admin {
				a += "*"
			}
			out = append(out, a)
		}
		return out
	}
	steps := []struct {
		name   string
		change func()
		want   []string
	}{
		{"a role without the channel leaves the group", func() { tom.Role = "ops"; put(tom) }, []string{"101*", "103", "4915112345678"}},
		{"a changed number leaves the group with the old number", func() {
			ana.Identities = []onrecord.Identity{{Channel: "wa", Address: "199"}}
			put(ana)
		}, []string{"101*", "4915112345678"}},
		{"an unrelated change keeps the member", func() { maria.Title = "VP"; put(maria) }, []string{"101*", "4915112345678"}},
		{"a departing admin hands the group to the manager", func() {
			maria.Active = false
			if _, err := d.PutPerson(ctx, "scim", maria); err != nil {
				t.Fatal(err)
			}
		}, []string{"4915112345678", "100*"}},
	}
	for _, s := range steps {
		s.change()
		if got := addresses(); !slices.Equal(got, s.want) {
			t.Fatalf("%s: members %v, want %v", s.name, got, s.want)
		}
	}
	var ops []string
	for _, c := range rec.changes {
		if c.Chat != nil {
			ops = append(ops, c.Op)
		}
	}
	want := []string{OpChatGroupPut, OpChatGroupPut, OpChatGroupPut, OpAdminHandover, OpChatGroupPut}
	if !slices.Equal(ops, want) {
		t.Fatalf("recorded chat-group changes %v, want %v", ops, want)
	}

	// Replaying the record rebuilds the same groups.
	r := New(Options{})
	for _, c := range rec.changes {
		r.Replay(c)
	}
	got, _ := r.ChatGroupAt("wa", "grp-1")
	now, _ := d.ChatGroup(g.ID)
	if !slices.Equal(got.Members, now.Members) {
		t.Fatalf("replayed %+v, want %+v", got.Members, now.Members)
	}
}
