package telegramsim

// The Bot API objects the simulator sends, in the field order Telegram
// uses, with omitempty where Telegram leaves a field out.

type tgUser struct {
	ID           int64  `json:"id"`
	IsBot        bool   `json:"is_bot"`
	FirstName    string `json:"first_name"`
	LastName     string `json:"last_name,omitempty"`
	Username     string `json:"username,omitempty"`
	LanguageCode string `json:"language_code,omitempty"`
	IsPremium    bool   `json:"is_premium,omitempty"`
}

type tgChat struct {
	ID        int64  `json:"id"`
	FirstName string `json:"first_name,omitempty"`
	LastName  string `json:"last_name,omitempty"`
	Title     string `json:"title,omitempty"`
	Username  string `json:"username,omitempty"`
	IsForum   bool   `json:"is_forum,omitempty"`
	Type      string `json:"type"`
}

type tgEntity struct {
	Type   string  `json:"type"`
	Offset int     `json:"offset"`
	Length int     `json:"length"`
	URL    string  `json:"url,omitempty"`
	User   *tgUser `json:"user,omitempty"`
}

type tgPhotoSize struct {
	FileID       string `json:"file_id"`
	FileUniqueID string `json:"file_unique_id"`
	FileSize     int64  `json:"file_size"`
	Width        int    `json:"width"`
	Height       int    `json:"height"`
}

type tgFile struct {
	FileName     string `json:"file_name,omitempty"`
	MimeType     string `json:"mime_type,omitempty"`
	Duration     int    `json:"duration,omitempty"`
	Width        int    `json:"width,omitempty"`
	Height       int    `json:"height,omitempty"`
	Length       int    `json:"length,omitempty"`
	Performer    string `json:"performer,omitempty"`
	Title        string `json:"title,omitempty"`
	FileID       string `json:"file_id"`
	FileUniqueID string `json:"file_unique_id"`
	FileSize     int64  `json:"file_size"`
}

type tgSticker struct {
	Width        int    `json:"width"`
	Height       int    `json:"height"`
	Emoji        string `json:"emoji"`
	SetName      string `json:"set_name"`
	IsAnimated   bool   `json:"is_animated"`
	IsVideo      bool   `json:"is_video"`
	Type         string `json:"type"`
	FileID       string `json:"file_id"`
	FileUniqueID string `json:"file_unique_id"`
	FileSize     int64  `json:"file_size"`
}

type tgLocation struct {
	Latitude           float64 `json:"latitude"`
	Longitude          float64 `json:"longitude"`
	HorizontalAccuracy float64 `json:"horizontal_accuracy,omitempty"`
}

type tgVenue struct {
	Location      tgLocation `json:"location"`
	Title         string     `json:"title"`
	Address       string     `json:"address"`
	GooglePlaceID string     `json:"google_place_id,omitempty"`
}

type tgContact struct {
	PhoneNumber string `json:"phone_number"`
	FirstName   string `json:"first_name"`
	LastName    string `json:"last_name,omitempty"`
	UserID      int64  `json:"user_id,omitempty"`
	VCard       string `json:"vcard,omitempty"`
}

type tgPollOption struct {
	Text       string `json:"text"`
	VoterCount int    `json:"voter_count"`
}

type tgPoll struct {
	ID                    string         `json:"id"`
	Question              string         `json:"question"`
	Options               []tgPollOption `json:"options"`
	TotalVoterCount       int            `json:"total_voter_count"`
	IsClosed              bool           `json:"is_closed"`
	IsAnonymous           bool           `json:"is_anonymous"`
	Type                  string         `json:"type"`
	AllowsMultipleAnswers bool           `json:"allows_multiple_answers"`
}

type tgDice struct {
	Emoji string `json:"emoji"`
	Value int    `json:"value"`
}

type tgOrigin struct {
	Type       string  `json:"type"`
	SenderUser *tgUser `json:"sender_user,omitempty"`
	Chat       *tgChat `json:"chat,omitempty"`
	MessageID  int64   `json:"message_id,omitempty"`
	Date       int64   `json:"date"`
}

type tgMessage struct {
	MessageID            int64         `json:"message_id"`
	MessageThreadID      int64         `json:"message_thread_id,omitempty"`
	From                 *tgUser       `json:"from,omitempty"`
	SenderChat           *tgChat       `json:"sender_chat,omitempty"`
	SenderBusinessBot    *tgUser       `json:"sender_business_bot,omitempty"`
	Chat                 tgChat        `json:"chat"`
	Date                 int64         `json:"date"`
	BusinessConnectionID string        `json:"business_connection_id,omitempty"`
	EditDate             int64         `json:"edit_date,omitempty"`
	ForwardOrigin        *tgOrigin     `json:"forward_origin,omitempty"`
	ForwardFrom          *tgUser       `json:"forward_from,omitempty"`
	ForwardDate          int64         `json:"forward_date,omitempty"`
	IsTopicMessage       bool          `json:"is_topic_message,omitempty"`
	ReplyToMessage       *tgMessage    `json:"reply_to_message,omitempty"`
	AuthorSignature      string        `json:"author_signature,omitempty"`
	MediaGroupID         string        `json:"media_group_id,omitempty"`
	Text                 string        `json:"text,omitempty"`
	Entities             []tgEntity    `json:"entities,omitempty"`
	Animation            *tgFile       `json:"animation,omitempty"`
	Document             *tgFile       `json:"document,omitempty"`
	Photo                []tgPhotoSize `json:"photo,omitempty"`
	Video                *tgFile       `json:"video,omitempty"`
	VideoNote            *tgFile       `json:"video_note,omitempty"`
	Voice                *tgFile       `json:"voice,omitempty"`
	Audio                *tgFile       `json:"audio,omitempty"`
	Sticker              *tgSticker    `json:"sticker,omitempty"`
	Caption              string        `json:"caption,omitempty"`
	CaptionEntities      []tgEntity    `json:"caption_entities,omitempty"`
	Location             *tgLocation   `json:"location,omitempty"`
	Venue                *tgVenue      `json:"venue,omitempty"`
	Contact              *tgContact    `json:"contact,omitempty"`
	Poll                 *tgPoll       `json:"poll,omitempty"`
	Dice                 *tgDice       `json:"dice,omitempty"`
	NewChatParticipant   *tgUser       `json:"new_chat_participant,omitempty"`
	NewChatMember        *tgUser       `json:"new_chat_member,omitempty"`
	NewChatMembers       []tgUser      `json:"new_chat_members,omitempty"`
	LeftChatParticipant  *tgUser       `json:"left_chat_participant,omitempty"`
	LeftChatMember       *tgUser       `json:"left_chat_member,omitempty"`
	NewChatTitle         string        `json:"new_chat_title,omitempty"`
	PinnedMessage        *tgMessage    `json:"pinned_message,omitempty"`
	// Future stands for a content type this build does not know.
	Future map[string]any `json:"future_content,omitempty"`
}

type tgReaction struct {
	Type          string `json:"type"`
	Emoji         string `json:"emoji,omitempty"`
	CustomEmojiID string `json:"custom_emoji_id,omitempty"`
}

type tgReactionUpdated struct {
	Chat        tgChat       `json:"chat"`
	MessageID   int64        `json:"message_id"`
	User        *tgUser      `json:"user,omitempty"`
	ActorChat   *tgChat      `json:"actor_chat,omitempty"`
	Date        int64        `json:"date"`
	OldReaction []tgReaction `json:"old_reaction"`
	NewReaction []tgReaction `json:"new_reaction"`
}

type tgReactionCount struct {
	Type       tgReaction `json:"type"`
	TotalCount int        `json:"total_count"`
}

type tgReactionCountUpdated struct {
	Chat      tgChat            `json:"chat"`
	MessageID int64             `json:"message_id"`
	Date      int64             `json:"date"`
	Reactions []tgReactionCount `json:"reactions"`
}

type tgBusinessBotRights struct {
	CanReply              bool `json:"can_reply,omitempty"`
	CanReadMessages       bool `json:"can_read_messages,omitempty"`
	CanDeleteSentMessages bool `json:"can_delete_sent_messages,omitempty"`
	CanDeleteAllMessages  bool `json:"can_delete_all_messages,omitempty"`
	CanEditName           bool `json:"can_edit_name,omitempty"`
	CanManageStories      bool `json:"can_manage_stories,omitempty"`
}

type tgBusinessConnection struct {
	ID         string               `json:"id"`
	User       tgUser               `json:"user"`
	UserChatID int64                `json:"user_chat_id"`
	Date       int64                `json:"date"`
	Rights     *tgBusinessBotRights `json:"rights,omitempty"`
	IsEnabled  bool                 `json:"is_enabled"`
}

type tgBusinessMessagesDeleted struct {
	BusinessConnectionID string  `json:"business_connection_id"`
	Chat                 tgChat  `json:"chat"`
	MessageIDs           []int64 `json:"message_ids"`
}

type tgCallbackQuery struct {
	ID           string     `json:"id"`
	From         tgUser     `json:"from"`
	Message      *tgMessage `json:"message,omitempty"`
	ChatInstance string     `json:"chat_instance"`
	Data         string     `json:"data"`
}

type tgChatMember struct {
	User   tgUser `json:"user"`
	Status string `json:"status"`
}

type tgChatMemberUpdated struct {
	Chat          tgChat       `json:"chat"`
	From          tgUser       `json:"from"`
	Date          int64        `json:"date"`
	OldChatMember tgChatMember `json:"old_chat_member"`
	NewChatMember tgChatMember `json:"new_chat_member"`
}

// tgUpdate is one webhook body: update_id and exactly one other field.
type tgUpdate struct {
	UpdateID                int64                      `json:"update_id"`
	Message                 *tgMessage                 `json:"message,omitempty"`
	EditedMessage           *tgMessage                 `json:"edited_message,omitempty"`
	ChannelPost             *tgMessage                 `json:"channel_post,omitempty"`
	EditedChannelPost       *tgMessage                 `json:"edited_channel_post,omitempty"`
	BusinessConnection      *tgBusinessConnection      `json:"business_connection,omitempty"`
	BusinessMessage         *tgMessage                 `json:"business_message,omitempty"`
	EditedBusinessMessage   *tgMessage                 `json:"edited_business_message,omitempty"`
	DeletedBusinessMessages *tgBusinessMessagesDeleted `json:"deleted_business_messages,omitempty"`
	MessageReaction         *tgReactionUpdated         `json:"message_reaction,omitempty"`
	MessageReactionCount    *tgReactionCountUpdated    `json:"message_reaction_count,omitempty"`
	CallbackQuery           *tgCallbackQuery           `json:"callback_query,omitempty"`
	MyChatMember            *tgChatMemberUpdated       `json:"my_chat_member,omitempty"`
	// Future stands for an update type this build does not know.
	Future map[string]any `json:"business_future_update,omitempty"`
}
