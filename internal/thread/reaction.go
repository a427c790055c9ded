package thread

import (
	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/export"
)

// Reaction is one reaction record, or a reaction in place.
type Reaction struct {
	export.Item
	Sender onrecord.Party
	// Emoji is what was added or, for an un-reaction, what was removed;
	// an un-reaction with Emoji "" removes all of the sender's reactions.
	// Reactions that are not an emoji are named by their kind
	// ("custom_emoji:ID", "paid").
	Emoji   string
	Removed bool
}

// reactionOf reads a reaction record. An empty Emoji is an un-reaction,
// as the canonical event defines it; the exception is Telegram's
// custom-emoji and paid reactions, which have no emoji but say what they
// are in Meta and are marked "removed" when they are taken back. Channels
// that name the reaction an un-reaction removes (Slack's "reaction",
// Signal's and Telegram's "removed_emoji") remove only that one.
func reactionOf(it export.Item) Reaction {
	ev := it.Event
	r := Reaction{Item: it, Sender: ev.Sender, Emoji: ev.Emoji}
	if ev.Emoji != "" {
		return r
	}
	other := otherReaction(ev.Meta)
	if ev.Meta["removed"] != "true" && other != "" {
		r.Emoji = other
		return r
	}
	r.Removed = true
	switch {
	case ev.Meta["removed_emoji"] != "":
		r.Emoji = ev.Meta["removed_emoji"]
	case other != "":
		r.Emoji = other
	case ev.Meta["reaction"] != "":
		// Slack writes an added reaction's Emoji as ":name:".
		r.Emoji = ":" + ev.Meta["reaction"] + ":"
	}
	return r
}

// otherReaction names a Telegram reaction that is not an emoji.
func otherReaction(meta map[string]string) string {
	if id := meta["custom_emoji_id"]; id != "" {
		return "custom_emoji:" + id
	}
	if t := meta["reaction_type"]; t != "" && t != "emoji" {
		return t
	}
	return ""
}

// severalPerSender reports whether the record comes from a channel where
// one person can keep several reactions on a message (Slack, Telegram):
// those channels say so in Meta and send an explicit removal for each
// reaction taken back. Elsewhere (WhatsApp, Signal) a person has one
// reaction, and a new one replaces it without a removal record.
func severalPerSender(ev *onrecord.Event) bool {
	_, slack := ev.Meta["reaction"]
	_, telegram := ev.Meta["reaction_type"]
	return slack || telegram
}

// current applies a reaction history in order and returns the reactions
// left in place, in the order they were made.
func current(history []Reaction) []Reaction {
	var in []Reaction
	for _, r := range history {
		keep := in[:0:0]
		for _, x := range in {
			drop := x.Sender.ID == r.Sender.ID &&
				((r.Removed && (r.Emoji == "" || r.Emoji == x.Emoji)) ||
					(!r.Removed && (x.Emoji == r.Emoji || !severalPerSender(r.Event))))
			if !drop {
				keep = append(keep, x)
			}
		}
		in = keep
		if !r.Removed {
			in = append(in, r)
		}
	}
	return in
}
