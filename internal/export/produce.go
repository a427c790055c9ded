package export

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
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
//
// From the archive (a Source that can also Disclose and prove in
// batches), each record is read once, in journal order, and decrypted on
// every CPU, and the proofs are computed together, sharing their nodes;
// any other Source is read record by record. Every file is fsynced before
// the manifest is written, so format writers need not sync their own.
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

	loaded, err := load(ctx, src, seqs, opts.Progress)
	if err != nil {
		return nil, err
	}
	items := make([]Item, 0, len(seqs))
	disclosed := make(map[uint64]*archive.Disclosure, len(seqs))
	for i, seq := range seqs {
		d := &loaded[i]
		if d.Err != nil {
			// A disposed record or one that is not an event is accounted
			// for, not silently skipped.
			m.Withheld = append(m.Withheld, verify.Withheld{Seq: seq, Reason: d.Err.Error()})
			continue
		}
		disclosed[seq] = d
		bates := opts.BatesPrefix + fmt.Sprintf("%08d", opts.BatesStart+len(items))
		items = append(items, Item{Seq: seq, Event: d.Event, Bates: bates})
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
	mb, err := encodeManifest(m)
	if err != nil {
		return nil, fmt.Errorf("encode manifest: %w", err)
	}
	if err := writeFile(filepath.Join(dir, verify.ManifestFile), mb); err != nil {
		return nil, err
	}
	ms := sha256.Sum256(mb)

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
	proved := make([]uint64, 0, len(items)+1)
	for _, it := range items {
		proved = append(proved, it.Seq)
	}
	proofs, err := inclusionProofs(src, append(proved, res.Seq), parsed.Size)
	if err != nil {
		return nil, err
	}
	b.Records = make([]verify.BundleRecord, 0, len(items))
	for i, it := range items {
		var env, key []byte
		if d := disclosed[it.Seq]; d != nil {
			env, key = d.Envelope, d.RecordKey
		}
		if env == nil {
			if env, err = src.Envelope(it.Seq); err != nil {
				return nil, err
			}
		}
		if changed[it.Seq] {
			key = nil
		} else if key == nil {
			if key, err = src.RecordKey(it.Seq); err != nil {
				return nil, err
			}
		}
		b.Records = append(b.Records, verify.BundleRecord{Seq: it.Seq, Envelope: env, RecordKey: key, Inclusion: proofs[i]})
	}
	b.Export = verify.BundleRecord{Seq: res.Seq, Inclusion: proofs[len(items)]}
	if b.Export.Envelope, err = src.Envelope(res.Seq); err != nil {
		return nil, err
	}
	if b.Export.RecordKey, err = src.RecordKey(res.Seq); err != nil {
		return nil, err
	}
	bb, err := encodeBundle(&b)
	if err != nil {
		return nil, fmt.Errorf("encode proof bundle: %w", err)
	}
	if err := durable.MkdirAll(filepath.Join(dir, "proof")); err != nil {
		return nil, err
	}
	if err := writeFile(filepath.Join(dir, filepath.FromSlash(verify.BundleFile)), bb); err != nil {
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
//
// It also makes the files durable: each is fsynced as it is hashed, many
// at a time (the file system commits concurrent fsyncs together, where one
// after the other each waits for its own commit), then the directories
// beneath dir. Writers therefore need not sync their files one by one.
func hashFiles(dir string, files []File) ([]verify.ManifestEntry, error) {
	carried := map[string][]uint64{}
	for _, f := range files {
		carried[f.Path] = append(carried[f.Path], f.Items...)
	}
	var rels, subdirs []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != dir {
				subdirs = append(subdirs, p)
			}
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rels = append(rels, rel)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("hash export files: %w", err)
	}
	out := make([]verify.ManifestEntry, len(rels))
	errs := make([]error, len(rels))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(hashWorkers, len(rels)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < len(rels); i = int(next.Add(1) - 1) {
				rel := filepath.ToSlash(rels[i])
				size, sum, err := hashSync(filepath.Join(dir, rels[i]))
				if err != nil {
					errs[i] = fmt.Errorf("hash %s: %w", rel, err)
					continue
				}
				out[i] = verify.ManifestEntry{Path: rel, Size: size, SHA256: sum, Records: carried[rel]}
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("hash export files: %w", err)
	}
	for _, sub := range subdirs {
		if err := durable.SyncDir(sub); err != nil {
			return nil, err
		}
	}
	listed := make(map[string]bool, len(out))
	for _, e := range out {
		listed[e.Path] = true
	}
	for p := range carried {
		if !listed[p] {
			return nil, fmt.Errorf("the writer reported %s but it is not in %s", p, dir)
		}
	}
	return out, nil
}

// hashWorkers is how many files hashFiles reads and syncs at a time; more
// than the CPUs, since most of a sync is waiting for the disk.
const hashWorkers = 16

// hashSync returns a file's size and SHA-256 (hex) and fsyncs it.
func hashSync(path string) (int64, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return 0, "", err
	}
	if err := f.Sync(); err != nil {
		return 0, "", err
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

func writeFile(path string, b []byte) error {
	if _, err := durable.CreateFile(path, b); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	return nil
}
