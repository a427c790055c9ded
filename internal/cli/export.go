package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/app"
	"github.com/onrecord/onrecord/internal/archive"
	"github.com/onrecord/onrecord/internal/export"
	"github.com/onrecord/onrecord/internal/export/formats"
	"github.com/onrecord/onrecord/internal/export/redact"
	"github.com/onrecord/onrecord/internal/index"
	"github.com/onrecord/onrecord/internal/search"
	"github.com/onrecord/onrecord/verify"
)

func formatNames() string { return strings.Join(formats.Names(), ", ") }

func (m *Main) export(ctx context.Context, args []string) int {
	fs, load := m.flags("export", "--query Q --format F --out DIR [--zone Z] [--bates-prefix P] [--bates-start N]")
	q := fs.String("query", "", "what to produce, in the search language (every match and the records that refer to it)")
	format := fs.String("format", "jsonl", "the format: "+formatNames())
	out := fs.String("out", "", "the export directory (must not exist, or be empty)")
	zone := fs.String("zone", "UTC", "time zone for dates in the query and in the produced documents")
	custodian := fs.String("custodian", "", "the custodian named in the production (RSMF)")
	prefix := fs.String("bates-prefix", "ONR", "production number prefix")
	start := fs.Int("bates-start", 1, "first production number")
	redactWhat := fs.String("redact", "", "release copy: comma-separated detectors to redact (ssn, card, iban, aba, email, phone, or *)")
	exemption := fs.String("exemption", "(b)(6)", "exemption code burned in where --redact redacts")
	spansFile := fs.String("redact-spans", "", "release copy: a JSON file of spans to redact [{seq, field, start, end, code, reason}]")
	withhold := fs.Bool("withhold-attachments", false, "release copy: withhold the attachments of redacted records")
	cfg, code, ok := m.parse(fs, load, args)
	if !ok {
		return code
	}
	f, known := formats.Get(*format)
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
	red := redact.Options{DropAttachments: *withhold}
	for _, d := range strings.Split(*redactWhat, ",") {
		if d = strings.TrimSpace(d); d != "" {
			red.Rules = append(red.Rules, redact.Rule{Detector: d, Code: *exemption})
		}
	}
	if *spansFile != "" {
		b, err := os.ReadFile(*spansFile)
		if err != nil {
			return m.fail(err)
		}
		if err := json.Unmarshal(b, &red.Spans); err != nil {
			return m.fail(onrecord.Errorf(onrecord.EINVALID, "--redact-spans %s: %v", *spansFile, err))
		}
	}
	if srv := m.server(ctx, cfg); srv != nil {
		return m.exportViaServer(ctx, srv, app.ExportRequest{Query: *q, Format: *format, Zone: *zone, Custodian: *custodian,
			BatesPrefix: *prefix, BatesStart: *start, Out: absPath(*out), Redaction: red})
	}
	a, err := archive.Open(ctx, archive.Options{Config: cfg, Logger: m.logger(cfg), Warn: m.Stderr})
	if err != nil {
		return m.fail(err)
	}
	defer a.Close()
	seqs, err := selectRecords(ctx, a, cfg.DataDir, query, archiveCustodians(a))
	if err != nil {
		if errors.As(err, new(*index.CustodianError)) {
			return m.fail(&onrecord.Error{Code: onrecord.EINVALID, Message: "query", Err: err})
		}
		return m.fail(err)
	}
	progress := func(done, total int) {
		fmt.Fprintf(m.Stderr, "\r%s %d/%d records", bar(done, total, 30), done, total)
	}
	man, err := export.Produce(ctx, a, seqs, *out, f.Writer(formats.Params{Location: loc, Custodian: *custodian, BatesPrefix: *prefix, BatesStart: *start, Now: time.Now}), export.Options{
		Format: *format, Query: query.String(), Zone: *zone, By: whoami(), BatesPrefix: *prefix, BatesStart: *start,
		Origin: cfg.LogOrigin, Progress: progress, Redact: redactHook(red)})
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

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// exportViaServer has the running server produce the export and follows
// its progress.
func (m *Main) exportViaServer(ctx context.Context, srv *localServer, req app.ExportRequest) int {
	var job app.ExportJob
	if code, err := srv.call(ctx, "POST", "/local/v1/exports", req, &job); err != nil {
		if code == 400 {
			fmt.Fprintf(m.Stderr, "onrecord: %v\n", err)
			return ExitUsage
		}
		return m.fail(err)
	}
	for job.State == "running" {
		fmt.Fprintf(m.Stderr, "\r%s %d/%d records", bar(job.Done, job.Total, 30), job.Done, job.Total)
		select {
		case <-ctx.Done():
			return m.fail(ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
		if _, err := srv.call(ctx, "GET", "/local/v1/exports/"+job.ID, nil, &job); err != nil {
			return m.fail(err)
		}
	}
	fmt.Fprintln(m.Stderr)
	if job.State != "done" {
		return m.fail(fmt.Errorf("export %s failed: %s", job.ID, job.Error))
	}
	fmt.Fprintf(m.Stdout, "exported %d records (%d withheld) as %s into %s: %d files", job.Records, job.Withheld, job.Format, job.Dir, job.Files)
	if job.First != "" {
		fmt.Fprintf(m.Stdout, ", %s–%s", job.First, job.Last)
	}
	fmt.Fprintf(m.Stdout, " (by the running server)\ncheck it with: onrecord verify-export %s\n", job.Dir)
	return ExitOK
}

// redactHook is the release-copy step of an export, or nil when none was
// asked for.
func redactHook(o redact.Options) func(string, []export.Item) ([]export.Item, map[uint64]bool, []export.File, error) {
	if !o.Requested() {
		return nil
	}
	return redact.Hook(o)
}
