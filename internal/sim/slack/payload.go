package slacksim

import (
	"fmt"
	"net/url"
	"time"

	"github.com/onrecord/onrecord/internal/sim"
)

// The types below are the Events API wire format, fields in the order Slack
// sends them.

type outer struct {
	Token              string   `json:"token"`
	TeamID             string   `json:"team_id"`
	APIAppID           string   `json:"api_app_id"`
	Event              any      `json:"event"`
	Type               string   `json:"type"`
	EventID            string   `json:"event_id"`
	EventTime          int64    `json:"event_time"`
	Authorizations     []authzn `json:"authorizations"`
	IsExtSharedChannel bool     `json:"is_ext_shared_channel"`
	EventContext       string   `json:"event_context"`
}

type authzn struct {
	EnterpriseID        *string `json:"enterprise_id"`
	TeamID              string  `json:"team_id"`
	UserID              string  `json:"user_id"`
	IsBot               bool    `json:"is_bot"`
	IsEnterpriseInstall bool    `json:"is_enterprise_install"`
}

type msg struct {
	ClientMsgID     string      `json:"client_msg_id,omitempty"`
	Type            string      `json:"type"`
	Subtype         string      `json:"subtype,omitempty"`
	Hidden          bool        `json:"hidden,omitempty"`
	Text            string      `json:"text,omitempty"`
	User            string      `json:"user,omitempty"`
	BotID           string      `json:"bot_id,omitempty"`
	AppID           string      `json:"app_id,omitempty"`
	Username        string      `json:"username,omitempty"`
	Files           []simFile   `json:"files,omitempty"`
	Upload          bool        `json:"upload,omitempty"`
	UserProfile     *profile    `json:"user_profile,omitempty"`
	BotProfile      *botProfile `json:"bot_profile,omitempty"`
	Topic           string      `json:"topic,omitempty"`
	Inviter         string      `json:"inviter,omitempty"`
	Message         *msg        `json:"message,omitempty"`
	PreviousMessage *msg        `json:"previous_message,omitempty"`
	Edited          *editedBy   `json:"edited,omitempty"`
	DeletedTS       string      `json:"deleted_ts,omitempty"`
	TS              string      `json:"ts,omitempty"`
	ThreadTS        string      `json:"thread_ts,omitempty"`
	ParentUserID    string      `json:"parent_user_id,omitempty"`
	Team            string      `json:"team,omitempty"`
	Channel         string      `json:"channel,omitempty"`
	EventTS         string      `json:"event_ts,omitempty"`
	ChannelType     string      `json:"channel_type,omitempty"`
}

type profile struct {
	AvatarHash        string `json:"avatar_hash"`
	Image72           string `json:"image_72"`
	FirstName         string `json:"first_name"`
	RealName          string `json:"real_name"`
	DisplayName       string `json:"display_name"`
	Team              string `json:"team"`
	Name              string `json:"name"`
	IsRestricted      bool   `json:"is_restricted"`
	IsUltraRestricted bool   `json:"is_ultra_restricted"`
}

type botProfile struct {
	ID      string `json:"id"`
	Deleted bool   `json:"deleted"`
	Name    string `json:"name"`
	Updated int64  `json:"updated"`
	AppID   string `json:"app_id"`
	TeamID  string `json:"team_id"`
}

type editedBy struct {
	User string `json:"user"`
	TS   string `json:"ts"`
}

type simFile struct {
	ID                 string `json:"id"`
	Created            int64  `json:"created"`
	Timestamp          int64  `json:"timestamp"`
	Name               string `json:"name"`
	Title              string `json:"title"`
	Mimetype           string `json:"mimetype"`
	Filetype           string `json:"filetype"`
	PrettyType         string `json:"pretty_type"`
	User               string `json:"user"`
	UserTeam           string `json:"user_team"`
	Editable           bool   `json:"editable"`
	Size               int    `json:"size"`
	Mode               string `json:"mode"`
	IsExternal         bool   `json:"is_external"`
	ExternalType       string `json:"external_type"`
	IsPublic           bool   `json:"is_public"`
	PublicURLShared    bool   `json:"public_url_shared"`
	DisplayAsBot       bool   `json:"display_as_bot"`
	Username           string `json:"username"`
	FileAccess         string `json:"file_access,omitempty"`
	URLPrivate         string `json:"url_private,omitempty"`
	URLPrivateDownload string `json:"url_private_download,omitempty"`
	Permalink          string `json:"permalink,omitempty"`
}

type reactionEvent struct {
	Type     string       `json:"type"`
	User     string       `json:"user"`
	Reaction string       `json:"reaction"`
	Item     reactionItem `json:"item"`
	ItemUser string       `json:"item_user"`
	EventTS  string       `json:"event_ts"`
}

type reactionItem struct {
	Type    string `json:"type"`
	Channel string `json:"channel"`
	TS      string `json:"ts"`
}

// person is a member of the simulated workspace or a Slack Connect guest.
type person struct {
	sim.Person
	Team  string
	First string
}

// conversation is a channel with its members.
type conversation struct {
	ID, Name, Type string
	Members        []person
}

// slackTS formats a time as a Slack ts.
func slackTS(t time.Time) string {
	return fmt.Sprintf("%d.%06d", t.Unix(), t.Nanosecond()/1000)
}

// envelope wraps an inner event as an event_callback.
func (s *Sim) envelope(ev any, eventID string, at time.Time, extShared bool) outer {
	return outer{
		Token:    "Zq3rVNRh8c5zPmxkZkJQ0Fnz",
		TeamID:   s.opts.TeamID,
		APIAppID: s.opts.APIAppID,
		Event:    ev,
		Type:     "event_callback",
		EventID:  eventID, EventTime: at.Unix(),
		Authorizations:     []authzn{{TeamID: s.opts.TeamID, UserID: s.opts.BotUserID, IsBot: true}},
		IsExtSharedChannel: extShared,
		EventContext:       "4-eyJldCI6Im1lc3NhZ2UiLCJ0aWQiOiJUMEhUQjAwMDAxIn0",
	}
}

// newFile describes a file shared by p, registering it for files.info.
func (s *Sim) newFile(id, name, title, mimetype, filetype, pretty string, p person, at time.Time, withURL bool) simFile {
	f := simFile{
		ID: id, Created: at.Unix(), Timestamp: at.Unix(), Name: name, Title: title, Mimetype: mimetype,
		Filetype: filetype, PrettyType: pretty, User: p.ID, UserTeam: p.Team, Size: len(FileContent(id)),
		Mode: "hosted", ExternalType: "", Username: "",
	}
	s.mu.Lock()
	s.files[id] = f
	s.mu.Unlock()
	if withURL {
		f.URLPrivate, f.URLPrivateDownload = s.fileURLs(id, url.PathEscape(name))
		f.Permalink = "https://harbortrust.slack.com/files/" + p.ID + "/" + id + "/" + url.PathEscape(name)
	} else {
		f.FileAccess = "check_file_info"
	}
	return f
}

func (p person) profile() *profile {
	return &profile{
		AvatarHash: "g" + p.ID[len(p.ID)-6:], Image72: "https://avatars.slack-edge.com/2025-01-10/" + p.ID + "_72.png",
		FirstName: p.First, RealName: p.Name, DisplayName: p.First, Team: p.Team, Name: p.First,
	}
}
