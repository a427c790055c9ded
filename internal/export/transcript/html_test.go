package transcript

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/export"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// mustItems reads fixtures: JSON arrays of items ({"seq", "bates",
// "event"}) with events in the canonical JSON the archive seals.
func mustItems(tb testing.TB, names ...string) []export.Item {
	tb.Helper()
	var items []export.Item
	for _, name := range names {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			tb.Fatal(err)
		}
		var some []export.Item
		if err := json.Unmarshal(b, &some); err != nil {
			tb.Fatalf("%s: %v", name, err)
		}
		items = append(items, some...)
	}
	return items
}

func mustLocation(tb testing.TB, name string) *time.Location {
	tb.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		tb.Fatalf("time zone %s: %v", name, err)
	}
	return loc
}

func testOptions(tb testing.TB) Options {
	return Options{
		Location:    mustLocation(tb, "Europe/Berlin"),
		BatesPrefix: "ACME-P",
		BatesStart:  41,
		Title:       "SEC inquiry 2026-17: transcript",
		Now:         func() time.Time { return time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC) },
	}
}

func mustWriteHTML(tb testing.TB, items []export.Item, opts Options) (string, []export.File) {
	tb.Helper()
	dir := tb.TempDir()
	files, err := WriteHTML(dir, items, opts)
	if err != nil {
		tb.Fatal(err)
	}
	return dir, files
}

func mustRead(tb testing.TB, path string) string {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

func TestWriteHTML_Golden(t *testing.T) {
	items := mustItems(t, "conversation.json", "second.json")
	dir, files := mustWriteHTML(t, items, testOptions(t))
	wantFiles := []export.File{
		{Path: "0001-whatsapp-_15550001.html", Items: []uint64{101, 102, 105, 103, 104, 106, 107, 108, 109, 110, 111, 112, 113, 114}},
		{Path: "0002-slack-C9.html", Items: []uint64{201}},
	}
	if len(files) != len(wantFiles) {
		t.Fatalf("files = %+v, want %+v", files, wantFiles)
	}
	for i, f := range files {
		if f.Path != wantFiles[i].Path || !slices.Equal(f.Items, wantFiles[i].Items) {
			t.Errorf("file %d = %+v, want %+v", i, f, wantFiles[i])
		}
		got := mustRead(t, filepath.Join(dir, f.Path))
		golden := filepath.Join("testdata", "golden", f.Path)
		if *update {
			if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if want := mustRead(t, golden); got != want {
			t.Errorf("%s differs from %s; run go test ./internal/export/transcript -update and review the diff", f.Path, golden)
		}
	}
}

func TestWriteHTML_IsSelfContained(t *testing.T) {
	dir, files := mustWriteHTML(t, mustItems(t, "conversation.json"), testOptions(t))
	out := mustRead(t, filepath.Join(dir, files[0].Path))
	for _, banned := range []string{"<script", "<link", "src=\"", "url(", "@import", "http://", "https://"} {
		if strings.Contains(out, banned) {
			t.Errorf("transcript contains %q: it must load nothing and run nothing", banned)
		}
	}
	if !strings.Contains(out, "<style>") || !strings.Contains(out, "default-src 'none'") {
		t.Error("transcript lacks its inline style or its Content-Security-Policy")
	}
	info, err := os.Stat(filepath.Join(dir, files[0].Path))
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("transcript mode %v, want 0600: it holds decrypted content", perm)
	}
}

func TestWriteHTML_EscapesHostileContent(t *testing.T) {
	const evil = `<script>alert(1)</script>"'><img src=x onerror=alert(2)>`
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	items := []export.Item{
		{Seq: 1, Bates: "B1" + evil, Event: &onrecord.Event{
			Channel: "whatsapp", Kind: onrecord.KindMessage, ProviderID: "m1", Conversation: "c" + evil,
			Direction: onrecord.Inbound, Sender: onrecord.Party{ID: "+1" + evil, Name: "Mallory" + evil},
			Recipients: []onrecord.Party{{ID: "r" + evil}}, SentAt: at, Body: evil, Subtype: "image" + evil,
			ReplyTo: "old" + evil, Thread: "t" + evil, GroupName: "g" + evil, Group: true,
			Attachments: []onrecord.Attachment{{Name: "a" + evil, ContentType: "text/html" + evil, Data: []byte(evil), Ref: "ref" + evil}},
			Meta:        map[string]string{"k" + evil: "v" + evil},
		}},
		{Seq: 2, Event: &onrecord.Event{
			Channel: "whatsapp", Kind: onrecord.KindReaction, ProviderID: "r1", Conversation: "c" + evil,
			Direction: onrecord.Inbound, Sender: onrecord.Party{ID: "+1" + evil}, SentAt: at.Add(time.Minute),
			Target: "m1", Emoji: evil,
		}},
		{Seq: 3, Event: &onrecord.Event{
			Channel: "whatsapp", Kind: onrecord.KindSystem, ProviderID: "s1", Conversation: "c" + evil,
			Direction: onrecord.Inbound, Sender: onrecord.Party{ID: "+1"}, SentAt: at.Add(2 * time.Minute),
			Subtype: evil, Body: evil,
		}},
	}
	opts := testOptions(t)
	opts.Title = "Title" + evil
	dir, files := mustWriteHTML(t, items, opts)
	out := mustRead(t, filepath.Join(dir, files[0].Path))
	for _, raw := range []string{"<script", "<img", `"'>`} {
		if strings.Contains(out, raw) {
			t.Errorf("transcript contains %q unescaped", raw)
		}
	}
	if n := strings.Count(out, "&lt;script&gt;alert(1)&lt;/script&gt;"); n < 10 {
		t.Errorf("escaped body appears %d times; every field should be shown, escaped", n)
	}
}

func TestWriteHTML_TimesInTheGivenZone(t *testing.T) {
	items := mustItems(t, "conversation.json")
	tests := []struct {
		zone string
		want []string
	}{
		// 23:30 UTC on the night Europe leaves summer time; 02:10 UTC is
		// after the change.
		{"Europe/Berlin", []string{"2026-10-25 01:30:00 CEST", "2026-10-25 03:10:00 CET", "All times in Europe/Berlin", "Sunday, 25 October 2026"}},
		{"America/New_York", []string{"2026-10-24 19:30:00 EDT", "2026-10-24 22:10:00 EDT", "All times in America/New_York", "Saturday, 24 October 2026"}},
		{"UTC", []string{"2026-10-24 23:30:00 UTC", "2026-10-25 02:10:00 UTC", "Saturday, 24 October 2026", "Sunday, 25 October 2026"}},
	}
	for _, tt := range tests {
		t.Run(tt.zone, func(t *testing.T) {
			opts := testOptions(t)
			opts.Location = mustLocation(t, tt.zone)
			dir, files := mustWriteHTML(t, items, opts)
			out := mustRead(t, filepath.Join(dir, files[0].Path))
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("missing %q", w)
				}
			}
		})
	}
	t.Run("NilIsUTC", func(t *testing.T) {
		opts := testOptions(t)
		opts.Location = nil
		dir, files := mustWriteHTML(t, items, opts)
		if out := mustRead(t, filepath.Join(dir, files[0].Path)); !strings.Contains(out, "2026-10-24 23:30:00 UTC") {
			t.Error("a nil location is not shown as UTC")
		}
	})
}

// section returns the HTML of the entry with the given anchor.
func section(t *testing.T, out, anchor string) string {
	t.Helper()
	i := strings.Index(out, `id="`+anchor+`"`)
	if i < 0 {
		t.Fatalf("no entry %s", anchor)
	}
	rest := out[i:]
	if j := strings.Index(rest[1:], `<div class="entry`); j >= 0 {
		rest = rest[:j+1]
	}
	return rest
}

func TestWriteHTML_RendersWhatHappenedToMessages(t *testing.T) {
	dir, files := mustWriteHTML(t, mustItems(t, "conversation.json"), testOptions(t))
	out := mustRead(t, filepath.Join(dir, files[0].Path))
	tests := []struct {
		name, anchor string
		want         []string
	}{
		{"Edited", "rec-102", []string{
			`<span class="label edited">edited</span>`, "Edit history",
			"Original · 2026-10-25 03:10:00 CET · <span class=\"bates\">ACME000102</span>", "Let me check.\nTerms attached.",
			"Edit 1 (current) · 2026-10-25 03:11:00 CET · <span class=\"bates\">ACME000103</span>", "Let me check with compliance.",
		}},
		{"Reply", "rec-102", []string{`<a href="#rec-101">In reply to Pat Client (&#43;15550001) (ACME000101): Can you buy 100 shares`}},
		{"ReactionThenUnreaction", "rec-102", []string{
			"Now: ✔ Alex Advisor (&#43;15550002)", "reacted 👍", "Pat C. (&#43;15550001) removed their reaction · <span class=\"bates\">ACME000111</span>",
		}},
		{"StatusesInOrder", "rec-102", []string{
			"Pat Client (&#43;15550001): <span>read</span>",
			"<li>delivered · 2026-10-25 03:10:05 CET · <span class=\"bates\">ACME000105</span> · record 105</li>\n<li>read · 2026-10-25 03:12:00 CET",
		}},
		{"Attachments", "rec-102", []string{
			"terms.pdf", "application/pdf", "9 bytes", "e5c62df5dab5c87b6a015ef3d43597074d1eec433b15f51aec63b8582d0e4ab4",
			"not archived: fetch media.77: 404 Not Found",
		}},
		{"DeletedKeepsContent", "rec-106", []string{
			`<span class="label deleted">deleted</span>`, `<div class="deleted-content">`,
			"Deleted by Pat C. (&#43;15550001) (revoke) at 2026-10-25 03:22:00 CET · <span class=\"bates\">ACME000108</span>",
			"The content below is preserved by the archive.", "it&#39;s a guaranteed return", "it&#39;s a likely return",
		}},
		{"Orphan", "rec-113", []string{"edited a message that is not in this production", "edit of something older", "wamid.0"}},
		{"System", "rec-112", []string{"System event", "customer_changed_number", "Pat changed their number"}},
		{"BatesOnEveryMessage", "rec-114", []string{`<span class="bates">ACME000114</span>`, "forwarded", "disappearing after 1 day"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := section(t, out, tt.anchor)
			for _, w := range tt.want {
				if !strings.Contains(s, w) {
					t.Errorf("entry %s lacks %q", tt.anchor, w)
				}
			}
		})
	}
	header := out[:strings.Index(out, `class="entry`)]
	for _, w := range []string{"SEC inquiry 2026-17: transcript", "ACME000101 – ACME000114", "Pat C.", "earlier: Pat Client", "Alex Advisor", "organisation", "2026-12-01 10:00:00 CET"} {
		if !strings.Contains(header, w) {
			t.Errorf("header lacks %q", w)
		}
	}
}

func TestWriteHTML_Deterministic(t *testing.T) {
	items := mustItems(t, "conversation.json", "second.json")
	dirA, files := mustWriteHTML(t, items, testOptions(t))
	dirB, _ := mustWriteHTML(t, items, testOptions(t))
	for _, f := range files {
		if !bytes.Equal([]byte(mustRead(t, filepath.Join(dirA, f.Path))), []byte(mustRead(t, filepath.Join(dirB, f.Path)))) {
			t.Errorf("%s differs between two runs", f.Path)
		}
	}
}

func TestWrite_RefusesBadInput(t *testing.T) {
	good := mustItems(t, "second.json")
	tests := []struct {
		name  string
		items []export.Item
		opts  Options
		want  string
	}{
		{"NilEvent", []export.Item{{Seq: 7}}, Options{}, "item 7 has no event"},
		{"NegativeBatesStart", good, Options{BatesStart: -1}, "bates start -1"},
		{"TooManyDigits", good, Options{BatesDigits: 19}, "bates digits 19"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := WriteHTML(t.TempDir(), tt.items, tt.opts); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("WriteHTML error %v, want %q", err, tt.want)
			}
			if _, err := WritePDF(t.TempDir(), tt.items, tt.opts); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("WritePDF error %v, want %q", err, tt.want)
			}
		})
	}
}

func TestWrite_NoItemsNoFiles(t *testing.T) {
	files, err := WriteHTML(t.TempDir(), nil, Options{})
	if err != nil || len(files) != 0 {
		t.Errorf("WriteHTML(nil) = %v, %v", files, err)
	}
	pdfs, err := WritePDF(t.TempDir(), nil, Options{})
	if err != nil || len(pdfs) != 0 {
		t.Errorf("WritePDF(nil) = %v, %v", pdfs, err)
	}
}

func TestWriteHTML_ReplyQuotesTheVersionItAnswered(t *testing.T) {
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	ev := func(kind onrecord.EventKind, id, body, target, reply string, min int) *onrecord.Event {
		return &onrecord.Event{Channel: "signal", Kind: kind, ProviderID: id, Conversation: "c", Direction: onrecord.Inbound,
			Sender: onrecord.Party{ID: "+1"}, SentAt: at.Add(time.Duration(min) * time.Minute), Body: body, Target: target, ReplyTo: reply}
	}
	items := []export.Item{
		{Seq: 1, Event: ev(onrecord.KindMessage, "m1", "first wording", "", "", 0)},
		{Seq: 2, Event: ev(onrecord.KindMessage, "m2", "answer", "", "m1", 1)},
		{Seq: 3, Event: ev(onrecord.KindEdit, "e1", "second wording", "m1", "", 2)},
	}
	dir, files := mustWriteHTML(t, items, testOptions(t))
	s := section(t, mustRead(t, filepath.Join(dir, files[0].Path)), "rec-2")
	if !strings.Contains(s, "first wording") || strings.Contains(s, "second wording") {
		t.Errorf("reply does not quote the version it answered:\n%s", s)
	}
}
