package slacksim

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/onrecord/onrecord/internal/sim"
)

var (
	clientLines = []string{
		"Can you send me the latest statement for the brokerage account?",
		"What is the current yield on the 2y treasury ladder?",
		"Please sell 1,200 shares of MSFT at market.",
		"We need the wire to Zurich released today, reference WFO-%d.",
		"Is the Q%d performance report final?",
		"Could we lower the cash allocation to %d%%?",
		"Thanks, received. 👍",
		"Let's discuss the muni exposure on our next call.",
		"Jonas here from the café – will call after lunch.",
		"Keep this between us: the deal is not public yet.",
	}
	staffLines = []string{
		"Confirmed, the order is working. I will send the fill shortly.",
		"Attached is the revised proposal, page %d has the fee schedule.",
		"Compliance needs the signed suitability form before we proceed.",
		"The wire is released, Fed reference %d.",
		"Rates are up 4bp this morning; happy to walk you through it.",
		"Noted. I have flagged this for the investment committee.",
		"Market is closed for the holiday on Monday.",
		"Your quarterly review is booked for Thursday.",
		"Let's take this offline, call my cell.",
	}
	emojis = []string{"+1", "white_check_mark", "eyes", "pray", "moneybag", "heavy_check_mark"}
)

type liveMsg struct {
	conv   conversation
	ts     string
	author person
	text   string
	thread string
}

type liveReaction struct {
	conv     conversation
	ts       string
	user     person
	itemUser person
	emoji    string
}

// Workload is n varied deliveries for seed: messages in every
// conversation, thread replies, files, bot posts, and edits, deletes and
// reactions referring to earlier messages. Bodies are the same for the
// same seed (only the signature timestamp changes); ids never repeat, so
// every delivery yields at least one new event.
func (s *Sim) Workload(hookURL string, seed int64, n int) []sim.Delivery {
	r := rand.New(rand.NewPCG(uint64(seed), 0x51ac4e75))
	convs := conversations()
	// Different seeds get different days so their message ids never meet.
	start := time.Date(2026, 3, 3, 8, 0, 0, 0, time.UTC).AddDate(0, 0, int(uint64(seed)%3650))
	var live []liveMsg
	var reactions []liveReaction
	out := make([]sim.Delivery, 0, n)
	for i := range n {
		at := start.Add(time.Duration(i)*2*time.Second + time.Duration(r.IntN(1_000_000))*time.Microsecond)
		ts := slackTS(at)
		eventID := fmt.Sprintf("Ev%X%07d", uint64(seed)&0xffffff, i)
		wrap := func(ev any, c conversation) outer {
			return s.envelope(ev, eventID, at, c.Type == "im" || c.Type == "channel")
		}
		roll := r.IntN(100)
		switch {
		case roll < 10 && len(live) > 0: // edit
			k := r.IntN(len(live))
			m := &live[k]
			newText := m.text + " (corrected)"
			cur := msg{ClientMsgID: clientMsgID(m.ts), Type: "message", Text: newText, User: m.author.ID, Team: m.author.Team,
				Edited: &editedBy{User: m.author.ID, TS: ts}, TS: m.ts, ThreadTS: m.thread}
			prev := msg{ClientMsgID: clientMsgID(m.ts), Type: "message", Text: m.text, User: m.author.ID, Team: m.author.Team, TS: m.ts, ThreadTS: m.thread}
			m.text = newText
			out = append(out, s.workloadDelivery("message_changed", hookURL, wrap(&msg{Type: "message", Subtype: "message_changed", Hidden: true,
				Message: &cur, PreviousMessage: &prev, Channel: m.conv.ID, TS: ts, EventTS: ts, ChannelType: m.conv.Type}, m.conv)))
		case roll < 15 && len(live) > 0: // delete, each message at most once
			k := r.IntN(len(live))
			m := live[k]
			live = append(live[:k], live[k+1:]...)
			// Reactions go with the message: none is removed later.
			kept := reactions[:0]
			for _, lr := range reactions {
				if lr.conv.ID != m.conv.ID || lr.ts != m.ts {
					kept = append(kept, lr)
				}
			}
			reactions = kept
			prev := msg{Type: "message", Text: m.text, User: m.author.ID, Team: m.author.Team, TS: m.ts, ThreadTS: m.thread}
			out = append(out, s.workloadDelivery("message_deleted", hookURL, wrap(&msg{Type: "message", Subtype: "message_deleted", Hidden: true,
				DeletedTS: m.ts, PreviousMessage: &prev, Channel: m.conv.ID, TS: ts, EventTS: ts, ChannelType: m.conv.Type}, m.conv)))
		case roll < 30 && len(live) > 0: // reaction_added
			m := live[r.IntN(len(live))]
			who := m.conv.Members[r.IntN(len(m.conv.Members))]
			lr := liveReaction{conv: m.conv, ts: m.ts, user: who, itemUser: m.author, emoji: emojis[r.IntN(len(emojis))]}
			reactions = append(reactions, lr)
			out = append(out, s.workloadDelivery("reaction_added", hookURL, wrap(reactionEvent{Type: "reaction_added", User: who.ID,
				Reaction: lr.emoji, Item: reactionItem{Type: "message", Channel: m.conv.ID, TS: m.ts}, ItemUser: m.author.ID, EventTS: ts}, m.conv)))
		case roll < 35 && len(reactions) > 0: // reaction_removed
			k := r.IntN(len(reactions))
			lr := reactions[k]
			reactions = append(reactions[:k], reactions[k+1:]...)
			out = append(out, s.workloadDelivery("reaction_removed", hookURL, wrap(reactionEvent{Type: "reaction_removed", User: lr.user.ID,
				Reaction: lr.emoji, Item: reactionItem{Type: "message", Channel: lr.conv.ID, TS: lr.ts}, ItemUser: lr.itemUser.ID, EventTS: ts}, lr.conv)))
		case roll < 39: // the archive app's own notice, outbound
			c := convs[r.IntN(len(convs))]
			m := &msg{Type: "message", Text: "This conversation is recorded and retained under SEC 17a-4.", User: s.opts.BotUserID,
				BotID: s.opts.BotID, AppID: s.opts.APIAppID, TS: ts, Team: s.opts.TeamID, Channel: c.ID, EventTS: ts, ChannelType: c.Type,
				BotProfile: &botProfile{ID: s.opts.BotID, Name: "onrecord", Updated: start.Unix(), AppID: s.opts.APIAppID, TeamID: s.opts.TeamID}}
			out = append(out, s.workloadDelivery("app_message", hookURL, wrap(m, c)))
			live = append(live, liveMsg{conv: c, ts: ts, author: person{Team: s.opts.TeamID}, text: m.Text})
			live[len(live)-1].author.ID = s.opts.BotUserID
		case roll < 42: // someone joins a channel
			c := convs[1+r.IntN(len(convs)-1)]
			p := staff[r.IntN(len(staff))]
			out = append(out, s.workloadDelivery("member_joined_channel", hookURL, wrap(map[string]any{"type": "member_joined_channel",
				"user": p.ID, "channel": c.ID, "channel_type": "C", "team": p.Team, "event_ts": ts}, c)))
		default: // a message, maybe in a thread, maybe with a file
			c := convs[r.IntN(len(convs))]
			p := c.Members[r.IntN(len(c.Members))]
			text := line(r, p)
			m := &msg{ClientMsgID: clientMsgID(ts), Type: "message", Text: text, User: p.ID, UserProfile: p.profile(),
				TS: ts, Team: p.Team, Channel: c.ID, EventTS: ts, ChannelType: c.Type}
			kind := "message_" + c.Type
			if len(live) > 0 && r.IntN(5) == 0 {
				parent := live[r.IntN(len(live))]
				if parent.conv.ID == c.ID {
					m.ThreadTS, m.ParentUserID = or(parent.thread, parent.ts), parent.author.ID
					kind = "thread_reply"
				}
			}
			if r.IntN(10) == 0 {
				id := fmt.Sprintf("F0W%X%06d", uint64(seed)&0xfff, i)
				m.Subtype, m.Upload = "file_share", true
				m.Files = []simFile{s.newFile(id, fmt.Sprintf("statement-%d.pdf", i), "Statement", "application/pdf", "pdf", "PDF", p, at, true)}
				kind = "file_share"
			}
			out = append(out, s.workloadDelivery(kind, hookURL, wrap(m, c)))
			live = append(live, liveMsg{conv: c, ts: ts, author: p, text: text, thread: m.ThreadTS})
		}
	}
	return out
}

func (s *Sim) workloadDelivery(kind, hookURL string, v any) sim.Delivery {
	b, err := marshal(v)
	if err != nil {
		panic(err) // only the fixed types above are marshalled
	}
	return s.delivery(kind, hookURL, b, "application/json")
}

func line(r *rand.Rand, p person) string {
	lines := clientLines
	if p.Team == maria.Team {
		lines = staffLines
	}
	l := lines[r.IntN(len(lines))]
	if !strings.Contains(l, "%d") {
		return l
	}
	return fmt.Sprintf(l, 1+r.IntN(40))
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
