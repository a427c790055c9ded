package signalsim

import (
	"github.com/onrecord/onrecord/internal/sim"
)

// Deliveries returns a scripted set of pushed deliveries covering every
// envelope kind signal-cli emits, in all three body forms, each named by
// Kind. Typing indicators ("typing_started", "typing_stopped") yield
// events only on a channel with keep_typing.
func (s *Sim) Deliveries(hookURL string) []sim.Delivery {
	s.mu.Lock()
	its := s.scripted()
	s.mu.Unlock()
	out := make([]sim.Delivery, 0, len(its))
	for i, it := range its {
		form := formJSONRPC
		switch {
		case it.kind == "text_payload_form":
			form = formPayload
		case it.kind == "text_subscription_form":
			form = formSubscription
		case i%3 == 1:
			form = formPayload
		}
		out = append(out, s.delivery(hookURL, it.kind, it.p, form))
	}
	return out
}

// scripted builds the fixed conversation. Called with s.mu held.
func (s *Sim) scripted() []item {
	g := s.newGen(42)
	acct := g.acct
	marcus, priya, elena, henry := clients[0], clients[1], clients[2], clients[5]
	chen, trust := groups[0], groups[1]
	var out []item
	add := func(it item) { out = append(out, it) }

	add(g.text(marcus, acct, nil, "Hi Dana, can we move the call about the bond ladder to Thursday?"))
	first := g.msgs[len(g.msgs)-1]
	it := g.text(priya, acct, nil, "Please confirm the wire to the escrow account went out today.")
	it.kind = "text_payload_form"
	add(it)
	it = g.text(henry, acct, nil, "New phone, same me. This is Henry Liu.")
	it.kind = "text_subscription_form"
	add(it)
	add(g.text(acct, marcus, nil, "Thursday at 10:00 works, I've sent an updated invite."))
	mine := g.msgs[len(g.msgs)-1]
	add(g.text(elena, acct, chen, "Morning all — are we still on for the estate-planning review?"))
	groupMsg := g.msgs[len(g.msgs)-1]
	add(g.text(acct, person{}, chen, "Yes, 3pm in the Boylston Street office."))
	myGroupMsg := g.msgs[len(g.msgs)-1]

	// Mentions: U+FFFC placeholders with their positions, and a bold run.
	ts := g.tick()
	body := "\uFFFC can you send Elena the trust deed?"
	e := g.send(elena, acct, chen, ts, &dataMessage{Message: &body,
		Mentions:   []mention{{Name: strp(acct.Name), Number: strp(acct.Number), UUID: strp(acct.UUID), Start: 0, Length: 1}},
		TextStyles: []textStyle{{Style: "BOLD", Start: 14, Length: 5}}})
	g.record(&msg{author: elena, ts: ts, grp: chen, text: body})
	add(item{"group_mention", g.payload(e)})

	add(g.attachmentMsg(priya, acct, nil, "image/jpeg", "signal-2026-03-02-141502.jpg", "Photo of the cheque"))
	add(g.attachmentMsg(marcus, acct, nil, "application/pdf", "Brokerage statement Feb 2026.pdf", ""))
	add(g.reply(marcus, mine, "Perfect, see you then."))
	add(g.expiring(priya, acct, 604800, "Sending my new address for the statements: 12 Harbour Row, Boston"))
	add(g.expirationUpdate(priya, acct, 86400))

	// View-once photo.
	ts = g.tick()
	a := g.newAttachment("image/jpeg", "", 91_204)
	e = g.send(marcus, acct, nil, ts, &dataMessage{ViewOnce: true, Attachments: []attachment{a}})
	g.record(&msg{author: marcus, ts: ts, peer: acct})
	add(item{"view_once", g.payload(e)})

	ts = g.tick()
	e = g.send(priya, acct, nil, ts, &dataMessage{Sticker: &sticker{PackID: "9acc9e8aba563d26a4994e69263e3b25", PackKey: "5a6dff3948c28efb9b7aaf93ecc375c69fc316e78077ed26867a14d10a0f6a12", StickerID: 7}})
	g.record(&msg{author: priya, ts: ts, peer: acct})
	add(item{"sticker", g.payload(e)})

	ts = g.tick()
	e = g.send(marcus, acct, nil, ts, &dataMessage{Contacts: []sharedContact{{
		Name:  contactName{Given: strp("Laura"), Family: strp("Chen")},
		Phone: []contactPhone{{Value: "+15550199", Type: "MOBILE"}}, Organization: strp("Chen Family Office"),
	}}})
	g.record(&msg{author: marcus, ts: ts, peer: acct})
	add(item{"contact", g.payload(e)})

	ts = g.tick()
	link := "Have you seen this? https://www.federalreserve.gov/newsevents/pressreleases/monetary20260318a.htm"
	e = g.send(marcus, acct, nil, ts, &dataMessage{Message: &link, Previews: []preview{{
		URL: "https://www.federalreserve.gov/newsevents/pressreleases/monetary20260318a.htm", Title: "Federal Reserve issues FOMC statement",
		Description: "The Federal Open Market Committee decided to maintain the target range for the federal funds rate."}}})
	g.record(&msg{author: marcus, ts: ts, peer: acct, text: link})
	add(item{"link_preview", g.payload(e)})

	// A poll in the trust committee group, a vote and its close.
	ts = g.tick()
	e = g.send(priya, acct, trust, ts, &dataMessage{PollCreate: &pollCreate{Question: "Which date suits the annual trust review?",
		AllowMultiple: false, Options: []string{"Tue 14 April", "Thu 16 April", "Mon 20 April"}}})
	poll := g.record(&msg{author: priya, ts: ts, grp: trust, poll: true})
	add(item{"poll_create", g.payload(e)})
	ts = g.tick()
	e = g.send(clients[3], acct, trust, ts, &dataMessage{PollVote: &pollVote{Author: strp(priya.Number), AuthorNumber: strp(priya.Number),
		AuthorUUID: strp(priya.UUID), TargetSentTimestamp: poll.ts, OptionIndexes: []int{1}, VoteCount: 1}})
	add(item{"poll_vote", g.payload(e)})
	ts = g.tick()
	e = g.send(priya, acct, trust, ts, &dataMessage{PollTerminate: &pollTerminate{TargetSentTimestamp: poll.ts}})
	add(item{"poll_terminate", g.payload(e)})

	add(g.edit(first, "Hi Dana, can we move the call about the bond ladder to Friday?"))
	add(g.edit(groupMsg, "Morning all — are we still on for the estate-planning review tomorrow?"))
	add(g.react(marcus, mine, "👍", false))
	add(g.react(marcus, mine, "👍", true))
	add(g.react(elena, myGroupMsg, "🙏", false))
	add(g.react(acct, first, "❤️", false))
	add(g.receipt(marcus, []*msg{mine}, "delivered"))
	add(g.receipt(marcus, []*msg{mine}, "read"))
	add(g.receipt(elena, []*msg{myGroupMsg}, "read"))
	add(g.receipt(marcus, []*msg{mine}, "viewed"))
	add(g.readSync([]*msg{first, groupMsg}))

	// The employee corrects, then retracts, a message from the phone.
	add(g.text(acct, priya, nil, "The wire was released at 14:05 ET; reference HB-20147."))
	wire := g.msgs[len(g.msgs)-1]
	add(g.edit(wire, "The wire was released at 14:05 ET; reference HB-20417."))
	add(g.remoteDelete(wire))
	add(g.remoteDelete(g.msgs[1]))

	// Group membership change: a group update with no content.
	ts = g.tick()
	e = g.env(clients[3], ts)
	gi := trust.info()
	gi.Type, gi.Revision = "UPDATE", 4
	e.DataMessage = &dataMessage{Timestamp: ts, GroupInfo: gi}
	add(item{"group_update", g.payload(e)})

	ts = g.tick()
	e = g.env(acct, ts)
	e.SyncMessage = &syncMessage{Type: "CONTACTS_SYNC"}
	add(item{"sync_contacts", g.payload(e)})

	add(g.callOf(marcus, true))
	add(g.callOf(marcus, false))
	add(g.story(elena))
	add(g.decryptionFailure(henry))
	add(g.typing(marcus, nil, "STARTED"))
	add(g.typing(marcus, nil, "STOPPED"))
	add(g.typing(elena, chen, "STARTED"))
	return out
}
