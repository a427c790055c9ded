package importer

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/archive"
)

// memArchive is an Appender that applies the archive's idempotency rule in
// memory, so the importer's accounting can be tested on its own.
type memArchive struct {
	mu     sync.Mutex
	byKey  map[string]string
	stored []*onrecord.Event
	failAt int
}

func (m *memArchive) Append(_ context.Context, ev *onrecord.Event) (archive.Result, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failAt > 0 && len(m.stored) == m.failAt {
		return archive.Result{}, errors.New("journal: disk full")
	}
	k := ev.IdempotencyKey()
	prev, seen := m.byKey[k]
	if seen && prev == ev.Body {
		return archive.Result{Duplicate: true}, nil
	}
	m.stored = append(m.stored, ev)
	if !seen {
		m.byKey[k] = ev.Body
		return archive.Result{Seq: uint64(len(m.stored) - 1)}, nil
	}
	return archive.Result{Seq: uint64(len(m.stored) - 1), Conflict: true}, nil
}

func TestImportJSONL_BadLinesAreReportedAndValidLinesKept(t *testing.T) {
	f, err := os.Open("testdata/events.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := &memArchive{byKey: map[string]string{}}
	sum := ImportJSONL(t.Context(), f, m, Options{Workers: 4})
	if sum.Failed != nil {
		t.Fatal(sum.Failed)
	}
	if sum.Lines != 15 || sum.Stored != 7 || sum.Duplicates != 1 || sum.Conflicts != 1 || sum.Invalid != 7 {
		t.Fatalf("summary = %+v", sum)
	}
	want := []struct {
		line  int
		field string
		text  string
	}{
		{8, "sent_at", "not RFC 3339"},
		{9, "direction", "not inbound or outbound"},
		{10, "sender", "must be a JSON object"},
		{11, "", "not valid JSON"},
		{13, "target", "required for kind \"edit\""},
		{14, "bodyy", "not a known field"},
		{15, "attachments[0].data_base64", "base64"},
	}
	if len(sum.Errors) != len(want) {
		t.Fatalf("errors = %v", sum.Errors)
	}
	for i, w := range want {
		e := sum.Errors[i]
		if e.Line != w.line || e.Field != w.field || !strings.Contains(e.Error(), w.text) {
			t.Errorf("error %d = %q (line %d field %q), want line %d field %q containing %q", i, e, e.Line, e.Field, w.line, w.field, w.text)
		}
	}
	for _, ev := range m.stored {
		if ev.ProviderID == "wamid.2" && ev.Kind == onrecord.KindMessage {
			if len(ev.Attachments) != 1 || string(ev.Attachments[0].Data) != "%PDF-1.4\n" {
				t.Errorf("attachment = %+v", ev.Attachments)
			}
			if ev.SentAt.UTC().Hour() != 13 {
				t.Errorf("sent_at with offset parsed as %v", ev.SentAt)
			}
		}
	}
}

func TestImportJSONL_StopsOnWriteFailure(t *testing.T) {
	var b strings.Builder
	for i := range 50 {
		b.WriteString(`{"channel":"sms","kind":"message","provider_id":"SM` + strings.Repeat("x", i) + `","conversation":"c","direction":"inbound","sender":{"id":"a"},"sent_at":"2026-11-20T14:05:00Z"}` + "\n")
	}
	m := &memArchive{byKey: map[string]string{}, failAt: 10}
	sum := ImportJSONL(t.Context(), strings.NewReader(b.String()), m, Options{Workers: 1})
	if sum.Failed == nil || !strings.Contains(sum.Failed.Error(), "disk full") {
		t.Fatalf("failure not reported: %+v", sum)
	}
	if sum.Stored != 10 {
		t.Fatalf("stored = %d, want 10", sum.Stored)
	}
}

func FuzzParseLine(f *testing.F) {
	data, _ := os.ReadFile("testdata/events.jsonl")
	for _, l := range strings.Split(string(data), "\n") {
		f.Add([]byte(l))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := ParseLine(1, b)
		if err == nil {
			if verr := ev.Validate(); verr != nil {
				t.Fatalf("ParseLine accepted an invalid event: %v", verr)
			}
			return
		}
		var le *LineError
		if !errors.As(err, &le) || le.Line != 1 {
			t.Fatalf("error is not a *LineError naming the line: %v", err)
		}
	})
}
