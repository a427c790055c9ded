package transcript

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/export"
)

// longConversation makes a conversation that runs over several pages.
func longConversation(n int) []export.Item {
	var items []export.Item
	at := time.Date(2026, 11, 3, 8, 0, 0, 0, time.UTC)
	for i := range n {
		dir, sender := onrecord.Inbound, onrecord.Party{ID: "+15550005"}
		if i%2 == 1 {
			dir, sender = onrecord.Outbound, onrecord.Party{ID: "+15550002", Name: "Alex Advisor"}
		}
		items = append(items, export.Item{Seq: uint64(300 + i), Bates: fmt.Sprintf("ACME%06d", 300+i), Event: &onrecord.Event{
			Channel: "sms", Kind: onrecord.KindMessage, ProviderID: fmt.Sprintf("SM%d", i), Conversation: "+15550005",
			Direction: dir, Sender: sender, SentAt: at.Add(time.Duration(i) * 7 * time.Minute),
			Body: strings.Repeat(fmt.Sprintf("Line %d of a message about the portfolio. ", i), 1+i%4) + "\nSecond paragraph.",
		}})
	}
	return items
}

func mustWritePDF(tb testing.TB, items []export.Item, opts Options) (string, []PDFFile) {
	tb.Helper()
	dir := tb.TempDir()
	files, err := WritePDF(dir, items, opts)
	if err != nil {
		tb.Fatal(err)
	}
	return dir, files
}

var (
	pageObj = regexp.MustCompile(`(?s)\n(\d+) 0 obj\n<</Type /Page\n.*?/Contents (\d+) 0 R>>`)
	kids    = regexp.MustCompile(`/Kids \[([^\]]*)\]`)
)

// mustPages returns each page's content stream, inflated, in page order.
func mustPages(tb testing.TB, pdf []byte) [][]byte {
	tb.Helper()
	contents := map[string]string{}
	for _, m := range pageObj.FindAllSubmatch(pdf, -1) {
		contents[string(m[1])] = string(m[2])
	}
	k := kids.FindSubmatch(pdf)
	if k == nil {
		tb.Fatal("no /Kids in the page tree")
	}
	var pages [][]byte
	for _, ref := range strings.Split(strings.TrimSpace(string(k[1])), " 0 R") {
		ref = strings.TrimSpace(ref)
		if ref == "" {
			continue
		}
		obj, ok := contents[ref]
		if !ok {
			tb.Fatalf("page object %s not found", ref)
		}
		head := regexp.MustCompile(`\n` + obj + ` 0 obj\n<<([^>]*)>>\nstream\n`).FindSubmatchIndex(pdf)
		if head == nil {
			tb.Fatalf("content stream %s not found", obj)
		}
		dict := string(pdf[head[2]:head[3]])
		length, err := strconv.Atoi(regexp.MustCompile(`/Length (\d+)`).FindStringSubmatch(dict)[1])
		if err != nil {
			tb.Fatal(err)
		}
		stream := pdf[head[1] : head[1]+length]
		if strings.Contains(dict, "/FlateDecode") {
			r, err := zlib.NewReader(bytes.NewReader(stream))
			if err != nil {
				tb.Fatalf("content stream %s: %v", obj, err)
			}
			if stream, err = io.ReadAll(r); err != nil {
				tb.Fatalf("content stream %s: %v", obj, err)
			}
		}
		pages = append(pages, stream)
	}
	return pages
}

// shown is how text in the embedded (Identity-H) font appears in a
// content stream: UTF-16BE in a literal string, with the bytes that are
// special there escaped as fpdf does.
func shown(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u>>8), byte(u))
	}
	return []byte(strings.NewReplacer(`\`, `\\`, "(", `\(`, ")", `\)`, "\r", `\r`).Replace(string(b)))
}

func TestWritePDF_FooterOnEveryPage(t *testing.T) {
	items := append(mustItems(t, "conversation.json", "second.json"), longConversation(90)...)
	dir, files := mustWritePDF(t, items, testOptions(t))
	if len(files) != 3 {
		t.Fatalf("%d files, want 3", len(files))
	}
	next := 41
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(dir, f.Path))
		if err != nil {
			t.Fatal(err)
		}
		pages := mustPages(t, data)
		if len(pages) != f.Pages {
			t.Fatalf("%s: %d pages in the file, %d reported", f.Path, len(pages), f.Pages)
		}
		if want := fmt.Sprintf("/Count %d", f.Pages); !bytes.Contains(data, []byte(want)) {
			t.Errorf("%s: page tree lacks %s", f.Path, want)
		}
		if f.FirstBates != fmt.Sprintf("ACME-P%08d", next) || f.LastBates != fmt.Sprintf("ACME-P%08d", next+f.Pages-1) {
			t.Errorf("%s: Bates %s–%s, want to start at %d and run %d pages", f.Path, f.FirstBates, f.LastBates, next, f.Pages)
		}
		for i, p := range pages {
			for _, want := range []string{fmt.Sprintf("Page %d of %d", i+1, f.Pages), fmt.Sprintf("ACME-P%08d", next+i)} {
				if !bytes.Contains(p, shown(want)) {
					t.Errorf("%s page %d lacks %q", f.Path, i+1, want)
				}
			}
		}
		if !bytes.Contains(pages[0], shown(fmt.Sprintf("ACME-P%08d – ACME-P%08d (%d pages)", next, next+f.Pages-1, f.Pages))) {
			t.Errorf("%s: first page does not state the page range", f.Path)
		}
		next += f.Pages
	}
	if files[2].Pages < 3 {
		t.Errorf("the long conversation has %d pages; the test wants several", files[2].Pages)
	}
}

func TestWritePDF_RendersContent(t *testing.T) {
	dir, files := mustWritePDF(t, mustItems(t, "conversation.json"), testOptions(t))
	data, err := os.ReadFile(filepath.Join(dir, files[0].Path))
	if err != nil {
		t.Fatal(err)
	}
	all := bytes.Join(mustPages(t, data), nil)
	for _, want := range []string{
		"SEC inquiry 2026-17: transcript", "ACME000101 – ACME000114", "All times in Europe/Berlin",
		"2026-10-25 01:30:00 CEST", "2026-10-25 03:10:00 CET",
		"EDITED", "Edit history", "Let me check.", "EDITED · DELETED",
		"The content below is preserved by the archive.", "guaranteed return",
		"terms.pdf — application/pdf, 9 bytes", "SHA-256 e5c62df5dab5c87b6a015ef3d43597074d1eec433b15f51aec63b8582d0e4ab4",
		"not archived: fetch media.77: 404 Not Found",
		"Now: ✔ Alex Advisor (+15550002)", "removed their reaction", "reacted [U+1F44D]",
		"delivered · 2026-10-25 03:10:05 CET", "edited a message that is not in this production",
		"Привет · Γειά", "[U+1F680][U+1F468 U+200D U+1F469 U+200D U+1F467][U+1F1E9 U+1F1EA]",
		"<script>alert('x')</script>",
	} {
		if !bytes.Contains(all, shown(want)) {
			t.Errorf("PDF lacks %q", want)
		}
	}
}

func TestWritePDF_Deterministic(t *testing.T) {
	items := append(mustItems(t, "conversation.json", "second.json"), longConversation(40)...)
	var first [][]byte
	for run := range 3 {
		dir, files := mustWritePDF(t, items, testOptions(t))
		for i, f := range files {
			data, err := os.ReadFile(filepath.Join(dir, f.Path))
			if err != nil {
				t.Fatal(err)
			}
			if run == 0 {
				first = append(first, data)
			} else if !bytes.Equal(data, first[i]) {
				t.Errorf("run %d: %s differs from the first run", run, f.Path)
			}
		}
	}
	if !bytes.Contains(first[0], []byte("/CreationDate (D:20261201")) || !bytes.Contains(first[0], []byte("/Producer (onrecord)")) {
		t.Error("creation date or producer is not the fixed one")
	}
}

func TestWritePDF_NeverCrashesOnUnicode(t *testing.T) {
	bodies := []string{
		"😀😃😄 🏳️‍🌈 👍🏽 1️⃣ ❤️ 🇺🇸🇬🇧",
		"\x00\x01\x07\x1b[31m\x7f\u0085\u200b\u200e\u202e\ufeff",
		"invalid \xff\xfe utf-8 \xed\xa0\x80",
		"\uffff \U0010FFFF \U00010000 \U000E0041",
		"中文 日本語 한국어 العربية עברית हिन्दी ไทย",
		"literal {nb} and {NB} alias-like text",
		strings.Repeat("x", 5000),
		strings.Repeat("🙂", 300),
		"",
	}
	var items []export.Item
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	for i, b := range bodies {
		items = append(items, export.Item{Seq: uint64(i + 1), Bates: fmt.Sprint("U", i), Event: &onrecord.Event{
			Channel: "telegram", Kind: onrecord.KindMessage, ProviderID: fmt.Sprint(i), Conversation: "42",
			Direction: onrecord.Inbound, Sender: onrecord.Party{ID: "7", Name: "😀 " + b[:min(len(b), 20)]},
			SentAt: at.Add(time.Duration(i) * time.Minute), Body: b, GroupName: "🚀 desk",
			Attachments: []onrecord.Attachment{{Name: "📎" + b[:min(len(b), 10)] + ".bin", Data: []byte{1}}},
		}})
	}
	opts := testOptions(t)
	opts.BatesPrefix = "🙂-"
	dir, files := mustWritePDF(t, items, opts)
	data, err := os.ReadFile(filepath.Join(dir, files[0].Path))
	if err != nil {
		t.Fatal(err)
	}
	all := bytes.Join(mustPages(t, data), nil)
	for _, want := range []string{"[U+1F600][U+1F603][U+1F604]", "[U+1F44D U+1F3FD]", "[U+1F1FA U+1F1F8][U+1F1EC U+1F1E7]", "literal {nb} and {NB}", "[U+1F642]-00000041"} {
		if !bytes.Contains(all, shown(want)) {
			t.Errorf("PDF lacks %q", want)
		}
	}
}

func TestPDFText(t *testing.T) {
	cov, err := fontCoverage()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ in, want string }{
		{"plain café Ж א €", "plain café Ж א €"},
		{"👍", "[U+1F44D]"},
		{"👍🏽", "[U+1F44D U+1F3FD]"},
		{"a👨‍👩‍👧b", "a[U+1F468 U+200D U+1F469 U+200D U+1F467]b"},
		{"🇩🇪🇫🇷", "[U+1F1E9 U+1F1EA][U+1F1EB U+1F1F7]"},
		{"😀️", "[U+1F600]"},
		{"中文", "[U+4E2D][U+6587]"},
		{"a\tb", "a    b"},
		{"a\r\nb\rc", "a\nb\nc"},
		{"nul\x00bell\x07", "nul[U+0000]bell[U+0007]"},
		{"bad\xffbyte", "bad\ufffdbyte"},
	}
	for _, tt := range tests {
		if got := pdfText(cov, tt.in); got != tt.want {
			t.Errorf("pdfText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCmapCoverage(t *testing.T) {
	cov, err := fontCoverage()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range "Aé€ЖΩאب→✔�" {
		if !cov.has(r) {
			t.Errorf("%q (U+%04X) not covered; the embedded font has it", r, r)
		}
	}
	for _, r := range []rune{'中', 0x1F600, 0x10FFFF, -1, 0xFFFF} {
		if cov.has(r) {
			t.Errorf("U+%04X reported as covered", r)
		}
	}
	for _, n := range []int{0, 5, 12, 100, 1000} {
		if _, err := cmapCoverage(fontRegular[:n]); err == nil {
			t.Errorf("a font cut to %d bytes was accepted", n)
		}
	}
}

// FuzzPDFText checks that whatever a message says, the PDF gets only
// runes the font can draw (and line breaks), without panicking.
func FuzzPDFText(f *testing.F) {
	for _, s := range []string{"", "👨‍👩‍👧", "🇩🇪x", "\u200d\u200d", "a\u200d👍", "\r\r\n\t", "\xff", "🏽", "\U000E0067"} {
		f.Add(s)
	}
	cov, err := fontCoverage()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := pdfText(cov, s)
		if !utf8.ValidString(out) {
			t.Fatalf("invalid UTF-8 out of %q", s)
		}
		for _, r := range out {
			if r != '\n' && !cov.has(r) {
				t.Fatalf("pdfText(%q) kept U+%04X, which the font cannot draw", s, r)
			}
			if r != '\n' && r < 0x20 {
				t.Fatalf("pdfText(%q) kept control U+%04X", s, r)
			}
		}
	})
}
