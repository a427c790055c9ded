package archive

import (
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/onrecord/onrecord"
)

// recentSize is how many of the latest records Events can serve from
// memory: at 500 ms between the search index's catch-ups (app's
// IndexInterval), more than one and a half times what arrives meanwhile
// at 20,000 records a second, and some 25 MB. A reader further behind (a
// restart, a rebuild, an index that fell behind) reads the journal as
// before, decrypting and decoding each record again.
const recentSize = 1 << 14

// recent keeps the latest records as Events would return them, so that a
// reader that keeps up with the journal — the server's search index
// tailer — takes each event in from memory instead of reading it back,
// decrypting it and decoding its JSON again. It is a ring indexed by
// sequence number; each slot is replaced whole, so readers need no lock.
// The journal stays the truth: a record not in the ring (overwritten,
// appended by a path that does not keep it, or whose appender has not
// come back from the journal yet) is read from the journal.
type recent struct {
	slots [recentSize]atomic.Pointer[recentRecord]
}

// recentRecord is one record as Events passes it on: the event, or why
// the record is not one.
type recentRecord struct {
	seq    uint64
	bucket string
	ev     *onrecord.Event
	err    error
}

func (r *recent) put(rec *recentRecord) {
	r.slots[rec.seq%recentSize].Store(rec)
}

// get returns record seq if it is in memory.
func (r *recent) get(seq uint64) (*recentRecord, bool) {
	rec := r.slots[seq%recentSize].Load()
	if rec == nil || rec.seq != seq {
		return nil, false
	}
	return rec, true
}

// drop forgets every record of bucket: its key is being destroyed, and
// from then on its records read as disposed of.
func (r *recent) drop(bucket string) {
	for i := range r.slots {
		if rec := r.slots[i].Load(); rec != nil && rec.bucket == bucket {
			r.slots[i].CompareAndSwap(rec, nil)
		}
	}
}

// decodedForm returns the event exactly as decoding its JSON encoding
// (what is sealed in the record) returns it — Events must not tell a
// record served from memory from one read from the journal — or false
// when it cannot be sure, and the record is then read from the journal.
// The differences between an event and its round trip through JSON are:
// empty slices and maps (omitted, so nil after decoding), times (decoded
// in the location their text names, without a monotonic reading) and
// invalid UTF-8 (replaced when encoded), for which it gives up.
func decodedForm(ev *onrecord.Event) (*onrecord.Event, bool) {
	c := *ev
	if !validEvent(&c) {
		return nil, false
	}
	var ok bool
	if c.SentAt, ok = roundTrip(c.SentAt); !ok {
		return nil, false
	}
	if c.CapturedAt, ok = roundTrip(c.CapturedAt); !ok {
		return nil, false
	}
	c.Recipients = nilIfEmpty(c.Recipients)
	c.Attachments = nilIfEmpty(c.Attachments)
	if len(c.Attachments) > 0 {
		c.Attachments = append([]onrecord.Attachment(nil), c.Attachments...)
		for i := range c.Attachments {
			att := &c.Attachments[i]
			att.Data, att.BlobKey = nilIfEmpty(att.Data), nilIfEmpty(att.BlobKey)
		}
	}
	if len(c.Meta) == 0 {
		c.Meta = nil
	}
	c.Raw = nilIfEmpty(c.Raw)
	if c.RawBlob != nil {
		rb := *c.RawBlob
		rb.Data, rb.BlobKey = nilIfEmpty(rb.Data), nilIfEmpty(rb.BlobKey)
		c.RawBlob = &rb
	}
	if c.Capture != nil {
		cp := *c.Capture
		cp.Roster, cp.Flags = nilIfEmpty(cp.Roster), nilIfEmpty(cp.Flags)
		c.Capture = &cp
	}
	return &c, true
}

func nilIfEmpty[S ~[]E, E any](s S) S {
	if len(s) == 0 {
		return nil
	}
	return s
}

// roundTrip is t as encoding/json writes and reads it back.
func roundTrip(t time.Time) (time.Time, bool) {
	if t.Location() == time.UTC {
		// What reading "…Z" back gives: the same instant in UTC, no
		// monotonic reading. Without the text, as most times here are UTC
		// (TestRoundTrip_UTCShortcut).
		if y := t.Year(); y >= 0 && y <= 9999 {
			return t.Round(0), true
		}
	}
	b, err := t.MarshalText()
	if err != nil {
		return time.Time{}, false
	}
	var out time.Time
	if err := out.UnmarshalText(b); err != nil {
		return time.Time{}, false
	}
	return out, true
}

// validEvent says whether every string in ev is valid UTF-8, so that
// encoding it changes none of them.
func validEvent(ev *onrecord.Event) bool {
	ok := valid(ev.ID, ev.Channel, string(ev.Kind), ev.ProviderID, ev.Conversation, string(ev.Direction),
		ev.Sender.ID, ev.Sender.Name, ev.Body, ev.Target, ev.Emoji, ev.Status, ev.Subtype, ev.ReplyTo,
		ev.Thread, ev.GroupName, ev.StatusError, ev.RetentionClass)
	for _, p := range ev.Recipients {
		ok = ok && valid(p.ID, p.Name)
	}
	for _, a := range ev.Attachments {
		ok = ok && valid(a.Name, a.ContentType, a.Blob, a.SHA256, a.Ref, a.Error)
	}
	if a := ev.RawBlob; a != nil {
		ok = ok && valid(a.Name, a.ContentType, a.Blob, a.SHA256, a.Ref, a.Error)
	}
	for k, v := range ev.Meta {
		ok = ok && valid(k, v)
	}
	if c := ev.Capture; c != nil {
		ok = ok && valid(c.GroupID) && valid(c.Flags...)
		for _, m := range c.Roster {
			ok = ok && valid(m.Address, m.Person, m.Name)
		}
	}
	return ok
}

func valid(ss ...string) bool {
	for _, s := range ss {
		if !utf8.ValidString(s) {
			return false
		}
	}
	return true
}
