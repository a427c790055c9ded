package archive

import (
	"bytes"
	"strings"
	"testing"

	"github.com/onrecord/onrecord"
)

// TestAppend_LargeRawPayloadIsABlob appends events whose provider payloads
// lie either side of RawInline: the small one stays in the record, the
// large one goes to the blob store and comes back whole through Raw (after
// a reopen too), a retry is still a duplicate, and the record fits a log
// entry bundle, which it did not before.
func TestAppend_LargeRawPayloadIsABlob(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	a := mustOpen(t, cfg, nil)
	cases := []struct {
		name   string
		raw    []byte
		inline bool
	}{
		{"small", []byte(`{"text":"` + strings.Repeat("s", 1000) + `"}`), true},
		{"at the limit", bytes.Repeat([]byte("x"), RawInline), true},
		{"history chunk", []byte(`{"history":"` + strings.Repeat("h", 300_000) + `"}`), false},
	}
	for i, tc := range cases {
		ev := event(i, tc.name)
		ev.Raw = tc.raw
		res, err := a.Append(t.Context(), ev)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if again, err := a.Append(t.Context(), ev); err != nil || !again.Duplicate || again.Seq != res.Seq {
			t.Fatalf("%s: retry = %+v, %v; want a duplicate of %d", tc.name, again, err, res.Seq)
		}
		if !bytes.Equal(ev.Raw, tc.raw) || ev.RawBlob != nil {
			t.Fatalf("%s: the caller's event was changed", tc.name)
		}
	}
	check := func(a *Archive) {
		for i, tc := range cases {
			got, err := a.Get(uint64(i))
			if err != nil {
				t.Fatal(err)
			}
			if inline := got.RawBlob == nil && got.Raw != nil; inline != tc.inline {
				t.Errorf("%s: inline %v (raw %d bytes, blob %+v), want %v", tc.name, inline, len(got.Raw), got.RawBlob, tc.inline)
			}
			raw, err := a.Raw(t.Context(), got)
			if err != nil || !bytes.Equal(raw, tc.raw) {
				t.Errorf("%s: Raw = %d bytes, %v; want the %d sent", tc.name, len(raw), err, len(tc.raw))
			}
			env, err := a.Envelope(uint64(i))
			if err != nil || len(env) > 65535 {
				t.Errorf("%s: envelope %d bytes, %v; want at most 65535", tc.name, len(env), err)
			}
		}
	}
	check(a)
	if _, err := a.Checkpoint(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Ledger().ReadEntryBundle(0, len(cases)); err != nil {
		t.Errorf("entry bundle with the large payload's record: %v", err)
	}
	check(reopened(t, a, cfg))
}

// TestAppend_UnparsedPayloadAsBlobStillValidates: an unparsed record
// needs its payload, which a stored record may hold as RawBlob.
func TestAppend_UnparsedPayloadAsBlobStillValidates(t *testing.T) {
	ev := onrecord.Event{Kind: onrecord.KindUnparsed, Channel: "wa", ProviderID: "sha256:x", RawBlob: &onrecord.Attachment{Name: "raw", Blob: "b"}}
	if err := ev.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	ev.RawBlob = nil
	if err := ev.Validate(); err == nil {
		t.Fatal("an unparsed record without a payload validated")
	}
}
