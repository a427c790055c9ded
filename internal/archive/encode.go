package archive

import (
	"encoding/base64"
	"errors"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	jsonv1 "github.com/go-json-experiment/json/v1"

	"github.com/onrecord/onrecord"
)

// decodeEvent decodes a record's plaintext into ev with encoding/json's
// Unmarshal semantics (the same event, and an error wherever encoding/json
// gives one, on what appendEvent or any older build wrote) through the
// implementation of them in github.com/go-json-experiment/json/v1, which
// the connectors already use. It takes about a third of the time, with 9
// allocations against 29 (BenchmarkDecodeEvent: 4.3 against 12.4 µs for an
// event of 1.2 KB). Every read of an event goes through it: the index's
// catch-ups, searches' results, exports and verify.
// TestDecodeEvent_MatchesJSON and FuzzDecodeEvent hold it to encoding/json.
func decodeEvent(pt []byte, ev *onrecord.Event) error {
	return jsonv1.Unmarshal(pt, ev)
}

// appendEvent appends ev encoded exactly as encoding/json's Marshal
// encodes it — the same bytes, field order, escaping and errors — without
// reflection. Every record's content hash is taken over this encoding, so
// it must never drift from json.Marshal: a provider's retry of an event
// stored by an older build would otherwise look like a conflict.
// TestAppendEvent_MatchesJSON and FuzzAppendEvent hold it to that. It is
// on every capture's path, where json.Marshal's reflection cost about a
// twentieth of the gateway's CPU (bench ingest's profile).
func appendEvent(b []byte, ev *onrecord.Event) ([]byte, error) {
	b = append(b, '{')
	if ev.ID != "" {
		b = appendJSONString(append(b, `"id":`...), ev.ID)
		b = append(b, ',')
	}
	b = appendJSONString(append(b, `"channel":`...), ev.Channel)
	b = appendJSONString(append(b, `,"kind":`...), string(ev.Kind))
	b = appendJSONString(append(b, `,"provider_id":`...), ev.ProviderID)
	b = appendJSONString(append(b, `,"conversation":`...), ev.Conversation)
	b = appendJSONString(append(b, `,"direction":`...), string(ev.Direction))
	b = appendParty(append(b, `,"sender":`...), &ev.Sender)
	b = appendList(b, `,"recipients":`, ev.Recipients, appendParty)
	if ev.RecipientsBlob != nil {
		b = appendAttachment(append(b, `,"recipients_blob":`...), ev.RecipientsBlob)
	}
	var err error
	if b, err = appendTime(append(b, `,"sent_at":`...), ev.SentAt); err != nil {
		return nil, err
	}
	if ev.SentAtIsReceipt {
		b = append(b, `,"sent_at_is_receipt":true`...)
	}
	if !ev.CapturedAt.IsZero() {
		if b, err = appendTime(append(b, `,"captured_at":`...), ev.CapturedAt); err != nil {
			return nil, err
		}
	}
	b = appendOptString(b, `,"body":`, ev.Body)
	if ev.BodyBlob != nil {
		b = appendAttachment(append(b, `,"body_blob":`...), ev.BodyBlob)
	}
	b = appendOptString(b, `,"target":`, ev.Target)
	b = appendOptString(b, `,"emoji":`, ev.Emoji)
	b = appendOptString(b, `,"status":`, ev.Status)
	b = appendList(b, `,"attachments":`, ev.Attachments, appendAttachment)
	b = appendOptString(b, `,"subtype":`, ev.Subtype)
	b = appendOptString(b, `,"reply_to":`, ev.ReplyTo)
	b = appendOptString(b, `,"thread":`, ev.Thread)
	if ev.Forwarded {
		b = append(b, `,"forwarded":true`...)
	}
	if ev.Group {
		b = append(b, `,"group":true`...)
	}
	b = appendOptString(b, `,"group_name":`, ev.GroupName)
	if ev.ExpiresInSeconds != 0 {
		b = strconv.AppendInt(append(b, `,"expires_in_seconds":`...), int64(ev.ExpiresInSeconds), 10)
	}
	b = appendOptString(b, `,"status_error":`, ev.StatusError)
	if len(ev.Meta) > 0 {
		b = appendMeta(append(b, `,"meta":`...), ev.Meta)
	}
	if ev.Capture != nil {
		b = appendCapture(append(b, `,"capture":`...), ev.Capture)
	}
	b = appendOptString(b, `,"retention_class":`, ev.RetentionClass)
	if len(ev.Raw) > 0 {
		b = appendBase64(append(b, `,"raw":`...), ev.Raw)
	}
	if ev.RawBlob != nil {
		b = appendAttachment(append(b, `,"raw_blob":`...), ev.RawBlob)
	}
	return append(b, '}'), nil
}

func appendParty(b []byte, p *onrecord.Party) []byte {
	b = appendJSONString(append(b, `{"id":`...), p.ID)
	b = appendOptString(b, `,"name":`, p.Name)
	return append(b, '}')
}

func appendAttachment(b []byte, a *onrecord.Attachment) []byte {
	b = appendJSONString(append(b, `{"name":`...), a.Name)
	b = appendJSONString(append(b, `,"content_type":`...), a.ContentType)
	if len(a.Data) > 0 {
		b = appendBase64(append(b, `,"data_base64":`...), a.Data)
	}
	b = appendOptString(b, `,"blob":`, a.Blob)
	if len(a.BlobKey) > 0 {
		b = appendBase64(append(b, `,"blob_key":`...), a.BlobKey)
	}
	if a.Size != 0 {
		b = strconv.AppendInt(append(b, `,"size":`...), a.Size, 10)
	}
	b = appendOptString(b, `,"sha256":`, a.SHA256)
	b = appendOptString(b, `,"ref":`, a.Ref)
	b = appendOptString(b, `,"error":`, a.Error)
	return append(b, '}')
}

func appendCapture(b []byte, c *onrecord.Capture) []byte {
	start := len(b)
	b = appendOptString(b, `,"group_id":`, c.GroupID)
	b = appendList(b, `,"roster":`, c.Roster, appendMember)
	if c.RosterBlob != nil {
		b = appendAttachment(append(b, `,"roster_blob":`...), c.RosterBlob)
	}
	b = appendList(b, `,"flags":`, c.Flags, func(b []byte, f *string) []byte { return appendJSONString(b, *f) })
	if len(b) == start {
		return append(b, "{}"...)
	}
	b[start] = '{' // the first field's comma opens the object
	return append(b, '}')
}

func appendMember(b []byte, m *onrecord.GroupMember) []byte {
	b = appendJSONString(append(b, `{"address":`...), m.Address)
	b = appendOptString(b, `,"person":`, m.Person)
	b = appendOptString(b, `,"name":`, m.Name)
	if m.Admin {
		b = append(b, `,"admin":true`...)
	}
	return append(b, '}')
}

// appendList writes key and the items as a JSON array, or nothing when
// there are none (omitempty).
func appendList[T any](b []byte, key string, items []T, each func([]byte, *T) []byte) []byte {
	if len(items) == 0 {
		return b
	}
	b = append(append(b, key...), '[')
	for i := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = each(b, &items[i])
	}
	return append(b, ']')
}

// appendMeta writes the map with its keys sorted, as encoding/json does.
func appendMeta(b []byte, m map[string]string) []byte {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = appendJSONString(append(b, ':'), m[k])
	}
	return append(b, '}')
}

func appendOptString(b []byte, key, s string) []byte {
	if s == "" {
		return b
	}
	return appendJSONString(append(b, key...), s)
}

func appendBase64(b []byte, data []byte) []byte {
	b = append(b, '"')
	b = base64.StdEncoding.AppendEncode(b, data)
	return append(b, '"')
}

// appendTime is time.Time's MarshalJSON, appending: RFC 3339 with
// nanoseconds, and the same refusal of what RFC 3339 cannot write.
func appendTime(b []byte, t time.Time) ([]byte, error) {
	b = append(b, '"')
	n0 := len(b)
	b = t.AppendFormat(b, time.RFC3339Nano)
	num2 := func(d []byte) byte { return 10*(d[0]-'0') + (d[1] - '0') }
	switch {
	case len(b)-n0 < len("9999-") || b[n0+len("9999")] != '-':
		return nil, errors.New("json: error calling MarshalJSON for type time.Time: Time.MarshalJSON: year outside of range [0,9999]")
	case b[len(b)-1] != 'Z':
		c := b[len(b)-len("Z07:00")]
		if ('0' <= c && c <= '9') || num2(b[len(b)-len("07:00"):]) >= 24 {
			return nil, errors.New("json: error calling MarshalJSON for type time.Time: Time.MarshalJSON: timezone hour outside of range [0,23]")
		}
	}
	return append(b, '"'), nil
}

// appendJSONString appends s as encoding/json writes a string: HTML
// characters and U+2028/U+2029 escaped as \u sequences, invalid UTF-8
// replaced by U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
