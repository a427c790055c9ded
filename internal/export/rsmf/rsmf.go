package rsmf

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/export"
)

// Dir is the directory, under the export directory, the files are written to.
const Dir = "rsmf"

// Split values for Options.SplitBy.
const (
	SplitDay  = "day"
	SplitNone = "none"
)

// DefaultMaxBytes is the attachment size past which a file is split when
// Options.MaxBytes is 0. Relativity refuses RSMFs over 2 GB and slows down
// long before; 50 MiB keeps files quick to process and to review.
const DefaultMaxBytes = 50 << 20

// Options control how conversations are cut into files and labelled.
type Options struct {
	// SplitBy is SplitDay (the default when empty): one file per
	// conversation and calendar day in Location; or SplitNone: one file per
	// conversation.
	SplitBy string
	// MaxBytes splits a file into parts when the attachments it carries
	// would exceed it; 0 means DefaultMaxBytes. A single message whose
	// attachments exceed it gets a part of its own.
	MaxBytes int64
	// Location is the zone days are cut in and the summary and Date header
	// are written in; nil means UTC. Manifest timestamps are UTC.
	Location *time.Location
	// Custodian names whose data this is (X-RSMF-Custodian). When it is
	// also the id of a participant, the manifest names that participant as
	// each conversation's custodian.
	Custodian string
	// Generator is X-RSMF-Generator; empty means "onrecord".
	Generator string
	// Now stamps X-RSMF-ExportDate; nil means time.Now.
	Now func() time.Time
}

func (o *Options) defaults() error {
	switch o.SplitBy {
	case "":
		o.SplitBy = SplitDay
	case SplitDay, SplitNone:
	default:
		return fmt.Errorf("split %q: use %q or %q", o.SplitBy, SplitDay, SplitNone)
	}
	if o.MaxBytes < 0 {
		return fmt.Errorf("max bytes %d: must be 0 (default %d) or more", o.MaxBytes, DefaultMaxBytes)
	}
	if o.MaxBytes == 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.Generator == "" {
		o.Generator = "onrecord"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return nil
}

// Write writes the items as .rsmf files under dir/rsmf, one or more per
// conversation (see the package doc), and returns the files in order:
// conversations by their first item, then by day and part. Every item is
// carried by exactly one file. It fails, writing nothing, if an item has no
// event, two items share a seq, or the options are not valid. A file that
// cannot be written leaves no partial file behind; the files written before
// it are returned with the error.
func Write(dir string, items []export.Item, opts Options) ([]export.File, error) {
	if err := opts.defaults(); err != nil {
		return nil, fmt.Errorf("rsmf: %w", err)
	}
	seen := make(map[uint64]bool, len(items))
	for _, it := range items {
		if it.Event == nil {
			return nil, fmt.Errorf("rsmf: item seq %d has no event", it.Seq)
		}
		// Seq names attachment files and the records a file carries.
		if seen[it.Seq] {
			return nil, fmt.Errorf("rsmf: item seq %d appears twice", it.Seq)
		}
		seen[it.Seq] = true
	}
	out := filepath.Join(dir, Dir)
	// Exports hold decrypted records: readable by the exporting user only.
	if err := os.MkdirAll(out, 0o700); err != nil {
		return nil, fmt.Errorf("rsmf: create %s: %w", out, err)
	}
	// Files are created through a Root so that no name, however it was
	// built, can reach outside the export directory.
	root, err := os.OpenRoot(out)
	if err != nil {
		return nil, fmt.Errorf("rsmf: open %s: %w", out, err)
	}
	defer root.Close()

	exported := opts.Now()
	// Names are given in order (they depend on the names before them);
	// the files are then built, rendered and written on every CPU.
	type planned struct {
		name string
		sl   slice
	}
	var todo []planned
	used, written := map[string]bool{}, map[string]bool{} // lower-cased base and file names
	for _, conv := range export.Conversations(items) {
		cuts := plan(conv, opts)
		base := baseName(conv[0].Event, used)
		for _, sl := range cuts {
			name := base
			if opts.SplitBy == SplitDay {
				name += "_" + sl.day
			}
			if sl.parts > 1 {
				name += "_part" + itoa(sl.part)
			}
			// A conversation id can look like another's name with a day
			// or part appended ("ab_part2"); never write over a file.
			for i := 0; written[strings.ToLower(name)]; i++ {
				name += "-" + shortHash(fmt.Sprint(name, i))
			}
			written[strings.ToLower(name)] = true
			todo = append(todo, planned{name: name + ".rsmf", sl: sl})
		}
	}
	files := make([]export.File, len(todo))
	err = export.WriteFiles(root, len(todo), func(i int) (string, []byte, error) {
		f := build(todo[i].sl, opts, exported)
		files[i] = export.File{Path: Dir + "/" + todo[i].name, Items: f.seqs}
		var buf bytes.Buffer
		if err := f.encode(&buf); err != nil {
			return "", nil, err
		}
		return todo[i].name, buf.Bytes(), nil
	})
	if fe, ok := err.(*export.FileError); ok {
		return files[:fe.Index], fmt.Errorf("rsmf: write %s: %w", todo[fe.Index].name, fe.Err)
	}
	if err != nil {
		return nil, fmt.Errorf("rsmf: %w", err)
	}
	return files, nil
}

// baseName is <channel>_<conversation>, made safe, and distinct from every
// name already used in this production: two conversations whose names only
// differ in characters that were replaced, or in case (which some
// filesystems ignore), get a hash of their identity appended.
func baseName(e *onrecord.Event, used map[string]bool) string {
	base := safeName(e.Channel, 48) + "_" + safeName(e.Conversation, 64)
	for i := 0; used[strings.ToLower(base)]; i++ {
		base += "-" + shortHash(e.Channel+"\x00"+e.Conversation+"\x00"+itoa(i))
	}
	used[strings.ToLower(base)] = true
	return base
}

// unit is a manifest event in the making: the record it is rendered from,
// and the edits, deletes, reactions and statuses folded into it.
type unit struct {
	primary export.Item
	mods    []export.Item
	// size is the bytes of attachment the unit puts in the zip.
	size int64
}

// slice is what one file carries.
type slice struct {
	units       []*unit
	day         string // YYYY-MM-DD in Options.Location, when split by day
	part, parts int
	collection  string // eventcollectionid shared by a conversation's files
	group       bool   // the conversation is a group or channel
	groupName   string
}

// plan cuts one conversation (items in time order) into slices: modifiers
// folded into the message they target, units grouped by day, days split by
// attachment size.
func plan(conv []export.Item, opts Options) []slice {
	// The first message with a provider id is the one modifiers attach to;
	// a later duplicate is still exported, as a message of its own.
	first := map[string]*unit{}
	own := make([]*unit, len(conv))
	for i, it := range conv {
		e := it.Event
		if e.Kind == onrecord.KindMessage && e.ProviderID != "" && first[e.ProviderID] == nil {
			own[i] = &unit{primary: it}
			first[e.ProviderID] = own[i]
		}
	}
	var units []*unit
	for i, it := range conv {
		e := it.Event
		switch {
		case own[i] != nil:
			units = append(units, own[i])
		case isModifier(e.Kind) && e.Target != "" && first[e.Target] != nil:
			// Folded into the original even when it is dated before it
			// (clock skew between devices): the original is what it is about.
			t := first[e.Target]
			t.mods = append(t.mods, it)
		default:
			units = append(units, &unit{primary: it})
		}
	}
	for _, u := range units {
		u.size = itemSize(u.primary)
		for _, m := range u.mods {
			u.size += itemSize(m)
		}
	}

	head := conv[0].Event
	collection := "onrecord-" + hashHex(head.Channel + "\x00" + head.Conversation)[:32]
	group, groupName := false, ""
	for _, it := range conv {
		group = group || it.Event.Group
		if it.Event.GroupName != "" {
			groupName = it.Event.GroupName // the latest name the group had
		}
	}

	var days [][]*unit
	var dayKeys []string
	for _, u := range units {
		key := ""
		if opts.SplitBy == SplitDay {
			key = u.primary.Event.SentAt.In(opts.Location).Format(time.DateOnly)
		}
		if n := len(dayKeys); n == 0 || dayKeys[n-1] != key {
			days, dayKeys = append(days, nil), append(dayKeys, key)
		}
		days[len(days)-1] = append(days[len(days)-1], u)
	}

	var out []slice
	for i, d := range days {
		parts := splitBySize(d, opts.MaxBytes)
		for p, us := range parts {
			out = append(out, slice{units: us, day: dayKeys[i], part: p + 1, parts: len(parts),
				collection: collection, group: group, groupName: groupName})
		}
	}
	return out
}

// splitBySize keeps units in order and starts a new part when the next
// unit's attachments would take the part past max.
func splitBySize(units []*unit, max int64) [][]*unit {
	var parts [][]*unit
	var cur []*unit
	var size int64
	for _, u := range units {
		if len(cur) > 0 && size+u.size > max {
			parts, cur, size = append(parts, cur), nil, 0
		}
		cur = append(cur, u)
		size += u.size
	}
	return append(parts, cur)
}

func isModifier(k onrecord.EventKind) bool {
	switch k {
	case onrecord.KindEdit, onrecord.KindDelete, onrecord.KindReaction, onrecord.KindStatus:
		return true
	}
	return false
}

// itemSize is what an item puts in the zip: its fetched attachments, and
// the raw bytes of an unparsed delivery.
func itemSize(it export.Item) int64 {
	var n int64
	for _, a := range it.Event.Attachments {
		if a.Error == "" {
			n += int64(len(a.Data))
		}
	}
	if it.Event.Kind == onrecord.KindUnparsed {
		n += int64(len(it.Event.Raw))
	}
	return n
}

func hashHex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func itoa(n int) string     { return strconv.Itoa(n) }
func uitoa(n uint64) string { return strconv.FormatUint(n, 10) }

// sortedKeys gives map keys in a fixed order, so nothing in a file depends
// on map iteration.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
