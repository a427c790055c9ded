// Package loadfile writes eDiscovery load files for a production: the
// metadata review platforms (Relativity, Concordance, Nuix, Everlaw...)
// import alongside the natives and images another writer produced.
//
//   - DAT: Concordance delimited text, one record per item (dat.go; the
//     conventions and their sources are documented there). ReadDAT reads it
//     back, for the round-trip tests and for verifying a production.
//   - OPT: Opticon image cross-reference, one line per image file.
//   - XML: EDRM XML 1.2, the documents with their files, tags and links.
//   - CSV: the DAT's fields for spreadsheets, with formula injection
//     neutralised.
//
// The package reads the natives only to hash them; it never rewrites them.
// Output is deterministic: the same items and files give the same bytes.
package loadfile

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/export"
)

// Dir is the directory, under the export directory, the load files are
// written to. Paths inside them are relative to the export directory (the
// volume root), as productions conventionally have DATA\ beside NATIVES\.
const Dir = "loadfile"

// Options say what to put in the load files beyond the items themselves.
type Options struct {
	// Location is the zone SENTDATE and SENTTIME are given in; nil means
	// UTC. TIMEZONE names it on every record.
	Location *time.Location
	// Custodian is the person or mailbox the production is collected from.
	// Empty derives it per item: the organisation's side of the event, the
	// sender of an outbound event and the first recipient of an inbound one.
	Custodian string
	// Natives maps an item's Seq to its native file, relative to the export
	// directory, slash-separated, as export.File.Path. The file is hashed.
	Natives map[uint64]string
	// Texts maps an item's Seq to its extracted-text file, likewise.
	Texts map[uint64]string
	// Images maps a Bates number to the image or PDF of that document, for
	// the Opticon file. With none, no OPT file is written.
	Images map[string]Image
	// Volume is the Opticon volume name; may be empty.
	Volume string
	// Name is the load files' base name; empty means "production".
	Name string
	// WindowsPaths writes paths with backslashes, as Concordance and many
	// review platforms expect; otherwise they are slash-separated.
	WindowsPaths bool
}

// Image is the image file of one document: a multi-page PDF or TIFF.
type Image struct {
	Path  string // relative to the export directory, slash-separated
	Pages int    // page count, at least 1
}

// Fields are the DAT and CSV columns, in order. BEGATTACH/ENDATTACH give
// the family range: set only for an item carrying attachments, which are
// inside its native, so the family is the item itself.
var Fields = []string{
	"BEGBATES", "ENDBATES", "BEGATTACH", "ENDATTACH", "CUSTODIAN",
	"CHANNEL", "CONVERSATION", "GROUPNAME", "KIND", "DIRECTION",
	"FROM", "TO", "SENTDATE", "SENTTIME", "TIMEZONE",
	"PROVIDERID", "TARGET", "REPLYTO", "THREAD", "STATUS", "ATTACHMENTS",
	"RECORDID", "SEQ", "NATIVEPATH", "TEXTPATH", "FILESIZE", "SHA256HASH",
}

// Date and time formats of SENTDATE and SENTTIME: Concordance's date field
// type reads MM/DD/YYYY; time is 24-hour.
const (
	dateFormat = "01/02/2006"
	timeFormat = "15:04:05"
)

// native is what hashing a native file found.
type native struct {
	path      string
	size      int64
	sha       string // SHA-256, hex
	hasNative bool
}

// doc is one item ready for every format.
type doc struct {
	it     export.Item
	id     string // DocID: the Bates number, else SEQ-<seq>
	row    []string
	native native
	text   string
}

// Write writes dir/loadfile/<name>.dat, .csv and .xml for items, and
// <name>.opt when opts.Images is not empty, and returns them. It fails,
// writing nothing, if an item has no event, two items share a Bates number,
// a path is not a local relative path, a native cannot be read, or an
// image or native names an item that is not in the production.
func Write(dir string, items []export.Item, opts Options) ([]export.File, error) {
	docs, err := prepare(dir, items, opts)
	if err != nil {
		return nil, err
	}
	name := opts.Name
	if name == "" {
		name = "production"
	}
	if strings.ContainsAny(name, `/\`) || name == "." || name == ".." {
		return nil, fmt.Errorf("loadfile: name %q must be a plain file name", name)
	}
	seqs := make([]uint64, len(docs))
	for i, d := range docs {
		seqs[i] = d.it.Seq
	}
	type output struct {
		ext   string
		write func(io.Writer) error
		seqs  []uint64
	}
	outs := []output{
		{".dat", func(w io.Writer) error { return writeDAT(w, docs) }, seqs},
		{".csv", func(w io.Writer) error { return writeCSV(w, docs) }, seqs},
		{".xml", func(w io.Writer) error { return writeEDRM(w, docs, opts) }, seqs},
	}
	if len(opts.Images) > 0 {
		var imaged []uint64
		for _, d := range docs {
			if _, ok := opts.Images[d.it.Bates]; ok && d.it.Bates != "" {
				imaged = append(imaged, d.it.Seq)
			}
		}
		outs = append(outs, output{".opt", func(w io.Writer) error { return writeOPT(w, docs, opts) }, imaged})
	}
	// Validate everything before writing anything: render to memory first.
	rendered := make([][]byte, len(outs))
	for i, o := range outs {
		var b strings.Builder
		if err := o.write(&b); err != nil {
			return nil, fmt.Errorf("loadfile %s: %w", o.ext, err)
		}
		rendered[i] = []byte(b.String())
	}
	out := filepath.Join(dir, Dir)
	// Exports hold decrypted records: readable by the exporting user only.
	if err := os.MkdirAll(out, 0o700); err != nil {
		return nil, fmt.Errorf("loadfile: create %s: %w", out, err)
	}
	var files []export.File
	for i, o := range outs {
		if err := os.WriteFile(filepath.Join(out, name+o.ext), rendered[i], 0o600); err != nil {
			return nil, fmt.Errorf("loadfile: write %s: %w", name+o.ext, err)
		}
		files = append(files, export.File{Path: Dir + "/" + name + o.ext, Items: o.seqs})
	}
	return files, nil
}

// PathsOf maps every item of the files another writer returned to the
// file that carries it, ready for Options.Natives or Options.Texts. An item
// carried by two files has no single native, which is an error.
func PathsOf(files []export.File) (map[uint64]string, error) {
	m := map[uint64]string{}
	for _, f := range files {
		for _, seq := range f.Items {
			if prev, dup := m[seq]; dup {
				return nil, fmt.Errorf("loadfile: seq %d is in both %s and %s; which is its native?", seq, prev, f.Path)
			}
			m[seq] = f.Path
		}
	}
	return m, nil
}

// prepare checks the items and options and builds one doc per item.
func prepare(dir string, items []export.Item, opts Options) ([]doc, error) {
	loc := opts.Location
	if loc == nil {
		loc = time.UTC
	}
	bySeq := map[uint64]bool{}
	byBates := map[string]uint64{}
	for _, it := range items {
		if it.Event == nil {
			return nil, fmt.Errorf("loadfile: item seq %d has no event", it.Seq)
		}
		if bySeq[it.Seq] {
			return nil, fmt.Errorf("loadfile: seq %d appears twice", it.Seq)
		}
		bySeq[it.Seq] = true
		if it.Bates != "" {
			if prev, dup := byBates[it.Bates]; dup {
				return nil, fmt.Errorf("loadfile: items seq %d and seq %d share Bates number %q", prev, it.Seq, it.Bates)
			}
			byBates[it.Bates] = it.Seq
		}
	}
	// A path for an item that is not here means the production and its
	// natives disagree; say so rather than leave a file unaccounted for.
	for _, m := range []struct {
		what  string
		paths map[uint64]string
	}{{"native", opts.Natives}, {"text", opts.Texts}} {
		for _, seq := range slices.Sorted(maps.Keys(m.paths)) {
			if !bySeq[seq] {
				return nil, fmt.Errorf("loadfile: %s file %s is for seq %d, which is not in the production", m.what, m.paths[seq], seq)
			}
			if err := checkPath(m.paths[seq]); err != nil {
				return nil, fmt.Errorf("loadfile: %s file for seq %d: %w", m.what, seq, err)
			}
		}
	}
	for _, bates := range slices.Sorted(maps.Keys(opts.Images)) {
		if _, ok := byBates[bates]; !ok {
			return nil, fmt.Errorf("loadfile: image %s is for Bates %q, which is not in the production", opts.Images[bates].Path, bates)
		}
		if err := checkPath(opts.Images[bates].Path); err != nil {
			return nil, fmt.Errorf("loadfile: image for Bates %q: %w", bates, err)
		}
	}

	docs := make([]doc, 0, len(items))
	for _, it := range items {
		d := doc{it: it, id: it.Bates}
		if d.id == "" {
			d.id = "SEQ-" + strconv.FormatUint(it.Seq, 10)
		}
		if p, ok := opts.Natives[it.Seq]; ok {
			n, err := hashNative(dir, p)
			if err != nil {
				return nil, fmt.Errorf("loadfile: native of seq %d: %w", it.Seq, err)
			}
			d.native = n
		}
		d.text = opts.Texts[it.Seq]
		d.row = row(d, opts, loc)
		docs = append(docs, d)
	}
	return docs, nil
}

// checkPath accepts a relative, slash-separated path that stays inside the
// export directory: load files must not point a reviewer's tools elsewhere.
func checkPath(p string) error {
	if p == "" {
		return errors.New("empty path")
	}
	if strings.Contains(p, `\`) || !filepath.IsLocal(filepath.FromSlash(p)) {
		return fmt.Errorf("path %q must be relative, slash-separated and inside the export directory", p)
	}
	return nil
}

func hashNative(dir, p string) (native, error) {
	f, err := os.Open(filepath.Join(dir, filepath.FromSlash(p)))
	if err != nil {
		return native{}, fmt.Errorf("open: %w", err)
	}
	defer f.Close()
	// SHA-256 only. Review platforms have conventionally de-duplicated on
	// an MD5HASH field, but MD5 is broken (collisions are cheap to make),
	// the archive's security standard admits no MD5 anywhere, and the
	// platforms import a SHA-256 field and hash the natives themselves on
	// ingest when they want MD5.
	s := sha256.New()
	n, err := io.Copy(s, f)
	if err != nil {
		return native{}, fmt.Errorf("hash %s: %w", p, err)
	}
	return native{path: p, size: n, sha: hex.EncodeToString(s.Sum(nil)), hasNative: true}, nil
}

// row is the item's record, in Fields order.
func row(d doc, opts Options, loc *time.Location) []string {
	e, it := d.it.Event, d.it
	v := map[string]string{
		"BEGBATES":     it.Bates,
		"ENDBATES":     it.Bates,
		"CUSTODIAN":    custodian(e, opts.Custodian),
		"CHANNEL":      e.Channel,
		"CONVERSATION": e.Conversation,
		"GROUPNAME":    e.GroupName,
		"KIND":         string(e.Kind),
		"DIRECTION":    string(e.Direction),
		"FROM":         party(e.Sender),
		"PROVIDERID":   e.ProviderID,
		"TARGET":       e.Target,
		"REPLYTO":      e.ReplyTo,
		"THREAD":       e.Thread,
		"STATUS":       e.Status,
		"RECORDID":     e.ID,
		"SEQ":          strconv.FormatUint(it.Seq, 10),
		"NATIVEPATH":   osPath(d.native.path, opts.WindowsPaths),
		"TEXTPATH":     osPath(d.text, opts.WindowsPaths),
	}
	if len(e.Attachments) > 0 {
		v["BEGATTACH"], v["ENDATTACH"] = it.Bates, it.Bates
		var names []string
		for _, a := range e.Attachments {
			names = append(names, a.Name)
		}
		// ';' is the multi-value separator review platforms split on.
		v["ATTACHMENTS"] = strings.Join(names, "; ")
	}
	var to []string
	for _, p := range e.Recipients {
		to = append(to, party(p))
	}
	v["TO"] = strings.Join(to, "; ")
	if !e.SentAt.IsZero() {
		t := e.SentAt.In(loc)
		v["SENTDATE"], v["SENTTIME"] = t.Format(dateFormat), t.Format(timeFormat)
		v["TIMEZONE"] = zoneName(t)
	}
	if d.native.hasNative {
		v["FILESIZE"] = strconv.FormatInt(d.native.size, 10)
		v["SHA256HASH"] = d.native.sha
	}
	out := make([]string, len(Fields))
	for i, f := range Fields {
		out[i] = v[f]
	}
	return out
}

// zoneName names t's zone and its offset at t ("CET (UTC+01:00)"), since
// a zone name alone is ambiguous and an offset alone hides daylight saving.
func zoneName(t time.Time) string {
	name := t.Location().String()
	off := t.Format("-07:00")
	if name == "UTC" && off == "+00:00" {
		return "UTC"
	}
	return name + " (UTC" + off + ")"
}

// party is "Name <id>", or the id alone when there is no name.
func party(p onrecord.Party) string {
	if p.Name == "" {
		return p.ID
	}
	return p.Name + " <" + p.ID + ">"
}

// custodian is the given custodian, else the organisation's side of e.
func custodian(e *onrecord.Event, given string) string {
	if given != "" {
		return given
	}
	if e.Direction == onrecord.Inbound && len(e.Recipients) > 0 {
		return party(e.Recipients[0])
	}
	if e.Direction == onrecord.Outbound {
		return party(e.Sender)
	}
	return ""
}

func osPath(p string, windows bool) string {
	if windows {
		return strings.ReplaceAll(p, "/", `\`)
	}
	return p
}

// writeDAT writes the docs' records under the Fields header.
func writeDAT(w io.Writer, docs []doc) error {
	rows := make([][]string, len(docs))
	for i, d := range docs {
		rows[i] = d.row
	}
	return WriteDAT(w, Fields, rows)
}
