package twilio

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/connector"
)

// maxMedia bounds how many MediaUrl{N} a message may carry: Twilio's limit
// is 10 for MMS, this only stops a hostile NumMedia from costing anything.
const maxMedia = 100

// Parse maps one delivery to events: a form webhook (inbound message,
// status callback, Conversations event) is one event; a JSON Event Streams
// delivery is a batch, one event per CloudEvent in order.
func (c *Connector) Parse(req *connector.Request) ([]connector.Event, error) {
	at := receivedAt(req)
	var evs []connector.Event
	if isEventStream(req) {
		var err error
		if evs, err = parseEventStream(req.Body, at); err != nil {
			return nil, fmt.Errorf("twilio channel %q: %w", c.name, err)
		}
	} else {
		params, err := requestParams(req)
		if err != nil {
			return nil, fmt.Errorf("twilio channel %q: %w", c.name, err)
		}
		ev, err := parseParams(params, at)
		if err != nil {
			return nil, fmt.Errorf("twilio channel %q: %w", c.name, err)
		}
		evs = []connector.Event{ev}
	}
	for i := range evs {
		// An event the archive would refuse is a delivery we could not
		// read: better archived raw as unparsed than half-mapped.
		check := evs[i].Event
		check.Channel = c.name
		if check.Channel == "" {
			check.Channel = "twilio"
		}
		if err := check.Validate(); err != nil {
			return nil, fmt.Errorf("twilio channel %q: event %d (%s %s): %w", c.name, i, evs[i].Kind, evs[i].ProviderID, err)
		}
	}
	return evs, nil
}

// receivedAt is when the gateway got the delivery: Twilio's message
// webhooks carry no timestamp of their own.
func receivedAt(req *connector.Request) time.Time {
	if !req.ReceivedAt.IsZero() {
		return req.ReceivedAt.UTC()
	}
	return time.Now().UTC()
}

func isEventStream(req *connector.Request) bool {
	if isJSON(req.Header) {
		return true
	}
	if req.URL != nil && strings.Contains(req.URL.RawQuery, bodyHashParam+"=") {
		return true
	}
	b := bytes.TrimLeft(req.Body, " \t\r\n")
	return len(b) > 0 && (b[0] == '[' || b[0] == '{')
}

// requestParams reads a form webhook's parameters: from the body for POST
// (never from the URL, whose query belongs to whoever configured it), from
// the query for GET webhooks.
func requestParams(req *connector.Request) (url.Values, error) {
	p, err := req.Form()
	if err != nil {
		return nil, fmt.Errorf("read form parameters: %w", err)
	}
	return validUTF8(p), nil
}

// validUTF8 replaces invalid UTF-8 (a %FF in a form body) so every field
// of an event is valid; Raw keeps the bytes as they were. p is returned
// as it is when it is valid already, which deliveries almost always are;
// else a copy is, since p is the request's own (Request.Form).
func validUTF8(p url.Values) url.Values {
	valid := true
	for k, vs := range p {
		valid = valid && utf8.ValidString(k)
		for _, v := range vs {
			valid = valid && utf8.ValidString(v)
		}
	}
	if valid {
		return p
	}
	out := make(url.Values, len(p))
	for k, vs := range p {
		k = strings.ToValidUTF8(k, "\uFFFD")
		for _, v := range vs {
			out[k] = append(out[k], strings.ToValidUTF8(v, "\uFFFD"))
		}
	}
	return out
}

func parseParams(p url.Values, at time.Time) (connector.Event, error) {
	switch {
	case len(p) == 0:
		return connector.Event{}, errors.New("delivery has no parameters")
	case p.Get("EventType") != "":
		return conversationsEvent(p, p.Get("EventType"), at), nil
	case p.Get("MessageStatus") != "":
		return statusEvent(p, at)
	case messageSid(p) != "":
		return inboundMessage(p, at)
	default:
		// Signed by Twilio but of no kind we know: keep all of it.
		return unknownEvent(p, "unsupported", at), nil
	}
}

// messageSid is MessageSid, or one of the legacy duplicates older
// deliveries carry alone.
func messageSid(p url.Values) string {
	for _, k := range []string{"MessageSid", "SmsMessageSid", "SmsSid"} {
		if v := strings.TrimSpace(p.Get(k)); v != "" {
			return v
		}
	}
	return ""
}

// address splits Twilio's channel addresses ("whatsapp:+14155550100",
// "messenger:123") into the address and the transport; plain numbers have
// no transport prefix.
func address(v string) (id, transport string) {
	v = strings.TrimSpace(v)
	i := strings.IndexByte(v, ':')
	if i <= 0 {
		return v, ""
	}
	for _, r := range v[:i] {
		if !unicode.IsLetter(r) && r != '-' {
			return v, ""
		}
	}
	return strings.TrimSpace(v[i+1:]), strings.ToLower(v[:i])
}

// whatsappTypes are the MessageType values Twilio documents for WhatsApp.
var whatsappTypes = []string{"text", "image", "video", "audio", "document", "sticker", "location", "button", "interactive", "contacts", "reaction"}

func inboundMessage(p url.Values, at time.Time) (connector.Event, error) {
	sid := messageSid(p)
	from, fromT := address(p.Get("From"))
	to, _ := address(p.Get("To"))
	if from == "" {
		return connector.Event{}, fmt.Errorf("inbound message %s has no From", sid)
	}
	media := mediaRefs(p)
	transport := fromT
	if transport == "" {
		transport = "sms"
		if len(media) > 0 || strings.HasPrefix(sid, "MM") {
			transport = "mms"
		}
	}

	subtype := p.Get("MessageType")
	switch {
	case subtype != "" && !slices.Contains(whatsappTypes, subtype):
		subtype = "unsupported"
	case subtype != "":
	case p.Get("Latitude") != "" && p.Get("Longitude") != "":
		subtype = "location"
	case p.Get("ButtonPayload") != "" || p.Get("ButtonText") != "":
		subtype = "button"
	case len(media) > 0:
		subtype = mediaKind(media[0].ContentType)
	default:
		subtype = "text"
	}

	body := p.Get("Body")
	if body == "" && subtype == "location" {
		body = locationText(p)
	}
	if body == "" {
		body = p.Get("ButtonText")
	}

	ev := connector.Event{Event: onrecord.Event{
		Kind:         onrecord.KindMessage,
		ProviderID:   sid,
		Conversation: from,
		Direction:    onrecord.Inbound,
		Sender:       onrecord.Party{ID: from, Name: strings.TrimSpace(p.Get("ProfileName"))},
		SentAt:       at,
		Body:         body,
		Subtype:      subtype,
		ReplyTo:      strings.TrimSpace(p.Get("OriginalRepliedMessageSid")),
		Forwarded:    isTrue(p.Get("Forwarded")) || isTrue(p.Get("FrequentlyForwarded")),
	}, Media: media}
	if to != "" {
		ev.Recipients = []onrecord.Party{{ID: to}}
	}
	ev.Meta = meta(p, consumedInbound)
	ev.Meta["transport"] = transport
	return ev, nil
}

// consumedInbound are the parameters an inbound message maps to fields of
// its own; every other parameter is kept in Meta. From and To stay in Meta
// too, with their transport prefix, exactly as Twilio sent them.
var consumedInbound = map[string]bool{
	"MessageSid": true, "SmsSid": true, "SmsMessageSid": true, "Body": true, "ProfileName": true,
	"OriginalRepliedMessageSid": true,
}

func locationText(p url.Values) string {
	s := "📍 " + p.Get("Latitude") + "," + p.Get("Longitude")
	var name []string
	for _, k := range []string{"Label", "Address"} {
		if v := strings.TrimSpace(p.Get(k)); v != "" {
			name = append(name, v)
		}
	}
	if len(name) > 0 {
		s += " " + strings.Join(name, ", ")
	}
	return s
}

func isTrue(v string) bool {
	b, err := strconv.ParseBool(strings.TrimSpace(v))
	return err == nil && b
}

// mediaRefs collects MediaUrl{N}/MediaContentType{N}, in order. NumMedia is
// a hint, not trusted: the URLs present are what count.
func mediaRefs(p url.Values) []connector.MediaRef {
	var refs []connector.MediaRef
	for i := range maxMedia {
		u := strings.TrimSpace(p.Get("MediaUrl" + strconv.Itoa(i)))
		if u == "" {
			continue
		}
		ct := strings.TrimSpace(p.Get("MediaContentType" + strconv.Itoa(i)))
		refs = append(refs, connector.MediaRef{Ref: u, ContentType: ct, Name: mediaName(u, ct, i)})
	}
	return refs
}

// mediaName names a file after its Media SID (the URL's last segment),
// with an extension for its content type: Twilio sends no file names.
func mediaName(rawURL, contentType string, i int) string {
	base := ""
	if u, err := url.Parse(rawURL); err == nil {
		base = path.Base(u.Path)
	}
	if base == "" || base == "." || base == "/" {
		base = "media" + strconv.Itoa(i)
	}
	if ext := extensions[strings.ToLower(contentType)]; ext != "" && path.Ext(base) == "" {
		base += ext
	}
	return base
}

var extensions = map[string]string{
	"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif", "image/webp": ".webp", "image/bmp": ".bmp",
	"video/mp4": ".mp4", "video/3gpp": ".3gp", "audio/ogg": ".ogg", "audio/mpeg": ".mp3", "audio/amr": ".amr",
	"audio/mp4": ".m4a", "application/pdf": ".pdf", "text/vcard": ".vcf", "text/x-vcard": ".vcf",
	"text/plain": ".txt", "text/csv": ".csv",
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":       ".xlsx",
}

func mediaKind(contentType string) string {
	major, _, _ := strings.Cut(strings.ToLower(contentType), "/")
	switch major {
	case "image", "video", "audio":
		return major
	}
	return "document"
}

// statusEvent maps a status callback. Statuses are about messages the
// organisation sent, so the conversation is the To party; the rare
// receiving/received statuses concern inbound messages and point the
// other way.
func statusEvent(p url.Values, at time.Time) (connector.Event, error) {
	sid := messageSid(p)
	status := strings.ToLower(strings.TrimSpace(p.Get("MessageStatus")))
	if sid == "" {
		return connector.Event{}, fmt.Errorf("status callback (%s) has no MessageSid", status)
	}
	from, fromT := address(p.Get("From"))
	to, toT := address(p.Get("To"))
	dir := onrecord.Outbound
	org, party := from, to
	if status == "received" || status == "receiving" {
		dir, org, party = onrecord.Inbound, to, from
	}
	ev := connector.Event{Event: onrecord.Event{
		Kind:         onrecord.KindStatus,
		ProviderID:   sid + ":" + status,
		Target:       sid,
		Status:       status,
		Direction:    dir,
		Conversation: firstNonEmpty(party, strings.TrimSpace(p.Get("ChannelToAddress")), sid),
		SentAt:       at,
		StatusError:  statusError(p.Get("ErrorCode"), p.Get("ErrorMessage")),
	}}
	if dir == onrecord.Outbound {
		ev.Sender = onrecord.Party{ID: firstNonEmpty(org, p.Get("MessagingServiceSid"), p.Get("AccountSid"), "twilio")}
		if party != "" {
			ev.Recipients = []onrecord.Party{{ID: party}}
		}
	} else {
		ev.Sender = onrecord.Party{ID: firstNonEmpty(party, sid)}
		if org != "" {
			ev.Recipients = []onrecord.Party{{ID: org}}
		}
	}
	ev.Meta = meta(p, map[string]bool{"MessageSid": true, "SmsSid": true, "SmsMessageSid": true, "MessageStatus": true})
	ev.Meta["transport"] = firstNonEmpty(strings.ToLower(p.Get("ChannelPrefix")), fromT, toT, "sms")
	return ev, nil
}

func statusError(code, msg string) string {
	code, msg = strings.TrimSpace(code), strings.TrimSpace(msg)
	switch {
	case code != "" && msg != "":
		return code + ": " + msg
	case code != "":
		return "error " + code
	}
	return msg
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

// meta keeps every parameter that has no field of its own; a repeated
// name's later values go under "Name#2", "Name#3"...
func meta(p url.Values, consumed map[string]bool) map[string]string {
	m := make(map[string]string, len(p)+1)
	for k, vs := range p {
		if consumed[k] {
			continue
		}
		for i, v := range vs {
			if i == 0 {
				m[k] = v
			} else {
				m[k+"#"+strconv.Itoa(i+1)] = v
			}
		}
	}
	return m
}

// fingerprint is a stable id for a delivery that has none of its own: a
// hash of its parameters, without the retry counter Twilio bumps.
func fingerprint(p url.Values) string {
	names := make([]string, 0, len(p))
	for k := range p {
		if k != "RetryCount" {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	h := sha256.New()
	for _, k := range names {
		for _, v := range p[k] {
			fmt.Fprintf(h, "%d:%s%d:%s", len(k), k, len(v), v)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// unknownEvent keeps a recognisably Twilio delivery that no mapping knows.
func unknownEvent(p url.Values, subtype string, at time.Time) connector.Event {
	ev := connector.Event{Event: onrecord.Event{
		Kind:         onrecord.KindSystem,
		Subtype:      subtype,
		ProviderID:   subtype + ":" + fingerprint(p),
		Conversation: firstNonEmpty(p.Get("ConversationSid"), p.Get("AccountSid"), "twilio"),
		Direction:    onrecord.Inbound,
		Sender:       onrecord.Party{ID: firstNonEmpty(p.Get("ParticipantSid"), p.Get("Author"), p.Get("AccountSid"), "twilio")},
		SentAt:       firstTime(at, p.Get("Timestamp"), p.Get("DateUpdated"), p.Get("DateCreated")),
	}}
	ev.Meta = meta(p, nil)
	return ev
}

// firstTime is the first of values that parses as an ISO 8601 time, else
// fallback.
func firstTime(fallback time.Time, values ...string) time.Time {
	for _, v := range values {
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", time.RFC1123Z} {
			if t, err := time.Parse(layout, v); err == nil {
				return t.UTC()
			}
		}
	}
	return fallback
}
