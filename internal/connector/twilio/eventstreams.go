package twilio

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	json "github.com/go-json-experiment/json/v1"
	"github.com/onrecord/onrecord/internal/connector"
)

// cloudEvent is one Event Streams event (CloudEvents 1.0, structured mode).
type cloudEvent struct {
	SpecVersion string          `json:"specversion"`
	Type        string          `json:"type"`
	Source      string          `json:"source"`
	ID          string          `json:"id"`
	Time        string          `json:"time"`
	DataSchema  string          `json:"dataschema"`
	Data        json.RawMessage `json:"data"`
}

const (
	messagingStatusPrefix = "com.twilio.messaging.message."
	messagingInbound      = "com.twilio.messaging.inbound-message.received"
	conversationsPrefix   = "com.twilio.conversations."
)

// conversationsTypes maps Event Streams' Conversations types to the
// post-event webhook names the Conversations mapping knows.
var conversationsTypes = map[string]string{
	"com.twilio.conversations.message.added":    "onMessageAdded",
	"com.twilio.conversations.message.updated":  "onMessageUpdated",
	"com.twilio.conversations.message.removed":  "onMessageRemoved",
	"com.twilio.conversations.delivery.updated": "onDeliveryUpdated",
}

// parseEventStream maps an Event Streams webhook-sink delivery: a JSON
// array of CloudEvents (or a single one). Messaging data uses camelCase
// names ("messageSid"); they are brought to the webhook's PascalCase so
// the same mappings apply and the same message gets the same ProviderID
// whichever way Twilio reported it.
func parseEventStream(body []byte, at time.Time) ([]connector.Event, error) {
	body = bytes.TrimSpace(body)
	var batch []cloudEvent
	if len(body) > 0 && body[0] == '{' {
		var one cloudEvent
		if err := json.Unmarshal(body, &one); err != nil {
			return nil, fmt.Errorf("read event stream delivery: %w", err)
		}
		batch = []cloudEvent{one}
	} else if err := json.Unmarshal(body, &batch); err != nil {
		return nil, fmt.Errorf("read event stream delivery: %w", err)
	}
	if len(batch) == 0 {
		return nil, errors.New("event stream delivery holds no events")
	}
	out := make([]connector.Event, 0, len(batch))
	for i, ce := range batch {
		ev, err := mapCloudEvent(ce, at)
		if err != nil {
			return nil, fmt.Errorf("event %d (%s): %w", i, ce.Type, err)
		}
		out = append(out, ev)
	}
	return out, nil
}

func mapCloudEvent(ce cloudEvent, at time.Time) (connector.Event, error) {
	if ce.Type == "" {
		return connector.Event{}, errors.New("CloudEvent has no type")
	}
	p, err := flatten(ce.Data)
	if err != nil {
		return connector.Event{}, err
	}
	when := firstTime(at, first(p, "Timestamp"), ce.Time)
	var ev connector.Event
	switch {
	case strings.HasPrefix(ce.Type, messagingStatusPrefix):
		if first(p, "MessageStatus") == "" {
			p.Set("MessageStatus", strings.TrimPrefix(ce.Type, messagingStatusPrefix))
		}
		ev, err = statusEvent(p, when)
	case ce.Type == messagingInbound:
		ev, err = inboundMessage(p, when)
	case conversationsTypes[ce.Type] != "":
		ev = conversationsEvent(p, conversationsTypes[ce.Type], when)
	default:
		// Any other subscribed type (link clicks, participant changes,
		// error logs): kept whole as a system event under its own id.
		ev = unknownEvent(p, ce.Type, when)
		if id := strings.TrimSpace(ce.ID); id != "" {
			ev.ProviderID = id
		}
		if ev.Conversation == "twilio" && ce.Source != "" {
			ev.Conversation = ce.Source
		}
	}
	if err != nil {
		return connector.Event{}, err
	}
	if ev.Meta == nil {
		ev.Meta = map[string]string{}
	}
	ev.Meta["event_type"] = ce.Type
	if ce.ID != "" {
		ev.Meta["event_id"] = ce.ID
	}
	if ce.DataSchema != "" {
		ev.Meta["event_schema"] = ce.DataSchema
	}
	return ev, nil
}

// flatten turns a CloudEvent's data object into parameters: top-level
// names with the first letter upper-cased, scalars as text, nested values
// as compact JSON.
func flatten(data json.RawMessage) (url.Values, error) {
	p := url.Values{}
	if len(bytes.TrimSpace(data)) == 0 || bytes.Equal(bytes.TrimSpace(data), []byte("null")) {
		return p, nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return nil, fmt.Errorf("CloudEvent data is not an object: %w", err)
	}
	for k, raw := range fields {
		var v string
		raw = bytes.TrimSpace(raw)
		switch {
		case len(raw) > 0 && raw[0] == '"':
			if err := json.Unmarshal(raw, &v); err != nil {
				return nil, fmt.Errorf("CloudEvent data %q: %w", k, err)
			}
		case bytes.Equal(raw, []byte("null")):
		default:
			var buf bytes.Buffer
			if err := json.Compact(&buf, raw); err != nil {
				return nil, fmt.Errorf("CloudEvent data %q: %w", k, err)
			}
			v = buf.String()
		}
		p.Set(upperFirst(strings.ToValidUTF8(k, "\uFFFD")), strings.ToValidUTF8(v, "\uFFFD"))
	}
	return p, nil
}

func upperFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 || r == utf8.RuneError {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}
