package telegramsim

import (
	"github.com/onrecord/onrecord/internal/sim"
)

// Deliveries returns one scripted delivery of every update kind the
// connector maps, in the order a day at the bank could produce them, each
// carrying the secret-token header exactly as Telegram sends it.
func (s *Sim) Deliveries(hookURL string) []sim.Delivery {
	b := &builder{s: s, hook: hookURL, nextID: 90_000_100}
	bot := s.bot()
	jonas, aiko, lea, rafael, sophie, henrik := clients[0], clients[1], clients[2], clients[3], clients[4], clients[5]
	maria, tom := employees[0], employees[1]
	at := func(min int64) int64 { return t0 + min*60 }

	// A client writes to the bank's bot in a private chat.
	b.add("text", tgUpdate{Message: &tgMessage{MessageID: 101, From: jonas.user(), Chat: jonas.private(), Date: at(1),
		Text: "Guten Tag! Bitte überweisen Sie 25.000 € auf mein Tagesgeldkonto."}})
	// The wealth-desk group: a question, then an adviser answering it.
	q := &tgMessage{MessageID: 201, From: aiko.user(), Chat: groupDesk, Date: at(2),
		Text: "Does the 12-month deposit still pay 3.1%?"}
	b.add("text_group", tgUpdate{Message: q})
	b.add("reply", tgUpdate{Message: &tgMessage{MessageID: 202, From: tom.user(), Chat: groupDesk, Date: at(3),
		ReplyToMessage: q, Text: "@aiko_t yes, 3.1% p.a. until 31 March — see https://harborfinch.example/rates",
		Entities: []tgEntity{{Type: "mention", Offset: 0, Length: 7}, {Type: "url", Offset: 45, Length: 33}}}})
	b.add("photo", tgUpdate{Message: &tgMessage{MessageID: 102, From: jonas.user(), Chat: jonas.private(), Date: at(4),
		Photo: photoSizes("jonas-id-card"), Caption: "Mein Ausweis für die Legitimation"}})
	b.add("video", tgUpdate{Message: &tgMessage{MessageID: 301, From: lea.user(), Chat: lea.private(), Date: at(5),
		Video: &tgFile{Duration: 14, Width: 720, Height: 1280, FileName: "appartement_lyon.mp4", MimeType: "video/mp4",
			FileID: fileID("BAAC", "lea-video"), FileUniqueID: uniqueID("lea-video"), FileSize: fileSize(fileID("BAAC", "lea-video"))},
		Caption: "La propriété à financer"}})
	voice := mediaFile("AwAC", "rafael-voice", "", "audio/ogg")
	voice.Duration = 9
	b.add("voice", tgUpdate{Message: &tgMessage{MessageID: 401, From: rafael.user(), Chat: rafael.private(), Date: at(6), Voice: voice}})
	audio := mediaFile("CQAC", "sophie-audio", "Telefonnotiz_Depot.mp3", "audio/mpeg")
	audio.Duration, audio.Performer, audio.Title = 63, "Sophie Müller", "Telefonnotiz Depot"
	b.add("audio", tgUpdate{Message: &tgMessage{MessageID: 501, From: sophie.user(), Chat: sophie.private(), Date: at(7), Audio: audio}})
	b.add("document", tgUpdate{Message: &tgMessage{MessageID: 103, From: jonas.user(), Chat: jonas.private(), Date: at(8),
		Document: mediaFile("BQAC", "jonas-statement", "Kontoauszug_2025-02.pdf", "application/pdf"), Caption: "Kontoauszug Februar"}})
	anim := mediaFile("CgAC", "henrik-gif", "thumbs-up.gif.mp4", "video/mp4")
	anim.Duration, anim.Width, anim.Height = 2, 320, 240
	b.add("animation", tgUpdate{Message: &tgMessage{MessageID: 203, From: henrik.user(), Chat: groupDesk, Date: at(9),
		Animation: anim, Document: anim}})
	b.add("sticker", tgUpdate{Message: &tgMessage{MessageID: 302, From: lea.user(), Chat: lea.private(), Date: at(10),
		Sticker: &tgSticker{Width: 512, Height: 512, Emoji: "🙏", SetName: "HotCherry", Type: "regular",
			FileID: fileID("CAAC", "lea-sticker"), FileUniqueID: uniqueID("lea-sticker"), FileSize: fileSize(fileID("CAAC", "lea-sticker"))}}})
	vn := mediaFile("DQAC", "rafael-video-note", "", "")
	vn.Duration, vn.Length = 11, 384
	b.add("video_note", tgUpdate{Message: &tgMessage{MessageID: 402, From: rafael.user(), Chat: rafael.private(), Date: at(11), VideoNote: vn}})
	b.add("location", tgUpdate{Message: &tgMessage{MessageID: 104, From: jonas.user(), Chat: jonas.private(), Date: at(12),
		Location: &tgLocation{Latitude: 48.137154, Longitude: 11.576124, HorizontalAccuracy: 15}}})
	b.add("venue", tgUpdate{Message: &tgMessage{MessageID: 204, From: tom.user(), Chat: groupDesk, Date: at(13),
		Location: &tgLocation{Latitude: 51.513245, Longitude: -0.089082},
		Venue: &tgVenue{Location: tgLocation{Latitude: 51.513245, Longitude: -0.089082}, Title: "Harbor & Finch — City Office",
			Address: "12 Lothbury, London EC2R 7HH", GooglePlaceID: "ChIJa1b2c3d4e5f6g7h8"}}})
	b.add("contact", tgUpdate{Message: &tgMessage{MessageID: 303, From: lea.user(), Chat: lea.private(), Date: at(14),
		Contact: &tgContact{PhoneNumber: "+33612345678", FirstName: "Éric", LastName: "Dubois", UserID: 6022000099,
			VCard: "BEGIN:VCARD\nVERSION:3.0\nFN:Éric Dubois\nTEL;TYPE=CELL:+33612345678\nEND:VCARD"}}})
	b.add("poll", tgUpdate{Message: &tgMessage{MessageID: 205, From: tom.user(), Chat: groupDesk, Date: at(15),
		Poll: &tgPoll{ID: "5361990023741440001", Question: "Which webinar slot suits you?", Options: []tgPollOption{
			{Text: "Tue 10:00"}, {Text: "Wed 16:00"}, {Text: "Thu 18:30"}}, IsAnonymous: false, Type: "regular"}}})
	b.add("dice", tgUpdate{Message: &tgMessage{MessageID: 206, From: henrik.user(), Chat: groupDesk, Date: at(16),
		Dice: &tgDice{Emoji: "🎲", Value: 4}}})
	b.add("forwarded", tgUpdate{Message: &tgMessage{MessageID: 105, From: jonas.user(), Chat: jonas.private(), Date: at(17),
		ForwardOrigin: &tgOrigin{Type: "user", SenderUser: sophie.user(), Date: at(-60)},
		ForwardFrom:   sophie.user(), ForwardDate: at(-60),
		Text: "Sophie recommended your bank — can I open an account for my daughter?"}})
	topic := forumTopics[0]
	topicRoot := &tgMessage{MessageID: topic.ID, From: maria.user(), Chat: groupForum, Date: at(-600)}
	b.add("topic_message", tgUpdate{Message: &tgMessage{MessageID: 301, MessageThreadID: topic.ID, From: aiko.user(), Chat: groupForum,
		Date: at(18), IsTopicMessage: true, ReplyToMessage: topicRoot, Text: "Is a fixed rate for 10 years still possible?"}})
	b.add("new_chat_members", tgUpdate{Message: &tgMessage{MessageID: 207, From: maria.user(), Chat: groupDesk, Date: at(19),
		NewChatParticipant: rafael.user(), NewChatMember: rafael.user(), NewChatMembers: []tgUser{*rafael.user()}}})
	b.add("left_chat_member", tgUpdate{Message: &tgMessage{MessageID: 208, From: henrik.user(), Chat: groupDesk, Date: at(20),
		LeftChatParticipant: henrik.user(), LeftChatMember: henrik.user()}})
	b.add("new_chat_title", tgUpdate{Message: &tgMessage{MessageID: 209, From: maria.user(), Chat: groupDesk, Date: at(21),
		NewChatTitle: "H&F Wealth Desk · Client Q&A (2025)"}})
	b.add("pinned_message", tgUpdate{Message: &tgMessage{MessageID: 210, From: tom.user(), Chat: groupDesk, Date: at(22),
		PinnedMessage: &tgMessage{MessageID: 202, From: tom.user(), Chat: groupDesk, Date: at(3), Text: "@aiko_t yes, 3.1% p.a. until 31 March"}}})
	b.add("edited_message", tgUpdate{EditedMessage: &tgMessage{MessageID: 101, From: jonas.user(), Chat: jonas.private(), Date: at(1),
		EditDate: at(23), Text: "Guten Tag! Bitte überweisen Sie 20.000 € auf mein Tagesgeldkonto."}})
	b.add("channel_post", tgUpdate{ChannelPost: &tgMessage{MessageID: 77, SenderChat: &channel, Chat: channel, Date: at(24),
		AuthorSignature: "Maria Keller", Text: "Market note: the ECB left rates unchanged; our deposit rates stay as published."}})
	b.add("edited_channel_post", tgUpdate{EditedChannelPost: &tgMessage{MessageID: 77, SenderChat: &channel, Chat: channel, Date: at(24),
		EditDate: at(25), AuthorSignature: "Maria Keller", Text: "Market note: the ECB left rates unchanged at 2.90%; our deposit rates stay as published."}})
	b.add("message_reaction", tgUpdate{MessageReaction: &tgReactionUpdated{Chat: groupDesk, MessageID: 202, User: aiko.user(), Date: at(26),
		OldReaction: []tgReaction{}, NewReaction: []tgReaction{{Type: "emoji", Emoji: "👍"}}}})
	b.add("message_reaction_changed", tgUpdate{MessageReaction: &tgReactionUpdated{Chat: groupDesk, MessageID: 202, User: aiko.user(), Date: at(27),
		OldReaction: []tgReaction{{Type: "emoji", Emoji: "👍"}}, NewReaction: []tgReaction{{Type: "emoji", Emoji: "❤"}, {Type: "custom_emoji", CustomEmojiID: "5368324170671202286"}}}})
	b.add("message_reaction_removed", tgUpdate{MessageReaction: &tgReactionUpdated{Chat: groupDesk, MessageID: 202, User: aiko.user(), Date: at(28),
		OldReaction: []tgReaction{{Type: "emoji", Emoji: "❤"}, {Type: "custom_emoji", CustomEmojiID: "5368324170671202286"}}, NewReaction: []tgReaction{}}})
	b.add("message_reaction_count", tgUpdate{MessageReactionCount: &tgReactionCountUpdated{Chat: channel, MessageID: 77, Date: at(29),
		Reactions: []tgReactionCount{{Type: tgReaction{Type: "emoji", Emoji: "👍"}, TotalCount: 12}, {Type: tgReaction{Type: "emoji", Emoji: "🔥"}, TotalCount: 3}}}})

	// Telegram Business: Maria connects her account; a client writes to
	// her, she answers and corrects herself, the client deletes a message.
	bc := connections[0]
	b.add("business_connection", tgUpdate{BusinessConnection: &tgBusinessConnection{ID: bc.ID, User: *maria.user(), UserChatID: maria.ID,
		Date: at(30), Rights: &tgBusinessBotRights{CanReply: true, CanReadMessages: true}, IsEnabled: true}})
	b.add("business_message_inbound", tgUpdate{BusinessMessage: &tgMessage{MessageID: 5120, From: jonas.user(), Chat: jonas.private(), Date: at(31),
		BusinessConnectionID: bc.ID, Text: "Frau Keller, können wir den Termin am Donnerstag auf 15 Uhr verschieben?"}})
	in := &tgMessage{MessageID: 5120, From: jonas.user(), Chat: jonas.private(), Date: at(31), Text: "Frau Keller, können wir den Termin am Donnerstag auf 15 Uhr verschieben?"}
	b.add("business_message_outbound", tgUpdate{BusinessMessage: &tgMessage{MessageID: 5121, From: maria.user(), Chat: jonas.private(), Date: at(32),
		BusinessConnectionID: bc.ID, ReplyToMessage: in, Text: "Natürlich, Donnerstag 15:00 in der Filiale Maximilianstraße."}})
	b.add("edited_business_message", tgUpdate{EditedBusinessMessage: &tgMessage{MessageID: 5121, From: maria.user(), Chat: jonas.private(), Date: at(32),
		EditDate: at(33), BusinessConnectionID: bc.ID, Text: "Natürlich, Donnerstag 15:30 in der Filiale Maximilianstraße."}})
	b.add("business_message_photo", tgUpdate{BusinessMessage: &tgMessage{MessageID: 5122, From: jonas.user(), Chat: jonas.private(), Date: at(34),
		BusinessConnectionID: bc.ID, Photo: photoSizes("jonas-biz-photo"), Caption: "Die Unterlagen vom Notar"}})
	b.add("deleted_business_messages", tgUpdate{DeletedBusinessMessages: &tgBusinessMessagesDeleted{BusinessConnectionID: bc.ID,
		Chat: jonas.private(), MessageIDs: []int64{5120, 5122}}})
	b.add("business_connection_disabled", tgUpdate{BusinessConnection: &tgBusinessConnection{ID: connections[1].ID, User: *tom.user(),
		UserChatID: tom.ID, Date: at(-1440), Rights: &tgBusinessBotRights{CanReply: true, CanReadMessages: true}, IsEnabled: false}})

	// Other updates the bot receives.
	b.add("callback_query", tgUpdate{CallbackQuery: &tgCallbackQuery{ID: "4382bfdwdsb323b2d9", From: *jonas.user(),
		Message:      &tgMessage{MessageID: 106, From: &bot, Chat: jonas.private(), Date: at(35), Text: "Confirm the transfer of 20.000 €?"},
		ChatInstance: "-8427351929071125034", Data: "confirm_transfer:106"}})
	b.add("my_chat_member", tgUpdate{MyChatMember: &tgChatMemberUpdated{Chat: groupForum, From: *maria.user(), Date: at(36),
		OldChatMember: tgChatMember{User: bot, Status: "member"}, NewChatMember: tgChatMember{User: bot, Status: "administrator"}}})
	b.add("unknown_update", tgUpdate{Future: map[string]any{"id": "future-1", "date": at(37)}})
	b.add("unsupported_content", tgUpdate{Message: &tgMessage{MessageID: 107, From: jonas.user(), Chat: jonas.private(), Date: at(38),
		Future: map[string]any{"kind": "hologram"}}})
	return b.out
}
