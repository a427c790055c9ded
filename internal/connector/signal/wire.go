package signal

import json "github.com/go-json-experiment/json/v1"

// The types below mirror signal-cli's Json*.java records
// (src/main/java/org/asamk/signal/json). signal-cli writes null for absent
// strings, omits empty lists in current versions and wrote [] in older ones;
// both decode the same here. Structured parts that have no field of their
// own in the canonical event are kept as raw JSON for Meta.

// frame is any top-level object a delivery may be: the receive payload
// {envelope, account, exception}, a JSON-RPC notification
// {jsonrpc, method, params}, or the manual-receive-mode params
// {subscription, result}.
type frame struct {
	JSONRPC      *string         `json:"jsonrpc"`
	Method       *string         `json:"method"`
	Params       json.RawMessage `json:"params"`
	Subscription json.RawMessage `json:"subscription"`
	Result       json.RawMessage `json:"result"`
	Error        json.RawMessage `json:"error"`
	Envelope     json.RawMessage `json:"envelope"`
	Account      string          `json:"account"`
	Exception    *exception      `json:"exception"`
}

type exception struct {
	Message string `json:"message"`
	Type    string `json:"type"`
}

type envelope struct {
	Source                   string          `json:"source"`
	SourceNumber             string          `json:"sourceNumber"`
	SourceUUID               string          `json:"sourceUuid"`
	SourceName               string          `json:"sourceName"`
	SourceDevice             int             `json:"sourceDevice"`
	Timestamp                int64           `json:"timestamp"`
	ServerReceivedTimestamp  int64           `json:"serverReceivedTimestamp"`
	ServerDeliveredTimestamp int64           `json:"serverDeliveredTimestamp"`
	DataMessage              *dataMessage    `json:"dataMessage"`
	EditMessage              *editMessage    `json:"editMessage"`
	StoryMessage             *storyMessage   `json:"storyMessage"`
	SyncMessage              *syncMessage    `json:"syncMessage"`
	CallMessage              json.RawMessage `json:"callMessage"`
	ReceiptMessage           *receiptMessage `json:"receiptMessage"`
	TypingMessage            *typingMessage  `json:"typingMessage"`
}

type dataMessage struct {
	Timestamp          int64           `json:"timestamp"`
	Message            *string         `json:"message"`
	ExpiresInSeconds   int             `json:"expiresInSeconds"`
	IsExpirationUpdate bool            `json:"isExpirationUpdate"`
	ViewOnce           bool            `json:"viewOnce"`
	Reaction           *reaction       `json:"reaction"`
	Quote              *quote          `json:"quote"`
	Payment            json.RawMessage `json:"payment"`
	Mentions           json.RawMessage `json:"mentions"`
	Previews           json.RawMessage `json:"previews"`
	Attachments        []attachment    `json:"attachments"`
	Sticker            json.RawMessage `json:"sticker"`
	RemoteDelete       *remoteDelete   `json:"remoteDelete"`
	Contacts           json.RawMessage `json:"contacts"`
	PollCreate         json.RawMessage `json:"pollCreate"`
	PollVote           json.RawMessage `json:"pollVote"`
	PollTerminate      json.RawMessage `json:"pollTerminate"`
	TextStyles         json.RawMessage `json:"textStyles"`
	GroupInfo          *groupInfo      `json:"groupInfo"`
	StoryContext       json.RawMessage `json:"storyContext"`
	PinMessage         json.RawMessage `json:"pinMessage"`
	UnpinMessage       json.RawMessage `json:"unpinMessage"`
	AdminDelete        *targetRef      `json:"adminDelete"`
}

type reaction struct {
	Emoji               string `json:"emoji"`
	TargetAuthor        string `json:"targetAuthor"`
	TargetAuthorNumber  string `json:"targetAuthorNumber"`
	TargetAuthorUUID    string `json:"targetAuthorUuid"`
	TargetSentTimestamp int64  `json:"targetSentTimestamp"`
	IsRemove            bool   `json:"isRemove"`
}

type quote struct {
	ID           int64  `json:"id"`
	Author       string `json:"author"`
	AuthorNumber string `json:"authorNumber"`
	AuthorUUID   string `json:"authorUuid"`
	Text         string `json:"text"`
}

type attachment struct {
	ContentType string `json:"contentType"`
	Filename    string `json:"filename"`
	ID          string `json:"id"`
	Size        int64  `json:"size"`
	Caption     string `json:"caption"`
}

type remoteDelete struct {
	Timestamp int64 `json:"timestamp"`
}

// targetRef is how adminDelete, pinMessage, pollVote and friends name their
// target message.
type targetRef struct {
	TargetAuthor        string `json:"targetAuthor"`
	TargetAuthorNumber  string `json:"targetAuthorNumber"`
	TargetAuthorUUID    string `json:"targetAuthorUuid"`
	TargetSentTimestamp int64  `json:"targetSentTimestamp"`
	// pollVote names the poll's author author/authorNumber/authorUuid.
	Author       string `json:"author"`
	AuthorNumber string `json:"authorNumber"`
	AuthorUUID   string `json:"authorUuid"`
}

type groupInfo struct {
	GroupID   string `json:"groupId"`
	GroupName string `json:"groupName"`
	// Name is what signal-cli before 0.11 called groupName.
	Name string `json:"name"`
	Type string `json:"type"`
}

type mention struct {
	Name   string `json:"name"`
	Number string `json:"number"`
	UUID   string `json:"uuid"`
	Start  int    `json:"start"`
	Length int    `json:"length"`
}

type pollCreate struct {
	Question string   `json:"question"`
	Options  []string `json:"options"`
}

type editMessage struct {
	TargetSentTimestamp int64        `json:"targetSentTimestamp"`
	DataMessage         *dataMessage `json:"dataMessage"`
}

// sentMessage is syncMessage.sentMessage: the destination, an optional
// editMessage, and the data message's fields unwrapped beside them
// (@JsonUnwrapped), so they are absent when the transcript is an edit.
type sentMessage struct {
	Destination       string       `json:"destination"`
	DestinationNumber string       `json:"destinationNumber"`
	DestinationUUID   string       `json:"destinationUuid"`
	EditMessage       *editMessage `json:"editMessage"`
	dataMessage
}

type syncMessage struct {
	SentMessage  *sentMessage  `json:"sentMessage"`
	ReadMessages []readMessage `json:"readMessages"`
	Type         string        `json:"type"`
}

type readMessage struct {
	Sender       string `json:"sender"`
	SenderNumber string `json:"senderNumber"`
	SenderUUID   string `json:"senderUuid"`
	Timestamp    int64  `json:"timestamp"`
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
	GroupID   string `json:"groupId"`
}

type storyMessage struct {
	AllowsReplies  bool            `json:"allowsReplies"`
	GroupID        string          `json:"groupId"`
	FileAttachment *attachment     `json:"fileAttachment"`
	TextAttachment json.RawMessage `json:"textAttachment"`
}
