package rsmf

import (
	"crypto/sha256"
	"encoding/hex"
	"path"
	"strings"
)

// safeName turns an identifier chosen by someone else (a channel name, a
// conversation id, an attachment name) into one path component that is
// safe on every filesystem: ASCII letters, digits and ". _ - + @" only, no
// leading or trailing dot (no hidden files, no "..", nothing Windows trims),
// at most max bytes. When it had to change anything it appends a hash of
// the original, so "a/b" and "a_b" do not end up as the same file.
func safeName(s string, max int) string {
	clean, changed := cleanName(s, max)
	if clean == "" {
		clean, changed = "none", true
	}
	if changed {
		clean += "-" + shortHash(s)
	}
	return clean
}

// cleanName is safeName without the hash: it reports whether it changed s.
func cleanName(s string, max int) (string, bool) {
	b := make([]byte, 0, len(s))
	changed := false
	for _, r := range s { // invalid UTF-8 arrives as RuneError and is replaced
		// No "..", even inside a name: nothing that reads as a parent
		// directory to a person or a careless tool.
		dots := r == '.' && len(b) > 0 && b[len(b)-1] == '.'
		if r < 0x80 && nameByte(byte(r)) && !dots { // #nosec G115 -- r < 0x80, checked first
			b = append(b, byte(r)) // #nosec G115 -- r < 0x80, checked above
		} else {
			b = append(b, '_')
			changed = true
		}
	}
	out := strings.Trim(string(b), ".")
	if len(out) != len(b) {
		changed = true
	}
	if len(out) > max {
		out, changed = strings.TrimRight(out[:max], "."), true
	}
	return out, changed
}

func nameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '.' || c == '_' || c == '-' || c == '+' || c == '@'
}

// attachmentFileName is the name of an attachment inside rsmf.zip, which is
// also its manifest id. The prefix (journal seq and position) makes it
// unique; the cleaned name keeps its extension because reviewers and tools
// go by it.
func attachmentFileName(seq uint64, n int, name string) string {
	ext, _ := cleanName(path.Ext(name), 16)
	if ext != "" {
		ext = "." + ext
	}
	base, _ := cleanName(strings.TrimSuffix(name, path.Ext(name)), 80)
	if base == "" {
		base = "attachment"
	}
	return uitoa(seq) + "-" + itoa(n) + "-" + base + ext
}

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:4])
}

// addressPart turns an identifier into something a mail address can carry:
// a local part or a DNS label. Addresses are synthetic
// (<id>@<channel>.onrecord.invalid, as in the eml export): chat identities
// are phone numbers and user ids, not mailboxes, and .invalid (RFC 2606)
// means nothing can ever be sent to them.
func addressPart(s string, label bool, fallback string) string {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		c := byte('-')
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-':
			c = byte(r) // #nosec G115 -- an ASCII letter, digit or '-', matched by the case
		case r >= 'A' && r <= 'Z':
			c = byte(r)
			if label {
				c += 'a' - 'A'
			}
		case !label && (r == '+' || r == '_'):
			c = byte(r)
		}
		b = append(b, c)
	}
	out := strings.Trim(string(b), "-")
	if len(out) > 63 {
		out = strings.Trim(out[:63], "-")
	}
	if out == "" {
		return fallback
	}
	return out
}
