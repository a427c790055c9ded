package eml

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"maps"
	"mime"
	"mime/quotedprintable"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/export"
)

// rfc5322Date is the date-time of RFC 5322 §3.3, numeric zone only.
const rfc5322Date = "Mon, 02 Jan 2006 15:04:05 -0700"

// part is one MIME part after the text: an attachment or a raw payload.
type part struct {
	name, contentType string
	data              []byte
}

// encode renders one item as a complete message.
func encode(it export.Item, th *threading, loc *time.Location) ([]byte, error) {
	e := it.Event
	var h headers

	switch {
	case !e.SentAt.IsZero():
		h.text("Date", e.SentAt.In(loc).Format(rfc5322Date))
	case !e.CapturedAt.IsZero():
		// An unparsed delivery may have no time of its own; when it was
		// captured is the best there is (X-Onrecord-Sent-At-Is-Receipt says so).
		h.text("Date", e.CapturedAt.In(loc).Format(rfc5322Date))
	}
	h.fold("From", address(e.Sender, e.Channel))
	var to [][]string
	for _, p := range e.Recipients {
		to = append(to, address(p, e.Channel))
	}
	if len(to) == 0 && e.Conversation != "" {
		// Group messages often name no recipients: address the conversation.
		to = append(to, mailbox(e.GroupName, e.Conversation, e.Channel))
	}
	if len(to) > 0 {
		h.fold("To", addressList(to))
	}
	h.text("Subject", subject(e))
	self := messageID(e.Channel, e.ProviderID, e.Kind)
	h.fold("Message-ID", []string{self})
	refs, inReplyTo := th.refs(e)
	if inReplyTo != "" {
		h.fold("In-Reply-To", []string{inReplyTo})
		h.fold("References", refs)
	}
	h.text("MIME-Version", "1.0")

	var parts []part
	for _, a := range e.Attachments {
		if a.Error != "" && len(a.Data) == 0 {
			continue // not captured: said in the text instead
		}
		parts = append(parts, part{name: a.Name, contentType: a.ContentType, data: a.Data})
	}
	if e.Kind == onrecord.KindUnparsed && len(e.Raw) > 0 {
		parts = append(parts, part{name: "raw-payload.bin", contentType: "application/octet-stream", data: e.Raw})
	}
	text := bodyText(e)
	var boundary string
	if len(parts) == 0 {
		h.text("Content-Type", "text/plain; charset=UTF-8")
		h.text("Content-Transfer-Encoding", "quoted-printable")
	} else {
		boundary = makeBoundary(e, text, parts)
		h.fold("Content-Type", splitParams(mime.FormatMediaType("multipart/mixed", map[string]string{"boundary": boundary})))
	}
	xHeaders(&h, it)

	var out bytes.Buffer
	out.WriteString(h.b.String())
	out.WriteString("\r\n")
	if len(parts) == 0 {
		if err := writeQP(&out, text); err != nil {
			return nil, err
		}
		return out.Bytes(), nil
	}
	out.WriteString("This is a multi-part message in MIME format.\r\n")
	out.WriteString("\r\n--" + boundary + "\r\n")
	var ph headers
	ph.text("Content-Type", "text/plain; charset=UTF-8")
	ph.text("Content-Transfer-Encoding", "quoted-printable")
	out.WriteString(ph.b.String() + "\r\n")
	if err := writeQP(&out, text); err != nil {
		return nil, err
	}
	for _, p := range parts {
		out.WriteString("\r\n--" + boundary + "\r\n")
		var ph headers
		ph.fold("Content-Type", mediaTypeTokens(p.contentType))
		ph.fold("Content-Disposition", dispositionTokens(p.name))
		ph.text("Content-Transfer-Encoding", "base64")
		out.WriteString(ph.b.String() + "\r\n")
		writeBase64(&out, p.data)
	}
	out.WriteString("\r\n--" + boundary + "--\r\n")
	return out.Bytes(), nil
}

// subject summarises what the record is and where it happened, the same
// for every message of a conversation apart from the kind prefix, so that
// clients that group by subject group by conversation.
func subject(e *onrecord.Event) string {
	var prefix string
	switch e.Kind {
	case onrecord.KindEdit:
		prefix = "Edited: "
	case onrecord.KindDelete:
		prefix = "Deleted: "
	case onrecord.KindReaction:
		prefix = "Reaction: "
	case onrecord.KindStatus:
		prefix = "Status " + e.Status + ": "
	case onrecord.KindSystem:
		prefix = "System: "
	case onrecord.KindUnparsed:
		prefix = "Unparsed: "
	}
	s := prefix + "[" + e.Channel + "]"
	switch {
	case e.GroupName != "":
		s += " " + e.GroupName
	case e.Conversation != "":
		s += " conversation " + e.Conversation
	}
	return s
}

// bodyText is the readable text of the record: for a message its body; for
// the other kinds a sentence saying what happened first, so a reviewer
// reading only the body is not misled; then whatever else was captured
// that no header carries.
func bodyText(e *onrecord.Event) string {
	var lead string
	switch e.Kind {
	case onrecord.KindEdit:
		lead = "Edit of message " + e.Target + ". New text:"
	case onrecord.KindDelete:
		lead = "Deletion of message " + e.Target + "."
	case onrecord.KindReaction:
		if e.Emoji == "" {
			lead = "Reaction removed from message " + e.Target + "."
		} else {
			lead = "Reaction " + e.Emoji + " to message " + e.Target + "."
		}
	case onrecord.KindStatus:
		lead = "Status of message " + e.Target + ": " + e.Status + "."
		if e.StatusError != "" {
			lead += "\nError: " + e.StatusError
		}
	case onrecord.KindSystem:
		lead = "System event"
		if e.Subtype != "" {
			lead += ": " + e.Subtype
		}
		lead += "."
	case onrecord.KindUnparsed:
		lead = "The connector could not read this delivery; the payload is attached exactly as received (raw-payload.bin)."
	}
	var notes []string
	if e.Forwarded {
		notes = append(notes, "Forwarded message.")
	}
	for _, a := range e.Attachments {
		if a.Error != "" && len(a.Data) == 0 {
			notes = append(notes, fmt.Sprintf("Attachment %q was not captured: %s", a.Name, a.Error))
		}
	}
	if e.ExpiresInSeconds > 0 {
		notes = append(notes, "Disappearing-message timer: "+strconv.Itoa(e.ExpiresInSeconds)+" s (the archive keeps the record regardless).")
	}
	for _, k := range slices.Sorted(maps.Keys(e.Meta)) {
		notes = append(notes, k+": "+e.Meta[k])
	}

	var parts []string
	if lead != "" {
		parts = append(parts, lead)
	}
	if e.Body != "" {
		parts = append(parts, e.Body)
	}
	if len(notes) > 0 {
		parts = append(parts, "--\n"+strings.Join(notes, "\n"))
	}
	return strings.Join(parts, "\n\n")
}

// xHeaders writes what mail headers cannot say, so a reviewer can get from
// the message back to the sealed record. Empty values are left out.
func xHeaders(h *headers, it export.Item) {
	e := it.Event
	add := func(name, v string) {
		if v != "" {
			h.text("X-Onrecord-"+name, v)
		}
	}
	add("Seq", strconv.FormatUint(it.Seq, 10))
	add("Bates", it.Bates)
	add("Record-Id", e.ID)
	add("Kind", string(e.Kind))
	add("Channel", e.Channel)
	add("Conversation", e.Conversation)
	add("Provider-Id", e.ProviderID)
	add("Direction", string(e.Direction))
	add("Sender-Id", e.Sender.ID)
	add("Target", e.Target)
	add("Reply-To-Id", e.ReplyTo)
	add("Thread", e.Thread)
	add("Status", e.Status)
	add("Emoji", e.Emoji)
	add("Subtype", e.Subtype)
	if e.SentAtIsReceipt || (e.SentAt.IsZero() && !e.CapturedAt.IsZero()) {
		add("Sent-At-Is-Receipt", "true")
	}
}

// makeBoundary derives the multipart boundary from the content it
// separates, so output is deterministic yet no content can contain it: it
// would have to contain a hash of itself. The "=_" prefix can appear in
// neither quoted-printable nor base64 output, which makes that doubly sure.
func makeBoundary(e *onrecord.Event, text string, parts []part) string {
	h := sha256.New()
	h.Write([]byte(e.IdempotencyKey()))
	h.Write([]byte{0})
	h.Write([]byte(text))
	for _, p := range parts {
		fmt.Fprintf(h, "\x00%d:%s\x00%s\x00", len(p.data), p.name, p.contentType)
		h.Write(p.data)
	}
	return "=_onrecord_" + hex.EncodeToString(h.Sum(nil)[:16])
}

func writeQP(out *bytes.Buffer, text string) error {
	w := quotedprintable.NewWriter(out)
	if _, err := w.Write([]byte(text)); err != nil {
		return fmt.Errorf("quoted-printable body: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("quoted-printable body: %w", err)
	}
	return nil
}

// writeBase64 writes data in base64 lines of 76 characters (RFC 2045 §6.8).
func writeBase64(out *bytes.Buffer, data []byte) {
	enc := base64.StdEncoding.EncodeToString(data)
	for len(enc) > 76 {
		out.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	if enc != "" {
		out.WriteString(enc + "\r\n")
	}
}

// mediaTypeTokens is the attachment's Content-Type, as captured when it
// parses as a media type, else application/octet-stream: a provider's
// malformed type must not break the message around it.
func mediaTypeTokens(ct string) []string {
	v := "application/octet-stream"
	if mt, params, err := mime.ParseMediaType(ct); err == nil {
		if f := mime.FormatMediaType(mt, params); f != "" {
			v = f
		}
	}
	return splitParams(v)
}

// splitParams splits a formatted media type at its "; " separators into
// tokens that fold() can break between.
func splitParams(v string) []string {
	toks := strings.Split(v, "; ")
	for i := range toks[:len(toks)-1] {
		toks[i] += ";"
	}
	return toks
}

// dispositionTokens is "attachment" with the file name twice (RFC 6266
// §4.3): filename= an ASCII stand-in for old readers, filename*= the exact
// name in RFC 2231 encoding, split into continuations (filename*0*,
// filename*1*...) so no line grows past the folding limit. Readers that
// know filename* prefer it.
func dispositionTokens(name string) []string {
	toks := []string{"attachment;", `filename="` + asciiName(name) + `";`}
	var chunks []string
	var cur strings.Builder
	cur.WriteString("UTF-8''")
	for _, c := range []byte(name) {
		var enc string
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("!#$&+-.^_`|~", c) >= 0 {
			enc = string(c)
		} else {
			enc = fmt.Sprintf("%%%02X", c)
		}
		if cur.Len()+len(enc) > 56 {
			chunks = append(chunks, cur.String())
			cur.Reset()
		}
		cur.WriteString(enc)
	}
	chunks = append(chunks, cur.String())
	if len(chunks) == 1 {
		return append(toks, "filename*="+chunks[0])
	}
	for i, c := range chunks {
		t := "filename*" + strconv.Itoa(i) + "*=" + c
		if i < len(chunks)-1 {
			t += ";"
		}
		toks = append(toks, t)
	}
	return toks
}

// asciiName is name with everything outside printable ASCII, and the quote
// and backslash a quoted string would need escaped, replaced by '_'; cut to
// 60 bytes, keeping the extension, so it folds.
func asciiName(name string) string {
	var b strings.Builder
	for _, r := range name {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			r = '_'
		}
		b.WriteRune(r)
	}
	s := b.String()
	if len(s) > 60 {
		ext := ""
		if i := strings.LastIndexByte(s, '.'); i >= 0 && len(s)-i <= 10 {
			ext = s[i:]
		}
		s = s[:60-len(ext)] + ext
	}
	if s == "" {
		s = "attachment"
	}
	return s
}
