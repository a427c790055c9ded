package slacksim

import (
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/onrecord/onrecord/internal/sim"
)

// The cast: Harbor Trust Bank's staff (team T0HTB00001) and two clients
// who reach them through Slack Connect from their own workspaces.
var (
	maria = person{sim.Person{ID: "U0HTB0MCHN", Name: "Maria Chen"}, "T0HTB00001", "Maria"}
	david = person{sim.Person{ID: "U0HTB0DOKF", Name: "David Okafor"}, "T0HTB00001", "David"}
	sofia = person{sim.Person{ID: "U0HTB0SALV", Name: "Sofia Alvarez"}, "T0HTB00001", "Sofia"}
	jonas = person{sim.Person{ID: "U0WFO0JWBR", Name: "Jonas Weber"}, "T0WEBERFO1", "Jonas"}
	priya = person{sim.Person{ID: "U0RCP0PRMN", Name: "Priya Raman"}, "T0RAMANCP1", "Priya"}
	staff = []person{maria, david, sofia}
)

func conversations() []conversation {
	return []conversation{
		{ID: "D0HTBJWB01", Type: "im", Members: []person{maria, jonas}},
		{ID: "C0WEALTH01", Name: "weber-family-office", Type: "channel", Members: []person{maria, sofia, jonas}},
		{ID: "G0RATESDK1", Name: "rates-desk-raman", Type: "group", Members: []person{david, sofia, priya}},
		{ID: "G0MPIMHTB1", Name: "mpdm-maria--david--priya-1", Type: "mpim", Members: []person{maria, david, priya}},
	}
}

// scriptStart is when the scripted conversation happens (message ts values);
// the signature timestamp is always the current time.
var scriptStart = time.Date(2026, 3, 2, 14, 30, 0, 0, time.UTC)

// Deliveries is one delivery of every kind the connector handles, in a
// plausible order: later ones edit, delete and react to earlier ones.
func (s *Sim) Deliveries(hookURL string) []sim.Delivery {
	convs := conversations()
	dm, wealth, desk, mpim := convs[0], convs[1], convs[2], convs[3]
	at := scriptStart
	n := 0
	next := func() (time.Time, string, string) {
		n++
		at = at.Add(47*time.Second + time.Duration(n*1013)*time.Microsecond)
		return at, slackTS(at), fmt.Sprintf("Ev0HTB%06d", n)
	}
	var out []sim.Delivery
	add := func(kind string, v any) {
		b, err := marshal(v)
		if err != nil {
			panic(err) // only fixed, well-formed values are marshalled here
		}
		out = append(out, s.delivery(kind, hookURL, b, "application/json"))
	}
	message := func(c conversation, p person, text string) *msg {
		_, ts, _ := next()
		return &msg{ClientMsgID: clientMsgID(ts), Type: "message", Text: text, User: p.ID, UserProfile: p.profile(),
			TS: ts, Team: p.Team, Channel: c.ID, EventTS: ts, ChannelType: c.Type}
	}
	wrap := func(ev any, eventID string, t time.Time, c conversation) outer {
		return s.envelope(ev, eventID, t, c.Type != "group" && c.Type != "mpim")
	}
	post := func(kind string, m *msg, c conversation) {
		t, _ := parseTS(m.TS)
		add(kind, wrap(m, eventIDFor(m.TS), t, c))
	}

	// Handshake first, as when the Request URL is saved.
	add("url_verification", struct {
		Token     string `json:"token"`
		Challenge string `json:"challenge"`
		Type      string `json:"type"`
	}{"Zq3rVNRh8c5zPmxkZkJQ0Fnz", "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "url_verification"})

	first := message(dm, jonas, "Hi Maria, can we move 250k from the money market fund into the short-duration treasuries before Friday?")
	post("message_im", first, dm)
	// Slack did not get a 2xx in time and redelivers the same body.
	retry := out[len(out)-1]
	retry.Kind = "retry"
	retry.Header = retry.Header.Clone()
	retry.Header.Set("X-Slack-Retry-Num", "1")
	retry.Header.Set("X-Slack-Retry-Reason", "http_timeout")
	out = append(out, retry)

	parent := message(wealth, maria, "Quarterly review pack for the Weber Family Office is ready. <@U0WFO0JWBR> please confirm Thursday 10:00 works.")
	post("message_channel", parent, wealth)
	post("message_group", message(desk, priya, "Looking for a quote on 5y SOFR swaps, 40mm notional, we receive fixed."), desk)
	post("message_mpim", message(mpim, david, "Priya, Maria: settlement for the muni block is confirmed for T+1."), mpim)

	reply := message(wealth, jonas, "Thursday works. Can Sofia join for the tax questions?")
	reply.ThreadTS, reply.ParentUserID = parent.TS, maria.ID
	post("thread_reply", reply, wealth)

	bcast := message(wealth, sofia, "Happy to join. Note the pack excludes the trust accounts; those come separately.")
	bcast.Subtype, bcast.ThreadTS, bcast.ParentUserID = "thread_broadcast", parent.TS, maria.ID
	post("thread_broadcast", bcast, wealth)

	// Maria edits her channel message.
	{
		t, ts, eid := next()
		cur := *parent
		cur.Text = "Quarterly review pack for the Weber Family Office is ready. <@U0WFO0JWBR> please confirm Thursday 11:00 works."
		cur.Edited = &editedBy{User: maria.ID, TS: ts}
		cur.Channel, cur.EventTS, cur.ChannelType, cur.UserProfile = "", "", "", nil
		prev := *parent
		prev.Channel, prev.EventTS, prev.ChannelType, prev.UserProfile = "", "", "", nil
		add("message_changed", wrap(&msg{Type: "message", Subtype: "message_changed", Hidden: true, Message: &cur,
			PreviousMessage: &prev, Channel: wealth.ID, TS: ts, EventTS: ts, ChannelType: wealth.Type}, eid, t, wealth))
	}

	// Jonas deletes a message he sent by mistake.
	oops := message(dm, jonas, "my online banking password is")
	post("message_im_2", oops, dm)
	{
		t, ts, eid := next()
		prev := *oops
		prev.Channel, prev.EventTS, prev.ChannelType, prev.UserProfile = "", "", "", nil
		add("message_deleted", wrap(&msg{Type: "message", Subtype: "message_deleted", Hidden: true, DeletedTS: oops.TS,
			PreviousMessage: &prev, Channel: dm.ID, TS: ts, EventTS: ts, ChannelType: dm.Type}, eid, t, dm))
	}

	// A thread parent with replies is deleted: Slack tombstones it.
	{
		t, ts, eid := next()
		tomb := msg{Type: "message", Subtype: "tombstone", Hidden: true, Text: "This message was deleted.", User: "USLACKBOT",
			TS: parent.TS, ThreadTS: parent.TS}
		prev := *parent
		prev.Channel, prev.EventTS, prev.ChannelType, prev.UserProfile = "", "", "", nil
		add("message_tombstone", wrap(&msg{Type: "message", Subtype: "message_changed", Hidden: true, Message: &tomb,
			PreviousMessage: &prev, Channel: wealth.ID, TS: ts, EventTS: ts, ChannelType: wealth.Type}, eid, t, wealth))
	}

	// Files.
	{
		m := message(wealth, maria, "Here is the draft IPS for your review.")
		t, _ := parseTS(m.TS)
		m.Subtype, m.Upload = "file_share", true
		m.Files = []simFile{s.newFile("F0HTBIPS01", "Weber IPS draft 2026.pdf", "Weber IPS draft 2026", "application/pdf", "pdf", "PDF", maria, t, true)}
		post("file_share", m, wealth)
	}
	{
		m := message(desk, priya, "Term sheet and our current hedge book attached.")
		t, _ := parseTS(m.TS)
		m.Files = []simFile{
			s.newFile("F0RCPTS001", "term_sheet.png", "term_sheet.png", "image/png", "png", "PNG", priya, t, true),
			s.newFile("F0RCPHB001", "hedge_book.xlsx", "hedge_book.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx", "Excel Spreadsheet", priya, t, true),
		}
		post("message_with_files", m, desk)
	}
	{
		// A Slack Connect file from the client's workspace: Slack withholds
		// the URL until files.info is called.
		m := message(dm, jonas, "Signed transfer form.")
		t, _ := parseTS(m.TS)
		m.Subtype, m.Upload = "file_share", true
		m.Files = []simFile{s.newFile("F0WFOTRF01", "transfer_form_signed.pdf", "transfer form signed", "application/pdf", "pdf", "PDF", jonas, t, false)}
		post("file_share_connect", m, dm)
	}

	// Bots and the app itself.
	{
		m := message(desk, david, "Daily limits refreshed: desk utilisation 63%.")
		m.ClientMsgID, m.User, m.UserProfile, m.Team = "", "", nil, ""
		m.Subtype, m.BotID, m.Username = "bot_message", "B0RISKBOT1", "Risk Limits"
		post("bot_message", m, desk)
	}
	{
		m := message(dm, maria, "Reminder: this conversation is recorded and retained under SEC 17a-4.")
		m.ClientMsgID, m.User, m.UserProfile = "", s.opts.BotUserID, nil
		m.BotID, m.AppID = s.opts.BotID, s.opts.APIAppID
		m.BotProfile = &botProfile{ID: s.opts.BotID, Name: "onrecord", Updated: scriptStart.Unix(), AppID: s.opts.APIAppID, TeamID: s.opts.TeamID}
		post("app_message", m, dm)
	}
	{
		m := message(mpim, maria, "is checking the settlement instructions")
		m.Subtype = "me_message"
		post("me_message", m, mpim)
	}
	{
		m := message(wealth, david, "<@U0HTB0DOKF> has joined the channel")
		m.ClientMsgID, m.UserProfile, m.Subtype, m.Inviter = "", nil, "channel_join", maria.ID
		post("channel_join", m, wealth)
	}
	{
		m := message(wealth, maria, "set the channel topic: Weber Family Office | quarterly review Thu 11:00")
		m.ClientMsgID, m.UserProfile, m.Subtype, m.Topic = "", nil, "channel_topic", "Weber Family Office | quarterly review Thu 11:00"
		post("channel_topic", m, wealth)
	}

	// Reactions to Jonas's first message.
	{
		t, ts, eid := next()
		add("reaction_added", wrap(reactionEvent{Type: "reaction_added", User: maria.ID, Reaction: "white_check_mark",
			Item: reactionItem{Type: "message", Channel: dm.ID, TS: first.TS}, ItemUser: jonas.ID, EventTS: ts}, eid, t, dm))
		t, ts, eid = next()
		add("reaction_removed", wrap(reactionEvent{Type: "reaction_removed", User: maria.ID, Reaction: "white_check_mark",
			Item: reactionItem{Type: "message", Channel: dm.ID, TS: first.TS}, ItemUser: jonas.ID, EventTS: ts}, eid, t, dm))
	}

	// Other events.
	{
		t, ts, eid := next()
		add("file_shared", wrap(map[string]any{"type": "file_shared", "channel_id": wealth.ID, "file_id": "F0HTBIPS01",
			"user_id": maria.ID, "file": map[string]string{"id": "F0HTBIPS01"}, "event_ts": ts}, eid, t, wealth))
		t, ts, eid = next()
		add("file_deleted", wrap(map[string]any{"type": "file_deleted", "file_id": "F0RCPHB001", "channel_ids": []string{desk.ID},
			"event_ts": ts}, eid, t, desk))
		t, ts, eid = next()
		add("member_joined_channel", wrap(map[string]any{"type": "member_joined_channel", "user": sofia.ID, "channel": desk.ID,
			"channel_type": "G", "team": sofia.Team, "inviter": david.ID, "event_ts": ts}, eid, t, desk))
		t, ts, eid = next()
		add("channel_created", wrap(map[string]any{"type": "channel_created", "channel": map[string]any{
			"id": "C0RAMANFX1", "name": "raman-capital-fx", "created": t.Unix(), "creator": david.ID,
			"is_channel": true, "is_org_shared": false, "is_shared": false}, "event_ts": ts}, eid, t, desk))
	}
	{
		m := message(wealth, jonas, "<@U0ONRECBOT> is this chat archived?")
		m.ChannelType, m.UserProfile = "", nil
		post("app_mention", &msg{ClientMsgID: m.ClientMsgID, Type: "app_mention", Text: m.Text, User: m.User, TS: m.TS,
			Team: m.Team, Channel: m.Channel, EventTS: m.EventTS}, wealth)
	}
	{
		t, ts, eid := next()
		add("unknown_event", wrap(map[string]any{"type": "app_home_opened", "user": david.ID, "channel": "D0APPHOME1",
			"tab": "home", "event_ts": ts}, eid, t, dm))
	}
	{
		t, _, _ := next()
		add("app_rate_limited", struct {
			Token             string `json:"token"`
			Type              string `json:"type"`
			TeamID            string `json:"team_id"`
			MinuteRateLimited int64  `json:"minute_rate_limited"`
			APIAppID          string `json:"api_app_id"`
		}{"Zq3rVNRh8c5zPmxkZkJQ0Fnz", "app_rate_limited", s.opts.TeamID, t.Truncate(time.Minute).Unix(), s.opts.APIAppID})
	}
	{
		t, _, _ := next()
		form := url.Values{}
		for k, v := range map[string]string{
			"token": "Zq3rVNRh8c5zPmxkZkJQ0Fnz", "team_id": s.opts.TeamID, "team_domain": "harbortrust",
			"channel_id": wealth.ID, "channel_name": wealth.Name, "user_id": maria.ID, "user_name": "maria.chen",
			"command": "/onrecord", "text": "hold weber-family-office", "api_app_id": s.opts.APIAppID,
			"is_enterprise_install": "false",
			"response_url":          s.baseURL() + "/commands/T0HTB00001/1234567890/Zx8hS1",
			"trigger_id":            fmt.Sprintf("%d.1000000001.3f2b7c1d9e8a", t.Unix()),
		} {
			form.Set(k, v)
		}
		out = append(out, s.delivery("slash_command", hookURL, []byte(form.Encode()), "application/x-www-form-urlencoded"))
	}
	for i := range out {
		if out[i].Method == "" {
			out[i].Method = http.MethodPost
		}
	}
	return out
}

// clientMsgID is the uuid Slack clients attach to what people type.
func clientMsgID(ts string) string {
	h := fnv64(ts)
	return fmt.Sprintf("%08x-%04x-4%03x-a%03x-%012x", uint32(h>>32), uint16(h>>16), uint16(h)&0xfff, uint16(h>>20)&0xfff, h&0xffffffffffff)
}

func eventIDFor(ts string) string { return fmt.Sprintf("Ev0%010X", fnv64("ev"+ts)>>24) }

func fnv64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// parseTS reads a ts the simulator produced.
func parseTS(ts string) (time.Time, bool) {
	var sec, usec int64
	if _, err := fmt.Sscanf(ts, "%d.%d", &sec, &usec); err != nil {
		return time.Time{}, false
	}
	return time.Unix(sec, usec*1000).UTC(), true
}
