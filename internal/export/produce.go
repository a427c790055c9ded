package export

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/archive"
	"github.com/onrecord/onrecord/internal/durable"
	"github.com/onrecord/onrecord/verify"
)

// Source is the archive as an export reads it.
type Source interface {
	Get(seq uint64) (*onrecord.Event, error)
	Envelope(seq uint64) ([]byte, error)
	RecordKey(seq uint64) ([]byte, error)
	Attachment(ctx context.Context, att *onrecord.Attachment) ([]byte, error)
	AppendSystem(ctx context.Context, ev *onrecord.Event) (archive.Result, error)
	Checkpoint(ctx context.Context) ([]byte, error)
	InclusionProof(seq, size uint64) ([][]byte, error)
	VerifierKey() string
	Len() uint64
}

// Writer writes a format's files for items into dir and says which items
// each file carries.
type Writer func(dir string, items []Item) ([]File, error)

// Options describe a production.
type Options struct {
	Format string
	Query  string
	Zone   string
	By     string // who asked for it, as recorded
	// BatesPrefix and BatesStart number the produced records
	// (PREFIX00000001…); defaults "ONR" and 1.
	BatesPrefix string
	BatesStart  int
	Origin      string // the log's origin, for the manifest
	Now         func() time.Time
	// Progress, when set, is told how many of total records are loaded.
	Progress func(done, total int)
	// Redact, when set, turns the loaded items into the copy released
	// (FOIA): it writes its own log into dir and says which records it
	// changed. A changed record's key is not disclosed in the proof bundle
	// (it would open the original); its inclusion in the log still is.
	Redact func(dir string, items []Item) (redacted []Item, changed map[uint64]bool, files []File, err error)
}

// Produce writes a verifiable production of the records seqs into dir,
// which must not exist or be empty: the format's files, manifest.json,
// and proof/bundle.json. The export is itself recorded (who, query,
// counts, the manifest's SHA-256) before the proofs are made, so the
// checkpoint in the bundle commits to the manifest too.
func Produce(ctx context.Context, src Source, seqs []uint64, dir string, w Writer, opts Options) (*verify.Manifest, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.BatesPrefix == "" {
		opts.BatesPrefix = "ONR"
	}
	if opts.BatesStart <= 0 {
		opts.BatesStart = 1
	}
	if err := emptyDir(dir); err != nil {
		return nil, err
	}
	m := &verify.Manifest{Version: 1, Format: opts.Format, Query: opts.Query, Zone: opts.Zone,
		ExportedBy: opts.By, ExportedAt: opts.Now().UTC(), LogOrigin: opts.Origin}

	items := make([]Item, 0, len(seqs))
	for i, seq := range seqs {
		if opts.Progress != nil && (i%256 == 0 || i == len(seqs)-1) {
			opts.Progress(i+1, len(seqs))
		}
		ev, err := src.Get(seq)
		if err != nil {
			// A disposed record or one that is not an event is accounted
			// for, not silently skipped.
			m.Withheld = append(m.Withheld, verify.Withheld{Seq: seq, Reason: err.Error()})
			continue
		}
		for j := range ev.Attachments {
			data, err := src.Attachment(ctx, &ev.Attachments[j])
			if err != nil {
				return nil, fmt.Errorf("record %d attachment %d: %w", seq, j, err)
			}
			ev.Attachments[j].Data = data
		}
		bates := opts.BatesPrefix + fmt.Sprintf("%08d", opts.BatesStart+len(items))
		items = append(items, Item{Seq: seq, Event: ev, Bates: bates})
	}
	var changed map[uint64]bool
	var extra []File
	if opts.Redact != nil {
		var err error
		if items, changed, extra, err = opts.Redact(dir, items); err != nil {
			return nil, fmt.Errorf("redact: %w", err)
		}
	}
	for _, it := range items {
		ev := it.Event
		mr := verify.ManifestRecord{Seq: it.Seq, ID: ev.ID, Bates: it.Bates, Channel: ev.Channel, Kind: string(ev.Kind),
			Conversation: ev.Conversation, SentAt: ev.SentAt, Redacted: changed[it.Seq]}
		for _, a := range ev.Attachments {
			ma := verify.ManifestAttachment{Name: a.Name, Size: int64(len(a.Data)), SHA256: a.SHA256, Error: a.Error}
			if len(a.Data) > 0 {
				s := sha256.Sum256(a.Data)
				ma.SHA256 = hex.EncodeToString(s[:])
			}
			mr.Attachments = append(mr.Attachments, ma)
			m.Counts.Attachments++
		}
		m.Records = append(m.Records, mr)
	}
	if len(items) > 0 {
		m.BatesFirst, m.BatesLast = items[0].Bates, items[len(items)-1].Bates
	}
	files, err := w(dir, items)
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", opts.Format, err)
	}
	files = append(files, extra...)
	if m.Files, err = hashFiles(dir, files); err != nil {
		return nil, err
	}
	m.Counts.Records, m.Counts.Files, m.Counts.Withheld = len(m.Records), len(m.Files), len(m.Withheld)
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode manifest: %w", err)
	}
	if err := writeFile(filepath.Join(dir, verify.ManifestFile), append(mb, '\n')); err != nil {
		return nil, err
	}
	ms := sha256.Sum256(append(mb, '\n'))

	// The export on the record: from here on the manifest cannot change
	// without the change showing.
	now := opts.Now().UTC()
	res, err := src.AppendSystem(ctx, &onrecord.Event{Kind: onrecord.KindSystem, Subtype: verify.ExportSubtype,
		ProviderID: "export:" + now.Format(time.RFC3339Nano) + ":" + hex.EncodeToString(ms[:8]), Conversation: "access",
		Direction: onrecord.Outbound, Sender: onrecord.Party{ID: opts.By}, SentAt: now, Body: opts.Query,
		Meta: map[string]string{"format": opts.Format, "manifest_sha256": hex.EncodeToString(ms[:]),
			"records": strconv.Itoa(len(m.Records)), "files": strconv.Itoa(len(m.Files)), "withheld": strconv.Itoa(len(m.Withheld))}})
	if err != nil {
		return nil, fmt.Errorf("the export could not be recorded, so it is not valid: %w", err)
	}
	cp, err := src.Checkpoint(ctx)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	parsed, err := verify.ParseCheckpoint(cp, src.VerifierKey())
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	b := verify.Bundle{Checkpoint: string(cp), VerifierKey: src.VerifierKey()}
	disclose := func(seq uint64) (verify.BundleRecord, error) {
		env, err := src.Envelope(seq)
		if err != nil {
			return verify.BundleRecord{}, err
		}
		var key []byte
		if !changed[seq] {
			if key, err = src.RecordKey(seq); err != nil {
				return verify.BundleRecord{}, err
			}
		}
		proof, err := src.InclusionProof(seq, parsed.Size)
		if err != nil {
			return verify.BundleRecord{}, fmt.Errorf("inclusion proof of record %d: %w", seq, err)
		}
		return verify.BundleRecord{Seq: seq, Envelope: env, RecordKey: key, Inclusion: proof}, nil
	}
	for _, it := range items {
		br, err := disclose(it.Seq)
		if err != nil {
			return nil, err
		}
		b.Records = append(b.Records, br)
	}
	if b.Export, err = disclose(res.Seq); err != nil {
		return nil, err
	}
	bb, err := json.MarshalIndent(&b, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode proof bundle: %w", err)
	}
	if err := durable.MkdirAll(filepath.Join(dir, "proof")); err != nil {
		return nil, err
	}
	if err := writeFile(filepath.Join(dir, filepath.FromSlash(verify.BundleFile)), append(bb, '\n')); err != nil {
		return nil, err
	}
	return m, durable.SyncDir(dir)
}

// emptyDir creates dir, or accepts it if it exists and is empty: an export
// never mixes with files it did not write.
func emptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return durable.MkdirAll(dir)
	case err != nil:
		return fmt.Errorf("export directory: %w", err)
	case len(entries) > 0:
		return fmt.Errorf("export directory %s is not empty; choose a new one", dir)
	}
	return nil
}

// hashFiles lists every file under dir with its size and SHA-256 and the
// items the writer said it carries; a file the writer wrote but did not
// report is listed too, so nothing in the directory escapes the manifest.
func hashFiles(dir string, files []File) ([]verify.ManifestEntry, error) {
	carried := map[string][]uint64{}
	for _, f := range files {
		carried[f.Path] = append(carried[f.Path], f.Items...)
	}
	var out []verify.ManifestEntry
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		h := sha256.New()
		n, err := io.Copy(h, f)
		if err != nil {
			return fmt.Errorf("hash %s: %w", rel, err)
		}
		rel = filepath.ToSlash(rel)
		out = append(out, verify.ManifestEntry{Path: rel, Size: n, SHA256: hex.EncodeToString(h.Sum(nil)), Records: carried[rel]})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("hash export files: %w", err)
	}
	for p := range carried {
		if !slices.ContainsFunc(out, func(e verify.ManifestEntry) bool { return e.Path == p }) {
			return nil, fmt.Errorf("the writer reported %s but it is not in %s", p, dir)
		}
	}
	return out, nil
}

func writeFile(path string, b []byte) error {
	if _, err := durable.CreateFile(path, b); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	return nil
}
