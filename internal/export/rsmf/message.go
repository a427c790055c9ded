package rsmf

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/onrecord/onrecord"
)

// header is one message header, its value not yet encoded or folded.
type header struct {
	name, value string
	// address says value is already an RFC 5322 address list.
	address bool
}

// headers are the RFC 5322 and X-RSMF headers. From, To, Subject and Date
// follow what Relativity maps them to: From the sender of the first
// message, To everyone in the conversation, Date the first event.
func (b *builder) headers(conv conversation, nEvents int, exported time.Time) []header {
	head := b.sl.units[0].primary.Event
	channel := head.Channel
	fromID := ""
	for _, u := range b.sl.units {
		if id := u.primary.Event.Sender.ID; id != "" {
			fromID = id
			break
		}
	}
	if fromID == "" && len(b.people.order) > 0 {
		fromID = b.people.order[0]
	}
	from := mail.Address{Name: headerText(orText(channel, "onrecord"), 100), Address: "unknown@" + domain(channel)}
	if fromID != "" {
		from = b.address(fromID, channel)
	}
	to := make([]string, 0, len(b.people.order))
	displays := make([]string, 0, len(b.people.order))
	for _, id := range b.people.order {
		a := b.address(id, channel)
		to = append(to, formatAddress(a))
		displays = append(displays, a.Name)
	}

	subject := conv.Display + " (" + orText(channel, "unknown channel") + ")"
	first, last := b.begin.In(b.opts.Location).Format(time.DateOnly), b.end.In(b.opts.Location).Format(time.DateOnly)
	switch {
	case b.sl.day != "":
		subject += " " + b.sl.day
	case first == last:
		subject += " " + first
	default:
		subject += " " + first + " to " + last
	}
	if b.sl.parts > 1 {
		subject += fmt.Sprintf(" (part %d of %d)", b.sl.part, b.sl.parts)
	}
	id := hashHex(fmt.Sprint(b.sl.collection, b.sl.day, b.sl.part, b.sl.units[0].primary.Seq))

	h := []header{
		{name: "From", value: formatAddress(from), address: true},
	}
	if len(to) > 0 {
		h = append(h, header{name: "To", value: strings.Join(to, ", "), address: true})
	}
	h = append(h,
		header{name: "Subject", value: headerText(subject, 300)},
		header{name: "Date", value: b.begin.In(b.opts.Location).Format(time.RFC1123Z)},
		header{name: "Message-ID", value: "<" + id[:40] + "@rsmf.onrecord.invalid>"},
		header{name: "MIME-Version", value: "1.0"},
		header{name: "X-RSMF-Version", value: Version},
		header{name: "X-RSMF-Generator", value: headerText(b.opts.Generator, 100)},
		header{name: "X-RSMF-Application", value: headerText(orText(channel, "unknown"), 100)},
		header{name: "X-RSMF-BeginDate", value: timestamp(b.begin)},
		header{name: "X-RSMF-EndDate", value: timestamp(b.end)},
		header{name: "X-RSMF-EventCount", value: itoa(nEvents)},
		header{name: "X-RSMF-AttachmentCount", value: itoa(len(b.entries))},
	)
	if len(displays) > 0 {
		h = append(h, header{name: "X-RSMF-Participants", value: strings.Join(displays, ", ")})
	}
	if b.opts.Custodian != "" {
		h = append(h, header{name: "X-RSMF-Custodian", value: headerText(b.opts.Custodian, 200)})
	}
	h = append(h,
		header{name: "X-RSMF-EventCollectionID", value: b.sl.collection},
		header{name: "X-RSMF-ExportDate", value: timestamp(exported)},
	)
	return h
}

func (b *builder) address(id, channel string) mail.Address {
	return mail.Address{Name: headerText(b.people.display(id), 100), Address: addressPart(id, false, "unknown") + "@" + domain(channel)}
}

// formatAddress writes an address with its display name. A name that is
// not plain ASCII, or that looks like an encoded-word, is encoded here:
// Go's mail.Address would quote the latter as is, and some readers decode
// encoded-words even inside quotes, showing a name someone chose to forge.
func formatAddress(a mail.Address) string {
	if enc := encodeWords(a.Name); enc != a.Name {
		return enc + " <" + a.Address + ">"
	}
	return a.String()
}

func domain(channel string) string {
	return addressPart(channel, true, "channel") + ".onrecord.invalid"
}

// headerText makes a value safe to put in a header: valid UTF-8, no control
// characters (a CR or LF would start a header of the sender's choosing), one
// space between words, at most n runes.
func headerText(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	return truncate(strings.Join(strings.Fields(s), " "), n)
}

// encodeWords encodes a value that is not plain ASCII as RFC 2047
// encoded-words. Go's mime encoder leaves ASCII alone, including text that
// looks like an encoded-word ("=?utf-8?q?...?="), which a reader would
// decode into whatever someone chose to call their group; so such text is
// encoded too.
func encodeWords(s string) string {
	plain := !strings.Contains(s, "=?")
	for i := 0; plain && i < len(s); i++ {
		plain = s[i] >= 0x20 && s[i] < 0x7f
	}
	if plain {
		return s
	}
	// Words of at most 45 bytes (60 base64 characters, 72 with the
	// delimiters), cut between runes, stay under RFC 2047's 75.
	var words []string
	for len(s) > 0 {
		n := min(len(s), 45)
		for n < len(s) && n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		words = append(words, "=?utf-8?b?"+base64.StdEncoding.EncodeToString([]byte(s[:n]))+"?=")
		s = s[n:]
	}
	return strings.Join(words, " ")
}

// writeHeader writes one header, folded at spaces to keep lines short.
// Every value has been made of words no longer than a few hundred bytes, so
// no line can pass RFC 5322's limit of 998.
func writeHeader(w *bufio.Writer, h header) {
	v := h.value
	if !h.address {
		v = encodeWords(v)
	}
	w.WriteString(h.name + ":")
	col := len(h.name) + 1
	for i, word := range strings.Split(v, " ") {
		if i > 0 && col+1+len(word) > 76 {
			w.WriteString("\r\n")
			col = 0
		}
		w.WriteString(" " + word)
		col += 1 + len(word)
	}
	w.WriteString("\r\n")
}

// encode writes the .rsmf: headers, the summary and rsmf.zip, CRLF
// throughout.
func (f *file) encode(out io.Writer) error {
	var js bytes.Buffer
	enc := json.NewEncoder(&js)
	enc.SetEscapeHTML(false) // message text is data, not HTML; keep it readable
	enc.SetIndent("", "  ")
	if err := enc.Encode(f.manifest); err != nil {
		return fmt.Errorf("encode manifest: %w", err)
	}

	// The boundary comes from the content so the output is reproducible,
	// and from all of it so no message text can contain it.
	boundary := "onrecord-" + hashHex(f.text + js.String())[:32]
	for i := 0; strings.Contains(f.text, boundary); i++ {
		boundary = "onrecord-" + hashHex(fmt.Sprint(i, boundary))[:32]
	}

	w := bufio.NewWriterSize(out, 64<<10)
	for _, h := range f.headers {
		writeHeader(w, h)
	}
	writeHeader(w, header{name: "Content-Type", value: mime.FormatMediaType("multipart/mixed", map[string]string{"boundary": boundary})})
	w.WriteString("\r\n")

	mp := multipart.NewWriter(w)
	if err := mp.SetBoundary(boundary); err != nil {
		return fmt.Errorf("set boundary: %w", err)
	}
	part, err := mp.CreatePart(textproto.MIMEHeader{
		"Content-Type":              {"text/plain; charset=utf-8"},
		"Content-Transfer-Encoding": {"quoted-printable"},
	})
	if err != nil {
		return fmt.Errorf("create text part: %w", err)
	}
	qp := quotedprintable.NewWriter(part)
	if _, err := io.WriteString(qp, f.text); err != nil {
		return fmt.Errorf("write text part: %w", err)
	}
	if err := qp.Close(); err != nil {
		return fmt.Errorf("write text part: %w", err)
	}

	part, err = mp.CreatePart(textproto.MIMEHeader{
		"Content-Type":              {`application/zip; name="rsmf.zip"`},
		"Content-Disposition":       {`attachment; filename="rsmf.zip"`},
		"Content-Transfer-Encoding": {"base64"},
	})
	if err != nil {
		return fmt.Errorf("create rsmf.zip part: %w", err)
	}
	b64 := base64.NewEncoder(base64.StdEncoding, &lineWriter{w: part})
	zw := zip.NewWriter(b64)
	if err := addZip(zw, manifestName, js.Bytes(), f.modified); err != nil {
		return err
	}
	for _, e := range f.entries {
		if err := addZip(zw, e.name, e.data, e.modified); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("close rsmf.zip: %w", err)
	}
	if err := b64.Close(); err != nil {
		return fmt.Errorf("close rsmf.zip part: %w", err)
	}
	if err := mp.Close(); err != nil {
		return fmt.Errorf("close message: %w", err)
	}
	return w.Flush()
}

// earliestZip and latestZip bound what a zip's MS-DOS time can hold.
var (
	earliestZip = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)
	latestZip   = time.Date(2107, 12, 31, 0, 0, 0, 0, time.UTC)
)

// addZip adds one file, timed when the event that carries it happened
// (not when it was exported), so the zip is the same bytes every time.
func addZip(zw *zip.Writer, name string, data []byte, modified time.Time) error {
	t := modified.UTC()
	if t.Before(earliestZip) {
		t = earliestZip
	}
	if t.After(latestZip) {
		t = latestZip
	}
	w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: t})
	if err != nil {
		return fmt.Errorf("add %s to rsmf.zip: %w", name, err)
	}
	if _, err := w.Write(data); err != nil {
		return fmt.Errorf("add %s to rsmf.zip: %w", name, err)
	}
	return nil
}

// lineWriter breaks base64 into the 76-character lines MIME requires. The
// line break comes before the next line rather than after the last, since
// the multipart delimiter brings its own.
type lineWriter struct {
	w   io.Writer
	col int
}

func (l *lineWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		if l.col == 76 {
			if _, err := io.WriteString(l.w, "\r\n"); err != nil {
				return n, err
			}
			l.col = 0
		}
		k := min(76-l.col, len(p))
		m, err := l.w.Write(p[:k])
		n, l.col, p = n+m, l.col+m, p[m:]
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// text is the text/plain part: what the conversation is and a transcript,
// for platforms and people that read the message rather than the manifest.
func (b *builder) text(conv conversation, nEvents int) string {
	var t strings.Builder
	loc := b.opts.Location
	// One line each, whatever the names hold.
	field := func(label, v string) {
		if v = headerText(v, 300); v != "" {
			t.WriteString(label + ": " + v + "\n")
		}
	}
	field("Conversation", conv.Display)
	field("Platform", conv.Platform)
	field("Conversation ID", conv.ID)
	field("Type", conv.Type)
	field("Period", b.begin.In(loc).Format(summaryTime)+" to "+b.end.In(loc).Format(summaryTime)+" ("+loc.String()+")")
	if b.sl.parts > 1 {
		field("Part", itoa(b.sl.part)+" of "+itoa(b.sl.parts))
	}
	field("Custodian", b.opts.Custodian)
	field("Events", fmt.Sprintf("%d (%d messages); attachments: %d", nEvents, b.nMessage, len(b.entries)))
	t.WriteString("Participants:\n")
	for _, id := range b.people.order {
		t.WriteString("  " + headerText(b.who(onrecord.Party{ID: id}), 300) + "\n")
	}
	if len(b.people.order) == 0 {
		t.WriteString("  (none named)\n")
	}
	t.WriteString("\nThe complete record, with edits, deletions, reactions and attachments, is\n" +
		"rsmf_manifest.json in the attached rsmf.zip. Times below are in " + loc.String() + ".\n\n")
	t.WriteString(b.summary.String())
	// The manifest keeps text exactly (JSON escapes it); the summary is for
	// reading, and NULs and other controls in a text part trip up tools.
	return strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f {
			return '\uFFFD'
		}
		return r
	}, strings.ToValidUTF8(t.String(), "\uFFFD"))
}

const summaryTime = "2006-01-02 15:04:05"

// line adds an event to the transcript.
func (b *builder) line(at time.Time, who onrecord.Party, body string) {
	b.summary.WriteString("[" + at.In(b.opts.Location).Format(summaryTime) + "] " + headerText(b.who(who), 300) + ":")
	b.indented(body, "    ")
}

// note adds something that happened to the event above it.
func (b *builder) note(at time.Time, text string) {
	b.summary.WriteString("    [" + at.In(b.opts.Location).Format(summaryTime) + "]")
	b.indented(text, "        ")
}

// indented writes text after a space, its further lines indented, so a
// message cannot pass itself off as another one.
func (b *builder) indented(text, indent string) {
	text = strings.ReplaceAll(strings.ReplaceAll(text, "\r\n", "\n"), "\r", "\n")
	for i, l := range strings.Split(text, "\n") {
		if i > 0 {
			b.summary.WriteString("\n" + indent)
		} else if l != "" {
			b.summary.WriteString(" ")
		}
		b.summary.WriteString(l)
	}
	b.summary.WriteString("\n")
}
