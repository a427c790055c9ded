package twiliosim

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"

	"github.com/onrecord/onrecord/internal/sim"
)

// client is an external party: a bank customer texting from a phone.
type client struct {
	sim.Person
	city, state, zip string
}

// Clients of Harbor Street Bank (fictional 555-01xx numbers).
var clients = []client{
	{sim.Person{ID: "+13125550142", Name: "Robert Hale"}, "CHICAGO", "IL", "60601"},
	{sim.Person{ID: "+14155550177", Name: "Aisha Rahman"}, "SAN FRANCISCO", "CA", "94105"},
	{sim.Person{ID: "+13055550123", Name: "Tomás García"}, "MIAMI", "FL", "33131"},
	{sim.Person{ID: "+12065550188", Name: "Linda Park"}, "SEATTLE", "WA", "98101"},
	{sim.Person{ID: "+16175550134", Name: "James O'Connor"}, "BOSTON", "MA", "02110"},
	{sim.Person{ID: "+15125550166", Name: "Priya Natarajan"}, "AUSTIN", "TX", "78701"},
	{sim.Person{ID: "+17185550119", Name: "Chen Wei"}, "BROOKLYN", "NY", "11201"},
	{sim.Person{ID: "+12025550155", Name: "Fatima Al-Sayed"}, "WASHINGTON", "DC", "20005"},
}

// Employees of the bank, as Conversations SDK identities.
var employees = []sim.Person{
	{ID: "maria.chen@harborstreetbank.example", Name: "Maria Chen"},
	{ID: "david.okafor@harborstreetbank.example", Name: "David Okafor"},
	{ID: "sophie.laurent@harborstreetbank.example", Name: "Sophie Laurent"},
}

var inboundTexts = []string{
	"Hi Maria, can you confirm the wire to the escrow account went out today?",
	"Please call me about selling 200 shares of MSFT before the close.",
	"What's the rate on the 12-month CD right now?",
	"Can we move our portfolio review to Thursday at 3pm?",
	"Is my mortgage payment due on the 1st or the 15th?",
	"Thanks — received the statement, all looks right.",
	"¿Pueden enviarme el estado de cuenta de marzo?",
	"I'm travelling to Lisbon next week, please don't block my card.",
	"Did the RMD distribution from my IRA go through?",
	"Merci, bien reçu 👍",
	"My daughter will drop off the notarised POA at the branch tomorrow.",
	"Can you send me the wiring instructions again? Lost the email.",
	"This is unacceptable, I want to file a complaint about the fees.",
	"My SSN is 123-45-6789 if you need it for the form.",
}

var outboundTexts = []string{
	"Good morning Mr. Hale, the wire for $48,250.00 was released at 10:14 ET.",
	"The 12-month CD is at 4.15% APY today; happy to walk you through it.",
	"Your portfolio review is booked for Thursday at 3pm.",
	"We cannot accept trade instructions by text; I'll call you to confirm.",
	"We received the signed transfer form, thank you.",
	"Travel notice added for Portugal, 3–17 May.",
	"Reminder: your quarterly statement is ready in online banking.",
	"Better signal me on my personal phone tonight, not here.",
}

var captions = []string{"Signed transfer form", "Photo of the cheque, front and back", "Updated W-9", "", "Closing disclosure p.1-2"}

// base time of the scripted conversations (Twilio's own webhooks carry no
// timestamp; Conversations and Event Streams do).
var simEpoch = time.Date(2026, 3, 2, 14, 0, 0, 0, time.UTC)

func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// mediaSID makes a Media SID whose third character tells the simulator
// which content type to serve (see MediaContentType).
func mediaSID(typeIndex int, parts ...string) string {
	return "ME" + strconv.FormatInt(int64(typeIndex), 16) + hexID(parts...)[1:]
}

func (s *Sim) mediaURL(messageSID, media string) string {
	return s.base() + "/2010-04-01/Accounts/" + s.opts.AccountSID + "/Messages/" + messageSID + "/Media/" + media
}

// smsPairs is an inbound SMS/MMS webhook in Twilio's field order.
func (s *Sim) smsPairs(sid string, from client, body string, media []string) []kv {
	p := []kv{{"ToCountry", "US"}, {"ToState", "NY"}, {"SmsMessageSid", sid}, {"NumMedia", strconv.Itoa(len(media))}}
	for i, me := range media {
		p = append(p, kv{"MediaContentType" + strconv.Itoa(i), MediaContentType(me)}, kv{"MediaUrl" + strconv.Itoa(i), s.mediaURL(sid, me)})
	}
	return append(p,
		kv{"ToCity", "NEW YORK"}, kv{"FromZip", from.zip}, kv{"SmsSid", sid}, kv{"FromState", from.state},
		kv{"SmsStatus", "received"}, kv{"FromCity", from.city}, kv{"Body", body}, kv{"FromCountry", "US"},
		kv{"To", s.opts.Number}, kv{"ToZip", "10004"}, kv{"NumSegments", "1"}, kv{"MessageSid", sid},
		kv{"AccountSid", s.opts.AccountSID}, kv{"From", from.ID}, kv{"ApiVersion", "2010-04-01"},
	)
}

// waPairs is an inbound WhatsApp-through-Twilio webhook; extra holds the
// type-specific parameters (location, button, reply context, referral).
func (s *Sim) waPairs(sid string, from client, msgType, body string, media []string, extra ...kv) []kv {
	p := []kv{{"SmsMessageSid", sid}, {"NumMedia", strconv.Itoa(len(media))}}
	for i, me := range media {
		p = append(p, kv{"MediaContentType" + strconv.Itoa(i), MediaContentType(me)}, kv{"MediaUrl" + strconv.Itoa(i), s.mediaURL(sid, me)})
	}
	p = append(p, kv{"ProfileName", from.Name}, kv{"MessageType", msgType}, kv{"SmsSid", sid}, kv{"WaId", from.ID[1:]},
		kv{"SmsStatus", "received"}, kv{"Body", body}, kv{"To", "whatsapp:" + s.opts.WhatsAppNumber})
	p = append(p, extra...)
	return append(p, kv{"NumSegments", "1"}, kv{"ReferralNumMedia", "0"}, kv{"MessageSid", sid},
		kv{"AccountSid", s.opts.AccountSID}, kv{"From", "whatsapp:" + from.ID}, kv{"ApiVersion", "2010-04-01"})
}

// statusPairs is a status callback for a message the bank sent to party
// (or, for receiving/received, one party sent to the bank).
func (s *Sim) statusPairs(sid string, party client, whatsapp bool, status, errCode, errMsg string) []kv {
	org, other := s.opts.Number, party.ID
	if whatsapp {
		org, other = "whatsapp:"+s.opts.WhatsAppNumber, "whatsapp:"+party.ID
	}
	from, to := org, other
	if status == "received" || status == "receiving" {
		from, to = other, org
	}
	if !whatsapp {
		var p []kv
		if errCode != "" {
			p = append(p, kv{"ErrorCode", errCode})
		}
		p = append(p, kv{"SmsSid", sid}, kv{"SmsStatus", status}, kv{"MessageStatus", status}, kv{"To", to},
			kv{"MessageSid", sid}, kv{"AccountSid", s.opts.AccountSID}, kv{"From", from}, kv{"ApiVersion", "2010-04-01"})
		if status == "delivered" {
			p = append(p, kv{"RawDlrDoneDate", "2603021415"})
		}
		return p
	}
	p := []kv{{"ChannelPrefix", "whatsapp"}, {"ApiVersion", "2010-04-01"}, {"MessageStatus", status}, {"SmsSid", sid},
		{"SmsStatus", status}, {"ChannelInstallSid", "XE" + hexID("install", s.opts.AccountSID)}, {"To", to}, {"From", from},
		{"MessageSid", sid}, {"StructuredMessage", "false"}, {"AccountSid", s.opts.AccountSID}, {"ChannelToAddress", party.ID}}
	if errCode != "" {
		p = append(p, kv{"ErrorCode", errCode}, kv{"ErrorMessage", errMsg})
	}
	return p
}

// convPairs is a Conversations post-event webhook.
type convMessage struct {
	sid, conv, participant string
	author                 string
	source                 string // SDK, SMS, WHATSAPP
	index                  int
	body                   string
	created                time.Time
}

func (s *Sim) convPairs(event string, m convMessage, extra ...kv) []kv {
	p := []kv{{"RetryCount", "0"}, {"EventType", event}, {"Attributes", "{}"}, {"DateCreated", isoTime(m.created)}}
	p = append(p, extra...)
	p = append(p, kv{"Author", m.author}, kv{"Index", strconv.Itoa(m.index)}, kv{"MessageSid", m.sid},
		kv{"ParticipantSid", m.participant}, kv{"Body", m.body}, kv{"AccountSid", s.opts.AccountSID}, kv{"Source", m.source})
	if m.source == "SDK" {
		p = append(p, kv{"ClientIdentity", m.author})
	}
	return append(p, kv{"ConversationSid", m.conv}, kv{"ChatServiceSid", "IS" + hexID("service", s.opts.AccountSID)})
}

// cloudEvent is an Event Streams event as its webhook sink sends it.
type cloudEvent struct {
	SpecVersion     string         `json:"specversion"`
	Type            string         `json:"type"`
	Source          string         `json:"source"`
	ID              string         `json:"id"`
	DataSchema      string         `json:"dataschema"`
	DataContentType string         `json:"datacontenttype"`
	Time            string         `json:"time"`
	Data            map[string]any `json:"data"`
}

func (s *Sim) statusCloudEvent(sid string, party client, status string, at time.Time, errCode int) cloudEvent {
	data := map[string]any{
		"messageSid": sid, "timestamp": isoTime(at), "accountSid": s.opts.AccountSID,
		"eventName": "com.twilio.messaging.message." + status, "apiVersion": "2010-04-01",
		"from": s.opts.Number, "to": party.ID, "messageStatus": upper(status), "numberOfSegments": 1,
	}
	if errCode != 0 {
		data["errorCode"] = errCode
	}
	return cloudEvent{
		SpecVersion: "1.0", Type: "com.twilio.messaging.message." + status, Source: "/2010-04-01/Accounts/" + s.opts.AccountSID + "/Messages/" + sid + ".json",
		ID: "EZ" + hexID("ce", sid, status), DataSchema: "https://events-schemas.twilio.com/Messaging.MessageStatus/8",
		DataContentType: "application/json", Time: isoTime(at), Data: data,
	}
}

func (s *Sim) inboundCloudEvent(sid string, from client, body string, at time.Time) cloudEvent {
	return cloudEvent{
		SpecVersion: "1.0", Type: "com.twilio.messaging.inbound-message.received", Source: "/2010-04-01/Accounts/" + s.opts.AccountSID + "/Messages/" + sid + ".json",
		ID: "EZ" + hexID("ce", sid), DataSchema: "https://events-schemas.twilio.com/Messaging.InboundMessageV1/6",
		DataContentType: "application/json", Time: isoTime(at),
		Data: map[string]any{
			"messageSid": sid, "timestamp": isoTime(at), "accountSid": s.opts.AccountSID,
			"eventName": "com.twilio.messaging.inbound-message.received", "from": from.ID, "to": s.opts.Number,
			"numMedia": 0, "body": body, "fromCountry": "US", "fromState": from.state, "fromCity": from.city, "fromZip": from.zip,
		},
	}
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 32
		}
	}
	return string(b)
}

// mustJSON encodes as Twilio does: no HTML escaping of <, > and &.
func mustJSON(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Only strings, numbers and maps of them are encoded here.
		return []byte("[]")
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}
