package rsmf

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/export"
)

// Version is the RSMF version the files follow (X-RSMF-Version and the
// manifest's version).
const Version = "2.0.0"

// manifestName is the manifest's name inside rsmf.zip, fixed by RSMF.
const manifestName = "rsmf_manifest.json"

// The manifest, as rsmf_schema_2_0_0.json describes it. Only what onrecord
// fills is declared; field order is the order they are written in.
type manifest struct {
	Version           string         `json:"version"`
	Participants      []participant  `json:"participants"`
	Conversations     []conversation `json:"conversations"`
	Events            []event        `json:"events"`
	EventCollectionID string         `json:"eventcollectionid,omitempty"`
}

type participant struct {
	ID        string   `json:"id"`
	Display   string   `json:"display,omitempty"`
	AccountID string   `json:"account_id,omitempty"`
	Custom    []custom `json:"custom,omitempty"`
}

type conversation struct {
	ID           string   `json:"id"`
	Display      string   `json:"display,omitempty"`
	Platform     string   `json:"platform"`
	Type         string   `json:"type"`
	Participants []string `json:"participants"`
	Custodian    string   `json:"custodian,omitempty"`
	Custom       []custom `json:"custom,omitempty"`
}

type event struct {
	ID           string        `json:"id,omitempty"`
	Type         string        `json:"type"`
	Parent       string        `json:"parent,omitempty"`
	Body         string        `json:"body,omitempty"`
	Participant  string        `json:"participant,omitempty"`
	Conversation string        `json:"conversation"`
	Timestamp    string        `json:"timestamp,omitempty"`
	Direction    string        `json:"direction,omitempty"`
	Deleted      bool          `json:"deleted,omitempty"`
	Attachments  []attachment  `json:"attachments,omitempty"`
	Edits        []edit        `json:"edits,omitempty"`
	Reactions    []reaction    `json:"reactions,omitempty"`
	ReadReceipts []readReceipt `json:"read_receipts,omitempty"`
	Custom       []custom      `json:"custom,omitempty"`
}

type attachment struct {
	ID      string `json:"id"`
	Display string `json:"display,omitempty"`
	Size    int64  `json:"size"`
}

type edit struct {
	Participant string `json:"participant"`
	Timestamp   string `json:"timestamp,omitempty"`
	Previous    string `json:"previous"`
	New         string `json:"new"`
}

type reaction struct {
	Value        string   `json:"value"`
	Count        int      `json:"count"`
	Participants []string `json:"participants,omitempty"`
}

type readReceipt struct {
	Participant string `json:"participant"`
	Timestamp   string `json:"timestamp,omitempty"`
	Action      string `json:"action"`
}

type custom struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// customs collects custom fields; RSMF requires a non-empty value, so an
// empty one is simply not written.
type customs []custom

func (c *customs) add(name, value string) {
	if value != "" {
		*c = append(*c, custom{Name: name, Value: value})
	}
}

// zipEntry is an attachment file going into rsmf.zip.
type zipEntry struct {
	name     string
	data     []byte
	modified time.Time
}

// file is everything one .rsmf holds, ready to encode.
type file struct {
	headers  []header
	text     string
	manifest manifest
	// modified is the manifest's time in the zip: the latest event's.
	modified time.Time
	entries  []zipEntry
	seqs     []uint64
}

// people collects the participants of one file in the order they first
// appear, with every name each was captured under.
type people struct {
	order []string
	names map[string][]string
}

func (p *people) add(party onrecord.Party) {
	party.ID = pid(party.ID)
	if party.ID == "" {
		return
	}
	if p.names == nil {
		p.names = map[string][]string{}
	}
	names, seen := p.names[party.ID]
	if !seen {
		p.order = append(p.order, party.ID)
	}
	if party.Name != "" && !slices.Contains(names, party.Name) {
		names = append(names, party.Name)
	}
	p.names[party.ID] = names
}

// display is the name a participant was first captured under, or the id.
func (p *people) display(id string) string {
	if n := p.names[pid(id)]; len(n) > 0 {
		return n[0]
	}
	return id
}

// pid is a participant id as the manifest carries it. JSON can only hold
// valid UTF-8, so an id that is not is written with U+FFFD in place of the
// bad bytes; every reference must be written the same way to resolve.
func pid(id string) string { return strings.ToValidUTF8(id, "\uFFFD") }

func (p *people) manifest() []participant {
	out := make([]participant, 0, len(p.order))
	for _, id := range p.order {
		pt := participant{ID: id, Display: p.display(id), AccountID: id}
		if n := p.names[id]; len(n) > 1 {
			// A name change (or two devices with different contact names)
			// is evidence too.
			var c customs
			c.add("onrecord.other_names", strings.Join(n[1:], "; "))
			pt.Custom = c
		}
		out = append(out, pt)
	}
	return out
}

// builder renders one slice into a file.
type builder struct {
	opts     Options
	sl       slice
	convID   string
	people   people
	ids      map[*unit]string  // manifest event id of each unit
	msgIDs   map[string]string // provider id of a message -> its event id
	used     map[string]bool
	entries  []zipEntry
	summary  strings.Builder
	begin    time.Time
	end      time.Time
	latest   time.Time
	nMessage int
}

func build(sl slice, opts Options, exported time.Time) *file {
	head := sl.units[0].primary.Event
	b := &builder{opts: opts, sl: sl, convID: head.Conversation,
		ids: map[*unit]string{}, msgIDs: map[string]string{}, used: map[string]bool{}}
	if b.convID == "" {
		b.convID = "unknown" // an unparsed delivery has no conversation
	}
	f := &file{}
	// Units are in time order: the file begins with the first, ends with
	// the latest event; folded records count for the zip's time only.
	b.begin, b.end, b.latest = head.SentAt, head.SentAt, head.SentAt
	for _, u := range sl.units {
		if t := u.primary.Event.SentAt; t.After(b.end) {
			b.end = t
		}
		for _, it := range append([]export.Item{u.primary}, u.mods...) {
			f.seqs = append(f.seqs, it.Seq)
			b.people.add(it.Event.Sender)
			for _, r := range it.Event.Recipients {
				b.people.add(r)
			}
			if t := it.Event.SentAt; t.After(b.latest) {
				b.latest = t
			}
		}
		b.assignID(u)
	}
	slices.Sort(f.seqs)

	events := make([]event, 0, len(sl.units))
	for _, u := range sl.units {
		events = append(events, b.event(u))
	}

	conv := conversation{ID: b.convID, Platform: head.Channel, Type: "direct",
		Participants: append([]string{}, b.people.order...), Display: b.conversationDisplay()}
	if conv.Platform == "" {
		conv.Platform = "unknown"
	}
	if sl.group {
		// RSMF's "channel": members may come and go during the conversation.
		conv.Type = "channel"
	}
	if _, ok := b.people.names[pid(opts.Custodian)]; ok && opts.Custodian != "" {
		conv.Custodian = pid(opts.Custodian)
	}
	var cc customs
	cc.add("onrecord.channel", head.Channel)
	cc.add("onrecord.conversation", head.Conversation)
	cc.add("onrecord.group_name", sl.groupName)
	cc.add("onrecord.day", sl.day)
	if sl.parts > 1 {
		cc.add("onrecord.part", itoa(sl.part)+" of "+itoa(sl.parts))
	}
	conv.Custom = cc

	f.manifest = manifest{Version: Version, Participants: b.people.manifest(),
		Conversations: []conversation{conv}, Events: events, EventCollectionID: sl.collection}
	f.entries = b.entries
	f.modified = b.latest
	f.text = b.text(conv, len(events))
	f.headers = b.headers(conv, len(events), exported)
	return f
}

// assignID gives each event an id unique in the file, the provider id where
// it can, so that parent can point at it and a reviewer can match it to the
// provider's records.
func (b *builder) assignID(u *unit) {
	e := u.primary.Event
	id := e.ProviderID
	if id == "" || b.used[id] {
		id = "seq-" + uitoa(u.primary.Seq)
		for i := 2; b.used[id]; i++ {
			id = "seq-" + uitoa(u.primary.Seq) + "-" + itoa(i)
		}
	}
	b.used[id] = true
	b.ids[u] = id
	if e.Kind == onrecord.KindMessage && e.ProviderID != "" {
		if _, ok := b.msgIDs[e.ProviderID]; !ok {
			b.msgIDs[e.ProviderID] = id
		}
	}
}

// parent is the event a message answers or belongs to, when that event is
// in this file: RSMF requires parent to name an event of the same manifest.
// A reference that cannot be resolved stays in the custom fields.
func (b *builder) parent(u *unit) string {
	e, self := u.primary.Event, b.ids[u]
	for _, ref := range []string{e.ReplyTo, e.Thread} {
		if id, ok := b.msgIDs[ref]; ok && ref != "" && id != self {
			return id
		}
	}
	return ""
}

func (b *builder) event(u *unit) event {
	it := u.primary
	e := it.Event
	ev := event{ID: b.ids[u], Conversation: b.convID, Participant: pid(e.Sender.ID),
		Timestamp: timestamp(e.SentAt), Direction: direction(e.Direction), Parent: b.parent(u)}
	ev.Type, ev.Body = render(e)
	if ev.Type == "message" {
		b.nMessage++
	}

	var c customs
	recordFields(&c, it)
	b.line(e.SentAt, e.Sender, ev.Body)
	b.attachments(&ev, &c, "", it)

	// Folded records, in time order. The body stays the text first sent;
	// each edit says what it replaced.
	current := e.Body
	var rs reactions
	n := map[onrecord.EventKind]int{}
	for _, m := range u.mods {
		me := m.Event
		n[me.Kind]++
		p := string(me.Kind) + "." + itoa(n[me.Kind])
		who := b.who(me.Sender)
		at := timestamp(me.SentAt)
		switch me.Kind {
		case onrecord.KindEdit:
			// RSMF requires an editor: one the provider did not name is
			// taken to be the author, who is the only one who can edit.
			if editor := pid(orText(me.Sender.ID, e.Sender.ID)); editor != "" {
				ev.Edits = append(ev.Edits, edit{Participant: editor, Timestamp: at, Previous: current, New: me.Body})
			}
			current = me.Body
			c.add(p, "edited by "+who+" at "+at)
			b.note(me.SentAt, "edited by "+who+": "+me.Body)
		case onrecord.KindDelete:
			ev.Deleted = true
			c.add(p, "deleted by "+who+" at "+at)
			b.note(me.SentAt, "deleted by "+who)
		case onrecord.KindReaction:
			v, removed := reactionOf(me)
			if removed {
				rs.remove(v, pid(me.Sender.ID))
				c.add(p, "removed "+orText(v, "a reaction")+" by "+who+" at "+at)
				b.note(me.SentAt, strings.Join(strings.Fields("reaction "+v+" removed by "+who), " "))
			} else {
				rs.add(v, pid(me.Sender.ID))
				c.add(p, v+" by "+who+" at "+at)
				b.note(me.SentAt, "reaction "+v+" by "+who)
			}
		case onrecord.KindStatus:
			action := receiptAction(me.Status)
			readers := statusParties(me)
			if action != "" {
				for _, r := range readers {
					if r.ID != "" {
						ev.ReadReceipts = append(ev.ReadReceipts, readReceipt{Participant: pid(r.ID), Timestamp: at, Action: action})
					}
				}
			}
			s := me.Status + " for " + b.list(readers) + " at " + at
			c.add(p, s)
			c.add(p+".error", me.StatusError)
			b.note(me.SentAt, strings.TrimSpace(me.Status+" for "+b.list(readers)+" "+me.StatusError))
		}
		c.add(p+".seq", uitoa(m.Seq))
		c.add(p+".bates", m.Bates)
		c.add(p+".provider_id", me.ProviderID)
		c.add(p+".record_id", me.ID)
		c.add(p+".subtype", me.Subtype)
		for _, k := range sortedKeys(me.Meta) {
			c.add(p+".meta."+k, me.Meta[k])
		}
		b.attachments(&ev, &c, p+".", m)
	}
	ev.Reactions = rs.manifest()
	ev.Custom = c
	return ev
}

// render gives the event type and body of a record that is an event of its
// own. Records whose original is not in the production say so in the body,
// since that is what a reviewer reads.
func render(e *onrecord.Event) (typ, body string) {
	about := "a message not in this production"
	if e.Target != "" {
		about = "message " + e.Target + " (not in this production)"
	}
	switch e.Kind {
	case onrecord.KindMessage:
		return "message", e.Body
	case onrecord.KindEdit:
		if e.Target == "" {
			about = "a message it does not identify"
		}
		return "message", "[Edit of " + about + "] " + e.Body
	case onrecord.KindDelete:
		return "disclaimer", strings.TrimSpace("Deleted " + about + ". " + e.Body)
	case onrecord.KindReaction:
		v, removed := reactionOf(e)
		if removed {
			return "disclaimer", "Removed reaction " + orText(v, "") + " from " + about + "."
		}
		return "disclaimer", "Reacted " + v + " to " + about + "."
	case onrecord.KindStatus:
		return "disclaimer", strings.TrimSpace("Status " + e.Status + " for " + about + ". " + e.StatusError)
	case onrecord.KindSystem:
		typ = "disclaimer"
		switch sub := strings.ToLower(e.Subtype); {
		case strings.Contains(sub, "join"):
			typ = "join"
		case strings.Contains(sub, "leave"), strings.Contains(sub, "left"):
			typ = "leave"
		}
		if e.Body != "" {
			return typ, e.Body
		}
		return typ, "System event: " + orText(e.Subtype, "unspecified") + "."
	case onrecord.KindUnparsed:
		body = "A delivery of " + itoa(len(e.Raw)) + " bytes that could not be read"
		if len(e.Raw) > 0 {
			return "unknown", body + "; its raw bytes are attached."
		}
		return "unknown", body + "."
	}
	return "unknown", strings.TrimSpace("Record of kind " + string(e.Kind) + ". " + e.Body)
}

// recordFields names the record an event stands for and keeps what RSMF has
// no field for.
func recordFields(c *customs, it export.Item) {
	e := it.Event
	c.add("onrecord.seq", uitoa(it.Seq))
	c.add("onrecord.bates", it.Bates)
	c.add("onrecord.record_id", e.ID)
	c.add("onrecord.provider_id", e.ProviderID)
	if e.Kind != onrecord.KindMessage {
		c.add("onrecord.kind", string(e.Kind))
	}
	c.add("onrecord.subtype", e.Subtype)
	c.add("onrecord.target", e.Target)
	c.add("onrecord.emoji", e.Emoji)
	c.add("onrecord.status", e.Status)
	c.add("onrecord.status_error", e.StatusError)
	ids := make([]string, 0, len(e.Recipients))
	for _, r := range e.Recipients {
		ids = append(ids, r.ID)
	}
	c.add("onrecord.recipients", strings.Join(ids, ", "))
	c.add("onrecord.reply_to", e.ReplyTo)
	c.add("onrecord.thread", e.Thread)
	c.add("onrecord.group_name", e.GroupName)
	if e.Forwarded {
		c.add("onrecord.forwarded", "true")
	}
	if e.ExpiresInSeconds != 0 {
		c.add("onrecord.expires_in_seconds", itoa(e.ExpiresInSeconds))
	}
	if e.SentAtIsReceipt {
		// The provider gave no time: the timestamp is when onrecord got it.
		c.add("onrecord.sent_at_is_receipt", "true")
	}
	if !e.CapturedAt.IsZero() {
		c.add("onrecord.captured_at", timestamp(e.CapturedAt))
	}
	c.add("onrecord.retention_class", e.RetentionClass)
	for _, k := range sortedKeys(e.Meta) {
		c.add("meta."+k, e.Meta[k])
	}
}

// attachments puts an item's fetched files in the zip and on the event;
// a file that could not be fetched is named in the custom fields with why.
func (b *builder) attachments(ev *event, c *customs, prefix string, it export.Item) {
	e := it.Event
	add := func(n int, name string, data []byte) {
		id := attachmentFileName(it.Seq, n, name)
		ev.Attachments = append(ev.Attachments, attachment{ID: id, Display: name, Size: int64(len(data))})
		b.entries = append(b.entries, zipEntry{name: id, data: data, modified: e.SentAt})
		b.note(e.SentAt, "attachment: "+name+" ("+itoa(len(data))+" bytes)")
	}
	for i, a := range e.Attachments {
		name := orText(a.Name, "attachment")
		if a.Error != "" {
			p := prefix + "attachment." + itoa(i+1)
			c.add(p+".error", name+": "+a.Error)
			c.add(p+".ref", a.Ref)
			b.note(e.SentAt, "attachment not available: "+name+" ("+a.Error+")")
			continue
		}
		add(i+1, name, a.Data)
	}
	if e.Kind == onrecord.KindUnparsed && len(e.Raw) > 0 {
		add(len(e.Attachments)+1, "raw.bin", e.Raw)
	}
}

// reactions is the state of an event's reactions, in the order each value
// first appeared.
type reactions []*reactionState

type reactionState struct {
	value string
	who   []string
	// anonymous counts reactions whose reactor the provider did not name.
	anonymous int
}

func (rs *reactions) add(value, who string) {
	if value == "" {
		return
	}
	var s *reactionState
	for _, r := range *rs {
		if r.value == value {
			s = r
		}
	}
	if s == nil {
		s = &reactionState{value: value}
		*rs = append(*rs, s)
	}
	switch {
	case who == "":
		s.anonymous++
	case !slices.Contains(s.who, who):
		s.who = append(s.who, who)
	}
}

// remove takes who's reaction value off, or all of who's reactions when the
// removal does not name the value.
func (rs *reactions) remove(value, who string) {
	for _, r := range *rs {
		if value != "" && r.value != value {
			continue
		}
		if who == "" {
			r.anonymous = max(r.anonymous-1, 0)
			continue
		}
		r.who = slices.DeleteFunc(r.who, func(x string) bool { return x == who })
	}
}

func (rs reactions) manifest() []reaction {
	var out []reaction
	for _, r := range rs {
		if n := len(r.who) + r.anonymous; n > 0 {
			out = append(out, reaction{Value: r.value, Count: n, Participants: r.who})
		}
	}
	return out
}

// reactionOf is a reaction record's value and whether it removes one.
// Connectors mark a removal with an empty Emoji and Meta "removed", naming
// the removed emoji in Meta "removed_emoji" (Signal, Telegram) or
// "reaction" (Slack) when the provider says which.
func reactionOf(e *onrecord.Event) (value string, removed bool) {
	if e.Emoji != "" {
		return reactionValue(e.Emoji), false
	}
	for _, k := range []string{"removed_emoji", "reaction"} {
		if v := e.Meta[k]; v != "" {
			return reactionValue(v), true
		}
	}
	return "", true
}

// reactionValue is the value RSMF shows: the emoji itself, or a short name
// without Slack's colons (RSMF's own examples are names like "thumbsup").
func reactionValue(s string) string {
	if len(s) > 2 && strings.HasPrefix(s, ":") && strings.HasSuffix(s, ":") {
		return s[1 : len(s)-1]
	}
	return s
}

// receiptAction maps a delivery status to RSMF's read receipt actions; other
// statuses (sent, failed...) are kept in custom fields only.
func receiptAction(status string) string {
	switch strings.ToLower(status) {
	case "read", "played", "viewed", "seen":
		return "read"
	case "delivered":
		return "delivered"
	}
	return ""
}

// statusParties is who a status is about: the recipients of the message
// for a receipt the organisation got about its own message, otherwise the
// party that sent the receipt.
func statusParties(e *onrecord.Event) []onrecord.Party {
	if e.Direction == onrecord.Outbound && len(e.Recipients) > 0 {
		return e.Recipients
	}
	return []onrecord.Party{e.Sender}
}

func (b *builder) who(p onrecord.Party) string {
	if p.ID == "" {
		return orText(p.Name, "unknown")
	}
	if d := b.people.display(p.ID); d != p.ID {
		return d + " (" + p.ID + ")"
	}
	return p.ID
}

func (b *builder) list(ps []onrecord.Party) string {
	s := make([]string, 0, len(ps))
	for _, p := range ps {
		s = append(s, b.who(p))
	}
	return strings.Join(s, ", ")
}

func (b *builder) conversationDisplay() string {
	if b.sl.groupName != "" {
		return b.sl.groupName
	}
	names := make([]string, 0, len(b.people.order))
	for _, id := range b.people.order {
		names = append(names, b.people.display(id))
	}
	if len(names) == 0 {
		return b.convID
	}
	return truncate(strings.Join(names, ", "), 200)
}

// timestamp is ISO 8601 in UTC with at most microseconds: .NET, which the
// best-known RSMF readers run on, parses no more than seven fractional
// digits.
func timestamp(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.999999Z07:00")
}

func direction(d onrecord.Direction) string {
	switch d {
	case onrecord.Inbound:
		return "incoming"
	case onrecord.Outbound:
		return "outgoing"
	}
	return ""
}

func orText(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

// truncate cuts s to at most n runes, marking the cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
