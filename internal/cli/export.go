package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/onrecord/onrecord/internal/archive"
	"github.com/onrecord/onrecord/internal/export"
	"github.com/onrecord/onrecord/internal/export/eml"
	"github.com/onrecord/onrecord/internal/export/jsonl"
	"github.com/onrecord/onrecord/internal/export/loadfile"
	"github.com/onrecord/onrecord/internal/export/rsmf"
	"github.com/onrecord/onrecord/internal/export/transcript"
	"github.com/onrecord/onrecord/internal/index"
	"github.com/onrecord/onrecord/internal/search"
	"github.com/onrecord/onrecord/verify"
)

// exportFormat builds a format's writer for a production.
type exportFormat struct {
	summary string
	writer  func(p exportParams) export.Writer
}

// exportParams are what a format may need beyond the items.
type exportParams struct {
	loc         *time.Location
	custodian   string
	batesPrefix string
	batesStart  int
	now         func() time.Time
}

// exportFormats are the formats `onrecord export --format` knows.
func exportFormats() map[string]exportFormat {
	return map[string]exportFormat{
		"jsonl": {"canonical events, one per line (what `onrecord import` reads)", func(exportParams) export.Writer { return jsonl.Write }},
		"eml": {"one RFC 5322 message per record, threaded, attachments as MIME parts", func(p exportParams) export.Writer {
			return func(dir string, items []export.Item) ([]export.File, error) {
				return eml.Write(dir, items, eml.Options{Location: p.loc})
			}
		}},
		"html": {"human-readable transcripts, one self-contained HTML file per conversation", func(p exportParams) export.Writer {
			return func(dir string, items []export.Item) ([]export.File, error) {
				return transcript.WriteHTML(dir, items, transcript.Options{Location: p.loc, BatesPrefix: p.batesPrefix, BatesStart: p.batesStart, Now: p.now})
			}
		}},
		"pdf": {"transcripts as PDF, page numbers and a production number on every page", func(p exportParams) export.Writer {
			return func(dir string, items []export.Item) ([]export.File, error) {
				// Pages are numbered apart from records: PREFIX-P00000001.
				pdfs, err := transcript.WritePDF(dir, items, transcript.Options{Location: p.loc, BatesPrefix: p.batesPrefix + "-P", BatesStart: 1, Now: p.now})
				if err != nil {
					return nil, err
				}
				files := make([]export.File, len(pdfs))
				for i, f := range pdfs {
					files[i] = f.File
				}
				return files, nil
			}
		}},
		"dat":  {"load files (Concordance DAT, CSV, EDRM XML 1.2) with EML natives", loadFiles},
		"csv":  {"the same as dat (the CSV is among the load files)", loadFiles},
		"edrm": {"the same as dat (the EDRM XML is among the load files)", loadFiles},
		"rsmf": {"RSMF 2.0, one .rsmf per conversation and day (Relativity and other review platforms)", func(p exportParams) export.Writer {
			return func(dir string, items []export.Item) ([]export.File, error) {
				return rsmf.Write(dir, items, rsmf.Options{Location: p.loc, Custodian: p.custodian, Now: p.now})
			}
		}},
	}
}

// loadFiles writes EML natives and the load files that point at them.
func loadFiles(p exportParams) export.Writer {
	return func(dir string, items []export.Item) ([]export.File, error) {
		natives, err := eml.Write(dir, items, eml.Options{Location: p.loc})
		if err != nil {
			return nil, err
		}
		paths, err := loadfile.PathsOf(natives)
		if err != nil {
			return nil, err
		}
		lf, err := loadfile.Write(dir, items, loadfile.Options{Location: p.loc, Custodian: p.custodian, Natives: paths})
		if err != nil {
			return nil, err
		}
		return append(natives, lf...), nil
	}
}

func formatNames() string {
	var names []string
	for n := range exportFormats() {
		names = append(names, n)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

func (m *Main) export(ctx context.Context, args []string) int {
	fs, load := m.flags("export", "--query Q --format F --out DIR [--zone Z] [--bates-prefix P] [--bates-start N]")
	q := fs.String("query", "", "what to produce, in the search language (every match and the records that refer to it)")
	format := fs.String("format", "jsonl", "the format: "+formatNames())
	out := fs.String("out", "", "the export directory (must not exist, or be empty)")
	zone := fs.String("zone", "UTC", "time zone for dates in the query and in the produced documents")
	custodian := fs.String("custodian", "", "the custodian named in the production (RSMF)")
	prefix := fs.String("bates-prefix", "ONR", "production number prefix")
	start := fs.Int("bates-start", 1, "first production number")
	cfg, code, ok := m.parse(fs, load, args)
	if !ok {
		return code
	}
	f, known := exportFormats()[*format]
	if strings.TrimSpace(*q) == "" || *out == "" || !known {
		fmt.Fprintf(m.Stderr, "Usage: onrecord export --query Q --format F --out DIR\n  formats: %s\n", formatNames())
		return ExitUsage
	}
	loc, err := time.LoadLocation(*zone)
	if err != nil {
		fmt.Fprintf(m.Stderr, "onrecord: --zone %q: %v\n", *zone, err)
		return ExitUsage
	}
	query, err := search.Parse(*q, loc)
	if err != nil {
		fmt.Fprintf(m.Stderr, "onrecord: query: %v\n", err)
		return ExitUsage
	}
	a, err := archive.Open(ctx, archive.Options{Config: cfg, Logger: m.logger(cfg), Warn: m.Stderr})
	if err != nil {
		return m.fail(err)
	}
	defer a.Close()
	ix, _, err := openIndex(ctx, a, cfg.DataDir)
	if err != nil {
		return m.fail(err)
	}
	positions, err := ix.Matches(ctx, query, nil)
	ix.Close()
	if err != nil {
		if errors.Is(err, index.ErrNoCustodians) {
			return m.fail(fmt.Errorf("custodian: needs the directory, which exports do not read yet: %w", err))
		}
		return m.fail(err)
	}
	seqs := make([]uint64, len(positions))
	for i, p := range positions {
		seqs[i] = p - 1 // index positions are seq + 1
	}
	progress := func(done, total int) {
		fmt.Fprintf(m.Stderr, "\r%s %d/%d records", bar(done, total, 30), done, total)
	}
	man, err := export.Produce(ctx, a, seqs, *out, f.writer(exportParams{loc: loc, custodian: *custodian, batesPrefix: *prefix, batesStart: *start, now: time.Now}), export.Options{
		Format: *format, Query: query.String(), Zone: *zone, By: whoami(), BatesPrefix: *prefix, BatesStart: *start,
		Origin: cfg.LogOrigin, Progress: progress})
	fmt.Fprintln(m.Stderr)
	if err != nil {
		return m.fail(err)
	}
	fmt.Fprintf(m.Stdout, "exported %d records (%d attachments, %d withheld) as %s into %s: %d files",
		man.Counts.Records, man.Counts.Attachments, man.Counts.Withheld, *format, *out, man.Counts.Files)
	if man.BatesFirst != "" {
		fmt.Fprintf(m.Stdout, ", %s–%s", man.BatesFirst, man.BatesLast)
	}
	fmt.Fprintf(m.Stdout, "\ncheck it with: onrecord verify-export %s\n", *out)
	return ExitOK
}

// bar draws a progress bar of width cells.
func bar(done, total, width int) string {
	n := width
	if total > 0 {
		n = done * width / total
	}
	return "[" + strings.Repeat("#", n) + strings.Repeat(".", width-n) + "]"
}

func (m *Main) verifyExport(ctx context.Context, args []string) int {
	fs, _ := m.flags("verify-export", "[--key FILE] [--json] DIR")
	keyFile := fs.String("key", "", "the log's verifier key from an independent copy (default: the copy in the bundle)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
		fmt.Fprintln(m.Stderr, "Usage: onrecord verify-export [--key FILE] [--json] DIR")
		return ExitUsage
	}
	var key string
	if *keyFile != "" {
		b, err := os.ReadFile(*keyFile)
		if err != nil {
			return m.fail(err)
		}
		key = string(b)
	}
	rep, err := verify.Export(fs.Arg(0), key)
	if err != nil {
		return m.fail(err)
	}
	if *asJSON {
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		enc.Encode(rep)
	} else {
		fmt.Fprintf(m.Stdout, "%s export: %d records, %d files; log %s at %d records; key from %s (SHA-256 %s)\n",
			rep.Format, rep.Records, rep.Files, rep.LogOrigin, rep.LogSize, rep.KeySource, rep.KeySHA256)
		for _, p := range rep.SortedProblems() {
			fmt.Fprintln(m.Stdout, "FAIL", p)
		}
		if rep.OK {
			fmt.Fprintln(m.Stdout, "OK: every record is in the log and unchanged, every file matches the manifest the archive recorded")
		}
	}
	if !rep.OK {
		return ExitFailure
	}
	return ExitOK
}
