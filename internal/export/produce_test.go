package export_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/archive"
	"github.com/onrecord/onrecord/internal/config"
	"github.com/onrecord/onrecord/internal/export"
	"github.com/onrecord/onrecord/internal/export/formats"
	"github.com/onrecord/onrecord/internal/export/jsonl"
	"github.com/onrecord/onrecord/internal/export/redact"
	"github.com/onrecord/onrecord/internal/importer"
	"github.com/onrecord/onrecord/internal/index"
	"github.com/onrecord/onrecord/internal/search"
	"github.com/onrecord/onrecord/verify"
)

func openArchive(t *testing.T) *archive.Archive {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	a, err := archive.Open(t.Context(), archive.Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// loadCorpus imports testdata/corpus.jsonl and returns the archive.
func loadCorpus(t *testing.T) *archive.Archive {
	t.Helper()
	a := openArchive(t)
	f, err := os.Open("testdata/corpus.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sum := importer.ImportJSONL(t.Context(), f, a, importer.Options{Workers: 1})
	if sum.Stored != 8 || sum.Invalid != 0 || sum.Failed != nil {
		t.Fatalf("corpus import: %+v %v", sum, sum.Errors)
	}
	return a
}

func all(a *archive.Archive) []uint64 {
	var seqs []uint64
	for s := range a.Len() {
		seqs = append(seqs, s)
	}
	return seqs
}

func produce(t *testing.T, a *archive.Archive, seqs []uint64) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "export")
	m, err := export.Produce(t.Context(), a, seqs, dir, jsonl.Write, export.Options{Format: "jsonl", Query: "test", Zone: "UTC", By: "tester",
		Origin: config.Default().LogOrigin, Now: func() time.Time { return time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	if m.Counts.Records != len(seqs) || m.Counts.Attachments != 1 || m.BatesFirst != "ONR00000001" {
		t.Fatalf("manifest counts %+v, first %s", m.Counts, m.BatesFirst)
	}
	return dir
}

func mustVerify(t *testing.T, dir string) *verify.ExportReport {
	t.Helper()
	rep, err := verify.Export(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestProduce_FreshExportVerifies(t *testing.T) {
	a := loadCorpus(t)
	dir := produce(t, a, all(a))
	rep := mustVerify(t, dir)
	if !rep.OK || !rep.ManifestOK || rep.Records != 8 {
		t.Fatalf("fresh export: %+v", rep)
	}
	// The export is on the record.
	last, err := a.Get(a.Len() - 1)
	if err != nil {
		t.Fatal(err)
	}
	if last.Subtype != verify.ExportSubtype || last.Sender.ID != "tester" || last.Meta["records"] != "8" {
		t.Fatalf("export record: %+v", last)
	}
	// A trusted key that is not the log's fails the checkpoint.
	if rep, _ := verify.Export(dir, "other+12345678+AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="); rep == nil || rep.OK {
		t.Fatal("a wrong trusted key verified")
	}
}

// TestVerifyExport_FailsOnAnyChange changes one thing at a time in a copy
// of a fresh export and expects the verdict to name it.
func TestVerifyExport_FailsOnAnyChange(t *testing.T) {
	a := loadCorpus(t)
	src := produce(t, a, all(a))
	for _, tc := range []struct {
		name   string
		change func(dir string) error
		want   string // a problem naming this
	}{
		{"one byte of a file", func(d string) error { return flipByte(filepath.Join(d, jsonl.FileName), 40) }, "events.jsonl: changed"},
		{"file removed", func(d string) error { return os.Remove(filepath.Join(d, jsonl.FileName)) }, "events.jsonl: missing"},
		{"file added", func(d string) error { return os.WriteFile(filepath.Join(d, "extra.txt"), []byte("x"), 0o600) }, "extra.txt: not in the manifest"},
		{"manifest edited", func(d string) error {
			return replaceIn(filepath.Join(d, verify.ManifestFile), `"exported_by": "tester"`, `"exported_by": "someone"`)
		}, "manifest.json: its SHA-256 is not the one"},
		{"records swapped in the bundle", func(d string) error {
			return replaceIn(filepath.Join(d, filepath.FromSlash(verify.BundleFile)), `"seq": 1,`, `"seq": 2,`)
		}, "record 1"},
		{"checkpoint changed", func(d string) error {
			return replaceIn(filepath.Join(d, filepath.FromSlash(verify.BundleFile)), `\n9\n`, `\n8\n`)
		}, "checkpoint does not verify"},
		{"line content changed and rehashed", func(d string) error {
			// A forger who also fixes the manifest's hash still fails:
			// the manifest is committed in the log.
			return rewriteLine(d)
		}, "events.jsonl line 4: not the content of record 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "copy")
			if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
				t.Fatal(err)
			}
			if err := tc.change(dir); err != nil {
				t.Fatal(err)
			}
			rep := mustVerify(t, dir)
			if rep.OK {
				t.Fatal("verified after the change")
			}
			if !slices.ContainsFunc(rep.Problems, func(p string) bool { return strings.Contains(p, tc.want) }) {
				t.Fatalf("problems %q do not name %q", rep.Problems, tc.want)
			}
		})
	}
}

func flipByte(path string, i int) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	b[i] ^= 1
	return os.WriteFile(path, b, 0o600)
}

func replaceIn(path, old, new string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if !bytes.Contains(b, []byte(old)) {
		return os.ErrNotExist
	}
	return os.WriteFile(path, bytes.Replace(b, []byte(old), []byte(new), 1), 0o600)
}

func rewriteLine(dir string) error {
	p := filepath.Join(dir, jsonl.FileName)
	if err := replaceIn(p, "I guarantee the allocation", "I expect the allocation"); err != nil {
		return err
	}
	// Fix up the manifest's hash and size for the changed file.
	mp := filepath.Join(dir, verify.ManifestFile)
	mb, err := os.ReadFile(mp)
	if err != nil {
		return err
	}
	var m verify.Manifest
	if err := json.Unmarshal(mb, &m); err != nil {
		return err
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(data)
	for i := range m.Files {
		if m.Files[i].Path == jsonl.FileName {
			m.Files[i].SHA256, m.Files[i].Size = hex.EncodeToString(sum[:]), int64(len(data))
		}
	}
	mb, err = json.MarshalIndent(&m, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(mp, append(mb, '\n'), 0o600)
}

// TestProduce_JSONLReimportsIdentically exports everything as JSONL,
// imports it into a fresh archive, and compares content and search
// results.
func TestProduce_JSONLReimportsIdentically(t *testing.T) {
	a := loadCorpus(t)
	dir := produce(t, a, all(a))
	b := openArchive(t)
	f, err := os.Open(filepath.Join(dir, jsonl.FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if sum := importer.ImportJSONL(t.Context(), f, b, importer.Options{Workers: 1}); sum.Stored != 8 || sum.Invalid != 0 {
		t.Fatalf("re-import: %+v %v", sum, sum.Errors)
	}
	for s := range uint64(8) {
		ea, _ := a.Get(s)
		eb, _ := b.Get(s)
		for _, ev := range []*onrecord.Event{ea, eb} {
			for i := range ev.Attachments {
				data, err := a.Attachment(t.Context(), &ev.Attachments[i])
				if ev == eb {
					data, err = b.Attachment(t.Context(), &ev.Attachments[i])
				}
				if err != nil {
					t.Fatal(err)
				}
				ev.Attachments[i].Data = data
			}
		}
		ca, _ := verify.ComparableEvent(ea)
		cb, _ := verify.ComparableEvent(eb)
		if !bytes.Equal(ca, cb) {
			t.Fatalf("record %d differs after re-import:\n%s\n%s", s, ca, cb)
		}
	}
	queries := []string{`"term sheet"`, "guarantee", "channel:slack", "kind:edit OR kind:reaction", "has:attachment", "from:15550102030", `after:2026-03-02`}
	if !slices.Equal(searchAll(t, a, queries), searchAll(t, b, queries)) {
		t.Fatal("search results differ after re-import")
	}
}

func searchAll(t *testing.T, a *archive.Archive, queries []string) []string {
	t.Helper()
	ix, err := index.Open(t.TempDir(), a.IndexKey())
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	var entries []index.Entry
	for s := range a.Len() {
		ev, err := a.Get(s)
		if err != nil || ev.Channel == archive.SystemChannel {
			ev = nil
		}
		entries = append(entries, index.Entry{Seq: s + 1, Event: ev})
	}
	if err := ix.AddBatch(context.Background(), entries); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, q := range queries {
		parsed, err := search.Parse(q, time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		res, err := ix.Search(t.Context(), parsed, index.SearchOptions{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, h := range res.Hits {
			ev, _ := a.Get(h.Seq - 1)
			ids = append(ids, ev.ProviderID)
		}
		out = append(out, q+" → "+strings.Join(ids, ","))
	}
	return out
}

// TestProduce_RedactedReleaseHidesTheOriginal: a FOIA release redacts the
// produced copy; the proof bundle then proves the record is in the log
// without disclosing the key that opens the original, and the export
// still verifies.
func TestProduce_RedactedReleaseHidesTheOriginal(t *testing.T) {
	a := loadCorpus(t)
	dir := filepath.Join(t.TempDir(), "release")
	const secret = "I guarantee the allocation"
	_, err := export.Produce(t.Context(), a, all(a), dir, jsonl.Write, export.Options{Format: "jsonl", Query: "release", By: "foia officer",
		Redact: func(dir string, items []export.Item) ([]export.Item, map[uint64]bool, []export.File, error) {
			var spans []redact.Span
			for _, it := range items {
				if i := strings.Index(it.Event.Body, secret); i >= 0 {
					spans = append(spans, redact.Span{Seq: it.Seq, Field: "body", Start: i, End: i + len(secret), Code: "(b)(4)"})
				}
			}
			out, log, err := redact.Apply(items, redact.Options{Spans: spans})
			if err != nil {
				return nil, nil, nil, err
			}
			changed := map[uint64]bool{}
			for _, e := range log {
				changed[e.Seq] = true
			}
			files, err := redact.WriteLog(dir, log)
			return out, changed, files, err
		}})
	if err != nil {
		t.Fatal(err)
	}
	if rep := mustVerify(t, dir); !rep.OK {
		t.Fatalf("redacted release does not verify: %v", rep.Problems)
	}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if b, _ := os.ReadFile(p); bytes.Contains(b, []byte(secret)) {
				t.Errorf("%s holds the redacted text", p)
			}
		}
		return nil
	})
	var b verify.Bundle
	bb, _ := os.ReadFile(filepath.Join(dir, filepath.FromSlash(verify.BundleFile)))
	json.Unmarshal(bb, &b)
	withheld := 0
	for _, r := range b.Records {
		if len(r.RecordKey) == 0 {
			withheld++
		}
	}
	if withheld != 1 {
		t.Fatalf("%d record keys withheld, want 1 (the redacted record)", withheld)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, jsonl.FileName)); !bytes.Contains(b, []byte("[REDACTED (b)(4)]")) {
		t.Fatal("no exemption code burned in")
	}
}

// onlySource hides what the archive offers beyond Source (reading and
// proving many records at once), so Produce takes its record-by-record path.
type onlySource struct{ export.Source }

func TestProduce_AnySourceGivesAVerifiableExport(t *testing.T) {
	a := loadCorpus(t)
	seqs := all(a)
	for _, src := range []export.Source{a, onlySource{a}} {
		dir := filepath.Join(t.TempDir(), "export")
		if _, err := export.Produce(t.Context(), src, seqs, dir, jsonl.Write, export.Options{Format: "jsonl", Query: "test", By: "tester"}); err != nil {
			t.Fatal(err)
		}
		if rep := mustVerify(t, dir); !rep.OK || rep.Records != 8 {
			t.Fatalf("%T: %+v", src, rep)
		}
	}
}

// TestVerifyExport_NamesTheChangedFileOfEveryFormat: formats that write
// many files (a file per record, per conversation and day) are checked
// file by file.
func TestVerifyExport_NamesTheChangedFileOfEveryFormat(t *testing.T) {
	a := loadCorpus(t)
	for _, name := range []string{"eml", "rsmf", "html", "dat"} {
		t.Run(name, func(t *testing.T) {
			f, ok := formats.Get(name)
			if !ok {
				t.Fatalf("no format %s", name)
			}
			src := filepath.Join(t.TempDir(), "export")
			w := f.Writer(formats.Params{Location: time.UTC, Custodian: "tester", BatesPrefix: "ONR", BatesStart: 1, Now: time.Now})
			m, err := export.Produce(t.Context(), a, all(a), src, w, export.Options{Format: name, Query: "test", By: "tester"})
			if err != nil {
				t.Fatal(err)
			}
			if rep := mustVerify(t, src); !rep.OK || len(m.Files) < 2 {
				t.Fatalf("fresh export: %+v (%d files)", rep, len(m.Files))
			}
			victim := m.Files[len(m.Files)/2].Path
			for change, want := range map[string]string{"flip": victim + ": changed", "remove": victim + ": missing"} {
				dir := filepath.Join(t.TempDir(), change)
				if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
					t.Fatal(err)
				}
				p := filepath.Join(dir, filepath.FromSlash(victim))
				if change == "flip" {
					err = flipByte(p, 10)
				} else {
					err = os.Remove(p)
				}
				if err != nil {
					t.Fatal(err)
				}
				rep := mustVerify(t, dir)
				if rep.OK || !slices.ContainsFunc(rep.Problems, func(p string) bool { return strings.Contains(p, want) }) {
					t.Fatalf("%s %s: problems %q do not name it", change, victim, rep.Problems)
				}
			}
		})
	}
}

// TestProduce_BlobsExportWhole: a record keeps a payload over
// archive.RawInline, a text over archive.BodyInline, recipients over
// archive.RecipientsInline and a roster over archive.RosterInline as a
// blob; the
// export has it whole, inline, and verifies against the record, and a
// change to it is found.
func TestProduce_BlobsExportWhole(t *testing.T) {
	raw := []byte(`{"update_id":1,"pad":"` + strings.Repeat("p", 3*archive.RawInline) + `"}`)
	body := strings.Repeat("档案记录 ", 8_000)
	var roster []onrecord.GroupMember
	var recipients []onrecord.Party
	for i := range 2000 {
		roster = append(roster, onrecord.GroupMember{Address: fmt.Sprintf("U%07d", i), Person: fmt.Sprintf("person-%d", i), Name: fmt.Sprintf("Trader %d", i)})
		recipients = append(recipients, onrecord.Party{ID: fmt.Sprintf("U%07d", i), Name: fmt.Sprintf("Dealer %d", i)})
	}
	cases := []struct {
		name string
		ev   onrecord.Event
		// stored says the record keeps the field as a blob; exported, that
		// the line has it whole.
		stored, exported func(*onrecord.Event) bool
		// old and new are a change to the line's text the verifier must find.
		old, new string
	}{
		{"payload", onrecord.Event{Kind: onrecord.KindUnparsed, ProviderID: "sha256:big", Conversation: "unparsed", Raw: raw},
			func(ev *onrecord.Event) bool { return ev.RawBlob != nil },
			func(ev *onrecord.Event) bool { return bytes.Equal(ev.Raw, raw) && ev.RawBlob == nil },
			base64.StdEncoding.EncodeToString(raw[:30]), base64.StdEncoding.EncodeToString([]byte(`{"update_id":2,"pad":"pppppppp`))},
		{"text", onrecord.Event{Kind: onrecord.KindMessage, ProviderID: "1.2", Conversation: "C1", Body: body},
			func(ev *onrecord.Event) bool { return ev.BodyBlob == nil && ev.Body == body },
			func(ev *onrecord.Event) bool { return ev.Body == body && ev.BodyBlob == nil },
			"档案记录 档案", "档案记录 档桉"},
		{"roster", onrecord.Event{Kind: onrecord.KindMessage, ProviderID: "1.3", Conversation: "C2", Body: "desk update", Group: true,
			Capture: &onrecord.Capture{GroupID: "grp-desk", Roster: roster}},
			func(ev *onrecord.Event) bool {
				return ev.Capture.RosterBlob == nil && slices.Equal(ev.Capture.Roster, roster)
			},
			func(ev *onrecord.Event) bool {
				return ev.Capture != nil && ev.Capture.RosterBlob == nil && slices.Equal(ev.Capture.Roster, roster)
			},
			`"name":"Trader 1999"`, `"name":"Trader 1998"`},
		{"recipients", onrecord.Event{Kind: onrecord.KindMessage, ProviderID: "1.4", Conversation: "C2", Body: "desk update", Group: true,
			Recipients: recipients},
			func(ev *onrecord.Event) bool {
				return ev.RecipientsBlob == nil && slices.Equal(ev.Recipients, recipients)
			},
			func(ev *onrecord.Event) bool {
				return ev.RecipientsBlob == nil && slices.Equal(ev.Recipients, recipients)
			},
			`"name":"Dealer 1999"`, `"name":"Dealer 1998"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := openArchive(t)
			ev := tc.ev
			ev.Channel, ev.Direction, ev.Sender, ev.SentAt = "telegram", onrecord.Inbound, onrecord.Party{ID: "unknown"}, time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
			if _, err := a.Append(t.Context(), &ev); err != nil {
				t.Fatal(err)
			}
			if env, err := a.Envelope(0); err != nil || len(env) > 65535 {
				t.Fatalf("record of %d bytes (%v): not kept as a blob", len(env), err)
			}
			if stored, err := a.Get(0); err != nil || !tc.stored(stored) {
				t.Fatalf("the record read back: %v", err)
			}
			dir := filepath.Join(t.TempDir(), "export")
			if _, err := export.Produce(t.Context(), a, []uint64{0}, dir, jsonl.Write, export.Options{Format: "jsonl", Query: "test", By: "tester"}); err != nil {
				t.Fatal(err)
			}
			line, err := os.ReadFile(filepath.Join(dir, jsonl.FileName))
			if err != nil {
				t.Fatal(err)
			}
			var got onrecord.Event
			if err := json.Unmarshal(line, &got); err != nil || !tc.exported(&got) {
				t.Fatalf("exported line of %d bytes (%v) does not have the %s whole", len(line), err, tc.name)
			}
			if rep := mustVerify(t, dir); !rep.OK {
				t.Fatalf("export with a blob does not verify: %+v", rep)
			}
			if err := replaceIn(filepath.Join(dir, jsonl.FileName), tc.old, tc.new); err != nil {
				t.Fatal(err)
			}
			if rep, _ := verify.Export(dir, ""); rep == nil || rep.OK {
				t.Fatalf("a changed %s verified", tc.name)
			}
		})
	}
}
