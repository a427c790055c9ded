package whatsappsim

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"time"

	"github.com/onrecord/onrecord/internal/sim"
)

// Text returns a signed delivery of one text message from the customer
// whose WhatsApp id is from (digits only, the form Meta uses in webhooks
// and the form the business sends to), stamped now. Tests use it to play
// a customer answering what the gateway sent, such as a consent request.
func (s *Sim) Text(hookURL, from, body string) sim.Delivery {
	return s.inbound("text", hookURL, from, &message{Type: "text", Text: &text{Body: body}})
}

// Document returns a signed delivery of a customer sending a file named
// filename with caption; the media API then serves data for it, as it
// would a file the customer uploaded.
func (s *Sim) Document(hookURL, from, filename, caption, mimeType string, data []byte) sim.Delivery {
	s.mu.Lock()
	s.seq++
	id := strconv.FormatInt(int64(9200000000000000+s.seq), 10)
	s.media[id] = mediaFile{mime: mimeType, data: data}
	s.mu.Unlock()
	digest := sha256.Sum256(data)
	return s.inbound("document", hookURL, from, &message{Type: "document", Document: &media{ID: id, MimeType: mimeType,
		SHA256: base64.StdEncoding.EncodeToString(digest[:]), Filename: filename, Caption: caption}})
}

// ButtonReply returns a signed delivery of a customer tapping a quick
// reply button of a template message: Meta sends the button's text and
// the payload the business gave it (type "button").
func (s *Sim) ButtonReply(hookURL, from, buttonText, payload string) sim.Delivery {
	return s.inbound("button", hookURL, from, &message{Type: "button",
		Context: &msgContext{From: s.opts.DisplayPhoneNumber, ID: wamid("template:" + from)},
		Button:  map[string]string{"payload": payload, "text": buttonText}})
}

// InteractiveReply returns a signed delivery of a customer choosing a
// reply button of an interactive message (type "interactive",
// button_reply with the button's id and title).
func (s *Sim) InteractiveReply(hookURL, from, id, title string) sim.Delivery {
	return s.inbound("interactive_button_reply", hookURL, from, &message{Type: "interactive",
		Context:     &msgContext{From: s.opts.DisplayPhoneNumber, ID: wamid("interactive:" + from)},
		Interactive: map[string]any{"type": "button_reply", "button_reply": map[string]string{"id": id, "title": title}}})
}

// inbound wraps one customer message as Meta delivers it. Each call gets a
// fresh message id, so repeating the same text is a new message, not a
// redelivery.
func (s *Sim) inbound(kind, hookURL, from string, m *message) sim.Delivery {
	s.mu.Lock()
	s.inboundSeq++
	n := s.inboundSeq
	s.mu.Unlock()
	m.ID = wamid(fmt.Sprintf("inbound:%s:%d", from, n))
	m.From, m.Timestamp = from, strconv.FormatInt(time.Now().Unix(), 10)
	name := "Customer"
	for _, c := range clients {
		if c.ID == from {
			name = c.Name
		}
	}
	v := s.value()
	v.Contacts = []contact{{Profile: profile{Name: name}, WaID: from}}
	v.Messages = []*message{m}
	return s.webhook(kind, hookURL, s.envelope("messages", v))
}
