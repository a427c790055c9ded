package whatsapp

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	json "github.com/go-json-experiment/json/v1"
	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/connector"
)

// Field names of the webhook changes that carry conversations.
const (
	fieldMessages     = "messages"
	fieldMessageEcho  = "smb_message_echoes"
	fieldHistory      = "history"
	fieldStateSync    = "smb_app_state_sync"
	objectWABA        = "whatsapp_business_account"
	metaPartyID       = "meta"
	metaPartyName     = "Meta"
	maxMetaValueBytes = 4096
	maxSummaryKeys    = 64
)

// Parse maps one webhook delivery to canonical events, in payload order:
// entries, then their changes, then within a change its messages, message
// echoes, statuses and errors.
func (c *Connector) Parse(req *connector.Request) ([]connector.Event, error) {
	if req == nil {
		return nil, errors.New("no request")
	}
	var env envelope
	if err := json.Unmarshal(req.Body, &env); err != nil {
		return nil, fmt.Errorf("decode webhook body: %w", err)
	}
	if env.Object != objectWABA {
		// The value itself is not echoed: errors end up in logs.
		return nil, fmt.Errorf("webhook object is not %q", objectWABA)
	}
	p := &parser{received: req.ReceivedAt}
	for i := range env.Entry {
		e := &env.Entry[i]
		for j := range e.Changes {
			ch := &e.Changes[j]
			if err := p.change(e, ch); err != nil {
				return nil, fmt.Errorf("entry %d change %d: %w", i, j, err)
			}
		}
	}
	if len(p.events) == 0 {
		return nil, errors.New("delivery has no entries or changes")
	}
	return p.events, nil
}

// parser accumulates the events of one delivery.
type parser struct {
	received time.Time
	events   []connector.Event
	seen     map[string]int
	// item is set while a history message is mapped (history.go).
	item *historyItem
}

// scope is what one change's value says about every item in it.
type scope struct {
	entryID       string
	entryTime     flexString
	field         string
	phoneNumberID string
	business      onrecord.Party
	names         map[string]string
	contacts      []waContact
	// thread is the WhatsApp user a history thread is with.
	thread onrecord.Party
}

func (p *parser) change(e *entry, ch *change) error {
	sc := &scope{entryID: e.ID.String(), entryTime: e.Time, field: ch.Field}
	switch ch.Field {
	case fieldHistory:
		p.history(sc, ch.Value)
		return nil
	case fieldStateSync:
		p.stateSync(sc, ch.Value)
		return nil
	}
	if ch.Field != fieldMessages && ch.Field != fieldMessageEcho {
		p.system(sc, ch.Value)
		return nil
	}
	var v messagesValue
	if err := json.Unmarshal(ch.Value, &v); err != nil {
		return fmt.Errorf("decode value: %w", err)
	}
	sc.phoneNumberID = v.Metadata.PhoneNumberID.String()
	sc.business = onrecord.Party{ID: firstNonEmpty(normPhone(v.Metadata.DisplayPhoneNumber.String()), sc.phoneNumberID, "business")}
	sc.contacts = v.Contacts
	sc.names = make(map[string]string, 2*len(v.Contacts))
	for _, ct := range v.Contacts {
		if ct.Profile.Name == "" {
			continue
		}
		if id := normPhone(ct.WaID.String()); id != "" {
			sc.names[id] = ct.Profile.Name
		}
		if ct.UserID != "" {
			sc.names[ct.UserID] = ct.Profile.Name
		}
	}
	before := len(p.events)
	for i, raw := range v.Messages {
		var m message
		if err := json.Unmarshal(raw, &m); err != nil {
			if !p.undecodable(sc, raw, onrecord.Inbound, onrecord.KindMessage, err) {
				return fmt.Errorf("decode messages[%d]: %w", i, err)
			}
			continue
		}
		p.message(sc, &m, raw, onrecord.Inbound)
	}
	for i, raw := range v.MessageEchoes {
		var m message
		if err := json.Unmarshal(raw, &m); err != nil {
			if !p.undecodable(sc, raw, onrecord.Outbound, onrecord.KindMessage, err) {
				return fmt.Errorf("decode message_echoes[%d]: %w", i, err)
			}
			continue
		}
		p.message(sc, &m, raw, onrecord.Outbound)
	}
	for i, raw := range v.Statuses {
		var st status
		if err := json.Unmarshal(raw, &st); err != nil {
			if !p.undecodable(sc, raw, onrecord.Outbound, onrecord.KindSystem, err) {
				return fmt.Errorf("decode statuses[%d]: %w", i, err)
			}
			continue
		}
		p.status(sc, &st, raw)
	}
	for i := range v.Errors {
		p.webhookError(sc, &v.Errors[i], i, ch.Value)
	}
	if len(p.events) == before {
		// A messages value with nothing in it is still a delivery Meta made;
		// it is recorded, not dropped.
		p.system(sc, ch.Value)
	}
	return nil
}

// message maps one message (inbound) or message echo (outbound).
func (p *parser) message(sc *scope, m *message, raw json.RawMessage, dir onrecord.Direction) {
	ev := connector.Event{}
	e := &ev.Event
	meta := map[string]string{}
	e.Kind = onrecord.KindMessage
	e.ProviderID = idOrHash(strings.TrimSpace(m.ID), raw)
	e.Direction = dir
	e.Subtype = m.Type
	e.SentAt = p.timeOf(m.Timestamp, sc, meta)

	customer := sc.party(firstNonEmpty(normPhone(m.From.String()), m.FromUserID))
	if dir == onrecord.Outbound {
		customer = sc.party(firstNonEmpty(normPhone(m.To.String()), m.ToUserID))
		e.Sender = sc.business
		if from := normPhone(m.From.String()); from != "" {
			e.Sender = onrecord.Party{ID: from}
		}
		if customer.ID == "" {
			customer = sc.soleContact()
		}
		if customer.ID == "" {
			customer = sc.thread
		}
		e.Recipients = nonEmptyParties(customer)
	} else {
		if customer.ID == "" {
			customer = sc.soleContact()
		}
		if customer.ID == "" {
			customer = sc.thread
		}
		e.Sender = customer
		e.Recipients = []onrecord.Party{sc.business}
	}
	e.Conversation = customer.ID
	if g := m.GroupID.String(); g != "" {
		e.Conversation, e.Group = g, true
		meta["group_id"] = g
	}
	if m.FromUserID != "" {
		meta["from_user_id"] = m.FromUserID
	}
	if m.ToUserID != "" {
		meta["to_user_id"] = m.ToUserID
	}
	if cx := m.Context; cx != nil {
		e.ReplyTo = cx.ID
		if cx.ID != "" && cx.From != "" {
			meta["reply_to_from"] = cx.From.String()
		}
		e.Forwarded = cx.Forwarded || cx.FrequentlyForwarded
		if cx.FrequentlyForwarded {
			meta["frequently_forwarded"] = "true"
		}
		if rp := cx.ReferredProduct; rp != nil {
			meta["referred_catalog_id"] = rp.CatalogID
			meta["referred_product_retailer_id"] = rp.ProductRetailerID
		}
	}
	if len(m.Referral) > 0 && !isNull(m.Referral) {
		flatten(meta, "referral", m.Referral)
	}
	errorsMeta(meta, m.Errors)

	switch m.Type {
	case "reaction":
		e.Kind = onrecord.KindReaction
		if m.Reaction == nil || strings.TrimSpace(m.Reaction.MessageID) == "" {
			unsupported(e, meta, "reaction without message_id")
			break
		}
		e.Target = m.Reaction.MessageID
		if m.Reaction.Emoji != nil {
			e.Emoji = *m.Reaction.Emoji
		}
		if e.Emoji == "" {
			meta["removed"] = "true"
		}
		if strings.TrimSpace(m.ID) == "" {
			emoji := firstNonEmpty(e.Emoji, "removed")
			e.ProviderID = e.Target + ":" + e.Sender.ID + ":" + emoji + ":" + m.Timestamp.String()
		}
	case "edit":
		e.Kind = onrecord.KindEdit
		if m.Edit == nil || strings.TrimSpace(m.Edit.OriginalMessageID) == "" {
			unsupported(e, meta, "edit without original_message_id")
			break
		}
		e.Target = m.Edit.OriginalMessageID
		if inner := m.Edit.Message; inner != nil {
			e.Subtype = inner.Type
			if !content(&ev, inner, meta) {
				meta["edit_type"] = inner.Type
				e.Subtype = "edit"
			}
			errorsMeta(meta, inner.Errors)
		}
	case "revoke":
		e.Kind = onrecord.KindDelete
		if m.Revoke == nil || strings.TrimSpace(m.Revoke.OriginalMessageID) == "" {
			unsupported(e, meta, "revoke without original_message_id")
			break
		}
		e.Target = m.Revoke.OriginalMessageID
	case "system":
		e.Kind = onrecord.KindSystem
		if s := m.System; s != nil {
			e.Subtype = firstNonEmpty(s.Type, "system")
			e.Body = s.Body
			setIf(meta, "new_wa_id", normPhone(s.WaID.String()))
			setIf(meta, "new_wa_id", normPhone(s.NewWaID.String()))
			setIf(meta, "customer", s.Customer.String())
			setIf(meta, "identity", s.Identity)
			setIf(meta, "user_id", s.UserID)
			setIf(meta, "previous_user_id", s.PreviousUserID)
			if e.Sender.ID == "" {
				// A BSUID change carries no "from"; the user is who it is about.
				e.Sender = sc.party(firstNonEmpty(s.PreviousUserID, s.UserID))
				e.Conversation = e.Sender.ID
			}
		}
		if len(m.Identity) > 0 && !isNull(m.Identity) {
			flatten(meta, "identity", m.Identity)
		}
	case "request_welcome":
		// The customer opened the chat for the first time: an event about
		// the conversation, with no content of its own.
		e.Kind = onrecord.KindSystem
	case "unsupported":
		unsupportedDetails(meta, m.Unsupported)
	default:
		if !content(&ev, m, meta) {
			meta["wa_type"] = m.Type
			e.Subtype = "unsupported"
			unsupportedDetails(meta, m.Unsupported)
		}
	}
	if sc.phoneNumberID != "" {
		meta["phone_number_id"] = sc.phoneNumberID
	}
	if sc.field == fieldMessageEcho {
		meta["echo"] = "true"
	}
	if len(meta) > 0 {
		e.Meta = meta
	}
	p.add(ev)
}

// undecodable records an item of a batch whose fields have types Meta
// does not document (a number where a string belongs...), so the rest of
// the batch is still parsed: an "unsupported" event with whatever ids it
// carries, the decoding error and the item itself in meta. It reports false
// if the item is not even a JSON object; the delivery is then unreadable.
func (p *parser) undecodable(sc *scope, raw json.RawMessage, dir onrecord.Direction, kind onrecord.EventKind, decodeErr error) bool {
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		return false
	}
	str := func(k string) string {
		var f flexString
		if json.Unmarshal(obj[k], &f) != nil {
			return ""
		}
		return strings.TrimSpace(f.String())
	}
	ev := connector.Event{}
	e := &ev.Event
	meta := map[string]string{"wa_type": str("type"), "decode_error": truncate(decodeErr.Error(), 300), "item": compact(raw)}
	e.Kind, e.Subtype, e.Direction = kind, "unsupported", dir
	e.ProviderID = idOrHash(str("id"), raw)
	if st := str("status"); kind == onrecord.KindSystem && st != "" && str("id") != "" {
		e.ProviderID += ":" + st
	}
	e.SentAt = p.timeOf(flexString(str("timestamp")), sc, meta)
	customer := sc.party(firstNonEmpty(normPhone(str("from")), str("from_user_id")))
	if dir == onrecord.Outbound {
		customer = sc.party(firstNonEmpty(normPhone(str("to")), normPhone(str("recipient_id")), str("to_user_id")))
		e.Sender = sc.business
		e.Recipients = nonEmptyParties(customer)
	} else {
		if customer.ID == "" {
			customer = sc.thread
		}
		e.Sender = customer
		e.Recipients = []onrecord.Party{sc.business}
	}
	e.Conversation = firstNonEmpty(str("group_id"), customer.ID, sc.thread.ID)
	setIf(meta, "phone_number_id", sc.phoneNumberID)
	e.Meta = meta
	p.add(ev)
	return true
}

// content fills the body, media and meta of a content-bearing message
// (also the new content of an edit). It reports false for types that are
// not content.
func content(ev *connector.Event, m *message, meta map[string]string) bool {
	e := &ev.Event
	switch m.Type {
	case "text":
		if m.Text != nil {
			e.Body = m.Text.Body
		}
	case "image", "video", "audio", "document", "sticker":
		md := map[string]*media{"image": m.Image, "video": m.Video, "audio": m.Audio, "document": m.Document, "sticker": m.Sticker}[m.Type]
		if md == nil {
			meta["media_missing"] = "true"
			return true
		}
		if m.Type == "audio" && md.Voice {
			e.Subtype = "voice"
			meta["voice"] = "true"
		}
		if md.Animated {
			meta["animated"] = "true"
		}
		e.Body = md.Caption
		setIf(meta, "media_id", md.ID.String())
		setIf(meta, "mime_type", md.MimeType)
		setIf(meta, "sha256", md.SHA256)
		setIf(meta, "media_url", md.URL)
		setIf(meta, "filename", md.Filename)
		if ref, ok := mediaRef(e.Subtype, md); ok {
			ev.Media = append(ev.Media, ref)
		} else {
			meta["media_missing"] = "true"
		}
	case "location":
		l := m.Location
		if l == nil {
			return true
		}
		meta["latitude"], meta["longitude"] = l.Latitude.String(), l.Longitude.String()
		setIf(meta, "location_name", l.Name)
		setIf(meta, "location_address", l.Address)
		setIf(meta, "location_url", l.URL)
		b := "📍 " + l.Latitude.String() + "," + l.Longitude.String()
		if l.Name != "" {
			b += " " + l.Name
		}
		if l.Address != "" {
			b += ", " + l.Address
		}
		e.Body = b
	case "contacts":
		e.Body = contactsBody(m.Contacts, meta)
	case "interactive":
		it := m.Interactive
		if it == nil {
			return true
		}
		meta["interactive_type"] = it.Type
		switch {
		case it.ButtonReply != nil:
			e.Body = it.ButtonReply.Title
			meta["reply_id"], meta["reply_title"] = it.ButtonReply.ID, it.ButtonReply.Title
		case it.ListReply != nil:
			e.Body = it.ListReply.Title
			meta["reply_id"], meta["reply_title"] = it.ListReply.ID, it.ListReply.Title
			setIf(meta, "reply_description", it.ListReply.Description)
		case it.NfmReply != nil:
			e.Body = it.NfmReply.Body
			setIf(meta, "flow_name", it.NfmReply.Name)
			if r := it.NfmReply.ResponseJSON; len(r) > 0 && !isNull(r) {
				// response_json is a JSON document inside a string; keep
				// the document itself.
				var s string
				if json.Unmarshal(r, &s) == nil {
					meta["flow_response_json"] = truncate(s, maxMetaValueBytes)
				} else {
					meta["flow_response_json"] = compact(r)
				}
			}
		}
	case "button":
		if b := m.Button; b != nil {
			e.Body = b.Text
			meta["button_text"], meta["button_payload"] = b.Text, b.Payload
		}
	case "order":
		o := m.Order
		if o == nil {
			return true
		}
		setIf(meta, "catalog_id", o.CatalogID)
		setIf(meta, "order_text", o.Text)
		meta["item_count"] = fmt.Sprint(len(o.ProductItems))
		items, _ := json.Marshal(o.ProductItems)
		meta["product_items"] = compact(items)
		e.Body = fmt.Sprintf("🛒 order of %d item(s) from catalog %s", len(o.ProductItems), o.CatalogID)
		if o.Text != "" {
			e.Body += ": " + o.Text
		}
	default:
		return false
	}
	return true
}

// status maps one entry of value.statuses: a receipt for a message the
// business sent.
func (p *parser) status(sc *scope, st *status, raw json.RawMessage) {
	ev := connector.Event{}
	e := &ev.Event
	meta := map[string]string{}
	e.Kind = onrecord.KindStatus
	e.Direction = onrecord.Outbound
	e.Status = firstNonEmpty(strings.TrimSpace(st.Status), "unknown")
	e.Subtype = e.Status
	e.Target = strings.TrimSpace(st.ID)
	e.SentAt = p.timeOf(st.Timestamp, sc, meta)
	e.Sender = sc.business
	recipient := sc.party(firstNonEmpty(normPhone(st.RecipientID.String()), st.RecipientUserID))
	e.Conversation = recipient.ID
	e.ProviderID = e.Target + ":" + e.Status
	if st.RecipientType == "group" {
		e.Group = true
		meta["recipient_type"] = "group"
		participant := sc.party(firstNonEmpty(normPhone(st.RecipientParticipantID.String()), st.RecipientParticipantUserID))
		if participant.ID != "" {
			// Meta reports a group message's receipts per member.
			e.ProviderID += ":" + participant.ID
			meta["recipient_participant_id"] = participant.ID
			e.Recipients = []onrecord.Party{participant}
		}
	} else {
		e.Recipients = nonEmptyParties(recipient)
	}
	setIf(meta, "recipient_user_id", st.RecipientUserID)
	setIf(meta, "biz_opaque_callback_data", st.BizOpaqueCallbackData)
	setIf(meta, "status_type", st.Type)
	if cv := st.Conversation; cv != nil {
		setIf(meta, "conversation_id", cv.ID)
		setIf(meta, "conversation_origin", cv.Origin.Type)
		setIf(meta, "conversation_expiration", cv.ExpirationTimestamp.String())
	}
	if len(st.Pricing) > 0 && !isNull(st.Pricing) {
		flatten(meta, "pricing", st.Pricing)
	}
	if len(st.Errors) > 0 {
		errorsMeta(meta, st.Errors)
		parts := make([]string, 0, len(st.Errors))
		for _, er := range st.Errors {
			parts = append(parts, er.describe())
		}
		e.StatusError = strings.Join(parts, "; ")
	}
	if e.Target == "" {
		// A receipt for nothing cannot link to an original; keep it as a
		// system event rather than lose it.
		e.Kind = onrecord.KindSystem
		e.ProviderID = "status:" + shortHash(raw)
		meta["unsupported_reason"] = "status without id"
	}
	if sc.phoneNumberID != "" {
		meta["phone_number_id"] = sc.phoneNumberID
	}
	e.Meta = meta
	p.add(ev)
}

// webhookError maps one of value.errors[]: a problem Meta reports about the
// webhook itself (for instance a message it could not deliver to us).
func (p *parser) webhookError(sc *scope, er *apiError, i int, value json.RawMessage) {
	ev := connector.Event{}
	e := &ev.Event
	meta := map[string]string{}
	e.Kind = onrecord.KindSystem
	e.Subtype = "error"
	e.Direction = onrecord.Inbound
	e.ProviderID = fmt.Sprintf("%s:%s:error:%d:%s", sc.entryID, sc.field, i, shortHash(value))
	e.SentAt = p.timeOf("", sc, meta)
	e.Sender = onrecord.Party{ID: metaPartyID, Name: metaPartyName}
	e.Conversation = firstNonEmpty(sc.soleContact().ID, "waba:"+sc.entryID)
	e.Recipients = []onrecord.Party{sc.business}
	errorsMeta(meta, []apiError{*er})
	e.Body = er.describe()
	e.StatusError = e.Body
	setIf(meta, "waba_id", sc.entryID)
	setIf(meta, "phone_number_id", sc.phoneNumberID)
	e.Meta = meta
	p.add(ev)
}

// system maps a change that is not a conversation (account, quality,
// template, security... notifications, and fields added after this was
// written) to a system event that summarises its value.
func (p *parser) system(sc *scope, value json.RawMessage) {
	ev := connector.Event{}
	e := &ev.Event
	meta := map[string]string{}
	e.Kind = onrecord.KindSystem
	e.Subtype = firstNonEmpty(sc.field, "unknown_field")
	e.Direction = onrecord.Inbound
	e.ProviderID = fmt.Sprintf("%s:%s:%s", sc.entryID, e.Subtype, shortHash(value))
	e.Sender = onrecord.Party{ID: metaPartyID, Name: metaPartyName}
	e.Conversation = "waba:" + firstNonEmpty(sc.entryID, "unknown")

	var obj map[string]json.RawMessage
	var ts flexString
	if json.Unmarshal(value, &obj) == nil {
		if t, ok := obj["timestamp"]; ok {
			_ = json.Unmarshal(t, &ts)
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var summary []string
		for n, k := range keys {
			if n >= maxSummaryKeys {
				meta["truncated"] = "true"
				break
			}
			s, scalar := scalarString(obj[k])
			meta["value."+k] = s
			if scalar && s != "" && len(summary) < 8 {
				summary = append(summary, k+"="+truncate(s, 80))
			}
		}
		e.Body = sc.field
		if len(summary) > 0 {
			e.Body += ": " + strings.Join(summary, ", ")
		}
	} else if len(value) > 0 {
		meta["value"] = compact(value)
		e.Body = sc.field
	}
	e.SentAt = p.timeOf(ts, sc, meta)
	meta["field"] = sc.field
	setIf(meta, "waba_id", sc.entryID)
	setIf(meta, "phone_number_id", sc.phoneNumberID)
	e.Meta = meta
	p.add(ev)
}

// add applies the last checks every event must pass and drops an exact
// duplicate within the delivery (Meta occasionally repeats a message in
// one POST); a different event under the same key is kept, so the archive
// can flag the conflict.
func (p *parser) add(ev connector.Event) {
	if p.item != nil {
		p.item.apply(&ev)
	}
	finish(&ev.Event)
	if p.seen == nil {
		p.seen = map[string]int{}
	}
	key := ev.ProviderID + "\x00" + string(ev.Kind)
	if i, ok := p.seen[key]; ok && reflect.DeepEqual(p.events[i], ev) {
		return
	}
	p.seen[key] = len(p.events)
	p.events = append(p.events, ev)
}

// finish makes sure an event built from odd input still validates: the
// gateway would otherwise archive the whole delivery unparsed.
func finish(e *onrecord.Event) {
	e.ProviderID = strings.TrimSpace(e.ProviderID)
	if e.ProviderID == "" {
		e.ProviderID = "unknown"
	}
	if strings.TrimSpace(e.Sender.ID) == "" {
		e.Sender.ID = "unknown"
	}
	if strings.TrimSpace(e.Conversation) == "" {
		e.Conversation = e.Sender.ID
	}
	switch e.Kind {
	case onrecord.KindEdit, onrecord.KindDelete, onrecord.KindReaction, onrecord.KindStatus:
		if strings.TrimSpace(e.Target) == "" {
			if e.Meta == nil {
				e.Meta = map[string]string{}
			}
			unsupported(e, e.Meta, "no original message id")
		}
	}
	if e.Kind == onrecord.KindStatus && strings.TrimSpace(e.Status) == "" {
		e.Status = "unknown"
	}
	rs := e.Recipients[:0]
	for _, r := range e.Recipients {
		if strings.TrimSpace(r.ID) != "" {
			rs = append(rs, r)
		}
	}
	if len(rs) == 0 {
		rs = nil
	}
	e.Recipients = rs
	if e.SentAt.IsZero() {
		e.SentAt = time.Unix(0, 0).UTC()
	}
}

// unsupported turns an event whose reference is missing into a plain
// message (or system event) flagged unsupported, so it is still archived.
func unsupported(e *onrecord.Event, meta map[string]string, reason string) {
	meta["wa_type"] = firstNonEmpty(meta["wa_type"], e.Subtype)
	meta["unsupported_reason"] = reason
	if e.Kind == onrecord.KindStatus {
		e.Kind = onrecord.KindSystem
	} else {
		e.Kind = onrecord.KindMessage
	}
	e.Subtype = "unsupported"
	e.Target, e.Emoji = "", ""
}

// timeOf resolves an event's time: the item's own timestamp, else the
// entry's time, else when the delivery arrived (noted in meta, since a
// retry will then carry a different time).
func (p *parser) timeOf(ts flexString, sc *scope, meta map[string]string) time.Time {
	if n, ok := ts.unixSeconds(); ok {
		return time.Unix(n, 0).UTC()
	}
	if n, ok := sc.entryTime.unixSeconds(); ok {
		return time.Unix(n, 0).UTC()
	}
	meta["timestamp_missing"] = "true"
	if !p.received.IsZero() {
		// Exactly the time of receipt, not rounded: the gateway knows
		// it for one by that (Event.SentAtIsReceipt) and leaves it out
		// of what makes a retry a duplicate. Rounded to the second, a
		// retry in another second was stored as a conflict.
		return p.received.UTC()
	}
	return time.Now().UTC().Truncate(time.Second)
}

// party resolves a customer id to a party with the profile name the
// value's contacts block gives for it.
func (sc *scope) party(id string) onrecord.Party {
	if id == "" {
		return onrecord.Party{}
	}
	return onrecord.Party{ID: id, Name: sc.names[id]}
}

// soleContact is the one contact of the value, if there is exactly one.
func (sc *scope) soleContact() onrecord.Party {
	if len(sc.contacts) != 1 {
		return onrecord.Party{}
	}
	ct := sc.contacts[0]
	return onrecord.Party{ID: firstNonEmpty(normPhone(ct.WaID.String()), ct.UserID), Name: ct.Profile.Name}
}

func (er *apiError) describe() string {
	s := er.Code.String()
	if t := firstNonEmpty(er.Title, er.Message); t != "" {
		s = strings.TrimSpace(s + " " + t)
	}
	if d := er.ErrorData.Details; d != "" && d != er.Title {
		s += ": " + d
	}
	return truncate(s, 500)
}

// errorsMeta records a message's or status's errors[]: the first error's
// fields by name, and all of them as JSON when there are several.
func errorsMeta(meta map[string]string, errs []apiError) {
	if len(errs) == 0 {
		return
	}
	er := errs[0]
	setIf(meta, "error_code", er.Code.String())
	setIf(meta, "error_title", er.Title)
	setIf(meta, "error_message", er.Message)
	setIf(meta, "error_details", er.ErrorData.Details)
	setIf(meta, "error_href", er.Href)
	if len(errs) > 1 {
		codes := make([]string, len(errs))
		for i := range errs {
			codes[i] = errs[i].Code.String()
		}
		meta["error_codes"] = strings.Join(codes, ",")
		b, _ := json.Marshal(errs)
		meta["errors"] = compact(b)
	}
}

func unsupportedDetails(meta map[string]string, raw json.RawMessage) {
	if len(raw) == 0 || isNull(raw) {
		return
	}
	var u struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(raw, &u) == nil && u.Type != "" {
		meta["unsupported_type"] = u.Type
	}
	meta["unsupported"] = compact(raw)
}

type sharedContact struct {
	Name struct {
		FormattedName string `json:"formatted_name"`
		FirstName     string `json:"first_name"`
		LastName      string `json:"last_name"`
	} `json:"name"`
	Phones []struct {
		Phone string     `json:"phone"`
		WaID  flexString `json:"wa_id"`
	} `json:"phones"`
	Emails []struct {
		Email string `json:"email"`
	} `json:"emails"`
	Org struct {
		Company string `json:"company"`
	} `json:"org"`
}

// contactsBody renders shared contact cards ("👤 Name +phone") and keeps
// the cards themselves in meta.
func contactsBody(raw json.RawMessage, meta map[string]string) string {
	if len(raw) == 0 || isNull(raw) {
		return ""
	}
	meta["contacts"] = compact(raw)
	var cards []sharedContact
	if json.Unmarshal(raw, &cards) != nil {
		return ""
	}
	meta["contacts_count"] = fmt.Sprint(len(cards))
	lines := make([]string, 0, len(cards))
	for _, c := range cards {
		name := firstNonEmpty(c.Name.FormattedName, strings.TrimSpace(c.Name.FirstName+" "+c.Name.LastName), "(no name)")
		line := "👤 " + name
		if c.Org.Company != "" {
			line += " (" + c.Org.Company + ")"
		}
		for _, ph := range c.Phones {
			line += " " + firstNonEmpty(ph.Phone, ph.WaID.String())
		}
		for _, em := range c.Emails {
			line += " " + em.Email
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}

// flatten copies an object's scalar members into meta as prefix_key, and
// nested members as compact JSON.
func flatten(meta map[string]string, prefix string, raw json.RawMessage) {
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		meta[prefix] = compact(raw)
		return
	}
	n := 0
	for k, v := range obj {
		if n >= maxSummaryKeys {
			break
		}
		n++
		s, _ := scalarString(v)
		meta[prefix+"_"+k] = s
	}
}

// scalarString renders a JSON value as text: strings unquoted, numbers and
// booleans as written, objects and arrays as compact JSON.
func scalarString(v json.RawMessage) (string, bool) {
	v = bytes.TrimSpace(v)
	if len(v) == 0 || isNull(v) {
		return "", true
	}
	switch v[0] {
	case '"':
		var s string
		if json.Unmarshal(v, &s) == nil {
			return truncate(s, maxMetaValueBytes), true
		}
	case '{', '[':
		return compact(v), false
	}
	return truncate(string(v), maxMetaValueBytes), true
}

// compact renders a JSON fragment for meta: compact, and with Meta's
// \uXXXX escapes decoded so names stay searchable ("Chloé", not
// "Chlo\u00e9"). Object keys come out sorted; the raw body keeps the
// original.
func compact(raw json.RawMessage) string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err == nil {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if enc.Encode(v) == nil {
			return truncate(strings.TrimSuffix(b.String(), "\n"), maxMetaValueBytes)
		}
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return truncate(strings.ToValidUTF8(string(raw), "\uFFFD"), maxMetaValueBytes)
	}
	return truncate(strings.ToValidUTF8(b.String(), "\uFFFD"), maxMetaValueBytes)
}

func isNull(raw json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(raw), []byte("null")) }

// idOrHash is id, or for an item Meta gave none, "sha256:" and the item's
// shortHash. The hash (compacting and hashing the item) is only computed
// when needed: every message has an id, and hashing each was a tenth of
// parsing a delivery.
func idOrHash(id string, raw []byte) string {
	if strings.TrimSpace(id) != "" {
		return id
	}
	return "sha256:" + shortHash(raw)
}

// shortHash identifies a payload fragment for ids Meta does not give: the
// hash of its compact form, so whitespace does not matter.
func shortHash(raw []byte) string {
	var b bytes.Buffer
	if json.Compact(&b, raw) == nil {
		raw = b.Bytes()
	}
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:12])
}

// normPhone turns a phone number as Meta writes it ("+1 555-010-0200",
// "15550100200") into the wa_id form (digits only), so the business number
// in metadata and in an echo's "from" compare equal. Anything that is not a
// phone number (a BSUID, a group id) is returned unchanged.
func normPhone(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' || r == ' ' || r == '-' || r == '(' || r == ')' || r == '.':
		default:
			return s
		}
	}
	if b.Len() == 0 {
		return s
	}
	return b.String()
}

func nonEmptyParties(ps ...onrecord.Party) []onrecord.Party {
	var out []onrecord.Party
	for _, p := range ps {
		if p.ID != "" {
			out = append(out, p)
		}
	}
	return out
}

func setIf(meta map[string]string, k, v string) {
	if v != "" {
		meta[k] = truncate(v, maxMetaValueBytes)
	}
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}
