package slack

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/connector"
)

// receivedAt is when the fixtures "arrive"; only events with no time of
// their own take it.
var receivedAt = time.Date(2026, 3, 2, 16, 0, 0, 0, time.UTC)

func ts(tb testing.TB, s string) time.Time { return slackTime(tb, s) }

func TestParse_Fixtures(t *testing.T) {
	const team = "T0HTB00001"
	tests := []struct {
		fixture string
		want    func(t *testing.T) connector.Event
	}{
		{"message_channel.json", func(t *testing.T) connector.Event {
			return ev(onrecord.Event{Kind: onrecord.KindMessage, ProviderID: "C0WEALTH01:1772461847.001013", Conversation: "C0WEALTH01",
				Direction: onrecord.Inbound, Sender: onrecord.Party{ID: "U0HTB0MCHN", Name: "Maria Chen"}, SentAt: ts(t, "1772461847.001013"),
				Body:    "Quarterly review pack for the Weber Family Office is ready. <@U0WFO0JWBR> please confirm Thursday 10:00 works.",
				Subtype: "text", Group: true,
				Meta: map[string]string{"channel_type": "channel", "client_msg_id": "5c8a33e6-81d9-4b3a-9d5a-0f1e2c3b4a59", "event_id": "Ev0HTB000001", "ext_shared": "true", "team_id": team}})
		}},
		{"message_im.json", func(t *testing.T) connector.Event {
			return ev(onrecord.Event{Kind: onrecord.KindMessage, ProviderID: "D0HTBJWB01:1772461900.000200", Conversation: "D0HTBJWB01",
				Direction: onrecord.Inbound, Sender: onrecord.Party{ID: "U0WFO0JWBR"}, SentAt: ts(t, "1772461900.000200"),
				Body:    "Hi Maria, can we move 250k from the money market fund into treasuries before Friday? Merci, Jönas",
				Subtype: "text",
				Meta: map[string]string{"channel_type": "im", "client_msg_id": "0b1c2d3e-4f50-4617-8a9b-0c1d2e3f4a5b", "event_id": "Ev0HTB000002",
					"ext_shared": "true", "sender_team": "T0WEBERFO1", "team_id": team}})
		}},
		{"thread_reply.json", func(t *testing.T) connector.Event {
			return ev(onrecord.Event{Kind: onrecord.KindMessage, ProviderID: "C0WEALTH01:1772461990.002100", Conversation: "C0WEALTH01",
				Direction: onrecord.Inbound, Sender: onrecord.Party{ID: "U0WFO0JWBR"}, SentAt: ts(t, "1772461990.002100"),
				Body: "Thursday works. Can Sofia join for the tax questions?", Subtype: "text", Group: true,
				Thread: "1772461847.001013", ReplyTo: "C0WEALTH01:1772461847.001013",
				Meta: map[string]string{"channel_type": "channel", "client_msg_id": "7aa1b2c3-d4e5-46f7-8a9b-c0d1e2f3a4b5", "event_id": "Ev0HTB000003",
					"ext_shared": "true", "parent_user_id": "U0HTB0MCHN", "sender_team": "T0WEBERFO1", "team_id": team}})
		}},
		{"thread_broadcast.json", func(t *testing.T) connector.Event {
			return ev(onrecord.Event{Kind: onrecord.KindMessage, ProviderID: "C0WEALTH01:1772462050.003300", Conversation: "C0WEALTH01",
				Direction: onrecord.Inbound, Sender: onrecord.Party{ID: "U0HTB0SALV"}, SentAt: ts(t, "1772462050.003300"),
				Body: "Happy to join. Note the pack excludes the trust accounts.", Subtype: "text", Group: true,
				Thread: "1772461847.001013", ReplyTo: "C0WEALTH01:1772461847.001013",
				Meta: map[string]string{"broadcast": "true", "channel_type": "channel", "client_msg_id": "9e8d7c6b-5a49-4382-b716-a5f4e3d2c1b0",
					"event_id": "Ev0HTB000004", "ext_shared": "true", "slack_subtype": "thread_broadcast", "team_id": team}})
		}},
		{"message_changed.json", func(t *testing.T) connector.Event {
			return ev(onrecord.Event{Kind: onrecord.KindEdit, ProviderID: "C0WEALTH01:1772461847.001013:edit:1772462100.000400",
				Target: "C0WEALTH01:1772461847.001013", Conversation: "C0WEALTH01", Direction: onrecord.Inbound,
				Sender: onrecord.Party{ID: "U0HTB0MCHN"}, SentAt: ts(t, "1772462100.000400"),
				Body: "Quarterly review pack is ready. Please confirm Thursday 11:00 works.", Subtype: "text", Group: true,
				Meta: map[string]string{"channel_type": "channel", "event_id": "Ev0HTB000005", "ext_shared": "true",
					"previous_text": "Quarterly review pack is ready. Please confirm Thursday 10:00 works.", "slack_subtype": "message_changed", "team_id": team}})
		}},
		{"message_deleted.json", func(t *testing.T) connector.Event {
			return ev(onrecord.Event{Kind: onrecord.KindDelete, ProviderID: "D0HTBJWB01:1772461900.000200:delete",
				Target: "D0HTBJWB01:1772461900.000200", Conversation: "D0HTBJWB01", Direction: onrecord.Inbound,
				Sender: onrecord.Party{ID: "U0WFO0JWBR"}, SentAt: ts(t, "1772462160.000500"),
				Meta: map[string]string{"channel_type": "im", "event_id": "Ev0HTB000006", "ext_shared": "true", "previous_text": "my online banking password is",
					"sender_team": "T0WEBERFO1", "slack_subtype": "message_deleted", "team_id": team}})
		}},
		{"message_tombstone.json", func(t *testing.T) connector.Event {
			return ev(onrecord.Event{Kind: onrecord.KindDelete, ProviderID: "C0WEALTH01:1772461847.001013:delete",
				Target: "C0WEALTH01:1772461847.001013", Conversation: "C0WEALTH01", Direction: onrecord.Inbound,
				Sender: onrecord.Party{ID: "U0HTB0MCHN"}, SentAt: ts(t, "1772462222.000600"), Thread: "1772461847.001013", Group: true,
				Meta: map[string]string{"channel_type": "channel", "event_id": "Ev0HTB000007", "ext_shared": "true",
					"previous_text": "Quarterly review pack is ready. Please confirm Thursday 11:00 works.", "slack_subtype": "tombstone", "team_id": team}})
		}},
		{"file_share.json", func(t *testing.T) connector.Event {
			e := ev(onrecord.Event{Kind: onrecord.KindMessage, ProviderID: "G0RATESDK1:1772462300.004400", Conversation: "G0RATESDK1",
				Direction: onrecord.Inbound, Sender: onrecord.Party{ID: "U0RCP0PRMN"}, SentAt: ts(t, "1772462300.004400"),
				Body: "Term sheet and our hedge book attached.", Subtype: "file_share", Group: true,
				Meta: map[string]string{"channel_type": "group", "client_msg_id": "2f3e4d5c-6b7a-4891-a0b1-c2d3e4f5a6b7", "event_id": "Ev0HTB000008",
					"file_count": "4", "files": "F0RCPTS001,F0RCPHB001,F0RCPOLD01,F0RCPEXT01", "files_unavailable": "F0RCPOLD01(tombstone)",
					"slack_subtype": "file_share", "team_id": team}})
			e.Media = []connector.MediaRef{
				{Ref: "https://files.slack.com/files-pri/T0HTB00001-F0RCPTS001/download/term_sheet.png", Name: "term_sheet.png", ContentType: "image/png", Size: 48213},
				{Ref: "https://files.slack.com/files-pri/T0HTB00001-F0RCPHB001/hedge_book.xlsx", Name: "hedge_book.xlsx", ContentType: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", Size: 90122},
				{Ref: "F0RCPEXT01", Name: "F0RCPEXT01"},
			}
			return e
		}},
		{"bot_message.json", func(t *testing.T) connector.Event {
			return ev(onrecord.Event{Kind: onrecord.KindMessage, ProviderID: "G0RATESDK1:1772462400.005500", Conversation: "G0RATESDK1",
				Direction: onrecord.Outbound, Sender: onrecord.Party{ID: "B0RISKBOT1", Name: "Risk Limits"}, SentAt: ts(t, "1772462400.005500"),
				Body: "Daily limits refreshed: desk utilisation 63%.", Subtype: "bot_message", Group: true,
				Meta: map[string]string{"channel_type": "group", "event_id": "Ev0HTB000009", "slack_subtype": "bot_message", "team_id": team}})
		}},
		{"app_message.json", func(t *testing.T) connector.Event {
			return ev(onrecord.Event{Kind: onrecord.KindMessage, ProviderID: "D0HTBJWB01:1772462450.005600", Conversation: "D0HTBJWB01",
				Direction: onrecord.Outbound, Sender: onrecord.Party{ID: "U0ONRECBOT", Name: "onrecord"}, SentAt: ts(t, "1772462450.005600"),
				Body: "Reminder: this conversation is recorded.", Subtype: "text",
				Meta: map[string]string{"channel_type": "im", "event_id": "Ev0HTB000010", "ext_shared": "true", "team_id": team}})
		}},
		{"me_message.json", func(t *testing.T) connector.Event {
			return ev(onrecord.Event{Kind: onrecord.KindMessage, ProviderID: "G0MPIMHTB1:1772462500.006600", Conversation: "G0MPIMHTB1",
				Direction: onrecord.Inbound, Sender: onrecord.Party{ID: "U0HTB0MCHN"}, SentAt: ts(t, "1772462500.006600"),
				Body: "is checking the settlement instructions", Subtype: "me_message", Group: true,
				Meta: map[string]string{"channel_type": "mpim", "event_id": "Ev0HTB000011", "slack_subtype": "me_message", "team_id": team}})
		}},
		{"channel_join.json", func(t *testing.T) connector.Event {
			return ev(onrecord.Event{Kind: onrecord.KindSystem, ProviderID: "C0WEALTH01:1772462550.007700", Conversation: "C0WEALTH01",
				Direction: onrecord.Inbound, Sender: onrecord.Party{ID: "U0HTB0DOKF"}, SentAt: ts(t, "1772462550.007700"),
				Body: "<@U0HTB0DOKF> has joined the channel", Subtype: "channel_join", Group: true,
				Meta: map[string]string{"channel_type": "channel", "event_id": "Ev0HTB000012", "ext_shared": "true", "inviter": "U0HTB0MCHN",
					"slack_subtype": "channel_join", "team_id": team}})
		}},
		{"reaction_added.json", func(t *testing.T) connector.Event {
			return ev(onrecord.Event{Kind: onrecord.KindReaction, ProviderID: "Ev0HTB000013", Target: "D0HTBJWB01:1772461900.000200",
				Conversation: "D0HTBJWB01", Direction: onrecord.Inbound, Sender: onrecord.Party{ID: "U0HTB0MCHN"}, SentAt: ts(t, "1772462600.008800"),
				Emoji: ":white_check_mark:", Subtype: "emoji",
				Meta: map[string]string{"channel_type": "im", "event_id": "Ev0HTB000013", "ext_shared": "true", "item_type": "message",
					"item_user": "U0WFO0JWBR", "reaction": "white_check_mark", "team_id": team}})
		}},
		{"reaction_removed.json", func(t *testing.T) connector.Event {
			return ev(onrecord.Event{Kind: onrecord.KindReaction, ProviderID: "Ev0HTB000014", Target: "D0HTBJWB01:1772461900.000200",
				Conversation: "D0HTBJWB01", Direction: onrecord.Inbound, Sender: onrecord.Party{ID: "U0HTB0MCHN"}, SentAt: ts(t, "1772462650.009900"),
				Subtype: "emoji",
				Meta: map[string]string{"channel_type": "im", "event_id": "Ev0HTB000014", "ext_shared": "true", "item_type": "message",
					"item_user": "U0WFO0JWBR", "reaction": "white_check_mark", "removed": "true", "team_id": team}})
		}},
		{"file_shared.json", func(t *testing.T) connector.Event {
			return ev(onrecord.Event{Kind: onrecord.KindSystem, ProviderID: "Ev0HTB000015", Conversation: "G0RATESDK1", Direction: onrecord.Inbound,
				Sender: onrecord.Party{ID: "U0RCP0PRMN"}, SentAt: ts(t, "1772462301.000100"), Subtype: "file_shared", Group: true,
				Meta: map[string]string{"channel_id": "G0RATESDK1", "channel_type": "group", "event_id": "Ev0HTB000015", "event_ts": "1772462301.000100",
					"file_id": "F0RCPTS001", "team_id": team, "user_id": "U0RCP0PRMN"}})
		}},
		{"file_deleted.json", func(t *testing.T) connector.Event {
			return ev(onrecord.Event{Kind: onrecord.KindSystem, ProviderID: "Ev0HTB000016", Conversation: team, Direction: onrecord.Inbound,
				Sender: onrecord.Party{ID: "slack", Name: "Slack"}, SentAt: ts(t, "1772462700.000200"), Subtype: "file_deleted",
				Meta: map[string]string{"event_id": "Ev0HTB000016", "event_ts": "1772462700.000200", "file_id": "F0RCPHB001", "team_id": team}})
		}},
		{"member_joined_channel.json", func(t *testing.T) connector.Event {
			return ev(onrecord.Event{Kind: onrecord.KindSystem, ProviderID: "Ev0HTB000017", Conversation: "G0RATESDK1", Direction: onrecord.Inbound,
				Sender: onrecord.Party{ID: "U0HTB0SALV"}, SentAt: ts(t, "1772462750.000300"), Subtype: "member_joined_channel", Group: true,
				Meta: map[string]string{"channel": "G0RATESDK1", "channel_type": "group", "event_id": "Ev0HTB000017", "event_ts": "1772462750.000300",
					"inviter": "U0HTB0DOKF", "team": team, "team_id": team, "user": "U0HTB0SALV"}})
		}},
		{"channel_created.json", func(t *testing.T) connector.Event {
			return ev(onrecord.Event{Kind: onrecord.KindSystem, ProviderID: "Ev0HTB000018", Conversation: "C0RAMANFX1", Direction: onrecord.Inbound,
				Sender: onrecord.Party{ID: "U0HTB0DOKF"}, SentAt: ts(t, "1772462800.000400"), Subtype: "channel_created", Group: true,
				GroupName: "raman-capital-fx",
				Meta:      map[string]string{"channel_id": "C0RAMANFX1", "channel_type": "channel", "event_id": "Ev0HTB000018", "event_ts": "1772462800.000400", "team_id": team}})
		}},
		{"app_home_opened.json", func(t *testing.T) connector.Event {
			return ev(onrecord.Event{Kind: onrecord.KindSystem, ProviderID: "Ev0HTB000019", Conversation: "D0APPHOME1", Direction: onrecord.Inbound,
				Sender: onrecord.Party{ID: "U0HTB0DOKF"}, SentAt: ts(t, "1772462850.000500"), Subtype: "app_home_opened",
				Meta: map[string]string{"channel": "D0APPHOME1", "channel_type": "im", "event_id": "Ev0HTB000019", "event_ts": "1772462850.000500", "tab": "home",
					"team_id": team, "unsupported": "event type app_home_opened", "user": "U0HTB0DOKF", "view_id": "V0HOME0001"}})
		}},
		{"app_rate_limited.json", func(t *testing.T) connector.Event {
			// Slack's documented example: 1518467820 is 2018-02-12 20:37:00 UTC.
			return ev(onrecord.Event{Kind: onrecord.KindSystem, ProviderID: "app_rate_limited:T123456:A123456:1518467820", Conversation: "T123456",
				Direction: onrecord.Inbound, Sender: onrecord.Party{ID: "slack", Name: "Slack"}, SentAt: time.Date(2018, 2, 12, 20, 37, 0, 0, time.UTC),
				Body:    "Slack is dropping this app's events for workspace T123456 (more than 30,000 events in an hour); events from this minute on are missing from the archive until the limit lifts",
				Subtype: "app_rate_limited", Meta: map[string]string{"minute_rate_limited": "1518467820", "team_id": "T123456"}})
		}},
		{"slackgo_signed_body.json", func(t *testing.T) connector.Event {
			// app_mention: the same provider id and kind as the message event
			// for the same ts, so the archive keeps one record.
			return ev(onrecord.Event{Kind: onrecord.KindMessage, ProviderID: "TTTTTTTTT:1531431954.000073", Conversation: "TTTTTTTTT",
				Direction: onrecord.Inbound, Sender: onrecord.Party{ID: "AAAAAAAAA"}, SentAt: ts(t, "1531431954.000073"),
				Body: "<@EEEEEEEEE> hello world", Subtype: "text",
				Meta: map[string]string{"client_msg_id": "477cc591-ch73-a14z-4db8-g0cd76321bec", "event_id": "TvBP7LRED7", "team_id": "XXXXXXXXX"}})
		}},
		{"slackdocs_signing_example_body.form", func(t *testing.T) connector.Event {
			return ev(onrecord.Event{Kind: onrecord.KindMessage, ProviderID: "398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c",
				Conversation: "G8PSS9T3V", Direction: onrecord.Inbound, Sender: onrecord.Party{ID: "U2CERLKJA", Name: "roadrunner"},
				SentAt: receivedAt, Body: "/webhook-collect", Subtype: "slash_command", Group: true, GroupName: "foobar",
				Meta: map[string]string{"channel_name": "foobar", "channel_type": "group", "command": "/webhook-collect", "team_domain": "testteamnow", "team_id": "T1DC2JH3J"}})
		}},
	}
	c := mustNew(t, connector.Config{})
	for _, tt := range tests {
		t.Run(strings.TrimSuffix(tt.fixture, ".json"), func(t *testing.T) {
			req := &connector.Request{Method: "POST", Body: readFixture(t, tt.fixture), ReceivedAt: receivedAt}
			got, err := c.Parse(req)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if len(got) != 1 {
				t.Fatalf("got %d events, want 1", len(got))
			}
			want := tt.want(t)
			assertEvent(t, got[0], want)
			// A retry is the same body: the same events.
			req.Header = map[string][]string{"X-Slack-Retry-Num": {"2"}, "X-Slack-Retry-Reason": {"http_timeout"}}
			req.ReceivedAt = receivedAt.Add(5 * time.Minute)
			again, err := c.Parse(req)
			if err != nil || len(again) != 1 || again[0].ProviderID != got[0].ProviderID || again[0].Kind != got[0].Kind {
				t.Errorf("retry parsed differently: %+v, %v", again, err)
			}
		})
	}
}

func ev(e onrecord.Event) connector.Event { return connector.Event{Event: e} }

// assertEvent compares field by field so a failure names the field, and
// checks the event would pass the archive's validation.
func assertEvent(t *testing.T, got, want connector.Event) {
	t.Helper()
	g, w := got.Event, want.Event
	fields := []struct {
		name      string
		got, want any
	}{
		{"Kind", g.Kind, w.Kind}, {"ProviderID", g.ProviderID, w.ProviderID}, {"Target", g.Target, w.Target},
		{"Conversation", g.Conversation, w.Conversation}, {"Direction", g.Direction, w.Direction}, {"Sender", g.Sender, w.Sender},
		{"Recipients", g.Recipients, w.Recipients}, {"SentAt", g.SentAt, w.SentAt}, {"Body", g.Body, w.Body}, {"Emoji", g.Emoji, w.Emoji},
		{"Status", g.Status, w.Status}, {"Subtype", g.Subtype, w.Subtype}, {"ReplyTo", g.ReplyTo, w.ReplyTo}, {"Thread", g.Thread, w.Thread},
		{"Group", g.Group, w.Group}, {"GroupName", g.GroupName, w.GroupName}, {"Meta", g.Meta, w.Meta}, {"Media", got.Media, want.Media},
		{"Channel (gateway's)", g.Channel, ""}, {"Raw (gateway's)", g.Raw, []byte(nil)}, {"CapturedAt (gateway's)", g.CapturedAt, time.Time{}},
	}
	for _, f := range fields {
		if !reflect.DeepEqual(f.got, f.want) {
			t.Errorf("%s = %#v\n want %#v", f.name, f.got, f.want)
		}
	}
	g.Channel = "slack-test"
	if err := g.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}
