package slacksim

import (
	"fmt"

	"github.com/onrecord/onrecord/internal/sim"
)

// Text returns a signed delivery of one message a person writes to the app
// in their direct message with it. from names the person either by user id
// ("U0WFO0JWBR") or by the DM's channel id ("D0WFO0JWBR"), the two forms
// chat.postMessage accepts for a DM; the simulator pairs them as its
// postMessage does, by swapping the first letter. Tests use it to play a
// person answering what the app sent, such as a consent request.
func (s *Sim) Text(hookURL, from, body string) sim.Delivery {
	user, dm := from, from
	if from != "" {
		user, dm = "U"+from[1:], "D"+from[1:]
	}
	p := person{sim.Person{ID: user, Name: "Guest " + user}, s.opts.TeamID, "Guest"}
	for _, q := range []person{maria, david, sofia, jonas, priya} {
		if q.ID == user {
			p = q
		}
	}
	ts := s.nextTS()
	at, _ := parseTS(ts)
	m := &msg{ClientMsgID: clientMsgID(ts), Type: "message", Text: body, User: p.ID,
		TS: ts, Team: p.Team, Channel: dm, EventTS: ts, ChannelType: "im"}
	if len(p.ID) > 6 {
		m.UserProfile = p.profile()
	}
	b, err := marshal(s.envelope(m, eventIDFor(ts), at, p.Team != s.opts.TeamID))
	if err != nil {
		// Only the simulator's own types are encoded; they always encode.
		panic(fmt.Sprintf("slacksim: encode message: %v", err))
	}
	return s.delivery("message_im", hookURL, b, "application/json")
}
