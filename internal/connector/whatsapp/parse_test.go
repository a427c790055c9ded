package whatsapp

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/connector"

	json "github.com/go-json-experiment/json/v1"
)

// want is what a test expects of one event: every field the connector
// fills is compared exactly, except Meta, of which only the listed keys
// are checked (a key listed with "" must be absent).
type want struct {
	Kind         onrecord.EventKind
	ProviderID   string
	Conversation string
	Direction    onrecord.Direction
	Sender       onrecord.Party
	Recipients   []onrecord.Party
	SentAt       int64
	Body         string
	Target       string
	Emoji        string
	Status       string
	Subtype      string
	ReplyTo      string
	StatusError  string
	Forwarded    bool
	Group        bool
	Meta         map[string]string
	Media        []connector.MediaRef
}

var (
	biz      = onrecord.Party{ID: "15550100200"}
	tomas    = onrecord.Party{ID: "34615550147", Name: "Tomás Álvarez"}
	margaret = onrecord.Party{ID: "14155550123", Name: "Margaret Okafor"}
	daniel   = onrecord.Party{ID: "12125550177", Name: "Daniel Reyes"}
	chloe    = onrecord.Party{ID: "33612550198", Name: "Chloé Martin"}
	priya    = onrecord.Party{ID: "447700900321", Name: "Priya Natarajan"}
	jurgen   = onrecord.Party{ID: "4915155500123", Name: "Jürgen Weiß"}
	toBiz    = []onrecord.Party{biz}
)

func inbound(kind onrecord.EventKind, id string, from onrecord.Party, ts int64, subtype string) want {
	return want{Kind: kind, ProviderID: id, Conversation: from.ID, Direction: onrecord.Inbound, Sender: from, Recipients: toBiz, SentAt: ts, Subtype: subtype}
}

func with(w want, f func(*want)) want { f(&w); return w }

func statusWant(target, st, to string, ts int64) want {
	return want{Kind: onrecord.KindStatus, ProviderID: target + ":" + st, Target: target, Status: st, Subtype: st, Conversation: to,
		Direction: onrecord.Outbound, Sender: biz, Recipients: []onrecord.Party{{ID: to}}, SentAt: ts}
}

const firstWamid = "wamid.HBgLMzQ2MTU1NTAxNDcVAgASGBQzQUM0RjE2QjE5RjREMTlCRTE5NQA="

var parseCases = []struct {
	file string
	want []want
}{
	{"text.json", []want{with(inbound(onrecord.KindMessage, firstWamid, tomas, 1772460041, "text"), func(w *want) {
		w.Body = "¿Puede confirmar la transferencia de 12.000 € a mi cuenta en Lisboa? 🙏"
		w.Meta = map[string]string{"phone_number_id": "106540352242922", "echo": ""}
	})}},
	{"reply.json", []want{with(inbound(onrecord.KindMessage, "wamid.reply-1", margaret, 1772460100, "text"), func(w *want) {
		w.Body, w.ReplyTo = "Thanks, statement received.", "wamid.sent-statement"
		w.Meta = map[string]string{"reply_to_from": "15550100200"}
	})}},
	{"forwarded.json", []want{with(inbound(onrecord.KindMessage, "wamid.fwd-1", daniel, 1772460200, "text"), func(w *want) {
		w.Body, w.Forwarded = "URGENT: buy $XYZQ before Monday!!!", true
		w.Meta = map[string]string{"frequently_forwarded": "true"}
	})}},
	{"image.json", []want{with(inbound(onrecord.KindMessage, "wamid.img-1", chloe, 1772460300, "image"), func(w *want) {
		w.Body = "Signed wire form"
		w.Media = []connector.MediaRef{{Ref: "1283706572934127", Name: "image-1283706572934127.jpg", ContentType: "image/jpeg"}}
		w.Meta = map[string]string{"media_id": "1283706572934127", "sha256": "lZ7bYQ3v1c3bU2Gm9p2WcJ6gq5m8Qk8v0u1Ue8n3y1E="}
	})}},
	{"media_with_url.json", []want{with(inbound(onrecord.KindMessage, "wamid.img-url", chloe, 1772460310, "image"), func(w *want) {
		u := "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1283706572934128&ext=1772460610&hash=ATtY"
		w.Media = []connector.MediaRef{{Ref: u, Name: "image-1283706572934128.jpg", ContentType: "image/jpeg"}}
		w.Meta = map[string]string{"media_id": "1283706572934128", "media_url": u}
	})}},
	{"video.json", []want{with(inbound(onrecord.KindMessage, "wamid.vid-1", daniel, 1772460320, "video"), func(w *want) {
		w.Body = "The property"
		w.Media = []connector.MediaRef{{Ref: "765756756", Name: "video-765756756.mp4", ContentType: "video/mp4"}}
	})}},
	{"audio.json", []want{with(inbound(onrecord.KindMessage, "wamid.aud-1", priya, 1772460330, "audio"), func(w *want) {
		w.Media = []connector.MediaRef{{Ref: "2345678901", Name: "audio-2345678901.mp3", ContentType: "audio/mpeg"}}
		w.Meta = map[string]string{"voice": ""}
	})}},
	{"voice.json", []want{with(inbound(onrecord.KindMessage, "wamid.voice-1", jurgen, 1772460400, "voice"), func(w *want) {
		w.Media = []connector.MediaRef{{Ref: "1234567890987654", Name: "voice-1234567890987654.ogg", ContentType: "audio/ogg; codecs=opus"}}
		w.Meta = map[string]string{"voice": "true"}
	})}},
	{"document.json", []want{with(inbound(onrecord.KindMessage, "wamid.doc-1", tomas, 1772460500, "document"), func(w *want) {
		w.Body = "Signed W-8BEN"
		// The sender's path components are dropped from the file name.
		w.Media = []connector.MediaRef{{Ref: "5522117788", Name: "W-8BEN signed.pdf", ContentType: "application/pdf"}}
		w.Meta = map[string]string{"filename": "../../W-8BEN signed.pdf"}
	})}},
	{"sticker.json", []want{with(inbound(onrecord.KindMessage, "wamid.stk-1", chloe, 1772460600, "sticker"), func(w *want) {
		w.Media = []connector.MediaRef{{Ref: "8877665544", Name: "sticker-8877665544.webp", ContentType: "image/webp"}}
		w.Meta = map[string]string{"animated": "true"}
	})}},
	{"location.json", []want{with(inbound(onrecord.KindMessage, "wamid.loc-1", daniel, 1772460700, "location"), func(w *want) {
		w.Body = "📍 40.7061927,-74.0091604 Harbor Point Bank, 40 Wall St, New York, NY 10005"
		w.Meta = map[string]string{"latitude": "40.7061927", "longitude": "-74.0091604", "location_name": "Harbor Point Bank", "location_url": "https://maps.example.com/?q=40+Wall+St"}
	})}},
	{"contacts.json", []want{with(inbound(onrecord.KindMessage, "wamid.cts-1", margaret, 1772460800, "contacts"), func(w *want) {
		w.Body = "👤 Adaeze Okafor (Okafor Family Office) +1 415-555-0199"
		w.Meta = map[string]string{"contacts_count": "1",
			"contacts": `[{"name":{"first_name":"Adaeze","formatted_name":"Adaeze Okafor","last_name":"Okafor"},"org":{"company":"Okafor Family Office"},"phones":[{"phone":"+1 415-555-0199","type":"CELL","wa_id":"14155550199"}]}]`}
	})}},
	{"interactive_button_reply.json", []want{with(inbound(onrecord.KindMessage, "wamid.btn-1", priya, 1772460900, "interactive"), func(w *want) {
		w.Body, w.ReplyTo = "Yes, confirm", "wamid.sent-buttons"
		w.Meta = map[string]string{"interactive_type": "button_reply", "reply_id": "confirm-trade-7731", "reply_title": "Yes, confirm"}
	})}},
	{"interactive_list_reply.json", []want{with(inbound(onrecord.KindMessage, "wamid.list-1", jurgen, 1772461000, "interactive"), func(w *want) {
		w.Body, w.ReplyTo = "Wed 4 Mar, 10:30", "wamid.sent-list"
		w.Meta = map[string]string{"interactive_type": "list_reply", "reply_id": "slot-1030", "reply_description": "Video call with Kenji Watanabe"}
	})}},
	{"interactive_nfm_reply.json", []want{with(inbound(onrecord.KindMessage, "wamid.nfm-1", daniel, 1772461100, "interactive"), func(w *want) {
		w.Body, w.ReplyTo = "Sent", "wamid.sent-flow"
		w.Meta = map[string]string{"interactive_type": "nfm_reply", "flow_name": "flow", "flow_response_json": `{"flow_token":"kyc-5521","source_of_funds":"business sale"}`}
	})}},
	{"button.json", []want{with(inbound(onrecord.KindMessage, "wamid.tpl-btn-1", tomas, 1772461200, "button"), func(w *want) {
		w.Body, w.ReplyTo = "Call me back", "wamid.sent-template"
		w.Meta = map[string]string{"button_payload": "CALLBACK_REQUEST", "button_text": "Call me back"}
	})}},
	{"order.json", []want{with(inbound(onrecord.KindMessage, "wamid.order-1", chloe, 1772461300, "order"), func(w *want) {
		w.Body = "🛒 order of 1 item(s) from catalog 784216530912345: Two copies please"
		w.Meta = map[string]string{"catalog_id": "784216530912345", "item_count": "1",
			"product_items": `[{"currency":"EUR","item_price":25,"product_retailer_id":"ANNUAL-REPORT-2025","quantity":2}]`}
	})}},
	{"reaction.json", []want{with(inbound(onrecord.KindReaction, "wamid.react-1", margaret, 1772461400, "reaction"), func(w *want) {
		w.Target, w.Emoji = "wamid.sent-statement", "👍"
		w.Meta = map[string]string{"removed": ""}
	})}},
	{"unreaction_empty.json", []want{with(inbound(onrecord.KindReaction, "wamid.react-2", margaret, 1772461500, "reaction"), func(w *want) {
		w.Target = "wamid.sent-statement"
		w.Meta = map[string]string{"removed": "true"}
	})}},
	{"unreaction_missing.json", []want{with(inbound(onrecord.KindReaction, "wamid.react-3", margaret, 1772461600, "reaction"), func(w *want) {
		w.Target = "wamid.sent-statement"
		w.Meta = map[string]string{"removed": "true"}
	})}},
	{"edit.json", []want{with(inbound(onrecord.KindEdit, "wamid.edit-1", tomas, 1772461700, "text"), func(w *want) {
		w.Target, w.Body = firstWamid, "¿Puede confirmar la transferencia de 10.000 € (no 12.000)?"
	})}},
	{"edit_image.json", []want{with(inbound(onrecord.KindEdit, "wamid.edit-2", tomas, 1772461710, "image"), func(w *want) {
		w.Target, w.Body = "wamid.img-1", "Corrected caption"
		w.Media = []connector.MediaRef{{Ref: "65463453", Name: "image-65463453.jpg", ContentType: "image/jpeg"}}
	})}},
	{"revoke.json", []want{with(inbound(onrecord.KindDelete, "wamid.revoke-1", daniel, 1772461800, "revoke"), func(w *want) {
		w.Target = "wamid.fwd-1"
	})}},
	{"unsupported.json", []want{with(inbound(onrecord.KindMessage, "wamid.unsup-1", priya, 1772461900, "unsupported"), func(w *want) {
		w.Meta = map[string]string{"unsupported_type": "poll_creation", "error_code": "131051", "error_title": "Message type unknown", "error_details": "Message type is currently not supported."}
	})}},
	{"unknown_type.json", []want{with(inbound(onrecord.KindMessage, "wamid.future-1", priya, 1772461950, "unsupported"), func(w *want) {
		w.Meta = map[string]string{"wa_type": "hologram"}
	})}},
	{"request_welcome.json", []want{inbound(onrecord.KindSystem, "wamid.welcome-1", jurgen, 1772462000, "request_welcome")}},
	{"system_changed_number.json", []want{with(inbound(onrecord.KindSystem, "wamid.sys-1", onrecord.Party{ID: "34615550147"}, 1772462100, "customer_changed_number"), func(w *want) {
		w.Body = "Tomás Álvarez changed from 34615550147 to 34615550999"
		w.Meta = map[string]string{"new_wa_id": "34615550999"}
	})}},
	{"system_identity_changed.json", []want{with(inbound(onrecord.KindSystem, "wamid.sys-2", chloe, 1772462200, "customer_identity_changed"), func(w *want) {
		w.Body = "User identity changed"
		w.Meta = map[string]string{"identity": "b3Jp8XzQ0eA=", "identity_acknowledged": "true", "identity_hash": "b3Jp8XzQ0eA="}
	})}},
	{"status_sent.json", []want{with(statusWant("wamid.sent-statement", "sent", "14155550123", 1772462300), func(w *want) {
		w.Meta = map[string]string{"conversation_id": "a3c7e21f9b0d4e6f", "conversation_origin": "utility", "conversation_expiration": "1772548700",
			"pricing_billable": "true", "pricing_pricing_model": "PMP", "pricing_category": "utility"}
	})}},
	{"status_read.json", []want{statusWant("wamid.sent-statement", "read", "14155550123", 1772462400)}},
	{"status_played.json", []want{statusWant("wamid.sent-voice", "played", "4915155500123", 1772462450)}},
	{"status_failed.json", []want{with(statusWant("wamid.sent-late", "failed", "447700900321", 1772462500), func(w *want) {
		w.StatusError = "131047 Re-engagement message: More than 24 hours have passed since the customer last replied."
		w.Meta = map[string]string{"error_code": "131047", "error_title": "Re-engagement message", "error_href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"}
	})}},
	{"status_group.json", []want{
		with(statusWant("wamid.sent-group", "delivered", "120363041234567890", 1772462600), func(w *want) {
			w.ProviderID += ":14155550123"
			w.Group, w.Recipients = true, []onrecord.Party{{ID: "14155550123"}}
			w.Meta = map[string]string{"recipient_type": "group", "recipient_participant_id": "14155550123"}
		}),
		with(statusWant("wamid.sent-group", "delivered", "120363041234567890", 1772462601), func(w *want) {
			w.ProviderID += ":33612550198"
			w.Group, w.Recipients = true, []onrecord.Party{{ID: "33612550198"}}
		}),
	}},
	{"group_message.json", []want{with(inbound(onrecord.KindMessage, "wamid.grp-1", margaret, 1772462700, "text"), func(w *want) {
		w.Conversation, w.Group, w.Body = "120363041234567890", true, "Adding Adaeze so she sees the schedule."
		w.Meta = map[string]string{"group_id": "120363041234567890"}
	})}},
	{"echo_text.json", []want{{Kind: onrecord.KindMessage, ProviderID: "wamid.echo-1", Conversation: "14155550123", Direction: onrecord.Outbound,
		Sender: biz, Recipients: []onrecord.Party{margaret}, SentAt: 1772462800, Subtype: "text",
		Body: "Hi Margaret, Sarah Lindqvist here — done, confirmation to follow.", Meta: map[string]string{"echo": "true"}}}},
	{"echo_edit.json", []want{{Kind: onrecord.KindEdit, ProviderID: "wamid.echo-2", Conversation: "14155550123", Direction: onrecord.Outbound,
		Sender: biz, Recipients: []onrecord.Party{margaret}, SentAt: 1772462900, Subtype: "text", Target: "wamid.echo-1",
		Body: "Hi Margaret — done; confirmation attached."}}},
	{"echo_revoke.json", []want{{Kind: onrecord.KindDelete, ProviderID: "wamid.echo-3", Conversation: "12125550177", Direction: onrecord.Outbound,
		Sender: biz, Recipients: []onrecord.Party{daniel}, SentAt: 1772462950, Subtype: "revoke", Target: "wamid.echo-mistaken"}}},
	{"webhook_error.json", []want{{Kind: onrecord.KindSystem, ProviderID: "102290129340398:messages:error:0:", Conversation: "447700900321",
		Direction: onrecord.Inbound, Sender: onrecord.Party{ID: "meta", Name: "Meta"}, Recipients: toBiz, SentAt: 1772463000, Subtype: "error",
		Body: "131000 Something went wrong: Unsupported webhook payload", StatusError: "131000 Something went wrong: Unsupported webhook payload",
		Meta: map[string]string{"error_code": "131000"}}}},
	{"account_update.json", []want{{Kind: onrecord.KindSystem, ProviderID: "102290129340398:account_update:", Conversation: "waba:102290129340398",
		Direction: onrecord.Inbound, Sender: onrecord.Party{ID: "meta", Name: "Meta"}, SentAt: 1772463100, Subtype: "account_update",
		Body: "account_update: event=VERIFIED_ACCOUNT, phone_number=15550100200",
		Meta: map[string]string{"field": "account_update", "value.event": "VERIFIED_ACCOUNT", "waba_id": "102290129340398"}}}},
	{"template_status.json", []want{{Kind: onrecord.KindSystem, ProviderID: "102290129340398:message_template_status_update:", Conversation: "waba:102290129340398",
		Direction: onrecord.Inbound, Sender: onrecord.Party{ID: "meta", Name: "Meta"}, SentAt: 1772463200, Subtype: "message_template_status_update",
		Body: "message_template_status_update: event=REJECTED, message_template_id=594425479261596, message_template_language=en_US, message_template_name=statement_ready, reason=INCORRECT_CATEGORY",
		Meta: map[string]string{"value.reason": "INCORRECT_CATEGORY", "value.message_template_id": "594425479261596"}}}},
	{"batch.json", []want{
		with(inbound(onrecord.KindMessage, "wamid.batch-1", jurgen, 1772463300, "text"), func(w *want) { w.Body = "Grüß Gott" }),
		// The repeated wamid.batch-2 is dropped: it is the same event.
		with(inbound(onrecord.KindMessage, "wamid.batch-2", jurgen, 1772463301, "text"), func(w *want) { w.Body = "Bitte rufen Sie mich an." }),
		statusWant("wamid.sent-voice", "sent", "4915155500123", 1772463302),
		statusWant("wamid.sent-voice", "delivered", "4915155500123", 1772463303),
	}},
}

func mustConnector(tb testing.TB) *Connector {
	tb.Helper()
	c, err := New(connector.Config{Name: "wa", AppSecret: "test_app_secret", VerifyToken: "vt", AccessToken: "tok", PhoneNumberID: "106540352242922"})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func readFixture(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// received has nanoseconds, as the gateway's receipt times do: an event
// dated by it must carry it exactly (the gateway knows such an event by
// that, and leaves its time out of what makes a retry a duplicate).
var received = time.Date(2026, 3, 2, 18, 0, 0, 123456789, time.UTC)

func parseFixture(tb testing.TB, c *Connector, body []byte) []connector.Event {
	tb.Helper()
	evs, err := c.Parse(&connector.Request{Method: "POST", Body: body, ReceivedAt: received})
	if err != nil {
		tb.Fatalf("Parse: %v", err)
	}
	for i := range evs {
		assertValid(tb, &evs[i])
	}
	return evs
}

func assertValid(tb testing.TB, ev *connector.Event) {
	tb.Helper()
	e := ev.Event
	e.Channel = "wa"
	if err := e.Validate(); err != nil {
		tb.Fatalf("event %s %s does not validate: %v", e.Kind, e.ProviderID, err)
	}
}

func TestParse_FixturesMapFieldByField(t *testing.T) {
	c := mustConnector(t)
	for _, tc := range parseCases {
		t.Run(strings.TrimSuffix(tc.file, ".json"), func(t *testing.T) {
			evs := parseFixture(t, c, readFixture(t, tc.file))
			if len(evs) != len(tc.want) {
				t.Fatalf("got %d events, want %d: %+v", len(evs), len(tc.want), evs)
			}
			for i, w := range tc.want {
				checkEvent(t, i, evs[i], w)
			}
		})
	}
}

func checkEvent(t *testing.T, i int, ev connector.Event, w want) {
	t.Helper()
	e := ev.Event
	if e.Channel != "" || !e.CapturedAt.IsZero() || e.Raw != nil {
		t.Errorf("event %d: Channel, CapturedAt and Raw belong to the gateway", i)
	}
	// Ids built from a hash are compared by their stable prefix.
	if strings.HasSuffix(w.ProviderID, ":") {
		if !strings.HasPrefix(e.ProviderID, w.ProviderID) || len(e.ProviderID) != len(w.ProviderID)+24 {
			t.Errorf("event %d: ProviderID = %q, want %q + hash", i, e.ProviderID, w.ProviderID)
		}
	} else if e.ProviderID != w.ProviderID {
		t.Errorf("event %d: ProviderID = %q, want %q", i, e.ProviderID, w.ProviderID)
	}
	got := want{Kind: e.Kind, Conversation: e.Conversation, Direction: e.Direction, Sender: e.Sender, Recipients: e.Recipients,
		SentAt: e.SentAt.Unix(), Body: e.Body, Target: e.Target, Emoji: e.Emoji, Status: e.Status, Subtype: e.Subtype,
		ReplyTo: e.ReplyTo, StatusError: e.StatusError, Forwarded: e.Forwarded, Group: e.Group, Media: ev.Media}
	exp := w
	exp.ProviderID, exp.Meta = "", nil
	if !reflect.DeepEqual(got, exp) {
		t.Errorf("event %d:\n got  %+v\n want %+v", i, got, exp)
	}
	if e.SentAt.Location() != time.UTC {
		t.Errorf("event %d: SentAt not in UTC", i)
	}
	for k, v := range w.Meta {
		if gv, ok := e.Meta[k]; v == "" && ok {
			t.Errorf("event %d: Meta[%q] = %q, want absent", i, k, gv)
		} else if v != "" && gv != v {
			t.Errorf("event %d: Meta[%q] = %q, want %q", i, k, gv, v)
		}
	}
}

func TestParse_MetaDocsPlaceholdersStillValidate(t *testing.T) {
	// Meta's documentation sample has placeholders for every value,
	// including the timestamp: the time falls back to receipt and says so.
	c := mustConnector(t)
	evs := parseFixture(t, c, readFixture(t, "metadocs_text.json"))
	if len(evs) != 1 {
		t.Fatalf("got %d events", len(evs))
	}
	e := evs[0]
	if e.ProviderID != "wamid.ID" || e.Body != "MESSAGE_BODY" || e.Sender != (onrecord.Party{ID: "PHONE_NUMBER", Name: "NAME"}) {
		t.Errorf("unexpected event %+v", e.Event)
	}
	if !e.SentAt.Equal(received) || e.Meta["timestamp_missing"] != "true" {
		t.Errorf("SentAt = %v (meta %v), want the receipt time flagged", e.SentAt, e.Meta)
	}
}

func TestParse_SystemFieldIdIsStableAcrossRetries(t *testing.T) {
	c := mustConnector(t)
	body := readFixture(t, "account_update.json")
	a := parseFixture(t, c, body)
	b := parseFixture(t, c, append([]byte(nil), body...))
	if a[0].ProviderID != b[0].ProviderID {
		t.Fatalf("retry changed the id: %s vs %s", a[0].ProviderID, b[0].ProviderID)
	}
	other := strings.Replace(string(body), "VERIFIED_ACCOUNT", "DISABLED_UPDATE", 1)
	d := parseFixture(t, c, []byte(other))
	if d[0].ProviderID == a[0].ProviderID {
		t.Fatal("a different notification got the same id")
	}
}

func TestParse_RevokeLinksToOriginal(t *testing.T) {
	c := mustConnector(t)
	orig := parseFixture(t, c, readFixture(t, "forwarded.json"))[0]
	del := parseFixture(t, c, readFixture(t, "revoke.json"))[0]
	if del.Kind != onrecord.KindDelete || del.Target != orig.ProviderID || del.Conversation != orig.Conversation {
		t.Fatalf("revoke %+v does not link to %s", del.Event, orig.ProviderID)
	}
}

func TestParse_RejectsWhatIsNotAWhatsAppDelivery(t *testing.T) {
	c := mustConnector(t)
	for name, body := range map[string]string{
		"not json":              `object=whatsapp`,
		"other object":          `{"object":"page","entry":[{"id":"1","changes":[{"field":"feed","value":{}}]}]}`,
		"no entries":            `{"object":"whatsapp_business_account","entry":[]}`,
		"entries no change":     `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[]}]}`,
		"bad messages":          `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messages":"x"}}]}]}`,
		"message not an object": `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messages":[7]}}]}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			if evs, err := c.Parse(&connector.Request{Body: []byte(body)}); err == nil {
				t.Fatalf("want an error, got %d events", len(evs))
			}
		})
	}
}

func TestParse_MissingReferencesBecomeUnsupportedNotInvalid(t *testing.T) {
	c := mustConnector(t)
	body := `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messages":[
		{"from":"1555","id":"a","timestamp":"1772460041","type":"reaction","reaction":{"emoji":"x"}},
		{"from":"1555","id":"b","timestamp":"1772460041","type":"edit"},
		{"from":"1555","id":"c","timestamp":"1772460041","type":"revoke","revoke":{}},
		{"id":"d","type":"text","text":{"body":"no sender, no time"}}
	],"statuses":[{"status":"read","timestamp":"1772460041"}, {"id":"e"}]}}]}]}`
	evs := parseFixture(t, c, []byte(body))
	if len(evs) != 6 {
		t.Fatalf("got %d events, want 6", len(evs))
	}
	for _, e := range evs[:3] {
		if e.Kind != onrecord.KindMessage || e.Subtype != "unsupported" || e.Meta["unsupported_reason"] == "" {
			t.Errorf("%s: got kind %s subtype %s meta %v", e.ProviderID, e.Kind, e.Subtype, e.Meta)
		}
	}
	if evs[4].Kind != onrecord.KindSystem {
		t.Errorf("status without id: kind %s", evs[4].Kind)
	}
	if evs[5].Status != "unknown" || evs[5].ProviderID != "e:unknown" {
		t.Errorf("status without status: %+v", evs[5].Event)
	}
}

func TestParse_OneUndecodableItemDoesNotSinkTheBatch(t *testing.T) {
	c := mustConnector(t)
	body := `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
		"metadata":{"display_phone_number":"15550100200","phone_number_id":"1"},
		"messages":[
		{"from":"14155550123","id":"wamid.ok","timestamp":"1772460041","type":"text","text":{"body":"fine"}},
		{"from":"14155550123","id":"wamid.odd","timestamp":"1772460042","type":"location","location":"somewhere"}
	],"statuses":[{"id":"wamid.s","status":"read","timestamp":"1772460043","recipient_id":"14155550123","errors":"none"}]}}]}]}`
	evs := parseFixture(t, c, []byte(body))
	if len(evs) != 3 || evs[0].Body != "fine" {
		t.Fatalf("got %+v", evs)
	}
	odd := evs[1]
	if odd.Kind != onrecord.KindMessage || odd.Subtype != "unsupported" || odd.ProviderID != "wamid.odd" ||
		odd.Sender.ID != "14155550123" || odd.SentAt.Unix() != 1772460042 || odd.Meta["wa_type"] != "location" ||
		odd.Meta["decode_error"] == "" || !strings.Contains(odd.Meta["item"], "somewhere") {
		t.Fatalf("undecodable message: %+v", odd.Event)
	}
	if st := evs[2]; st.Kind != onrecord.KindSystem || st.ProviderID != "wamid.s:read" || st.Conversation != "14155550123" {
		t.Fatalf("undecodable status: %+v", st.Event)
	}
}

func TestFlexString(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		err      bool
	}{
		{`"1764753000"`, "1764753000", false},
		{`1764753000`, "1764753000", false},
		{`15551234567`, "15551234567", false},
		{`1.5e3`, "1.5e3", false}, // the literal as written, as json.Number kept it
		{`"\u0031\u0032"`, "12", false},
		{`null`, "", false},
		{`""`, "", false},
		{`true`, "", true},
		{`{"a":1}`, "", true},
		{`["1"]`, "", true},
	} {
		var v struct {
			F flexString `json:"f"`
			N string     `json:"n"`
		}
		err := json.Unmarshal([]byte(`{"f":`+tc.in+`,"n":"next"}`), &v)
		if (err != nil) != tc.err {
			t.Errorf("%s: err = %v, want error %v", tc.in, err, tc.err)
			continue
		}
		if !tc.err && (string(v.F) != tc.want || v.N != "next") {
			t.Errorf("%s: got %q (next field %q), want %q", tc.in, v.F, v.N, tc.want)
		}
	}
}

// Items Meta gives no id (a message, an undecodable message, a media URL
// without a media id) are named by the hash of their compact form: the same
// on a retry however it is spaced, different for different content.
func TestParse_ItemsWithoutIDsAreNamedByTheirHash(t *testing.T) {
	c := mustConnector(t)
	wrap := func(msg string) []byte {
		return []byte(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
			"metadata":{"display_phone_number":"15550100200","phone_number_id":"1"},"messages":[` + msg + `]}}]}]}`)
	}
	const (
		text    = `{"from":"14155550123","timestamp":"1772460041","type":"text","text":{"body":"hi"}}`
		odd     = `{"from":"14155550123","timestamp":"1772460041","type":"location","location":"somewhere"}`
		noMedia = `{"from":"14155550123","id":"wamid.u","timestamp":"1772460041","type":"image","image":{"mime_type":"image/jpeg","url":"https://lookaside.fbsbx.com/a?mid=1"}}`
	)
	id := func(msg string) string { return parseFixture(t, c, wrap(msg))[0].ProviderID }
	name := func(msg string) string {
		ev := parseFixture(t, c, wrap(msg))[0]
		if len(ev.Media) != 1 {
			t.Fatalf("%s: %d media", msg, len(ev.Media))
		}
		return ev.Media[0].Name
	}
	spaced := func(s string) string { return strings.ReplaceAll(s, ",", " ,\n ") }
	for _, msg := range []string{text, odd} {
		got := id(msg)
		if !strings.HasPrefix(got, "sha256:") || len(got) != len("sha256:")+24 {
			t.Errorf("%s: id %q, want sha256: and 24 hex digits", msg, got)
		}
		if again := id(spaced(msg)); again != got {
			t.Errorf("%s: respaced, id %q, want %q", msg, again, got)
		}
		if other := id(strings.Replace(msg, "14155550123", "14155550124", 1)); other == got {
			t.Errorf("%s: another sender, same id %q", msg, got)
		}
	}
	got := name(noMedia)
	if !strings.HasPrefix(got, "image-") || !strings.HasSuffix(got, ".jpg") || len(got) != len("image-.jpg")+24 {
		t.Errorf("media without id: name %q, want image-<24 hex>.jpg", got)
	}
	if other := name(strings.Replace(noMedia, "mid=1", "mid=2", 1)); other == got {
		t.Errorf("another URL, same name %q", got)
	}
}
