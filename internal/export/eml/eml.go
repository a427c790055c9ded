// Package eml writes each export item as one RFC 5322 message, so that any
// mail tool or eDiscovery platform that ingests .eml files can read a chat
// production without knowing anything about WhatsApp, Slack or Signal.
//
// The mapping, and why:
//
//   - One message per item, edits, deletions, reactions and statuses
//     included: each is a record of its own in the archive and carries its
//     own Bates number, so it must be producible on its own. Each references
//     the message it is about (In-Reply-To/References), so mail clients
//     thread them under the original.
//   - Addresses are synthetic (<id>@<channel>.onrecord.invalid): chat
//     identities are phone numbers and user ids, not mailboxes, and the
//     .invalid top-level domain (RFC 2606) guarantees nothing is ever sent
//     to them. The display name carries the captured name.
//   - Message-ID is derived from (channel, provider id, kind), the event's
//     idempotency key, so the same record always gets the same id, and a
//     reference to an original can be computed even when the original is not
//     in this production.
//   - Everything the mail headers cannot say is in X-Onrecord-* headers
//     (seq, kind, channel, conversation, provider id, Bates, status...), so a
//     reviewer can get back from an .eml to the sealed record.
//   - Output is deterministic: the same items give the same bytes, so a
//     production can be reproduced and its hashes compared.
package eml

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/onrecord/onrecord/internal/export"
)

// Dir is the directory, under the export directory, the messages are written to.
const Dir = "eml"

// Options control how messages are written.
type Options struct {
	// Location is the zone Date headers are written in; nil means UTC.
	// The instant is the same either way; reviewers read the offset.
	Location *time.Location
}

// Write writes one message per item to dir/eml/<Bates or seq>.eml and
// returns the files in item order. It fails, writing nothing, if an item
// has no event or two items would get the same file name.
func Write(dir string, items []export.Item, opts Options) ([]export.File, error) {
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	names := make([]string, len(items))
	seen := map[string]uint64{}
	for i, it := range items {
		if it.Event == nil {
			return nil, fmt.Errorf("eml: item seq %d has no event", it.Seq)
		}
		name, err := fileName(it)
		if err != nil {
			return nil, fmt.Errorf("eml: item seq %d: %w", it.Seq, err)
		}
		if prev, dup := seen[name]; dup {
			return nil, fmt.Errorf("eml: items seq %d and seq %d would both be written to %s; give them distinct Bates numbers", prev, it.Seq, name)
		}
		seen[name] = it.Seq
		names[i] = name
	}
	th := newThreading(items)
	out := filepath.Join(dir, Dir)
	// Exports hold decrypted records: readable by the exporting user only.
	if err := os.MkdirAll(out, 0o700); err != nil {
		return nil, fmt.Errorf("eml: create %s: %w", out, err)
	}
	// Names are checked safe above; the Root keeps them under out anyway.
	root, err := os.OpenRoot(out)
	if err != nil {
		return nil, fmt.Errorf("eml: open %s: %w", out, err)
	}
	defer root.Close()
	err = export.WriteFiles(root, len(items), func(i int) (string, []byte, error) {
		b, err := encode(items[i], th, opts.Location)
		return names[i], b, err
	})
	if fe, ok := err.(*export.FileError); ok {
		if fe.Encoding {
			return nil, fmt.Errorf("eml: encode seq %d: %w", items[fe.Index].Seq, fe.Err)
		}
		return nil, fmt.Errorf("eml: write seq %d: %w", items[fe.Index].Seq, fe.Err)
	}
	if err != nil {
		return nil, fmt.Errorf("eml: %w", err)
	}
	files := make([]export.File, len(items))
	for i, it := range items {
		files[i] = export.File{Path: Dir + "/" + names[i], Items: []uint64{it.Seq}}
	}
	return files, nil
}

// fileName is <Bates>.eml, or <seq>.eml for an item without a Bates number.
// A Bates number is used as given when it is a safe file name; characters
// outside [A-Za-z0-9._-] are replaced with '_' rather than refused, since
// Bates prefixes are chosen by people ("ACME/2024 001"), and a collision this
// causes is caught by the caller.
func fileName(it export.Item) (string, error) {
	if it.Bates == "" {
		return strconv.FormatUint(it.Seq, 10) + ".eml", nil
	}
	b := []byte(it.Bates)
	for i, c := range b {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			b[i] = '_'
		}
	}
	if b[0] == '.' {
		// No hidden files, no "." or "..".
		b[0] = '_'
	}
	if len(b) > 200 {
		return "", errors.New("bates number is longer than 200 bytes")
	}
	return string(b) + ".eml", nil
}
