package signalsim

import (
	"crypto/sha256"
	"fmt"
	"strings"

	"github.com/onrecord/onrecord/internal/sim"
)

// Text returns a pushed delivery (signal-cli-rest-api's JSON-RPC form,
// with the push token) of one text message from from to the account,
// stamped now. from is a phone number ("+4915112345678") or an ACI uuid,
// either of which the organisation can send to. As signal-cli does for a
// contact whose number it knows, an envelope from a number carries the
// sender's uuid as well (a known client's, else one derived from the
// number), so the connector sees the uuid first; an envelope from a uuid
// carries no number, as for people who hide theirs. Tests use it to play a
// person answering what the gateway sent, such as a consent request.
func (s *Sim) Text(hookURL, from, body string) sim.Delivery {
	p := s.sender(from)
	s.mu.Lock()
	ts := s.stamp()
	s.mu.Unlock()
	e := &envelope{
		Source: strp(p.id()), SourceNumber: strp(p.Number), SourceUUID: strp(p.UUID), SourceName: strp(p.Name),
		SourceDevice: intp(1), Timestamp: ts, ServerReceivedTimestamp: ts + 140, ServerDeliveredTimestamp: ts + 175,
		DataMessage: &dataMessage{Timestamp: ts, Message: strp(body)},
	}
	return s.delivery(hookURL, "text", &payload{Envelope: e, Account: s.opts.Account}, formJSONRPC)
}

// sender is the person behind a number or uuid.
func (s *Sim) sender(addr string) person {
	for _, p := range append(append([]person{}, clients...), colleagues...) {
		if p.Number == addr || p.UUID == addr {
			return p
		}
	}
	if !strings.HasPrefix(addr, "+") {
		return person{UUID: addr}
	}
	return person{UUID: derivedUUID(addr), Number: addr, Name: "Customer " + addr[max(len(addr)-4, 1):]}
}

// derivedUUID is a stable version-4-shaped uuid for a number nobody in the
// simulated world has, so the same person always has the same uuid.
func derivedUUID(number string) string {
	h := sha256.Sum256([]byte("signalsim aci " + number))
	h[6] = h[6]&0x0f | 0x40
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}
