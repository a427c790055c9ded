package telegramsim

import (
	"time"

	"github.com/onrecord/onrecord/internal/sim"
)

// inboundUpdateBase keeps the update ids Text hands out apart from the
// scripted ones (90_000_100...) and the first workloads' (100_000_000...).
const inboundUpdateBase = 700_000_000

// Text returns a delivery of one text message the Telegram user with id
// from (decimal, as the connector names the sender and as the bot
// addresses their private chat) writes to the bot, stamped now and
// carrying the secret-token header. Tests use it to play a user answering
// what the bot sent, such as a consent request. The message id continues
// the private chat's numbering, which the bot's own messages share.
func (s *Sim) Text(hookURL, from, body string) sim.Delivery {
	c, ok := s.chatFor(from)
	if !ok || c.Type != "private" {
		// Not a user id: deliver it anyway, as a user with that name, so a
		// test sees what the connector makes of it.
		c = tgChat{Type: "private", FirstName: from}
	}
	u := &tgUser{ID: c.ID, FirstName: c.FirstName, LastName: c.LastName, Username: c.Username, LanguageCode: "en"}
	s.mu.Lock()
	s.nextID[c.ID]++
	msgID := 1000 + s.nextID[c.ID]
	s.updates++
	updateID := inboundUpdateBase + s.updates
	s.mu.Unlock()
	b := &builder{s: s, hook: hookURL, nextID: updateID}
	b.add("text", tgUpdate{Message: &tgMessage{MessageID: msgID, From: u, Chat: c, Date: time.Now().Unix(), Text: body}})
	return b.out[0]
}
