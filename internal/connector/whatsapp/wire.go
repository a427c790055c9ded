package whatsapp

import (
	"fmt"
	"strconv"

	"github.com/go-json-experiment/json/jsontext"
	json "github.com/go-json-experiment/json/v1"
)

// The types below mirror the webhook payload as Meta documents it, only as
// far as the archive needs it. Everything else stays in the raw body, which
// the gateway stores with every event.

type envelope struct {
	Object string  `json:"object"`
	Entry  []entry `json:"entry"`
}

type entry struct {
	ID      flexString `json:"id"`
	Time    flexString `json:"time"`
	Changes []change   `json:"changes"`
}

type change struct {
	Field string          `json:"field"`
	Value json.RawMessage `json:"value"`
}

// messagesValue is the value of the "messages" and "smb_message_echoes"
// fields. Messages, echoes and statuses are kept raw so one malformed item
// is reported on its own instead of failing the whole delivery.
type messagesValue struct {
	MessagingProduct string            `json:"messaging_product"`
	Metadata         metadata          `json:"metadata"`
	Contacts         []waContact       `json:"contacts"`
	Messages         []json.RawMessage `json:"messages"`
	MessageEchoes    []json.RawMessage `json:"message_echoes"`
	Statuses         []json.RawMessage `json:"statuses"`
	Errors           []apiError        `json:"errors"`
}

// historyValue is the value of the "history" field: a coexistence
// number's WhatsApp Business app chat history, in chunks.
// stateSyncValue is an "smb_app_state_sync" change: changes to the
// WhatsApp Business app's address book on a coexistence number.
type stateSyncValue struct {
	Metadata  metadata          `json:"metadata"`
	StateSync []json.RawMessage `json:"state_sync"`
}

type stateSyncItem struct {
	Type    string `json:"type"`
	Contact struct {
		FullName    string     `json:"full_name"`
		FirstName   string     `json:"first_name"`
		PhoneNumber flexString `json:"phone_number"`
	} `json:"contact"`
	// Action is "add" (added or edited) or "remove".
	Action   string `json:"action"`
	Metadata struct {
		Timestamp flexString `json:"timestamp"`
	} `json:"metadata"`
}

type historyValue struct {
	Metadata metadata       `json:"metadata"`
	History  []historyChunk `json:"history"`
}

type historyChunk struct {
	Metadata struct {
		Phase      flexString `json:"phase"`
		ChunkOrder flexString `json:"chunk_order"`
		Progress   flexString `json:"progress"`
	} `json:"metadata"`
	Threads []historyThread `json:"threads"`
	// Errors is where a business that declined to share its history
	// is reported.
	Errors []apiError `json:"errors"`
}

type historyThread struct {
	ID flexString `json:"id"`
	// Messages are kept raw: each becomes a record with its own bytes.
	Messages []json.RawMessage `json:"messages"`
}

type metadata struct {
	DisplayPhoneNumber flexString `json:"display_phone_number"`
	PhoneNumberID      flexString `json:"phone_number_id"`
}

type waContact struct {
	Profile struct {
		Name string `json:"name"`
	} `json:"profile"`
	WaID         flexString `json:"wa_id"`
	UserID       string     `json:"user_id"`
	ParentUserID string     `json:"parent_user_id"`
}

type message struct {
	From        flexString             `json:"from"`
	FromUserID  string                 `json:"from_user_id"`
	To          flexString             `json:"to"`
	ToUserID    string                 `json:"to_user_id"`
	ID          string                 `json:"id"`
	GroupID     flexString             `json:"group_id"`
	Timestamp   flexString             `json:"timestamp"`
	Type        string                 `json:"type"`
	Context     *msgContext            `json:"context"`
	Text        *struct{ Body string } `json:"text"`
	Image       *media                 `json:"image"`
	Video       *media                 `json:"video"`
	Audio       *media                 `json:"audio"`
	Document    *media                 `json:"document"`
	Sticker     *media                 `json:"sticker"`
	Location    *location              `json:"location"`
	Contacts    json.RawMessage        `json:"contacts"`
	Interactive *interactive           `json:"interactive"`
	Button      *struct {
		Payload string `json:"payload"`
		Text    string `json:"text"`
	} `json:"button"`
	Order    *order `json:"order"`
	Reaction *struct {
		MessageID string  `json:"message_id"`
		Emoji     *string `json:"emoji"`
	} `json:"reaction"`
	Edit *struct {
		OriginalMessageID string   `json:"original_message_id"`
		Message           *message `json:"message"`
	} `json:"edit"`
	Revoke *struct {
		OriginalMessageID string `json:"original_message_id"`
	} `json:"revoke"`
	System *struct {
		Body           string     `json:"body"`
		Type           string     `json:"type"`
		WaID           flexString `json:"wa_id"`
		NewWaID        flexString `json:"new_wa_id"`
		Customer       flexString `json:"customer"`
		Identity       string     `json:"identity"`
		UserID         string     `json:"user_id"`
		PreviousUserID string     `json:"previous_user_id"`
	} `json:"system"`
	Identity json.RawMessage `json:"identity"`
	// HistoryContext is only in a history webhook's messages.
	HistoryContext *struct {
		Status string `json:"status"`
	} `json:"history_context"`
	Unsupported json.RawMessage `json:"unsupported"`
	Referral    json.RawMessage `json:"referral"`
	Errors      []apiError      `json:"errors"`
}

type msgContext struct {
	From                flexString `json:"from"`
	ID                  string     `json:"id"`
	Forwarded           bool       `json:"forwarded"`
	FrequentlyForwarded bool       `json:"frequently_forwarded"`
	ReferredProduct     *struct {
		CatalogID         string `json:"catalog_id"`
		ProductRetailerID string `json:"product_retailer_id"`
	} `json:"referred_product"`
}

type media struct {
	ID       flexString `json:"id"`
	MimeType string     `json:"mime_type"`
	SHA256   string     `json:"sha256"`
	Caption  string     `json:"caption"`
	Filename string     `json:"filename"`
	URL      string     `json:"url"`
	FileSize flexString `json:"file_size"`
	Voice    bool       `json:"voice"`
	Animated bool       `json:"animated"`
}

type location struct {
	Latitude  flexString `json:"latitude"`
	Longitude flexString `json:"longitude"`
	Name      string     `json:"name"`
	Address   string     `json:"address"`
	URL       string     `json:"url"`
}

type interactive struct {
	Type        string `json:"type"`
	ButtonReply *struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	} `json:"button_reply"`
	ListReply *struct {
		ID          string `json:"id"`
		Title       string `json:"title"`
		Description string `json:"description"`
	} `json:"list_reply"`
	NfmReply *struct {
		Name         string          `json:"name"`
		Body         string          `json:"body"`
		ResponseJSON json.RawMessage `json:"response_json"`
	} `json:"nfm_reply"`
}

type order struct {
	CatalogID    string            `json:"catalog_id"`
	Text         string            `json:"text"`
	ProductItems []json.RawMessage `json:"product_items"`
}

type status struct {
	ID                         string          `json:"id"`
	Status                     string          `json:"status"`
	Timestamp                  flexString      `json:"timestamp"`
	RecipientID                flexString      `json:"recipient_id"`
	RecipientUserID            string          `json:"recipient_user_id"`
	RecipientType              string          `json:"recipient_type"`
	RecipientParticipantID     flexString      `json:"recipient_participant_id"`
	RecipientParticipantUserID string          `json:"recipient_participant_user_id"`
	BizOpaqueCallbackData      string          `json:"biz_opaque_callback_data"`
	Conversation               *conversation   `json:"conversation"`
	Pricing                    json.RawMessage `json:"pricing"`
	Errors                     []apiError      `json:"errors"`
	Type                       string          `json:"type"`
}

type conversation struct {
	ID                  string     `json:"id"`
	ExpirationTimestamp flexString `json:"expiration_timestamp"`
	Origin              struct {
		Type string `json:"type"`
	} `json:"origin"`
}

type apiError struct {
	Code      flexString `json:"code"`
	Title     string     `json:"title"`
	Message   string     `json:"message"`
	Href      string     `json:"href"`
	ErrorData struct {
		Details string `json:"details"`
	} `json:"error_data"`
}

// flexString accepts a JSON string or number (Meta documents timestamps and
// phone numbers as strings, but some relays send numbers) and null.
type flexString string

// UnmarshalJSONFrom reads the value as one token from the decoder that is
// already reading the payload. (A v1 UnmarshalJSON method made the decoder
// copy each value out and decode it a second time with a new decoder, a
// third of a delivery's decoding for the eight flexStrings in a message.)
func (f *flexString) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	tok, err := dec.ReadToken()
	if err != nil {
		return err
	}
	switch tok.Kind() {
	case 'n':
		*f = ""
	case '"', '0':
		// A string's unescaped value; a number's literal as written.
		*f = flexString(tok.String())
	default:
		return fmt.Errorf("want a string or a number, got %s", tok.Kind())
	}
	return nil
}

func (f flexString) String() string { return string(f) }

// unixSeconds reads a Unix-seconds timestamp; ok is false when it is absent
// or not a plausible number.
func (f flexString) unixSeconds() (int64, bool) {
	s := string(f)
	if s == "" {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		fl, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || fl != fl {
			return 0, false
		}
		n = int64(fl)
	}
	// Before 2009 or after 9999 is not a WhatsApp timestamp.
	if n < 1230768000 || n > 253402300799 {
		return 0, false
	}
	return n, true
}
