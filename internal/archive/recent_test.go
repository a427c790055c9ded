package archive

import (
	"bytes"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/retention"
)

// eventsOf collects what Events passes on from seq 0.
type eventsOf struct {
	evs  []*onrecord.Event
	errs []string
}

func collectEvents(t *testing.T, a *Archive) eventsOf {
	t.Helper()
	var out eventsOf
	err := a.Events(0, func(seq uint64, ev *onrecord.Event, err error) error {
		if seq != uint64(len(out.evs)) {
			t.Fatalf("Events passed seq %d after %d records", seq, len(out.evs))
		}
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		out.evs, out.errs = append(out.evs, ev), append(out.errs, msg)
		return nil
	})
	if err != nil {
		t.Fatalf("events: %v", err)
	}
	return out
}

// unusualEvents are events whose JSON round trip is not the identity.
func unusualEvents() []*onrecord.Event {
	berlin := time.FixedZone("CET", 3600)
	var out []*onrecord.Event
	add := func(f func(ev *onrecord.Event)) {
		ev := event(len(out), fmt.Sprintf("message %d", len(out)))
		f(ev)
		out = append(out, ev)
	}
	add(func(ev *onrecord.Event) {})
	add(func(ev *onrecord.Event) { ev.Recipients = []onrecord.Party{} })
	add(func(ev *onrecord.Event) { ev.Meta = map[string]string{} })
	add(func(ev *onrecord.Event) { ev.Meta = map[string]string{"lat": "52.5", "<tag>": "a&b"} })
	add(func(ev *onrecord.Event) { ev.SentAt = ev.SentAt.In(berlin) })
	add(func(ev *onrecord.Event) { ev.SentAt = time.Now() }) // monotonic reading, local zone
	add(func(ev *onrecord.Event) { ev.Meta = map[string]string{"note": "bad \xff utf-8"} })
	add(func(ev *onrecord.Event) { ev.Sender.Name = "bad \xc3" })
	add(func(ev *onrecord.Event) { ev.Raw = []byte{} })
	add(func(ev *onrecord.Event) { ev.Raw = []byte(`{"raw":"payload \xff"}`) })
	add(func(ev *onrecord.Event) { ev.Raw = bytes.Repeat([]byte(`{"history":[]}`), RawInline/8) }) // kept as a blob
	add(func(ev *onrecord.Event) { ev.Capture = &onrecord.Capture{} })
	add(func(ev *onrecord.Event) {
		ev.Capture = &onrecord.Capture{GroupID: "g1", Roster: []onrecord.GroupMember{}, Flags: []string{"unknown_contact"}}
	})
	add(func(ev *onrecord.Event) {
		ev.Attachments = []onrecord.Attachment{
			{Name: "a.jpg", ContentType: "image/jpeg", Data: []byte("jpeg bytes")},
			{Name: "b.pdf", ContentType: "application/pdf", Ref: "media-2", Error: "fetch failed", Data: []byte{}},
		}
	})
	add(func(ev *onrecord.Event) { ev.Attachments = []onrecord.Attachment{} })
	add(func(ev *onrecord.Event) { ev.SentAtIsReceipt, ev.Group, ev.GroupName = true, true, "Desk ✓" })
	add(func(ev *onrecord.Event) { ev.RetentionClass = "short" })
	return out
}

// The search index's tailer takes recent records from memory; what it
// gets must be what reading the journal gives, record for record, for
// events whose encoding is not a plain round trip too, and for records
// that are not events.
func TestEvents_FromMemoryEqualsFromJournal(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	a := mustOpen(t, cfg, nil)
	evs := unusualEvents()
	for i, ev := range evs {
		if _, err := a.Append(t.Context(), ev); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
		if i == 3 {
			if err := a.CreateHold(t.Context(), retention.Hold{ID: "h1", Classes: []string{"short"}, Reason: "test"}); err != nil {
				t.Fatal(err)
			}
		}
		if i == 5 {
			if _, err := a.AppendRaw(t.Context(), []byte("opaque")); err != nil {
				t.Fatal(err)
			}
		}
	}
	inMemory := 0
	for seq := range a.Len() {
		if _, ok := a.recent.get(seq); ok {
			inMemory++
		}
	}
	// Every record but the opaque one and those with invalid UTF-8.
	if want := int(a.Len()) - 3; inMemory != want {
		t.Fatalf("%d of %d records in memory, want %d", inMemory, a.Len(), want)
	}
	live := collectEvents(t, a)
	a = reopened(t, a, cfg)
	for seq := range a.Len() {
		if _, ok := a.recent.get(seq); ok {
			t.Fatalf("record %d in memory after reopening", seq)
		}
	}
	stored := collectEvents(t, a)
	if len(live.evs) != len(stored.evs) {
		t.Fatalf("%d records from memory, %d from the journal", len(live.evs), len(stored.evs))
	}
	for i := range live.evs {
		if live.errs[i] != stored.errs[i] {
			t.Errorf("record %d: error %q from memory, %q from the journal", i, live.errs[i], stored.errs[i])
		}
		if !reflect.DeepEqual(live.evs[i], stored.evs[i]) {
			t.Errorf("record %d differs:\nmemory:  %+v\njournal: %+v", i, live.evs[i], stored.evs[i])
		}
	}
}

// Records missing from memory (overwritten, or their appender not back
// yet) are read from the journal in between those that are there.
func TestEvents_GapsAreReadFromTheJournal(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	a := mustOpen(t, cfg, nil)
	defer a.Close()
	for i := range 40 {
		if _, err := a.Append(t.Context(), event(i, fmt.Sprintf("body %d", i))); err != nil {
			t.Fatal(err)
		}
	}
	full := collectEvents(t, a)
	for _, seq := range []uint64{0, 1, 7, 20, 21, 22, 39} {
		a.recent.slots[seq%recentSize].Store(nil)
	}
	gappy := collectEvents(t, a)
	if !reflect.DeepEqual(full, gappy) {
		t.Fatal("events with gaps in memory differ from events without")
	}
	for i, ev := range gappy.evs {
		if ev == nil || ev.Body != fmt.Sprintf("body %d", i) {
			t.Fatalf("record %d: %+v", i, ev)
		}
	}
}

// A disposed bucket's records read as disposed of, not from memory.
func TestEvents_DisposedRecordsAreNotServedFromMemory(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	clk := &clock{t: time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)}
	a := mustOpen(t, cfg, clk.Now)
	defer a.Close()
	var short []uint64
	for i := range 3 {
		ev := event(i, "short-lived")
		ev.RetentionClass = "short"
		res, err := a.Append(t.Context(), ev)
		if err != nil {
			t.Fatal(err)
		}
		short = append(short, res.Seq)
	}
	kept, err := a.Append(t.Context(), event(10, "kept"))
	if err != nil {
		t.Fatal(err)
	}
	bucket := retention.BucketName("short", clk.Now())
	clk.Add(40 * 24 * time.Hour)
	if _, err := a.Dispose(t.Context(), bucket, "retention expired", "tester"); err != nil {
		t.Fatal(err)
	}
	got := collectEvents(t, a)
	for _, s := range short {
		if got.evs[s] != nil || got.errs[s] == "" {
			t.Fatalf("disposed record %d: event %v, error %q", s, got.evs[s], got.errs[s])
		}
	}
	if got.evs[kept.Seq] == nil || got.evs[kept.Seq].Body != "kept" {
		t.Fatalf("kept record: %+v (%s)", got.evs[kept.Seq], got.errs[kept.Seq])
	}
}

// TestRoundTrip_UTCShortcut checks roundTrip's shortcut for UTC times
// against what encoding and decoding the text gives, field for field (the
// search index's tailer compares events from memory with events from the
// journal with reflect.DeepEqual).
func TestRoundTrip_UTCShortcut(t *testing.T) {
	for _, tm := range []time.Time{
		time.Now(), // with a monotonic reading
		time.Now().UTC(),
		time.Unix(1_700_000_000, 123456789).UTC(),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 12, 3, 10, 0, 0, 5, time.FixedZone("X", 3600)),
		{},
	} {
		got, ok := roundTrip(tm)
		b, err := tm.MarshalText()
		var want time.Time
		wantOK := err == nil && want.UnmarshalText(b) == nil
		if ok != wantOK || !reflect.DeepEqual(got, want) && wantOK {
			t.Errorf("%v: %#v %v, through the text %#v %v", tm, got, ok, want, wantOK)
		}
	}
}
