package telegram

import (
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/connector"
)

const (
	testToken  = "7352001234:AAHf-sim_Harbor-Finch-archive-bot-token"
	testSecret = "hf-telegram-webhook-secret_2025"
	botID      = "7352001234"
	bcMaria    = "CPnWd0Lzh0AAAQ-mkeller1"
)

var received = time.Date(2025, 3, 3, 12, 0, 0, 0, time.UTC)

func mustNew(tb testing.TB) *Connector {
	tb.Helper()
	c, err := New(connector.Config{Name: "tg", Type: "telegram", BotToken: testToken, SecretToken: testSecret})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func request(body []byte) *connector.Request {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set(SecretTokenHeader, testSecret)
	return &connector.Request{Method: "POST", Header: h, Body: body, ReceivedAt: received}
}

// want is what a test checks of one event; Meta is a subset.
type want struct {
	Kind         onrecord.EventKind
	ProviderID   string
	Target       string
	Conversation string
	Direction    onrecord.Direction
	Sender       onrecord.Party
	Recipients   []onrecord.Party
	SentAt       string
	Body         string
	Emoji        string
	Subtype      string
	ReplyTo      string
	Thread       string
	Forwarded    bool
	Group        bool
	GroupName    string
	Expires      int
	Media        []connector.MediaRef
	Meta         map[string]string
	NoMeta       []string // keys that must be absent
}

var (
	jonas = onrecord.Party{ID: "6022000001", Name: "Jonas Weber"}
	maria = onrecord.Party{ID: "5011000001", Name: "Maria Keller"}
	tom   = onrecord.Party{ID: "5011000002", Name: "Tom Brandt"}
	aiko  = onrecord.Party{ID: "6022000002", Name: "Aiko Tanaka"}
	lea   = onrecord.Party{ID: "6022000003", Name: "Léa Dubois"}
	bot   = onrecord.Party{ID: botID}
	desk  = "-1001870000001"
	chanP = onrecord.Party{ID: "-1001870000003", Name: "Harbor & Finch Market Notes"}

	deskName = "H&F Wealth Desk · Client Q&A"
)

func TestParse_Fixtures(t *testing.T) {
	c := mustNew(t)
	tests := []struct {
		file string
		want []want
	}{
		{"message_text_private", []want{{Kind: onrecord.KindMessage, ProviderID: "6022000001:101", Conversation: "6022000001",
			Direction: onrecord.Inbound, Sender: jonas, Recipients: []onrecord.Party{bot}, SentAt: "2025-03-03T08:01:00Z",
			Body: "Guten Tag! Bitte überweisen Sie 25.000 € auf mein Tagesgeldkonto.", Subtype: "text",
			Meta: map[string]string{"update_id": "731500100", "message_id": "101", "chat_type": "private", "sender_username": "jonas_weber"}}}},
		{"message_photo", []want{{Kind: onrecord.KindMessage, ProviderID: "6022000001:102", Conversation: "6022000001",
			Direction: onrecord.Inbound, Sender: jonas, Recipients: []onrecord.Party{bot}, SentAt: "2025-03-03T08:04:00Z",
			Body: "Mein Ausweis für die Legitimation", Subtype: "photo",
			Media: []connector.MediaRef{{Ref: "AgACAgIAAxkBAAIBZ2fFrXlarge", Name: "photo_AQADlarge.jpg", ContentType: "image/jpeg", Size: 98412}},
			Meta:  map[string]string{"width": "1280", "height": "960", "file_unique_id": "AQADlarge", "caption_entities": `[{"type":"bold","offset":0,"length":11}]`}}}},
		{"message_document", []want{{Kind: onrecord.KindMessage, ProviderID: "6022000001:103", Conversation: "6022000001",
			Direction: onrecord.Inbound, Sender: jonas, Recipients: []onrecord.Party{bot}, SentAt: "2025-03-03T08:08:00Z",
			Body: "Kontoauszug Februar", Subtype: "document",
			Media: []connector.MediaRef{{Ref: "BQACAgIAAxkBAAIBaGfFrYdoc", Name: "Kontoauszug_2025-02.pdf", ContentType: "application/pdf", Size: 181234}}}}},
		{"message_voice", []want{{Kind: onrecord.KindMessage, ProviderID: "6022000004:401", Conversation: "6022000004",
			Direction: onrecord.Inbound, Sender: onrecord.Party{ID: "6022000004", Name: "Rafael Souza"}, Recipients: []onrecord.Party{bot},
			SentAt: "2025-03-03T08:06:00Z", Subtype: "voice",
			Media: []connector.MediaRef{{Ref: "AwACAgIAAxkBAAIBaWfFrZvoice", Name: "voice_AgADvoice.ogg", ContentType: "audio/ogg", Size: 14230}},
			Meta:  map[string]string{"duration": "9"}}}},
		{"message_video", []want{{Kind: onrecord.KindMessage, ProviderID: "6022000003:301", Conversation: "6022000003",
			Direction: onrecord.Inbound, Sender: lea, Recipients: []onrecord.Party{bot}, SentAt: "2025-03-03T08:05:00Z",
			Body: "La propriété à financer", Subtype: "video",
			Media: []connector.MediaRef{{Ref: "BAACAgIAAxkBAAIBamfFrbvideo", Name: "appartement_lyon.mp4", ContentType: "video/mp4", Size: 2811004}},
			Meta:  map[string]string{"duration": "14", "width": "720", "height": "1280"}}}},
		{"message_audio", []want{{Kind: onrecord.KindMessage, ProviderID: "6022000005:501", Conversation: "6022000005",
			Direction: onrecord.Inbound, Sender: onrecord.Party{ID: "6022000005", Name: "Sophie Müller"}, Recipients: []onrecord.Party{bot},
			SentAt: "2025-03-03T08:07:00Z", Subtype: "audio",
			Media: []connector.MediaRef{{Ref: "CQACAgIAAxkBAAIBa2fFrcaudio", Name: "Telefonnotiz_Depot.mp3", ContentType: "audio/mpeg", Size: 1008452}},
			Meta:  map[string]string{"performer": "Sophie Müller", "title": "Telefonnotiz Depot"}}}},
		{"message_animation", []want{{Kind: onrecord.KindMessage, ProviderID: desk + ":203", Conversation: desk,
			Direction: onrecord.Inbound, Sender: onrecord.Party{ID: "6022000006", Name: "Henrik Larsen"}, SentAt: "2025-03-03T08:09:00Z",
			Subtype: "animation", Group: true, GroupName: deskName,
			Media: []connector.MediaRef{{Ref: "CgACAgIAAxkBAAIBbGfFrdanim", Name: "thumbs-up.gif.mp4", ContentType: "video/mp4", Size: 88120}}}}},
		{"message_sticker", []want{{Kind: onrecord.KindMessage, ProviderID: "6022000003:302", Conversation: "6022000003",
			Direction: onrecord.Inbound, Sender: lea, Recipients: []onrecord.Party{bot}, SentAt: "2025-03-03T08:10:00Z",
			Body: "🙏", Subtype: "sticker",
			Media: []connector.MediaRef{{Ref: "CAACAgIAAxkBAAIBbWfFreSticker", Name: "sticker_AgADsticker.tgs", ContentType: "application/x-tgsticker", Size: 31245}},
			Meta:  map[string]string{"sticker_emoji": "🙏", "sticker_set": "HotCherry", "sticker_type": "regular"}}}},
		{"message_video_note", []want{{Kind: onrecord.KindMessage, ProviderID: "6022000004:402", Conversation: "6022000004",
			Direction: onrecord.Inbound, Sender: onrecord.Party{ID: "6022000004", Name: "Rafael Souza"}, Recipients: []onrecord.Party{bot},
			SentAt: "2025-03-03T08:11:00Z", Subtype: "video_note",
			Media: []connector.MediaRef{{Ref: "DQACAgIAAxkBAAIBbmfFrfnote", Name: "video_note_AgADnote.mp4", ContentType: "video/mp4", Size: 402113}}}}},
		{"message_location", []want{{Kind: onrecord.KindMessage, ProviderID: "6022000001:104", Conversation: "6022000001",
			Direction: onrecord.Inbound, Sender: jonas, Recipients: []onrecord.Party{bot}, SentAt: "2025-03-03T08:12:00Z",
			Body: "📍 48.137154,11.576124", Subtype: "location",
			Meta: map[string]string{"latitude": "48.137154", "longitude": "11.576124", "horizontal_accuracy": "15"}}}},
		{"message_venue", []want{{Kind: onrecord.KindMessage, ProviderID: desk + ":204", Conversation: desk,
			Direction: onrecord.Inbound, Sender: tom, SentAt: "2025-03-03T08:13:00Z", Group: true, GroupName: deskName,
			Body: "📍 51.513245,-0.089082 Harbor & Finch — City Office, 12 Lothbury, London EC2R 7HH", Subtype: "venue",
			Meta: map[string]string{"venue_title": "Harbor & Finch — City Office", "google_place_id": "ChIJa1b2c3d4e5f6g7h8", "latitude": "51.513245"}}}},
		{"message_contact", []want{{Kind: onrecord.KindMessage, ProviderID: "6022000003:303", Conversation: "6022000003",
			Direction: onrecord.Inbound, Sender: lea, Recipients: []onrecord.Party{bot}, SentAt: "2025-03-03T08:14:00Z",
			Body: "👤 Éric Dubois +33612345678", Subtype: "contact",
			Meta: map[string]string{"contact_name": "Éric Dubois", "contact_phone": "+33612345678", "contact_user_id": "6022000099",
				"contact_vcard": "BEGIN:VCARD\nVERSION:3.0\nFN:Éric Dubois\nTEL;TYPE=CELL:+33612345678\nEND:VCARD"}}}},
		{"message_poll", []want{{Kind: onrecord.KindMessage, ProviderID: desk + ":205", Conversation: desk,
			Direction: onrecord.Inbound, Sender: tom, SentAt: "2025-03-03T08:15:00Z", Group: true, GroupName: deskName,
			Body: "📊 Which webinar slot suits you?\n• Tue 10:00\n• Wed 16:00", Subtype: "poll",
			Meta: map[string]string{"poll_id": "5361990023741440001", "poll_options": `["Tue 10:00","Wed 16:00"]`, "poll_multiple_answers": "true", "poll_anonymous": "false"}}}},
		{"message_dice", []want{{Kind: onrecord.KindMessage, ProviderID: desk + ":206", Conversation: desk,
			Direction: onrecord.Inbound, Sender: onrecord.Party{ID: "6022000006", Name: "Henrik Larsen"}, SentAt: "2025-03-03T08:16:00Z",
			Group: true, GroupName: deskName, Body: "🎯 6", Subtype: "dice", Meta: map[string]string{"dice_emoji": "🎯", "dice_value": "6"}}}},
		{"message_reply_group", []want{{Kind: onrecord.KindMessage, ProviderID: desk + ":202", Conversation: desk,
			Direction: onrecord.Inbound, Sender: tom, SentAt: "2025-03-03T08:03:00Z", Group: true, GroupName: deskName,
			Body: "@aiko_t yes, 3.1% p.a. until 31 March", Subtype: "text", ReplyTo: desk + ":201",
			Meta: map[string]string{"entities": `[{"type":"mention","offset":0,"length":7}]`, "quote": `{"text":"3.1%","position":35,"is_manual":true}`}}}},
		{"message_forward_origin_channel", []want{{Kind: onrecord.KindMessage, ProviderID: "6022000001:105", Conversation: "6022000001",
			Direction: onrecord.Inbound, Sender: jonas, Recipients: []onrecord.Party{bot}, SentAt: "2025-03-03T08:17:00Z",
			Body: "Is this rate also valid for existing clients?", Subtype: "text", Forwarded: true,
			Meta: map[string]string{"forward_origin": "channel", "forward_from_id": "-1001870000003", "forward_from": "Harbor & Finch Market Notes",
				"forward_from_message_id": "77", "forward_signature": "Maria Keller", "forward_date": "2025-03-02T07:20:00Z"}}}},
		{"message_forward_legacy", []want{{Kind: onrecord.KindMessage, ProviderID: "3527065:41", Conversation: "3527065",
			Direction: onrecord.Inbound, Sender: onrecord.Party{ID: "3527065", Name: "Nic Pottier"}, Recipients: []onrecord.Party{bot},
			SentAt: "2016-01-30T01:57:09Z", Body: "Hello World", Subtype: "text", Forwarded: true,
			Meta: map[string]string{"forward_from_id": "3527066", "forward_from": "Ryan Lewis", "forward_date": "2016-01-30T01:40:00Z"}}}},
		{"message_forum_topic", []want{{Kind: onrecord.KindMessage, ProviderID: "-1001870000002:301", Conversation: "-1001870000002",
			Direction: onrecord.Inbound, Sender: aiko, SentAt: "2025-03-03T08:18:00Z", Group: true, GroupName: "H&F Advisory Topics",
			Body: "Is a fixed rate for 10 years still possible?", Subtype: "text", Thread: "3", ReplyTo: "",
			Meta: map[string]string{"is_topic_message": "true"}}}},
		{"message_anonymous_admin", []want{{Kind: onrecord.KindMessage, ProviderID: desk + ":211", Conversation: desk,
			Direction: onrecord.Inbound, Sender: onrecord.Party{ID: desk, Name: deskName}, SentAt: "2025-03-03T08:20:00Z",
			Group: true, GroupName: deskName, Body: "Reminder: never share your PIN in this group.", Subtype: "text",
			Meta: map[string]string{"from_id": "1087968824", "sender_is_bot": "true"}}}},
		{"service_new_chat_members", []want{{Kind: onrecord.KindSystem, ProviderID: desk + ":207", Conversation: desk,
			Direction: onrecord.Inbound, Sender: maria, SentAt: "2025-03-03T08:19:00Z", Group: true, GroupName: deskName,
			Body: "Maria Keller added Rafael Souza", Subtype: "new_chat_members", Meta: map[string]string{"new_chat_members": "6022000004"}}}},
		{"service_left_chat_member", []want{{Kind: onrecord.KindSystem, ProviderID: desk + ":208", Conversation: desk,
			Direction: onrecord.Inbound, Sender: maria, SentAt: "2025-03-03T08:20:00Z", Group: true, GroupName: deskName,
			Body: "Maria Keller removed Henrik Larsen", Subtype: "left_chat_member", Meta: map[string]string{"left_chat_member": "6022000006"}}}},
		{"service_new_chat_title", []want{{Kind: onrecord.KindSystem, ProviderID: desk + ":209", Conversation: desk,
			Direction: onrecord.Inbound, Sender: maria, SentAt: "2025-03-03T08:21:00Z", Group: true, GroupName: "H&F Wealth Desk (2025)",
			Body: "Maria Keller changed the title to “H&F Wealth Desk (2025)”", Subtype: "new_chat_title"}}},
		{"service_pinned_message", []want{{Kind: onrecord.KindSystem, ProviderID: desk + ":210", Target: desk + ":202", Conversation: desk,
			Direction: onrecord.Inbound, Sender: tom, SentAt: "2025-03-03T08:22:00Z", Group: true, GroupName: deskName,
			Body: "Tom Brandt pinned a message", Subtype: "pinned_message", Meta: map[string]string{"pinned_message_id": "202"}}}},
		{"service_auto_delete", []want{{Kind: onrecord.KindSystem, ProviderID: desk + ":212", Conversation: desk,
			Direction: onrecord.Inbound, Sender: maria, SentAt: "2025-03-03T08:23:00Z", Group: true, GroupName: deskName, Expires: 86400,
			Body: "Maria Keller set messages to auto-delete after 86400 s", Subtype: "message_auto_delete_timer_changed"}}},
		{"edited_message", []want{{Kind: onrecord.KindEdit, ProviderID: "6022000001:101:edit:1740990180", Target: "6022000001:101",
			Conversation: "6022000001", Direction: onrecord.Inbound, Sender: jonas, Recipients: []onrecord.Party{bot},
			SentAt: "2025-03-03T08:23:00Z", Body: "Guten Tag! Bitte überweisen Sie 20.000 € auf mein Tagesgeldkonto.", Subtype: "text",
			Meta: map[string]string{"edit_date": "1740990180", "date": "2025-03-03T08:01:00Z"}}}},
		{"channel_post", []want{{Kind: onrecord.KindMessage, ProviderID: "-1001870000003:77", Conversation: "-1001870000003",
			Direction: onrecord.Inbound, Sender: chanP, SentAt: "2025-03-03T08:24:00Z", Group: true, GroupName: chanP.Name,
			Body: "Market note: the ECB left rates unchanged.", Subtype: "text", Meta: map[string]string{"author_signature": "Maria Keller", "chat_type": "channel"}}}},
		{"edited_channel_post", []want{{Kind: onrecord.KindEdit, ProviderID: "-1001870000003:77:edit:1740990300", Target: "-1001870000003:77",
			Conversation: "-1001870000003", Direction: onrecord.Inbound, Sender: chanP, SentAt: "2025-03-03T08:25:00Z", Group: true,
			GroupName: chanP.Name, Body: "Market note: the ECB left rates unchanged at 2.90%.", Subtype: "text"}}},
		{"message_reaction_added", []want{{Kind: onrecord.KindReaction, ProviderID: desk + ":202:6022000002:👍:1740990360", Target: desk + ":202",
			Conversation: desk, Direction: onrecord.Inbound, Sender: aiko, SentAt: "2025-03-03T08:26:00Z", Group: true, GroupName: deskName,
			Emoji: "👍", Subtype: "emoji", Meta: map[string]string{"reaction_type": "emoji", "reactions_now": "👍"}, NoMeta: []string{"removed"}}}},
		{"message_reaction_changed", []want{
			{Kind: onrecord.KindReaction, ProviderID: desk + ":202:6022000002:removed:👍:1740990420", Target: desk + ":202",
				Conversation: desk, Direction: onrecord.Inbound, Sender: aiko, SentAt: "2025-03-03T08:27:00Z", Group: true, GroupName: deskName,
				Emoji: "", Subtype: "emoji", Meta: map[string]string{"removed": "true", "removed_emoji": "👍"}},
			{Kind: onrecord.KindReaction, ProviderID: desk + ":202:6022000002:❤:1740990420", Target: desk + ":202",
				Conversation: desk, Direction: onrecord.Inbound, Sender: aiko, SentAt: "2025-03-03T08:27:00Z", Group: true, GroupName: deskName,
				Emoji: "❤", Subtype: "emoji", NoMeta: []string{"removed"}},
			{Kind: onrecord.KindReaction, ProviderID: desk + ":202:6022000002:custom_emoji:5368324170671202286:1740990420", Target: desk + ":202",
				Conversation: desk, Direction: onrecord.Inbound, Sender: aiko, SentAt: "2025-03-03T08:27:00Z", Group: true, GroupName: deskName,
				Emoji: "", Subtype: "custom_emoji", Meta: map[string]string{"custom_emoji_id": "5368324170671202286", "reaction_type": "custom_emoji"},
				NoMeta: []string{"removed"}},
		}},
		{"message_reaction_removed", []want{{Kind: onrecord.KindReaction,
			ProviderID: desk + ":202:-1001870000003:removed:custom_emoji:5368324170671202286:1740990480", Target: desk + ":202",
			Conversation: desk, Direction: onrecord.Inbound, Sender: chanP, SentAt: "2025-03-03T08:28:00Z", Group: true, GroupName: deskName,
			Subtype: "custom_emoji", Meta: map[string]string{"removed": "true", "custom_emoji_id": "5368324170671202286"}, NoMeta: []string{"reactions_now"}}}},
		{"message_reaction_count", []want{{Kind: onrecord.KindSystem, ProviderID: "-1001870000003:77:reaction_count:1740990540", Target: "-1001870000003:77",
			Conversation: "-1001870000003", Direction: onrecord.Inbound, Sender: chanP, SentAt: "2025-03-03T08:29:00Z", Group: true, GroupName: chanP.Name,
			Body: "👍 12, paid 3", Subtype: "message_reaction_count",
			Meta: map[string]string{"reactions": `[{"type":{"type":"emoji","emoji":"👍"},"total_count":12},{"type":{"type":"paid"},"total_count":3}]`}}}},
		{"business_connection", []want{{Kind: onrecord.KindSystem, ProviderID: "business_connection:" + bcMaria + ":731500129",
			Conversation: "5011000001", Direction: onrecord.Outbound, Sender: maria, SentAt: "2025-03-03T12:00:00Z",
			Body: "Maria Keller connected their Telegram Business account to the bot", Subtype: "business_connection",
			Meta: map[string]string{"business_connection_id": bcMaria, "user": "5011000001", "is_enabled": "true", "date": "2025-03-03T08:30:00Z",
				"rights": `{"can_reply":true,"can_read_messages":true,"can_delete_outgoing_messages":true}`}}}},
		{"business_connection_legacy", []want{{Kind: onrecord.KindSystem, ProviderID: "business_connection:CPnWd0Lzh0AAAg-tbrandt2:731500142",
			Conversation: "5011000002", Direction: onrecord.Outbound, Sender: tom, SentAt: "2025-03-03T12:00:00Z",
			Body: "Tom Brandt disconnected their Telegram Business account from the bot", Subtype: "business_connection",
			Meta: map[string]string{"is_enabled": "false", "can_reply": "false"}, NoMeta: []string{"rights"}}}},
		{"business_message_inbound", []want{{Kind: onrecord.KindMessage, ProviderID: bcMaria + ":6022000001:5120", Conversation: "6022000001",
			Direction: onrecord.Inbound, Sender: jonas, SentAt: "2025-03-03T08:31:00Z",
			Body: "Frau Keller, können wir den Termin am Donnerstag auf 15 Uhr verschieben?", Subtype: "text",
			Meta: map[string]string{"business_connection_id": bcMaria}}}},
		{"business_message_outbound", []want{{Kind: onrecord.KindMessage, ProviderID: bcMaria + ":6022000001:5121", Conversation: "6022000001",
			Direction: onrecord.Outbound, Sender: maria, Recipients: []onrecord.Party{jonas}, SentAt: "2025-03-03T08:32:00Z",
			Body: "Natürlich, Donnerstag 15:00 in der Filiale Maximilianstraße.", Subtype: "text", ReplyTo: bcMaria + ":6022000001:5120",
			Meta: map[string]string{"business_connection_id": bcMaria}}}},
		{"business_message_by_bot", []want{{Kind: onrecord.KindMessage, ProviderID: bcMaria + ":6022000001:5123", Conversation: "6022000001",
			Direction: onrecord.Outbound, Sender: maria, Recipients: []onrecord.Party{jonas}, SentAt: "2025-03-03T08:33:20Z",
			Body: "Automatische Antwort: Frau Keller ist bis 14 Uhr im Termin.", Subtype: "text",
			Meta: map[string]string{"sender_business_bot": botID, "sender_business_bot_username": "harborfinch_archive_bot"}}}},
		{"edited_business_message", []want{{Kind: onrecord.KindEdit, ProviderID: bcMaria + ":6022000001:5121:edit:1740990780",
			Target: bcMaria + ":6022000001:5121", Conversation: "6022000001", Direction: onrecord.Outbound, Sender: maria,
			Recipients: []onrecord.Party{jonas}, SentAt: "2025-03-03T08:33:00Z",
			Body: "Natürlich, Donnerstag 15:30 in der Filiale Maximilianstraße.", Subtype: "text"}}},
		{"deleted_business_messages", []want{
			{Kind: onrecord.KindDelete, ProviderID: bcMaria + ":6022000001:5120", Target: bcMaria + ":6022000001:5120", Conversation: "6022000001",
				Direction: onrecord.Inbound, Sender: jonas, SentAt: "2025-03-03T12:00:00Z", Meta: map[string]string{"deleted_by": "unknown", "business_connection_id": bcMaria}},
			{Kind: onrecord.KindDelete, ProviderID: bcMaria + ":6022000001:5122", Target: bcMaria + ":6022000001:5122", Conversation: "6022000001",
				Direction: onrecord.Inbound, Sender: jonas, SentAt: "2025-03-03T12:00:00Z", Meta: map[string]string{"message_id": "5122"}},
		}},
		{"callback_query", []want{{Kind: onrecord.KindSystem, ProviderID: "callback_query:731500136:" + valueHash(t, "callback_query"),
			Target: "6022000001:106", Conversation: "6022000001", Direction: onrecord.Inbound, Sender: jonas, SentAt: "2025-03-03T12:00:00Z",
			Subtype: "callback_query", Meta: map[string]string{"data": "confirm_transfer:106"}}}},
		{"chat_member", []want{{Kind: onrecord.KindSystem, ProviderID: "chat_member:731500144:" + valueHash(t, "chat_member"),
			Conversation: desk, Direction: onrecord.Inbound, Sender: maria, SentAt: "2025-03-03T08:36:00Z", Group: true, GroupName: deskName,
			Body: "Henrik Larsen (6022000006): member → kicked", Subtype: "chat_member",
			Meta: map[string]string{"old_status": "member", "new_status": "kicked", "member": "6022000006"}}}},
		{"unknown_update", []want{{Kind: onrecord.KindSystem, ProviderID: "business_future_update:731500138:" + valueHash(t, "unknown_update"),
			Conversation: "telegram", Direction: onrecord.Inbound, Sender: onrecord.Party{ID: "telegram", Name: "Telegram"},
			SentAt: "2025-03-03T08:37:00Z", Subtype: "business_future_update",
			Meta: map[string]string{"business_future_update": `{"id":"future-1","date":1740991020}`, "update_id": "731500138"}}}},
		{"message_unsupported", []want{{Kind: onrecord.KindMessage, ProviderID: "6022000001:107", Conversation: "6022000001",
			Direction: onrecord.Inbound, Sender: jonas, Recipients: []onrecord.Party{bot}, SentAt: "2025-03-03T08:38:00Z",
			Subtype: "unsupported", Meta: map[string]string{"fields": "hologram"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			body := readFixture(t, tt.file)
			req := request(body)
			if err := c.Authenticate(req); err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
			got, err := c.Parse(req)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d events, want %d: %+v", len(got), len(tt.want), got)
			}
			for i, w := range tt.want {
				checkEvent(t, i, got[i], w)
			}
		})
	}
}

func readFixture(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".json"))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// valueHash is the hash part of the provider id of an update without an
// id of its own, computed from the fixture the way a reader would check it.
func valueHash(tb testing.TB, file string) string {
	tb.Helper()
	fields, err := objectFields(readFixture(tb, file))
	if err != nil {
		tb.Fatal(err)
	}
	for _, f := range fields {
		if f.Key != "update_id" {
			return shortHash(f.Value)
		}
	}
	tb.Fatal("fixture has no update field")
	return ""
}

func checkEvent(t *testing.T, i int, got connector.Event, w want) {
	t.Helper()
	ev := got.Event
	ev.Channel = "tg"
	if err := ev.Validate(); err != nil {
		t.Errorf("event %d does not validate: %v", i, err)
	}
	if ev.Channel != "tg" || got.CapturedAt != (time.Time{}) || got.Raw != nil {
		t.Errorf("event %d: connector filled gateway fields", i)
	}
	str := []struct{ name, got, want string }{
		{"kind", string(ev.Kind), string(w.Kind)}, {"provider_id", ev.ProviderID, w.ProviderID}, {"target", ev.Target, w.Target},
		{"conversation", ev.Conversation, w.Conversation}, {"direction", string(ev.Direction), string(w.Direction)},
		{"sender.id", ev.Sender.ID, w.Sender.ID}, {"sender.name", ev.Sender.Name, w.Sender.Name},
		{"sent_at", ev.SentAt.Format(time.RFC3339), w.SentAt}, {"body", ev.Body, w.Body}, {"emoji", ev.Emoji, w.Emoji},
		{"subtype", ev.Subtype, w.Subtype}, {"reply_to", ev.ReplyTo, w.ReplyTo}, {"thread", ev.Thread, w.Thread},
		{"group_name", ev.GroupName, w.GroupName},
	}
	for _, s := range str {
		if s.got != s.want {
			t.Errorf("event %d: %s = %q, want %q", i, s.name, s.got, s.want)
		}
	}
	if ev.SentAt.Location() != time.UTC {
		t.Errorf("event %d: sent_at is not UTC", i)
	}
	if ev.Forwarded != w.Forwarded || ev.Group != w.Group || ev.ExpiresInSeconds != w.Expires {
		t.Errorf("event %d: forwarded/group/expires = %v/%v/%d, want %v/%v/%d", i, ev.Forwarded, ev.Group, ev.ExpiresInSeconds, w.Forwarded, w.Group, w.Expires)
	}
	if len(ev.Recipients) != len(w.Recipients) || (len(w.Recipients) > 0 && !reflect.DeepEqual(ev.Recipients, w.Recipients)) {
		t.Errorf("event %d: recipients = %+v, want %+v", i, ev.Recipients, w.Recipients)
	}
	if len(got.Media) != len(w.Media) || (len(w.Media) > 0 && !reflect.DeepEqual(got.Media, w.Media)) {
		t.Errorf("event %d: media = %+v, want %+v", i, got.Media, w.Media)
	}
	for k, v := range w.Meta {
		if ev.Meta[k] != v {
			t.Errorf("event %d: meta[%q] = %q, want %q", i, k, ev.Meta[k], v)
		}
	}
	for _, k := range w.NoMeta {
		if v, ok := ev.Meta[k]; ok {
			t.Errorf("event %d: meta[%q] = %q, want absent", i, k, v)
		}
	}
	if ev.Meta["update_id"] == "" {
		t.Errorf("event %d: no update_id in meta", i)
	}
}

func TestParse_TwoEmployeesWithOneClientDoNotCollide(t *testing.T) {
	c := mustNew(t)
	mk := func(bc string) string {
		body := `{"update_id":1,"business_message":{"business_connection_id":"` + bc + `","message_id":42,"from":{"id":6022000001,"is_bot":false,"first_name":"Jonas"},"chat":{"id":6022000001,"first_name":"Jonas","type":"private"},"date":1740990660,"text":"Hallo"}}`
		evs, err := c.Parse(request([]byte(body)))
		if err != nil || len(evs) != 1 {
			t.Fatalf("Parse: %v, %d events", err, len(evs))
		}
		return evs[0].ProviderID
	}
	a, b := mk("CPnWd0Lzh0AAAQ-mkeller1"), mk("CPnWd0Lzh0AAAg-tbrandt2")
	if a == b {
		t.Fatalf("message 42 of two business accounts share provider id %q", a)
	}
}

func TestParse_BotsOwnMessageIsOutbound(t *testing.T) {
	c := mustNew(t)
	body := `{"update_id":9,"channel_post":{"message_id":5,"from":{"id":7352001234,"is_bot":true,"first_name":"Archive"},"chat":{"id":6022000001,"first_name":"Jonas","type":"private"},"date":1740990000,"text":"Your statement is ready."}}`
	evs, err := c.Parse(request([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	if evs[0].Direction != onrecord.Outbound || len(evs[0].Recipients) != 1 || evs[0].Recipients[0].ID != "6022000001" {
		t.Fatalf("bot's message: direction %q recipients %+v, want outbound to the chat", evs[0].Direction, evs[0].Recipients)
	}
}

func TestParse_BatchInOrder(t *testing.T) {
	c := mustNew(t)
	body := "[" + string(readFixture(t, "message_text_private")) + "," + string(readFixture(t, "edited_message")) + "]"
	evs, err := c.Parse(request([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || evs[0].Kind != onrecord.KindMessage || evs[1].Kind != onrecord.KindEdit || evs[1].Target != evs[0].ProviderID {
		t.Fatalf("batch: %+v", evs)
	}
}

func TestParse_EditProviderIDsDifferPerEdit(t *testing.T) {
	c := mustNew(t)
	ids := map[string]bool{}
	for _, d := range []string{"1740990180", "1740990240"} {
		body := strings.Replace(string(readFixture(t, "edited_message")), "1740990180", d, 1)
		evs, err := c.Parse(request([]byte(body)))
		if err != nil {
			t.Fatal(err)
		}
		ids[evs[0].ProviderID] = true
		if evs[0].Target != "6022000001:101" {
			t.Fatalf("target %q", evs[0].Target)
		}
	}
	if len(ids) != 2 {
		t.Fatalf("two edits of one message got one provider id: %v", ids)
	}
}

func TestParse_RetryGivesSameEvents(t *testing.T) {
	c := mustNew(t)
	for _, f := range []string{"callback_query", "business_connection", "deleted_business_messages", "message_reaction_changed"} {
		body := readFixture(t, f)
		a, err1 := c.Parse(request(body))
		r := request(body)
		r.ReceivedAt = received.Add(time.Hour)
		b, err2 := c.Parse(r)
		if err1 != nil || err2 != nil || len(a) != len(b) {
			t.Fatalf("%s: %v %v", f, err1, err2)
		}
		for i := range a {
			if a[i].ProviderID != b[i].ProviderID || a[i].Kind != b[i].Kind {
				t.Errorf("%s: retry changed identity %q → %q", f, a[i].ProviderID, b[i].ProviderID)
			}
		}
	}
}

func TestParse_Errors(t *testing.T) {
	c := mustNew(t)
	tests := []struct{ name, body string }{
		{"empty", ""},
		{"not JSON", "hello"},
		{"array of garbage", "[1,2"},
		{"not an object", `"update"`},
		{"no update_id", `{"message":{"message_id":1,"chat":{"id":1,"type":"private"},"date":1}}`},
		{"update_id not a number", `{"update_id":"x","message":{}}`},
		{"message without chat", `{"update_id":1,"message":{"message_id":1,"date":1,"text":"hi"}}`},
		{"message null", `{"update_id":1,"message":null}`},
		{"message wrong type", `{"update_id":1,"message":{"message_id":"one","chat":{"id":1}}}`},
		{"reaction without chat", `{"update_id":1,"message_reaction":{"message_id":3,"date":1}}`},
		{"business connection without id", `{"update_id":1,"business_connection":{"user":{"id":1},"date":1}}`},
		{"trailing data", `{"update_id":1}{"update_id":2}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs, err := c.Parse(request([]byte(tt.body)))
			if err == nil {
				t.Fatalf("Parse accepted it: %+v", evs)
			}
		})
	}
}

func TestParse_UpdateWithOnlyIDIsRecorded(t *testing.T) {
	c := mustNew(t)
	evs, err := c.Parse(request([]byte(`{"update_id":77}`)))
	if err != nil || len(evs) != 1 || evs[0].Kind != onrecord.KindSystem || evs[0].Subtype != "unsupported" {
		t.Fatalf("got %+v, %v", evs, err)
	}
}

func TestParse_DateOutOfRangeFallsBackToReceived(t *testing.T) {
	c := mustNew(t)
	body := `{"update_id":1,"message":{"message_id":1,"from":{"id":5,"first_name":"A"},"chat":{"id":5,"type":"private"},"date":99999999999999,"text":"x"}}`
	evs, err := c.Parse(request([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	if !evs[0].SentAt.Equal(received) {
		t.Fatalf("sent_at %v, want the received time", evs[0].SentAt)
	}
}

// members hands out parts of the body, not copies; a repeated key is there
// as often as it occurs, get reads its last value (as encoding/json would
// decode it) and objectFields keeps its first.
func TestMembers_PartsOfTheBody(t *testing.T) {
	raw := []byte(` {"a" : 1, "b":[1, 2] ,"a":"x", "c":{"d":null}} `)
	tests := []struct {
		got, want string
	}{
		{string(mustMembers(t, raw).get("a")), `"x"`},
		{string(mustMembers(t, raw).get("b")), `[1, 2]`},
		{string(mustMembers(t, raw).get("c")), `{"d":null}`},
		{string(mustMembers(t, raw).get("d")), ``},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
	ms := mustMembers(t, raw)
	var keys []string
	for _, f := range ms {
		keys = append(keys, f.Key)
		if i := strings.Index(string(raw), string(f.Value)); i < 0 || &raw[i] != &f.Value[0] {
			t.Errorf("%s: value %q is not a part of the body", f.Key, f.Value)
		}
	}
	if strings.Join(keys, ",") != "a,b,a,c" {
		t.Errorf("keys %q, want a,b,a,c", keys)
	}
	if ms.has("d") || !ms.has("c") {
		t.Errorf("has: d %v, c %v", ms.has("d"), ms.has("c"))
	}
	fields, err := objectFields(raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(fields) != 3 || fields[0].Key != "a" || string(fields[0].Value) != "1" {
		t.Errorf("objectFields = %q, want a (first value 1), b, c", fields)
	}
	for _, bad := range []string{`[1]`, `{"a":1} {}`, `{"a":}`, ``} {
		if _, err := members([]byte(bad)); err == nil {
			t.Errorf("members(%q): no error", bad)
		}
	}
}

func mustMembers(t *testing.T, raw []byte) fieldList {
	t.Helper()
	ms, err := members(raw)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}
