package slack

import (
	"strconv"
	"strings"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/connector"
)

// message is a message event (and the message objects nested in
// message_changed and message_deleted).
type message struct {
	Type            string       `json:"type"`
	Subtype         string       `json:"subtype"`
	Channel         string       `json:"channel"`
	ChannelType     string       `json:"channel_type"`
	User            string       `json:"user"`
	Text            string       `json:"text"`
	TS              string       `json:"ts"`
	EventTS         string       `json:"event_ts"`
	ThreadTS        string       `json:"thread_ts"`
	ParentUserID    string       `json:"parent_user_id"`
	DeletedTS       string       `json:"deleted_ts"`
	BotID           string       `json:"bot_id"`
	AppID           string       `json:"app_id"`
	Username        string       `json:"username"`
	ClientMsgID     string       `json:"client_msg_id"`
	Team            string       `json:"team"`
	Topic           string       `json:"topic"`
	Purpose         string       `json:"purpose"`
	Name            string       `json:"name"`
	OldName         string       `json:"old_name"`
	Inviter         string       `json:"inviter"`
	UserProfile     *userProfile `json:"user_profile"`
	BotProfile      *botProfile  `json:"bot_profile"`
	Edited          *edited      `json:"edited"`
	Message         *message     `json:"message"`
	PreviousMessage *message     `json:"previous_message"`
	Files           []file       `json:"files"`
}

type userProfile struct {
	RealName    string `json:"real_name"`
	DisplayName string `json:"display_name"`
	Name        string `json:"name"`
}

type botProfile struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	AppID string `json:"app_id"`
}

type edited struct {
	User string `json:"user"`
	TS   string `json:"ts"`
}

type file struct {
	ID                 string `json:"id"`
	Name               string `json:"name"`
	Title              string `json:"title"`
	Mimetype           string `json:"mimetype"`
	Filetype           string `json:"filetype"`
	Size               int64  `json:"size"`
	Mode               string `json:"mode"`
	FileAccess         string `json:"file_access"`
	URLPrivate         string `json:"url_private"`
	URLPrivateDownload string `json:"url_private_download"`
}

// contentSubtypes are message subtypes that carry what someone said.
var contentSubtypes = map[string]bool{
	"": true, "thread_broadcast": true, "reply_broadcast": true, "file_share": true,
	"bot_message": true, "me_message": true,
}

// isSystemSubtype reports message subtypes that record something happening
// to a conversation rather than something said in it.
func isSystemSubtype(s string) bool {
	switch s {
	case "pinned_item", "unpinned_item", "ekm_access_denied", "reminder_add", "message_replied",
		"tombstone", "huddle_thread", "sh_room_created", "assistant_app_thread", "file_comment",
		"bot_add", "bot_remove", "bot_enable", "bot_disable":
		return true
	}
	return strings.HasPrefix(s, "channel_") || strings.HasPrefix(s, "group_")
}

func (d *delivery) parseMessage(m *message) connector.Event {
	switch {
	case m.Subtype == "message_changed":
		return d.parseEdit(m)
	case m.Subtype == "message_deleted":
		return d.parseDelete(m, m.DeletedTS, m.PreviousMessage, m.TS)
	case isSystemSubtype(m.Subtype):
		ev := d.fromMessage(onrecord.KindSystem, m.Channel, m.ChannelType, m)
		ev.ProviderID = m.Channel + ":" + m.TS
		ev.Subtype = m.Subtype
		ev.Body = m.Text
		for k, v := range map[string]string{"topic": m.Topic, "purpose": m.Purpose, "name": m.Name, "old_name": m.OldName, "inviter": m.Inviter} {
			if v != "" {
				ev.Meta[k] = v
			}
		}
		if m.Name != "" && (m.Subtype == "channel_name" || m.Subtype == "group_name") {
			ev.GroupName = m.Name
		}
		return d.identified(ev, m)
	default:
		ev := d.fromMessage(onrecord.KindMessage, m.Channel, m.ChannelType, m)
		ev.ProviderID = m.Channel + ":" + m.TS
		ev.Body = m.Text
		ev.Subtype = contentSubtype(m)
		if !contentSubtypes[m.Subtype] {
			ev.Meta["unsupported"] = "message subtype " + m.Subtype
		}
		if m.Subtype == "thread_broadcast" || m.Subtype == "reply_broadcast" {
			ev.Meta["broadcast"] = "true"
		}
		if m.ClientMsgID != "" {
			ev.Meta["client_msg_id"] = m.ClientMsgID
		}
		if m.ThreadTS != "" && m.ThreadTS != m.TS {
			ev.ReplyTo = m.Channel + ":" + m.ThreadTS
			if m.ParentUserID != "" {
				ev.Meta["parent_user_id"] = m.ParentUserID
			}
		}
		addFiles(&ev, m.Files)
		return d.identified(ev, m)
	}
}

// identified checks the message carried the (channel, ts) that names it;
// one that does not cannot be linked to anything and is kept as a system
// event named by its event id.
func (d *delivery) identified(ev connector.Event, m *message) connector.Event {
	if m.Channel != "" && m.TS != "" {
		return ev
	}
	ev.Kind = onrecord.KindSystem
	ev.Meta["unsupported"] = "message without channel and ts"
	if ev.Subtype == "" {
		ev.Subtype = or(m.Subtype, m.Type, "message")
	}
	ev.ProviderID = or(d.env.EventID, "message:"+m.Channel+":"+m.TS+":"+m.EventTS)
	ev.ReplyTo, ev.Target = "", ""
	return ev
}

// contentSubtype names what a message carries.
func contentSubtype(m *message) string {
	switch {
	case len(m.Files) > 0:
		return "file_share"
	case m.Subtype == "bot_message" || m.Subtype == "me_message":
		return m.Subtype
	case !contentSubtypes[m.Subtype]:
		return "unsupported"
	}
	return "text"
}

// fromMessage is an event about message m in channel: conversation,
// sender, direction, time and thread.
func (d *delivery) fromMessage(kind onrecord.EventKind, channel, channelType string, m *message) connector.Event {
	ev := d.base(kind, channel, sender(m))
	setConversation(&ev, channel, channelType)
	if outbound(m) {
		ev.Direction = onrecord.Outbound
	}
	setTime(&ev, m.TS, m.EventTS)
	if m.ThreadTS != "" {
		ev.Thread = m.ThreadTS
	}
	if m.Subtype != "" {
		ev.Meta["slack_subtype"] = m.Subtype
	}
	if m.Team != "" && m.Team != d.env.TeamID {
		ev.Meta["sender_team"] = m.Team
	}
	return ev
}

// sender is who posted m: the user, else the bot.
func sender(m *message) onrecord.Party {
	if m == nil {
		return onrecord.Party{ID: "unknown"}
	}
	p := onrecord.Party{ID: or(m.User, m.BotID, "unknown")}
	if m.UserProfile != nil {
		p.Name = or(m.UserProfile.RealName, m.UserProfile.DisplayName, m.UserProfile.Name)
	}
	if p.Name == "" && (m.User == "" || m.BotID != "") {
		p.Name = m.Username
		if m.BotProfile != nil {
			p.Name = or(m.Username, m.BotProfile.Name)
		}
	}
	return p
}

// outbound reports a message the organisation's app or bot sent. Slack does
// not say which people are employees, so people's messages are inbound
// until the gateway has a directory.
func outbound(m *message) bool {
	return m != nil && (m.BotID != "" || m.AppID != "" || m.Subtype == "bot_message" || m.BotProfile != nil)
}

func (d *delivery) parseEdit(m *message) connector.Event {
	cur := m.Message
	if cur == nil || cur.TS == "" || m.Channel == "" {
		ev := d.fromMessage(onrecord.KindSystem, m.Channel, m.ChannelType, m)
		ev.Subtype = "message_changed"
		ev.ProviderID = or(d.env.EventID, m.Channel+":"+m.TS+":message_changed")
		ev.Meta["unsupported"] = "message_changed without the changed message"
		return ev
	}
	if cur.Subtype == "tombstone" {
		// A thread parent deleted while it has replies is replaced by a
		// tombstone instead of being removed.
		return d.parseDelete(m, cur.TS, m.PreviousMessage, m.TS)
	}
	editTS := or(m.TS, editedTS(cur), m.EventTS)
	s := sender(cur)
	if cur.Edited != nil && cur.Edited.User != "" && cur.Edited.User != s.ID {
		s = onrecord.Party{ID: cur.Edited.User}
	}
	ev := d.fromMessage(onrecord.KindEdit, m.Channel, m.ChannelType, cur)
	ev.Sender = s
	if d.botUsers[s.ID] {
		ev.Direction = onrecord.Outbound
	}
	setTime(&ev, editTS, m.EventTS)
	ev.Meta["slack_subtype"] = "message_changed"
	ev.Target = m.Channel + ":" + cur.TS
	ev.ProviderID = ev.Target + ":edit:" + editTS
	ev.Body = cur.Text
	ev.Subtype = contentSubtype(cur)
	if cur.ThreadTS != "" && cur.ThreadTS != cur.TS {
		ev.ReplyTo = m.Channel + ":" + cur.ThreadTS
	}
	if p := m.PreviousMessage; p != nil {
		ev.Meta["previous_text"] = p.Text
	}
	if ids := fileIDs(cur.Files); ids != "" {
		ev.Meta["files"] = ids
	}
	return ev
}

func editedTS(m *message) string {
	if m.Edited == nil {
		return ""
	}
	return m.Edited.TS
}

// parseDelete maps message_deleted (and a tombstoned thread parent): the
// deleted message's ts is the target; when it happened is the event's ts.
func (d *delivery) parseDelete(m *message, deletedTS string, prev *message, at string) connector.Event {
	if deletedTS == "" && prev != nil {
		deletedTS = prev.TS
	}
	if deletedTS == "" || m.Channel == "" {
		ev := d.fromMessage(onrecord.KindSystem, m.Channel, m.ChannelType, m)
		ev.Subtype = "message_deleted"
		ev.ProviderID = or(d.env.EventID, m.Channel+":"+m.TS+":message_deleted")
		ev.Meta["unsupported"] = "message_deleted without deleted_ts"
		return ev
	}
	author := prev
	if author == nil {
		author = &message{}
	}
	ev := d.fromMessage(onrecord.KindDelete, m.Channel, m.ChannelType, author)
	ev.Thread = ""
	setTime(&ev, at, m.EventTS)
	ev.Meta["slack_subtype"] = m.Subtype
	if m.Subtype == "message_changed" {
		ev.Meta["slack_subtype"] = "tombstone"
	}
	ev.Target = m.Channel + ":" + deletedTS
	ev.ProviderID = ev.Target + ":delete"
	if prev != nil {
		ev.Meta["previous_text"] = prev.Text
		if prev.ThreadTS != "" {
			ev.Thread = prev.ThreadTS
		}
		if ids := fileIDs(prev.Files); ids != "" {
			ev.Meta["files"] = ids
		}
	}
	return ev
}

// addFiles records the message's files as media to fetch. Files Slack has
// removed (tombstone) or hidden (free-plan limit) have nothing to fetch;
// Slack Connect files from another workspace may come without URLs
// (file_access "check_file_info"), so their id is kept and Fetch looks
// the URL up with files.info.
func addFiles(ev *connector.Event, files []file) {
	if len(files) == 0 {
		return
	}
	ev.Meta["files"] = fileIDs(files)
	var missing []string
	for _, f := range files {
		ref := or(f.URLPrivateDownload, f.URLPrivate)
		if ref == "" && f.Mode != "tombstone" && f.Mode != "hidden_by_limit" && f.ID != "" {
			ref = f.ID
		}
		if ref == "" {
			missing = append(missing, or(f.ID, "?")+"("+or(f.Mode, f.FileAccess, "no url")+")")
			continue
		}
		ev.Media = append(ev.Media, connector.MediaRef{
			Ref:         ref,
			Name:        or(f.Name, f.Title, f.ID, "file"),
			ContentType: f.Mimetype,
			Size:        max(f.Size, 0),
		})
	}
	if len(missing) > 0 {
		ev.Meta["files_unavailable"] = strings.Join(missing, ",")
	}
	ev.Meta["file_count"] = strconv.Itoa(len(files))
}

func fileIDs(files []file) string {
	ids := make([]string, 0, len(files))
	for _, f := range files {
		if f.ID != "" {
			ids = append(ids, f.ID)
		}
	}
	return strings.Join(ids, ",")
}
