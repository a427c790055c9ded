package archive

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"sync"
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
		appendWithRetry(t, a, tc.name, ev)
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

// TestAppendSystem_LargeRawReplaysWhole: a system record's large text (a
// policy set with big lexicons) is a blob too, and ReplaySystem, which
// rebuilds the directory and policies from such records, gets it whole.
func TestAppendSystem_LargeRawReplaysWhole(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	a := mustOpen(t, cfg, nil)
	raw := []byte(`[{"name":"lexicon.yaml","text":"` + strings.Repeat("phrase ", 20_000) + `"}]`)
	ev := &onrecord.Event{Kind: onrecord.KindSystem, Subtype: "policy.set", ProviderID: "policy:v1", Conversation: "policies",
		Direction: onrecord.Inbound, Sender: onrecord.Party{ID: "onrecord"}, SentAt: event(0, "").SentAt, Raw: raw}
	if _, err := a.AppendSystem(t.Context(), ev); err != nil {
		t.Fatal(err)
	}
	if env, err := a.Envelope(0); err != nil || len(env) > 65535 {
		t.Fatalf("system record of %d bytes (%v); want it within an entry bundle", len(env), err)
	}
	a = reopened(t, a, cfg)
	var got []byte
	if err := a.ReplaySystem(func(_ uint64, ev *onrecord.Event) error { got = ev.Raw; return nil }); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, raw) {
		t.Fatalf("replayed %d bytes, want the %d recorded", len(got), len(raw))
	}
}

// appendWithRetry appends ev, then again as a provider's retry would, which
// must be recognised as a duplicate of the first.
func appendWithRetry(t *testing.T, a *Archive, name string, ev *onrecord.Event) {
	t.Helper()
	res, err := a.Append(t.Context(), ev)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if again, err := a.Append(t.Context(), ev); err != nil || !again.Duplicate || again.Seq != res.Seq {
		t.Fatalf("%s: retry = %+v, %v; want a duplicate of %d", name, again, err, res.Seq)
	}
}

// TestReplaySystem_EverySystemRecordInJournalOrder: ReplaySystem reads the
// archive's own records alone, yet gives every one of them, in journal
// order, whether it was replayed at the open or appended since, side by
// side with captured events from other goroutines; the same after a
// reopen. Its answer is checked against reading every record.
func TestReplaySystem_EverySystemRecordInJournalOrder(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	a := mustOpen(t, cfg, nil)
	appendMix := func(round int) {
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Go(func() {
				for i := range 25 {
					var err error
					if (w+i)%3 == 0 {
						_, err = a.AppendSystem(t.Context(), &onrecord.Event{Kind: onrecord.KindSystem, Subtype: "directory.test",
							ProviderID: fmt.Sprintf("sys:%d:%d:%d", round, w, i), Conversation: "directory", Direction: onrecord.Inbound,
							Sender: onrecord.Party{ID: "onrecord"}, SentAt: event(0, "").SentAt})
					} else {
						_, err = a.Append(t.Context(), event(round*1000+w*100+i, "captured"))
					}
					if err != nil {
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
	}
	check := func(when string) {
		t.Helper()
		var want []uint64
		for seq := range a.Len() {
			if ev, err := a.Get(seq); err == nil && ev.Channel == SystemChannel {
				want = append(want, seq)
			}
		}
		var got []uint64
		if err := a.ReplaySystem(func(seq uint64, ev *onrecord.Event) error {
			if ev.Channel != SystemChannel || ev.Subtype == "" {
				t.Errorf("%s: record %d replayed as %s %q", when, seq, ev.Channel, ev.Subtype)
			}
			got = append(got, seq)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(want) < 30 || !slices.Equal(got, want) {
			t.Errorf("%s: replayed %v\nwant %v", when, got, want)
		}
	}
	appendMix(1)
	check("appended since the open")
	a = reopened(t, a, cfg)
	check("after a reopen")
	appendMix(2)
	check("replayed at the open and appended since")
}
