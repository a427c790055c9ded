package eml

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/export"
)

// messageID is the Message-ID of the record (channel, providerID, kind),
// angle brackets included. It hashes the event's idempotency key, which the
// archive already holds unique, so ids are stable across productions and
// never collide between records; the channel is repeated in the domain only
// so a reader can see where a message came from.
func messageID(channel, providerID string, kind onrecord.EventKind) string {
	e := onrecord.Event{Channel: channel, ProviderID: providerID, Kind: kind}
	sum := sha256.Sum256([]byte(e.IdempotencyKey()))
	return "<" + hex.EncodeToString(sum[:16]) + "@" + domain(channel) + ">"
}

// threading knows, for every item, the Message-IDs it threads under: the
// first message of its conversation, the first message of its thread, the
// message it replies to and the message it is about.
type threading struct {
	// byProvider maps channel+provider id to the Message-ID of the item in
	// this production with that provider id, a message preferred: an edit's
	// Target is the provider id of the original, whatever kind the
	// original's own record has.
	byProvider map[string]string
	convRoot   map[string]string // channel+conversation → Message-ID
	threadRoot map[string]string // channel+conversation+thread → Message-ID
}

func key(parts ...string) string { return strings.Join(parts, "\x00") }

func newThreading(items []export.Item) *threading {
	th := &threading{byProvider: map[string]string{}, convRoot: map[string]string{}, threadRoot: map[string]string{}}
	isMsg := map[string]bool{}
	for _, it := range items {
		e := it.Event
		k := key(e.Channel, e.ProviderID)
		if _, ok := th.byProvider[k]; !ok || (e.Kind == onrecord.KindMessage && !isMsg[k]) {
			th.byProvider[k] = messageID(e.Channel, e.ProviderID, e.Kind)
			isMsg[k] = e.Kind == onrecord.KindMessage
		}
	}
	rootIsMsg := map[string]bool{}
	for _, g := range export.Conversations(items) {
		e0 := g[0].Event
		if e0.Conversation == "" {
			// Unparsed deliveries have no conversation; they are not one thread.
			continue
		}
		ck := key(e0.Channel, e0.Conversation)
		// The conversation root is its first message; failing that (a
		// production of only reactions, say), its first item.
		th.convRoot[ck] = messageID(e0.Channel, e0.ProviderID, e0.Kind)
		for _, it := range g {
			if it.Event.Kind == onrecord.KindMessage {
				th.convRoot[ck] = messageID(it.Event.Channel, it.Event.ProviderID, it.Event.Kind)
				break
			}
		}
		for _, it := range g {
			e := it.Event
			if e.Thread == "" {
				continue
			}
			tk := key(ck, e.Thread)
			if _, ok := th.threadRoot[tk]; !ok || (e.Kind == onrecord.KindMessage && !rootIsMsg[tk]) {
				th.threadRoot[tk] = messageID(e.Channel, e.ProviderID, e.Kind)
				rootIsMsg[tk] = e.Kind == onrecord.KindMessage
			}
		}
	}
	return th
}

// original is the Message-ID of the record with providerID on channel: the
// one in this production if there is one, else the id that record's message
// would have, so the reference still resolves in a larger production.
func (th *threading) original(channel, providerID string) string {
	if id, ok := th.byProvider[key(channel, providerID)]; ok {
		return id
	}
	return messageID(channel, providerID, onrecord.KindMessage)
}

// refs returns e's References, outermost first, and its In-Reply-To: the
// innermost of them (what e answers or is about).
func (th *threading) refs(e *onrecord.Event) (references []string, inReplyTo string) {
	self := messageID(e.Channel, e.ProviderID, e.Kind)
	add := func(id string) {
		if id == "" || id == self {
			return
		}
		for _, r := range references {
			if r == id {
				return
			}
		}
		references = append(references, id)
	}
	if e.Conversation != "" {
		ck := key(e.Channel, e.Conversation)
		add(th.convRoot[ck])
		if e.Thread != "" {
			add(th.threadRoot[key(ck, e.Thread)])
		}
	}
	if e.ReplyTo != "" {
		add(th.original(e.Channel, e.ReplyTo))
	}
	if aboutOther(e.Kind) && e.Target != "" {
		add(th.original(e.Channel, e.Target))
	}
	if len(references) > 0 {
		inReplyTo = references[len(references)-1]
	}
	return references, inReplyTo
}

// aboutOther reports whether events of kind k are about another message,
// named by Target.
func aboutOther(k onrecord.EventKind) bool {
	switch k {
	case onrecord.KindEdit, onrecord.KindDelete, onrecord.KindReaction, onrecord.KindStatus:
		return true
	}
	return false
}
