package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/onrecord/onrecord/internal/archive"
	"github.com/onrecord/onrecord/internal/importer"
)

func (m *Main) importCmd(ctx context.Context, args []string) int {
	fs, load := m.flags("import", "--format jsonl FILE   (FILE - reads standard input)")
	format := fs.String("format", "jsonl", "input format: jsonl (canonical events, one JSON object per line)")
	asJSON := fs.Bool("json", false, "print the summary as JSON")
	cfg, code, ok := m.parse(fs, load, args)
	if !ok {
		return code
	}
	if *format != "jsonl" {
		fmt.Fprintf(m.Stderr, "onrecord import: format %q is not supported; use --format jsonl\n", *format)
		return ExitUsage
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return ExitUsage
	}
	var in io.Reader = m.Stdin
	if name := fs.Arg(0); name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return m.fail(err)
		}
		defer f.Close()
		in = f
	}
	a, err := archive.Open(ctx, archive.Options{Config: cfg, Logger: m.logger(cfg), Warn: m.Stderr})
	if err != nil {
		return m.fail(err)
	}
	start := time.Now()
	sum := importer.ImportJSONL(ctx, in, a, importer.Options{})
	if err := a.Close(); err != nil && sum.Failed == nil {
		sum.Failed = err
	}
	for _, e := range sum.Errors {
		fmt.Fprintf(m.Stderr, "onrecord import: %v\n", e)
	}
	if *asJSON {
		json.NewEncoder(m.Stdout).Encode(sum)
	} else {
		fmt.Fprintf(m.Stdout, "imported %d of %d lines in %s: %d stored, %d duplicates skipped, %d conflicts stored and flagged, %d invalid\n",
			sum.Stored+sum.Duplicates, sum.Lines, time.Since(start).Round(time.Millisecond), sum.Stored, sum.Duplicates, sum.Conflicts, sum.Invalid)
	}
	if sum.Failed != nil {
		fmt.Fprintf(m.Stderr, "onrecord import: stopped: %v (everything reported stored is durable)\n", sum.Failed)
		return ExitFailure
	}
	if sum.Invalid > 0 {
		return ExitFailure
	}
	return ExitOK
}
