package telegram

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"sync"

	"github.com/go-json-experiment/json/jsontext"
	json "github.com/go-json-experiment/json/v1"
)

// The types below mirror the Bot API objects (https://core.telegram.org/bots/api)
// only as far as the archive needs them; everything else stays in the raw
// body, which the gateway stores with every event.

type user struct {
	ID        int64  `json:"id"`
	IsBot     bool   `json:"is_bot"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Username  string `json:"username"`
}

type chat struct {
	ID        int64  `json:"id"`
	Type      string `json:"type"`
	Title     string `json:"title"`
	Username  string `json:"username"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	IsForum   bool   `json:"is_forum"`
}

// msgRef is a nested Message (reply_to_message, pinned_message) reduced to
// what identifies it.
type msgRef struct {
	MessageID int64 `json:"message_id"`
	Chat      *chat `json:"chat"`
	Date      int64 `json:"date"`
}

type message struct {
	MessageID            int64           `json:"message_id"`
	MessageThreadID      int64           `json:"message_thread_id"`
	From                 *user           `json:"from"`
	SenderChat           *chat           `json:"sender_chat"`
	SenderBusinessBot    *user           `json:"sender_business_bot"`
	Date                 int64           `json:"date"`
	BusinessConnectionID string          `json:"business_connection_id"`
	Chat                 *chat           `json:"chat"`
	ForwardOrigin        *messageOrigin  `json:"forward_origin"`
	ForwardFrom          *user           `json:"forward_from"`
	ForwardFromChat      *chat           `json:"forward_from_chat"`
	ForwardSenderName    string          `json:"forward_sender_name"`
	ForwardDate          int64           `json:"forward_date"`
	IsTopicMessage       bool            `json:"is_topic_message"`
	IsAutomaticForward   bool            `json:"is_automatic_forward"`
	ReplyToMessage       *msgRef         `json:"reply_to_message"`
	ExternalReply        json.RawMessage `json:"external_reply"`
	Quote                json.RawMessage `json:"quote"`
	ViaBot               *user           `json:"via_bot"`
	EditDate             int64           `json:"edit_date"`
	HasProtectedContent  bool            `json:"has_protected_content"`
	MediaGroupID         string          `json:"media_group_id"`
	AuthorSignature      string          `json:"author_signature"`
	Text                 string          `json:"text"`
	Entities             json.RawMessage `json:"entities"`
	Caption              string          `json:"caption"`
	CaptionEntities      json.RawMessage `json:"caption_entities"`

	Photo     []photoSize `json:"photo"`
	Animation *file       `json:"animation"`
	Video     *file       `json:"video"`
	VideoNote *file       `json:"video_note"`
	Voice     *file       `json:"voice"`
	Audio     *file       `json:"audio"`
	Document  *file       `json:"document"`
	Sticker   *sticker    `json:"sticker"`
	Location  *location   `json:"location"`
	Venue     *venue      `json:"venue"`
	Contact   *contact    `json:"contact"`
	Poll      *poll       `json:"poll"`
	Dice      *dice       `json:"dice"`

	NewChatMembers                []user  `json:"new_chat_members"`
	LeftChatMember                *user   `json:"left_chat_member"`
	NewChatTitle                  string  `json:"new_chat_title"`
	MigrateToChatID               int64   `json:"migrate_to_chat_id"`
	MigrateFromChatID             int64   `json:"migrate_from_chat_id"`
	PinnedMessage                 *msgRef `json:"pinned_message"`
	MessageAutoDeleteTimerChanged *struct {
		MessageAutoDeleteTime int `json:"message_auto_delete_time"`
	} `json:"message_auto_delete_timer_changed"`
	ForumTopicCreated *struct {
		Name string `json:"name"`
	} `json:"forum_topic_created"`

	// keys is every field the message carried, to tell a content type
	// this package does not know from a plain text message.
	keys fieldList
}

// messageOrigin is forward_origin: MessageOriginUser, MessageOriginHiddenUser,
// MessageOriginChat or MessageOriginChannel.
type messageOrigin struct {
	Type            string `json:"type"`
	Date            int64  `json:"date"`
	SenderUser      *user  `json:"sender_user"`
	SenderUserName  string `json:"sender_user_name"`
	SenderChat      *chat  `json:"sender_chat"`
	Chat            *chat  `json:"chat"`
	MessageID       int64  `json:"message_id"`
	AuthorSignature string `json:"author_signature"`
}

type photoSize struct {
	FileID       string `json:"file_id"`
	FileUniqueID string `json:"file_unique_id"`
	Width        int64  `json:"width"`
	Height       int64  `json:"height"`
	FileSize     int64  `json:"file_size"`
}

// file is Video, Animation, Audio, Document, Voice and VideoNote: they share
// the fields the archive needs.
type file struct {
	FileID       string `json:"file_id"`
	FileUniqueID string `json:"file_unique_id"`
	FileName     string `json:"file_name"`
	MimeType     string `json:"mime_type"`
	FileSize     int64  `json:"file_size"`
	Duration     int64  `json:"duration"`
	Width        int64  `json:"width"`
	Height       int64  `json:"height"`
	Length       int64  `json:"length"`
	Performer    string `json:"performer"`
	Title        string `json:"title"`
}

type sticker struct {
	FileID       string `json:"file_id"`
	FileUniqueID string `json:"file_unique_id"`
	Type         string `json:"type"`
	Emoji        string `json:"emoji"`
	SetName      string `json:"set_name"`
	IsAnimated   bool   `json:"is_animated"`
	IsVideo      bool   `json:"is_video"`
	FileSize     int64  `json:"file_size"`
	CustomEmoji  string `json:"custom_emoji_id"`
}

type location struct {
	Latitude           float64 `json:"latitude"`
	Longitude          float64 `json:"longitude"`
	HorizontalAccuracy float64 `json:"horizontal_accuracy"`
	LivePeriod         int64   `json:"live_period"`
}

type venue struct {
	Location        location `json:"location"`
	Title           string   `json:"title"`
	Address         string   `json:"address"`
	FoursquareID    string   `json:"foursquare_id"`
	GooglePlaceID   string   `json:"google_place_id"`
	GooglePlaceType string   `json:"google_place_type"`
}

type contact struct {
	PhoneNumber string `json:"phone_number"`
	FirstName   string `json:"first_name"`
	LastName    string `json:"last_name"`
	UserID      int64  `json:"user_id"`
	VCard       string `json:"vcard"`
}

type poll struct {
	ID       string `json:"id"`
	Question string `json:"question"`
	Options  []struct {
		Text       string `json:"text"`
		VoterCount int64  `json:"voter_count"`
	} `json:"options"`
	TotalVoterCount       int64  `json:"total_voter_count"`
	IsClosed              bool   `json:"is_closed"`
	IsAnonymous           bool   `json:"is_anonymous"`
	Type                  string `json:"type"`
	AllowsMultipleAnswers bool   `json:"allows_multiple_answers"`
}

type dice struct {
	Emoji string `json:"emoji"`
	Value int64  `json:"value"`
}

// reactionType is ReactionTypeEmoji, ReactionTypeCustomEmoji or
// ReactionTypePaid.
type reactionType struct {
	Type          string `json:"type"`
	Emoji         string `json:"emoji"`
	CustomEmojiID string `json:"custom_emoji_id"`
}

type messageReactionUpdated struct {
	Chat        *chat          `json:"chat"`
	MessageID   int64          `json:"message_id"`
	User        *user          `json:"user"`
	ActorChat   *chat          `json:"actor_chat"`
	Date        int64          `json:"date"`
	OldReaction []reactionType `json:"old_reaction"`
	NewReaction []reactionType `json:"new_reaction"`
}

type messageReactionCountUpdated struct {
	Chat      *chat `json:"chat"`
	MessageID int64 `json:"message_id"`
	Date      int64 `json:"date"`
	Reactions []struct {
		Type       reactionType `json:"type"`
		TotalCount int64        `json:"total_count"`
	} `json:"reactions"`
}

type businessConnection struct {
	ID         string          `json:"id"`
	User       *user           `json:"user"`
	UserChatID int64           `json:"user_chat_id"`
	Date       int64           `json:"date"`
	CanReply   *bool           `json:"can_reply"`
	Rights     json.RawMessage `json:"rights"`
	IsEnabled  bool            `json:"is_enabled"`
}

type businessMessagesDeleted struct {
	BusinessConnectionID string  `json:"business_connection_id"`
	Chat                 *chat   `json:"chat"`
	MessageIDs           []int64 `json:"message_ids"`
}

// apiResponse is the envelope of every Bot API method's answer.
type apiResponse struct {
	OK          bool            `json:"ok"`
	Result      json.RawMessage `json:"result"`
	ErrorCode   int             `json:"error_code"`
	Description string          `json:"description"`
	Parameters  *struct {
		RetryAfter      int   `json:"retry_after"`
		MigrateToChatID int64 `json:"migrate_to_chat_id"`
	} `json:"parameters"`
}

// field is one member of a JSON object, in the order it was sent.
type field struct {
	Key   string
	Value json.RawMessage
}

// objectFields reads a JSON object's members in order. Telegram sends one
// update field per Update, but the order matters if a payload ever carries
// more than one, and a duplicated key is read once (the first), so the same
// thing is never archived twice from one body.
func objectFields(raw []byte) ([]field, error) {
	all, err := members(raw)
	if err != nil {
		return nil, err
	}
	out := all[:0] // filtered in place: out never runs ahead of the range
	for _, f := range all {
		if !slices.ContainsFunc(out, func(g field) bool { return g.Key == f.Key }) {
			out = append(out, f)
		}
	}
	return out, nil
}

// members reads a JSON object's members in order, a duplicated key as
// often as it occurs. Each value is the part of raw it was read from, not
// a copy: raw is the delivery's body, kept unchanged with its records.
func members(raw []byte) (fieldList, error) {
	// jsontext reads tokens without decoding values; the options keep
	// encoding/json's leniency (a duplicated key, invalid UTF-8 in a
	// string), which the parsing after this relies on.
	d, _ := decoders.Get().(*memberDecoder)
	if d == nil {
		d = new(memberDecoder)
		d.dec = jsontext.NewDecoder(&d.r)
	}
	if len(raw) <= maxPooledBody {
		defer func() {
			d.r.Reset(nil) // the body is not kept with the pooled decoder
			decoders.Put(d)
		}()
	}
	d.r.Reset(raw)
	dec := d.dec
	dec.Reset(&d.r, jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	tok, err := dec.ReadToken()
	if err != nil {
		return nil, fmt.Errorf("read JSON: %w", err)
	}
	if tok.Kind() != '{' {
		return nil, errors.New("not a JSON object")
	}
	var out fieldList
	for dec.PeekKind() != '}' {
		tok, err := dec.ReadToken()
		if err != nil {
			return nil, fmt.Errorf("read JSON: %w", err)
		}
		key := tok.String()
		v, err := dec.ReadValue()
		if err != nil {
			return nil, fmt.Errorf("read JSON member %q: %w", truncate(key, 40), err)
		}
		// The decoder returns values verbatim and counts offsets in raw.
		end := int(dec.InputOffset())
		if start := end - len(v); start >= 0 && end <= len(raw) && bytes.Equal(raw[start:end], v) {
			v = raw[start:end:end]
		} else {
			v = bytes.Clone(v)
		}
		out = append(out, field{Key: key, Value: v})
	}
	if _, err := dec.ReadToken(); err != nil { // the closing brace
		return nil, fmt.Errorf("read JSON: %w", err)
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		return nil, errors.New("read JSON: data after the object")
	}
	return out, nil
}

// memberDecoder is members' decoder, kept for reuse: a new one was most
// of what reading an update's members allocated.
type memberDecoder struct {
	r   bytes.Reader
	dec *jsontext.Decoder
}

var decoders sync.Pool

// maxPooledBody bounds the bodies whose decoder is kept: the decoder's
// buffer grows to the largest value it has read.
const maxPooledBody = 64 << 10

// fieldList is an object's members as members reads them. A key that
// occurs twice has the value of its last occurrence, as in encoding/json.
type fieldList []field

func (l fieldList) last(key string) int {
	for i := len(l) - 1; i >= 0; i-- {
		if l[i].Key == key {
			return i
		}
	}
	return -1
}

func (l fieldList) has(key string) bool { return l.last(key) >= 0 }

// get is key's value, nil if the object has no such member.
func (l fieldList) get(key string) json.RawMessage {
	if i := l.last(key); i >= 0 {
		return l[i].Value
	}
	return nil
}

// decodeInt reads a JSON integer (update_id, message ids).
func decodeInt(raw json.RawMessage) (int64, error) {
	n, err := strconv.ParseInt(string(bytes.TrimSpace(raw)), 10, 64)
	if err != nil {
		return 0, errors.New("not an integer")
	}
	return n, nil
}

// decodeMessage reads a Message and remembers which fields it carried.
func decodeMessage(raw json.RawMessage) (*message, error) {
	var m message
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	keys, err := members(raw)
	if err != nil {
		return nil, err
	}
	m.keys = keys
	if m.Chat == nil {
		return nil, errors.New("message has no chat")
	}
	if m.MessageID == 0 {
		return nil, errors.New("message has no message_id")
	}
	return &m, nil
}

// compactJSON renders a raw value as compact JSON for Meta, bounded so one
// oversized field cannot bloat every record (the raw body keeps it whole).
func compactJSON(raw json.RawMessage) string {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return ""
	}
	return truncate(b.String(), maxMetaValue)
}
