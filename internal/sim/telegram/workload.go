package telegramsim

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/onrecord/onrecord/internal/sim"
)

var clientLines = []string{
	"Could you confirm the transfer of €%d reached my account?",
	"What is the current rate on the 12-month deposit?",
	"Bitte senden Sie mir den Depotauszug für %s.",
	"I'd like to move %d%% of my bond allocation into equities.",
	"Is our meeting on %s still on?",
	"Merci, j'ai bien reçu le contrat — je le signe ce soir.",
	"Can we raise the limit on my card to €%d?",
	"Please sell 200 ACME shares at market.",
	"Quanto costa il bonifico SEPA istantaneo?",
	"My salary of €%d arrives on the 25th; can the standing order wait until then?",
	"Sind die Gebühren für das Wertpapierdepot gestiegen?",
	"I lost my card in Lisbon 😟 — please block it.",
}

var employeeLines = []string{
	"Good morning, the transfer of €%d was booked today.",
	"I'll send the updated suitability questionnaire this afternoon.",
	"Please note we cannot give tax advice over chat; shall I set up a call for %s?",
	"Your order has been placed; the confirmation follows by e-mail.",
	"Der Depotauszug für %s ist im Online-Banking hinterlegt.",
	"The 12-month deposit pays %d.1%% p.a. until the end of the month.",
	"I've blocked the card; a replacement is on its way.",
	"Merci Madame, je transmets au service crédit.",
	"Can you send me a copy of your passport for the KYC refresh?",
}

var months = []string{"January", "February", "March", "April", "Mai", "Juni", "juillet", "September"}

var emojis = []string{"👍", "❤", "🔥", "🙏", "👌", "😁", "🤔", "👏"}

// posted is a message the workload delivered, for later edits, reactions
// and deletions to refer to.
type posted struct {
	chat   tgChat
	id     int64
	from   *tgUser
	bc     string
	thread int64
	text   string
	date   int64
}

type workload struct {
	*builder
	rng       *rand.Rand
	date      int64
	i         int
	msgStart  int64
	seq       map[int64]int64  // next message id per bot-visible chat
	bizSeq    map[string]int64 // next message id per business account
	plain     []posted         // private-with-bot and group messages
	biz       []posted         // business chat messages
	posts     []posted         // channel posts
	reactions map[string][]string
}

// Workload returns n deliveries of a busy day: clients writing to the bot
// and in groups, media, edits and reactions referring to earlier messages,
// channel posts, and employees' Telegram Business chats with their
// clients, including edits and deletions. Ids never repeat within a
// workload, and workloads of different seeds use disjoint message and
// update ids, so several can feed one archive.
func (s *Sim) Workload(hookURL string, seed int64, n int) []sim.Delivery {
	off := int64(uint64(seed) % 100_000)
	w := &workload{
		builder:   &builder{s: s, hook: hookURL, nextID: 100_000_000 + off*1_000_000},
		rng:       rand.New(rand.NewPCG(uint64(seed), 0x7e1e6a4)),
		date:      t0 + 3600,
		msgStart:  10_000 + off*1_000_000,
		seq:       map[int64]int64{},
		bizSeq:    map[string]int64{},
		reactions: map[string][]string{},
	}
	for w.i = 0; w.i < n; w.i++ {
		// Strictly increasing dates keep edit and reaction ids distinct.
		w.date += 1 + int64(w.rng.IntN(20))
		w.step()
	}
	return w.out
}

func (w *workload) pick(ps []person) person { return ps[w.rng.IntN(len(ps))] }

func (w *workload) line(lines []string) string {
	l := lines[w.rng.IntN(len(lines))]
	switch {
	case strings.Contains(l, "%s"):
		return fmt.Sprintf(l, months[w.rng.IntN(len(months))])
	case strings.Contains(l, "%d%%"), strings.Contains(l, "%d.1%%"):
		return fmt.Sprintf(l, 1+w.rng.IntN(9))
	case strings.Contains(l, "%d"):
		return fmt.Sprintf(l, 100*(1+w.rng.IntN(500)))
	}
	return l
}

func (w *workload) nextMsgID(chatID int64) int64 {
	if _, ok := w.seq[chatID]; !ok {
		w.seq[chatID] = w.msgStart
	}
	w.seq[chatID]++
	return w.seq[chatID]
}

func (w *workload) nextBizID(bc string) int64 {
	if _, ok := w.bizSeq[bc]; !ok {
		w.bizSeq[bc] = w.msgStart
	}
	w.bizSeq[bc]++
	return w.bizSeq[bc]
}

func (w *workload) step() {
	r := w.rng.IntN(100)
	switch {
	case r < 28:
		w.privateText()
	case r < 40:
		w.groupText()
	case r < 45:
		w.topicText()
	case r < 53:
		w.media()
	case r < 59 && len(w.plain) > 0:
		w.edit()
	case r < 66 && len(w.plain) > 0:
		w.reaction()
	case r < 68 && len(w.posts) > 0:
		w.reactionCount()
	case r < 71:
		w.channelPost()
	case r < 80:
		w.businessMessage(false)
	case r < 87:
		w.businessMessage(true)
	case r < 91 && len(w.biz) > 0:
		w.businessEdit()
	case r < 94 && len(w.biz) > 0:
		w.businessDelete()
	case r < 95:
		w.businessConnection()
	case r < 96 && len(w.posts) > 0:
		w.channelEdit()
	case r < 98:
		w.service()
	case r < 99:
		w.callback()
	default:
		w.privateText()
	}
}

func (w *workload) remember(list *[]posted, m *tgMessage) {
	*list = append(*list, posted{chat: m.Chat, id: m.MessageID, from: m.From, bc: m.BusinessConnectionID,
		thread: m.MessageThreadID, text: m.Text, date: m.Date})
}

func (w *workload) privateText() {
	c := w.pick(clients)
	m := &tgMessage{MessageID: w.nextMsgID(c.ID), From: c.user(), Chat: c.private(), Date: w.date, Text: w.line(clientLines)}
	w.remember(&w.plain, m)
	w.add("text", tgUpdate{Message: m})
}

func (w *workload) groupText() {
	var from person
	lines := clientLines
	if w.rng.IntN(3) == 0 {
		from, lines = w.pick(employees), employeeLines
	} else {
		from = w.pick(clients)
	}
	m := &tgMessage{MessageID: w.nextMsgID(groupDesk.ID), From: from.user(), Chat: groupDesk, Date: w.date, Text: w.line(lines)}
	kind := "text_group"
	// Some answers quote an earlier group message.
	if w.rng.IntN(3) == 0 {
		skip := w.rng.IntN(5) // one of the last few group messages
		for _, p := range slices.Backward(w.plain) {
			if p.chat.ID != groupDesk.ID {
				continue
			}
			if skip--; skip < 0 {
				m.ReplyToMessage = &tgMessage{MessageID: p.id, From: p.from, Chat: p.chat, Date: p.date, Text: p.text}
				kind = "reply"
				break
			}
		}
	}
	w.remember(&w.plain, m)
	w.add(kind, tgUpdate{Message: m})
}

func (w *workload) topicText() {
	t := forumTopics[w.rng.IntN(len(forumTopics))]
	from := w.pick(append(slices.Clone(clients), employees...))
	root := &tgMessage{MessageID: t.ID, From: employees[0].user(), Chat: groupForum, Date: t0 - 86400}
	m := &tgMessage{MessageID: w.nextMsgID(groupForum.ID), MessageThreadID: t.ID, From: from.user(), Chat: groupForum, Date: w.date,
		IsTopicMessage: true, ReplyToMessage: root, Text: t.Name + ": " + w.line(clientLines)}
	w.remember(&w.plain, m)
	w.add("topic_message", tgUpdate{Message: m})
}

func (w *workload) media() {
	c := w.pick(clients)
	chat := c.private()
	if w.rng.IntN(4) == 0 {
		chat = groupDesk
	}
	m := &tgMessage{MessageID: w.nextMsgID(chat.ID), From: c.user(), Chat: chat, Date: w.date}
	tag := fmt.Sprintf("wl-%d-%d", w.nextID, m.MessageID)
	kind := ""
	switch w.rng.IntN(7) {
	case 0:
		kind, m.Photo, m.Caption = "photo", photoSizes(tag), "Screenshot from the app"
	case 1:
		kind, m.Document = "document", mediaFile("BQAC", tag, fmt.Sprintf("statement_%s.pdf", months[w.rng.IntN(len(months))]), "application/pdf")
		m.Caption = "Signed form attached"
	case 2:
		kind, m.Voice = "voice", mediaFile("AwAC", tag, "", "audio/ogg")
		m.Voice.Duration = 3 + w.rng.IntN(60)
	case 3:
		kind, m.Video = "video", mediaFile("BAAC", tag, "", "video/mp4")
		m.Video.Duration, m.Video.Width, m.Video.Height = 5+w.rng.IntN(40), 720, 1280
	case 4:
		kind, m.Location = "location", &tgLocation{Latitude: 40 + float64(w.rng.IntN(1000000))/100000, Longitude: float64(w.rng.IntN(1000000)) / 100000}
	case 5:
		p := w.pick(clients)
		kind, m.Contact = "contact", &tgContact{PhoneNumber: fmt.Sprintf("+4915%08d", w.rng.IntN(1e8)), FirstName: p.First, LastName: p.Last, UserID: p.ID}
	default:
		kind, m.Sticker = "sticker", &tgSticker{Width: 512, Height: 512, Emoji: emojis[w.rng.IntN(len(emojis))], SetName: "HarborFinch", Type: "regular",
			FileID: fileID("CAAC", tag), FileUniqueID: uniqueID(tag), FileSize: fileSize(fileID("CAAC", tag))}
	}
	w.remember(&w.plain, m)
	w.add(kind, tgUpdate{Message: m})
}

func (w *workload) edit() {
	// Only text messages are edited here, by their author.
	for range 4 {
		p := w.plain[w.rng.IntN(len(w.plain))]
		if p.text == "" {
			continue
		}
		m := &tgMessage{MessageID: p.id, MessageThreadID: p.thread, From: p.from, Chat: p.chat, Date: p.date, EditDate: w.date,
			IsTopicMessage: p.thread != 0, Text: p.text + " (edited)"}
		w.add("edited_message", tgUpdate{EditedMessage: m})
		return
	}
	w.privateText()
}

func (w *workload) reaction() {
	p := w.plain[w.rng.IntN(len(w.plain))]
	reactor := p.from
	if p.chat.Type != "private" {
		reactor = w.pick(append(slices.Clone(clients), employees...)).user()
	}
	key := fmt.Sprintf("%d:%d:%d", p.chat.ID, p.id, reactor.ID)
	old := w.reactions[key]
	var next []string
	if len(old) == 0 || w.rng.IntN(5) != 0 {
		for {
			e := emojis[w.rng.IntN(len(emojis))]
			if !slices.Contains(old, e) {
				next = []string{e}
				break
			}
		}
	}
	w.reactions[key] = next
	toList := func(es []string) []tgReaction {
		out := []tgReaction{}
		for _, e := range es {
			out = append(out, tgReaction{Type: "emoji", Emoji: e})
		}
		return out
	}
	w.add("message_reaction", tgUpdate{MessageReaction: &tgReactionUpdated{Chat: p.chat, MessageID: p.id, User: reactor, Date: w.date,
		OldReaction: toList(old), NewReaction: toList(next)}})
}

func (w *workload) reactionCount() {
	p := w.posts[w.rng.IntN(len(w.posts))]
	w.add("message_reaction_count", tgUpdate{MessageReactionCount: &tgReactionCountUpdated{Chat: p.chat, MessageID: p.id, Date: w.date,
		Reactions: []tgReactionCount{{Type: tgReaction{Type: "emoji", Emoji: "👍"}, TotalCount: 1 + w.rng.IntN(40)},
			{Type: tgReaction{Type: "emoji", Emoji: "🔥"}, TotalCount: w.rng.IntN(10)}}}})
}

func (w *workload) channelPost() {
	m := &tgMessage{MessageID: w.nextMsgID(channel.ID), SenderChat: &channel, Chat: channel, Date: w.date,
		AuthorSignature: w.pick(employees).First, Text: "Market note: " + w.line(employeeLines)}
	w.remember(&w.posts, m)
	w.add("channel_post", tgUpdate{ChannelPost: m})
}

func (w *workload) channelEdit() {
	p := w.posts[w.rng.IntN(len(w.posts))]
	w.add("edited_channel_post", tgUpdate{EditedChannelPost: &tgMessage{MessageID: p.id, SenderChat: &channel, Chat: channel, Date: p.date,
		EditDate: w.date, Text: p.text + " [corrected]"}})
}

func (w *workload) businessMessage(outbound bool) {
	bc := connections[w.rng.IntN(len(connections))]
	c := w.pick(clients)
	m := &tgMessage{MessageID: w.nextBizID(bc.ID), Chat: c.private(), Date: w.date, BusinessConnectionID: bc.ID}
	kind := "business_message_inbound"
	if outbound {
		m.From, m.Text, kind = bc.Owner.user(), w.line(employeeLines), "business_message_outbound"
	} else {
		m.From, m.Text = c.user(), w.line(clientLines)
		if w.rng.IntN(8) == 0 {
			m.Text, m.Caption = "", "Scan of the signed mandate"
			m.Document = mediaFile("BQAC", fmt.Sprintf("biz-%d-%s", m.MessageID, bc.ID), "mandate_signed.pdf", "application/pdf")
			kind = "business_message_document"
		}
	}
	w.remember(&w.biz, m)
	w.add(kind, tgUpdate{BusinessMessage: m})
}

func (w *workload) businessEdit() {
	for range 4 {
		p := w.biz[w.rng.IntN(len(w.biz))]
		if p.text == "" {
			continue
		}
		w.add("edited_business_message", tgUpdate{EditedBusinessMessage: &tgMessage{MessageID: p.id, From: p.from, Chat: p.chat, Date: p.date,
			EditDate: w.date, BusinessConnectionID: p.bc, Text: p.text + " — korrigiert"}})
		return
	}
	w.businessMessage(false)
}

func (w *workload) businessDelete() {
	first := w.biz[w.rng.IntN(len(w.biz))]
	var ids []int64
	keep := w.biz[:0]
	for _, p := range w.biz {
		if p.bc == first.bc && p.chat.ID == first.chat.ID && len(ids) < 1+w.rng.IntN(3) {
			ids = append(ids, p.id)
			continue
		}
		keep = append(keep, p)
	}
	w.biz = keep
	w.add("deleted_business_messages", tgUpdate{DeletedBusinessMessages: &tgBusinessMessagesDeleted{BusinessConnectionID: first.bc,
		Chat: first.chat, MessageIDs: ids}})
}

func (w *workload) businessConnection() {
	bc := connections[w.rng.IntN(len(connections))]
	w.add("business_connection", tgUpdate{BusinessConnection: &tgBusinessConnection{ID: bc.ID, User: *bc.Owner.user(), UserChatID: bc.Owner.ID,
		Date: t0 - 86400*30, Rights: &tgBusinessBotRights{CanReply: w.rng.IntN(2) == 0, CanReadMessages: true}, IsEnabled: w.rng.IntN(6) != 0}})
}

func (w *workload) service() {
	c := w.pick(clients)
	m := &tgMessage{MessageID: w.nextMsgID(groupDesk.ID), Chat: groupDesk, Date: w.date}
	kind := ""
	switch w.rng.IntN(3) {
	case 0:
		kind, m.From, m.NewChatParticipant, m.NewChatMember, m.NewChatMembers = "new_chat_members", c.user(), c.user(), c.user(), []tgUser{*c.user()}
	case 1:
		kind, m.From, m.LeftChatParticipant, m.LeftChatMember = "left_chat_member", c.user(), c.user(), c.user()
	default:
		kind, m.From = "pinned_message", w.pick(employees).user()
		m.PinnedMessage = &tgMessage{MessageID: m.MessageID - 1, Chat: groupDesk, Date: w.date - 1}
		for _, p := range slices.Backward(w.plain) {
			if p.chat.ID == groupDesk.ID {
				m.PinnedMessage = &tgMessage{MessageID: p.id, From: p.from, Chat: p.chat, Date: p.date, Text: p.text}
				break
			}
		}
	}
	w.add(kind, tgUpdate{Message: m})
}

func (w *workload) callback() {
	c := w.pick(clients)
	bot := w.s.bot()
	w.add("callback_query", tgUpdate{CallbackQuery: &tgCallbackQuery{ID: fmt.Sprintf("%d%06d", c.ID, w.i), From: *c.user(),
		Message:      &tgMessage{MessageID: 900 + int64(w.i%50), From: &bot, Chat: c.private(), Date: w.date - 30, Text: "Confirm the transfer?"},
		ChatInstance: fmt.Sprintf("-84273519290711%05d", c.ID%100000), Data: fmt.Sprintf("confirm_transfer:%d", w.i)}})
}
