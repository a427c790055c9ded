package twilio

import (
	"strings"
	"time"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/connector"
)

// conversationsEvent maps a Twilio Conversations post-event webhook
// (EventType=onMessageAdded, ...) or its Event Streams equivalent. The
// conversation is the ConversationSid: a Conversation may bridge SMS,
// WhatsApp and chat participants, so no single phone number names it.
// Media is listed in Meta["Media"] as Twilio gave it: Conversations media
// lives in the Media Content Service, not behind a MediaUrl.
func conversationsEvent(p map[string][]string, eventType string, at time.Time) connector.Event {
	sid := strings.TrimSpace(first(p, "MessageSid"))
	conv := firstNonEmpty(first(p, "ConversationSid"), first(p, "AccountSid"), "conversations")
	author := strings.TrimSpace(first(p, "Author"))
	body := first(p, "Body")
	if body == "" {
		body = first(p, "MessageBody") // Event Streams' name for it
	}
	ev := connector.Event{Event: onrecord.Event{
		Conversation: conv,
		Direction:    conversationsDirection(first(p, "Source"), author),
		Sender:       onrecord.Party{ID: firstNonEmpty(author, first(p, "ParticipantSid"), first(p, "AccountSid"), "twilio")},
		SentAt:       firstTime(at, first(p, "DateCreated")),
	}}
	switch {
	case eventType == "onMessageAdded" && sid != "":
		ev.Kind, ev.ProviderID, ev.Body, ev.Subtype = onrecord.KindMessage, sid, body, "text"
		if first(p, "Media") != "" {
			ev.Subtype = "media"
		}
	case eventType == "onMessageUpdated" && sid != "":
		// Each edit is its own record; DateUpdated tells edits apart.
		updated := firstNonEmpty(first(p, "DateUpdated"), fingerprint(p))
		ev.Kind, ev.ProviderID, ev.Target, ev.Body, ev.Subtype = onrecord.KindEdit, sid+":edit:"+updated, sid, body, "text"
		ev.SentAt = firstTime(at, first(p, "DateUpdated"), first(p, "DateCreated"))
	case eventType == "onMessageRemoved" && sid != "":
		ev.Kind, ev.ProviderID, ev.Target = onrecord.KindDelete, sid+":removed", sid
		ev.SentAt = firstTime(at, first(p, "DateRemoved"), first(p, "DateUpdated"))
	case eventType == "onDeliveryUpdated" && sid != "" && first(p, "Status") != "":
		status := strings.ToLower(strings.TrimSpace(first(p, "Status")))
		receipt := firstNonEmpty(first(p, "DeliveryReceiptSid"), sid+":"+first(p, "ParticipantSid"))
		ev.Kind, ev.ProviderID, ev.Target, ev.Status = onrecord.KindStatus, receipt+":"+status, sid, status
		ev.Direction = onrecord.Outbound
		ev.StatusError = statusError(first(p, "ErrorCode"), "")
		ev.SentAt = firstTime(at, first(p, "DateUpdated"), first(p, "DateCreated"))
	default:
		// Conversation/participant/user lifecycle: archived as system
		// events so nothing Twilio told us is lost.
		sys := unknownEvent(p, eventType, at)
		sys.Meta["transport"] = "conversations"
		return sys
	}
	ev.Meta = meta(p, map[string]bool{"MessageSid": true, "Body": true, "MessageBody": true, "Author": true})
	ev.Meta["transport"] = "conversations"
	return ev
}

func first(p map[string][]string, k string) string {
	if vs := p[k]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// conversationsDirection: a message that came in through a channel (SMS,
// WhatsApp, ...) is the external party's; one written through the SDK or
// API is the organisation's. Without Source, a channel address as author
// ("whatsapp:+1...", "+1...") marks the external party.
func conversationsDirection(source, author string) onrecord.Direction {
	switch strings.ToUpper(strings.TrimSpace(source)) {
	case "SDK", "API":
		return onrecord.Outbound
	case "":
		if strings.HasPrefix(author, "+") || strings.Contains(author, ":") {
			return onrecord.Inbound
		}
		return onrecord.Outbound
	}
	return onrecord.Inbound
}
