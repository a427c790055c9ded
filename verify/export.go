package verify

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/onrecord/onrecord"
)

// The files every export directory holds besides what its format wrote.
const (
	ManifestFile = "manifest.json"
	BundleFile   = "proof/bundle.json"
	// ExportSubtype is the subtype of the system record that commits the
	// archive to an export's manifest.
	ExportSubtype = "access.export"
)

// Manifest describes an export: what was asked, by whom, and every file
// and record in it. Its SHA-256 is committed in the archive's log by the
// export's own record, so it cannot be changed after the fact.
type Manifest struct {
	Version    int              `json:"version"`
	Format     string           `json:"format"`
	Query      string           `json:"query"`
	Zone       string           `json:"zone"`
	ExportedBy string           `json:"exported_by"`
	ExportedAt time.Time        `json:"exported_at"`
	LogOrigin  string           `json:"log_origin"`
	BatesFirst string           `json:"bates_first,omitempty"`
	BatesLast  string           `json:"bates_last,omitempty"`
	Counts     ManifestCounts   `json:"counts"`
	Records    []ManifestRecord `json:"records"`
	// Withheld are selected records that could not be produced (disposed
	// by retention, or not events), with why.
	Withheld []Withheld      `json:"withheld,omitempty"`
	Files    []ManifestEntry `json:"files"`
}

// ManifestCounts are the export's totals.
type ManifestCounts struct {
	Records     int `json:"records"`
	Attachments int `json:"attachments"`
	Files       int `json:"files"`
	Withheld    int `json:"withheld"`
}

// ManifestRecord is one produced record.
type ManifestRecord struct {
	Seq          uint64               `json:"seq"`
	ID           string               `json:"id"`
	Bates        string               `json:"bates"`
	Channel      string               `json:"channel"`
	Kind         string               `json:"kind"`
	Conversation string               `json:"conversation"`
	SentAt       time.Time            `json:"sent_at"`
	Attachments  []ManifestAttachment `json:"attachments,omitempty"`
	// Redacted says the produced copy differs from the record (released
	// with redactions): the bundle proves the record is in the log but
	// does not disclose its key, which would open the original.
	Redacted bool `json:"redacted,omitempty"`
}

// ManifestAttachment is an attachment of a produced record.
type ManifestAttachment struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256,omitempty"`
	Error  string `json:"error,omitempty"`
}

// Withheld is a selected record left out of the production.
type Withheld struct {
	Seq    uint64 `json:"seq"`
	Reason string `json:"reason"`
}

// ManifestEntry is one file of the export, relative to its directory.
type ManifestEntry struct {
	Path    string   `json:"path"`
	Size    int64    `json:"size"`
	SHA256  string   `json:"sha256"`
	Records []uint64 `json:"records,omitempty"`
}

// Bundle is proof/bundle.json: what shows that every produced record is
// what the archive's log committed to.
type Bundle struct {
	// Checkpoint is the signed checkpoint (C2SP signed note) every proof
	// is against; VerifierKey the log's public key as the archive
	// publishes it (log/verifier.key). Check it against a copy obtained
	// independently: pass that copy to Export.
	Checkpoint  string         `json:"checkpoint"`
	VerifierKey string         `json:"verifier_key"`
	Records     []BundleRecord `json:"records"`
	// Export is the record of the export itself, whose metadata carries
	// the manifest's SHA-256.
	Export BundleRecord `json:"export_record"`
}

// BundleRecord discloses one record: its envelope as the journal holds it,
// the per-record key that opens it (and no other), and its inclusion
// proof at the bundle's checkpoint.
type BundleRecord struct {
	Seq       uint64   `json:"seq"`
	Envelope  []byte   `json:"envelope"`
	RecordKey []byte   `json:"record_key"`
	Inclusion [][]byte `json:"inclusion"`
}

// ExportReport is the verdict on an export directory.
type ExportReport struct {
	OK         bool     `json:"ok"`
	Format     string   `json:"format"`
	Records    int      `json:"records"`
	Files      int      `json:"files"`
	LogOrigin  string   `json:"log_origin"`
	LogSize    uint64   `json:"log_size"`
	KeySource  string   `json:"key_source"`
	KeySHA256  string   `json:"verifier_key_sha256"`
	ManifestOK bool     `json:"manifest_committed"`
	Problems   []string `json:"problems,omitempty"`
}

// Export checks an export directory offline: the checkpoint's signature,
// the manifest committed by the export's record, every record's inclusion
// and content, every file's size and SHA-256, and that no file was added
// or removed. trustedKey, when not empty, is the log's verifier key from
// an independent source and is used instead of the bundle's copy. Every
// problem found is reported, each naming the file or record.
func Export(dir, trustedKey string) (*ExportReport, error) {
	rep := &ExportReport{}
	bad := func(format string, a ...any) { rep.Problems = append(rep.Problems, fmt.Sprintf(format, a...)) }
	// The manifest and the bundle are read and decoded side by side: for
	// a large export, decoding the bundle is much of the work.
	var (
		b      Bundle
		bundle = make(chan error, 1)
	)
	go func() {
		bb, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(BundleFile)))
		if err != nil {
			bundle <- fmt.Errorf("read %s: %w", BundleFile, err)
			return
		}
		if err := json.Unmarshal(bb, &b); err != nil {
			bundle <- fmt.Errorf("%s: %w", BundleFile, err)
			return
		}
		bundle <- nil
	}()
	mb, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		<-bundle
		return nil, fmt.Errorf("read %s: %w", ManifestFile, err)
	}
	var m Manifest
	if err := json.Unmarshal(mb, &m); err != nil {
		<-bundle
		return nil, fmt.Errorf("%s: %w", ManifestFile, err)
	}
	rep.Format, rep.Records, rep.Files = m.Format, len(m.Records), len(m.Files)
	if err := <-bundle; err != nil {
		return nil, err
	}
	key := strings.TrimSpace(b.VerifierKey)
	rep.KeySource = "bundle (compare its SHA-256 with the archive's published log/verifier.key)"
	if trustedKey != "" {
		key, rep.KeySource = strings.TrimSpace(trustedKey), "given"
	}
	ks := sha256.Sum256([]byte(key))
	rep.KeySHA256 = hex.EncodeToString(ks[:])
	cp, err := ParseCheckpoint([]byte(b.Checkpoint), key)
	if err != nil {
		bad("%s: checkpoint does not verify: %v", BundleFile, err)
		return rep, nil
	}
	rep.LogOrigin, rep.LogSize = cp.Origin, cp.Size
	if m.LogOrigin != "" && m.LogOrigin != cp.Origin {
		bad("%s: log origin %q, checkpoint is of %q", ManifestFile, m.LogOrigin, cp.Origin)
	}

	// The manifest is the one the archive recorded.
	ms := sha256.Sum256(mb)
	if ev, err := openDisclosed(&b.Export, cp); err != nil {
		bad("export record %d: %v", b.Export.Seq, err)
	} else if ev.Subtype != ExportSubtype || ev.Meta["manifest_sha256"] != hex.EncodeToString(ms[:]) {
		bad("%s: its SHA-256 is not the one the export's record %d committed to (changed after export)", ManifestFile, b.Export.Seq)
	} else {
		rep.ManifestOK = true
	}

	// Every produced record is in the log and is what the manifest says.
	// Which manifest entry each bundle record answers is settled first, in
	// order (a seq listed twice has one proof); then the records are
	// opened and checked on every CPU, and their problems reported in
	// manifest order.
	disclosed := map[uint64]*onrecord.Event{}
	inBundle := map[uint64]*BundleRecord{}
	for i := range b.Records {
		inBundle[b.Records[i].Seq] = &b.Records[i]
	}
	proofs := make([]*BundleRecord, len(m.Records))
	for i, mr := range m.Records {
		if proofs[i] = inBundle[mr.Seq]; proofs[i] != nil {
			delete(inBundle, mr.Seq)
		}
	}
	opened := make([]*onrecord.Event, len(m.Records))
	found := make([][]string, len(m.Records))
	parallel(len(m.Records), func(i int) {
		opened[i], found[i] = checkRecord(&m.Records[i], proofs[i], cp)
	})
	for i, mr := range m.Records {
		rep.Problems = append(rep.Problems, found[i]...)
		if opened[i] != nil {
			disclosed[mr.Seq] = opened[i]
		}
	}
	for seq := range inBundle {
		bad("%s: record %d is not in the manifest", BundleFile, seq)
	}

	// Every file is there, unchanged, and nothing was added.
	listed := map[string]bool{ManifestFile: true, BundleFile: true}
	fileProblems := make([][]string, len(m.Files))
	for i, f := range m.Files {
		if !fs.ValidPath(f.Path) || strings.HasPrefix(f.Path, "proof/") {
			fileProblems[i] = []string{fmt.Sprintf("%s: file path %q is not a plain relative path", ManifestFile, f.Path)}
			continue
		}
		listed[f.Path] = true
	}
	parallel(len(m.Files), func(i int) {
		if fileProblems[i] == nil {
			fileProblems[i] = checkFile(dir, m.Format, m.Files[i], disclosed)
		}
	})
	for _, p := range fileProblems {
		rep.Problems = append(rep.Problems, p...)
	}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel = filepath.ToSlash(rel); !listed[rel] {
			bad("%s: not in the manifest (added after export)", rel)
		}
		return nil
	})
	rep.OK = len(rep.Problems) == 0
	return rep, nil
}

// checkRecord checks one produced record against its bundle record br
// (nil if the bundle has none) and returns the record's event if it was
// disclosed and opened, and the problems found.
func checkRecord(mr *ManifestRecord, br *BundleRecord, cp *Checkpoint) (*onrecord.Event, []string) {
	var problems []string
	bad := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	if br == nil {
		bad("record %d (%s): no proof in %s", mr.Seq, mr.Bates, BundleFile)
		return nil, problems
	}
	if mr.Redacted {
		if len(br.RecordKey) > 0 {
			bad("record %d (%s): redacted, yet its key is disclosed (it opens the original)", mr.Seq, mr.Bates)
		}
		if err := Inclusion(br.Envelope, br.Seq, br.Inclusion, cp); err != nil {
			bad("record %d (%s): %v", mr.Seq, mr.Bates, err)
		}
		return nil, problems
	}
	ev, err := openDisclosed(br, cp)
	if err != nil {
		bad("record %d (%s): %v", mr.Seq, mr.Bates, err)
		return nil, problems
	}
	if ev.ID != mr.ID || ev.Channel != mr.Channel || string(ev.Kind) != mr.Kind || ev.Conversation != mr.Conversation {
		bad("record %d (%s): the manifest's id/channel/kind/conversation differ from the record", mr.Seq, mr.Bates)
	}
	if len(ev.Attachments) != len(mr.Attachments) {
		bad("record %d (%s): %d attachments in the manifest, %d in the record", mr.Seq, mr.Bates, len(mr.Attachments), len(ev.Attachments))
		return ev, problems
	}
	for i, a := range ev.Attachments {
		if want := attachmentSHA(&a); mr.Attachments[i].SHA256 != want {
			bad("record %d (%s): attachment %d's SHA-256 is not the record's", mr.Seq, mr.Bates, i)
		}
	}
	return ev, problems
}

// checkFile checks one listed file's presence, size and SHA-256, and a
// JSONL file's lines against the disclosed records.
func checkFile(dir, format string, f ManifestEntry, disclosed map[uint64]*onrecord.Event) []string {
	data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Path)))
	if err != nil {
		return []string{fmt.Sprintf("%s: missing (%v)", f.Path, err)}
	}
	sum := sha256.Sum256(data)
	if int64(len(data)) != f.Size || hex.EncodeToString(sum[:]) != f.SHA256 {
		return []string{fmt.Sprintf("%s: changed (SHA-256 or size differs from the manifest)", f.Path)}
	}
	if format == "jsonl" && path.Ext(f.Path) == ".jsonl" {
		return compareJSONL(f, data, disclosed)
	}
	return nil
}

// parallel calls fn(i) for every i in [0, n) on every CPU.
func parallel(n int, fn func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				fn(i)
			}
		}()
	}
	wg.Wait()
}

// openDisclosed checks a disclosed record's inclusion at cp and opens it.
func openDisclosed(br *BundleRecord, cp *Checkpoint) (*onrecord.Event, error) {
	if err := Inclusion(br.Envelope, br.Seq, br.Inclusion, cp); err != nil {
		return nil, err
	}
	pt, err := OpenRecord(br.Envelope, br.RecordKey)
	if err != nil {
		return nil, fmt.Errorf("does not open with its disclosed key: %w", err)
	}
	var ev onrecord.Event
	if err := json.Unmarshal(pt, &ev); err != nil {
		return nil, fmt.Errorf("is not an event: %w", err)
	}
	return &ev, nil
}

// attachmentSHA is the SHA-256 a record commits to for an attachment:
// the blob's, or that of data kept inline by older records.
func attachmentSHA(a *onrecord.Attachment) string {
	if a.SHA256 != "" || len(a.Data) == 0 {
		return a.SHA256
	}
	s := sha256.Sum256(a.Data)
	return hex.EncodeToString(s[:])
}

// ComparableEvent is the form in which a JSONL export line and the record
// it came from are compared: without what the archive adds (id, capture
// time), and with attachments, the provider's payload, the text, the
// recipients and a group's roster by digest (a record keeps a large
// payload, a long text or a long list as a blob — RawBlob, BodyBlob,
// RecipientsBlob, Capture.RosterBlob — where the line has it inline).
func ComparableEvent(ev *onrecord.Event) ([]byte, error) {
	c := *ev
	c.ID, c.CapturedAt = "", time.Time{}
	c.Attachments = nil
	for _, a := range ev.Attachments {
		sum := attachmentSHA(&a)
		if len(a.Data) > 0 {
			s := sha256.Sum256(a.Data)
			sum = hex.EncodeToString(s[:])
		}
		c.Attachments = append(c.Attachments, onrecord.Attachment{Name: a.Name, ContentType: a.ContentType, Ref: a.Ref, Error: a.Error, SHA256: sum})
	}
	switch {
	case ev.RawBlob != nil:
		c.Raw, c.RawBlob = nil, &onrecord.Attachment{Name: "raw", SHA256: attachmentSHA(ev.RawBlob)}
	case len(ev.Raw) > 0:
		s := sha256.Sum256(ev.Raw)
		c.Raw, c.RawBlob = nil, &onrecord.Attachment{Name: "raw", SHA256: hex.EncodeToString(s[:])}
	}
	switch {
	case ev.BodyBlob != nil:
		c.Body, c.BodyBlob = "", &onrecord.Attachment{Name: "body", SHA256: attachmentSHA(ev.BodyBlob)}
	case ev.Body != "":
		s := sha256.Sum256([]byte(ev.Body))
		c.Body, c.BodyBlob = "", &onrecord.Attachment{Name: "body", SHA256: hex.EncodeToString(s[:])}
	}
	var err error
	if c.Recipients, c.RecipientsBlob, err = listDigest(ev.Recipients, ev.RecipientsBlob); err != nil {
		return nil, err
	}
	if ev.Capture != nil {
		cp := *ev.Capture
		if cp.Roster, cp.RosterBlob, err = listDigest(cp.Roster, cp.RosterBlob); err != nil {
			return nil, err
		}
		c.Capture = &cp
	}
	return json.Marshal(&c)
}

// listDigest is a list's comparable form: the digest of the blob a record
// keeps it in, or of its JSON array as encoding/json writes it, which is
// what such a blob holds.
func listDigest[T any](items []T, kept *onrecord.Attachment) ([]T, *onrecord.Attachment, error) {
	switch {
	case kept != nil:
		return nil, &onrecord.Attachment{SHA256: attachmentSHA(kept)}, nil
	case len(items) > 0:
		b, err := json.Marshal(items)
		if err != nil {
			return nil, nil, err
		}
		s := sha256.Sum256(b)
		return nil, &onrecord.Attachment{SHA256: hex.EncodeToString(s[:])}, nil
	}
	return nil, nil, nil
}

// compareJSONL checks that line i of a JSONL file is the record the
// manifest lists as the file's i-th, with the same content.
func compareJSONL(f ManifestEntry, data []byte, disclosed map[uint64]*onrecord.Event) []string {
	var problems []string
	lines := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
	if len(data) == 0 {
		lines = nil
	}
	if len(lines) != len(f.Records) {
		return []string{fmt.Sprintf("%s: %d lines for %d records", f.Path, len(lines), len(f.Records))}
	}
	// Lines are decoded on every CPU; problems are reported in line order.
	found := make([]string, len(lines))
	parallel(len(lines), func(i int) {
		rec := disclosed[f.Records[i]]
		if rec == nil {
			return // reported with the record
		}
		var ev onrecord.Event
		if err := json.Unmarshal(lines[i], &ev); err != nil {
			found[i] = fmt.Sprintf("%s line %d: %v", f.Path, i+1, err)
			return
		}
		got, err1 := ComparableEvent(&ev)
		want, err2 := ComparableEvent(rec)
		if err := errors.Join(err1, err2); err != nil || !bytes.Equal(got, want) {
			found[i] = fmt.Sprintf("%s line %d: not the content of record %d", f.Path, i+1, f.Records[i])
		}
	})
	for _, p := range found {
		if p != "" {
			problems = append(problems, p)
		}
	}
	return problems
}

// SortedProblems returns the report's problems in a stable order.
func (r *ExportReport) SortedProblems() []string {
	p := slices.Clone(r.Problems)
	slices.Sort(p)
	return p
}
