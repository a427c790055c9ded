package thread

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/export"
	"pgregory.net/rapid"
)

// mustLoad reads a fixture: a JSON array of items ({"seq", "bates",
// "event"}), the events in the canonical JSON the archive seals.
func mustLoad(tb testing.TB, name string) []export.Item {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	var items []export.Item
	if err := json.Unmarshal(b, &items); err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	return items
}

func bodies(items []export.Item) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.Event.Body)
	}
	return out
}

func seqs(items []export.Item) []uint64 {
	var out []uint64
	for _, it := range items {
		out = append(out, it.Seq)
	}
	return out
}

func reactions(rs []Reaction) []string {
	var out []string
	for _, r := range rs {
		s := r.Sender.ID + " " + r.Emoji
		if r.Removed {
			s = r.Sender.ID + " -" + r.Emoji
		}
		out = append(out, s)
	}
	return out
}

func kinds(c *Conversation) []string {
	var out []string
	for _, e := range c.Timeline {
		switch e.Kind {
		case EntryMessage:
			out = append(out, fmt.Sprintf("message %d", e.Message.Seq))
		default:
			out = append(out, fmt.Sprintf("%s %d", e.Kind, e.Item.Seq))
		}
	}
	return out
}

func equal[T comparable](t *testing.T, what string, got, want []T) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func TestBuild(t *testing.T) {
	tests := []struct {
		name    string
		fixture string
		check   func(t *testing.T, c *Conversation)
	}{
		{"EditChainKeepsEveryVersionInOrder", "edit_chain.json", func(t *testing.T, c *Conversation) {
			if c.Channel != "whatsapp" || c.ID != "+15550001" {
				t.Errorf("conversation = %s/%s", c.Channel, c.ID)
			}
			if len(c.Messages) != 2 {
				t.Fatalf("%d messages, want 2 (one per channel)", len(c.Messages))
			}
			m := c.Messages[0]
			// The edit whose provider id equals the message's (WhatsApp)
			// is not a duplicate: its kind differs. The last edit names
			// the previous edit, not the message.
			equal(t, "versions", bodies(m.Versions), []string{"Buy 100 ACME", "Buy 200 ACME", "Buy 250 ACME", "Buy 300 ACME"})
			if !m.Edited() || m.Text() != "Buy 300 ACME" || m.Versions[0].Seq != 1 {
				t.Errorf("edited=%v text=%q original seq=%d", m.Edited(), m.Text(), m.Versions[0].Seq)
			}
			if len(c.Orphans) != 0 || len(m.Duplicates) != 0 {
				t.Errorf("orphans %v, duplicates %v", seqs(c.Orphans), seqs(m.Duplicates))
			}
		}},
		{"DeleteAfterEditKeepsOriginalAndEdit", "delete_after_edit.json", func(t *testing.T, c *Conversation) {
			m := c.Messages[0]
			equal(t, "versions", bodies(m.Versions), []string{"I can guarantee a 20% return", "I expect a good return"})
			equal(t, "deleted", seqs(m.Deleted), []uint64{12})
			if !m.IsDeleted() || !m.Edited() {
				t.Errorf("deleted=%v edited=%v", m.IsDeleted(), m.Edited())
			}
			equal(t, "timeline", kinds(c), []string{"message 10"})
		}},
		{"ReactionReplacedThenUnreacted", "reactions.json", func(t *testing.T, c *Conversation) {
			m := c.Messages[0]
			// WhatsApp: a person has one reaction; ❤️ replaces 👍, and
			// the empty un-reaction removes it.
			equal(t, "current", reactions(m.Reactions), []string{"+15550002 🙏"})
			equal(t, "history", reactions(m.ReactionHistory), []string{"+15550001 👍", "+15550002 🙏", "+15550001 ❤️", "+15550001 -"})
		}},
		{"SlackKeepsSeveralReactionsAndRemovesTheNamedOne", "reactions_slack.json", func(t *testing.T, c *Conversation) {
			root := c.Messages[0]
			equal(t, "current", reactions(root.Reactions), []string{"U2 :tada:"})
			equal(t, "history", reactions(root.ReactionHistory), []string{"U2 :+1:", "U2 :tada:", "U2 -:+1:"})
			reply := c.Messages[1]
			if reply.ThreadRoot != root || reply.ReplyTo != root {
				t.Errorf("thread root %v, reply to %v; want the first message", reply.ThreadRoot, reply.ReplyTo)
			}
			if root.ThreadRoot != nil {
				t.Error("a message is its own thread root")
			}
			if !c.Group || c.GroupName != "#desk" {
				t.Errorf("group %v %q", c.Group, c.GroupName)
			}
		}},
		{"StatusesOutOfOrderAreSortedAndProgressWins", "statuses_out_of_order.json", func(t *testing.T, c *Conversation) {
			m := c.Messages[0]
			if len(m.Statuses) != 1 || m.Statuses[0].Party.ID != "+15550001" {
				t.Fatalf("receipts %+v, want one for the recipient", m.Statuses)
			}
			r := m.Statuses[0]
			var got []string
			for _, s := range r.Statuses {
				got = append(got, s.Status)
			}
			// read and delivered carry the same second; read was
			// journaled first.
			equal(t, "statuses", got, []string{"sent", "delivered", "read"})
			if l := r.Latest(); l.Status != "read" || !l.Event.SentAt.Equal(time.Date(2026, 11, 20, 10, 0, 7, 0, time.UTC)) {
				t.Errorf("latest %s at %s", l.Status, l.Event.SentAt)
			}
			failed := c.Messages[1].Statuses[0]
			if l := failed.Latest(); l.Status != "failed" || l.Error != "131026: Message undeliverable" {
				t.Errorf("latest of a failed message = %s (%s), want failed", l.Status, l.Error)
			}
		}},
		{"RecordsWithoutTheirMessageBecomeOrphans", "orphans.json", func(t *testing.T, c *Conversation) {
			equal(t, "orphans", seqs(c.Orphans), []uint64{50, 52, 54, 55})
			equal(t, "timeline", kinds(c), []string{"orphan 50", "message 51", "orphan 52", "status 53", "orphan 54", "orphan 55"})
			if len(c.Messages[0].Versions) != 1 {
				t.Error("an orphan edit was applied to an unrelated message")
			}
		}},
		{"DuplicateProviderIDsAreKeptNotAppliedTwice", "duplicates.json", func(t *testing.T, c *Conversation) {
			if len(c.Messages) != 1 {
				t.Fatalf("%d messages, want 1", len(c.Messages))
			}
			m := c.Messages[0]
			if m.Seq != 60 {
				t.Errorf("message is seq %d, want the first record", m.Seq)
			}
			// 61 is a retry and 62 a conflict of the message; 64 repeats
			// the read receipt; 66 is a conflicting edit, applied.
			equal(t, "duplicates", seqs(m.Duplicates), []uint64{61, 62, 64})
			equal(t, "versions", bodies(m.Versions), []string{"Sell everything", "first edit", "conflicting edit"})
			if n := len(m.Statuses[0].Statuses); n != 1 {
				t.Errorf("%d read statuses, want 1", n)
			}
			equal(t, "timeline", kinds(c), []string{"message 60"})
		}},
		{"SystemAndUnparsedAreTimelineEntries", "timeline.json", func(t *testing.T, c *Conversation) {
			equal(t, "timeline", kinds(c), []string{"system 70", "message 71", "message 72", "unparsed 73", "message 74", "system 75"})
			if c.Messages[1].ReplyTo != c.Messages[0] {
				t.Error("reply not linked to the message it answers")
			}
			if c.Messages[2].ReplyTo != nil || c.Messages[2].Event.ReplyTo != "wamid.0" {
				t.Error("a reply to a message outside the set must keep its id and link nothing")
			}
			at := c.Messages[0].Attachments
			if len(at) != 2 || at[0].Size != 5 || at[0].SHA256 != "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824" {
				t.Errorf("attachments %+v", at)
			}
			if at[1].Error != "fetch: 404" || at[1].SHA256 != "" || at[1].Ref != "media.9" {
				t.Errorf("failed attachment %+v", at[1])
			}
			if len(c.Participants) != 2 {
				t.Fatalf("participants %+v", c.Participants)
			}
			pat, alex := c.Participants[0], c.Participants[1]
			if pat.ID != "+15550001" || len(pat.Names) != 2 || pat.Names[0].Name != "Pat" || pat.Name() != "Pat Client" {
				t.Errorf("Pat = %+v, want both names in order", pat)
			}
			if !pat.FirstSeen.Equal(time.Date(2026, 11, 20, 7, 0, 0, 0, time.UTC)) || !pat.LastSeen.Equal(time.Date(2026, 11, 20, 7, 5, 0, 0, time.UTC)) {
				t.Errorf("Pat seen %s..%s", pat.FirstSeen, pat.LastSeen)
			}
			if pat.Organisation || !alex.Organisation {
				t.Errorf("organisation side: Pat %v, Alex %v", pat.Organisation, alex.Organisation)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items := mustLoad(t, tt.fixture)
			c := Build(items)
			tt.check(t, c)
			if err := everyItemOnce(items, c); err != nil {
				t.Error(err)
			}
		})
	}
}

// everyItemOnce checks the promise that Build drops nothing and places
// nothing twice: each record is found in exactly one place.
func everyItemOnce(items []export.Item, c *Conversation) error {
	count := map[*onrecord.Event]int{}
	add := func(it export.Item) { count[it.Event]++ }
	for _, m := range c.Messages {
		for _, v := range m.Versions {
			add(v)
		}
		for _, x := range m.Deleted {
			add(x)
		}
		for _, r := range m.ReactionHistory {
			add(r.Item)
		}
		for _, r := range m.Statuses {
			for _, s := range r.Statuses {
				add(s.Item)
			}
		}
		for _, x := range m.Duplicates {
			add(x)
		}
	}
	for _, e := range c.Timeline {
		if e.Kind != EntryMessage {
			add(e.Item)
		}
	}
	for _, it := range items {
		if n := count[it.Event]; n != 1 {
			return fmt.Errorf("seq %d (%s %s) placed %d times, want 1", it.Seq, it.Event.Kind, it.Event.ProviderID, n)
		}
	}
	if len(count) != len(items) {
		return fmt.Errorf("%d records placed, %d given", len(count), len(items))
	}
	return nil
}

func TestBuild_OrderOfInputDoesNotMatter(t *testing.T) {
	items := mustLoad(t, "delete_after_edit.json")
	rev := slices.Clone(items)
	slices.Reverse(rev)
	a, b := Build(items), Build(rev)
	equal(t, "versions", seqs(b.Messages[0].Versions), seqs(a.Messages[0].Versions))
	equal(t, "deleted", seqs(b.Messages[0].Deleted), seqs(a.Messages[0].Deleted))
}

func TestBuild_Empty(t *testing.T) {
	c := Build([]export.Item{{Seq: 1}})
	if len(c.Timeline) != 0 || len(c.Items) != 0 {
		t.Errorf("items without events gave %+v", c)
	}
}

func TestReactionOf(t *testing.T) {
	tests := []struct {
		name    string
		emoji   string
		meta    map[string]string
		want    string
		removed bool
	}{
		{"Emoji", "👍", nil, "👍", false},
		{"EmptyIsUnreaction", "", nil, "", true},
		{"SignalNamesTheRemoved", "", map[string]string{"removed": "true", "removed_emoji": "👍"}, "👍", true},
		{"SlackNamesTheRemoved", "", map[string]string{"removed": "true", "reaction": "tada"}, ":tada:", true},
		{"TelegramCustomEmojiAdded", "", map[string]string{"reaction_type": "custom_emoji", "custom_emoji_id": "42"}, "custom_emoji:42", false},
		{"TelegramCustomEmojiRemoved", "", map[string]string{"reaction_type": "custom_emoji", "custom_emoji_id": "42", "removed": "true"}, "custom_emoji:42", true},
		{"TelegramPaid", "", map[string]string{"reaction_type": "paid"}, "paid", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := reactionOf(export.Item{Event: &onrecord.Event{Kind: onrecord.KindReaction, Emoji: tt.emoji, Meta: tt.meta}})
			if r.Emoji != tt.want || r.Removed != tt.removed {
				t.Errorf("got %q removed=%v, want %q removed=%v", r.Emoji, r.Removed, tt.want, tt.removed)
			}
		})
	}
}

// TestBuild_NeverDropsARecord builds conversations out of random records
// that edit, delete, react to and report on each other (and on ids that
// do not exist, and in cycles) and checks every record lands once.
func TestBuild_NeverDropsARecord(t *testing.T) {
	kindsGen := rapid.SampledFrom([]onrecord.EventKind{
		onrecord.KindMessage, onrecord.KindEdit, onrecord.KindDelete, onrecord.KindReaction,
		onrecord.KindStatus, onrecord.KindSystem, onrecord.KindUnparsed, "other",
	})
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(0, 30).Draw(t, "n")
		base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		var items []export.Item
		for i := range n {
			ev := &onrecord.Event{
				Channel:      rapid.SampledFrom([]string{"a", "b"}).Draw(t, "channel"),
				Kind:         kindsGen.Draw(t, "kind"),
				ProviderID:   fmt.Sprint(rapid.IntRange(0, 8).Draw(t, "id")),
				Conversation: "c",
				Direction:    rapid.SampledFrom([]onrecord.Direction{onrecord.Inbound, onrecord.Outbound}).Draw(t, "dir"),
				Sender:       onrecord.Party{ID: rapid.SampledFrom([]string{"p", "q", ""}).Draw(t, "sender")},
				SentAt:       base.Add(time.Duration(rapid.IntRange(0, 5).Draw(t, "at")) * time.Second),
				Body:         rapid.SampledFrom([]string{"x", "y"}).Draw(t, "body"),
				Emoji:        rapid.SampledFrom([]string{"", "👍", "❤"}).Draw(t, "emoji"),
				Status:       rapid.SampledFrom([]string{"sent", "read", "failed"}).Draw(t, "status"),
				Target:       fmt.Sprint(rapid.IntRange(0, 9).Draw(t, "target")),
				ReplyTo:      fmt.Sprint(rapid.IntRange(0, 9).Draw(t, "reply")),
				Thread:       fmt.Sprint(rapid.IntRange(0, 9).Draw(t, "thread")),
			}
			items = append(items, export.Item{Seq: uint64(i), Event: ev})
		}
		c := Build(items)
		if err := everyItemOnce(items, c); err != nil {
			t.Fatal(err)
		}
		for _, m := range c.Messages {
			if m.Versions[0].Event != m.Event {
				t.Fatal("the first version is not the original")
			}
			for _, r := range m.Statuses {
				_ = r.Latest()
			}
		}
	})
}
