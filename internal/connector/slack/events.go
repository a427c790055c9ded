package slack

import (
	"slices"
	"strings"

	json "github.com/go-json-experiment/json/v1"
	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/connector"
)

// reaction is reaction_added / reaction_removed.
type reaction struct {
	User     string `json:"user"`
	Reaction string `json:"reaction"`
	ItemUser string `json:"item_user"`
	EventTS  string `json:"event_ts"`
	Item     struct {
		Type        string `json:"type"`
		Channel     string `json:"channel"`
		TS          string `json:"ts"`
		File        string `json:"file"`
		FileComment string `json:"file_comment"`
	} `json:"item"`
}

func (d *delivery) parseReaction(typ string, r *reaction) connector.Event {
	removed := typ == "reaction_removed"
	ev := d.base(onrecord.KindReaction, "", onrecord.Party{ID: or(r.User, "unknown")})
	setConversation(&ev, r.Item.Channel, "")
	setTime(&ev, r.EventTS)
	switch {
	case r.Item.Channel != "" && r.Item.TS != "":
		ev.Target = r.Item.Channel + ":" + r.Item.TS
	case r.Item.FileComment != "":
		ev.Target = r.Item.FileComment
	case r.Item.File != "":
		ev.Target = r.Item.File
	}
	ev.Subtype = "emoji"
	ev.Meta["reaction"] = r.Reaction
	if r.Item.Type != "" {
		ev.Meta["item_type"] = r.Item.Type
	}
	if r.ItemUser != "" {
		ev.Meta["item_user"] = r.ItemUser
	}
	if removed {
		ev.Meta["removed"] = "true"
	} else if r.Reaction != "" {
		ev.Emoji = ":" + r.Reaction + ":"
	}
	what := r.Reaction
	if removed {
		what = "removed"
	}
	ev.ProviderID = or(d.env.EventID, ev.Target+":"+ev.Sender.ID+":"+what+":"+r.EventTS)
	if ev.Target == "" {
		ev.Kind = onrecord.KindSystem
		ev.Subtype = typ
		ev.Meta["unsupported"] = "reaction to an item with no id"
	}
	return ev
}

// parseOther maps every other event type (file_shared, file_deleted,
// member_joined_channel, channel_created, and types added after this was
// written) to a system event: the conversation and actor come from the
// fields Slack uses for them across event types, and the event's scalar
// fields are kept in Meta so nothing it said is lost.
func (d *delivery) parseOther(typ string, f map[string]json.RawMessage) connector.Event {
	channel, channelName := idAndName(f["channel"])
	channel = or(channel, str(f["channel_id"]), first(f["channel_ids"]))
	if channel == "" {
		var item struct {
			Channel string `json:"channel"`
		}
		if raw, ok := f["item"]; ok && decode(raw, &item) == nil {
			channel = item.Channel
		}
	}
	user, userName := idAndName(f["user"])
	user = or(user, str(f["user_id"]))
	if user == "" {
		var c struct {
			Creator string `json:"creator"`
		}
		if raw, ok := f["channel"]; ok && decode(raw, &c) == nil {
			user = c.Creator
		}
	}
	sender := slackParty()
	if user != "" {
		sender = onrecord.Party{ID: user, Name: userName}
	}
	ev := d.system(typ, "", sender)
	setConversation(&ev, channel, str(f["channel_type"]))
	if channel == "" {
		ev.Group = false
	}
	if channelName != "" {
		ev.GroupName = channelName
	}
	eventTS := str(f["event_ts"])
	setTime(&ev, eventTS)
	ev.ProviderID = or(d.env.EventID, typ+":"+channel+":"+eventTS)
	addScalars(ev.Meta, f)
	if !knownSystemEvents[typ] {
		ev.Meta["unsupported"] = "event type " + typ
	}
	return ev
}

// knownSystemEvents are the event types this connector was written against;
// anything else is still recorded, marked unsupported.
var knownSystemEvents = map[string]bool{
	"file_shared": true, "file_deleted": true, "file_change": true, "file_created": true, "file_public": true,
	"file_unshared": true, "member_joined_channel": true, "member_left_channel": true,
	"channel_created": true, "channel_deleted": true, "channel_rename": true, "channel_archive": true,
	"channel_unarchive": true, "channel_left": true, "channel_shared": true, "channel_unshared": true,
	"channel_id_changed": true, "channel_history_changed": true, "group_archive": true, "group_unarchive": true,
	"group_rename": true, "group_deleted": true, "group_left": true, "group_open": true, "group_close": true,
	"pin_added": true, "pin_removed": true, "team_join": true, "user_change": true, "im_created": true,
	"im_open": true, "im_close": true, "tokens_revoked": true, "app_uninstalled": true,
	"message_metadata_posted": true, "shared_channel_invite_accepted": true,
}

// maxMetaFields bounds what a single unknown event can put in Meta.
const (
	maxMetaFields = 32
	maxMetaValue  = 1024
)

// addScalars copies the event's top-level strings, numbers and booleans
// (and the id of objects that have one) into meta, in key order.
func addScalars(meta map[string]string, f map[string]json.RawMessage) {
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	n := 0
	for _, k := range keys {
		if n >= maxMetaFields {
			break
		}
		if k == "type" || k == "token" {
			continue
		}
		var v string
		var anyv any
		if decode(f[k], &anyv) != nil {
			continue
		}
		switch x := anyv.(type) {
		case string:
			v = x
		case float64, bool:
			v = strings.TrimSpace(string(f[k]))
		case map[string]any:
			if id, ok := x["id"].(string); ok {
				k, v = k+"_id", id
			}
		}
		if v == "" {
			continue
		}
		if _, taken := meta[k]; taken {
			continue
		}
		if len(v) > maxMetaValue {
			v = truncate(v, maxMetaValue)
		}
		meta[k] = v
		n++
	}
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// idAndName reads a field that is either an id string or an object with
// id and name (channel_created's channel, user_change's user).
func idAndName(raw json.RawMessage) (id, name string) {
	if len(raw) == 0 {
		return "", ""
	}
	if s := str(raw); s != "" {
		return s, ""
	}
	var o struct {
		ID       string `json:"id"`
		Name     string `json:"name"`
		RealName string `json:"real_name"`
	}
	if decode(raw, &o) != nil {
		return "", ""
	}
	return o.ID, or(o.RealName, o.Name)
}

func str(raw json.RawMessage) string {
	var s string
	if len(raw) == 0 || json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

func first(raw json.RawMessage) string {
	var ss []string
	if len(raw) == 0 || decode(raw, &ss) != nil || len(ss) == 0 {
		return ""
	}
	return ss[0]
}
