package telegram

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	json "github.com/go-json-experiment/json/v1"
	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/connector"
)

// maxUnix is the last second encoding/json can render in a time.Time
// (9999-12-31T23:59:59Z); a date beyond it would make the record unsealable.
const maxUnix = 253402300799

// contentFields are the Message fields that carry content, in the order
// they are tested: animation before document (an animation message also
// carries document for old clients) and venue before location (a venue
// carries its location).
var contentFields = []string{
	"animation", "photo", "video", "video_note", "voice", "audio", "document", "sticker",
	"venue", "location", "contact", "poll", "dice",
	"story", "game", "invoice", "paid_media", "checklist", "giveaway", "giveaway_winners",
}

// serviceFields are the Message fields of service messages: things that
// happened in the chat rather than something someone wrote.
var serviceFields = []string{
	"new_chat_members", "left_chat_member", "new_chat_title", "new_chat_photo", "delete_chat_photo",
	"group_chat_created", "supergroup_chat_created", "channel_chat_created",
	"message_auto_delete_timer_changed", "migrate_to_chat_id", "migrate_from_chat_id", "pinned_message",
	"successful_payment", "refunded_payment", "users_shared", "chat_shared", "gift", "unique_gift",
	"connected_website", "write_access_allowed", "passport_data", "proximity_alert_triggered",
	"boost_added", "chat_background_set", "checklist_tasks_done", "checklist_tasks_added",
	"direct_message_price_changed", "forum_topic_created", "forum_topic_edited", "forum_topic_closed",
	"forum_topic_reopened", "general_forum_topic_hidden", "general_forum_topic_unhidden",
	"giveaway_created", "giveaway_completed", "paid_message_price_changed", "video_chat_scheduled",
	"video_chat_started", "video_chat_ended", "video_chat_participants_invited", "web_app_data",
}

// envelopeFields are Message fields that describe a message rather than
// carry its content; anything else on a message without known content
// makes it "unsupported".
var envelopeFields = map[string]bool{
	"message_id": true, "message_thread_id": true, "direct_messages_topic": true, "from": true, "sender_chat": true,
	"sender_boost_count": true, "sender_business_bot": true, "date": true, "business_connection_id": true,
	"chat": true, "forward_origin": true, "forward_from": true, "forward_from_chat": true,
	"forward_from_message_id": true, "forward_signature": true, "forward_sender_name": true, "forward_date": true,
	"is_topic_message": true, "is_automatic_forward": true, "reply_to_message": true, "external_reply": true,
	"quote": true, "reply_to_story": true, "reply_to_checklist_task_id": true, "via_bot": true, "edit_date": true,
	"has_protected_content": true, "is_from_offline": true, "is_paid_post": true, "media_group_id": true,
	"author_signature": true, "paid_star_count": true, "text": true, "entities": true,
	"link_preview_options": true, "suggested_post_info": true, "effect_id": true, "caption": true,
	"caption_entities": true, "show_caption_above_media": true, "has_media_spoiler": true, "reply_markup": true,
}

// update is what every event of one Update shares.
type update struct {
	id       int64
	received time.Time
}

// Parse maps a delivery to events. Telegram posts one Update per request;
// a JSON array of Updates (a getUpdates result replayed through the
// gateway) is read in order too. A body that is not an Update, or an
// Update whose known field cannot be read, is an error: the gateway then
// archives it raw.
func (c *Connector) Parse(req *connector.Request) ([]connector.Event, error) {
	if req == nil {
		return nil, errors.New("telegram: no request")
	}
	body := bytes.TrimSpace(req.Body)
	if len(body) == 0 {
		return nil, errors.New("telegram: empty body")
	}
	if body[0] == '[' {
		var batch []json.RawMessage
		if err := json.Unmarshal(body, &batch); err != nil {
			return nil, fmt.Errorf("telegram: read update batch: %w", err)
		}
		var out []connector.Event
		for i, raw := range batch {
			evs, err := c.parseUpdate(raw, req.ReceivedAt)
			if err != nil {
				return nil, fmt.Errorf("telegram: update %d of %d: %w", i+1, len(batch), err)
			}
			out = append(out, evs...)
		}
		return out, nil
	}
	evs, err := c.parseUpdate(body, req.ReceivedAt)
	if err != nil {
		return nil, fmt.Errorf("telegram: %w", err)
	}
	return evs, nil
}

func (c *Connector) parseUpdate(raw []byte, received time.Time) ([]connector.Event, error) {
	fields, err := objectFields(raw)
	if err != nil {
		return nil, fmt.Errorf("not a Telegram Update: %w", err)
	}
	u := update{received: received}
	found := false
	for _, f := range fields {
		if f.Key == "update_id" {
			if u.id, err = decodeInt(f.Value); err != nil {
				return nil, fmt.Errorf("not a Telegram Update: update_id is %v", err)
			}
			found = true
		}
	}
	if !found {
		return nil, errors.New("not a Telegram Update: no update_id")
	}
	var out []connector.Event
	for _, f := range fields {
		if f.Key == "update_id" {
			continue
		}
		evs, err := c.parseField(u, f)
		if err != nil {
			return nil, fmt.Errorf("update %d: %s: %w", u.id, f.Key, err)
		}
		out = append(out, evs...)
	}
	if len(out) == 0 {
		// An Update with nothing but its id: recognisable, so recorded.
		ev := newEvent()
		ev.Kind = onrecord.KindSystem
		ev.Subtype = "unsupported"
		ev.ProviderID = "update:" + strconv.FormatInt(u.id, 10)
		ev.Conversation, ev.Sender = "telegram", telegramParty
		ev.SentAt = c.when(0, u)
		ev.Meta["note"] = "the update carries no field besides update_id"
		out = append(out, ev)
	}
	for i := range out {
		out[i].Meta["update_id"] = strconv.FormatInt(u.id, 10)
	}
	return out, nil
}

func (c *Connector) parseField(u update, f field) ([]connector.Event, error) {
	switch f.Key {
	case "message", "channel_post", "business_message":
		m, err := decodeMessage(f.Value)
		if err != nil {
			return nil, err
		}
		return []connector.Event{c.messageEvent(u, m, false)}, nil
	case "edited_message", "edited_channel_post", "edited_business_message":
		m, err := decodeMessage(f.Value)
		if err != nil {
			return nil, err
		}
		return []connector.Event{c.messageEvent(u, m, true)}, nil
	case "message_reaction":
		return c.reactionEvents(u, f.Value)
	case "message_reaction_count":
		return c.reactionCountEvent(u, f.Value)
	case "business_connection":
		return c.businessConnectionEvent(u, f.Value)
	case "deleted_business_messages":
		return c.deletedBusinessEvents(u, f.Value)
	}
	return []connector.Event{c.otherUpdateEvent(u, f)}, nil
}

// msgKey is the provider id of a message. Telegram message ids are unique
// only within a chat, so the chat id is part of it. In business chats the
// chat id is the customer's user id, the same for every employee the
// customer writes to, while each employee's account numbers its messages
// on its own; the business connection id keeps two employees' messages to
// one customer apart.
func msgKey(businessConnectionID string, chatID, messageID int64) string {
	k := strconv.FormatInt(chatID, 10) + ":" + strconv.FormatInt(messageID, 10)
	if businessConnectionID != "" {
		return businessConnectionID + ":" + k
	}
	return k
}

var telegramParty = onrecord.Party{ID: "telegram", Name: "Telegram"}

// newEvent is an empty event; inbound unless a mapping decides otherwise.
func newEvent() connector.Event {
	return connector.Event{Event: onrecord.Event{Direction: onrecord.Inbound, Meta: map[string]string{}}}
}

// when is a Telegram date (Unix seconds) in UTC, or the time the delivery
// was received when the payload has no usable date.
func (c *Connector) when(unix int64, u update) time.Time {
	if unix > 0 && unix <= maxUnix {
		return time.Unix(unix, 0).UTC()
	}
	if !u.received.IsZero() && u.received.Year() >= 1 && u.received.Year() <= 9999 {
		return u.received.UTC()
	}
	return time.Now().UTC()
}

func userParty(x *user) onrecord.Party {
	name := strings.TrimSpace(x.FirstName + " " + x.LastName)
	if name == "" && x.Username != "" {
		name = "@" + x.Username
	}
	return onrecord.Party{ID: strconv.FormatInt(x.ID, 10), Name: name}
}

func chatParty(x *chat) onrecord.Party {
	name := x.Title
	if name == "" {
		name = strings.TrimSpace(x.FirstName + " " + x.LastName)
	}
	if name == "" && x.Username != "" {
		name = "@" + x.Username
	}
	return onrecord.Party{ID: strconv.FormatInt(x.ID, 10), Name: name}
}

func isGroup(x *chat) bool {
	return x.Type == "group" || x.Type == "supergroup" || x.Type == "channel"
}

func setMeta(m map[string]string, k, v string) {
	if v != "" {
		m[k] = v
	}
}

func fmtInt(n int64) string { return strconv.FormatInt(n, 10) }

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// direction: the bot's own messages, messages a business bot sent on an
// employee's behalf, and, in a business chat, anything not written by the
// customer (the chat's id is the customer's user id, so any other author
// is the business account owner) are outbound; the rest is inbound.
func (c *Connector) direction(m *message) onrecord.Direction {
	switch {
	case m.From != nil && m.From.ID == c.botID:
		return onrecord.Outbound
	case m.SenderBusinessBot != nil:
		return onrecord.Outbound
	case m.BusinessConnectionID != "" && m.From != nil && m.From.ID != m.Chat.ID:
		return onrecord.Outbound
	}
	return onrecord.Inbound
}

// messageEvent maps a Message: a message, a service message (system) or,
// with edit, a new version of an earlier message.
func (c *Connector) messageEvent(u update, m *message, edit bool) connector.Event {
	ev := newEvent()
	key := msgKey(m.BusinessConnectionID, m.Chat.ID, m.MessageID)
	ev.ProviderID = key
	ev.Conversation = fmtInt(m.Chat.ID)
	if isGroup(m.Chat) {
		ev.Group, ev.GroupName = true, m.Chat.Title
	}
	ev.Direction = c.direction(m)
	switch {
	case m.SenderChat != nil:
		ev.Sender = chatParty(m.SenderChat)
		if m.From != nil {
			setMeta(ev.Meta, "from_id", fmtInt(m.From.ID))
		}
	case m.From != nil:
		ev.Sender = userParty(m.From)
	default:
		ev.Sender = chatParty(m.Chat)
	}
	switch {
	case ev.Group:
	case ev.Direction == onrecord.Outbound:
		ev.Recipients = []onrecord.Party{chatParty(m.Chat)}
	case m.BusinessConnectionID == "":
		ev.Recipients = []onrecord.Party{{ID: fmtInt(c.botID)}}
	}
	ev.SentAt = c.when(m.Date, u)
	c.messageMeta(&ev, m)

	if r := m.ReplyToMessage; r != nil && r.MessageID != 0 {
		// In a forum topic every message "replies" to the topic's first
		// message; that is the thread, not a reply.
		if !(m.IsTopicMessage && r.MessageID == m.MessageThreadID) {
			rc := m.Chat
			if r.Chat != nil {
				rc = r.Chat
			}
			ev.ReplyTo = msgKey(m.BusinessConnectionID, rc.ID, r.MessageID)
		}
	}
	if m.MessageThreadID != 0 {
		ev.Thread = fmtInt(m.MessageThreadID)
	}
	c.forwardMeta(&ev, m)

	if !edit {
		for _, k := range serviceFields {
			if m.keys.has(k) {
				ev.Kind = onrecord.KindSystem
				c.service(&ev, m, k)
				return ev
			}
		}
	}
	ev.Kind = onrecord.KindMessage
	c.content(&ev, m)
	if edit {
		ev.Kind = onrecord.KindEdit
		ev.Target = key
		if m.EditDate != 0 {
			ev.ProviderID = key + ":edit:" + fmtInt(m.EditDate)
		} else {
			// No edit_date: the update id is still the same on every retry.
			ev.ProviderID = key + ":edit:u" + fmtInt(u.id)
		}
		ev.SentAt = c.when(m.EditDate, update{id: u.id, received: ev.SentAt})
		ev.Meta["date"] = c.when(m.Date, u).Format(time.RFC3339)
	}
	return ev
}

func (c *Connector) messageMeta(ev *connector.Event, m *message) {
	mt := ev.Meta
	mt["message_id"] = fmtInt(m.MessageID)
	setMeta(mt, "chat_type", m.Chat.Type)
	setMeta(mt, "chat_username", m.Chat.Username)
	if m.From != nil {
		setMeta(mt, "sender_username", m.From.Username)
		if m.From.IsBot {
			mt["sender_is_bot"] = "true"
		}
	}
	setMeta(mt, "business_connection_id", m.BusinessConnectionID)
	if b := m.SenderBusinessBot; b != nil {
		mt["sender_business_bot"] = fmtInt(b.ID)
		setMeta(mt, "sender_business_bot_username", b.Username)
	}
	if b := m.ViaBot; b != nil {
		mt["via_bot"] = fmtInt(b.ID)
		setMeta(mt, "via_bot_username", b.Username)
	}
	setMeta(mt, "author_signature", m.AuthorSignature)
	setMeta(mt, "media_group_id", m.MediaGroupID)
	if len(m.Entities) > 0 {
		setMeta(mt, "entities", compactJSON(m.Entities))
	}
	if len(m.CaptionEntities) > 0 {
		setMeta(mt, "caption_entities", compactJSON(m.CaptionEntities))
	}
	if len(m.Quote) > 0 && string(m.Quote) != "null" {
		setMeta(mt, "quote", compactJSON(m.Quote))
	}
	if len(m.ExternalReply) > 0 && string(m.ExternalReply) != "null" {
		setMeta(mt, "external_reply", compactJSON(m.ExternalReply))
	}
	if m.EditDate != 0 {
		mt["edit_date"] = fmtInt(m.EditDate)
	}
	if m.HasProtectedContent {
		mt["has_protected_content"] = "true"
	}
	if m.IsAutomaticForward {
		mt["is_automatic_forward"] = "true"
	}
	if m.IsTopicMessage {
		mt["is_topic_message"] = "true"
	}
}

// forwardMeta records where a forwarded message came from: forward_origin
// (Bot API 7.0+) or the legacy forward_* fields.
func (c *Connector) forwardMeta(ev *connector.Event, m *message) {
	mt := ev.Meta
	if o := m.ForwardOrigin; o != nil {
		ev.Forwarded = true
		setMeta(mt, "forward_origin", o.Type)
		if o.Date != 0 {
			mt["forward_date"] = c.when(o.Date, update{}).Format(time.RFC3339)
		}
		switch {
		case o.SenderUser != nil:
			p := userParty(o.SenderUser)
			mt["forward_from_id"], mt["forward_from"] = p.ID, p.Name
		case o.SenderUserName != "":
			mt["forward_from"] = o.SenderUserName
		case o.SenderChat != nil:
			p := chatParty(o.SenderChat)
			mt["forward_from_id"], mt["forward_from"] = p.ID, p.Name
		case o.Chat != nil:
			p := chatParty(o.Chat)
			mt["forward_from_id"], mt["forward_from"] = p.ID, p.Name
		}
		if o.MessageID != 0 {
			mt["forward_from_message_id"] = fmtInt(o.MessageID)
		}
		setMeta(mt, "forward_signature", o.AuthorSignature)
		return
	}
	if m.ForwardFrom == nil && m.ForwardFromChat == nil && m.ForwardSenderName == "" && m.ForwardDate == 0 {
		return
	}
	ev.Forwarded = true
	switch {
	case m.ForwardFrom != nil:
		p := userParty(m.ForwardFrom)
		mt["forward_from_id"], mt["forward_from"] = p.ID, p.Name
	case m.ForwardFromChat != nil:
		p := chatParty(m.ForwardFromChat)
		mt["forward_from_id"], mt["forward_from"] = p.ID, p.Name
	case m.ForwardSenderName != "":
		mt["forward_from"] = m.ForwardSenderName
	}
	if m.ForwardDate != 0 {
		mt["forward_date"] = c.when(m.ForwardDate, update{}).Format(time.RFC3339)
	}
}

// content fills Subtype, Body, Media and Meta from a message's content.
func (c *Connector) content(ev *connector.Event, m *message) {
	mt := ev.Meta
	kind := ""
	for _, k := range contentFields {
		if m.keys.has(k) {
			kind = k
			break
		}
	}
	ev.Body = m.Caption
	switch kind {
	case "":
		if m.keys.has("text") {
			ev.Subtype, ev.Body = "text", m.Text
			return
		}
		ev.Subtype = "unsupported"
		var unknown []string
		for _, f := range m.keys {
			if !envelopeFields[f.Key] {
				unknown = append(unknown, f.Key)
			}
		}
		slices.Sort(unknown)
		unknown = slices.Compact(unknown)
		setMeta(mt, "fields", truncate(strings.Join(unknown, ","), maxMetaValue))
		return
	case "photo":
		if p, ok := largestPhoto(m.Photo); ok {
			ev.Media = append(ev.Media, connector.MediaRef{Ref: p.FileID, Name: "photo_" + fileStem(p.FileUniqueID, m) + ".jpg", ContentType: "image/jpeg", Size: p.FileSize})
			setMeta(mt, "file_unique_id", p.FileUniqueID)
			mt["width"], mt["height"] = fmtInt(p.Width), fmtInt(p.Height)
		}
	case "animation":
		c.fileMedia(ev, m, kind, m.Animation, "video/mp4")
	case "video":
		c.fileMedia(ev, m, kind, m.Video, "video/mp4")
	case "video_note":
		c.fileMedia(ev, m, kind, m.VideoNote, "video/mp4")
	case "voice":
		c.fileMedia(ev, m, kind, m.Voice, "audio/ogg")
	case "audio":
		c.fileMedia(ev, m, kind, m.Audio, "audio/mpeg")
		if m.Audio != nil {
			setMeta(mt, "performer", m.Audio.Performer)
			setMeta(mt, "title", m.Audio.Title)
		}
	case "document":
		c.fileMedia(ev, m, kind, m.Document, "application/octet-stream")
	case "sticker":
		if s := m.Sticker; s != nil {
			ctype, ext := "image/webp", ".webp"
			switch {
			case s.IsAnimated:
				ctype, ext = "application/x-tgsticker", ".tgs"
			case s.IsVideo:
				ctype, ext = "video/webm", ".webm"
			}
			if s.FileID != "" {
				ev.Media = append(ev.Media, connector.MediaRef{Ref: s.FileID, Name: "sticker_" + fileStem(s.FileUniqueID, m) + ext, ContentType: ctype, Size: s.FileSize})
			}
			if ev.Body == "" {
				ev.Body = s.Emoji
			}
			setMeta(mt, "file_unique_id", s.FileUniqueID)
			setMeta(mt, "sticker_emoji", s.Emoji)
			setMeta(mt, "sticker_set", s.SetName)
			setMeta(mt, "sticker_type", s.Type)
			setMeta(mt, "custom_emoji_id", s.CustomEmoji)
		}
	case "venue":
		if v := m.Venue; v != nil {
			lat, lon := fmtFloat(v.Location.Latitude), fmtFloat(v.Location.Longitude)
			ev.Body = strings.TrimSpace("📍 " + lat + "," + lon + " " + strings.Join(nonEmpty(v.Title, v.Address), ", "))
			mt["latitude"], mt["longitude"] = lat, lon
			setMeta(mt, "venue_title", v.Title)
			setMeta(mt, "venue_address", v.Address)
			setMeta(mt, "foursquare_id", v.FoursquareID)
			setMeta(mt, "google_place_id", v.GooglePlaceID)
		}
	case "location":
		if l := m.Location; l != nil {
			lat, lon := fmtFloat(l.Latitude), fmtFloat(l.Longitude)
			ev.Body = "📍 " + lat + "," + lon
			mt["latitude"], mt["longitude"] = lat, lon
			if l.HorizontalAccuracy != 0 {
				mt["horizontal_accuracy"] = fmtFloat(l.HorizontalAccuracy)
			}
			if l.LivePeriod != 0 {
				mt["live_period"] = fmtInt(l.LivePeriod)
			}
		}
	case "contact":
		if k := m.Contact; k != nil {
			name := strings.TrimSpace(k.FirstName + " " + k.LastName)
			ev.Body = strings.TrimSpace("👤 " + strings.Join(nonEmpty(name, k.PhoneNumber), " "))
			setMeta(mt, "contact_name", name)
			setMeta(mt, "contact_phone", k.PhoneNumber)
			if k.UserID != 0 {
				mt["contact_user_id"] = fmtInt(k.UserID)
			}
			setMeta(mt, "contact_vcard", truncate(k.VCard, maxMetaValue))
		}
	case "poll":
		if p := m.Poll; p != nil {
			var b strings.Builder
			b.WriteString("📊 " + p.Question)
			opts := make([]string, 0, len(p.Options))
			for _, o := range p.Options {
				b.WriteString("\n• " + o.Text)
				opts = append(opts, o.Text)
			}
			ev.Body = b.String()
			setMeta(mt, "poll_id", p.ID)
			setMeta(mt, "poll_type", p.Type)
			if js, err := json.Marshal(opts); err == nil {
				mt["poll_options"] = truncate(string(js), maxMetaValue)
			}
			mt["poll_anonymous"] = strconv.FormatBool(p.IsAnonymous)
			mt["poll_multiple_answers"] = strconv.FormatBool(p.AllowsMultipleAnswers)
			if p.IsClosed {
				mt["poll_closed"] = "true"
			}
		}
	case "dice":
		if d := m.Dice; d != nil {
			ev.Body = strings.TrimSpace(d.Emoji + " " + fmtInt(d.Value))
			setMeta(mt, "dice_emoji", d.Emoji)
			mt["dice_value"] = fmtInt(d.Value)
		}
	default:
		// Recognised content the archive keeps as given: stories, games,
		// invoices, paid media, checklists, giveaways.
		setMeta(mt, kind, compactJSON(m.keys.get(kind)))
	}
	ev.Subtype = kind
}

func nonEmpty(ss ...string) []string {
	out := ss[:0:0]
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// largestPhoto picks the biggest of the sizes Telegram offers (the last
// one, as sent, but chosen by area and size so the order does not matter).
func largestPhoto(sizes []photoSize) (photoSize, bool) {
	best, ok := photoSize{}, false
	for _, p := range sizes {
		if p.FileID == "" {
			continue
		}
		if !ok || p.Width*p.Height > best.Width*best.Height ||
			(p.Width*p.Height == best.Width*best.Height && p.FileSize >= best.FileSize) {
			best, ok = p, true
		}
	}
	return best, ok
}

func fileStem(unique string, m *message) string {
	if unique != "" && tokenChars(unique) {
		return unique
	}
	return fmtInt(m.Chat.ID) + "_" + fmtInt(m.MessageID)
}

var extByType = map[string]string{
	"video/mp4": ".mp4", "audio/ogg": ".ogg", "audio/mpeg": ".mp3", "audio/mp4": ".m4a", "image/jpeg": ".jpg",
	"image/png": ".png", "image/gif": ".gif", "image/webp": ".webp", "video/webm": ".webm", "application/pdf": ".pdf",
	"application/zip": ".zip", "text/plain": ".txt",
}

func (c *Connector) fileMedia(ev *connector.Event, m *message, kind string, f *file, defType string) {
	if f == nil || f.FileID == "" {
		return
	}
	ctype := f.MimeType
	if ctype == "" {
		ctype = defType
	}
	name := f.FileName
	if name == "" {
		name = kind + "_" + fileStem(f.FileUniqueID, m) + extByType[ctype]
	}
	ev.Media = append(ev.Media, connector.MediaRef{Ref: f.FileID, Name: name, ContentType: ctype, Size: f.FileSize})
	setMeta(ev.Meta, "file_unique_id", f.FileUniqueID)
	if f.Duration != 0 {
		ev.Meta["duration"] = fmtInt(f.Duration)
	}
	if f.Width != 0 || f.Height != 0 {
		ev.Meta["width"], ev.Meta["height"] = fmtInt(f.Width), fmtInt(f.Height)
	}
}

// service renders a service message (KindSystem, Subtype = its field).
func (c *Connector) service(ev *connector.Event, m *message, k string) {
	ev.Subtype = k
	mt := ev.Meta
	who := ev.Sender.Name
	if who == "" {
		who = ev.Sender.ID
	}
	switch k {
	case "new_chat_members":
		var names, ids []string
		self := false
		for i := range m.NewChatMembers {
			p := userParty(&m.NewChatMembers[i])
			names, ids = append(names, p.Name), append(ids, p.ID)
			self = self || (m.From != nil && m.NewChatMembers[i].ID == m.From.ID)
		}
		if self && len(names) == 1 {
			ev.Body = names[0] + " joined"
		} else {
			ev.Body = who + " added " + strings.Join(names, ", ")
		}
		mt["new_chat_members"] = strings.Join(ids, ",")
	case "left_chat_member":
		if l := m.LeftChatMember; l != nil {
			p := userParty(l)
			if m.From != nil && m.From.ID == l.ID {
				ev.Body = p.Name + " left"
			} else {
				ev.Body = who + " removed " + p.Name
			}
			mt["left_chat_member"] = p.ID
		}
	case "new_chat_title":
		ev.Body = who + " changed the title to “" + m.NewChatTitle + "”"
		ev.GroupName = m.NewChatTitle
		mt["new_chat_title"] = m.NewChatTitle
	case "pinned_message":
		if p := m.PinnedMessage; p != nil && p.MessageID != 0 {
			ev.Target = msgKey(m.BusinessConnectionID, m.Chat.ID, p.MessageID)
			mt["pinned_message_id"] = fmtInt(p.MessageID)
		}
		ev.Body = who + " pinned a message"
	case "message_auto_delete_timer_changed":
		if t := m.MessageAutoDeleteTimerChanged; t != nil {
			ev.ExpiresInSeconds = t.MessageAutoDeleteTime
			mt["message_auto_delete_time"] = strconv.Itoa(t.MessageAutoDeleteTime)
			if t.MessageAutoDeleteTime == 0 {
				ev.Body = who + " turned off auto-delete"
			} else {
				ev.Body = fmt.Sprintf("%s set messages to auto-delete after %d s", who, t.MessageAutoDeleteTime)
			}
		}
	case "migrate_to_chat_id":
		mt[k] = fmtInt(m.MigrateToChatID)
		ev.Body = "group upgraded to supergroup " + fmtInt(m.MigrateToChatID)
	case "migrate_from_chat_id":
		mt[k] = fmtInt(m.MigrateFromChatID)
		ev.Body = "supergroup created from group " + fmtInt(m.MigrateFromChatID)
	case "forum_topic_created":
		if t := m.ForumTopicCreated; t != nil {
			ev.Body = who + " created the topic “" + t.Name + "”"
			mt["topic_name"] = t.Name
		}
	default:
		setMeta(mt, k, compactJSON(m.keys.get(k)))
	}
	if ev.Body == "" && m.Text != "" {
		ev.Body = m.Text
	}
}

func reactionKey(r reactionType) string {
	switch r.Type {
	case "emoji":
		return r.Emoji
	case "custom_emoji":
		return "custom_emoji:" + r.CustomEmojiID
	case "paid":
		return "paid"
	}
	return "type:" + r.Type
}

// reactionEvents turns a change of one user's reactions into one event per
// reaction removed (Emoji empty, Meta removed=true) and per reaction added.
// Reactions kept unchanged are not repeated.
func (c *Connector) reactionEvents(u update, raw json.RawMessage) ([]connector.Event, error) {
	var r messageReactionUpdated
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, err
	}
	if r.Chat == nil || r.MessageID == 0 {
		return nil, errors.New("reaction has no chat or message_id")
	}
	target := msgKey("", r.Chat.ID, r.MessageID)
	var reactor onrecord.Party
	switch {
	case r.User != nil:
		reactor = userParty(r.User)
	case r.ActorChat != nil:
		reactor = chatParty(r.ActorChat)
	default:
		reactor = chatParty(r.Chat)
	}
	dir := onrecord.Inbound
	if r.User != nil && r.User.ID == c.botID {
		dir = onrecord.Outbound
	}
	date := fmtInt(r.Date)
	oldSet, newSet := map[string]bool{}, map[string]bool{}
	var now []string
	for _, x := range r.OldReaction {
		oldSet[reactionKey(x)] = true
	}
	for _, x := range r.NewReaction {
		newSet[reactionKey(x)] = true
		now = append(now, reactionKey(x))
	}
	mk := func(x reactionType, removed bool) connector.Event {
		ev := newEvent()
		ev.Kind = onrecord.KindReaction
		ev.Target = target
		ev.Conversation = fmtInt(r.Chat.ID)
		if isGroup(r.Chat) {
			ev.Group, ev.GroupName = true, r.Chat.Title
		}
		ev.Direction, ev.Sender = dir, reactor
		ev.SentAt = c.when(r.Date, u)
		ev.Subtype = x.Type
		k := reactionKey(x)
		ev.Meta["message_id"] = fmtInt(r.MessageID)
		ev.Meta["reaction_type"] = x.Type
		setMeta(ev.Meta, "custom_emoji_id", x.CustomEmojiID)
		setMeta(ev.Meta, "reactions_now", strings.Join(now, " "))
		if removed {
			ev.ProviderID = target + ":" + reactor.ID + ":removed:" + k + ":" + date
			ev.Meta["removed"] = "true"
			setMeta(ev.Meta, "removed_emoji", x.Emoji)
		} else {
			ev.ProviderID = target + ":" + reactor.ID + ":" + k + ":" + date
			ev.Emoji = x.Emoji
		}
		return ev
	}
	var out []connector.Event
	for _, x := range r.OldReaction {
		if k := reactionKey(x); !newSet[k] {
			newSet[k] = true // one event per reaction, even if listed twice
			out = append(out, mk(x, true))
		}
	}
	for _, x := range r.NewReaction {
		if k := reactionKey(x); !oldSet[k] {
			oldSet[k] = true
			out = append(out, mk(x, false))
		}
	}
	if len(out) == 0 {
		ev := newEvent()
		ev.Kind = onrecord.KindSystem
		ev.Subtype = "message_reaction"
		ev.ProviderID = target + ":" + reactor.ID + ":unchanged:" + date
		ev.Target = target
		ev.Conversation = fmtInt(r.Chat.ID)
		ev.Direction, ev.Sender = dir, reactor
		ev.SentAt = c.when(r.Date, u)
		setMeta(ev.Meta, "reactions_now", strings.Join(now, " "))
		ev.Meta["note"] = "the update lists no change of reactions"
		out = append(out, ev)
	}
	return out, nil
}

// reactionCountEvent records the anonymous reaction totals Telegram sends
// for channels and anonymous admins.
func (c *Connector) reactionCountEvent(u update, raw json.RawMessage) ([]connector.Event, error) {
	var r messageReactionCountUpdated
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, err
	}
	if r.Chat == nil || r.MessageID == 0 {
		return nil, errors.New("reaction count has no chat or message_id")
	}
	target := msgKey("", r.Chat.ID, r.MessageID)
	ev := newEvent()
	ev.Kind = onrecord.KindSystem
	ev.Subtype = "message_reaction_count"
	ev.ProviderID = target + ":reaction_count:" + fmtInt(r.Date)
	ev.Target = target
	ev.Conversation = fmtInt(r.Chat.ID)
	if isGroup(r.Chat) {
		ev.Group, ev.GroupName = true, r.Chat.Title
	}
	ev.Direction, ev.Sender = onrecord.Inbound, chatParty(r.Chat)
	ev.SentAt = c.when(r.Date, u)
	parts := make([]string, 0, len(r.Reactions))
	for _, x := range r.Reactions {
		parts = append(parts, reactionKey(x.Type)+" "+fmtInt(x.TotalCount))
	}
	ev.Body = strings.Join(parts, ", ")
	ev.Meta["message_id"] = fmtInt(r.MessageID)
	var rawList struct {
		Reactions json.RawMessage `json:"reactions"`
	}
	if json.Unmarshal(raw, &rawList) == nil && len(rawList.Reactions) > 0 {
		setMeta(ev.Meta, "reactions", compactJSON(rawList.Reactions))
	}
	return []connector.Event{ev}, nil
}

// businessConnectionEvent records an employee connecting, changing or
// disconnecting their Telegram Business account. The update's date is when
// the connection was made, not when it changed, so the event is dated
// when it was received.
func (c *Connector) businessConnectionEvent(u update, raw json.RawMessage) ([]connector.Event, error) {
	var b businessConnection
	if err := json.Unmarshal(raw, &b); err != nil {
		return nil, err
	}
	if b.ID == "" {
		return nil, errors.New("business connection has no id")
	}
	ev := newEvent()
	ev.Kind = onrecord.KindSystem
	ev.Subtype = "business_connection"
	ev.ProviderID = "business_connection:" + b.ID + ":" + fmtInt(u.id)
	ev.Direction = onrecord.Outbound
	mt := ev.Meta
	mt["business_connection_id"] = b.ID
	mt["is_enabled"] = strconv.FormatBool(b.IsEnabled)
	if b.User != nil {
		ev.Sender = userParty(b.User)
		mt["user"] = ev.Sender.ID
		setMeta(mt, "user_name", ev.Sender.Name)
		setMeta(mt, "user_username", b.User.Username)
	} else {
		ev.Sender = onrecord.Party{ID: "business_connection:" + b.ID}
	}
	switch {
	case b.UserChatID != 0:
		ev.Conversation = fmtInt(b.UserChatID)
		mt["user_chat_id"] = ev.Conversation
	default:
		ev.Conversation = ev.Sender.ID
	}
	if len(b.Rights) > 0 && string(b.Rights) != "null" {
		setMeta(mt, "rights", compactJSON(b.Rights))
	}
	if b.CanReply != nil {
		mt["can_reply"] = strconv.FormatBool(*b.CanReply)
	}
	if b.Date != 0 {
		mt["date"] = c.when(b.Date, u).Format(time.RFC3339)
	}
	ev.SentAt = c.when(0, u)
	if u.received.IsZero() {
		ev.SentAt = c.when(b.Date, u)
	}
	who := ev.Sender.Name
	if who == "" {
		who = ev.Sender.ID
	}
	if b.IsEnabled {
		ev.Body = who + " connected their Telegram Business account to the bot"
	} else {
		ev.Body = who + " disconnected their Telegram Business account from the bot"
	}
	return []connector.Event{ev}, nil
}

// deletedBusinessEvents records one delete per message. Telegram does not
// say who deleted them or when; the events are dated when received and
// marked inbound, with Meta deleted_by=unknown.
func (c *Connector) deletedBusinessEvents(u update, raw json.RawMessage) ([]connector.Event, error) {
	var d businessMessagesDeleted
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, err
	}
	if d.Chat == nil {
		return nil, errors.New("deleted business messages have no chat")
	}
	mk := func() connector.Event {
		ev := newEvent()
		ev.Conversation = fmtInt(d.Chat.ID)
		ev.Direction, ev.Sender = onrecord.Inbound, chatParty(d.Chat)
		ev.SentAt = c.when(0, u)
		setMeta(ev.Meta, "business_connection_id", d.BusinessConnectionID)
		ev.Meta["deleted_by"] = "unknown"
		return ev
	}
	var out []connector.Event
	seen := map[int64]bool{}
	for _, id := range d.MessageIDs {
		if seen[id] {
			continue
		}
		seen[id] = true
		ev := mk()
		ev.Kind = onrecord.KindDelete
		ev.Target = msgKey(d.BusinessConnectionID, d.Chat.ID, id)
		ev.ProviderID = ev.Target
		ev.Meta["message_id"] = fmtInt(id)
		out = append(out, ev)
	}
	if len(out) == 0 {
		ev := mk()
		ev.Kind = onrecord.KindSystem
		ev.Subtype = "deleted_business_messages"
		ev.ProviderID = "deleted_business_messages:" + fmtInt(u.id)
		ev.Meta["note"] = "the update lists no message ids"
		out = append(out, ev)
	}
	return out, nil
}

// otherUpdate is the loose shape of the update kinds the archive records
// without a mapping of their own (callback_query, chat_member, poll_answer,
// chat_join_request, ...): who, where and when, as far as they say.
type otherUpdate struct {
	From      *user   `json:"from"`
	User      *user   `json:"user"`
	VoterChat *chat   `json:"voter_chat"`
	ActorChat *chat   `json:"actor_chat"`
	Chat      *chat   `json:"chat"`
	Message   *msgRef `json:"message"`
	Date      int64   `json:"date"`
	Data      string  `json:"data"`
	Old       *struct {
		Status string `json:"status"`
		User   *user  `json:"user"`
	} `json:"old_chat_member"`
	New *struct {
		Status string `json:"status"`
		User   *user  `json:"user"`
	} `json:"new_chat_member"`
}

func (c *Connector) otherUpdateEvent(u update, f field) connector.Event {
	var o otherUpdate
	_ = json.Unmarshal(f.Value, &o) // any shape is recorded; unknown ones keep only the raw value
	ev := newEvent()
	ev.Kind = onrecord.KindSystem
	ev.Subtype = f.Key
	ev.ProviderID = f.Key + ":" + fmtInt(u.id) + ":" + shortHash(f.Value)
	switch {
	case o.From != nil:
		ev.Sender = userParty(o.From)
	case o.User != nil:
		ev.Sender = userParty(o.User)
	case o.VoterChat != nil:
		ev.Sender = chatParty(o.VoterChat)
	case o.ActorChat != nil:
		ev.Sender = chatParty(o.ActorChat)
	case o.Chat != nil:
		ev.Sender = chatParty(o.Chat)
	default:
		ev.Sender = telegramParty
	}
	ch := o.Chat
	if ch == nil && o.Message != nil {
		ch = o.Message.Chat
	}
	switch {
	case ch != nil:
		ev.Conversation = fmtInt(ch.ID)
		if isGroup(ch) {
			ev.Group, ev.GroupName = true, ch.Title
		}
	default:
		ev.Conversation = ev.Sender.ID
	}
	if o.Message != nil && o.Message.MessageID != 0 && ch != nil {
		ev.Target = msgKey("", ch.ID, o.Message.MessageID)
	}
	ev.Direction = onrecord.Inbound
	if ev.Sender.ID == fmtInt(c.botID) {
		ev.Direction = onrecord.Outbound
	}
	ev.SentAt = c.when(o.Date, u)
	setMeta(ev.Meta, "data", truncate(o.Data, maxMetaValue))
	if o.Old != nil && o.New != nil {
		who := ""
		if o.New.User != nil {
			p := userParty(o.New.User)
			who = p.Name + " (" + p.ID + "): "
			ev.Meta["member"] = p.ID
		}
		ev.Body = who + o.Old.Status + " → " + o.New.Status
		ev.Meta["old_status"], ev.Meta["new_status"] = o.Old.Status, o.New.Status
	}
	setMeta(ev.Meta, f.Key, compactJSON(f.Value))
	return ev
}

// shortHash tells apart two different values that arrive under the same
// update id, which Telegram can reuse after a week without updates. A
// retry carries the same bytes and so the same hash.
func shortHash(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:4])
}
