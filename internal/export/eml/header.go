package eml

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/onrecord/onrecord"
)

// RFC 5322 §2.1.1: lines SHOULD be at most 78 characters; RFC 2047 §2:
// a line holding an encoded-word at most 76, an encoded-word at most 75.
const (
	lineLimit        = 78
	encodedLineLimit = 76
	encodedWordLimit = 75
	encodedPrefix    = "=?UTF-8?Q?"
	// maxToken is the longest unbroken run we leave unencoded; beyond it the
	// value is encoded so it can be split (the hard limit is 998 per line).
	maxToken = 900
)

// headers accumulates header fields, folded, CRLF-terminated.
type headers struct{ b strings.Builder }

// fold writes name: followed by toks separated by single spaces, breaking
// the line (CRLF before a space) where it would pass the limit: 78, or 76
// when the field holds an encoded-word. Unfolding (removing the CRLFs)
// gives back the tokens joined by single spaces. A token longer than a line
// stays whole; RFC 5322 makes 78 a SHOULD and callers keep tokens short.
func (h *headers) fold(name string, toks []string) {
	limit := lineLimit
	for _, t := range toks {
		if strings.HasPrefix(t, encodedPrefix) {
			limit = encodedLineLimit
		}
	}
	h.b.WriteString(name)
	h.b.WriteByte(':')
	n := len(name) + 1
	first := true
	for _, t := range toks {
		if !first && n+1+len(t) > limit {
			h.b.WriteString("\r\n")
			n = 0
		}
		h.b.WriteByte(' ')
		h.b.WriteString(t)
		n += 1 + len(t)
		first = false
	}
	h.b.WriteString("\r\n")
}

// text writes an unstructured field (RFC 5322 §3.2.5), folded at spaces.
// Words that plain ASCII cannot carry exactly are written as RFC 2047
// encoded-words, runs of them as one (the spaces between them encoded, as
// white space between two encoded-words is dropped when decoding); the rest
// stay legible. A value whose spacing unfolding would change is encoded
// whole.
func (h *headers) text(name, value string) {
	if wholeMustEncode(value) {
		h.fold(name, encodeWords(value, encodedLineLimit-len(name)-2))
		return
	}
	var toks, run []string
	flush := func() {
		if len(run) > 0 {
			first := encodedWordLimit
			if len(toks) == 0 {
				first = encodedLineLimit - len(name) - 2
			}
			toks = append(toks, encodeWords(strings.Join(run, " "), first)...)
			run = run[:0]
		}
	}
	for w := range strings.SplitSeq(value, " ") {
		if wordMustEncode(w) {
			run = append(run, w)
			continue
		}
		flush()
		toks = append(toks, w)
	}
	flush()
	h.fold(name, toks)
}

// wholeMustEncode reports whether value's white space would not survive
// folding and unfolding (textproto trims and joins lines): leading,
// trailing or doubled spaces.
func wholeMustEncode(value string) bool {
	return value != "" && (value[0] == ' ' || value[len(value)-1] == ' ' || strings.Contains(value, "  "))
}

// wordMustEncode reports whether one space-free word cannot be written as
// plain ASCII and read back unchanged: non-ASCII or control characters
// (tab included), text a decoder would take for an encoded-word ("=?"), or
// a run too long to fit a line.
func wordMustEncode(w string) bool {
	if len(w) > maxToken || strings.Contains(w, "=?") {
		return true
	}
	for i := 0; i < len(w); i++ {
		if c := w[i]; c < 0x20 || c > 0x7e {
			return true
		}
	}
	return false
}

// mustEncode reports whether value as a whole cannot be written as plain
// ASCII words.
func mustEncode(value string) bool {
	if wholeMustEncode(value) {
		return true
	}
	for w := range strings.SplitSeq(value, " ") {
		if wordMustEncode(w) {
			return true
		}
	}
	return false
}

// encodeWords encodes s as RFC 2047 "Q" encoded-words in UTF-8, each
// holding whole characters (§5) and at most encodedWordLimit long, the first
// at most first long. Q is chosen over B so names stay legible in raw
// headers. Only the characters §5(3) allows in a phrase are left literal,
// so the same words are valid in Subject and in a display name.
func encodeWords(s string, first int) []string {
	const prefix, suffix = encodedPrefix, "?="
	if first < len(prefix)+len(suffix)+12 {
		first = encodedWordLimit
	}
	var words []string
	var cur strings.Builder
	limit := first
	for i := 0; i < len(s); {
		_, size := utf8.DecodeRuneInString(s[i:])
		var enc strings.Builder
		for _, c := range []byte(s[i : i+size]) {
			switch {
			case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9',
				c == '!', c == '*', c == '+', c == '-', c == '/':
				enc.WriteByte(c)
			case c == ' ':
				enc.WriteByte('_')
			default:
				fmt.Fprintf(&enc, "=%02X", c)
			}
		}
		if cur.Len() > 0 && len(prefix)+cur.Len()+enc.Len()+len(suffix) > limit {
			words = append(words, prefix+cur.String()+suffix)
			cur.Reset()
			limit = encodedWordLimit
		}
		cur.WriteString(enc.String())
		i += size
	}
	if cur.Len() > 0 || len(words) == 0 {
		words = append(words, prefix+cur.String()+suffix)
	}
	return words
}

// maxLabel and maxLocal keep every Message-ID and mailbox within one
// 78-character header line (RFC 5322 §2.1.1), so nothing needs folding
// inside a token: "In-Reply-To: <" + 32 hex + "@" + 12 + ".onrecord.invalid>"
// is 78, " <" + 45 + "@" + 12 + ".onrecord.invalid>" is 78.
const (
	maxLabel = 12
	maxLocal = 45
)

// domain is <channel>.onrecord.invalid with the channel reduced to one
// short DNS label (RFC 1035 letters, digits, hyphens). The exact channel is
// in X-Onrecord-Channel; the domain only needs to be valid and readable.
func domain(channel string) string {
	var b strings.Builder
	for _, c := range []byte(strings.ToLower(channel)) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' {
			b.WriteByte(c)
		} else {
			b.WriteByte('-')
		}
	}
	label := strings.Trim(b.String(), "-")
	if len(label) > maxLabel {
		label = strings.TrimRight(label[:maxLabel], "-")
	}
	if label == "" {
		label = "channel"
	}
	return label + ".onrecord.invalid"
}

// localPart encodes a channel identity as an RFC 5322 dot-atom local part:
// letters, digits, '+', '-' and '_' stay (phone numbers read as themselves),
// every other byte becomes =XX. The encoding is reversible and can never
// produce a dot, quote or '@'. A result longer than maxLocal (within RFC
// 5321's 64 octets) is replaced by a hash of the id; the display name and
// X-Onrecord-Sender-Id still carry the id itself.
func localPart(id string) string {
	if id == "" {
		return "unknown"
	}
	var b strings.Builder
	for _, c := range []byte(id) {
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '_' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "=%02X", c)
		}
	}
	if b.Len() > maxLocal {
		sum := sha256.Sum256([]byte(id))
		return "sha256-" + hex.EncodeToString(sum[:16])
	}
	return b.String()
}

// address returns the tokens of one mailbox: display name (atoms, a quoted
// string or encoded-words) and <addr-spec>. A party without a name shows its
// id, which is what a reviewer would otherwise have to decode from the
// address.
func address(p onrecord.Party, channel string) []string {
	return mailbox(p.Name, p.ID, channel)
}

func mailbox(name, id, channel string) []string {
	if name == "" {
		name = id
	}
	spec := "<" + localPart(id) + "@" + domain(channel) + ">"
	if name == "" {
		return []string{spec}
	}
	return append(phrase(name), spec)
}

// phrase renders a display name (RFC 5322 §3.2.5): as atoms when it is
// plain words, as a quoted string when it is printable ASCII, otherwise as
// encoded-words (RFC 2047 §5(3)). Text that looks like an encoded-word is
// always encoded, so a decoder cannot turn a name into something else.
func phrase(name string) []string {
	if mustEncode(name) || len(name) > 64 {
		// 70 leaves room for "From: " in front of the first word.
		return encodeWords(name, encodedLineLimit-len("From: "))
	}
	atoms := true
	for i := 0; i < len(name); i++ {
		if c := name[i]; c != ' ' && !isAtext(c) {
			atoms = false
			break
		}
	}
	if atoms {
		return strings.Split(name, " ")
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return []string{`"` + r.Replace(name) + `"`}
}

// isAtext reports whether c is RFC 5322 atext.
func isAtext(c byte) bool {
	if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

// addressList joins mailboxes into the tokens of an address-list, commas
// after all but the last.
func addressList(boxes [][]string) []string {
	var toks []string
	for i, m := range boxes {
		m = append([]string(nil), m...)
		if i < len(boxes)-1 {
			m[len(m)-1] += ","
		}
		toks = append(toks, m...)
	}
	return toks
}
