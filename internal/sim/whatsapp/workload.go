package whatsappsim

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/onrecord/onrecord/internal/sim"
)

// Workload returns n deliveries of realistic, varied traffic, the same for
// the same seed: customer messages in 1:1 chats and a group, media, staff
// replies from the Business app, receipts, reactions, edits and revokes
// that refer to earlier messages. Every delivery yields at least one event
// and no two yield the same (provider id, kind); ids embed the seed, so
// workloads of different seeds do not collide either.
func (s *Sim) Workload(hookURL string, seed int64, n int) []sim.Delivery {
	w := &workload{
		s: s, hook: hookURL, seed: seed,
		rng: rand.New(rand.NewPCG(uint64(seed), 0x6f6e7265636f7264)),
		now: scriptStart.Add(24 * time.Hour).Unix(),
	}
	for len(w.out) < n {
		w.step()
	}
	return w.out
}

type msgRef struct {
	id      string
	who     sim.Person
	group   bool
	revoked bool
}

type outRef struct {
	id    string
	to    sim.Person
	group bool
	next  int
}

type workload struct {
	s    *Sim
	hook string
	seed int64
	rng  *rand.Rand
	now  int64
	n    int
	out  []sim.Delivery

	inbound  []*msgRef
	outbound []*outRef
	pending  []*outRef // outbound with receipts still to come
}

var groupMembers = []sim.Person{clientMargaret, clientChloe, clientDaniel}

var receiptOrder = []string{"sent", "delivered", "read"}

var clientLines = []string{
	"Could you confirm the settlement date for the %d shares?",
	"Please sell %d units of the money-market fund and wire the proceeds to my HSBC account.",
	"I saw the rate change — does it affect my %d-day deposit?",
	"Can we move our review to Thursday? I have a conflict at %d.",
	"Is the €%d transfer from Lisbon through yet?",
	"My accountant asks for the 1099 for account ending %d.",
	"¿Podría enviarme el extracto de la cuenta terminada en %d?",
	"Merci pour l'appel — je confirme l'ordre de %d titres.",
	"Bitte bestätigen Sie die Überweisung über %d €.",
	"I never authorized the sale of %d shares. I want my money back.",
	"Just text me on my personal number, it's easier than this app. Ref %d.",
}

var staffLines = []string{
	"Hi %s, %s here — the order is booked, confirmation to follow.",
	"Thanks %s. %s from Harbor Point: I've sent the documents to compliance for review.",
	"%s, this is %s. The transfer settled this morning.",
	"Good afternoon %s — %s here. Can you call me when you have five minutes?",
	"%s, honestly this one is a guaranteed return — %s will call you with details.",
}

var emojis = []string{"👍", "🙏", "✅", "❤️", "😂", "😮"}

func (w *workload) tick() string {
	w.now += 3 + w.rng.Int64N(88)
	return strconv.FormatInt(w.now, 10)
}

func (w *workload) newID() string {
	w.n++
	return wamid(fmt.Sprintf("load:%d:%d", w.seed, w.n))
}

func (w *workload) client() sim.Person { return clients[w.rng.IntN(len(clients))] }

func (w *workload) clientText() string {
	return fmt.Sprintf(clientLines[w.rng.IntN(len(clientLines))], 10+w.rng.IntN(9990))
}

func (w *workload) step() {
	switch r := w.rng.IntN(100); {
	case r < 30:
		w.inboundText(w.client(), false)
	case r < 40:
		w.inboundText(groupMembers[w.rng.IntN(len(groupMembers))], true)
	case r < 50:
		w.inboundMedia()
	case r < 62:
		w.echo()
	case r < 82:
		w.receipt()
	case r < 88:
		w.reaction()
	case r < 93:
		w.edit()
	case r < 96:
		w.revoke()
	default:
		w.batch()
	}
}

// deliverInbound sends customer messages from who in one delivery.
func (w *workload) deliverInbound(kind string, who sim.Person, ms ...*message) {
	v := w.s.value()
	v.Contacts = []contact{{Profile: profile{Name: who.Name}, WaID: who.ID}}
	v.Messages = ms
	w.out = append(w.out, w.s.webhook(kind, w.hook, w.s.envelope("messages", v)))
}

func (w *workload) inboundText(who sim.Person, group bool) {
	m := &message{From: who.ID, ID: w.newID(), Timestamp: w.tick(), Type: "text", Text: &text{Body: w.clientText()}}
	kind := "text"
	if group {
		m.GroupID, kind = familyOfficeGroup, "group_text"
	}
	if len(w.outbound) > 0 && w.rng.IntN(5) == 0 && !group {
		// A reply quoting something the bank sent.
		o := w.outbound[w.rng.IntN(len(w.outbound))]
		m.Context, kind = &msgContext{From: w.s.opts.DisplayPhoneNumber, ID: o.id}, "reply"
	}
	w.inbound = append(w.inbound, &msgRef{id: m.ID, who: who, group: group})
	w.deliverInbound(kind, who, m)
}

func (w *workload) inboundMedia() {
	who := w.client()
	id := w.newID()
	m := &message{From: who.ID, ID: id, Timestamp: w.tick()}
	switch w.rng.IntN(4) {
	case 0:
		m.Type, m.Image = "image", w.s.newMedia(id, "image/jpeg")
		m.Image.Caption = "Signed page " + strconv.Itoa(1+w.rng.IntN(9))
	case 1:
		m.Type, m.Document = "document", w.s.newMedia(id, "application/pdf")
		m.Document.Filename = fmt.Sprintf("statement-%04d.pdf", w.rng.IntN(10000))
	case 2:
		m.Type, m.Audio = "audio", w.s.newMedia(id, "audio/ogg; codecs=opus")
		m.Audio.Voice = ptr(true)
	default:
		m.Type, m.Video = "video", w.s.newMedia(id, "video/mp4")
	}
	w.inbound = append(w.inbound, &msgRef{id: id, who: who})
	w.deliverInbound(m.Type, who, m)
}

func (w *workload) echo() {
	to := w.client()
	staff := employees[w.rng.IntN(len(employees))]
	m := &message{From: w.s.opts.DisplayPhoneNumber, To: to.ID, ID: w.newID(), Timestamp: w.tick(), Type: "text",
		Text: &text{Body: fmt.Sprintf(staffLines[w.rng.IntN(len(staffLines))], to.Name, staff)}}
	v := w.s.value()
	v.Contacts = []contact{{Profile: profile{Name: to.Name}, WaID: to.ID}}
	v.MessageEchoes = []*message{m}
	o := &outRef{id: m.ID, to: to}
	w.outbound = append(w.outbound, o)
	w.pending = append(w.pending, o)
	w.out = append(w.out, w.s.webhook("echo_text", w.hook, w.s.envelope("smb_message_echoes", v)))
}

// receipt sends the next status of a pending outbound message, or the
// first of a message just sent through the API (to a client or the group).
func (w *workload) receipt() {
	var o *outRef
	if len(w.pending) > 0 && w.rng.IntN(4) != 0 {
		i := w.rng.IntN(len(w.pending))
		o = w.pending[i]
		if o.next == len(receiptOrder)-1 {
			w.pending = append(w.pending[:i], w.pending[i+1:]...)
		}
	} else {
		o = &outRef{id: w.newID(), to: w.client(), group: w.rng.IntN(5) == 0}
		w.outbound = append(w.outbound, o)
		w.pending = append(w.pending, o)
	}
	st := &status{ID: o.id, Status: receiptOrder[o.next], Timestamp: w.tick(), RecipientID: o.to.ID}
	o.next++
	kind := "status_" + st.Status
	if o.group {
		st.RecipientID, st.RecipientType = familyOfficeGroup, "group"
		st.RecipientParticipantID = groupMembers[w.rng.IntN(len(groupMembers))].ID
		kind = "group_status"
	}
	v := w.s.value()
	v.Statuses = []*status{st}
	w.out = append(w.out, w.s.webhook(kind, w.hook, w.s.envelope("messages", v)))
}

func (w *workload) reaction() {
	var target string
	who := w.client()
	switch {
	case len(w.outbound) > 0 && w.rng.IntN(2) == 0:
		o := w.outbound[w.rng.IntN(len(w.outbound))]
		target = o.id
		if !o.group {
			who = o.to
		}
	case len(w.inbound) > 0:
		in := w.inbound[w.rng.IntN(len(w.inbound))]
		target, who = in.id, in.who
	default:
		w.inboundText(who, false)
		return
	}
	emoji := emojis[w.rng.IntN(len(emojis))]
	kind := "reaction"
	if w.rng.IntN(6) == 0 {
		emoji, kind = "", "unreaction"
	}
	m := &message{From: who.ID, ID: w.newID(), Timestamp: w.tick(), Type: "reaction", Reaction: &reaction{MessageID: target, Emoji: ptr(emoji)}}
	w.deliverInbound(kind, who, m)
}

// live picks an inbound text or media message that has not been revoked.
func (w *workload) live() *msgRef {
	for range 4 {
		if len(w.inbound) == 0 {
			return nil
		}
		if in := w.inbound[w.rng.IntN(len(w.inbound))]; !in.revoked {
			return in
		}
	}
	return nil
}

func (w *workload) edit() {
	in := w.live()
	if in == nil {
		w.inboundText(w.client(), false)
		return
	}
	m := &message{From: in.who.ID, ID: w.newID(), Timestamp: w.tick(), Type: "edit",
		Edit: &edit{OriginalMessageID: in.id, Message: &message{Type: "text", Text: &text{Body: w.clientText() + " (corrected)"}}}}
	if in.group {
		m.GroupID = familyOfficeGroup
	}
	w.deliverInbound("edit", in.who, m)
}

func (w *workload) revoke() {
	in := w.live()
	if in == nil {
		w.inboundText(w.client(), false)
		return
	}
	in.revoked = true
	m := &message{From: in.who.ID, ID: w.newID(), Timestamp: w.tick(), Type: "revoke", Revoke: &revoke{OriginalMessageID: in.id}}
	if in.group {
		m.GroupID = familyOfficeGroup
	}
	w.deliverInbound("revoke", in.who, m)
}

// batch is several messages from one customer in one POST, as Meta sends
// bursts.
func (w *workload) batch() {
	who := w.client()
	k := 2 + w.rng.IntN(2)
	ms := make([]*message, k)
	for i := range ms {
		ms[i] = &message{From: who.ID, ID: w.newID(), Timestamp: w.tick(), Type: "text", Text: &text{Body: w.clientText()}}
		w.inbound = append(w.inbound, &msgRef{id: ms[i].ID, who: who})
	}
	w.deliverInbound("batch", who, ms...)
}
