package slack

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	json "github.com/go-json-experiment/json/v1"
	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/connector"
)

// envelope is the outer body of an Events API delivery.
type envelope struct {
	Type              string          `json:"type"`
	TeamID            string          `json:"team_id"`
	APIAppID          string          `json:"api_app_id"`
	EventID           string          `json:"event_id"`
	EventTime         int64           `json:"event_time"`
	Event             json.RawMessage `json:"event"`
	Authorizations    []authorization `json:"authorizations"`
	MinuteRateLimited int64           `json:"minute_rate_limited"`
	Challenge         string          `json:"challenge"`
	IsExtShared       bool            `json:"is_ext_shared_channel"`
}

type authorization struct {
	TeamID string `json:"team_id"`
	UserID string `json:"user_id"`
	IsBot  bool   `json:"is_bot"`
}

// delivery is what every event of one delivery shares.
type delivery struct {
	env *envelope
	req *connector.Request
	// botUsers are the app's own bot users (authorizations[].is_bot): what
	// they post or react is the organisation's.
	botUsers map[string]bool
	// fallbackTime is when the event happened if the event itself does not say.
	fallbackTime time.Time
}

// Parse maps one authenticated delivery to canonical events. Slack sends one
// event per request; the result has exactly one event for every readable
// body.
func (c *Connector) Parse(req *connector.Request) ([]connector.Event, error) {
	body := bytes.TrimSpace(req.Body)
	if len(body) == 0 {
		return nil, errors.New("slack: empty body")
	}
	var ev connector.Event
	var err error
	switch body[0] {
	case '{':
		ev, err = c.parseJSON(req, body)
	case '[', '"':
		return nil, errors.New("slack: JSON body is not an object: not an Events API delivery")
	default:
		ev, err = c.parseForm(req, body)
	}
	if err != nil {
		return nil, err
	}
	// Every path fills the required fields; this guards the contract rather
	// than trusting it. Channel is the gateway's to fill, so it is only
	// borrowed for the check.
	check := ev.Event
	check.Channel = or(c.name, "slack")
	if err := check.Validate(); err != nil {
		return nil, fmt.Errorf("slack: %s event %q: %w", ev.Kind, ev.ProviderID, err)
	}
	return []connector.Event{ev}, nil
}

// decode unmarshals JSON leniently: a field whose JSON type differs from
// what Slack documents is left empty instead of failing the whole delivery
// (encoding/json fills every other field and reports an UnmarshalTypeError).
func decode(b []byte, v any) error {
	err := json.Unmarshal(b, v)
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return nil
	}
	return err
}

func (c *Connector) parseJSON(req *connector.Request, body []byte) (connector.Event, error) {
	var env envelope
	if err := decode(body, &env); err != nil {
		return connector.Event{}, fmt.Errorf("slack: decode envelope: %w", err)
	}
	if env.Type == "" {
		return connector.Event{}, errors.New("slack: JSON body has no \"type\": not an Events API delivery")
	}
	d := &delivery{env: &env, req: req, botUsers: map[string]bool{}, fallbackTime: c.clock(req).UTC()}
	for _, a := range env.Authorizations {
		if a.IsBot && a.UserID != "" {
			d.botUsers[a.UserID] = true
		}
	}
	if t, ok := unixTime(env.EventTime, 0); ok {
		d.fallbackTime = t
	}
	switch env.Type {
	case "event_callback":
		return d.parseCallback(body)
	case "app_rate_limited":
		ev := d.system("app_rate_limited", env.TeamID, slackParty())
		ev.ProviderID = "app_rate_limited:" + or(env.TeamID, "-") + ":" + or(env.APIAppID, "-") + ":" + strconv.FormatInt(env.MinuteRateLimited, 10)
		if t, ok := unixTime(env.MinuteRateLimited, 0); ok {
			ev.SentAt = t
			ev.Meta["minute_rate_limited"] = strconv.FormatInt(env.MinuteRateLimited, 10)
		}
		ev.Body = "Slack is dropping this app's events for workspace " + or(env.TeamID, "(unknown)") +
			" (more than 30,000 events in an hour); events from this minute on are missing from the archive until the limit lifts"
		return ev, nil
	case "url_verification":
		// The gateway answers these through Handshake; if one reaches Parse
		// it is still recorded rather than dropped.
		ev := d.system("url_verification", env.TeamID, slackParty())
		ev.ProviderID = "url_verification:" + or(env.Challenge, bodyHash(body))
		return ev, nil
	default:
		ev := d.system(env.Type, env.TeamID, slackParty())
		ev.ProviderID = or(env.EventID, env.Type+":"+bodyHash(body))
		ev.Meta["unsupported"] = "envelope type " + env.Type
		return ev, nil
	}
}

// parseCallback maps the inner event of an event_callback.
func (d *delivery) parseCallback(body []byte) (connector.Event, error) {
	// Most events are messages: the event is decoded as one straight away
	// and its type read from that, so a message is read once. decode
	// leaves a field of another JSON type empty, so any other event decodes
	// as a message too, with its type.
	var m message
	if len(d.env.Event) == 0 || decode(d.env.Event, &m) != nil || m.Type == "" {
		ev := d.system("unsupported", d.env.TeamID, slackParty())
		ev.ProviderID = or(d.env.EventID, "event_callback:"+bodyHash(body))
		ev.Meta["unsupported"] = "event_callback without a typed event object"
		return ev, nil
	}
	switch m.Type {
	case "message", "app_mention":
		return d.parseMessage(&m), nil
	case "reaction_added", "reaction_removed":
		var r reaction
		if err := decode(d.env.Event, &r); err != nil {
			return connector.Event{}, fmt.Errorf("slack: decode %s event: %w", m.Type, err)
		}
		return d.parseReaction(m.Type, &r), nil
	default:
		var fields map[string]json.RawMessage
		if err := decode(d.env.Event, &fields); err != nil {
			return connector.Event{}, fmt.Errorf("slack: decode %s event: %w", m.Type, err)
		}
		return d.parseOther(m.Type, fields), nil
	}
}

// base is an event with what every event of the delivery carries.
func (d *delivery) base(kind onrecord.EventKind, conversation string, sender onrecord.Party) connector.Event {
	ev := connector.Event{Event: onrecord.Event{
		Kind:         kind,
		Conversation: or(conversation, d.env.TeamID, "slack"),
		Direction:    onrecord.Inbound,
		Sender:       sender,
		SentAt:       d.fallbackTime,
		Meta:         map[string]string{},
	}}
	if d.env.TeamID != "" {
		ev.Meta["team_id"] = d.env.TeamID
	}
	if d.env.EventID != "" {
		ev.Meta["event_id"] = d.env.EventID
	}
	if d.env.IsExtShared {
		ev.Meta["ext_shared"] = "true"
	}
	if d.botUsers[sender.ID] {
		ev.Direction = onrecord.Outbound
	}
	return ev
}

func (d *delivery) system(subtype, conversation string, sender onrecord.Party) connector.Event {
	ev := d.base(onrecord.KindSystem, conversation, sender)
	ev.Subtype = subtype
	return ev
}

// setConversation fills Conversation, Group and the channel type.
func setConversation(ev *connector.Event, channel, channelType string) {
	if channel == "" {
		return
	}
	ev.Conversation = channel
	switch channelType {
	case "":
		channelType = inferChannelType(channel)
	case "C":
		// member_joined_channel abbreviates: C public, G private.
		channelType = "channel"
	case "G":
		channelType = "group"
	}
	if channelType == "" {
		return
	}
	ev.Meta["channel_type"] = channelType
	ev.Group = channelType != "im" && channelType != "app_home"
}

// inferChannelType guesses from the id's prefix when the event omits
// channel_type (reactions, app_mention): D is a direct message, C a public
// channel, G a private channel or multi-person DM.
func inferChannelType(channel string) string {
	switch channel[0] {
	case 'D':
		return "im"
	case 'C':
		return "channel"
	case 'G':
		return "group"
	}
	return ""
}

// parseTS reads a Slack timestamp "1355517523.000005" (seconds.micros).
func parseTS(s string) (time.Time, bool) {
	sec, frac, _ := strings.Cut(s, ".")
	if sec == "" || len(sec) > 12 || len(frac) > 9 || !digits(sec) || !digits(frac) {
		return time.Time{}, false
	}
	n, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	var ns int64
	if frac != "" {
		f, err := strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
		if err != nil {
			return time.Time{}, false
		}
		ns = f
	}
	return unixTime(n, ns)
}

// maxUnix is 9999-12-31T23:59:59Z: later times cannot be written as RFC 3339.
const maxUnix = 253402300799

// unixTime is a Unix time the archive can store, or false.
func unixTime(sec, nsec int64) (time.Time, bool) {
	if sec <= 0 || sec > maxUnix {
		return time.Time{}, false
	}
	return time.Unix(sec, nsec).UTC(), true
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// setTime sets SentAt from the first parsable Slack timestamp.
func setTime(ev *connector.Event, tss ...string) {
	for _, ts := range tss {
		if t, ok := parseTS(ts); ok {
			ev.SentAt = t
			return
		}
	}
}

func slackParty() onrecord.Party { return onrecord.Party{ID: "slack", Name: "Slack"} }

// or returns the first non-blank value.
func or(vs ...string) string {
	for _, v := range vs {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}

// bodyHash names a delivery that has no id of its own; retries carry the
// same body, so it is stable across them.
func bodyHash(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:12])
}
