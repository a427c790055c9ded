package archive

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/onrecord/onrecord"
)

// checkEncoding fails unless appendEvent writes what json.Marshal writes
// for ev, or fails where it fails.
func checkEncoding(t *testing.T, ev *onrecord.Event) {
	t.Helper()
	want, werr := json.Marshal(ev)
	got, gerr := appendEvent([]byte("prefix"), ev)
	if (werr != nil) != (gerr != nil) {
		t.Fatalf("json.Marshal error %v, appendEvent error %v", werr, gerr)
	}
	if werr != nil {
		return
	}
	if !bytes.HasPrefix(got, []byte("prefix")) || !bytes.Equal(got[len("prefix"):], want) {
		t.Fatalf("appendEvent differs from json.Marshal:\n got %s\nwant %s", got, want)
	}
	checkDecoding(t, want)
}

// checkDecoding fails unless decodeEvent gives what json.Unmarshal gives
// for data: the same event, or an error where json.Unmarshal has one.
func checkDecoding(t *testing.T, data []byte) {
	t.Helper()
	var want, got onrecord.Event
	werr := json.Unmarshal(data, &want)
	gerr := decodeEvent(data, &got)
	if (werr != nil) != (gerr != nil) {
		t.Fatalf("json.Unmarshal error %v, decodeEvent error %v, for %q", werr, gerr, data)
	}
	if werr == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("decodeEvent differs from json.Unmarshal for %q:\n got %#v\nwant %#v", data, got, want)
	}
}

// What a record's plaintext could hold besides appendEvent's own output:
// what older builds wrote (json.Marshal, the same bytes), JSON that
// encoding/json takes leniently, and what it refuses.
func TestDecodeEvent_MatchesJSON(t *testing.T) {
	for _, data := range []string{
		`{}`,
		`{"channel":"wa","kind":"message","body":"hi","sent_at":"2026-12-05T09:00:00.5Z","raw":"eyJhIjoxfQ=="}`,
		`{"CHANNEL":"case","Body":"folded","SENT_AT":"2026-12-05T09:00:00Z"}`,       // names matched without case
		`{"body":"first","body":"second"}`,                                          // duplicate names: the last wins
		`{"body":"bad \ud800 surrogate \u00e9","meta":{"k":"v\u2028"}}`,             // escapes, a lone surrogate
		"{\"body\":\"invalid \xff utf8\"}",                                          // invalid UTF-8 is replaced
		`{"unknown":{"nested":[1,2,{"x":null}]},"body":"kept"}`,                     // unknown members skipped
		`{"body":null,"recipients":null,"meta":null,"capture":null,"sent_at":null}`, // nulls leave zero values
		`{"expires_in_seconds":1.5}`,                                                // a fraction into an int: error
		`{"expires_in_seconds":"60"}`,                                               // a string into an int: error
		`{"sent_at":"yesterday"}`,                                                   // not RFC 3339: error
		`{"raw":"not base64!"}`,                                                     // error
		`{"attachments":[{"data_base64":"AAEC/w=="},{}],"meta":{"a":"b"}}`,
		`{"body":"x"} trailing`, // error
		`[]`, `null`, `"event"`, ``, `{"body":`,
	} {
		checkDecoding(t, []byte(data))
	}
}

// FuzzDecodeEvent holds decodeEvent to json.Unmarshal over arbitrary bytes.
func FuzzDecodeEvent(f *testing.F) {
	f.Add([]byte(`{"channel":"wa","sent_at":"2026-12-05T09:00:00Z","raw":"AA==","meta":{"a":"b"}}`))
	f.Add([]byte(`{"Body":"a","body":"b","capture":{"flags":["x"],"roster":[{"admin":true}]}}`))
	f.Add([]byte("{\"body\":\"\xff\\ud800\"}"))
	f.Fuzz(func(t *testing.T, data []byte) { checkDecoding(t, data) })
}

func TestAppendEvent_MatchesJSON(t *testing.T) {
	full := event(7, "full")
	full.ID, full.CapturedAt, full.RetentionClass = "0123abcd", time.Date(2026, 12, 3, 9, 8, 7, 654321000, time.UTC), "default"
	full.SentAtIsReceipt, full.Target, full.Emoji, full.Status = true, "wamid.1", "👍", "read"
	full.Attachments = []onrecord.Attachment{
		{Name: "a.jpg", ContentType: "image/jpeg", Data: []byte{0, 1, 2, 0xff}, Blob: "b1", BlobKey: []byte("key"),
			Size: 1 << 40, SHA256: "ab", Ref: "media-1", Error: "too big"},
		{}, // every optional field empty
	}
	full.Subtype, full.ReplyTo, full.Thread, full.Forwarded, full.Group, full.GroupName = "image", "wamid.0", "t1", true, true, "Desk"
	full.ExpiresInSeconds, full.StatusError = -3600, "131047: re-engagement"
	full.Meta = map[string]string{"z": "last", "a": "first", "<k>": "&amp;", "": "empty key"}
	full.Capture = &onrecord.Capture{GroupID: "g", Roster: []onrecord.GroupMember{{Address: "+1", Person: "p", Name: "N", Admin: true}, {Address: "+2"}},
		RosterBlob: &onrecord.Attachment{Name: "roster", ContentType: "application/json", Blob: "b3", BlobKey: []byte{7}, Size: 9000, SHA256: "cd"},
		Flags:      []string{"unknown_contact", "not_a_member"}}
	full.RecipientsBlob = &onrecord.Attachment{Name: "recipients", ContentType: "application/json", Blob: "b4", Size: 70000, SHA256: "ef"}
	full.Raw = []byte(`{"entry":[]}`)
	full.RawBlob = &onrecord.Attachment{Name: "raw", ContentType: "application/octet-stream", Blob: "b2", BlobKey: []byte{9, 8}, Size: 70000, SHA256: "ab"}

	tricky := "quote\" back\\ nl\n cr\r tab\t bs\b ff\f nul\x00 esc\x1b del\x7f <html> & amp é 日本 \u2028 \u2029 😀 bad\xff\xfe utf8 \xe2\x82 cut"
	withTricky := event(2, tricky)
	withTricky.Sender.Name, withTricky.Conversation, withTricky.Meta = tricky, tricky, map[string]string{tricky: tricky}
	withTricky.Capture = &onrecord.Capture{} // present but empty: "{}"

	zone := event(3, "zone")
	zone.SentAt = time.Date(2026, 1, 2, 3, 4, 5, 100, time.FixedZone("", -(5*3600+30*60)))

	for _, tc := range []struct {
		name string
		ev   *onrecord.Event
	}{
		{"zero", &onrecord.Event{}},
		{"typical", event(1, "hello")},
		{"every field", full},
		{"escaping", withTricky},
		{"offset zone", zone},
		{"empty slices and maps", &onrecord.Event{Recipients: []onrecord.Party{}, Attachments: []onrecord.Attachment{}, Meta: map[string]string{}, Raw: []byte{}}},
		{"year 10000", &onrecord.Event{SentAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}},
		{"negative year", &onrecord.Event{SentAt: time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)}},
		{"zone of 24 hours", &onrecord.Event{SentAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("", 24*3600))}},
		{"captured in year 10000", &onrecord.Event{CapturedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}},
	} {
		t.Run(tc.name, func(t *testing.T) { checkEncoding(t, tc.ev) })
	}
}

// FuzzAppendEvent holds appendEvent to json.Marshal over arbitrary strings,
// bytes, numbers and times.
func FuzzAppendEvent(f *testing.F) {
	f.Add("hello", "Ann <ann@example.com>", "k", []byte("raw"), int64(1764753000), int64(0), 0, true)
	f.Add("bad\xff\u2028\x01", "", "\"", []byte{}, int64(-62135596800), int64(999999999), -7200, false)
	f.Add("", "日本", "", []byte(nil), int64(253402300800), int64(1), 86400, true)
	f.Fuzz(func(t *testing.T, body, name, key string, raw []byte, sec, nsec int64, offset int, flag bool) {
		ev := &onrecord.Event{
			Channel: name, Kind: onrecord.EventKind(key), ProviderID: body, Conversation: key,
			Direction: onrecord.Direction(name), Sender: onrecord.Party{ID: key, Name: name},
			SentAt: time.Unix(sec, nsec).In(time.FixedZone("", offset)), SentAtIsReceipt: flag,
			Body: body, Emoji: name, ExpiresInSeconds: int(sec), Forwarded: flag, Raw: raw,
			Meta: map[string]string{key: body, name: key},
		}
		if flag {
			ev.Recipients = []onrecord.Party{{ID: body}, {ID: name, Name: key}}
			ev.Attachments = []onrecord.Attachment{{Name: name, ContentType: key, Data: raw, Size: nsec}}
			ev.Capture = &onrecord.Capture{GroupID: body, Roster: []onrecord.GroupMember{{Address: key, Name: body}}, Flags: []string{name}}
			ev.CapturedAt = time.Unix(nsec, sec).UTC()
			ev.RawBlob = &onrecord.Attachment{Name: key, Blob: body, BlobKey: raw, Size: sec}
		}
		checkEncoding(t, ev)
	})
}

func BenchmarkAppendEvent(b *testing.B) {
	ev := event(1, "Can you confirm the wire to account 4417 went out this morning? The client is asking.")
	ev.Raw = bytes.Repeat([]byte(`{"object":"whatsapp_business_account","entry":[]}`), 12)
	b.Run("appendEvent", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			buf, _ = appendEvent(buf[:0], ev)
		}
	})
	b.Run("json.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = json.Marshal(ev)
		}
	})
}

func BenchmarkDecodeEvent(b *testing.B) {
	ev := event(1, "Can you confirm the wire to account 4417 went out this morning? The client is asking.")
	ev.Raw = bytes.Repeat([]byte(`{"object":"whatsapp_business_account","entry":[]}`), 12)
	ev.Meta = map[string]string{"profile_name": "Kerry Fisher", "wa_id": "16315551181"}
	data, err := appendEvent(nil, ev)
	if err != nil {
		b.Fatal(err)
	}
	for _, d := range []struct {
		name   string
		decode func([]byte, *onrecord.Event) error
	}{
		{"decodeEvent", decodeEvent},
		{"json.Unmarshal", func(data []byte, ev *onrecord.Event) error { return json.Unmarshal(data, ev) }},
	} {
		b.Run(d.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				var ev onrecord.Event
				if err := d.decode(data, &ev); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
