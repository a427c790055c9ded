package archive

import (
	"bytes"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/blob/localfs"
)

// TestAppend_LongBodyIsABlob appends messages whose text lies either side
// of BodyInline, as encoded: each comes back whole, with no BodyBlob, from
// Get, from Events (served from memory, then from the journal after a
// reopen) and from ReplaySystem; a retry is still a duplicate; and every
// record fits a log entry bundle. Before BodyBlob, the 40,000-character
// message in Chinese (120,000 bytes) made a record of twice the 64 KiB a
// bundle entry can hold, and every bundle with it in was answered 500.
func TestAppend_LongBodyIsABlob(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	a := mustOpen(t, cfg, nil)
	cases := []struct {
		name   string
		body   string
		raw    []byte
		inline bool
	}{
		{"short", "see you at ten", nil, true},
		{"ascii at the limit", strings.Repeat("a", BodyInline-2), nil, true},
		{"ascii over the limit", strings.Repeat("a", BodyInline-1), nil, false},
		// 3,000 bytes, 18,000 encoded ("\u003c"): long only as encoded.
		{"markup", strings.Repeat("<", 3000), nil, false},
		{"chinese, with its payload", strings.Repeat("档案记录", 10_000), []byte(`{"text":"` + strings.Repeat("档案记录", 10_000) + `"}`), false},
		{"quotes under the limit", strings.Repeat(`"`, BodyInline/2-1), nil, true},
	}
	for i, tc := range cases {
		ev := event(i, tc.body)
		ev.Raw = tc.raw
		appendWithRetry(t, a, tc.name, ev)
		if ev.Body != tc.body || ev.BodyBlob != nil {
			t.Fatalf("%s: the caller's event was changed", tc.name)
		}
	}
	system := strings.Repeat("policy text ", 5000)
	sys := &onrecord.Event{Kind: onrecord.KindSystem, Subtype: "note", ProviderID: "note:1", Conversation: "notes",
		Direction: onrecord.Inbound, Sender: onrecord.Party{ID: "onrecord"}, SentAt: event(0, "").SentAt, Body: system}
	if _, err := a.AppendSystem(t.Context(), sys); err != nil {
		t.Fatal(err)
	}
	check := func(a *Archive, from string) {
		t.Helper()
		seen := 0
		err := a.Events(0, func(seq uint64, ev *onrecord.Event, err error) error {
			if err != nil {
				t.Errorf("%s: record %d: %v", from, seq, err)
				return nil
			}
			if int(seq) == len(cases) {
				return nil // the system record
			}
			seen++
			tc := cases[seq]
			if ev.Body != tc.body || ev.BodyBlob != nil {
				t.Errorf("%s: %s: Events gave %d bytes of text and blob %v, want the %d sent", from, tc.name, len(ev.Body), ev.BodyBlob, len(tc.body))
			}
			return nil
		})
		if err != nil || seen != len(cases) {
			t.Fatalf("%s: Events saw %d of %d: %v", from, seen, len(cases), err)
		}
		for i, tc := range cases {
			got, err := a.Get(uint64(i))
			if err != nil || got.Body != tc.body || got.BodyBlob != nil {
				t.Errorf("%s: %s: Get gave %d bytes, blob %v, %v", from, tc.name, len(got.Body), got.BodyBlob, err)
			}
			env, err := a.Envelope(uint64(i))
			if err != nil || len(env) > 65535 {
				t.Errorf("%s: %s: envelope %d bytes, %v; want at most 65535", from, tc.name, len(env), err)
			}
			if inline := len(env) > len(tc.body); inline != tc.inline {
				t.Errorf("%s: %s: text in the record %v (envelope %d bytes), want %v", from, tc.name, inline, len(env), tc.inline)
			}
		}
		var replayed string
		if err := a.ReplaySystem(func(_ uint64, ev *onrecord.Event) error { replayed = ev.Body; return nil }); err != nil || replayed != system {
			t.Errorf("%s: ReplaySystem gave %d bytes of text (%v), want %d", from, len(replayed), err, len(system))
		}
	}
	check(a, "in memory")
	if _, err := a.Checkpoint(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Ledger().ReadEntryBundle(0, len(cases)+1); err != nil {
		t.Errorf("entry bundle with the long texts' records: %v", err)
	}
	check(reopened(t, a, cfg), "from the journal")
}

// TestAppend_LongListsAreSharedBlobs: a governed group's roster over
// RosterInline, and recipients over RecipientsInline, as encoded, are each
// kept as one blob that every message of the group sent under that
// membership refers to, and come back whole from Get and Events, in memory
// and after a reopen; short lists stay in the record, and a list that
// changed is stored anew. Before, a group of
// 2,000 made every message to it a record of 230 KB, too large for a log
// entry bundle.
func TestAppend_LongListsAreSharedBlobs(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	a := mustOpen(t, cfg, nil)
	roster := func(n int) []onrecord.GroupMember {
		var r []onrecord.GroupMember
		for i := range n {
			r = append(r, onrecord.GroupMember{Address: fmt.Sprintf("+1555%07d", i), Person: fmt.Sprintf("person-%d", i), Name: "Trader", Admin: i == 0})
		}
		return r
	}
	recipients := func(r []onrecord.GroupMember) []onrecord.Party {
		var p []onrecord.Party
		for _, m := range r {
			p = append(p, onrecord.Party{ID: m.Address, Name: m.Name})
		}
		return p
	}
	desk, small := roster(2000), roster(3)
	// The same group after one member's name changed: another roster,
	// however alike.
	renamed := slices.Clone(desk)
	renamed[1999].Name = "Former trader"
	rosters := [][]onrecord.GroupMember{desk, desk, small, desk, nil, renamed}
	for i, r := range rosters {
		ev := event(i, fmt.Sprintf("message %d", i))
		if r != nil {
			ev.Capture = &onrecord.Capture{GroupID: "grp-desk", Roster: r, Flags: []string{onrecord.FlagNotAMember}}
			ev.Recipients = recipients(r)
		}
		appendWithRetry(t, a, ev.ProviderID, ev)
		if r != nil && (ev.Capture.RosterBlob != nil || len(ev.Capture.Roster) != len(r) || ev.RecipientsBlob != nil || len(ev.Recipients) != len(r)) {
			t.Fatalf("message %d: the caller's event was changed", i)
		}
	}
	check := func(a *Archive, from string) {
		t.Helper()
		same := func(seq uint64, ev *onrecord.Event) {
			t.Helper()
			want := rosters[seq]
			if want != nil && (ev.RecipientsBlob != nil || !slices.Equal(ev.Recipients, recipients(want))) {
				t.Errorf("%s: record %d read back with %d recipients, blob %v; want %d", from, seq, len(ev.Recipients), ev.RecipientsBlob, len(want))
			}
			switch c := ev.Capture; {
			case want == nil && c != nil:
				t.Errorf("%s: record %d has a capture %+v", from, seq, c)
			case want != nil && c == nil:
				t.Errorf("%s: record %d has no capture", from, seq)
			case want != nil && (c.RosterBlob != nil || !slices.Equal(c.Roster, want) || c.GroupID != "grp-desk" || len(c.Flags) != 1):
				t.Errorf("%s: record %d read back without the roster it was captured with (%d members, blob %v, group %q, flags %q)",
					from, seq, len(c.Roster), c.RosterBlob, c.GroupID, c.Flags)
			}
		}
		err := a.Events(0, func(seq uint64, ev *onrecord.Event, err error) error {
			if err != nil {
				return err
			}
			same(seq, ev)
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", from, err)
		}
		for i := range rosters {
			got, err := a.Get(uint64(i))
			if err != nil {
				t.Fatalf("%s: %v", from, err)
			}
			same(uint64(i), got)
			env, err := a.Envelope(uint64(i))
			if err != nil || len(env) > 4*RosterInline {
				t.Errorf("%s: record %d: envelope %d bytes, %v; want the roster out of it", from, i, len(env), err)
			}
		}
	}
	check(a, "in memory")
	a = reopened(t, a, cfg)
	check(a, "from the journal")
	a.Close()
	st, err := localfs.Open(cfg.BlobDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if n := st.Packed(); n != 4 {
		t.Errorf("%d blobs stored for four messages to one group, whose membership changed once; want 4 (two rosters, two recipient lists)", n)
	}
}

// TestAppend_RecordTooLargeForABundleIsKeptAndLogged: a record still too
// large for a log entry bundle (thousands of shared contacts in Meta) is
// stored like any other, and the operator is told which one, without its
// content.
func TestAppend_RecordTooLargeForABundleIsKeptAndLogged(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	var logs bytes.Buffer
	a, err := Open(t.Context(), Options{Config: cfg, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	small, big := event(0, "fits"), event(1, "a secret plan")
	big.Meta = map[string]string{}
	for i := range 3000 {
		big.Meta[fmt.Sprintf("contact_%d", i)] = fmt.Sprintf("+1555%07d", i)
	}
	for _, ev := range []*onrecord.Event{small, big} {
		if _, err := a.Append(t.Context(), ev); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := a.Get(1); err != nil || len(got.Meta) != 3000 {
		t.Fatalf("the large record read back: %v", err)
	}
	out := logs.String()
	if strings.Count(out, "larger than a log entry bundle") != 1 || !strings.Contains(out, "seq=1") || strings.Contains(out, "secret") {
		t.Fatalf("log: %s", out)
	}
}

// TestAppend_ListsStoredConcurrently: messages of two groups whose rosters
// differ in one member are appended from many goroutines at once, once
// each roster is stored; each reads back, from the journal, with its own
// roster (run with -race for the locking).
func TestAppend_ListsStoredConcurrently(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	a := mustOpen(t, cfg, nil)
	var desk []onrecord.GroupMember
	for i := range 300 {
		desk = append(desk, onrecord.GroupMember{Address: fmt.Sprintf("+1555%07d", i), Name: "Trader"})
	}
	other := slices.Clone(desk)
	other[299].Name = "Former trader"
	rosters := [][]onrecord.GroupMember{desk, other}
	const n = 64
	appendOne := func(i int) {
		ev := event(i, "desk update")
		ev.Capture = &onrecord.Capture{GroupID: "grp", Roster: rosters[i%2]}
		if _, err := a.Append(t.Context(), ev); err != nil {
			t.Error(err)
		}
	}
	// Both lists stored once first, so that the rest find them.
	appendOne(0)
	appendOne(1)
	var wg sync.WaitGroup
	for i := 2; i < n; i++ {
		wg.Go(func() { appendOne(i) })
	}
	wg.Wait()
	a = reopened(t, a, cfg) // from the journal and the blobs, not the records in memory
	err := a.Events(0, func(seq uint64, ev *onrecord.Event, err error) error {
		if err != nil {
			return err
		}
		var i int
		if _, err := fmt.Sscanf(ev.ProviderID, "wamid.%d", &i); err != nil {
			return err
		}
		if !slices.Equal(ev.Capture.Roster, rosters[i%2]) {
			t.Errorf("message %d (record %d) read back with the other group's roster", i, seq)
		}
		return nil
	})
	if err != nil || a.Len() != n {
		t.Fatalf("%d records, %v", a.Len(), err)
	}
}
