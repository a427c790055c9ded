package transcript

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/export"
	"github.com/onrecord/onrecord/internal/thread"
)

// view is what a transcript says, as text ready to print: HTML and PDF
// render the same view, so the two formats cannot disagree on content.
type view struct {
	Title        string
	Channel      string
	Conversation string
	GroupName    string
	Zone         string
	Generated    string
	Period       string
	Records      int
	RecordBates  string
	Orphans      int
	Participants []participantView
	Entries      []entryView
}

type participantView struct {
	Name, ID            string
	Organisation        bool
	Earlier             []string
	FirstSeen, LastSeen string
}

// entryView is one timeline entry. Side is "own" for what the
// organisation sent, "other" for what it received, and "note" for entries
// that are not messages.
type entryView struct {
	Kind            string
	Side            string
	Anchor          string
	Day             string
	Heading         string
	Time            string
	TimeNote        string
	Bates           string
	Seq             uint64
	To              string
	Labels          []labelView
	Reply           *linkView
	Thread          *linkView
	Body            string
	Deleted         []noteView
	Versions        []noteView
	Attachments     []attachmentView
	Reactions       []string
	ReactionHistory []noteView
	Statuses        []statusView
	Duplicates      []noteView
	Details         []detailView
}

// noteView is a line about one record: what it says, when, and its
// production number. Label names it ("Original", "Edit 1").
type noteView struct {
	Label string
	Time  string
	Bates string
	Seq   uint64
	Text  string
}

type linkView struct{ Anchor, Text string }

// labelView marks an entry; Class is set for the marks a reader must not
// miss (edited, deleted).
type labelView struct{ Text, Class string }

type attachmentView struct {
	Name, Type, Size, SHA256, Ref, Error string
}

type statusView struct {
	Party  string
	Latest string
	Failed bool
	Steps  []noteView
}

type detailView struct{ Key, Value string }

const timeLayout = "2006-01-02 15:04:05 MST"

type viewer struct {
	opts  Options
	c     *thread.Conversation
	names map[string]*thread.Participant
}

func newView(c *thread.Conversation, opts Options) view {
	vw := viewer{opts: opts, c: c, names: map[string]*thread.Participant{}}
	for _, p := range c.Participants {
		vw.names[p.ID] = p
	}
	v := view{
		Title:        opts.Title,
		Channel:      c.Channel,
		Conversation: c.ID,
		GroupName:    c.GroupName,
		Zone:         opts.Location.String(),
		Generated:    vw.time(opts.Now()),
		Records:      len(c.Items),
		Orphans:      len(c.Orphans),
	}
	if len(c.Items) > 0 {
		v.Period = vw.time(c.First) + " – " + vw.time(c.Last)
	}
	v.RecordBates = batesRange(c.Items)
	for _, p := range c.Participants {
		pv := participantView{Name: p.Name(), ID: p.ID, Organisation: p.Organisation,
			FirstSeen: vw.time(p.FirstSeen), LastSeen: vw.time(p.LastSeen)}
		for _, n := range p.Names[:max(len(p.Names)-1, 0)] {
			pv.Earlier = append(pv.Earlier, fmt.Sprintf("%s (from %s)", n.Name, vw.time(n.FirstSeen)))
		}
		v.Participants = append(v.Participants, pv)
	}
	day := ""
	for _, e := range c.Timeline {
		ev := vw.entry(e)
		if d := e.At().In(opts.Location).Format("Monday, 2 January 2006"); d != day {
			ev.Day, day = d, d
		}
		v.Entries = append(v.Entries, ev)
	}
	return v
}

// batesRange is the lowest and highest production number of the items.
// Numbers are compared by length first so that "X10" follows "X9".
func batesRange(items []export.Item) string {
	var lo, hi string
	less := func(a, b string) bool { return cmp.Or(cmp.Compare(len(a), len(b)), strings.Compare(a, b)) < 0 }
	for _, it := range items {
		if it.Bates == "" {
			continue
		}
		if lo == "" || less(it.Bates, lo) {
			lo = it.Bates
		}
		if hi == "" || less(hi, it.Bates) {
			hi = it.Bates
		}
	}
	if lo == hi {
		return lo
	}
	return lo + " – " + hi
}

func (vw viewer) time(t time.Time) string { return t.In(vw.opts.Location).Format(timeLayout) }

// party names a party as the record captured it; a record without a name
// (edits and statuses often have none) gets the name the party had at
// that time, not a later one.
func (vw viewer) party(p onrecord.Party, at time.Time) string {
	name := p.Name
	if name == "" {
		if pt := vw.names[p.ID]; pt != nil {
			for _, n := range pt.Names {
				if !n.FirstSeen.After(at) || name == "" {
					name = n.Name
				}
			}
		}
	}
	switch {
	case p.ID == "":
		return cmp.Or(name, "unknown party")
	case name == "":
		return p.ID
	}
	return name + " (" + p.ID + ")"
}

func (vw viewer) note(label string, it export.Item, text string) noteView {
	return noteView{Label: label, Time: vw.time(it.Event.SentAt), Bates: it.Bates, Seq: it.Seq, Text: text}
}

func (vw viewer) base(it export.Item, side, kind string) entryView {
	ev := it.Event
	e := entryView{Kind: kind, Side: side, Anchor: fmt.Sprintf("rec-%d", it.Seq),
		Time: vw.time(ev.SentAt), Bates: it.Bates, Seq: it.Seq}
	if ev.SentAtIsReceipt {
		e.TimeNote = "time of receipt: the provider gave none"
	}
	return e
}

func (vw viewer) entry(e thread.Entry) entryView {
	if e.Kind == thread.EntryMessage {
		return vw.message(e.Message)
	}
	it := e.Item
	ev := it.Event
	out := vw.base(it, "note", string(e.Kind))
	who := vw.party(ev.Sender, ev.SentAt)
	switch e.Kind {
	case thread.EntryUnparsed:
		sum := sha256.Sum256(ev.Raw)
		out.Heading = "Unparsed delivery, kept raw"
		out.Details = []detailView{{"provider id", ev.ProviderID}, {"raw size", size(len(ev.Raw))},
			{"raw SHA-256", hex.EncodeToString(sum[:])}}
		return out
	case thread.EntryStatus:
		out.Heading = fmt.Sprintf("%s: status %q", who, ev.Status)
	case thread.EntryOrphan:
		out.Labels = []labelView{{Text: "message not in this production"}}
		switch ev.Kind {
		case onrecord.KindEdit:
			out.Heading = who + " edited a message that is not in this production"
			out.Body = ev.Body
		case onrecord.KindDelete:
			out.Heading = who + " deleted a message that is not in this production"
		case onrecord.KindReaction:
			if r := reactionText(ev); r != "" {
				out.Heading = fmt.Sprintf("%s reacted %s to a message that is not in this production", who, r)
			} else {
				out.Heading = who + " removed a reaction from a message that is not in this production"
			}
		case onrecord.KindStatus:
			out.Heading = fmt.Sprintf("Status %q for a message that is not in this production", ev.Status)
		}
		out.Details = append(out.Details, detailView{"target", ev.Target})
	default:
		out.Heading = "System event by " + who
		if ev.Kind != onrecord.KindSystem {
			out.Heading = fmt.Sprintf("Record of kind %q by %s", ev.Kind, who)
		}
		if ev.Subtype != "" {
			out.Labels = append(out.Labels, labelView{Text: ev.Subtype})
		}
		out.Body = ev.Body
	}
	out.Details = append(out.Details, details(ev)...)
	return out
}

func (vw viewer) message(m *thread.Message) entryView {
	ev := m.Event
	side := "other"
	if ev.Direction == onrecord.Outbound {
		side = "own"
	}
	out := vw.base(m.Item, side, "message")
	out.Heading = vw.party(ev.Sender, ev.SentAt)
	var to []string
	for _, p := range ev.Recipients {
		to = append(to, vw.party(p, ev.SentAt))
	}
	out.To = strings.Join(to, ", ")
	out.Body = m.Text()

	if m.Edited() {
		out.Labels = append(out.Labels, labelView{"edited", "edited"})
		for i, v := range m.Versions {
			label := "Original"
			if i > 0 {
				label = fmt.Sprintf("Edit %d", i)
			}
			if i == len(m.Versions)-1 {
				label += " (current)"
			}
			out.Versions = append(out.Versions, vw.note(label, v, v.Event.Body))
		}
	}
	if m.IsDeleted() {
		out.Labels = append(out.Labels, labelView{"deleted", "deleted"})
		for _, d := range m.Deleted {
			text := "Deleted by " + vw.party(d.Event.Sender, d.Event.SentAt)
			if d.Event.Subtype != "" {
				text += " (" + d.Event.Subtype + ")"
			}
			out.Deleted = append(out.Deleted, vw.note("Deleted", d, text))
		}
	}
	if ev.Forwarded {
		out.Labels = append(out.Labels, labelView{Text: "forwarded"})
	}
	if ev.Subtype != "" && ev.Subtype != "text" {
		out.Labels = append(out.Labels, labelView{Text: ev.Subtype})
	}
	if ev.ExpiresInSeconds > 0 {
		out.Labels = append(out.Labels, labelView{Text: "disappearing after " + timer(ev.ExpiresInSeconds) + ", kept by the archive"})
	}

	switch {
	case m.ReplyTo != nil:
		out.Reply = &linkView{Anchor: fmt.Sprintf("rec-%d", m.ReplyTo.Seq),
			Text: fmt.Sprintf("In reply to %s%s: %s", vw.party(m.ReplyTo.Event.Sender, m.ReplyTo.Event.SentAt), batesNote(m.ReplyTo.Bates), snippet(textAt(m.ReplyTo, ev.SentAt)))}
	case ev.ReplyTo != "":
		out.Reply = &linkView{Text: fmt.Sprintf("In reply to message %s, which is not in this production", ev.ReplyTo)}
	}
	switch {
	case m.ThreadRoot != nil && m.ThreadRoot != m.ReplyTo:
		out.Thread = &linkView{Anchor: fmt.Sprintf("rec-%d", m.ThreadRoot.Seq),
			Text: fmt.Sprintf("In the thread started by %s%s: %s", vw.party(m.ThreadRoot.Event.Sender, m.ThreadRoot.Event.SentAt), batesNote(m.ThreadRoot.Bates), snippet(textAt(m.ThreadRoot, ev.SentAt)))}
	case m.ThreadRoot == nil && ev.Thread != "" && m.ReplyTo == nil:
		out.Thread = &linkView{Text: fmt.Sprintf("In thread %s", ev.Thread)}
	}

	for _, a := range m.Attachments {
		av := attachmentView{Name: a.Name, Type: cmp.Or(a.ContentType, "unknown type"), Ref: a.Ref, Error: a.Error}
		if a.SHA256 != "" {
			av.Size, av.SHA256 = size(a.Size), a.SHA256
		} else if a.Error == "" {
			av.Error = "no content was archived"
		}
		out.Attachments = append(out.Attachments, av)
	}
	for _, r := range m.Reactions {
		out.Reactions = append(out.Reactions, r.Emoji+" "+vw.party(r.Sender, r.Event.SentAt))
	}
	for _, r := range m.ReactionHistory {
		who := vw.party(r.Sender, r.Event.SentAt)
		text := who + " reacted " + r.Emoji
		switch {
		case r.Removed && r.Emoji != "":
			text = who + " removed the reaction " + r.Emoji
		case r.Removed:
			text = who + " removed their reaction"
		}
		out.ReactionHistory = append(out.ReactionHistory, vw.note("", r.Item, text))
	}
	for _, rc := range m.Statuses {
		latest := rc.Latest()
		sv := statusView{Party: vw.party(rc.Party, latest.Event.SentAt), Latest: latest.Status, Failed: failed(latest.Status)}
		for _, s := range rc.Statuses {
			text := s.Status
			if s.Error != "" {
				text += ": " + s.Error
			}
			sv.Steps = append(sv.Steps, vw.note("", s.Item, text))
		}
		out.Statuses = append(out.Statuses, sv)
	}
	for _, d := range m.Duplicates {
		text := "Same record again (a retry)"
		if d.Event.Kind == onrecord.KindMessage && d.Event.Body != ev.Body {
			text = "Another record with this message's provider id says: " + d.Event.Body
		} else if d.Event.Kind != onrecord.KindMessage {
			text = fmt.Sprintf("Same %s record again (a retry)", d.Event.Kind)
		}
		out.Duplicates = append(out.Duplicates, vw.note("", d, text))
	}
	out.Details = details(ev)
	return out
}

// textAt is a message's text as it read at a time: a reply quotes the
// version its sender saw, not an edit made afterwards.
func textAt(m *thread.Message, at time.Time) string {
	text := m.Versions[0].Event.Body
	for _, v := range m.Versions[1:] {
		if v.Event.SentAt.After(at) {
			break
		}
		text = v.Event.Body
	}
	return text
}

// details lists the structured content that has no field of its own
// (coordinates, contacts, button payloads) in key order.
func details(ev *onrecord.Event) []detailView {
	var out []detailView
	for _, k := range slices.Sorted(maps.Keys(ev.Meta)) {
		out = append(out, detailView{k, ev.Meta[k]})
	}
	return out
}

func reactionText(ev *onrecord.Event) string {
	if ev.Emoji != "" {
		return ev.Emoji
	}
	return ev.Meta["removed_emoji"]
}

func failed(status string) bool {
	switch strings.ToLower(status) {
	case "failed", "undelivered":
		return true
	}
	return false
}

func batesNote(b string) string {
	if b == "" {
		return ""
	}
	return " (" + b + ")"
}

// snippet shortens a quoted message to one line of at most 80 runes.
func snippet(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 80 {
		return string(r[:79]) + "…"
	}
	return s
}

func size(n int) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d bytes", n)
	}
	f, u := float64(n), "KiB"
	for _, next := range []string{"MiB", "GiB", "TiB"} {
		if f/unit < unit {
			break
		}
		f, u = f/unit, next
	}
	return fmt.Sprintf("%.1f %s (%d bytes)", f/unit, u, n)
}

// timer says a disappearing-message timer the way the apps do.
func timer(sec int) string {
	unit := func(n int, name string) string {
		if n == 1 {
			return "1 " + name
		}
		return fmt.Sprintf("%d %ss", n, name)
	}
	switch {
	case sec%86400 == 0:
		return unit(sec/86400, "day")
	case sec%3600 == 0:
		return unit(sec/3600, "hour")
	case sec%60 == 0:
		return unit(sec/60, "minute")
	}
	return unit(sec, "second")
}
