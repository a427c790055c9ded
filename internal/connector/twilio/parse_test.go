package twilio

import (
	"net/http"
	"net/url"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/connector"
)

var received = time.Date(2026, 3, 2, 14, 15, 16, 0, time.FixedZone("EST", -5*3600))

const testAccount = "AC1f2e3d4c5b6a79881f2e3d4c5b6a7988"

func fixtureRequest(t *testing.T, name string) *connector.Request {
	t.Helper()
	body, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	u, _ := url.Parse("/hooks/sms")
	if name[len(name)-5:] == ".json" {
		h.Set("Content-Type", "application/json")
		u, _ = url.Parse("/hooks/sms?bodySHA256=ignored-by-parse")
	} else {
		h.Set("Content-Type", "application/x-www-form-urlencoded; charset=UTF-8")
	}
	return &connector.Request{Method: http.MethodPost, URL: u, Header: h, Body: body, ReceivedAt: received}
}

// want is what a test asserts of one event; Meta lists only the entries
// that matter (every other parameter may be there too), NoMeta those that
// must have moved to a field of their own.
type want struct {
	onrecord.Event
	Media  []connector.MediaRef
	NoMeta []string
}

func checkEvent(t *testing.T, got connector.Event, w want) {
	t.Helper()
	g := got.Event
	type cmp struct {
		name      string
		got, want any
	}
	for _, c := range []cmp{
		{"Kind", g.Kind, w.Kind}, {"ProviderID", g.ProviderID, w.ProviderID}, {"Conversation", g.Conversation, w.Conversation},
		{"Direction", g.Direction, w.Direction}, {"Sender", g.Sender, w.Sender}, {"Recipients", g.Recipients, w.Recipients},
		{"Body", g.Body, w.Body}, {"Target", g.Target, w.Target}, {"Status", g.Status, w.Status}, {"Subtype", g.Subtype, w.Subtype},
		{"ReplyTo", g.ReplyTo, w.ReplyTo}, {"Forwarded", g.Forwarded, w.Forwarded}, {"StatusError", g.StatusError, w.StatusError},
		{"Group", g.Group, false}, {"Media", got.Media, w.Media},
	} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
	if !g.SentAt.Equal(w.SentAt) || g.SentAt.Location() != time.UTC {
		t.Errorf("SentAt = %v, want %v in UTC", g.SentAt, w.SentAt)
	}
	for k, v := range w.Meta {
		if g.Meta[k] != v {
			t.Errorf("Meta[%q] = %q, want %q", k, g.Meta[k], v)
		}
	}
	for _, k := range w.NoMeta {
		if _, ok := g.Meta[k]; ok {
			t.Errorf("Meta[%q] present; it has a field of its own", k)
		}
	}
	if g.Channel != "" || !g.CapturedAt.IsZero() || g.Raw != nil {
		t.Error("connector filled Channel, CapturedAt or Raw (the gateway's fields)")
	}
	g.Channel = "sms"
	if err := g.Validate(); err != nil {
		t.Errorf("event does not validate: %v", err)
	}
}

func mediaURL(msg, media string) string {
	return "https://api.twilio.com/2010-04-01/Accounts/" + testAccount + "/Messages/" + msg + "/Media/" + media
}

func TestParse_Fixtures(t *testing.T) {
	at := received.UTC()
	bank, bankWA := onrecord.Party{ID: "+12125550100"}, onrecord.Party{ID: "+12125550199"}
	tests := []struct {
		fixture string
		want    []want
	}{
		{"sms_inbound.form", []want{{Event: onrecord.Event{
			Kind: onrecord.KindMessage, ProviderID: "SM8f1b2c3d4e5f60718293a4b5c6d7e8f9", Conversation: "+13125550142",
			Direction: onrecord.Inbound, Sender: onrecord.Party{ID: "+13125550142"}, Recipients: []onrecord.Party{bank},
			SentAt: at, Body: "Hi Maria, can you confirm the wire to the escrow account went out today? 🙏", Subtype: "text",
			Meta: map[string]string{"transport": "sms", "NumSegments": "2", "FromCity": "CHICAGO", "AccountSid": testAccount, "From": "+13125550142", "ToCity": "NEW YORK"},
		}, NoMeta: []string{"Body", "MessageSid", "SmsSid", "SmsMessageSid"}}}},
		{"mms_inbound.form", []want{{Event: onrecord.Event{
			Kind: onrecord.KindMessage, ProviderID: "MMa0b1c2d3e4f5061728394a5b6c7d8e9f", Conversation: "+14155550177",
			Direction: onrecord.Inbound, Sender: onrecord.Party{ID: "+14155550177"}, Recipients: []onrecord.Party{bank},
			SentAt: at, Body: "Signed transfer form & ID attached", Subtype: "image",
			Meta: map[string]string{"transport": "mms", "NumMedia": "2", "MessagingServiceSid": "MG0c1d2e3f405162738495a6b7c8d9e0f1"},
		}, Media: []connector.MediaRef{
			{Ref: mediaURL("MMa0b1c2d3e4f5061728394a5b6c7d8e9f", "ME11223344556677889900aabbccddeeff"), Name: "ME11223344556677889900aabbccddeeff.jpg", ContentType: "image/jpeg"},
			{Ref: mediaURL("MMa0b1c2d3e4f5061728394a5b6c7d8e9f", "ME2233445566778899aabbccddeeff0011"), Name: "ME2233445566778899aabbccddeeff0011.pdf", ContentType: "application/pdf"},
		}}}},
		{"whatsapp_text.form", []want{{Event: onrecord.Event{
			Kind: onrecord.KindMessage, ProviderID: "SM3c4d5e6f708192a3b4c5d6e7f8091a2b", Conversation: "+13055550123",
			Direction: onrecord.Inbound, Sender: onrecord.Party{ID: "+13055550123", Name: "Tomás García"}, Recipients: []onrecord.Party{bankWA},
			SentAt: at, Body: "¿Pueden enviarme el estado de cuenta de marzo?", Subtype: "text",
			Meta: map[string]string{"transport": "whatsapp", "WaId": "13055550123", "From": "whatsapp:+13055550123", "To": "whatsapp:+12125550199"},
		}, NoMeta: []string{"ProfileName"}}}},
		{"whatsapp_location.form", []want{{Event: onrecord.Event{
			Kind: onrecord.KindMessage, ProviderID: "SM4d5e6f708192a3b4c5d6e7f8091a2b3c", Conversation: "+16175550134",
			Direction: onrecord.Inbound, Sender: onrecord.Party{ID: "+16175550134", Name: "James O'Connor"}, Recipients: []onrecord.Party{bankWA},
			SentAt: at, Body: "📍 42.3554334,-71.0605595 Harbor Street Bank – Federal St, 100 Federal St, Boston, MA 02110", Subtype: "location",
			Meta: map[string]string{"Latitude": "42.3554334", "Longitude": "-71.0605595", "Label": "Harbor Street Bank – Federal St", "Address": "100 Federal St, Boston, MA 02110"},
		}}}},
		{"whatsapp_button.form", []want{{Event: onrecord.Event{
			Kind: onrecord.KindMessage, ProviderID: "SM5e6f708192a3b4c5d6e7f8091a2b3c4d", Conversation: "+12065550188",
			Direction: onrecord.Inbound, Sender: onrecord.Party{ID: "+12065550188", Name: "Linda Park"}, Recipients: []onrecord.Party{bankWA},
			SentAt: at, Body: "Confirm appointment", Subtype: "button", ReplyTo: "SM00aa11bb22cc33dd44ee55ff66778899",
			Meta: map[string]string{"ButtonText": "Confirm appointment", "ButtonPayload": "appt-2026-03-05-1500-confirm", "OriginalRepliedMessageSender": "whatsapp:+12125550199"},
		}, NoMeta: []string{"OriginalRepliedMessageSid"}}}},
		{"whatsapp_forwarded_image.form", []want{{Event: onrecord.Event{
			Kind: onrecord.KindMessage, ProviderID: "MM6f708192a3b4c5d6e7f8091a2b3c4d5e", Conversation: "+13125550142",
			Direction: onrecord.Inbound, Sender: onrecord.Party{ID: "+13125550142", Name: "Robert Hale"}, Recipients: []onrecord.Party{bankWA},
			SentAt: at, Body: "Is this really from you?", Subtype: "image", Forwarded: true,
			Meta: map[string]string{"Forwarded": "true", "FrequentlyForwarded": "true", "transport": "whatsapp"},
		}, Media: []connector.MediaRef{{Ref: mediaURL("MM6f708192a3b4c5d6e7f8091a2b3c4d5e", "ME6f708192a3b4c5d6e7f8091a2b3c4d5e"), Name: "ME6f708192a3b4c5d6e7f8091a2b3c4d5e.jpg", ContentType: "image/jpeg"}}}}},
		{"whatsapp_referral.form", []want{{Event: onrecord.Event{
			Kind: onrecord.KindMessage, ProviderID: "SM708192a3b4c5d6e7f8091a2b3c4d5e6f", Conversation: "+15125550166",
			Direction: onrecord.Inbound, Sender: onrecord.Party{ID: "+15125550166", Name: "Priya Natarajan"}, Recipients: []onrecord.Party{bankWA},
			SentAt: at, Body: "Hi, I saw your ad about the 4.15% CD.", Subtype: "text",
			Meta: map[string]string{"ReferralBody": "Lock in 4.15% APY for 12 months.", "ReferralSourceType": "ad", "ReferralSourceUrl": "https://fb.me/harborstreetcd", "ReferralCtwaClid": "ARAkLkA8rmlFeiCktEJQ"},
		}}}},
		{"whatsapp_unknown_type.form", []want{{Event: onrecord.Event{
			Kind: onrecord.KindMessage, ProviderID: "SM8192a3b4c5d6e7f8091a2b3c4d5e6f70", Conversation: "+14155550177",
			Direction: onrecord.Inbound, Sender: onrecord.Party{ID: "+14155550177", Name: "Aisha Rahman"}, Recipients: []onrecord.Party{bankWA},
			SentAt: at, Subtype: "unsupported", Meta: map[string]string{"MessageType": "order"},
		}}}},
		{"status_delivered.form", []want{{Event: onrecord.Event{
			Kind: onrecord.KindStatus, ProviderID: "SM00aa11bb22cc33dd44ee55ff66778899:delivered", Target: "SM00aa11bb22cc33dd44ee55ff66778899",
			Status: "delivered", Conversation: "+13125550142", Direction: onrecord.Outbound, Sender: bank,
			Recipients: []onrecord.Party{{ID: "+13125550142"}}, SentAt: at,
			Meta: map[string]string{"RawDlrDoneDate": "2603021415", "SmsStatus": "delivered", "transport": "sms"},
		}, NoMeta: []string{"MessageStatus", "MessageSid"}}}},
		{"status_undelivered.form", []want{{Event: onrecord.Event{
			Kind: onrecord.KindStatus, ProviderID: "SM11bb22cc33dd44ee55ff66778899aa00:undelivered", Target: "SM11bb22cc33dd44ee55ff66778899aa00",
			Status: "undelivered", Conversation: "+14155550177", Direction: onrecord.Outbound, Sender: bank,
			Recipients: []onrecord.Party{{ID: "+14155550177"}}, SentAt: at, StatusError: "error 30003",
			Meta: map[string]string{"ErrorCode": "30003"},
		}}}},
		{"status_whatsapp_read.form", []want{{Event: onrecord.Event{
			Kind: onrecord.KindStatus, ProviderID: "SM22cc33dd44ee55ff66778899aa00bb11:read", Target: "SM22cc33dd44ee55ff66778899aa00bb11",
			Status: "read", Conversation: "+13055550123", Direction: onrecord.Outbound, Sender: bankWA,
			Recipients: []onrecord.Party{{ID: "+13055550123"}}, SentAt: at, Meta: map[string]string{"transport": "whatsapp"},
		}}}},
		{"status_whatsapp_failed.form", []want{{Event: onrecord.Event{
			Kind: onrecord.KindStatus, ProviderID: "SM33dd44ee55ff66778899aa00bb11cc22:failed", Target: "SM33dd44ee55ff66778899aa00bb11cc22",
			Status: "failed", Conversation: "+16175550134", Direction: onrecord.Outbound, Sender: bankWA,
			Recipients: []onrecord.Party{{ID: "+16175550134"}}, SentAt: at,
			StatusError: "63016: Failed to send freeform message because you are outside the allowed window.",
		}}}},
		{"status_received.form", []want{{Event: onrecord.Event{
			Kind: onrecord.KindStatus, ProviderID: "MM44ee55ff66778899aa00bb11cc22dd33:received", Target: "MM44ee55ff66778899aa00bb11cc22dd33",
			Status: "received", Conversation: "+16175550134", Direction: onrecord.Inbound, Sender: onrecord.Party{ID: "+16175550134"},
			Recipients: []onrecord.Party{bank}, SentAt: at,
		}}}},
		{"conversations_message_added.form", []want{{Event: onrecord.Event{
			Kind: onrecord.KindMessage, ProviderID: "IM0123456789abcdef0123456789abcdef", Conversation: "CH0123456789abcdef0123456789abcdef",
			Direction: onrecord.Outbound, Sender: onrecord.Party{ID: "maria.chen@harborstreetbank.example"},
			SentAt: time.Date(2026, 3, 2, 14, 2, 0, 0, time.UTC), Body: "Your portfolio review is booked for Thursday at 3pm.", Subtype: "text",
			Meta: map[string]string{"EventType": "onMessageAdded", "Source": "SDK", "Index": "1", "transport": "conversations"},
		}}}},
		{"conversations_message_updated.form", []want{{Event: onrecord.Event{
			Kind: onrecord.KindEdit, ProviderID: "IM0123456789abcdef0123456789abcdef:edit:2026-03-02T14:03:10.000Z", Target: "IM0123456789abcdef0123456789abcdef",
			Conversation: "CH0123456789abcdef0123456789abcdef", Direction: onrecord.Outbound,
			Sender: onrecord.Party{ID: "maria.chen@harborstreetbank.example"}, SentAt: time.Date(2026, 3, 2, 14, 3, 10, 0, time.UTC),
			Body: "Your portfolio review is booked for Thursday at 3:30pm.", Subtype: "text",
		}}}},
		{"unknown.form", []want{{Event: onrecord.Event{
			Kind: onrecord.KindSystem, ProviderID: "unsupported:" + fingerprint(url.Values{"AccountSid": {testAccount}, "ApiVersion": {"2010-04-01"}, "OptOutType": {"STOP"}, "From": {"+12065550188"}, "To": {"+12125550100"}}),
			Conversation: testAccount, Direction: onrecord.Inbound, Sender: onrecord.Party{ID: testAccount}, SentAt: at, Subtype: "unsupported",
			Meta: map[string]string{"OptOutType": "STOP"},
		}}}},
		{"eventstreams_batch.json", []want{
			{Event: onrecord.Event{
				Kind: onrecord.KindStatus, ProviderID: "SM55ff66778899aa00bb11cc22dd33ee44:delivered", Target: "SM55ff66778899aa00bb11cc22dd33ee44",
				Status: "delivered", Conversation: "+15125550166", Direction: onrecord.Outbound, Sender: bank,
				Recipients: []onrecord.Party{{ID: "+15125550166"}}, SentAt: time.Date(2026, 3, 2, 14, 5, 0, 0, time.UTC),
				Meta: map[string]string{"event_type": "com.twilio.messaging.message.delivered", "event_id": "EZ0123456789abcdef0123456789abcdef", "NumberOfSegments": "1"},
			}},
			{Event: onrecord.Event{
				Kind: onrecord.KindMessage, ProviderID: "SM66778899aa00bb11cc22dd33ee44ff55", Conversation: "+15125550166",
				Direction: onrecord.Inbound, Sender: onrecord.Party{ID: "+15125550166"}, Recipients: []onrecord.Party{bank},
				SentAt: time.Date(2026, 3, 2, 14, 6, 0, 0, time.UTC), Body: "Perfect, see you then.", Subtype: "text",
				Meta: map[string]string{"FromCity": "AUSTIN", "transport": "sms"},
			}},
			{Event: onrecord.Event{
				Kind: onrecord.KindStatus, ProviderID: "SM77889900aa11bb22cc33dd44ee55ff66:undelivered", Target: "SM77889900aa11bb22cc33dd44ee55ff66",
				Status: "undelivered", Conversation: "+12025550155", Direction: onrecord.Outbound, Sender: bank,
				Recipients: []onrecord.Party{{ID: "+12025550155"}}, SentAt: time.Date(2026, 3, 2, 14, 7, 0, 0, time.UTC), StatusError: "error 30005",
			}},
			{Event: onrecord.Event{
				Kind: onrecord.KindSystem, ProviderID: "EZ3123456789abcdef0123456789abcdef", Subtype: "com.twilio.conversations.participant.added",
				Conversation: "CH0123456789abcdef0123456789abcdef", Direction: onrecord.Inbound, Sender: onrecord.Party{ID: "MB1123456789abcdef0123456789abcdef"},
				SentAt: time.Date(2026, 3, 2, 14, 8, 0, 0, time.UTC), Meta: map[string]string{"Identity": "david.okafor@harborstreetbank.example"},
			}},
		}},
	}
	c := mustNew(t, "secret")
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			evs, err := c.Parse(fixtureRequest(t, tt.fixture))
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != len(tt.want) {
				t.Fatalf("got %d events, want %d", len(evs), len(tt.want))
			}
			for i := range evs {
				checkEvent(t, evs[i], tt.want[i])
			}
		})
	}
}

func TestParse_GETWebhookReadsQuery(t *testing.T) {
	body, err := os.ReadFile("testdata/sms_inbound.form")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse("/hooks/sms?" + string(body))
	evs, err := mustNew(t, "secret").Parse(&connector.Request{Method: http.MethodGet, URL: u, Header: http.Header{}, ReceivedAt: received})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].ProviderID != "SM8f1b2c3d4e5f60718293a4b5c6d7e8f9" || evs[0].Body == "" {
		t.Fatalf("GET webhook: %+v", evs)
	}
}

// The same message or status reported by a webhook and by Event Streams
// gets the same ProviderID, so the archive keeps it once.
func TestParse_StatusIDsAgreeAcrossWebhookAndEventStreams(t *testing.T) {
	c := mustNew(t, "secret")
	form := url.Values{"MessageSid": {"SMabc"}, "MessageStatus": {"delivered"}, "To": {"+15125550166"}, "From": {"+12125550100"}}
	a, err := c.Parse(&connector.Request{Method: http.MethodPost, Header: http.Header{}, Body: []byte(form.Encode()), ReceivedAt: received})
	if err != nil {
		t.Fatal(err)
	}
	js := `[{"type":"com.twilio.messaging.message.delivered","id":"EZ1","data":{"messageSid":"SMabc","messageStatus":"DELIVERED","to":"+15125550166","from":"+12125550100","timestamp":"2026-03-02T14:05:00.000Z"}}]`
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	b, err := c.Parse(&connector.Request{Method: http.MethodPost, Header: h, Body: []byte(js), ReceivedAt: received})
	if err != nil {
		t.Fatal(err)
	}
	if a[0].Event.IdempotencyKey() != b[0].Event.IdempotencyKey() {
		t.Fatalf("keys differ: %q vs %q", a[0].ProviderID, b[0].ProviderID)
	}
}

func TestParse_ConversationsRemoveAndDelivery(t *testing.T) {
	c := mustNew(t, "secret")
	tests := []struct {
		name   string
		params url.Values
		kind   onrecord.EventKind
		id     string
		target string
		dir    onrecord.Direction
	}{
		{"removed", url.Values{"EventType": {"onMessageRemoved"}, "MessageSid": {"IM1"}, "ConversationSid": {"CH1"}, "Author": {"+13125550142"}, "Source": {"SMS"}, "DateRemoved": {"2026-03-02T14:04:00.000Z"}},
			onrecord.KindDelete, "IM1:removed", "IM1", onrecord.Inbound},
		{"delivery", url.Values{"EventType": {"onDeliveryUpdated"}, "MessageSid": {"IM2"}, "ConversationSid": {"CH1"}, "DeliveryReceiptSid": {"DY1"}, "Status": {"read"}},
			onrecord.KindStatus, "DY1:read", "IM2", onrecord.Outbound},
		{"participant", url.Values{"EventType": {"onParticipantAdded"}, "ConversationSid": {"CH1"}, "ParticipantSid": {"MB1"}, "RetryCount": {"0"}},
			onrecord.KindSystem, "onParticipantAdded:" + fingerprint(url.Values{"EventType": {"onParticipantAdded"}, "ConversationSid": {"CH1"}, "ParticipantSid": {"MB1"}}), "", onrecord.Inbound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs, err := c.Parse(&connector.Request{Method: http.MethodPost, Header: http.Header{}, Body: []byte(tt.params.Encode()), ReceivedAt: received})
			if err != nil {
				t.Fatal(err)
			}
			e := evs[0]
			if e.Kind != tt.kind || e.ProviderID != tt.id || e.Target != tt.target || e.Direction != tt.dir || e.Conversation != "CH1" {
				t.Fatalf("got %s %q target %q %s conv %q", e.Kind, e.ProviderID, e.Target, e.Direction, e.Conversation)
			}
		})
	}
}

func TestParse_UnreadableDeliveriesAreErrors(t *testing.T) {
	c := mustNew(t, "secret")
	json := http.Header{}
	json.Set("Content-Type", "application/json")
	tests := []struct {
		name   string
		header http.Header
		body   string
	}{
		{"empty form", http.Header{}, ""},
		{"bad escape", http.Header{}, "Body=%zz&MessageSid=SM1"},
		{"message without From", http.Header{}, "MessageSid=SM1&Body=hi"},
		{"status without sid", http.Header{}, "MessageStatus=sent&To=%2B1"},
		{"json not json", json, "{not json"},
		{"json empty batch", json, "[]"},
		{"cloud event without type", json, `[{"id":"EZ1","data":{}}]`},
		{"cloud event data not object", json, `[{"type":"x","data":[1]}]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if evs, err := c.Parse(&connector.Request{Method: http.MethodPost, Header: tt.header, Body: []byte(tt.body), ReceivedAt: received}); err == nil {
				t.Fatalf("no error, events %+v", evs)
			}
		})
	}
}

func TestParse_InvalidUTF8IsRepaired(t *testing.T) {
	evs, err := mustNew(t, "secret").Parse(&connector.Request{Method: http.MethodPost, Header: http.Header{},
		Body: []byte("MessageSid=SM1&From=%2B13125550142&Body=caf%E9"), ReceivedAt: received})
	if err != nil {
		t.Fatal(err)
	}
	if evs[0].Body != "caf\uFFFD" {
		t.Fatalf("Body = %q", evs[0].Body)
	}
}

func BenchmarkParseInboundSMS(b *testing.B) {
	body, err := os.ReadFile("testdata/mms_inbound.form")
	if err != nil {
		b.Fatal(err)
	}
	c := mustNew(b, "secret")
	req := &connector.Request{Method: http.MethodPost, Header: http.Header{}, Body: body, ReceivedAt: received}
	for b.Loop() {
		if _, err := c.Parse(req); err != nil {
			b.Fatal(err)
		}
	}
}
