package eml

import (
	"bytes"
	"encoding/base64"
	"flag"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/export"
	"pgregory.net/rapid"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the current output")

var (
	t0  = time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)
	cet = time.FixedZone("CET", 3600)
)

func at(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }

// fixture is a small production exercising every kind, threading, non-ASCII
// everywhere a value can go, and values chosen to break naive encoders.
func fixture() []export.Item {
	org := onrecord.Party{ID: "+15550001111", Name: "Acme Sales"}
	jose := onrecord.Party{ID: "+14155550123", Name: "José Müller"}
	pdf := bytes.Repeat([]byte("%PDF-1.7 \x00\x01\x02\xff binary "), 40)
	wa := func(seq uint64, bates string, e onrecord.Event) export.Item {
		e.Channel, e.Conversation = "whatsapp", "+14155550123"
		if e.Direction == "" {
			e.Direction = onrecord.Inbound
		}
		return export.Item{Seq: seq, Bates: bates, Event: &e}
	}
	bob := onrecord.Party{ID: "U024BE7LH", Name: `Bob "The Builder" O'Neil`}
	slack := func(seq uint64, bates string, e onrecord.Event) export.Item {
		e.Channel, e.Conversation, e.Group, e.GroupName = "slack", "C0DEALS", true, "#deals 🚀"
		e.Direction = onrecord.Outbound
		return export.Item{Seq: seq, Bates: bates, Event: &e}
	}
	return []export.Item{
		wa(1, "ACME-000001", onrecord.Event{ID: "a1", Kind: onrecord.KindMessage, ProviderID: "wamid.1", Sender: jose, Recipients: []onrecord.Party{org},
			SentAt: at(0), Body: "Hello 👋\nSecond line with a very long sentence that will certainly need a soft line break in quoted-printable because it is longer than seventy-six characters.", Subtype: "text"}),
		wa(2, "ACME-000002", onrecord.Event{ID: "a2", Kind: onrecord.KindMessage, ProviderID: "wamid.2", Direction: onrecord.Outbound, Sender: org, Recipients: []onrecord.Party{jose},
			SentAt: at(1), Body: "Here is the report.", ReplyTo: "wamid.1", Subtype: "document",
			Attachments: []onrecord.Attachment{
				{Name: "Quarterly report – Q3 😀 with a name long enough to need RFC 2231 continuations.pdf", ContentType: "application/pdf", Data: pdf},
				{Name: "voice.ogg", ContentType: "audio/ogg; codecs=opus", Data: []byte("OggS\x00\x02")},
				{Name: "lost.jpg", ContentType: "image/jpeg", Error: "media expired (404)"},
				{Name: "weird.bin", ContentType: "not a media type", Data: []byte{0, 1, 2}},
			}}),
		wa(3, "ACME-000003", onrecord.Event{Kind: onrecord.KindEdit, ProviderID: "wamid.1:edit", Target: "wamid.1", Sender: jose, SentAt: at(2), Body: "Hello 👋 (edited)"}),
		wa(4, "ACME-000004", onrecord.Event{Kind: onrecord.KindReaction, ProviderID: "wamid.4", Target: "wamid.2", Sender: jose, SentAt: at(3), Emoji: "👍"}),
		wa(5, "ACME-000005", onrecord.Event{Kind: onrecord.KindStatus, ProviderID: "wamid.2:failed", Target: "wamid.2", Direction: onrecord.Outbound, Sender: org, Recipients: []onrecord.Party{jose},
			SentAt: at(4), Status: "failed", StatusError: "131047: re-engagement message"}),
		wa(6, "ACME-000006", onrecord.Event{Kind: onrecord.KindDelete, ProviderID: "wamid.1:delete", Target: "wamid.1", Sender: jose, SentAt: at(5)}),
		slack(7, "ACME-000007", onrecord.Event{Kind: onrecord.KindMessage, ProviderID: "C0DEALS:1710408413.000100", Thread: "1710408413.000100", Sender: bob, SentAt: at(6),
			Body: "Deal closed.\n--=_onrecord_00 not a boundary\n=?UTF-8?Q?not_encoded?=", Forwarded: true, Meta: map[string]string{"slack_subtype": "thread_broadcast", "b": "2"}}),
		slack(8, "ACME-000008", onrecord.Event{Kind: onrecord.KindMessage, ProviderID: "C0DEALS:1710408999.000200", Thread: "1710408413.000100", Sender: onrecord.Party{ID: "U0ALICE"}, SentAt: at(7),
			Body: "Congrats!", ExpiresInSeconds: 86400}),
		{Seq: 9, Event: &onrecord.Event{Channel: "telegram", Kind: onrecord.KindUnparsed, ProviderID: "update:991", CapturedAt: at(8), Raw: []byte(`{"update_id":991,"weird":true}`)}},
		wa(10, "ACME/000010 x", onrecord.Event{Kind: onrecord.KindSystem, ProviderID: "sys.1", Sender: jose, SentAt: at(9), Subtype: "customer_changed_number", Body: "José changed number."}),
		{Seq: 11, Bates: "ACME-000011", Event: &onrecord.Event{
			Channel: "SMS (Twilio)", Kind: onrecord.KindMessage, ProviderID: "SM\r\nBcc: evil@example.com",
			Conversation: "=?utf-8?q?evil?= conv  with  doubled spaces and a trailing space ",
			Direction:    onrecord.Inbound,
			Sender:       onrecord.Party{ID: strings.Repeat("very.long@id with spaces ", 4), Name: "Eve\r\nBcc: evil@example.com"},
			Recipients:   []onrecord.Party{{ID: "+15550001111"}, {ID: "+15550002222", Name: "Ünïcödé Ñame that is rather long to force a fold of the To header"}},
			SentAt:       at(10), SentAtIsReceipt: true,
			Body:      strings.Repeat("x", 2000) + "\r\nend",
			GroupName: strings.Repeat("G", 1200),
		}},
	}
}

func writeFixture(t *testing.T) (string, []export.File) {
	t.Helper()
	dir := t.TempDir()
	files, err := Write(dir, fixture(), Options{Location: cet})
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	return dir, files
}

func TestWrite_MatchesGolden(t *testing.T) {
	dir, files := writeFixture(t)
	golden := filepath.Join("testdata", "golden")
	if *update {
		if err := os.RemoveAll(golden); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(golden, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range files {
		t.Run(f.Path, func(t *testing.T) {
			got, err := os.ReadFile(filepath.Join(dir, f.Path))
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(golden, filepath.Base(f.Path))
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from %s (go test -update rewrites it after review)\n got:\n%s", f.Path, path, got)
			}
		})
	}
}

func TestWrite_FilesNamedByBatesElseSeq(t *testing.T) {
	_, files := writeFixture(t)
	want := map[uint64]string{1: "eml/ACME-000001.eml", 9: "eml/9.eml", 10: "eml/ACME_000010_x.eml"}
	for _, f := range files {
		if len(f.Items) != 1 {
			t.Fatalf("%s carries %v, want one item", f.Path, f.Items)
		}
		if w, ok := want[f.Items[0]]; ok && f.Path != w {
			t.Errorf("seq %d written to %s, want %s", f.Items[0], f.Path, w)
		}
	}
	if len(files) != len(fixture()) {
		t.Errorf("%d files for %d items", len(files), len(fixture()))
	}
}

func TestWrite_IsDeterministic(t *testing.T) {
	dir1, files := writeFixture(t)
	dir2, _ := writeFixture(t)
	for _, f := range files {
		a, _ := os.ReadFile(filepath.Join(dir1, f.Path))
		b, _ := os.ReadFile(filepath.Join(dir2, f.Path))
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between two runs", f.Path)
		}
	}
}

func TestWrite_Refuses(t *testing.T) {
	e := &onrecord.Event{Channel: "sms", Kind: onrecord.KindMessage, ProviderID: "p", SentAt: t0}
	for _, tc := range []struct {
		name  string
		items []export.Item
		want  string
	}{
		{"no event", []export.Item{{Seq: 1}}, "has no event"},
		{"same file", []export.Item{{Seq: 1, Bates: "A/1", Event: e}, {Seq: 2, Bates: "A_1", Event: e}}, "would both be written"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Write(t.TempDir(), tc.items, Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// parsed is one written message read back with the standard library only.
type parsed struct {
	msg   *mail.Message
	text  string
	parts []*attachment
}

type attachment struct {
	name, contentType string
	data              []byte
}

var dec = new(mime.WordDecoder)

func readBack(t *testing.T, path string) parsed {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	checkLines(t, raw)
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("net/mail: %v", err)
	}
	p := parsed{msg: msg}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("Content-Type: %v", err)
	}
	if mt == "text/plain" {
		b, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
		if err != nil {
			t.Fatalf("quoted-printable: %v", err)
		}
		p.text = string(b)
		return p
	}
	if mt != "multipart/mixed" {
		t.Fatalf("Content-Type %q", mt)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for i := 0; ; i++ {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
		b, err := io.ReadAll(part)
		if err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
		if i == 0 {
			// multipart.Reader undoes quoted-printable itself.
			p.text = string(b)
			continue
		}
		if cte := part.Header.Get("Content-Transfer-Encoding"); cte != "base64" {
			t.Fatalf("part %d: Content-Transfer-Encoding %q", i, cte)
		}
		data, err := io.ReadAll(base64.NewDecoder(base64.StdEncoding, bytes.NewReader(b)))
		if err != nil {
			t.Fatalf("part %d base64: %v", i, err)
		}
		_, dp, err := mime.ParseMediaType(part.Header.Get("Content-Disposition"))
		if err != nil {
			t.Fatalf("part %d Content-Disposition: %v", i, err)
		}
		p.parts = append(p.parts, &attachment{name: dp["filename"], contentType: part.Header.Get("Content-Type"), data: data})
	}
	return p
}

// checkLines holds the message to RFC 5322 §2.1.1 and RFC 2047 §2: CRLF
// line ends only, no line over 998, header lines within 78 (76 with an
// encoded-word), no encoded-word over 75.
func checkLines(t *testing.T, raw []byte) {
	t.Helper()
	if bytes.Contains(bytes.ReplaceAll(raw, []byte("\r\n"), nil), []byte("\n")) || bytes.Contains(bytes.ReplaceAll(raw, []byte("\r\n"), nil), []byte("\r")) {
		t.Error("bare CR or LF in message")
	}
	head, _, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
	for _, l := range strings.Split(string(raw), "\r\n") {
		if len(l) > 998 {
			t.Errorf("line of %d characters", len(l))
		}
	}
	for _, l := range strings.Split(string(head), "\r\n") {
		limit := 78
		if strings.Contains(l, "=?UTF-8?Q?") {
			limit = 76
		}
		if len(l) > limit {
			t.Errorf("header line of %d characters (limit %d): %q", len(l), limit, l)
		}
		if strings.TrimSpace(l) == "" {
			t.Errorf("header line of only whitespace")
		}
	}
}

func header(t *testing.T, m *mail.Message, name string) string {
	t.Helper()
	v, err := dec.DecodeHeader(m.Header.Get(name))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return v
}

func TestWrite_ReadsBackWithStandardLibrary(t *testing.T) {
	dir, files := writeFixture(t)
	items := fixture()
	for i, f := range files {
		it := items[i]
		e := it.Event
		t.Run(f.Path, func(t *testing.T) {
			p := readBack(t, filepath.Join(dir, f.Path))
			h := p.msg.Header

			for name, want := range map[string]string{
				"Subject":                  subject(e),
				"X-Onrecord-Seq":           strconv.FormatUint(it.Seq, 10),
				"X-Onrecord-Bates":         it.Bates,
				"X-Onrecord-Kind":          string(e.Kind),
				"X-Onrecord-Channel":       e.Channel,
				"X-Onrecord-Conversation":  e.Conversation,
				"X-Onrecord-Provider-Id":   e.ProviderID,
				"X-Onrecord-Status":        e.Status,
				"X-Onrecord-Sender-Id":     e.Sender.ID,
				"X-Onrecord-Target":        e.Target,
				"X-Onrecord-Reply-To-Id":   e.ReplyTo,
				"X-Onrecord-Thread":        e.Thread,
				"X-Onrecord-Emoji":         e.Emoji,
				"X-Onrecord-Record-Id":     e.ID,
				"MIME-Version":             "1.0",
				"Bcc":                      "",
				"X-Onrecord-Nonexistent-X": "",
			} {
				if got := header(t, p.msg, name); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}

			from, err := h.AddressList("From")
			if err != nil || len(from) != 1 {
				t.Fatalf("From %q: %v", h.Get("From"), err)
			}
			wantName := e.Sender.Name
			if wantName == "" {
				wantName = e.Sender.ID
			}
			if from[0].Name != wantName || from[0].Address != localPart(e.Sender.ID)+"@"+domain(e.Channel) {
				t.Errorf("From = %q <%s>, want %q <%s@%s>", from[0].Name, from[0].Address, wantName, localPart(e.Sender.ID), domain(e.Channel))
			}
			if !strings.HasSuffix(from[0].Address, ".onrecord.invalid") {
				t.Errorf("From address %q is not under .onrecord.invalid", from[0].Address)
			}
			to, err := h.AddressList("To")
			switch {
			case len(e.Recipients) > 0:
				if err != nil || len(to) != len(e.Recipients) {
					t.Fatalf("To %q: %v", h.Get("To"), err)
				}
				for j, r := range e.Recipients {
					want := r.Name
					if want == "" {
						want = r.ID
					}
					if to[j].Name != want || to[j].Address != localPart(r.ID)+"@"+domain(e.Channel) {
						t.Errorf("To[%d] = %q <%s>", j, to[j].Name, to[j].Address)
					}
				}
			case e.Conversation != "":
				if err != nil || len(to) != 1 || to[0].Address != localPart(e.Conversation)+"@"+domain(e.Channel) {
					t.Errorf("To = %v, %v; want the conversation", to, err)
				}
			default:
				if err != mail.ErrHeaderNotPresent {
					t.Errorf("To = %v, %v; want none", to, err)
				}
			}

			date, err := h.Date()
			when := e.SentAt
			if when.IsZero() {
				when = e.CapturedAt
			}
			if err != nil || !date.Equal(when) {
				t.Errorf("Date = %v, %v; want %v", date, err, when)
			}
			if _, off := date.Zone(); off != 3600 {
				t.Errorf("Date offset %d s, want the option's +0100", off)
			}

			if got, want := strings.ReplaceAll(p.text, "\r\n", "\n"), strings.ReplaceAll(bodyText(e), "\r\n", "\n"); got != want {
				t.Errorf("text = %q\nwant %q", got, want)
			}
			if e.Body != "" && !strings.Contains(strings.ReplaceAll(p.text, "\r\n", "\n"), strings.ReplaceAll(e.Body, "\r\n", "\n")) {
				t.Error("body text missing")
			}

			var want []onrecord.Attachment
			for _, a := range e.Attachments {
				if len(a.Data) > 0 {
					want = append(want, a)
				}
			}
			if e.Kind == onrecord.KindUnparsed {
				want = append(want, onrecord.Attachment{Name: "raw-payload.bin", ContentType: "application/octet-stream", Data: e.Raw})
			}
			if len(p.parts) != len(want) {
				t.Fatalf("%d attachments, want %d", len(p.parts), len(want))
			}
			for j, a := range want {
				got := p.parts[j]
				if got.name != a.Name {
					t.Errorf("attachment %d filename = %q, want %q", j, got.name, a.Name)
				}
				if !bytes.Equal(got.data, a.Data) {
					t.Errorf("attachment %d bytes differ", j)
				}
				wantMT, _, err := mime.ParseMediaType(a.ContentType)
				if err != nil {
					wantMT = "application/octet-stream"
				}
				if mt, _, err := mime.ParseMediaType(got.contentType); err != nil || mt != wantMT {
					t.Errorf("attachment %d Content-Type %q from %q", j, got.contentType, a.ContentType)
				}
			}
		})
	}
}

func TestWrite_ThreadingLinksEventsToOriginals(t *testing.T) {
	dir, files := writeFixture(t)
	msgs := map[uint64]*mail.Message{}
	for _, f := range files {
		msgs[f.Items[0]] = readBack(t, filepath.Join(dir, f.Path)).msg
	}
	id := func(seq uint64) string { return msgs[seq].Header.Get("Message-ID") }
	for _, tc := range []struct {
		name           string
		seq            uint64
		inReplyTo      uint64 // 0: none
		referencesSeqs []uint64
	}{
		{"first message of a conversation is its root", 1, 0, nil},
		{"reply answers the quoted message", 2, 1, []uint64{1}},
		{"edit answers the original", 3, 1, []uint64{1}},
		{"reaction is about the reacted message", 4, 2, []uint64{1, 2}},
		{"status is about its message", 5, 2, []uint64{1, 2}},
		{"deletion answers the original", 6, 1, []uint64{1}},
		{"system event threads under the conversation", 10, 1, []uint64{1}},
		{"thread reply answers the thread's first message", 8, 7, []uint64{7}},
		{"unparsed delivery is in no thread", 9, 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := msgs[tc.seq].Header
			if tc.inReplyTo == 0 {
				if h.Get("In-Reply-To") != "" || h.Get("References") != "" {
					t.Fatalf("In-Reply-To %q References %q, want none", h.Get("In-Reply-To"), h.Get("References"))
				}
				return
			}
			if got := h.Get("In-Reply-To"); got != id(tc.inReplyTo) {
				t.Errorf("In-Reply-To = %q, want seq %d's %q", got, tc.inReplyTo, id(tc.inReplyTo))
			}
			var want []string
			for _, s := range tc.referencesSeqs {
				want = append(want, id(s))
			}
			if got := strings.Fields(h.Get("References")); strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("References = %v, want %v", got, want)
			}
		})
	}
	seen := map[string]uint64{}
	for seq, m := range msgs {
		mid := m.Header.Get("Message-ID")
		if _, err := mail.ParseAddress(strings.Trim(mid, "<>")); err != nil {
			t.Errorf("seq %d Message-ID %q is not an addr-spec: %v", seq, mid, err)
		}
		if prev, dup := seen[mid]; dup {
			t.Errorf("seq %d and %d share Message-ID %s", prev, seq, mid)
		}
		seen[mid] = seq
	}
}

func TestWrite_ReferencesOriginalOutsideProduction(t *testing.T) {
	items := fixture()[2:3] // the edit alone
	dir := t.TempDir()
	files, err := Write(dir, items, Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := readBack(t, filepath.Join(dir, files[0].Path)).msg
	want := messageID("whatsapp", "wamid.1", onrecord.KindMessage)
	if got := m.Header.Get("In-Reply-To"); got != want {
		t.Errorf("In-Reply-To = %q, want the original's computed id %q", got, want)
	}
}

func TestText_EncodesWhatPlainASCIICannotCarry(t *testing.T) {
	for _, tc := range []struct {
		name, value string
		encoded     bool
	}{
		{"plain", "hello world", false},
		{"long plain folds", strings.Repeat("word ", 60) + "end", false},
		{"accents", "José Müller", true},
		{"emoji", "👍🏽 ok", true},
		{"looks encoded", "=?UTF-8?Q?x?=", true},
		{"leading space", " x", true},
		{"trailing space", "x ", true},
		{"double space", "a  b", true},
		{"tab", "a\tb", true},
		{"crlf injection", "x\r\nBcc: y@z", true},
		{"long token", strings.Repeat("x", 1000), true},
		{"invalid utf-8", "a\xffb", true},
		{"long multibyte", strings.Repeat("ü€😀", 50), true},
		{"mixed words", "Edited: [whatsapp] José Müller and more text after =?x ok", true},
		{"mixed, encoded last", "[slack] #deals 🚀", true},
		{"underscore next to encoded", "a_b ü_c d_e", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h headers
			h.text("X-Test-Header", tc.value)
			raw := h.b.String() + "\r\n"
			checkLines(t, []byte(raw))
			if got := strings.Contains(raw, "=?UTF-8?Q?"); got != tc.encoded {
				t.Errorf("encoded = %v, want %v: %q", got, tc.encoded, raw)
			}
			m, err := mail.ReadMessage(strings.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			got, err := dec.DecodeHeader(m.Header.Get("X-Test-Header"))
			if err != nil {
				t.Fatal(err)
			}
			if tc.value == "a\xffb" {
				// The decoder hands invalid bytes back as they were encoded.
				if got != tc.value && got != "a\uFFFDb" {
					t.Errorf("got %q", got)
				}
				return
			}
			if got != tc.value {
				t.Errorf("read back %q, want %q", got, tc.value)
			}
		})
	}
}

func TestLocalPart_KeepsPhoneNumbersAndEncodesTheRest(t *testing.T) {
	for _, tc := range []struct{ id, want string }{
		{"+14155550123", "+14155550123"},
		{"U024BE7LH", "U024BE7LH"},
		{"telegram:42", "telegram=3A42"},
		{"a.b@c d", "a=2Eb=40c=20d"},
		{"", "unknown"},
		{"é", "=C3=A9"},
		{strings.Repeat("x", 45), strings.Repeat("x", 45)},
	} {
		if got := localPart(tc.id); got != tc.want {
			t.Errorf("localPart(%q) = %q, want %q", tc.id, got, tc.want)
		}
	}
	long := localPart(strings.Repeat("x", 46))
	if !strings.HasPrefix(long, "sha256-") || len(long) > 45 {
		t.Errorf("long id → %q", long)
	}
	for _, id := range []string{"a.b", "x@y", `"q"`, "sp ace", strings.Repeat("é", 40)} {
		if _, err := mail.ParseAddress("<" + localPart(id) + "@" + domain("x") + ">"); err != nil {
			t.Errorf("address for %q does not parse: %v", id, err)
		}
	}
}

func TestDomain_IsOneShortDNSLabel(t *testing.T) {
	for _, tc := range []struct{ channel, want string }{
		{"whatsapp", "whatsapp.onrecord.invalid"},
		{"SMS (Twilio)", "sms--twilio.onrecord.invalid"},
		{"", "channel.onrecord.invalid"},
		{"ß", "channel.onrecord.invalid"},
		{strings.Repeat("a", 70), strings.Repeat("a", 12) + ".onrecord.invalid"},
		{"twilio-sms-x-y", "twilio-sms-x.onrecord.invalid"},
	} {
		if got := domain(tc.channel); got != tc.want {
			t.Errorf("domain(%q) = %q, want %q", tc.channel, got, tc.want)
		}
	}
}

func TestText_RoundTripsAnyValue(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		value := rapid.OneOf(rapid.String(), rapid.StringMatching(`[ a-zA-Z=?_é\r\n\t]{0,200}`)).Draw(t, "value")
		if value == "" {
			return
		}
		var h headers
		h.text("X-Onrecord-Conversation", value)
		raw := h.b.String() + "\r\n"
		head := strings.TrimSuffix(raw, "\r\n\r\n")
		for _, l := range strings.Split(head, "\r\n") {
			if len(l) > 78 || (strings.Contains(l, encodedPrefix) && len(l) > 76) {
				t.Fatalf("line of %d: %q", len(l), l)
			}
		}
		m, err := mail.ReadMessage(strings.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		got, err := dec.DecodeHeader(m.Header.Get("X-Onrecord-Conversation"))
		if err != nil {
			t.Fatal(err)
		}
		if got != value {
			t.Fatalf("read back %q, want %q\n%s", got, value, raw)
		}
	})
}

func TestPhrase_RoundTripsAnyName(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		name := rapid.OneOf(rapid.String(), rapid.StringMatching(`[ a-zA-Z"\\.,<>@=?é]{1,80}`)).Draw(t, "name")
		if strings.TrimSpace(name) == "" {
			return
		}
		var h headers
		h.fold("From", mailbox(name, "id", "sms"))
		m, err := mail.ReadMessage(strings.NewReader(h.b.String() + "\r\n"))
		if err != nil {
			t.Fatal(err)
		}
		got, err := m.Header.AddressList("From")
		if err != nil || len(got) != 1 {
			t.Fatalf("%q: %v", h.b.String(), err)
		}
		if got[0].Name != name {
			t.Fatalf("name read back %q, want %q\n%s", got[0].Name, name, h.b.String())
		}
	})
}
