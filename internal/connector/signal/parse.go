package signal

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	json "github.com/go-json-experiment/json/v1"
	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/connector"
)

// maxMillis is 9999-12-31T23:59:59.999Z: later times do not encode as
// RFC 3339, so a timestamp past it is not one.
const maxMillis = 253402300799999

// maxNesting bounds how deep notification wrappers may nest
// (notification → params → subscription result → array).
const maxNesting = 4

// Parse maps a delivery to canonical events. It reads every form signal-cli
// and signal-cli-rest-api produce: the {envelope, account} object, a
// JSON-RPC `receive` notification (with params either that object or
// {subscription, result}), a JSON-RPC response whose result is an array of
// them (the `receive` method), and a JSON array of any of these (the REST
// API's GET /v1/receive). A typing indicator without keep_typing yields no
// event and no error.
func (c *Connector) Parse(req *connector.Request) ([]connector.Event, error) {
	if req == nil {
		return nil, errors.New("parse signal delivery: no request")
	}
	body := bytes.TrimSpace(req.Body)
	if len(body) == 0 {
		return nil, errors.New("parse signal delivery: empty body")
	}
	p := &parser{c: c, req: req, out: []connector.Event{}}
	if err := p.value(body, 0); err != nil {
		return nil, fmt.Errorf("parse signal delivery: %w", err)
	}
	return p.out, nil
}

type parser struct {
	c   *Connector
	req *connector.Request
	out []connector.Event
}

// value reads one JSON value that is a frame or an array of frames.
func (p *parser) value(raw json.RawMessage, depth int) error {
	if depth > maxNesting {
		return errors.New("notifications nested too deep")
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '[' {
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return fmt.Errorf("read batch: %w", err)
		}
		for i, it := range items {
			if err := p.frame(it, depth+1); err != nil {
				return fmt.Errorf("batch item %d: %w", i, err)
			}
		}
		return nil
	}
	return p.frame(raw, depth)
}

func (p *parser) frame(raw json.RawMessage, depth int) error {
	if depth > maxNesting {
		return errors.New("notifications nested too deep")
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return errors.New("not a JSON object")
	}
	var f frame
	if err := json.Unmarshal(raw, &f); err != nil {
		return fmt.Errorf("read notification: %w", err)
	}
	switch {
	case present(f.Envelope) || f.Exception != nil:
		return p.receive(&f, raw)
	case f.Method != nil && *f.Method == "receive":
		if !present(f.Params) {
			return errors.New("receive notification without params")
		}
		return p.value(f.Params, depth+1)
	case f.Method != nil:
		return p.unsupportedRPC(*f.Method, f.Params)
	case present(f.Result):
		return p.value(f.Result, depth+1)
	case present(f.Error):
		return errors.New("a JSON-RPC error response, not a notification")
	}
	return errors.New("not a signal-cli receive notification (no envelope, method or result)")
}

// present reports whether a raw field was given and is not null.
func present(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && !bytes.Equal(raw, []byte("null"))
}

// meaningful is present and not an empty list or object (older signal-cli
// versions wrote [] for every empty list).
func meaningful(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return present(raw) && !bytes.Equal(raw, []byte("[]")) && !bytes.Equal(raw, []byte("{}"))
}

// compact renders raw JSON for Meta, as the provider gave it minus
// whitespace.
func compact(raw json.RawMessage) string {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return strings.ToValidUTF8(string(raw), "\uFFFD")
	}
	return b.String()
}

func shortHash(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

func millis(ts int64) (time.Time, bool) {
	if ts <= 0 || ts > maxMillis {
		return time.Time{}, false
	}
	return time.UnixMilli(ts).UTC(), true
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// unsupportedRPC records a notification signal-cli may add in a later
// version: recognisable, so kept as a system event rather than unparsed.
func (p *parser) unsupportedRPC(method string, params json.RawMessage) error {
	if p.req.ReceivedAt.IsZero() {
		return fmt.Errorf("JSON-RPC notification %q without a time", method)
	}
	meta := map[string]string{"rpc_method": method}
	if present(params) {
		meta["params"] = truncate(compact(params), 4096)
	}
	p.out = append(p.out, connector.Event{Event: onrecord.Event{
		Kind: onrecord.KindSystem, Subtype: "unsupported",
		ProviderID:   "rpc:" + method + ":" + shortHash(params),
		Conversation: p.c.account, Direction: onrecord.Inbound,
		Sender: onrecord.Party{ID: p.c.account}, SentAt: p.req.ReceivedAt.UTC(), Meta: meta,
	}})
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut on a rune boundary so the result stays valid UTF-8.
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}

// receive maps one {envelope, account, exception} payload.
func (p *parser) receive(f *frame, raw json.RawMessage) error {
	e := &envCtx{p: p, acct: p.c.account}
	if a := strings.TrimSpace(f.Account); a != "" {
		e.acct = a
	}
	if present(f.Envelope) {
		if err := json.Unmarshal(f.Envelope, &e.env); err != nil {
			return fmt.Errorf("read envelope: %w", err)
		}
		e.rawEnv = f.Envelope
	}
	env := &e.env
	if env.SyncMessage != nil || strings.TrimSpace(env.SourceNumber) == e.acct || strings.TrimSpace(env.Source) == e.acct {
		// A sync message comes from our own account, so its uuid is ours.
		e.selfUUID = strings.TrimSpace(env.SourceUUID)
	}
	e.sender = e.key(env.SourceUUID, env.SourceNumber, env.Source)
	if f.Exception != nil {
		if err := e.exception(f.Exception, raw); err != nil {
			return err
		}
	}
	if !present(f.Envelope) {
		return nil
	}
	return e.content(f.Exception != nil)
}

// envCtx is one envelope being mapped.
type envCtx struct {
	p        *parser
	acct     string
	env      envelope
	rawEnv   json.RawMessage
	selfUUID string
	sender   string
}

// key is the stable id of an author: the uuid (ACI), else the number, else
// signal-cli's legacy identifier; the organisation's account is always its
// number, so links to our own messages hold whichever form names it.
func (e *envCtx) key(uuid, number, legacy string) string {
	uuid, number, legacy = strings.TrimSpace(uuid), strings.TrimSpace(number), strings.TrimSpace(legacy)
	if number == e.acct || legacy == e.acct || (uuid != "" && uuid == e.selfUUID) {
		return e.acct
	}
	for _, s := range []string{uuid, number, legacy} {
		if s != "" {
			return s
		}
	}
	return ""
}

func (e *envCtx) direction(author string) onrecord.Direction {
	if author == e.acct {
		return onrecord.Outbound
	}
	return onrecord.Inbound
}

// at is the first valid time among the given millisecond timestamps.
func (e *envCtx) at(ts ...int64) (time.Time, int64, error) {
	for _, t := range ts {
		if tm, ok := millis(t); ok {
			return tm, t, nil
		}
	}
	return time.Time{}, 0, errors.New("envelope has no valid timestamp")
}

func (e *envCtx) emit(ev connector.Event) { e.p.out = append(e.p.out, ev) }

func (e *envCtx) exception(x *exception, raw json.RawMessage) error {
	env := &e.env
	who := e.sender
	if who == "" {
		who = "unknown"
	}
	at, ts, err := e.at(env.Timestamp, env.ServerReceivedTimestamp)
	if err != nil {
		if e.p.req.ReceivedAt.IsZero() {
			return fmt.Errorf("decryption failure: %w", err)
		}
		at = e.p.req.ReceivedAt.UTC()
	}
	id := "decryption_failed:" + shortHash(raw)
	if e.sender != "" && ts != 0 {
		id = e.sender + ":" + itoa(ts) + ":decryption_failed"
	}
	meta := map[string]string{"exception_type": x.Type, "exception_message": truncate(x.Message, 500)}
	if env.SourceDevice != 0 {
		meta["source_device"] = strconv.Itoa(env.SourceDevice)
	}
	e.emit(connector.Event{Event: onrecord.Event{
		Kind: onrecord.KindSystem, Subtype: "decryption_failed", ProviderID: id,
		Conversation: who, Direction: e.direction(who), Sender: onrecord.Party{ID: who, Name: env.SourceName},
		SentAt: at, Meta: meta,
	}})
	return nil
}

// content maps whichever content the envelope carries (signal-cli sets
// exactly one; all present are mapped, in a fixed order).
func (e *envCtx) content(hadException bool) error {
	env := &e.env
	has := env.DataMessage != nil || env.EditMessage != nil || env.StoryMessage != nil || env.SyncMessage != nil ||
		present(env.CallMessage) || env.ReceiptMessage != nil || env.TypingMessage != nil
	if !has && hadException {
		return nil // the failure is recorded; there is nothing else
	}
	if e.sender == "" {
		return errNoSource
	}
	if !has {
		return e.unsupported()
	}
	in := e.inbound()
	if env.DataMessage != nil {
		if err := e.data(in, env.DataMessage); err != nil {
			return err
		}
	}
	if env.EditMessage != nil {
		if err := e.edit(in, env.EditMessage); err != nil {
			return err
		}
	}
	if env.StoryMessage != nil {
		if err := e.story(env.StoryMessage); err != nil {
			return err
		}
	}
	if env.SyncMessage != nil {
		if err := e.sync(env.SyncMessage); err != nil {
			return err
		}
	}
	if present(env.CallMessage) {
		if err := e.call(env.CallMessage); err != nil {
			return err
		}
	}
	if env.ReceiptMessage != nil {
		if err := e.receipt(env.ReceiptMessage); err != nil {
			return err
		}
	}
	if env.TypingMessage != nil {
		return e.typing(env.TypingMessage)
	}
	return nil
}

// origin says who a data message is from and where it went.
type origin struct {
	author     onrecord.Party
	conv       string
	recipients []onrecord.Party
}

// inbound is the origin of a message the envelope's source sent to us.
func (e *envCtx) inbound() origin {
	o := origin{author: onrecord.Party{ID: e.sender, Name: e.env.SourceName}, conv: e.sender}
	if e.sender != e.acct {
		o.recipients = []onrecord.Party{{ID: e.acct}}
	}
	return o
}

func (e *envCtx) event(o origin, kind onrecord.EventKind, id string, at time.Time) connector.Event {
	ev := connector.Event{Event: onrecord.Event{
		Kind: kind, ProviderID: id, Conversation: o.conv, Direction: e.direction(o.author.ID),
		Sender: o.author, Recipients: slices.Clone(o.recipients), SentAt: at,
	}}
	if n := strings.TrimSpace(e.env.SourceNumber); n != "" && o.author.ID == e.sender && n != e.sender {
		// The sender is named by uuid, but people know each other, and
		// employees add contacts, by number: keep it, so a consent answer
		// or a search by number finds the message.
		setMeta(&ev, "source_number", n)
	}
	return ev
}

func setGroup(ev *connector.Event, g *groupInfo) {
	if g == nil || strings.TrimSpace(g.GroupID) == "" {
		return
	}
	ev.Group = true
	ev.Conversation = strings.TrimSpace(g.GroupID)
	ev.GroupName = g.GroupName
	if ev.GroupName == "" {
		ev.GroupName = g.Name
	}
	// A group message goes to the group, not to one person.
	ev.Recipients = nil
}

func setMeta(ev *connector.Event, k, v string) {
	if ev.Meta == nil {
		ev.Meta = map[string]string{}
	}
	ev.Meta[k] = v
}

// data maps a dataMessage: a message, or the reaction, delete, timer change
// or group update it carries.
func (e *envCtx) data(o origin, dm *dataMessage) error {
	at, ts, err := e.at(dm.Timestamp, e.env.Timestamp)
	if err != nil {
		return err
	}
	id := o.author.ID + ":" + itoa(ts)
	ev := e.event(o, onrecord.KindMessage, id, at)
	setGroup(&ev, dm.GroupInfo)
	ev.ExpiresInSeconds = max(dm.ExpiresInSeconds, 0)
	switch {
	case dm.RemoteDelete != nil:
		ev.Kind, ev.Subtype = onrecord.KindDelete, "remote_delete"
		ev.Target = o.author.ID + ":" + itoa(dm.RemoteDelete.Timestamp)
	case dm.AdminDelete != nil:
		t := dm.AdminDelete
		ev.Kind, ev.Subtype = onrecord.KindDelete, "admin_delete"
		ev.Target = e.key(t.TargetAuthorUUID, t.TargetAuthorNumber, t.TargetAuthor) + ":" + itoa(t.TargetSentTimestamp)
		setMeta(&ev, "admin_delete", "true")
	case dm.Reaction != nil:
		r := dm.Reaction
		ev.Kind, ev.Subtype = onrecord.KindReaction, "reaction"
		ev.Target = e.key(r.TargetAuthorUUID, r.TargetAuthorNumber, r.TargetAuthor) + ":" + itoa(r.TargetSentTimestamp)
		ev.Emoji = r.Emoji
		if r.IsRemove {
			ev.Emoji = ""
			setMeta(&ev, "removed", "true")
			setMeta(&ev, "removed_emoji", r.Emoji)
		}
	case present(dm.PinMessage) || present(dm.UnpinMessage):
		raw, sub := dm.PinMessage, "pin_message"
		if !present(raw) {
			raw, sub = dm.UnpinMessage, "unpin_message"
		}
		ev.Kind, ev.Subtype = onrecord.KindSystem, sub
		var t targetRef
		if json.Unmarshal(raw, &t) == nil && t.TargetSentTimestamp > 0 {
			if a := e.key(t.TargetAuthorUUID, t.TargetAuthorNumber, t.TargetAuthor); a != "" {
				ev.Target = a + ":" + itoa(t.TargetSentTimestamp)
			}
		}
		setMeta(&ev, sub, compact(raw))
	case dm.IsExpirationUpdate:
		ev.Kind, ev.Subtype = onrecord.KindSystem, "expiration_update"
		setMeta(&ev, "expires_in_seconds", strconv.Itoa(ev.ExpiresInSeconds))
	case !hasContent(dm) && dm.GroupInfo != nil && dm.GroupInfo.Type == "UPDATE":
		ev.Kind, ev.Subtype = onrecord.KindSystem, "group_update"
	case !hasContent(dm):
		// A data message with nothing to show: a profile-key update or a
		// session reset. Kept so that nothing signal-cli saw goes missing.
		ev.Kind, ev.Subtype = onrecord.KindSystem, "empty"
	default:
		e.fill(&ev, o, dm)
	}
	if dm.Quote != nil && ev.Kind == onrecord.KindMessage {
		e.setQuote(&ev, dm.Quote)
	}
	if dm.ViewOnce {
		setMeta(&ev, "view_once", "true")
	}
	e.emit(ev)
	return nil
}

func hasContent(dm *dataMessage) bool {
	return (dm.Message != nil && *dm.Message != "") || len(dm.Attachments) > 0 || dm.Quote != nil ||
		meaningful(dm.Sticker) || meaningful(dm.Contacts) || meaningful(dm.Previews) || meaningful(dm.Payment) ||
		present(dm.PollCreate) || present(dm.PollVote) || present(dm.PollTerminate)
}

func (e *envCtx) setQuote(ev *connector.Event, q *quote) {
	if a := e.key(q.AuthorUUID, q.AuthorNumber, q.Author); a != "" && q.ID > 0 {
		ev.ReplyTo = a + ":" + itoa(q.ID)
	}
	if q.Text != "" {
		setMeta(ev, "quote_text", truncate(q.Text, 1000))
	}
}

// fill sets a message's content: body, media, subtype and the structured
// parts in Meta.
func (e *envCtx) fill(ev *connector.Event, o origin, dm *dataMessage) {
	if dm.Message != nil {
		ev.Body = renderMentions(*dm.Message, dm.Mentions)
	}
	ev.Subtype = "text"
	missing := 0
	for _, a := range dm.Attachments {
		if strings.TrimSpace(a.ID) == "" {
			missing++ // not downloaded by signal-cli; nothing to fetch
			continue
		}
		name := a.Filename
		if strings.TrimSpace(name) == "" {
			name = a.ID
		}
		ev.Media = append(ev.Media, connector.MediaRef{Ref: a.ID, Name: name, ContentType: a.ContentType, Size: max(a.Size, 0)})
	}
	if len(dm.Attachments) > 0 {
		ev.Subtype = mediaSubtype(dm.Attachments[0].ContentType)
		if len(dm.Attachments) == 1 && dm.Attachments[0].Caption != "" {
			setMeta(ev, "caption", dm.Attachments[0].Caption)
		}
	}
	if missing > 0 {
		setMeta(ev, "attachments_without_id", strconv.Itoa(missing))
	}
	for _, m := range []struct {
		key string
		raw json.RawMessage
	}{
		{"mentions", dm.Mentions}, {"previews", dm.Previews}, {"contacts", dm.Contacts}, {"sticker", dm.Sticker},
		{"text_styles", dm.TextStyles}, {"payment", dm.Payment}, {"story_context", dm.StoryContext},
		{"poll_create", dm.PollCreate}, {"poll_vote", dm.PollVote}, {"poll_terminate", dm.PollTerminate},
	} {
		if meaningful(m.raw) {
			setMeta(ev, m.key, compact(m.raw))
		}
	}
	switch {
	case present(dm.PollCreate):
		ev.Subtype = "poll"
		var pc pollCreate
		if json.Unmarshal(dm.PollCreate, &pc) == nil && ev.Body == "" {
			var b strings.Builder
			b.WriteString("📊 " + pc.Question)
			for _, opt := range pc.Options {
				b.WriteString("\n• " + opt)
			}
			ev.Body = b.String()
		}
	case present(dm.PollVote):
		ev.Subtype = "poll_vote"
		var t targetRef
		if json.Unmarshal(dm.PollVote, &t) == nil && t.TargetSentTimestamp > 0 {
			if a := e.key(t.AuthorUUID, t.AuthorNumber, t.Author); a != "" {
				ev.ReplyTo = a + ":" + itoa(t.TargetSentTimestamp)
			}
		}
	case present(dm.PollTerminate):
		ev.Subtype = "poll_terminate"
		var t targetRef
		if json.Unmarshal(dm.PollTerminate, &t) == nil && t.TargetSentTimestamp > 0 {
			// Only a poll's author can end it.
			ev.ReplyTo = o.author.ID + ":" + itoa(t.TargetSentTimestamp)
		}
	case meaningful(dm.Payment):
		ev.Subtype = "payment"
	case meaningful(dm.Sticker):
		ev.Subtype = "sticker"
	case meaningful(dm.Contacts):
		ev.Subtype = "contacts"
	case len(dm.Attachments) == 0 && meaningful(dm.Previews):
		ev.Subtype = "link_preview"
	}
}

func mediaSubtype(ct string) string {
	ct = strings.ToLower(ct)
	switch {
	case strings.HasPrefix(ct, "image/"):
		return "image"
	case strings.HasPrefix(ct, "video/"):
		return "video"
	case strings.HasPrefix(ct, "audio/"):
		return "audio"
	}
	return "file"
}

// renderMentions replaces each U+FFFC placeholder with "@name" (in the
// order of the mentions' start), so the body reads as the user saw it.
// Meta keeps the mentions as signal-cli gave them.
func renderMentions(msg string, raw json.RawMessage) string {
	if !meaningful(raw) || !strings.ContainsRune(msg, '\uFFFC') {
		return msg
	}
	var ms []mention
	if json.Unmarshal(raw, &ms) != nil {
		return msg
	}
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].Start < ms[j].Start })
	var b strings.Builder
	i := 0
	for _, r := range msg {
		if r == '\uFFFC' && i < len(ms) {
			m := ms[i]
			i++
			label := m.Name
			for _, s := range []string{m.Number, m.UUID} {
				if label == "" {
					label = s
				}
			}
			if label != "" {
				b.WriteString("@" + label)
				continue
			}
		}
		b.WriteRune(r)
	}
	return b.String()
}

// edit maps an editMessage: its own record, Target the original (Signal
// edits always name the first version's sent timestamp).
func (e *envCtx) edit(o origin, em *editMessage) error {
	dm := em.DataMessage
	if dm == nil {
		dm = &dataMessage{}
	}
	at, ts, err := e.at(dm.Timestamp, e.env.Timestamp)
	if err != nil {
		return err
	}
	ev := e.event(o, onrecord.KindEdit, o.author.ID+":"+itoa(ts), at)
	setGroup(&ev, dm.GroupInfo)
	ev.ExpiresInSeconds = max(dm.ExpiresInSeconds, 0)
	ev.Target = o.author.ID + ":" + itoa(em.TargetSentTimestamp)
	e.fill(&ev, o, dm)
	if dm.Quote != nil {
		e.setQuote(&ev, dm.Quote)
	}
	e.emit(ev)
	return nil
}

// sync maps what the account's other devices report: messages the
// employee sent from the phone, messages read there, and list syncs.
func (e *envCtx) sync(sm *syncMessage) error {
	self := onrecord.Party{ID: e.acct, Name: e.env.SourceName}
	done := false
	if s := sm.SentMessage; s != nil {
		done = true
		dest := e.key(s.DestinationUUID, s.DestinationNumber, s.Destination)
		o := origin{author: self, conv: dest}
		if dest == "" {
			o.conv = e.acct // a story or note to self
		} else {
			o.recipients = []onrecord.Party{{ID: dest}}
		}
		if s.EditMessage != nil {
			if err := e.edit(o, s.EditMessage); err != nil {
				return err
			}
		} else if err := e.data(o, &s.dataMessage); err != nil {
			return err
		}
	}
	if len(sm.ReadMessages) > 0 {
		done = true
		at, _, err := e.at(e.env.Timestamp, e.env.ServerReceivedTimestamp)
		if err != nil {
			return err
		}
		seen := map[string]bool{}
		for _, r := range sm.ReadMessages {
			author := e.key(r.SenderUUID, r.SenderNumber, r.Sender)
			if author == "" {
				continue
			}
			target := author + ":" + itoa(r.Timestamp)
			if seen[target] {
				continue
			}
			seen[target] = true
			e.emit(connector.Event{Event: onrecord.Event{
				Kind: onrecord.KindStatus, Status: "read", Subtype: "read_sync",
				ProviderID: target + ":read:" + e.acct, Target: target,
				Conversation: author, Direction: onrecord.Outbound, Sender: self, SentAt: at,
			}})
		}
	}
	if done {
		return nil
	}
	at, ts, err := e.at(e.env.Timestamp, e.env.ServerReceivedTimestamp)
	if err != nil {
		return err
	}
	sub := "sync"
	if sm.Type != "" {
		sub = "sync_" + strings.ToLower(sm.Type)
	}
	ev := connector.Event{Event: onrecord.Event{
		Kind: onrecord.KindSystem, Subtype: sub, ProviderID: e.acct + ":" + itoa(ts),
		Conversation: e.acct, Direction: onrecord.Outbound, Sender: self, SentAt: at,
	}}
	var keys map[string]json.RawMessage
	if json.Unmarshal(e.rawEnv, &keys) == nil {
		if raw, ok := keys["syncMessage"]; ok {
			setMeta(&ev, "sync", truncate(compact(raw), 4096))
		}
	}
	e.emit(ev)
	return nil
}

// receipt maps delivery/read/viewed receipts for our messages: one status
// per timestamp.
func (e *envCtx) receipt(rm *receiptMessage) error {
	at, _, err := e.at(rm.When, e.env.Timestamp)
	if err != nil {
		return err
	}
	status := "receipt"
	switch {
	case rm.IsDelivery:
		status = "delivered"
	case rm.IsRead:
		status = "read"
	case rm.IsViewed:
		status = "viewed"
	}
	o := e.inbound()
	seen := map[int64]bool{}
	for _, ts := range rm.Timestamps {
		if seen[ts] {
			continue
		}
		seen[ts] = true
		target := e.acct + ":" + itoa(ts)
		ev := e.event(o, onrecord.KindStatus, target+":"+status+":"+e.sender, at)
		ev.Target, ev.Status, ev.Subtype = target, status, "receipt"
		e.emit(ev)
	}
	if len(seen) == 0 {
		_, ts, err := e.at(e.env.Timestamp, rm.When)
		if err != nil {
			return err
		}
		ev := e.event(o, onrecord.KindSystem, e.sender+":"+itoa(ts), at)
		ev.Subtype = "receipt_without_timestamps"
		setMeta(&ev, "status", status)
		e.emit(ev)
	}
	return nil
}

// typing maps a typing indicator when keep_typing is set; otherwise it is
// recognised and deliberately yields nothing.
func (e *envCtx) typing(tm *typingMessage) error {
	if !e.p.c.keepTyping {
		return nil
	}
	at, ts, err := e.at(tm.Timestamp, e.env.Timestamp)
	if err != nil {
		return err
	}
	status := "typing"
	if a := strings.ToLower(strings.TrimSpace(tm.Action)); a != "" {
		status = "typing_" + a
	}
	o := e.inbound()
	ev := e.event(o, onrecord.KindStatus, e.sender+":"+itoa(ts)+":"+status, at)
	setGroup(&ev, &groupInfo{GroupID: tm.GroupID})
	ev.Status, ev.Subtype = status, "typing"
	// Typing is about a conversation, not a message.
	ev.Target = ev.Conversation
	e.emit(ev)
	return nil
}

var callKinds = []struct{ key, subtype string }{
	{"offerMessage", "call_offer"}, {"answerMessage", "call_answer"}, {"busyMessage", "call_busy"},
	{"hangupMessage", "call_hangup"}, {"iceUpdateMessages", "call_ice_update"}, {"opaqueMessage", "call_opaque"},
}

func (e *envCtx) call(raw json.RawMessage) error {
	at, ts, err := e.at(e.env.Timestamp, e.env.ServerReceivedTimestamp)
	if err != nil {
		return err
	}
	ev := e.event(e.inbound(), onrecord.KindSystem, e.sender+":"+itoa(ts), at)
	ev.Subtype = "call"
	var parts map[string]json.RawMessage
	if json.Unmarshal(raw, &parts) == nil {
		for _, k := range callKinds {
			inner, ok := parts[k.key]
			if !ok || !present(inner) {
				continue
			}
			ev.Subtype = k.subtype
			inner = bytes.TrimSpace(inner)
			if len(inner) > 0 && inner[0] == '[' {
				var list []json.RawMessage
				if json.Unmarshal(inner, &list) == nil && len(list) > 0 {
					inner = list[0]
				}
			}
			var c struct {
				ID   json.Number `json:"id"`
				Type string      `json:"type"`
			}
			if json.Unmarshal(inner, &c) == nil {
				if c.ID != "" {
					setMeta(&ev, "call_id", c.ID.String())
				}
				if c.Type != "" {
					setMeta(&ev, "call_type", c.Type)
				}
			}
			break
		}
	}
	e.emit(ev)
	return nil
}

func (e *envCtx) story(sm *storyMessage) error {
	at, ts, err := e.at(e.env.Timestamp, e.env.ServerReceivedTimestamp)
	if err != nil {
		return err
	}
	ev := e.event(e.inbound(), onrecord.KindSystem, e.sender+":"+itoa(ts), at)
	ev.Subtype = "story"
	setGroup(&ev, &groupInfo{GroupID: sm.GroupID})
	setMeta(&ev, "allows_replies", strconv.FormatBool(sm.AllowsReplies))
	if present(sm.TextAttachment) {
		var t struct {
			Text string `json:"text"`
		}
		if json.Unmarshal(sm.TextAttachment, &t) == nil {
			ev.Body = t.Text
		}
		setMeta(&ev, "text_attachment", truncate(compact(sm.TextAttachment), 4096))
	}
	if a := sm.FileAttachment; a != nil && strings.TrimSpace(a.ID) != "" {
		name := a.Filename
		if strings.TrimSpace(name) == "" {
			name = a.ID
		}
		ev.Media = append(ev.Media, connector.MediaRef{Ref: a.ID, Name: name, ContentType: a.ContentType, Size: max(a.Size, 0)})
	}
	e.emit(ev)
	return nil
}

// unsupported records an envelope with no content signal-cli documents
// (a later version's new message type).
func (e *envCtx) unsupported() error {
	at, ts, err := e.at(e.env.Timestamp, e.env.ServerReceivedTimestamp)
	if err != nil {
		return err
	}
	ev := e.event(e.inbound(), onrecord.KindSystem, e.sender+":"+itoa(ts)+":unsupported", at)
	ev.Subtype = "unsupported"
	var keys map[string]json.RawMessage
	if json.Unmarshal(e.rawEnv, &keys) == nil {
		names := make([]string, 0, len(keys))
		for k := range keys {
			names = append(names, k)
		}
		sort.Strings(names)
		setMeta(&ev, "envelope_keys", strings.Join(names, ","))
	}
	e.emit(ev)
	return nil
}
