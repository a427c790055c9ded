package whatsappsim

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/onrecord/onrecord/internal/sim"
)

// The payload types below produce webhook bodies in Meta's shape and key
// order; omitempty keeps absent parts absent, as Meta leaves them out.

type payload struct {
	Object string  `json:"object"`
	Entry  []entry `json:"entry"`
}

type entry struct {
	ID      string   `json:"id"`
	Time    int64    `json:"time,omitempty"`
	Changes []change `json:"changes"`
}

type change struct {
	Value any    `json:"value"`
	Field string `json:"field"`
}

type value struct {
	MessagingProduct string     `json:"messaging_product"`
	Metadata         metadata   `json:"metadata"`
	Contacts         []contact  `json:"contacts,omitempty"`
	Messages         []*message `json:"messages,omitempty"`
	MessageEchoes    []*message `json:"message_echoes,omitempty"`
	Statuses         []*status  `json:"statuses,omitempty"`
	Errors           []apiError `json:"errors,omitempty"`
}

type metadata struct {
	DisplayPhoneNumber string `json:"display_phone_number"`
	PhoneNumberID      string `json:"phone_number_id"`
}

type profile struct {
	Name string `json:"name"`
}

type contact struct {
	Profile profile `json:"profile"`
	WaID    string  `json:"wa_id"`
}

type msgContext struct {
	From                string `json:"from,omitempty"`
	ID                  string `json:"id,omitempty"`
	Forwarded           bool   `json:"forwarded,omitempty"`
	FrequentlyForwarded bool   `json:"frequently_forwarded,omitempty"`
}

type message struct {
	Context     *msgContext `json:"context,omitempty"`
	From        string      `json:"from"`
	To          string      `json:"to,omitempty"`
	GroupID     string      `json:"group_id,omitempty"`
	ID          string      `json:"id"`
	Timestamp   string      `json:"timestamp"`
	Type        string      `json:"type"`
	Text        *text       `json:"text,omitempty"`
	Image       *media      `json:"image,omitempty"`
	Video       *media      `json:"video,omitempty"`
	Audio       *media      `json:"audio,omitempty"`
	Document    *media      `json:"document,omitempty"`
	Sticker     *media      `json:"sticker,omitempty"`
	Location    *location   `json:"location,omitempty"`
	Contacts    []any       `json:"contacts,omitempty"`
	Interactive any         `json:"interactive,omitempty"`
	Button      any         `json:"button,omitempty"`
	Order       any         `json:"order,omitempty"`
	Reaction    *reaction   `json:"reaction,omitempty"`
	Edit        *edit       `json:"edit,omitempty"`
	Revoke      *revoke     `json:"revoke,omitempty"`
	System      any         `json:"system,omitempty"`
	Identity    any         `json:"identity,omitempty"`
	Unsupported any         `json:"unsupported,omitempty"`
	Errors      []apiError  `json:"errors,omitempty"`
}

type text struct {
	Body string `json:"body"`
}

type media struct {
	Caption  string `json:"caption,omitempty"`
	Filename string `json:"filename,omitempty"`
	MimeType string `json:"mime_type"`
	SHA256   string `json:"sha256"`
	ID       string `json:"id"`
	URL      string `json:"url,omitempty"`
	Voice    *bool  `json:"voice,omitempty"`
	Animated *bool  `json:"animated,omitempty"`
}

type location struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
	Name      string  `json:"name,omitempty"`
	Address   string  `json:"address,omitempty"`
	URL       string  `json:"url,omitempty"`
}

type reaction struct {
	MessageID string  `json:"message_id"`
	Emoji     *string `json:"emoji,omitempty"`
}

type edit struct {
	OriginalMessageID string   `json:"original_message_id"`
	Message           *message `json:"message"`
}

type revoke struct {
	OriginalMessageID string `json:"original_message_id"`
}

type status struct {
	ID                     string       `json:"id"`
	Status                 string       `json:"status"`
	Timestamp              string       `json:"timestamp"`
	RecipientID            string       `json:"recipient_id"`
	RecipientType          string       `json:"recipient_type,omitempty"`
	RecipientParticipantID string       `json:"recipient_participant_id,omitempty"`
	BizOpaqueCallbackData  string       `json:"biz_opaque_callback_data,omitempty"`
	Conversation           *statusConv  `json:"conversation,omitempty"`
	Pricing                *statusPrice `json:"pricing,omitempty"`
	Errors                 []apiError   `json:"errors,omitempty"`
}

type statusConv struct {
	ID                  string `json:"id"`
	ExpirationTimestamp string `json:"expiration_timestamp,omitempty"`
	Origin              struct {
		Type string `json:"type"`
	} `json:"origin"`
}

type statusPrice struct {
	Billable     bool   `json:"billable"`
	PricingModel string `json:"pricing_model"`
	Category     string `json:"category"`
}

type apiError struct {
	Code      int    `json:"code"`
	Title     string `json:"title"`
	Message   string `json:"message,omitempty"`
	ErrorData *struct {
		Details string `json:"details"`
	} `json:"error_data,omitempty"`
	Href string `json:"href,omitempty"`
}

func newAPIError(code int, title, details string) apiError {
	e := apiError{Code: code, Title: title, Message: title}
	if details != "" {
		e.ErrorData = &struct {
			Details string `json:"details"`
		}{details}
	}
	return e
}

// MarshalASCII encodes v as Meta encodes webhook bodies: JSON in which
// every non-ASCII character is a lowercase \uXXXX escape (UTF-16 surrogate
// pairs beyond the BMP) and "/" is written "\/".
func MarshalASCII(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return EscapeNonASCII(bytes.TrimRight(buf.Bytes(), "\n")), nil
}

// EscapeNonASCII rewrites JSON text (valid UTF-8) into Meta's ASCII form.
// Outside strings JSON has no non-ASCII bytes and no "/", so the rewrite
// never changes structure.
func EscapeNonASCII(js []byte) []byte {
	const hexdigits = "0123456789abcdef"
	out := make([]byte, 0, len(js)+len(js)/8)
	u4 := func(r rune) {
		out = append(out, '\\', 'u', hexdigits[r>>12&0xf], hexdigits[r>>8&0xf], hexdigits[r>>4&0xf], hexdigits[r&0xf])
	}
	for i := 0; i < len(js); {
		c := js[i]
		switch {
		case c == '\\' && i+1 < len(js):
			// An existing escape is copied whole, so "\\/" stays what it was.
			out = append(out, c, js[i+1])
			i += 2
			continue
		case c == '/':
			out = append(out, '\\', '/')
			i++
			continue
		case c < utf8.RuneSelf:
			out = append(out, c)
			i++
			continue
		}
		r, size := utf8.DecodeRune(js[i:])
		i += size
		if r >= 0x10000 {
			r1, r2 := utf16.EncodeRune(r)
			u4(r1)
			u4(r2)
			continue
		}
		u4(r)
	}
	return out
}

// Sign returns the X-Hub-Signature-256 value for body under secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// signSHA1 is the legacy X-Hub-Signature Meta still sends alongside.
func signSHA1(secret string, body []byte) string {
	m := hmac.New(sha1.New, []byte(secret))
	m.Write(body)
	return "sha1=" + hex.EncodeToString(m.Sum(nil))
}

// webhook wraps a payload into a signed POST delivery.
func (s *Sim) webhook(kind, hookURL string, p *payload) sim.Delivery {
	body, err := MarshalASCII(p)
	if err != nil {
		// Only our own fixed types are encoded; this cannot fail.
		body = []byte(fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[],"error":%q}`, err.Error()))
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "facebookexternalua")
	h.Set("X-Hub-Signature", signSHA1(s.opts.AppSecret, body))
	h.Set("X-Hub-Signature-256", Sign(s.opts.AppSecret, body))
	return sim.Delivery{Kind: kind, Method: http.MethodPost, URL: hookURL, Header: h, Body: body}
}

// envelope builds the usual one-entry, one-change payload.
func (s *Sim) envelope(field string, v any) *payload {
	return &payload{Object: "whatsapp_business_account", Entry: []entry{{ID: s.opts.WABAID, Changes: []change{{Value: v, Field: field}}}}}
}

func (s *Sim) value() *value {
	return &value{MessagingProduct: "whatsapp", Metadata: metadata{DisplayPhoneNumber: s.opts.DisplayPhoneNumber, PhoneNumberID: s.opts.PhoneNumberID}}
}
