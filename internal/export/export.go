// Package export produces records for people outside the archive:
// eDiscovery platforms (RSMF, load files), mail tools (EML), readers
// (HTML/PDF transcripts) and another onrecord (JSONL). The format packages
// beneath it are pure encoders over decrypted items; this package holds
// what they share, and the pipeline that selects records, writes the
// manifest and attaches the proofs.
package export

import (
	"cmp"
	"slices"

	"github.com/onrecord/onrecord"
)

// Item is one record going into a production: its journal position, the
// decrypted event (attachments with Data filled in, or Error saying why
// not), and the production (Bates) number assigned to it.
type Item struct {
	Seq   uint64
	Event *onrecord.Event
	Bates string
}

// File is one file a format wrote, relative to the export directory
// (slash-separated), with the items it carries.
type File struct {
	Path  string
	Items []uint64 // Seq of every item the file carries
}

// Conversations groups items by channel and conversation, each group in
// sent order (then journal order), the groups ordered by their first item.
func Conversations(items []Item) [][]Item {
	type key struct{ channel, conv string }
	idx := map[key]int{}
	var groups [][]Item
	for _, it := range items {
		k := key{it.Event.Channel, it.Event.Conversation}
		i, ok := idx[k]
		if !ok {
			i = len(groups)
			idx[k] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], it)
	}
	for _, g := range groups {
		slices.SortStableFunc(g, func(a, b Item) int {
			if c := a.Event.SentAt.Compare(b.Event.SentAt); c != 0 {
				return c
			}
			return cmp.Compare(a.Seq, b.Seq)
		})
	}
	slices.SortStableFunc(groups, func(a, b []Item) int {
		if c := a[0].Event.SentAt.Compare(b[0].Event.SentAt); c != 0 {
			return c
		}
		return cmp.Compare(a[0].Seq, b[0].Seq)
	})
	return groups
}
