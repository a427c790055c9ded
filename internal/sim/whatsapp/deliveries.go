package whatsappsim

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/onrecord/onrecord/internal/sim"
)

// The people of the scripted conversations: relationship managers and
// compliance staff of a private bank, and their clients. Names carry
// accents so that Meta's \u-escaping is always exercised.
var (
	clientMargaret = sim.Person{ID: "14155550123", Name: "Margaret Okafor"}
	clientTomas    = sim.Person{ID: "34615550147", Name: "Tomás Álvarez"}
	clientChloe    = sim.Person{ID: "33612550198", Name: "Chloé Martin"}
	clientDaniel   = sim.Person{ID: "12125550177", Name: "Daniel Reyes"}
	clientPriya    = sim.Person{ID: "447700900321", Name: "Priya Natarajan"}
	clientJurgen   = sim.Person{ID: "4915155500123", Name: "Jürgen Weiß"}

	clients = []sim.Person{clientMargaret, clientTomas, clientChloe, clientDaniel, clientPriya, clientJurgen}

	// Employees appear by name in what they write from the WhatsApp
	// Business app (echoes carry the business number, not the person).
	employees = []string{"Sarah Lindqvist", "Omar Haddad", "Kenji Watanabe", "Aisha Bello"}

	familyOfficeGroup = "120363041234567890"
)

// scriptStart is when the scripted conversations begin.
var scriptStart = time.Date(2026, 3, 2, 14, 0, 0, 0, time.UTC)

// script builds deliveries in order with increasing timestamps.
type script struct {
	s    *Sim
	hook string
	now  int64
	out  []sim.Delivery
}

func (b *script) ts() string {
	b.now += 41
	return strconv.FormatInt(b.now, 10)
}

func (b *script) add(kind string, p *payload) { b.out = append(b.out, b.s.webhook(kind, b.hook, p)) }

// inbound delivers one customer message.
func (b *script) inbound(kind string, from sim.Person, m *message) *message {
	if m.ID == "" {
		m.ID = wamid("script:" + kind)
	}
	m.From, m.Timestamp = from.ID, b.ts()
	v := b.s.value()
	v.Contacts = []contact{{Profile: profile{Name: from.Name}, WaID: from.ID}}
	v.Messages = []*message{m}
	b.add(kind, b.s.envelope("messages", v))
	return m
}

// echo delivers one message staff sent from the WhatsApp Business app.
func (b *script) echo(kind string, to sim.Person, m *message) *message {
	if m.ID == "" {
		m.ID = wamid("script:" + kind)
	}
	m.From, m.To, m.Timestamp = b.s.opts.DisplayPhoneNumber, to.ID, b.ts()
	v := b.s.value()
	v.Contacts = []contact{{Profile: profile{Name: to.Name}, WaID: to.ID}}
	v.MessageEchoes = []*message{m}
	b.add(kind, b.s.envelope("smb_message_echoes", v))
	return m
}

func (b *script) status(kind string, st *status) {
	st.Timestamp = b.ts()
	v := b.s.value()
	v.Statuses = []*status{st}
	b.add(kind, b.s.envelope("messages", v))
}

func (b *script) field(field string, v any) {
	p := b.s.envelope(field, v)
	b.now += 41
	p.Entry[0].Time = b.now
	b.add(field, p)
}

// newMedia registers a media object the API will serve and returns it as a
// webhook carries it.
func (s *Sim) newMedia(key, mimeType string) *media {
	sum := sha256.Sum256([]byte("media id " + key))
	id := strconv.FormatUint(1_000_000_000_000_000+uint64(sum[0])<<40|uint64(sum[1])<<32|uint64(sum[2])<<24|uint64(sum[3])<<16|uint64(sum[4])<<8|uint64(sum[5]), 10)
	s.registerMedia(id, mimeType)
	data, _, _ := s.MediaBytes(id)
	digest := sha256.Sum256(data)
	return &media{ID: id, MimeType: mimeType, SHA256: base64.StdEncoding.EncodeToString(digest[:])}
}

func ptr[T any](v T) *T { return &v }

// Deliveries returns a scripted set of webhook deliveries covering every
// payload kind the connector maps, in a plausible order, signed as Meta
// signs them. The first is the verification GET.
func (s *Sim) Deliveries(hookURL string) []sim.Delivery {
	b := &script{s: s, hook: hookURL, now: scriptStart.Unix()}
	q := url.Values{"hub.mode": {"subscribe"}, "hub.challenge": {"1158201444"}, "hub.verify_token": {s.opts.VerifyToken}}
	b.out = append(b.out, sim.Delivery{Kind: "verification", Method: http.MethodGet, URL: hookURL + "?" + q.Encode(), Header: http.Header{"User-Agent": {"facebookplatform/1.0 (+http://developers.facebook.com)"}}})

	// A message the bank sent through the API earlier; its receipts follow.
	sentByAPI := wamid("script:api-sent-statement-ready")
	pricing := &statusPrice{Billable: true, PricingModel: "PMP", Category: "utility"}
	conv := &statusConv{ID: "a3c7e21f9b0d4e6f8a1b2c3d4e5f6a7b", ExpirationTimestamp: strconv.FormatInt(scriptStart.Add(24*time.Hour).Unix(), 10)}
	conv.Origin.Type = "utility"

	first := b.inbound("text", clientMargaret, &message{Type: "text", Text: &text{Body: "Hi Sarah, could you move $250,000 from my brokerage cash into the 6-month T-bill ladder we discussed?"}})
	b.inbound("reply", clientMargaret, &message{Type: "text", Context: &msgContext{From: s.opts.DisplayPhoneNumber, ID: sentByAPI}, Text: &text{Body: "Thanks — statement received. The fee line looks higher than last quarter, can you explain?"}})
	b.inbound("forwarded", clientTomas, &message{Type: "text", Context: &msgContext{Forwarded: true}, Text: &text{Body: "Mi cuñado me mandó esto: «El BCE sube los tipos 50 pb mañana». ¿Es cierto?"}})
	b.inbound("frequently_forwarded", clientDaniel, &message{Type: "text", Context: &msgContext{FrequentlyForwarded: true}, Text: &text{Body: "URGENT: buy $XYZQ before the merger news drops Monday!!!"}})

	img := s.newMedia("script:image", "image/jpeg")
	img.Caption = "Photo of the signed wire authorisation form"
	b.inbound("image", clientChloe, &message{Type: "image", Image: img})
	withURL := s.newMedia("script:image_with_url", "image/jpeg")
	withURL.URL = s.mediaURL(withURL.ID)
	b.inbound("media_with_url", clientChloe, &message{Type: "image", Image: withURL})
	vid := s.newMedia("script:video", "video/mp4")
	vid.Caption = "Walkthrough of the property I'm financing"
	b.inbound("video", clientDaniel, &message{Type: "video", Video: vid})
	aud := s.newMedia("script:audio", "audio/mpeg")
	aud.Voice = ptr(false)
	b.inbound("audio", clientPriya, &message{Type: "audio", Audio: aud})
	voice := s.newMedia("script:voice", "audio/ogg; codecs=opus")
	voice.Voice = ptr(true)
	b.inbound("voice", clientJurgen, &message{Type: "audio", Audio: voice})
	doc := s.newMedia("script:document", "application/pdf")
	doc.Filename, doc.Caption = "W-8BEN signed.pdf", "Signed W-8BEN as requested"
	b.inbound("document", clientTomas, &message{Type: "document", Document: doc})
	st := s.newMedia("script:sticker", "image/webp")
	st.Animated = ptr(false)
	b.inbound("sticker", clientChloe, &message{Type: "sticker", Sticker: st})

	b.inbound("location", clientDaniel, &message{Type: "location", Location: &location{Latitude: 40.7061927, Longitude: -74.0091604, Name: "Harbor Point Bank — Wall St branch", Address: "40 Wall St, New York, NY 10005"}})
	b.inbound("contacts", clientMargaret, &message{Type: "contacts", Contacts: []any{map[string]any{
		"name":   map[string]string{"formatted_name": "Adaeze Okafor", "first_name": "Adaeze", "last_name": "Okafor"},
		"phones": []map[string]string{{"phone": "+1 415-555-0199", "wa_id": "14155550199", "type": "CELL"}},
		"emails": []map[string]string{{"email": "adaeze.okafor@example.com", "type": "WORK"}},
		"org":    map[string]string{"company": "Okafor Family Office", "title": "Trustee"},
	}}})

	b.inbound("interactive_button_reply", clientPriya, &message{Type: "interactive", Context: &msgContext{From: s.opts.DisplayPhoneNumber, ID: wamid("script:api-sent-buttons")},
		Interactive: map[string]any{"type": "button_reply", "button_reply": map[string]string{"id": "confirm-trade-7731", "title": "Yes, confirm"}}})
	b.inbound("interactive_list_reply", clientJurgen, &message{Type: "interactive", Context: &msgContext{From: s.opts.DisplayPhoneNumber, ID: wamid("script:api-sent-list")},
		Interactive: map[string]any{"type": "list_reply", "list_reply": map[string]string{"id": "slot-2026-03-04-1030", "title": "Wed 4 Mar, 10:30", "description": "Video call with Kenji Watanabe"}}})
	b.inbound("interactive_nfm_reply", clientDaniel, &message{Type: "interactive", Context: &msgContext{From: s.opts.DisplayPhoneNumber, ID: wamid("script:api-sent-flow")},
		Interactive: map[string]any{"type": "nfm_reply", "nfm_reply": map[string]string{"name": "flow", "body": "Sent", "response_json": `{"flow_token":"kyc-refresh-5521","employment_status":"self-employed","annual_income_band":"250k-500k","source_of_funds":"business sale"}`}}})
	b.inbound("button", clientTomas, &message{Type: "button", Context: &msgContext{From: s.opts.DisplayPhoneNumber, ID: wamid("script:api-sent-template")},
		Button: map[string]string{"payload": "CALLBACK_REQUEST", "text": "Call me back"}})
	b.inbound("order", clientChloe, &message{Type: "order", Order: map[string]any{
		"catalog_id": "784216530912345", "text": "Two copies please, one for my accountant",
		"product_items": []map[string]any{{"product_retailer_id": "ANNUAL-REPORT-2025-PRINT", "quantity": 2, "item_price": 25, "currency": "EUR"}},
	}})

	b.inbound("reaction", clientMargaret, &message{Type: "reaction", Reaction: &reaction{MessageID: sentByAPI, Emoji: ptr("👍")}})
	b.inbound("unreaction", clientMargaret, &message{Type: "reaction", Reaction: &reaction{MessageID: sentByAPI, Emoji: ptr("")}})
	b.inbound("edit", clientMargaret, &message{Type: "edit", Edit: &edit{OriginalMessageID: first.ID, Message: &message{Type: "text", Text: &text{Body: "Hi Sarah, could you move $200,000 (not 250) from my brokerage cash into the 6-month T-bill ladder?"}}}})
	b.inbound("revoke", clientDaniel, &message{Type: "revoke", Revoke: &revoke{OriginalMessageID: wamid("script:frequently_forwarded")}})
	b.inbound("unsupported", clientPriya, &message{Type: "unsupported", Unsupported: map[string]string{"type": "poll_creation"},
		Errors: []apiError{newAPIError(131051, "Message type unknown", "Message type is currently not supported.")}})
	b.inbound("request_welcome", clientJurgen, &message{Type: "request_welcome"})
	b.inbound("system_customer_changed_number", clientTomas, &message{Type: "system", System: map[string]string{
		"body": "Tomás Álvarez changed from 34615550147 to 34615550999", "wa_id": "34615550999", "type": "customer_changed_number"}})
	b.inbound("system_customer_identity_changed", clientChloe, &message{Type: "system",
		System:   map[string]string{"body": "User identity changed", "identity": "b3Jp8XzQ0eA=", "type": "customer_identity_changed"},
		Identity: map[string]any{"acknowledged": true, "created_timestamp": strconv.FormatInt(scriptStart.Unix(), 10), "hash": "b3Jp8XzQ0eA="}})

	// Receipts for the API-sent message, one per delivery as Meta sends them.
	for _, name := range []string{"sent", "delivered", "read"} {
		b.status("status_"+name, &status{ID: sentByAPI, Status: name, RecipientID: clientMargaret.ID, Conversation: conv, Pricing: pricing})
	}
	voiceNote := wamid("script:api-sent-voice-note")
	b.status("status_played", &status{ID: voiceNote, Status: "played", RecipientID: clientJurgen.ID})
	b.status("status_failed", &status{ID: wamid("script:api-sent-after-window"), Status: "failed", RecipientID: clientPriya.ID,
		Errors: []apiError{{Code: 131047, Title: "Re-engagement message", Message: "Re-engagement message", ErrorData: &struct {
			Details string `json:"details"`
		}{"Message failed to send because more than 24 hours have passed since the customer last replied to this number."}, Href: "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"}}})

	b.inbound("group_text", clientMargaret, &message{Type: "text", GroupID: familyOfficeGroup, Text: &text{Body: "Adding Adaeze here so she sees the trust distribution schedule too."}})
	groupMsg := wamid("script:api-sent-group")
	b.status("group_status", &status{ID: groupMsg, Status: "delivered", RecipientID: familyOfficeGroup, RecipientType: "group", RecipientParticipantID: clientMargaret.ID})

	b.echo("echo_text", clientMargaret, &message{Type: "text", Text: &text{Body: "Hi Margaret, this is " + employees[0] + ". Done — $200,000 moved into the T-bill ladder, confirmation to follow by email."}})
	edoc := s.newMedia("script:echo_document", "application/pdf")
	edoc.Filename, edoc.Caption = "Trade confirmation 2026-03-02.pdf", "Your confirmation, "+employees[0]
	b.echo("echo_document", clientMargaret, &message{Type: "document", Document: edoc})
	b.echo("echo_edit", clientMargaret, &message{Type: "edit", Edit: &edit{OriginalMessageID: wamid("script:echo_text"),
		Message: &message{Type: "text", Text: &text{Body: "Hi Margaret, this is " + employees[0] + ". Done — $200,000 moved into the 6-month T-bill ladder; confirmation attached."}}}})
	b.echo("echo_revoke", clientDaniel, &message{Type: "revoke", Revoke: &revoke{OriginalMessageID: wamid("script:echo-mistaken")}})

	// A webhook-level error Meta reports instead of a message.
	ev := s.value()
	ev.Contacts = []contact{{Profile: profile{Name: clientPriya.Name}, WaID: clientPriya.ID}}
	ev.Errors = []apiError{newAPIError(131000, "Something went wrong", "Unsupported webhook payload")}
	b.add("webhook_error", s.envelope("messages", ev))

	// A batch: two entries, a message and receipts in one POST.
	bv := s.value()
	bv.Contacts = []contact{{Profile: profile{Name: clientJurgen.Name}, WaID: clientJurgen.ID}}
	bv.Messages = []*message{{From: clientJurgen.ID, ID: wamid("script:batch-1"), Timestamp: b.ts(), Type: "text", Text: &text{Body: "Grüß Gott — bitte rufen Sie mich morgen früh an."}}}
	sv := s.value()
	sv.Statuses = []*status{
		{ID: voiceNote, Status: "sent", Timestamp: b.ts(), RecipientID: clientJurgen.ID},
		{ID: voiceNote, Status: "delivered", Timestamp: b.ts(), RecipientID: clientJurgen.ID},
	}
	b.add("batch", &payload{Object: "whatsapp_business_account", Entry: []entry{
		{ID: s.opts.WABAID, Changes: []change{{Value: bv, Field: "messages"}}},
		{ID: s.opts.WABAID, Changes: []change{{Value: sv, Field: "messages"}}},
	}})

	// Account notifications: no conversation, still recorded.
	b.field("account_update", map[string]any{"phone_number": s.opts.DisplayPhoneNumber, "event": "VERIFIED_ACCOUNT"})
	b.field("account_review_update", map[string]any{"decision": "APPROVED"})
	b.field("phone_number_quality_update", map[string]any{"display_phone_number": s.opts.DisplayPhoneNumber, "event": "FLAGGED", "current_limit": "TIER_10K"})
	b.field("phone_number_name_update", map[string]any{"display_phone_number": s.opts.DisplayPhoneNumber, "decision": "APPROVED", "requested_verified_name": "Harbor Point Bank"})
	b.field("template_message_status_update", map[string]any{"event": "REJECTED", "message_template_id": 594425479261596, "message_template_name": "statement_ready", "message_template_language": "en_US", "reason": "INCORRECT_CATEGORY"})
	b.field("business_capability_update", map[string]any{"max_daily_conversation_per_phone": 10000, "max_phone_numbers_per_business": 25})
	b.field("account_alerts", map[string]any{"entity_type": "PHONE_NUMBER", "entity_id": s.opts.PhoneNumberID, "alert_severity": "WARNING", "alert_status": "ACTIVE", "alert_type": "OBA_APPROVED", "alert_description": "Official business account approved"})
	b.field("security", map[string]any{"display_phone_number": s.opts.DisplayPhoneNumber, "event": "PIN_CHANGED", "requester": "2281003512345678"})
	b.history()
	b.field("smb_app_state_sync", map[string]any{"messaging_product": "whatsapp", "metadata": metadata{DisplayPhoneNumber: s.opts.DisplayPhoneNumber, PhoneNumberID: s.opts.PhoneNumberID},
		"state_sync": []map[string]any{
			{"type": "contact", "contact": map[string]string{"full_name": "Jürgen Weiß", "first_name": "Jürgen", "phone_number": clientJurgen.ID}, "action": "add", "metadata": map[string]string{"timestamp": strconv.FormatInt(b.now, 10)}},
			// A removal names no one: Meta sends the number alone.
			{"type": "contact", "contact": map[string]string{"phone_number": clientPriya.ID}, "action": "remove", "metadata": map[string]string{"timestamp": strconv.FormatInt(b.now, 10)}},
		}})
	return b.out
}

// history delivers a coexistence number's WhatsApp Business app chat
// history as Meta's history webhook reference describes it: a chunk of
// threads (no contacts, no media asset ids), then the media of its image in
// a later webhook that repeats the message with the asset id, and a
// business that declined to share its history.
func (b *script) history() {
	s := b.s
	value := func(chunk map[string]any) map[string]any {
		return map[string]any{"messaging_product": "whatsapp",
			"metadata": metadata{DisplayPhoneNumber: s.opts.DisplayPhoneNumber, PhoneNumberID: s.opts.PhoneNumberID},
			"history":  []map[string]any{chunk}}
	}
	// Months before the scripted conversations: history is the past.
	day := scriptStart.Add(-90 * 24 * time.Hour).Unix()
	at := func(min int64) string { return strconv.FormatInt(day+60*min, 10) }
	asked, answered := wamid("history:asked"), wamid("history:answered")
	mandate := wamid("history:mandate")
	img := s.newMedia("history:mandate", "image/jpeg")
	img.Caption = "Signed discretionary mandate"
	b.add("history", s.envelope("history", value(map[string]any{
		"metadata": map[string]any{"phase": 1, "chunk_order": 1, "progress": 60},
		"threads": []map[string]any{
			{"id": clientMargaret.ID, "messages": []map[string]any{
				{"from": clientMargaret.ID, "id": asked, "timestamp": at(0), "type": "text",
					"text": text{Body: "Could you sell the remaining Treasury notes before the coupon date?"}, "history_context": map[string]string{"status": "READ"}},
				{"from": s.opts.DisplayPhoneNumber, "to": clientMargaret.ID, "id": answered, "timestamp": at(7), "type": "text",
					"text": text{Body: "This is " + employees[1] + ": yes, I will put the order in this afternoon."}, "history_context": map[string]string{"status": "READ"}},
				{"from": clientMargaret.ID, "id": wamid("history:thanks"), "timestamp": at(9), "type": "reaction",
					"reaction": reaction{MessageID: answered, Emoji: ptr("🙏")}, "history_context": map[string]string{"status": "READ"}},
			}},
			{"id": clientTomas.ID, "messages": []map[string]any{
				{"from": clientTomas.ID, "id": mandate, "timestamp": at(60), "type": "image",
					"image": map[string]string{"caption": img.Caption, "mime_type": img.MimeType}, "history_context": map[string]string{"status": "READ"}},
			}},
		},
	})))
	b.add("history_media", s.envelope("history", value(map[string]any{
		"metadata": map[string]any{"phase": 0, "chunk_order": 1, "progress": 100},
		"threads": []map[string]any{{"id": clientTomas.ID, "messages": []map[string]any{
			{"from": clientTomas.ID, "id": mandate, "timestamp": at(60), "type": "image", "image": img, "history_context": map[string]string{"status": "READ"}},
		}}},
	})))
	b.add("history_declined", s.envelope("history", value(map[string]any{
		"errors": []apiError{newAPIError(2593109, "History sync is turned off by the business from the WhatsApp Business App",
			"History sync is turned off by the business from the WhatsApp Business App")},
	})))
}
