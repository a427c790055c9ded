package archive

import (
	"context"
	"fmt"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/blob"
)

// sealAttachments moves the files an event carries, and a provider payload
// over RawInline, into the blob store and returns a copy of the event that
// refers to them instead. The blobs
// are durable before the record that refers to them is appended, so a
// committed record never points at nothing. The caller's event is left
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
	if n == 0 && !bigRaw && !bigBody {
		return ev, nil
	}
	c := *ev
	if bigRaw {
		ref, err := a.blobs.Put(ctx, ev.Raw)
		if err != nil {
			return nil, &onrecord.Error{Code: onrecord.EUNAVAILABLE, Message: "raw payload not stored", Err: fmt.Errorf("raw payload: %w", err)}
		}
		c.Raw = nil
		c.RawBlob = &onrecord.Attachment{Name: "raw", ContentType: "application/octet-stream",
			Blob: ref.Addr, BlobKey: ref.Key, Size: ref.Size, SHA256: ref.SHA256}
	}
	if bigBody {
		ref, err := a.blobs.Put(ctx, []byte(ev.Body))
		if err != nil {
			return nil, &onrecord.Error{Code: onrecord.EUNAVAILABLE, Message: "message text not stored", Err: fmt.Errorf("body: %w", err)}
		}
		c.Body = ""
		c.BodyBlob = &onrecord.Attachment{Name: "body", ContentType: "text/plain; charset=utf-8",
			Blob: ref.Addr, BlobKey: ref.Key, Size: ref.Size, SHA256: ref.SHA256}
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

// inflate puts the text of a record read from the archive back in Body
// when the record keeps it as a blob (BodyBlob), checked against the
// digest the record committed to, so that no reader of the archive needs
// to know. The blob's key goes with it: nothing shown or exported from
// the event can carry it.
func (a *Archive) inflate(ev *onrecord.Event) error {
	if ev.BodyBlob == nil {
		return nil
	}
	body, err := a.Attachment(context.Background(), ev.BodyBlob)
	if err != nil {
		return fmt.Errorf("message text: %w", err)
	}
	ev.Body, ev.BodyBlob = string(body), nil
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
