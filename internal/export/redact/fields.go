package redact

import (
	"fmt"
	"maps"
	"slices"

	"github.com/onrecord/onrecord"
)

// fieldKind says how a produced value is written back: most fields have a
// setter, but meta keys and values are rebuilt together because redacting
// a key renames it.
type fieldKind int

const (
	plainField fieldKind = iota
	metaKeyField
	metaValueField
)

// textField is one string of an event that can carry what a person wrote
// or who they are: detectors scan it, spans address it, and redacted text
// found anywhere in the production is searched for in it.
//
// Left out on purpose are the values the archive or the connector assigns
// and checks (id, channel, kind, direction, retention_class) and the
// digests of attachments (blob, sha256): they carry no content, and
// rewriting them would make the produced record unreadable rather than
// redacted. Times and flags are not text.
type textField struct {
	// name is how spans address the field: "body", "recipients[0].name",
	// "attachments[1].name", "meta.KEY" (a meta value), "meta-key.KEY" (the
	// key itself).
	name  string
	value string
	kind  fieldKind
	// metaKey is the original key of a meta key or value.
	metaKey string
	// set writes the produced value into the copy; nil for meta fields.
	set func(ev *onrecord.Event, v string)
}

// fieldsOf lists the text fields of ev in a fixed order (the order of the
// Event struct, meta keys sorted), which is the order the log lists them
// in.
func fieldsOf(ev *onrecord.Event) []textField {
	var fs []textField
	add := func(name, v string, set func(*onrecord.Event, string)) {
		fs = append(fs, textField{name: name, value: v, set: set})
	}
	add("provider_id", ev.ProviderID, func(e *onrecord.Event, v string) { e.ProviderID = v })
	add("conversation", ev.Conversation, func(e *onrecord.Event, v string) { e.Conversation = v })
	add("sender.id", ev.Sender.ID, func(e *onrecord.Event, v string) { e.Sender.ID = v })
	add("sender.name", ev.Sender.Name, func(e *onrecord.Event, v string) { e.Sender.Name = v })
	for i, p := range ev.Recipients {
		add(fmt.Sprintf("recipients[%d].id", i), p.ID, func(e *onrecord.Event, v string) { e.Recipients[i].ID = v })
		add(fmt.Sprintf("recipients[%d].name", i), p.Name, func(e *onrecord.Event, v string) { e.Recipients[i].Name = v })
	}
	add("body", ev.Body, func(e *onrecord.Event, v string) { e.Body = v })
	add("target", ev.Target, func(e *onrecord.Event, v string) { e.Target = v })
	add("emoji", ev.Emoji, func(e *onrecord.Event, v string) { e.Emoji = v })
	add("status", ev.Status, func(e *onrecord.Event, v string) { e.Status = v })
	for i, a := range ev.Attachments {
		add(fmt.Sprintf("attachments[%d].name", i), a.Name, func(e *onrecord.Event, v string) { e.Attachments[i].Name = v })
		add(fmt.Sprintf("attachments[%d].content_type", i), a.ContentType, func(e *onrecord.Event, v string) { e.Attachments[i].ContentType = v })
		add(fmt.Sprintf("attachments[%d].ref", i), a.Ref, func(e *onrecord.Event, v string) { e.Attachments[i].Ref = v })
		add(fmt.Sprintf("attachments[%d].error", i), a.Error, func(e *onrecord.Event, v string) { e.Attachments[i].Error = v })
	}
	add("subtype", ev.Subtype, func(e *onrecord.Event, v string) { e.Subtype = v })
	add("reply_to", ev.ReplyTo, func(e *onrecord.Event, v string) { e.ReplyTo = v })
	add("thread", ev.Thread, func(e *onrecord.Event, v string) { e.Thread = v })
	add("group_name", ev.GroupName, func(e *onrecord.Event, v string) { e.GroupName = v })
	add("status_error", ev.StatusError, func(e *onrecord.Event, v string) { e.StatusError = v })
	keys := make([]string, 0, len(ev.Meta))
	for k := range ev.Meta {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		// Keys are provider field names as a rule, but nothing stops a
		// provider from keying a map by a phone number or an address.
		fs = append(fs,
			textField{name: "meta-key." + k, value: k, kind: metaKeyField, metaKey: k},
			textField{name: "meta." + k, value: ev.Meta[k], kind: metaValueField, metaKey: k})
	}
	if c := ev.Capture; c != nil {
		// A governed group's roster names every member, the clients'
		// numbers among them; a JSONL production carries it whole.
		add("capture.group_id", c.GroupID, func(e *onrecord.Event, v string) { e.Capture.GroupID = v })
		for i, m := range c.Roster {
			add(fmt.Sprintf("capture.roster[%d].address", i), m.Address, func(e *onrecord.Event, v string) { e.Capture.Roster[i].Address = v })
			add(fmt.Sprintf("capture.roster[%d].person", i), m.Person, func(e *onrecord.Event, v string) { e.Capture.Roster[i].Person = v })
			add(fmt.Sprintf("capture.roster[%d].name", i), m.Name, func(e *onrecord.Event, v string) { e.Capture.Roster[i].Name = v })
		}
	}
	return fs
}

// cloneEvent copies ev so that the copy can be changed without touching
// the archive's decrypted event (whose roster the archive shares with the
// other messages of the group). Attachment Data is shared, not copied:
// nothing in an export writes into attachment bytes (a withheld file's
// slice is replaced, not cleared), and a production can hold gigabytes of
// them.
func cloneEvent(ev *onrecord.Event) *onrecord.Event {
	cp := *ev
	cp.Recipients = slices.Clone(ev.Recipients)
	cp.Attachments = slices.Clone(ev.Attachments)
	for i := range cp.Attachments {
		cp.Attachments[i].BlobKey = slices.Clone(ev.Attachments[i].BlobKey)
	}
	cp.Meta = maps.Clone(ev.Meta)
	cp.Raw = slices.Clone(ev.Raw)
	if ev.Capture != nil {
		c := *ev.Capture
		c.Roster, c.Flags = slices.Clone(c.Roster), slices.Clone(c.Flags)
		cp.Capture = &c
	}
	return &cp
}
