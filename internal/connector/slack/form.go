package slack

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/connector"
)

// parseForm maps the form-encoded posts Slack signs the same way: slash
// commands (command=...) and interactivity (payload=<JSON>). Slack's
// published signing example is a slash command, so a channel pointed at
// those URLs archives what people typed into them.
func (c *Connector) parseForm(req *connector.Request, body []byte) (connector.Event, error) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return connector.Event{}, fmt.Errorf("slack: body is neither JSON nor a form: %w", err)
	}
	v := func(k string) string { return strings.ToValidUTF8(form.Get(k), "\uFFFD") }
	env := &envelope{TeamID: v("team_id")}
	d := &delivery{env: env, req: req, botUsers: map[string]bool{}, fallbackTime: c.clock(req).UTC()}
	// Forms carry no time of their own; the signed request timestamp is the
	// same on every retry, unlike the time of receipt.
	if ts, err := parseTimestamp(req.Header.Get(headerTimestamp)); err == nil {
		if t, ok := unixTime(ts, 0); ok {
			d.fallbackTime = t
		}
	}
	switch {
	case form.Has("command"):
		user := onrecord.Party{ID: or(v("user_id"), "unknown"), Name: v("user_name")}
		ev := d.base(onrecord.KindMessage, "", user)
		setConversation(&ev, v("channel_id"), "")
		if name := v("channel_name"); ev.Group && name != "" && name != "privategroup" {
			ev.GroupName = name
		}
		ev.Subtype = "slash_command"
		ev.Body = strings.TrimSpace(v("command") + " " + v("text"))
		ev.ProviderID = or(v("trigger_id"), "slash_command:"+bodyHash(body))
		for _, k := range []string{"command", "team_domain", "enterprise_id", "api_app_id", "channel_name"} {
			if s := v(k); s != "" {
				ev.Meta[k] = s
			}
		}
		return ev, nil
	case form.Has("payload"):
		return d.parseInteractive(v("payload"), body)
	}
	return connector.Event{}, errors.New("slack: form body is neither a slash command nor an interactivity payload")
}

// parseInteractive records a button press, menu choice, shortcut or modal
// submission as a system event: it is a person acting through the app, with
// the chosen values in Meta.
func (d *delivery) parseInteractive(payload string, body []byte) (connector.Event, error) {
	var p struct {
		Type       string `json:"type"`
		TriggerID  string `json:"trigger_id"`
		ActionTS   string `json:"action_ts"`
		CallbackID string `json:"callback_id"`
		Team       struct {
			ID string `json:"id"`
		} `json:"team"`
		User struct {
			ID       string `json:"id"`
			Name     string `json:"name"`
			Username string `json:"username"`
		} `json:"user"`
		Channel struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"channel"`
		Container struct {
			MessageTS string `json:"message_ts"`
			ChannelID string `json:"channel_id"`
		} `json:"container"`
		Actions []struct {
			ActionID       string `json:"action_id"`
			Value          string `json:"value"`
			ActionTS       string `json:"action_ts"`
			SelectedOption struct {
				Value string `json:"value"`
			} `json:"selected_option"`
		} `json:"actions"`
	}
	if err := decode([]byte(payload), &p); err != nil || p.Type == "" {
		return connector.Event{}, errors.New("slack: interactivity payload is not a typed JSON object")
	}
	d.env.TeamID = or(d.env.TeamID, p.Team.ID)
	ev := d.system(p.Type, "", onrecord.Party{ID: or(p.User.ID, "unknown"), Name: or(p.User.Name, p.User.Username)})
	channel := or(p.Channel.ID, p.Container.ChannelID)
	setConversation(&ev, channel, "")
	if ev.Group && p.Channel.Name != "" {
		ev.GroupName = p.Channel.Name
	}
	if channel != "" && p.Container.MessageTS != "" {
		ev.Target = channel + ":" + p.Container.MessageTS
		ev.Meta["message"] = ev.Target
	}
	actionTS := p.ActionTS
	for i, a := range p.Actions {
		if i >= maxMetaFields/2 {
			break
		}
		ev.Meta[fmt.Sprintf("action_%d", i)] = a.ActionID + "=" + or(a.Value, a.SelectedOption.Value)
		actionTS = or(actionTS, a.ActionTS)
	}
	setTime(&ev, actionTS)
	if p.CallbackID != "" {
		ev.Meta["callback_id"] = p.CallbackID
	}
	ev.ProviderID = or(p.TriggerID, p.Type+":"+bodyHash(body))
	// A system event has no Target; the message acted on is in Meta.
	ev.Target = ""
	return ev, nil
}
