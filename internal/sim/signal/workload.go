package signalsim

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/onrecord/onrecord/internal/sim"
)

// item is one notification payload with the name of what it carries.
type item struct {
	kind string
	p    *payload
}

// msg is a message the generator has produced, for later references.
type msg struct {
	author person
	ts     int64
	grp    *group
	peer   person // the other party of a 1:1 chat
	text   string
	poll   bool
	gone   bool
}

type gen struct {
	s      *Sim
	acct   person
	rng    *rand.Rand
	clock  int64
	msgs   []*msg
	used   map[string]bool
	attSeq int
}

// newGen returns a generator; callers hold s.mu (attachments are
// registered as they are handed out).
func (s *Sim) newGen(seed int64) *gen {
	base := time.Date(2026, 3, 2, 14, 0, 0, 0, time.UTC).UnixMilli() + (seed%97)*3_600_000
	return &gen{
		s:     s,
		acct:  person{UUID: s.opts.AccountUUID, Number: s.opts.Account, Name: s.opts.AccountName},
		rng:   rand.New(rand.NewPCG(uint64(seed), 0x5167_6e61_6c00)),
		clock: base,
		used:  map[string]bool{},
	}
}

func (g *gen) tick() int64 {
	g.clock += 800 + g.rng.Int64N(120_000)
	return g.clock
}

func (g *gen) pick(ss []string) string { return ss[g.rng.IntN(len(ss))] }

func (g *gen) env(from person, ts int64) *envelope {
	recv := ts + 100 + g.rng.Int64N(800)
	return &envelope{
		Source: strp(from.id()), SourceNumber: strp(from.Number), SourceUUID: strp(from.UUID), SourceName: strp(from.Name),
		SourceDevice: intp(1), Timestamp: ts, ServerReceivedTimestamp: recv, ServerDeliveredTimestamp: recv + 5 + g.rng.Int64N(300),
	}
}

func (g *gen) payload(e *envelope) *payload { return &payload{Envelope: e, Account: g.acct.Number} }

func (grp *group) info() *groupInfo {
	if grp == nil {
		return nil
	}
	return &groupInfo{GroupID: grp.id(), GroupName: grp.Name, Revision: 3, Type: "DELIVER"}
}

func (g *gen) record(m *msg) *msg {
	g.msgs = append(g.msgs, m)
	return m
}

// send produces a data message from p: inbound, or, when p is the
// account, the sync transcript of what the employee sent from the phone.
func (g *gen) send(p person, peer person, grp *group, ts int64, dm *dataMessage) *envelope {
	dm.Timestamp = ts
	dm.GroupInfo = grp.info()
	if p.UUID != g.acct.UUID {
		e := g.env(p, ts)
		e.DataMessage = dm
		return e
	}
	e := g.env(g.acct, ts)
	sm := &sentMessage{dataMessage: dm}
	if grp == nil {
		sm.Destination, sm.DestinationNumber, sm.DestinationUUID = strp(peer.id()), strp(peer.Number), strp(peer.UUID)
	}
	e.SyncMessage = &syncMessage{SentMessage: sm}
	return e
}

func (g *gen) text(p, peer person, grp *group, body string) item {
	ts := g.tick()
	e := g.send(p, peer, grp, ts, &dataMessage{Message: strp(body)})
	g.record(&msg{author: p, ts: ts, grp: grp, peer: peer, text: body})
	return item{kindName(p, g.acct, grp, "text"), g.payload(e)}
}

func kindName(p, acct person, grp *group, base string) string {
	k := base
	if grp != nil {
		k = "group_" + k
	}
	if p.UUID == acct.UUID {
		k = "sync_sent_" + k
	}
	return k
}

func (g *gen) newAttachment(ct, name string, size int64) attachment {
	g.attSeq++
	ext := map[string]string{"image/jpeg": ".jpg", "image/png": ".png", "application/pdf": ".pdf", "audio/aac": ".aac"}[ct]
	id := fmt.Sprintf("sim%08x%04d%s", uint32(g.clock), g.attSeq, ext)
	g.s.attachments[id] = ct
	a := attachment{ContentType: ct, Filename: strp(name), ID: id, Size: size, UploadTimestamp: new(g.clock - 2000)}
	if ct == "image/jpeg" || ct == "image/png" {
		a.Width, a.Height = intp(1536), intp(2048)
	}
	return a
}

func (g *gen) attachmentMsg(p, peer person, grp *group, ct, name, caption string) item {
	ts := g.tick()
	a := g.newAttachment(ct, name, 48_000+g.rng.Int64N(900_000))
	a.Caption = strp(caption)
	e := g.send(p, peer, grp, ts, &dataMessage{Message: strp(caption), Attachments: []attachment{a}})
	g.record(&msg{author: p, ts: ts, grp: grp, peer: peer, text: caption})
	kind := "image"
	if ct == "application/pdf" {
		kind = "document"
	}
	return item{kindName(p, g.acct, grp, kind), g.payload(e)}
}

func (g *gen) quoteOf(m *msg) *quote {
	return &quote{ID: m.ts, Author: strp(m.author.id()), AuthorNumber: strp(m.author.Number), AuthorUUID: strp(m.author.UUID),
		Text: strp(m.text), Attachments: []quotedAttach{}}
}

// reply quotes m in its conversation.
func (g *gen) reply(p person, m *msg, body string) item {
	ts := g.tick()
	peer := m.peer
	if m.author.UUID != g.acct.UUID && m.grp == nil {
		peer = m.author
	}
	e := g.send(p, peer, m.grp, ts, &dataMessage{Message: strp(body), Quote: g.quoteOf(m)})
	g.record(&msg{author: p, ts: ts, grp: m.grp, peer: peer, text: body})
	return item{kindName(p, g.acct, m.grp, "quote_reply"), g.payload(e)}
}

func (g *gen) react(p person, m *msg, emoji string, remove bool) item {
	ts := g.tick()
	peer := m.peer
	if m.grp == nil && p.UUID == g.acct.UUID {
		peer = m.author
	}
	e := g.send(p, peer, m.grp, ts, &dataMessage{Reaction: &reaction{
		Emoji: emoji, TargetAuthor: strp(m.author.id()), TargetAuthorNumber: strp(m.author.Number), TargetAuthorUUID: strp(m.author.UUID),
		TargetSentTimestamp: m.ts, IsRemove: remove,
	}})
	k := "reaction"
	if remove {
		k = "reaction_remove"
	}
	return item{kindName(p, g.acct, m.grp, k), g.payload(e)}
}

func (g *gen) edit(m *msg, body string) item {
	ts := g.tick()
	dm := &dataMessage{Timestamp: ts, Message: strp(body), GroupInfo: m.grp.info()}
	em := &editMessage{TargetSentTimestamp: m.ts, DataMessage: dm}
	m.text = body
	if m.author.UUID != g.acct.UUID {
		e := g.env(m.author, ts)
		e.EditMessage = em
		return item{kindName(m.author, g.acct, m.grp, "edit"), g.payload(e)}
	}
	e := g.env(g.acct, ts)
	sm := &sentMessage{EditMessage: em}
	if m.grp == nil {
		sm.Destination, sm.DestinationNumber, sm.DestinationUUID = strp(m.peer.id()), strp(m.peer.Number), strp(m.peer.UUID)
	}
	e.SyncMessage = &syncMessage{SentMessage: sm}
	return item{kindName(m.author, g.acct, m.grp, "edit"), g.payload(e)}
}

func (g *gen) remoteDelete(m *msg) item {
	ts := g.tick()
	m.gone = true
	e := g.send(m.author, m.peer, m.grp, ts, &dataMessage{RemoteDelete: &remoteDelete{Timestamp: m.ts}})
	return item{kindName(m.author, g.acct, m.grp, "delete"), g.payload(e)}
}

// receipt is reader's delivery/read/viewed receipt for the account's
// messages ms.
func (g *gen) receipt(reader person, ms []*msg, status string) item {
	ts := g.tick()
	e := g.env(reader, ts)
	rm := &receiptMessage{When: ts, IsDelivery: status == "delivered", IsRead: status == "read", IsViewed: status == "viewed"}
	for _, m := range ms {
		rm.Timestamps = append(rm.Timestamps, m.ts)
	}
	e.ReceiptMessage = rm
	return item{"receipt_" + status, g.payload(e)}
}

// readSync: the employee read ms on the phone.
func (g *gen) readSync(ms []*msg) item {
	ts := g.tick()
	e := g.env(g.acct, ts)
	sm := &syncMessage{}
	for _, m := range ms {
		sm.ReadMessages = append(sm.ReadMessages, readMessage{Sender: strp(m.author.id()), SenderNumber: strp(m.author.Number),
			SenderUUID: strp(m.author.UUID), Timestamp: m.ts})
	}
	e.SyncMessage = sm
	return item{"sync_read", g.payload(e)}
}

func (g *gen) expiring(p, peer person, secs int, body string) item {
	ts := g.tick()
	e := g.send(p, peer, nil, ts, &dataMessage{Message: strp(body), ExpiresInSeconds: secs})
	g.record(&msg{author: p, ts: ts, peer: peer, text: body})
	return item{kindName(p, g.acct, nil, "disappearing"), g.payload(e)}
}

func (g *gen) expirationUpdate(p, peer person, secs int) item {
	ts := g.tick()
	e := g.send(p, peer, nil, ts, &dataMessage{ExpiresInSeconds: secs, IsExpirationUpdate: true})
	return item{kindName(p, g.acct, nil, "expiration_update"), g.payload(e)}
}

func (g *gen) call(p person) item { return g.callOf(p, g.rng.IntN(2) == 0) }

// callOf is a call offer (or, with offer false, a hang-up) from p.
func (g *gen) callOf(p person, offer bool) item {
	ts := g.tick()
	e := g.env(p, ts)
	id := g.rng.Uint64()
	if offer {
		e.CallMessage = &callMessage{OfferMessage: &callOffer{ID: id, Type: "AUDIO_CALL", Opaque: "AQIDBAUGBwg="}}
		return item{"call_offer", g.payload(e)}
	}
	e.CallMessage = &callMessage{HangupMessage: &callHangup{ID: id, Type: "NORMAL", DeviceID: 1}}
	return item{"call_hangup", g.payload(e)}
}

func (g *gen) story(p person) item {
	ts := g.tick()
	e := g.env(p, ts)
	e.StoryMessage = &storyMessage{AllowsReplies: true, TextAttachment: &textAttachment{
		Text: "Proud to support the Harbor Marathon this weekend!", Style: "DEFAULT", BackgroundColor: "#ff1e88e5"}}
	return item{"story", g.payload(e)}
}

func (g *gen) decryptionFailure(p person) item {
	ts := g.tick()
	e := g.env(p, ts)
	return item{"decryption_failure", &payload{Envelope: e, Account: g.acct.Number,
		Exception: &exception{Message: "org.signal.libsignal.protocol.InvalidMessageException: invalid PreKey message: decryption failed", Type: "ProtocolInvalidMessageException"}}}
}

func (g *gen) typing(p person, grp *group, action string) item {
	ts := g.tick()
	e := g.env(p, ts)
	e.TypingMessage = &typingMessage{Action: action, Timestamp: ts}
	if grp != nil {
		e.TypingMessage.GroupID = grp.id()
	}
	return item{"typing_" + map[string]string{"STARTED": "started", "STOPPED": "stopped"}[action], g.payload(e)}
}

// client picks a client and, sometimes, one of their groups.
func (g *gen) client() person { return clients[g.rng.IntN(len(clients))] }

func (g *gen) someGroup() (*group, person) {
	grp := groups[g.rng.IntN(len(groups))]
	return grp, grp.Members[g.rng.IntN(len(grp.Members))]
}

// find returns a random earlier live message matching ok, or nil.
func (g *gen) find(ok func(*msg) bool) *msg {
	if len(g.msgs) == 0 {
		return nil
	}
	// Recent messages are referred to most, as in real chats.
	for range 8 {
		i := len(g.msgs) - 1 - g.rng.IntN(min(len(g.msgs), 40))
		if m := g.msgs[i]; !m.gone && ok(m) {
			return m
		}
	}
	return nil
}

func (g *gen) mine(m *msg) bool { return m.author.UUID == g.acct.UUID }

// step produces one random item of a realistic mix.
func (g *gen) step() item {
	r := g.rng.IntN(100)
	switch {
	case r < 28:
		c := g.client()
		return g.text(c, g.acct, nil, g.pick(clientTexts))
	case r < 40:
		grp, p := g.someGroup()
		return g.text(p, g.acct, grp, g.pick(clientTexts))
	case r < 52:
		return g.text(g.acct, g.client(), nil, g.pick(employeeTexts))
	case r < 56:
		grp, _ := g.someGroup()
		return g.text(g.acct, person{}, grp, g.pick(employeeTexts))
	case r < 62:
		c := g.client()
		if g.rng.IntN(2) == 0 {
			return g.attachmentMsg(c, g.acct, nil, "image/jpeg", "signal-2026-03-02-cheque.jpg", "Photo of the cheque")
		}
		return g.attachmentMsg(c, g.acct, nil, "application/pdf", "Brokerage statement Feb 2026.pdf", "")
	case r < 67:
		if m := g.find(func(m *msg) bool { return g.mine(m) && m.grp == nil }); m != nil {
			return g.reply(m.peer, m, "Thanks Dana, that's clear.")
		}
	case r < 74:
		if g.rng.IntN(2) == 0 {
			if m := g.find(func(m *msg) bool { return g.mine(m) && m.grp == nil }); m != nil {
				return g.react(m.peer, m, g.pick([]string{"👍", "❤️", "🙏", "😂"}), false)
			}
		} else if m := g.find(func(m *msg) bool { return !g.mine(m) }); m != nil {
			return g.react(g.acct, m, "👍", false)
		}
	case r < 78:
		if m := g.find(func(m *msg) bool { return !m.poll }); m != nil {
			return g.edit(m, m.text+" (corrected)")
		}
	case r < 81:
		if m := g.find(func(m *msg) bool { return !m.poll }); m != nil {
			return g.remoteDelete(m)
		}
	case r < 90:
		status := g.pick([]string{"delivered", "read"})
		if m := g.find(func(m *msg) bool { return g.mine(m) }); m != nil {
			reader := m.peer
			if m.grp != nil {
				reader = m.grp.Members[g.rng.IntN(len(m.grp.Members))]
			}
			key := fmt.Sprint(m.ts, status, reader.UUID)
			if !g.used[key] {
				g.used[key] = true
				return g.receipt(reader, []*msg{m}, status)
			}
		}
	case r < 94:
		if m := g.find(func(m *msg) bool { return !g.mine(m) }); m != nil {
			key := fmt.Sprint(m.author.UUID, m.ts, "read")
			if !g.used[key] {
				g.used[key] = true
				return g.readSync([]*msg{m})
			}
		}
	case r < 96:
		return g.expiring(g.client(), g.acct, 604800, "Sending my new address for the statements: 12 Harbour Row, Boston")
	case r < 97:
		return g.expirationUpdate(g.client(), g.acct, 86400)
	case r < 98:
		return g.call(g.client())
	case r < 99:
		return g.story(g.client())
	default:
		return g.decryptionFailure(g.client())
	}
	// Nothing to refer to yet: a plain message instead.
	return g.text(g.client(), g.acct, nil, g.pick(clientTexts))
}

// items returns n workload items for seed. Called with s.mu held.
func (s *Sim) items(seed int64, n int) []item {
	g := s.newGen(seed)
	out := make([]item, 0, n)
	for range n {
		out = append(out, g.step())
	}
	return out
}

// Workload returns n pushed deliveries for seed: 1:1 and group messages
// both ways, media, replies, reactions, edits, deletes, receipts and read
// syncs that refer to earlier messages, in the body forms
// signal-cli-rest-api and signal-cli use. Each yields at least one event
// and no two share an event identity.
func (s *Sim) Workload(hookURL string, seed int64, n int) []sim.Delivery {
	s.mu.Lock()
	its := s.items(seed, n)
	s.mu.Unlock()
	rng := rand.New(rand.NewPCG(uint64(seed), 0xf0f0))
	out := make([]sim.Delivery, 0, len(its))
	for _, it := range its {
		form := formJSONRPC
		switch r := rng.IntN(20); {
		case r < 5:
			form = formPayload
		case r == 5:
			form = formSubscription
		}
		out = append(out, s.delivery(hookURL, it.kind, it.p, form))
	}
	return out
}
