package twiliosim

import (
	"time"

	"github.com/onrecord/onrecord/internal/sim"
)

// Deliveries is a scripted set covering every kind the connector maps at
// least once, signed for hookURL (the public URL Twilio would call).
// Twilio has no verification handshake, so there is none here.
func (s *Sim) Deliveries(hookURL string) []sim.Delivery {
	id := func(prefix string, parts ...string) string {
		return prefix + hexID(append([]string{"script"}, parts...)...)
	}
	robert, aisha, tomas, linda, james, priya := clients[0], clients[1], clients[2], clients[3], clients[4], clients[5]
	var out []sim.Delivery
	add := func(d sim.Delivery) { out = append(out, d) }

	// SMS and MMS.
	add(s.formDelivery("sms_text", hookURL, s.smsPairs(id("SM", "sms"), robert, inboundTexts[0], nil)))
	add(s.getDelivery("sms_text_get", hookURL, s.smsPairs(id("SM", "sms-get"), priya, inboundTexts[4], nil)))
	mms := id("MM", "mms")
	add(s.formDelivery("mms", hookURL, s.smsPairs(mms, aisha, "Signed transfer form & ID attached",
		[]string{mediaSID(0, "script", "mms", "0"), mediaSID(2, "script", "mms", "1")})))

	// WhatsApp through Twilio.
	waText := id("SM", "wa-text")
	add(s.formDelivery("whatsapp_text", hookURL, s.waPairs(waText, tomas, "text", inboundTexts[6], nil)))
	add(s.formDelivery("whatsapp_image", hookURL, s.waPairs(id("MM", "wa-image"), tomas, "image", captions[1],
		[]string{mediaSID(0, "script", "wa-image")})))
	add(s.formDelivery("whatsapp_document", hookURL, s.waPairs(id("MM", "wa-doc"), linda, "document", "",
		[]string{mediaSID(2, "script", "wa-doc")})))
	add(s.formDelivery("whatsapp_location", hookURL, s.waPairs(id("SM", "wa-loc"), james, "location", "", nil,
		kv{"Latitude", "42.3554334"}, kv{"Longitude", "-71.0605595"}, kv{"Address", "100 Federal St, Boston, MA 02110"}, kv{"Label", "Harbor Street Bank – Federal St"})))
	outbound := id("SM", "wa-outbound-template")
	add(s.formDelivery("whatsapp_button", hookURL, s.waPairs(id("SM", "wa-button"), linda, "button", "Confirm appointment", nil,
		kv{"ButtonText", "Confirm appointment"}, kv{"ButtonPayload", "appt-2026-03-05-1500-confirm"},
		kv{"OriginalRepliedMessageSender", "whatsapp:" + s.opts.WhatsAppNumber}, kv{"OriginalRepliedMessageSid", outbound})))
	add(s.formDelivery("whatsapp_reply", hookURL, s.waPairs(id("SM", "wa-reply"), tomas, "text", "Sí, el jueves a las 3 me va bien.", nil,
		kv{"OriginalRepliedMessageSender", "whatsapp:" + s.opts.WhatsAppNumber}, kv{"OriginalRepliedMessageSid", outbound})))
	add(s.formDelivery("whatsapp_forwarded", hookURL, s.waPairs(id("SM", "wa-fwd"), robert, "text",
		"URGENT: your account is locked, verify at hxxp://harb0r-bank.example/login", nil,
		kv{"Forwarded", "true"}, kv{"FrequentlyForwarded", "true"})))
	add(s.formDelivery("whatsapp_referral", hookURL, s.waPairs(id("SM", "wa-ref"), priya, "text", "Hi, I saw your ad about the 4.15% CD.", nil,
		kv{"ReferralBody", "Lock in 4.15% APY for 12 months."}, kv{"ReferralHeadline", "Harbor Street Bank CDs"},
		kv{"ReferralSourceId", "120211234567890123"}, kv{"ReferralSourceType", "ad"},
		kv{"ReferralSourceUrl", "https://fb.me/harborstreetcd"}, kv{"ReferralCtwaClid", "ARAkLkA8rmlFeiCktEJQ-QTwRiyYHAFDLMNDBH0CD3qpjd0HR4irJ6"})))
	add(s.formDelivery("whatsapp_unsupported", hookURL, s.waPairs(id("SM", "wa-unsup"), aisha, "order", "", nil,
		kv{"ChannelMetadata", `{"type":"whatsapp","data":{"context":{"ProductRetailerId":"cd-12m"}}}`})))

	// Status callbacks: every status Twilio documents.
	sms := id("SM", "status-sms")
	wa := id("SM", "status-wa")
	for _, st := range []struct {
		status, code, msg string
		wa                bool
		sid               string
	}{
		{"accepted", "", "", false, id("SM", "status-accepted")},
		{"scheduled", "", "", false, id("SM", "status-scheduled")},
		{"canceled", "", "", false, id("SM", "status-scheduled")},
		{"queued", "", "", false, sms},
		{"sending", "", "", false, sms},
		{"sent", "", "", false, sms},
		{"delivered", "", "", false, sms},
		{"undelivered", "30003", "", false, id("SM", "status-undelivered")},
		{"failed", "63016", "Failed to send freeform message because you are outside the allowed window.", true, id("SM", "status-failed")},
		{"sent", "", "", true, wa},
		{"read", "", "", true, wa},
		{"partially_delivered", "", "", false, id("MM", "status-partial")},
		{"receiving", "", "", false, id("MM", "status-receiving")},
		{"received", "", "", false, id("MM", "status-receiving")},
	} {
		kind := "status_" + st.status
		if st.wa {
			kind = "status_whatsapp_" + st.status
		}
		add(s.formDelivery(kind, hookURL, s.statusPairs(st.sid, james, st.wa, st.status, st.code, st.msg)))
	}

	// Conversations post-event webhooks.
	conv := id("CH", "conv")
	fromClient := convMessage{sid: id("IM", "conv-1"), conv: conv, participant: id("MB", "conv-client"), author: robert.ID,
		source: "SMS", index: 0, body: inboundTexts[3], created: simEpoch}
	fromEmployee := convMessage{sid: id("IM", "conv-2"), conv: conv, participant: id("MB", "conv-employee"), author: employees[0].ID,
		source: "SDK", index: 1, body: outboundTexts[2], created: simEpoch.Add(2 * time.Minute)}
	add(s.formDelivery("conversations_message_added", hookURL, s.convPairs("onMessageAdded", fromClient)))
	add(s.formDelivery("conversations_message_added_sdk", hookURL, s.convPairs("onMessageAdded", fromEmployee)))
	edited := fromEmployee
	edited.body = "Your portfolio review is booked for Thursday at 3:30pm."
	add(s.formDelivery("conversations_message_updated", hookURL, s.convPairs("onMessageUpdated", edited,
		kv{"DateUpdated", isoTime(simEpoch.Add(3 * time.Minute))})))
	add(s.formDelivery("conversations_message_removed", hookURL, s.convPairs("onMessageRemoved", fromClient,
		kv{"DateRemoved", isoTime(simEpoch.Add(4 * time.Minute))})))
	add(s.formDelivery("conversations_delivery_updated", hookURL, []kv{
		{"RetryCount", "0"}, {"EventType", "onDeliveryUpdated"}, {"AccountSid", s.opts.AccountSID},
		{"ConversationSid", conv}, {"MessageSid", fromEmployee.sid}, {"DeliveryReceiptSid", id("DY", "conv-2")},
		{"ChannelMessageSid", id("SM", "conv-2-channel")}, {"ParticipantSid", fromClient.participant}, {"Status", "delivered"},
		{"ErrorCode", "0"}, {"DateCreated", isoTime(simEpoch.Add(2 * time.Minute))}, {"DateUpdated", isoTime(simEpoch.Add(150 * time.Second))},
	}))
	add(s.formDelivery("conversations_participant_added", hookURL, []kv{
		{"RetryCount", "0"}, {"EventType", "onParticipantAdded"}, {"DateCreated", isoTime(simEpoch.Add(-time.Minute))},
		{"Identity", employees[1].ID}, {"RoleSid", id("RL", "role")}, {"ParticipantSid", id("MB", "conv-employee-2")},
		{"AccountSid", s.opts.AccountSID}, {"Source", "API"}, {"ConversationSid", conv},
	}))

	// Event Streams: a JSON batch (two statuses and an inbound message),
	// and a type the connector keeps as a system event.
	es := id("SM", "es-outbound")
	add(s.jsonDelivery("eventstreams_batch", hookURL, mustJSON([]cloudEvent{
		s.statusCloudEvent(es, priya, "delivered", simEpoch.Add(5*time.Minute), 0),
		s.inboundCloudEvent(id("SM", "es-inbound"), priya, "Perfect, see you then.", simEpoch.Add(6*time.Minute)),
		s.statusCloudEvent(es, priya, "undelivered", simEpoch.Add(7*time.Minute), 30005),
	})))
	add(s.jsonDelivery("eventstreams_link_clicked", hookURL, mustJSON([]cloudEvent{{
		SpecVersion: "1.0", Type: "com.twilio.messaging.link.clicked", Source: "/2010-04-01/Accounts/" + s.opts.AccountSID + "/Messages/" + es + ".json",
		ID: "EZ" + hexID("script", "click"), DataSchema: "https://events-schemas.twilio.com/Messaging.LinkClicked/1",
		DataContentType: "application/json", Time: isoTime(simEpoch.Add(8 * time.Minute)),
		Data: map[string]any{"accountSid": s.opts.AccountSID, "messageSid": es, "to": priya.ID, "link": "https://harborstreetbank.example/cd", "clickTime": isoTime(simEpoch.Add(8 * time.Minute))},
	}})))

	// A signed form of no known kind: kept as a system event.
	add(s.formDelivery("unknown_form", hookURL, []kv{{"AccountSid", s.opts.AccountSID}, {"ApiVersion", "2010-04-01"},
		{"OptOutType", "STOP"}, {"From", linda.ID}, {"To", s.opts.Number}}))
	return out
}
