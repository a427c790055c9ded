package archive

import (
	"context"
	"fmt"
	"unicode/utf8"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/blob"
)

// sealAttachments moves the files an event carries — and a provider
// payload over RawInline, a text over BodyInline, recipients over
// RecipientsInline and a group's roster over RosterInline — into the blob
// store and returns a copy of the event that refers to them instead. The
// blobs are durable before the record that refers to them is appended, so
// a committed record never points at nothing. The caller's event is left
// as it was.
func (a *Archive) sealAttachments(ctx context.Context, ev *onrecord.Event) (*onrecord.Event, error) {
	n := 0
	for _, att := range ev.Attachments {
		if len(att.Data) > 0 {
			n++
		}
	}
	bigRaw := len(ev.Raw) > RawInline
	bigBody := bodyTooLong(ev.Body)
	recipients, err := sealList(ctx, a, &a.sealedRecipients, RecipientsInline, ev.Recipients, appendParty, partyMaxBytes, "recipients")
	if err != nil {
		return nil, err
	}
	var roster *onrecord.Attachment
	if ev.Capture != nil {
		if roster, err = sealList(ctx, a, &a.sealedRosters, RosterInline, ev.Capture.Roster, appendMember, memberMaxBytes, "roster"); err != nil {
			return nil, err
		}
	}
	if n == 0 && !bigRaw && !bigBody && recipients == nil && roster == nil {
		return ev, nil
	}
	c := *ev
	if bigRaw {
		if c.RawBlob, err = a.putBlob(ctx, ev.Raw, "raw", "application/octet-stream", "raw payload"); err != nil {
			return nil, err
		}
		c.Raw = nil
	}
	if bigBody {
		if c.BodyBlob, err = a.putBlob(ctx, []byte(ev.Body), "body", "text/plain; charset=utf-8", "message text"); err != nil {
			return nil, err
		}
		c.Body = ""
	}
	if recipients != nil {
		c.Recipients, c.RecipientsBlob = nil, recipients
	}
	if roster != nil {
		capture := *ev.Capture
		capture.Roster, capture.RosterBlob = nil, roster
		c.Capture = &capture
	}
	if n == 0 {
		return &c, nil
	}
	c.Attachments = append([]onrecord.Attachment(nil), ev.Attachments...)
	for i := range c.Attachments {
		att := &c.Attachments[i]
		if len(att.Data) == 0 {
			continue
		}
		ref, err := a.blobs.Put(ctx, att.Data)
		if err != nil {
			return nil, &onrecord.Error{Code: onrecord.EUNAVAILABLE, Message: "attachment not stored", Err: fmt.Errorf("attachment %d: %w", i, err)}
		}
		att.Data = nil
		att.Blob, att.BlobKey, att.Size, att.SHA256 = ref.Addr, ref.Key, ref.Size, ref.SHA256
	}
	return &c, nil
}

// putBlob stores b as a sealed blob and returns the attachment a record
// keeps in its place; what names b in the error a caller gets.
func (a *Archive) putBlob(ctx context.Context, b []byte, name, contentType, what string) (*onrecord.Attachment, error) {
	ref, err := a.blobs.Put(ctx, b)
	if err != nil {
		return nil, &onrecord.Error{Code: onrecord.EUNAVAILABLE, Message: what + " not stored", Err: fmt.Errorf("%s: %w", what, err)}
	}
	return &onrecord.Attachment{Name: name, ContentType: contentType, Blob: ref.Addr, BlobKey: ref.Key, Size: ref.Size, SHA256: ref.SHA256}, nil
}

// sealList stores items as a blob of their JSON array when that takes
// more than limit bytes, and returns the attachment a record keeps in
// their place; nil when they stay inline. A list that cannot reach the
// limit (by maxBytes, the most an item can encode to) is not encoded to
// find out, and one stored lately (refs) is not stored again.
func sealList[T comparable](ctx context.Context, a *Archive, refs *listRefs[T], limit int, items []T, each func([]byte, *T) []byte, maxBytes func(*T) int, name string) (*onrecord.Attachment, error) {
	most := 2 // the brackets
	for i := range items {
		if most += maxBytes(&items[i]) + 1; most > limit {
			break
		}
	}
	if most <= limit {
		return nil, nil
	}
	if ref := refs.find(items); ref != nil {
		cp := *ref
		return &cp, nil
	}
	enc := appendList(nil, "", items, each)
	if len(enc) <= limit {
		return nil, nil
	}
	ref, err := a.putBlob(ctx, enc, name, "application/json", name)
	if err != nil {
		return nil, err
	}
	refs.keep(items, ref)
	cp := *ref
	return &cp, nil
}

// partyMaxBytes and memberMaxBytes are the most a recipient or a roster
// member can encode to: the keys and punctuation, and the most its texts
// can (jsonMaxLen).
func partyMaxBytes(p *onrecord.Party) int {
	return len(`{"id":"","name":""}`) + jsonMaxLen(p.ID) + jsonMaxLen(p.Name)
}

func memberMaxBytes(m *onrecord.GroupMember) int {
	return len(`{"address":"","person":"","name":"","admin":true}`) + jsonMaxLen(m.Address) + jsonMaxLen(m.Person) + jsonMaxLen(m.Name)
}

// jsonMaxLen is the most bytes s can take in a JSON string as
// appendJSONString writes it: one for a byte of plain ASCII, six for any
// other ("\u003c" for "<", "\ufffd" for a byte of invalid UTF-8). It
// reads s once and allocates nothing, so that the common event, with a
// recipient or two, is not encoded twice.
func jsonMaxLen(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= utf8.RuneSelf, c < 0x20, c == '"', c == '\\', c == '<', c == '>', c == '&':
			n += 6
		default:
			n++
		}
	}
	return n
}

// RawInline is the largest provider payload a record keeps inline; a
// larger one is stored as a sealed blob the record refers to (RawBlob).
// The record's ciphertext holds the payload base64-encoded beside the
// event, and a log entry bundle (C2SP tlog-tiles) holds entries of at most
// 64 KiB: inline payloads up to 16 KiB keep nearly every record within
// that, and all but a few webhooks are a few KiB.
const RawInline = 16 << 10

// BodyInline is the most bytes a message's text may take, encoded as JSON,
// in its record; a longer one is stored as a sealed blob the record refers
// to (BodyBlob). With the payload's 16 KiB (RawInline, base64 in the
// record: 22 KiB) it leaves more than 20 KiB of the 64 KiB an entry
// bundle holds for the rest of the event. Measured encoded, not in
// characters: "<" takes six bytes ("\u003c") and a CJK character three.
const BodyInline = 16 << 10

// bodyTooLong says whether body, encoded, exceeds BodyInline. Only a text
// that could (over a sixth of it: no character encodes to more than six
// bytes) is encoded to find out.
func bodyTooLong(body string) bool {
	if len(body) <= BodyInline/6 {
		return false
	}
	if len(body) > BodyInline {
		return true
	}
	return len(appendJSONString(make([]byte, 0, 2*len(body)), body)) > BodyInline
}

// RosterInline is the most bytes a governed group's roster may take,
// encoded as JSON, in a record; a longer one (about 50 members and up) is
// stored as a sealed blob (Capture.RosterBlob). Every message of the group
// carries its roster, so the blob is one per membership, not per message.
const RosterInline = 4 << 10

// RecipientsInline is the most bytes an event's recipients may take,
// encoded as JSON, in its record; more (a message to a group of a few
// hundred) are stored as a sealed blob (RecipientsBlob). With the text's
// and the payload's limits it keeps a record within the 64 KiB of a log
// entry bundle.
const RecipientsInline = 8 << 10

// inflate puts what a record read from the archive keeps as blobs back in
// the event — the text (BodyBlob) in Body, the recipients (RecipientsBlob)
// in Recipients, a group's roster (Capture.RosterBlob) in Capture.Roster —
// checked against the digests the record committed to, so that no reader
// of the archive needs to know. The blobs' keys go with them: nothing
// shown or exported from the event can carry one.
func (a *Archive) inflate(ev *onrecord.Event) error {
	read := func(att *onrecord.Attachment) func() ([]byte, error) {
		return func() ([]byte, error) { return a.Attachment(context.Background(), att) }
	}
	if ev.BodyBlob != nil {
		body, err := read(ev.BodyBlob)()
		if err != nil {
			return fmt.Errorf("message text: %w", err)
		}
		ev.Body, ev.BodyBlob = string(body), nil
	}
	if ev.RecipientsBlob != nil {
		recipients, err := a.recipients.get(ev.RecipientsBlob, read(ev.RecipientsBlob))
		if err != nil {
			return fmt.Errorf("recipients: %w", err)
		}
		ev.Recipients, ev.RecipientsBlob = recipients, nil
	}
	if ev.Capture != nil && ev.Capture.RosterBlob != nil {
		roster, err := a.rosters.get(ev.Capture.RosterBlob, read(ev.Capture.RosterBlob))
		if err != nil {
			return fmt.Errorf("group roster: %w", err)
		}
		c := *ev.Capture
		c.Roster, c.RosterBlob = roster, nil
		ev.Capture = &c
	}
	return nil
}

// Raw returns the provider's payload of a record read from the archive:
// Raw, or the blob RawBlob refers to, checked against the digest the
// record committed to.
func (a *Archive) Raw(ctx context.Context, ev *onrecord.Event) ([]byte, error) {
	if ev.RawBlob == nil {
		return ev.Raw, nil
	}
	return a.Attachment(ctx, ev.RawBlob)
}

// Attachment returns the plaintext of an attachment of a record read from
// the archive, checked against the digest the record committed to.
// Records written before the blob store kept files inline; Data is
// returned as it is.
func (a *Archive) Attachment(ctx context.Context, att *onrecord.Attachment) ([]byte, error) {
	if len(att.Data) > 0 || att.Blob == "" {
		return att.Data, nil
	}
	return a.blobs.Get(ctx, blob.Ref{Addr: att.Blob, Key: att.BlobKey, Size: att.Size, SHA256: att.SHA256})
}
