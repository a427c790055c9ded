package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/app"
	"github.com/onrecord/onrecord/internal/archive"
	"github.com/onrecord/onrecord/internal/export"
	"github.com/onrecord/onrecord/internal/search"
	"github.com/onrecord/onrecord/internal/thread"
)

// show prints a conversation reconstructed from its records: every
// version of an edited message, deletions with the original preserved,
// reactions, statuses, attachments, names as they were at the time.
func (m *Main) show(ctx context.Context, args []string) int {
	fs, load := m.flags("show", "conversation [--zone Z] [--channel C] ID")
	zone := fs.String("zone", "UTC", "time zone for times shown")
	channel := fs.String("channel", "", "the channel, when the same conversation id exists on several")
	if len(args) == 0 || args[0] != "conversation" {
		fmt.Fprintln(m.Stderr, "Usage: onrecord show conversation [--zone Z] [--channel C] ID")
		return ExitUsage
	}
	cfg, code, ok := m.parse(fs, load, args[1:])
	if !ok {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(m.Stderr, "Usage: onrecord show conversation [--zone Z] [--channel C] ID")
		return ExitUsage
	}
	loc, err := time.LoadLocation(*zone)
	if err != nil {
		fmt.Fprintf(m.Stderr, "onrecord: --zone %q: %v\n", *zone, err)
		return ExitUsage
	}
	id := fs.Arg(0)
	var recs *app.ConversationRecords
	if srv := m.server(ctx, cfg); srv != nil {
		// A server has the data directory: ask it.
		recs = new(app.ConversationRecords)
		path := "/local/v1/conversations/" + url.PathEscape(id) + "?channel=" + url.QueryEscape(*channel)
		if code, err := srv.call(ctx, "GET", path, nil, recs); err != nil {
			if code == http.StatusNotFound {
				fmt.Fprintf(m.Stderr, "onrecord: no records in conversation %q\n", id)
				return ExitFailure
			}
			return m.fail(err)
		}
	} else {
		a, err := archive.Open(ctx, archive.Options{Config: cfg, Logger: m.logger(cfg), Warn: m.Stderr})
		if err != nil {
			return m.fail(err)
		}
		defer a.Close()
		match := func(ctx context.Context, q search.Query) ([]uint64, error) {
			return selectRecords(ctx, a, cfg.DataDir, q, nil)
		}
		if recs, err = app.Conversation(ctx, a, match, id, *channel, whoami()); err != nil {
			return m.fail(err)
		}
	}
	items := make([]export.Item, 0, len(recs.Records))
	for _, r := range recs.Records {
		items = append(items, export.Item{Seq: r.Seq, Event: r.Event})
	}
	if len(items) == 0 {
		fmt.Fprintf(m.Stderr, "onrecord: no records in conversation %q\n", id)
		return ExitFailure
	}
	// The same id on different channels is two conversations.
	for _, c := range export.Conversations(items) {
		printConversation(m.Stdout, thread.Build(c), loc)
	}
	return ExitOK
}

func printConversation(w io.Writer, c *thread.Conversation, loc *time.Location) {
	ts := func(t time.Time) string { return t.In(loc).Format("2006-01-02 15:04:05 MST") }
	title := c.ID
	if c.GroupName != "" {
		title = c.GroupName + " (" + c.ID + ")"
	}
	fmt.Fprintf(w, "%s conversation %s — %d records, %s to %s\n", c.Channel, title, len(c.Items), ts(c.First), ts(c.Last))
	for _, p := range c.Participants {
		var names []string
		for _, n := range p.Names {
			names = append(names, n.Name)
		}
		side := "external"
		if p.Organisation {
			side = "organisation"
		}
		fmt.Fprintf(w, "  participant %s %s [%s]\n", p.ID, strings.Join(names, " / "), side)
	}
	fmt.Fprintln(w)
	who := func(p onrecord.Party) string {
		if p.Name != "" {
			return p.Name
		}
		return p.ID
	}
	for _, e := range c.Timeline {
		switch e.Kind {
		case thread.EntryMessage:
			msg := e.Message
			ev := msg.Event
			arrow := "←"
			if ev.Direction == onrecord.Outbound {
				arrow = "→"
			}
			mark := ""
			if msg.IsDeleted() {
				mark = " [DELETED " + ts(msg.Deleted[0].Event.SentAt) + "; original preserved]"
			}
			fmt.Fprintf(w, "%s %s %s  #%d%s\n", ts(ev.SentAt), arrow, who(ev.Sender), msg.Seq, mark)
			for i, v := range msg.Versions {
				label := "    "
				if msg.Edited() {
					label = fmt.Sprintf("    v%d %s: ", i+1, ts(v.Event.SentAt))
				}
				fmt.Fprintf(w, "%s%s\n", label, indent(v.Event.Body))
			}
			for _, at := range msg.Attachments {
				state := fmt.Sprintf("%d bytes, sha256 %.12s…", at.Size, at.SHA256)
				if at.Error != "" {
					state = "not fetched: " + at.Error
				}
				fmt.Fprintf(w, "    📎 %s (%s) %s\n", at.Name, at.ContentType, state)
			}
			for _, r := range msg.Reactions {
				fmt.Fprintf(w, "    reaction %s by %s\n", r.Emoji, who(r.Sender))
			}
			for _, rc := range msg.Statuses {
				last := rc.Latest()
				fmt.Fprintf(w, "    %s to %s at %s%s\n", last.Status, who(rc.Party), ts(last.Event.SentAt), errSuffix(last.Error))
			}
		default:
			ev := e.Item.Event
			fmt.Fprintf(w, "%s   [%s %s %s] %s  #%d\n", ts(ev.SentAt), e.Kind, ev.Kind, ev.Subtype, indent(ev.Body), e.Item.Seq)
		}
	}
	fmt.Fprintln(w)
}

func errSuffix(s string) string {
	if s == "" {
		return ""
	}
	return " (" + s + ")"
}

func indent(s string) string { return strings.ReplaceAll(s, "\n", "\n      ") }
