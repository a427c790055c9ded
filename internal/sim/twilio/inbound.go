package twiliosim

import (
	"strconv"
	"strings"

	"github.com/onrecord/onrecord/internal/sim"
)

// Text returns a signed delivery of one inbound message from from, in the
// form a Twilio address takes: "+14155550123" is an SMS, and
// "whatsapp:+14155550123" a WhatsApp message through Twilio, each with
// the fields Twilio sends for that transport. The same address is what the
// organisation sends to, so tests can play a party answering what the
// gateway sent, such as a consent request.
func (s *Sim) Text(hookURL, from, body string) sim.Delivery {
	c, wa := s.party(from)
	sid := s.inboundSID("SM", from)
	if wa {
		return s.formDelivery("whatsapp_text", hookURL, s.waPairs(sid, c, "text", body, nil))
	}
	return s.formDelivery("sms_text", hookURL, s.smsPairs(sid, c, body, nil))
}

// ButtonReply returns a signed delivery of a WhatsApp user tapping a quick
// reply button of a template message: Twilio sends the button's text as
// Body and ButtonText, and the payload the organisation gave it as
// ButtonPayload. Buttons exist only on WhatsApp, so from is taken as a
// WhatsApp address with or without its "whatsapp:" prefix.
func (s *Sim) ButtonReply(hookURL, from, buttonText, payload string) sim.Delivery {
	c, _ := s.party(from)
	return s.formDelivery("whatsapp_button", hookURL, s.waPairs(s.inboundSID("SM", from), c, "button", buttonText, nil,
		kv{"ButtonText", buttonText}, kv{"ButtonPayload", payload}))
}

// party is the client behind a Twilio address, and whether the address is
// a WhatsApp one; an unknown number gets a neutral profile.
func (s *Sim) party(addr string) (client, bool) {
	number, wa := strings.CutPrefix(addr, "whatsapp:")
	for _, c := range clients {
		if c.ID == number {
			return c, wa
		}
	}
	return client{sim.Person{ID: number, Name: "Customer"}, "", "", ""}, wa
}

// inboundSID is a fresh Message SID: each call is a new message, not a
// redelivery of an earlier one.
func (s *Sim) inboundSID(prefix, from string) string {
	s.mu.Lock()
	s.inboundSeq++
	n := s.inboundSeq
	s.mu.Unlock()
	return prefix + hexID("inbound", from, strconv.Itoa(n))
}
