// Package transcript writes human-readable transcripts of conversations:
// one self-contained HTML file, or one PDF, per conversation, laid out
// like a chat, for reviewers, examiners and courts.
//
// A transcript shows every record of the production and hides nothing a
// record said: an edited message shows each version with the original
// first, a deleted message keeps its content under a "deleted" mark,
// reactions and statuses show both their current state and their
// history, and records whose message is not in the production are shown
// where they happened. Each message carries its Bates number; each PDF
// page carries its own in the footer. The structure comes from
// internal/thread; both formats render the same view of it, so they say
// the same things.
//
// Output is deterministic: the same items and options give the same
// bytes, which lets a production be regenerated and compared.
package transcript

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/onrecord/onrecord/internal/export"
)

// Options control a transcript.
type Options struct {
	// Location is the time zone every time is shown in, with its
	// abbreviation; nil means UTC. Use a named zone (time.LoadLocation) so
	// that daylight-saving changes within the conversation are right.
	Location *time.Location
	// BatesPrefix and BatesStart number PDF pages: the first page of the
	// first file is BatesPrefix + BatesStart zero-padded to BatesDigits
	// digits, and numbering continues across files. BatesStart 0 means 1.
	BatesPrefix string
	BatesStart  int
	// BatesDigits is the zero-padded width of page numbers; 0 means 8,
	// the width export.Produce gives record numbers.
	BatesDigits int
	// Title heads every transcript; "" means "Conversation transcript".
	Title string
	// Now is when the production is made, shown in the header and set as
	// the PDF's creation date; nil means time.Now. Fix it for
	// reproducible output.
	Now func() time.Time
}

// withDefaults validates o and fills in the defaults.
func (o Options) withDefaults() (Options, error) {
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.BatesStart < 0 {
		return o, fmt.Errorf("bates start %d: must be 0 or more", o.BatesStart)
	}
	if o.BatesStart == 0 {
		o.BatesStart = 1
	}
	if o.BatesDigits < 0 || o.BatesDigits > 18 {
		return o, fmt.Errorf("bates digits %d: must be between 1 and 18 (0 for the default, 8)", o.BatesDigits)
	}
	if o.BatesDigits == 0 {
		o.BatesDigits = 8
	}
	if o.Title == "" {
		o.Title = "Conversation transcript"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	// One production has one time: every file states the same.
	now := o.Now()
	o.Now = func() time.Time { return now }
	return o, nil
}

func (o Options) bates(n int) string {
	return fmt.Sprintf("%s%0*d", o.BatesPrefix, o.BatesDigits, n)
}

// conversations checks the items and groups them by conversation.
func conversations(items []export.Item) ([][]export.Item, error) {
	for _, it := range items {
		if it.Event == nil {
			return nil, fmt.Errorf("item %d has no event: decrypt it before exporting", it.Seq)
		}
	}
	return export.Conversations(items), nil
}

// fileName names the i-th conversation's file. The channel and
// conversation id come from outside (a phone number, a Slack channel id)
// and are reduced to characters safe in any file system; the index keeps
// names unique when two ids reduce to the same characters.
func fileName(i int, group []export.Item, ext string) string {
	ev := group[0].Event
	return fmt.Sprintf("%04d-%s-%s.%s", i+1, safeName(ev.Channel), safeName(ev.Conversation), ext)
}

func safeName(s string) string {
	var b strings.Builder
	for _, r := range s {
		if b.Len() >= 48 {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "none"
	}
	return b.String()
}

func seqs(group []export.Item) []uint64 {
	out := make([]uint64, len(group))
	for i, it := range group {
		out[i] = it.Seq
	}
	return out
}

// writeFile writes a transcript readable by its owner only: it holds
// decrypted message content.
func writeFile(dir, name string, data []byte) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create export directory: %w", err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		return fmt.Errorf("write transcript %s: %w", name, err)
	}
	return nil
}
