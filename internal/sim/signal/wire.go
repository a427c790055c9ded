package signalsim

// These mirror signal-cli's Json*.java records field for field and in
// their order, with signal-cli's null/omission rules: fields without
// @JsonInclude(NON_NULL) are written as null (pointers without omitempty
// here), NON_NULL ones are omitted.

type payload struct {
	Envelope  *envelope  `json:"envelope,omitempty"`
	Account   string     `json:"account"`
	Exception *exception `json:"exception,omitempty"`
}

type exception struct {
	Message string `json:"message"`
	Type    string `json:"type"`
}

type notification struct {
	JSONRPC string `json:"jsonrpc"`
	Method  string `json:"method"`
	Params  any    `json:"params"`
}

type subscriptionParams struct {
	Subscription int      `json:"subscription"`
	Result       *payload `json:"result"`
}

type envelope struct {
	Source                   *string         `json:"source"`
	SourceNumber             *string         `json:"sourceNumber"`
	SourceUUID               *string         `json:"sourceUuid"`
	SourceName               *string         `json:"sourceName"`
	SourceDevice             *int            `json:"sourceDevice"`
	Timestamp                int64           `json:"timestamp"`
	ServerReceivedTimestamp  int64           `json:"serverReceivedTimestamp"`
	ServerDeliveredTimestamp int64           `json:"serverDeliveredTimestamp"`
	DataMessage              *dataMessage    `json:"dataMessage,omitempty"`
	EditMessage              *editMessage    `json:"editMessage,omitempty"`
	StoryMessage             *storyMessage   `json:"storyMessage,omitempty"`
	SyncMessage              *syncMessage    `json:"syncMessage,omitempty"`
	CallMessage              *callMessage    `json:"callMessage,omitempty"`
	ReceiptMessage           *receiptMessage `json:"receiptMessage,omitempty"`
	TypingMessage            *typingMessage  `json:"typingMessage,omitempty"`
}

type dataMessage struct {
	Timestamp          int64            `json:"timestamp"`
	Message            *string          `json:"message"`
	ExpiresInSeconds   int              `json:"expiresInSeconds"`
	IsExpirationUpdate bool             `json:"isExpirationUpdate"`
	ViewOnce           bool             `json:"viewOnce"`
	Reaction           *reaction        `json:"reaction,omitempty"`
	Quote              *quote           `json:"quote,omitempty"`
	Payment            *payment         `json:"payment,omitempty"`
	Mentions           []mention        `json:"mentions,omitempty"`
	Previews           []preview        `json:"previews,omitempty"`
	Attachments        []attachment     `json:"attachments,omitempty"`
	Sticker            *sticker         `json:"sticker,omitempty"`
	RemoteDelete       *remoteDelete    `json:"remoteDelete,omitempty"`
	Contacts           []sharedContact  `json:"contacts,omitempty"`
	PollCreate         *pollCreate      `json:"pollCreate,omitempty"`
	PollVote           *pollVote        `json:"pollVote,omitempty"`
	PollTerminate      *pollTerminate   `json:"pollTerminate,omitempty"`
	TextStyles         []textStyle      `json:"textStyles,omitempty"`
	GroupInfo          *groupInfo       `json:"groupInfo,omitempty"`
	StoryContext       *storyContextRef `json:"storyContext,omitempty"`
}

type reaction struct {
	Emoji               string  `json:"emoji"`
	TargetAuthor        *string `json:"targetAuthor"`
	TargetAuthorNumber  *string `json:"targetAuthorNumber"`
	TargetAuthorUUID    *string `json:"targetAuthorUuid"`
	TargetSentTimestamp int64   `json:"targetSentTimestamp"`
	IsRemove            bool    `json:"isRemove"`
}

type quote struct {
	ID           int64          `json:"id"`
	Author       *string        `json:"author"`
	AuthorNumber *string        `json:"authorNumber"`
	AuthorUUID   *string        `json:"authorUuid"`
	Text         *string        `json:"text"`
	Attachments  []quotedAttach `json:"attachments"`
}

type quotedAttach struct {
	ContentType string  `json:"contentType"`
	Filename    *string `json:"filename"`
}

type payment struct {
	Note    string `json:"note"`
	Receipt string `json:"receipt"`
}

type mention struct {
	Name   *string `json:"name"`
	Number *string `json:"number"`
	UUID   *string `json:"uuid"`
	Start  int     `json:"start"`
	Length int     `json:"length"`
}

type preview struct {
	URL         string      `json:"url"`
	Title       string      `json:"title"`
	Description string      `json:"description"`
	Image       *attachment `json:"image"`
}

type attachment struct {
	ContentType     string  `json:"contentType"`
	Filename        *string `json:"filename"`
	ID              string  `json:"id"`
	Size            int64   `json:"size"`
	Width           *int    `json:"width"`
	Height          *int    `json:"height"`
	Caption         *string `json:"caption"`
	UploadTimestamp *int64  `json:"uploadTimestamp"`
}

type sticker struct {
	PackID    string `json:"packId"`
	PackKey   string `json:"packKey"`
	StickerID int    `json:"stickerId"`
}

type remoteDelete struct {
	Timestamp int64 `json:"timestamp"`
}

type sharedContact struct {
	Name         contactName    `json:"name"`
	Avatar       any            `json:"avatar"`
	Phone        []contactPhone `json:"phone,omitempty"`
	Email        []contactPhone `json:"email,omitempty"`
	Organization *string        `json:"organization"`
}

type contactName struct {
	Nickname *string `json:"nickname"`
	Given    *string `json:"given"`
	Family   *string `json:"family"`
	Prefix   *string `json:"prefix"`
	Suffix   *string `json:"suffix"`
	Middle   *string `json:"middle"`
}

type contactPhone struct {
	Value string  `json:"value"`
	Type  string  `json:"type"`
	Label *string `json:"label"`
}

type pollCreate struct {
	Question      string   `json:"question"`
	AllowMultiple bool     `json:"allowMultiple"`
	Options       []string `json:"options"`
}

type pollVote struct {
	Author              *string `json:"author"`
	AuthorNumber        *string `json:"authorNumber"`
	AuthorUUID          *string `json:"authorUuid"`
	TargetSentTimestamp int64   `json:"targetSentTimestamp"`
	OptionIndexes       []int   `json:"optionIndexes"`
	VoteCount           int     `json:"voteCount"`
}

type pollTerminate struct {
	TargetSentTimestamp int64 `json:"targetSentTimestamp"`
}

type textStyle struct {
	Style  string `json:"style"`
	Start  int    `json:"start"`
	Length int    `json:"length"`
}

type groupInfo struct {
	GroupID   string `json:"groupId"`
	GroupName string `json:"groupName"`
	Revision  int    `json:"revision"`
	Type      string `json:"type"`
}

type storyContextRef struct {
	AuthorNumber  *string `json:"authorNumber"`
	AuthorUUID    *string `json:"authorUuid"`
	SentTimestamp int64   `json:"sentTimestamp"`
}

type editMessage struct {
	TargetSentTimestamp int64        `json:"targetSentTimestamp"`
	DataMessage         *dataMessage `json:"dataMessage"`
}

type storyMessage struct {
	AllowsReplies  bool            `json:"allowsReplies"`
	GroupID        string          `json:"groupId,omitempty"`
	FileAttachment *attachment     `json:"fileAttachment,omitempty"`
	TextAttachment *textAttachment `json:"textAttachment,omitempty"`
}

type textAttachment struct {
	Text                string  `json:"text"`
	Style               string  `json:"style,omitempty"`
	TextForegroundColor string  `json:"textForegroundColor,omitempty"`
	TextBackgroundColor string  `json:"textBackgroundColor,omitempty"`
	Preview             *string `json:"preview,omitempty"`
	BackgroundColor     string  `json:"backgroundColor,omitempty"`
}

// sentMessage is JsonSyncDataMessage: destination fields, an optional
// editMessage, and the data message unwrapped beside them.
type sentMessage struct {
	Destination       *string      `json:"destination"`
	DestinationNumber *string      `json:"destinationNumber"`
	DestinationUUID   *string      `json:"destinationUuid"`
	EditMessage       *editMessage `json:"editMessage,omitempty"`
	*dataMessage
}

type syncMessage struct {
	SentMessage     *sentMessage  `json:"sentMessage,omitempty"`
	BlockedNumbers  []string      `json:"blockedNumbers,omitempty"`
	BlockedGroupIDs []string      `json:"blockedGroupIds,omitempty"`
	ReadMessages    []readMessage `json:"readMessages,omitempty"`
	Type            string        `json:"type,omitempty"`
}

type readMessage struct {
	Sender       *string `json:"sender"`
	SenderNumber *string `json:"senderNumber"`
	SenderUUID   *string `json:"senderUuid"`
	Timestamp    int64   `json:"timestamp"`
}

type callMessage struct {
	OfferMessage  *callOffer  `json:"offerMessage,omitempty"`
	HangupMessage *callHangup `json:"hangupMessage,omitempty"`
}

type callOffer struct {
	ID     uint64 `json:"id"`
	Type   string `json:"type"`
	Opaque string `json:"opaque"`
}

type callHangup struct {
	ID       uint64 `json:"id"`
	Type     string `json:"type"`
	DeviceID int    `json:"deviceId"`
}

type receiptMessage struct {
	When       int64   `json:"when"`
	IsDelivery bool    `json:"isDelivery"`
	IsRead     bool    `json:"isRead"`
	IsViewed   bool    `json:"isViewed"`
	Timestamps []int64 `json:"timestamps"`
}

type typingMessage struct {
	Action    string `json:"action"`
	Timestamp int64  `json:"timestamp"`
	GroupID   string `json:"groupId,omitempty"`
}
