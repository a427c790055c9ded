// Package thread reconstructs a conversation from its records: which
// messages were sent, how each was edited, deleted, reacted to and
// received, who took part, and what else happened on the channel.
//
// The archive stores every event as its own record; an edit, a delete, a
// reaction and a status each name the message they concern only by its
// provider id (Event.Target). Readers of a production (transcripts,
// review) need the message with everything that happened to it, and they
// need it without losing any record: an edit is a new version next to the
// original text, never a replacement of it; a delete marks a message
// whose content stays visible; a record whose message is not in the set
// becomes an orphan instead of disappearing.
//
// Build is pure: no I/O, no clock, the same items give the same result.
package thread

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"time"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/export"
)

// Conversation is one channel conversation as its records tell it.
type Conversation struct {
	Channel string
	// ID is the provider's conversation id (Event.Conversation); empty for
	// a group of unparsed records, which carry no conversation.
	ID string
	// Group is true if any record says the conversation is a group or
	// channel; GroupName is the last group name a record gave.
	Group     bool
	GroupName string
	// Participants are the senders and recipients of the records, in the
	// order they first appeared.
	Participants []*Participant
	// Messages are the message records in sent order (then journal order),
	// each with everything that happened to it.
	Messages []*Message
	// Orphans are the edits, deletes, reactions and statuses whose target
	// is not among the records, in order. They also appear in Timeline.
	Orphans []export.Item
	// Timeline is what a reader goes through: messages, system and
	// unparsed records, conversation-level statuses and orphans, in order.
	Timeline []Entry
	// Items is every record that went into the conversation, in order.
	Items []export.Item
	// First and Last are the earliest and latest SentAt of the records.
	First, Last time.Time
}

// Participant is a party as the channel identified it.
type Participant struct {
	ID string
	// Names are the names the channel gave this party, each with when it
	// was first seen, in order: a display name that changed during the
	// conversation is shown as it was at the time, not as it is now.
	Names               []Name
	FirstSeen, LastSeen time.Time
	// Organisation is true if the party sent an outbound record, i.e. is
	// on the archiving organisation's side of the conversation.
	Organisation bool
}

// Name is a display name and when a record first carried it.
type Name struct {
	Name      string
	FirstSeen time.Time
}

// Name returns the party's most recent display name, or "" if the channel
// never gave one.
func (p *Participant) Name() string {
	if len(p.Names) == 0 {
		return ""
	}
	return p.Names[len(p.Names)-1].Name
}

// EntryKind says what a timeline entry is.
type EntryKind string

const (
	EntryMessage EntryKind = "message"
	// EntrySystem is a system record, or a record of a kind this package
	// does not know (it is shown as it is rather than dropped).
	EntrySystem   EntryKind = "system"
	EntryUnparsed EntryKind = "unparsed"
	// EntryStatus is a status about the conversation itself rather than a
	// message (Signal's typing indicators target the conversation).
	EntryStatus EntryKind = "status"
	// EntryOrphan is an edit, delete, reaction or status whose target
	// message is not in the set.
	EntryOrphan EntryKind = "orphan"
)

// Entry is one line of the timeline. Message is set for EntryMessage,
// Item for every other kind.
type Entry struct {
	Kind    EntryKind
	Message *Message
	Item    export.Item
}

// At is when the entry happened.
func (e Entry) At() time.Time {
	if e.Message != nil {
		return e.Message.Event.SentAt
	}
	return e.Item.Event.SentAt
}

// Message is a message record with everything that happened to it.
type Message struct {
	// Item is the original message record.
	export.Item
	// Versions is the original message followed by every edit, in order;
	// Versions[0] is always the original record, so its text is never
	// replaced by a later one.
	Versions []export.Item
	// Deleted holds the delete records; the message keeps its content.
	Deleted []export.Item
	// Reactions are the reactions in place after every reaction and
	// un-reaction was applied, in the order they were made.
	Reactions []Reaction
	// ReactionHistory is every reaction record, un-reactions included.
	ReactionHistory []Reaction
	// Statuses are the delivery states per party, in order of first
	// status.
	Statuses    []Receipt
	Attachments []Attachment
	// ReplyTo and ThreadRoot are the messages Event.ReplyTo and
	// Event.Thread name, when those are among the records; the ids stay
	// on Event either way.
	ReplyTo    *Message
	ThreadRoot *Message
	// Duplicates are later records with the same channel, provider id and
	// kind as one already placed on this message: a provider's retry, or a
	// conflicting record the archive stored and flagged. They are kept
	// here rather than applied twice.
	Duplicates []export.Item
}

// Text is the message's current text: the last version's body.
func (m *Message) Text() string { return m.Versions[len(m.Versions)-1].Event.Body }

// Edited reports whether the message has at least one edit.
func (m *Message) Edited() bool { return len(m.Versions) > 1 }

// IsDeleted reports whether a delete record targets the message.
func (m *Message) IsDeleted() bool { return len(m.Deleted) > 0 }

// Attachment is a file of a message, with what a reader needs to check it
// against the original: size and SHA-256 of the bytes the archive holds.
type Attachment struct {
	Name        string
	ContentType string
	Ref         string
	// Size and SHA256 describe Data; both are zero if nothing was fetched.
	Size   int
	SHA256 string
	// Error is why the file could not be fetched.
	Error string
}

func attachments(ev *onrecord.Event) []Attachment {
	var out []Attachment
	for _, a := range ev.Attachments {
		at := Attachment{Name: a.Name, ContentType: a.ContentType, Ref: a.Ref, Error: a.Error, Size: len(a.Data), SHA256: a.SHA256}
		if a.Size > 0 && len(a.Data) == 0 {
			at.Size = int(a.Size) // a record read without its blobs
		}
		if len(a.Data) > 0 && at.SHA256 == "" {
			sum := sha256.Sum256(a.Data)
			at.SHA256 = hex.EncodeToString(sum[:])
		}
		out = append(out, at)
	}
	return out
}

// Build reconstructs the conversation the items belong to. The items are
// normally one group of export.Conversations; Channel is taken from the
// first item in order, ID from the first that has a conversation. Items may come in any order: Build sorts
// a copy by sent time, then journal position. Items without an event
// carry nothing to show and are skipped.
func Build(items []export.Item) *Conversation {
	c := &Conversation{}
	for _, it := range items {
		if it.Event != nil {
			c.Items = append(c.Items, it)
		}
	}
	slices.SortStableFunc(c.Items, func(a, b export.Item) int {
		if x := a.Event.SentAt.Compare(b.Event.SentAt); x != 0 {
			return x
		}
		return cmp.Compare(a.Seq, b.Seq)
	})
	if len(c.Items) == 0 {
		return c
	}
	c.Channel = c.Items[0].Event.Channel
	for _, it := range c.Items {
		// An unparsed record has no conversation; it does not name one.
		if c.ID = it.Event.Conversation; c.ID != "" {
			break
		}
	}
	c.First, c.Last = c.Items[0].Event.SentAt, c.Items[len(c.Items)-1].Event.SentAt

	b := builder{c: c, messages: map[ref]*Message{}, targeted: map[ref]export.Item{}, seen: map[key]*Message{}}
	b.participants()

	// Messages first, so that a record sorted before its target (a clock
	// skew, or a time of receipt standing in for the provider's) still
	// finds it.
	for _, it := range c.Items {
		if it.Event.Kind != onrecord.KindMessage {
			if targets(it.Event.Kind) {
				r := ref{it.Event.Channel, it.Event.ProviderID}
				if _, ok := b.targeted[r]; !ok {
					b.targeted[r] = it
				}
			}
			continue
		}
		k := keyOf(it.Event)
		if m := b.seen[k]; m != nil {
			m.Duplicates = append(m.Duplicates, it)
			continue
		}
		m := &Message{Item: it, Versions: []export.Item{it}, Attachments: attachments(it.Event)}
		b.seen[k] = m
		b.messages[ref{it.Event.Channel, it.Event.ProviderID}] = m
		c.Messages = append(c.Messages, m)
	}
	for _, m := range c.Messages {
		m.ReplyTo = b.messages[ref{m.Event.Channel, m.Event.ReplyTo}]
		m.ThreadRoot = b.threadRoot(m)
	}

	for _, it := range c.Items {
		ev := it.Event
		switch ev.Kind {
		case onrecord.KindMessage:
			if m := b.messages[ref{ev.Channel, ev.ProviderID}]; m != nil && m.Event == ev {
				c.Timeline = append(c.Timeline, Entry{Kind: EntryMessage, Message: m})
			}
		case onrecord.KindEdit, onrecord.KindDelete, onrecord.KindReaction, onrecord.KindStatus:
			b.apply(it)
		case onrecord.KindUnparsed:
			c.Timeline = append(c.Timeline, Entry{Kind: EntryUnparsed, Item: it})
		default:
			c.Timeline = append(c.Timeline, Entry{Kind: EntrySystem, Item: it})
		}
	}
	for _, m := range c.Messages {
		m.Reactions = current(m.ReactionHistory)
		sortReceipts(m.Statuses)
	}
	return c
}

// ref is a provider id within a channel: what a Target names.
type ref struct{ channel, providerID string }

// key is the archive's idempotency key: a second record with the same key
// is a retry or a conflict, not a new event.
type key struct{ channel, providerID, kind string }

func keyOf(ev *onrecord.Event) key {
	return key{ev.Channel, ev.ProviderID, string(ev.Kind)}
}

func targets(k onrecord.EventKind) bool {
	switch k {
	case onrecord.KindEdit, onrecord.KindDelete, onrecord.KindReaction, onrecord.KindStatus:
		return true
	}
	return false
}

type builder struct {
	c        *Conversation
	messages map[ref]*Message
	// targeted holds the first record of each provider id among the
	// records that target another, so that an edit of an edit (a chain in
	// which each edit names the previous one) reaches the message.
	targeted map[ref]export.Item
	// seen maps the idempotency key of every record placed on a message
	// to that message, to recognise duplicates.
	seen map[key]*Message
}

// resolve finds the message a target names, following targeted records
// back to a message; the visited set stops a cycle of records naming each
// other.
func (b *builder) resolve(channel, target string) *Message {
	visited := map[string]bool{}
	for target != "" && !visited[target] {
		visited[target] = true
		if m := b.messages[ref{channel, target}]; m != nil {
			return m
		}
		it, ok := b.targeted[ref{channel, target}]
		if !ok {
			return nil
		}
		target = it.Event.Target
	}
	return nil
}

// threadRoot finds the message that starts m's thread. Slack names a
// thread by its root's timestamp while provider ids are
// "channel:timestamp", so the conversation-qualified form is tried too.
// A root is not its own thread root.
func (b *builder) threadRoot(m *Message) *Message {
	ev := m.Event
	if ev.Thread == "" {
		return nil
	}
	root := b.messages[ref{ev.Channel, ev.Thread}]
	if root == nil {
		root = b.messages[ref{ev.Channel, ev.Conversation + ":" + ev.Thread}]
	}
	if root == m {
		return nil
	}
	return root
}

func (b *builder) apply(it export.Item) {
	ev := it.Event
	m := b.resolve(ev.Channel, ev.Target)
	if m == nil {
		if ev.Kind == onrecord.KindStatus && ev.Target == ev.Conversation {
			b.c.Timeline = append(b.c.Timeline, Entry{Kind: EntryStatus, Item: it})
			return
		}
		b.c.Orphans = append(b.c.Orphans, it)
		b.c.Timeline = append(b.c.Timeline, Entry{Kind: EntryOrphan, Item: it})
		return
	}
	k := keyOf(ev)
	if prev, ok := b.seen[k]; ok && prev == m && b.sameAsPlaced(m, it) {
		m.Duplicates = append(m.Duplicates, it)
		return
	}
	b.seen[k] = m
	switch ev.Kind {
	case onrecord.KindEdit:
		m.Versions = append(m.Versions, it)
	case onrecord.KindDelete:
		m.Deleted = append(m.Deleted, it)
	case onrecord.KindReaction:
		m.ReactionHistory = append(m.ReactionHistory, reactionOf(it))
	case onrecord.KindStatus:
		addStatus(m, it)
	}
}

// sameAsPlaced reports whether a record with an already-seen idempotency
// key says the same as the record placed before it. Only then is it a
// retry; a record that differs is a conflict the archive kept on purpose,
// and it is applied like any other.
func (b *builder) sameAsPlaced(m *Message, it export.Item) bool {
	var placed []export.Item
	switch it.Event.Kind {
	case onrecord.KindEdit:
		placed = m.Versions[1:]
	case onrecord.KindDelete:
		placed = m.Deleted
	case onrecord.KindReaction:
		for _, r := range m.ReactionHistory {
			placed = append(placed, r.Item)
		}
	case onrecord.KindStatus:
		for _, rc := range m.Statuses {
			for _, s := range rc.Statuses {
				placed = append(placed, s.Item)
			}
		}
	}
	for _, p := range placed {
		if keyOf(p.Event) == keyOf(it.Event) && sameContent(p.Event, it.Event) {
			return true
		}
	}
	return false
}

// sameContent compares what a record says, leaving out the times: a
// retry whose SentAt is a time of receipt differs only there.
func sameContent(a, b *onrecord.Event) bool {
	return a.Target == b.Target && a.Body == b.Body && a.Emoji == b.Emoji && a.Status == b.Status &&
		a.StatusError == b.StatusError && a.Sender.ID == b.Sender.ID
}

// participants collects senders and recipients in order of appearance.
func (b *builder) participants() {
	byID := map[string]*Participant{}
	see := func(p onrecord.Party, at time.Time, org bool) {
		if p.ID == "" {
			return
		}
		pt := byID[p.ID]
		if pt == nil {
			pt = &Participant{ID: p.ID, FirstSeen: at, LastSeen: at}
			byID[p.ID] = pt
			b.c.Participants = append(b.c.Participants, pt)
		}
		if at.Before(pt.FirstSeen) {
			pt.FirstSeen = at
		}
		if at.After(pt.LastSeen) {
			pt.LastSeen = at
		}
		if p.Name != "" && pt.Name() != p.Name {
			pt.Names = append(pt.Names, Name{Name: p.Name, FirstSeen: at})
		}
		pt.Organisation = pt.Organisation || org
	}
	for _, it := range b.c.Items {
		ev := it.Event
		if ev.Kind == onrecord.KindUnparsed {
			continue
		}
		if ev.Group {
			b.c.Group = true
		}
		if ev.GroupName != "" {
			b.c.GroupName = ev.GroupName
		}
		see(ev.Sender, ev.SentAt, ev.Direction == onrecord.Outbound)
		for _, p := range ev.Recipients {
			see(p, ev.SentAt, false)
		}
	}
}
