package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/onrecord/onrecord/internal/bench"
)

const (
	benchJournalUsage = "[--json] [--duration 2s] [--dir DIR]"
	benchIngestUsage  = "[--json] [--duration 5s] [--rate 10000] [--clients 128] [--dir DIR] [--trace FILE]"
	benchPolicyUsage  = "[--json] [--messages 20000] [--rounds 5]"
	benchIndexUsage   = "[--json] [--messages 200000] [--rate 5000] [--tail 10s] [--dir DIR]"
	benchSearchUsage  = "[--json] [--messages 200000] [--queries 100] [--dir DIR] [--corpus-dir DIR]"
	benchExportUsage  = "[--json] [--messages 200000] [--selection 50000] [--budget 15s] [--dir DIR]"
)

func (m *Main) bench(ctx context.Context, args []string) int {
	// --cpuprofile FILE (before the subcommand's own flags) writes a CPU
	// profile of the whole run to a file for go tool pprof: benchmarks are
	// where one looks for the next gain, and no server is involved.
	if len(args) > 2 && args[1] == "--cpuprofile" {
		f, err := os.OpenFile(args[2], os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			return m.fail(err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return m.fail(err)
		}
		defer pprof.StopCPUProfile()
		args = append([]string{args[0]}, args[3:]...)
	}
	if len(args) > 0 {
		switch args[0] {
		case "journal":
			return m.benchJournal(ctx, args[1:])
		case "ingest":
			return m.benchIngest(ctx, args[1:])
		case "policy":
			return m.benchPolicy(ctx, args[1:])
		case "index":
			return m.benchIndex(ctx, args[1:])
		case "search":
			return m.benchSearch(ctx, args[1:])
		case "export":
			return m.benchExport(ctx, args[1:])
		}
	}
	fmt.Fprintf(m.Stderr, "Usage:\n  onrecord bench journal %s\n      seal + journal + Merkle leaf against the disk's own limits\n"+
		"  onrecord bench ingest %s\n      signed webhooks over loopback, durable before the 200, against a bare net/http handler\n"+
		"  onrecord bench policy %s\n      policy decisions per core (starter pack + a 1,000-phrase lexicon) against capture's own CPU cost per message\n"+
		"  onrecord bench index %s\n      index catch-up over a generated chat corpus, and how soon a record is searchable after its acknowledgement\n"+
		"  onrecord bench search %s\n      newest-first top-20 searches with count, per query class, on the indexed corpus\n"+
		"  onrecord bench export %s\n      verifiable productions (raw proof bundle, jsonl, rsmf, eml) of one selection, and their verification\n",
		benchJournalUsage, benchIngestUsage, benchPolicyUsage, benchIndexUsage, benchSearchUsage, benchExportUsage)
	return ExitUsage
}

func (m *Main) benchJournal(ctx context.Context, args []string) int {
	fs, load := m.flags("bench journal", benchJournalUsage)
	asJSON := fs.Bool("json", false, "print one JSON object with results, limits and load_average")
	dur := fs.Duration("duration", 2*time.Second, "how long each measurement runs")
	dir := fs.String("dir", "", "where to put the scratch data (default: inside data_dir, so the same disk)")
	cfg, code, ok := m.parse(fs, load, args)
	if !ok {
		return code
	}
	if *dir == "" {
		*dir = cfg.DataDir
	}
	opts := bench.Options{Dir: *dir, Duration: *dur}
	if !*asJSON {
		opts.Log = m.Stderr
	}
	rep, err := bench.Journal(ctx, opts)
	if err != nil {
		return m.fail(err)
	}
	if *asJSON {
		return m.printJSON(rep)
	}
	m.printBench(rep, "results (seal + journal + Merkle leaf, durable before ack):")
	return ExitOK
}

func (m *Main) benchIngest(ctx context.Context, args []string) int {
	fs, load := m.flags("bench ingest", benchIngestUsage)
	asJSON := fs.Bool("json", false, "print one JSON object with results, limits and load_average")
	dur := fs.Duration("duration", 5*time.Second, "how long each load phase runs")
	rate := fs.Int("rate", 10_000, "the open loop's offered rate, webhooks per second")
	clients := fs.Int("clients", 128, "concurrent connections of the closed loops")
	dir := fs.String("dir", "", "where to put the scratch data (default: inside data_dir, so the same disk)")
	trace := fs.String("trace", "", "write the run's timeline to FILE as JSON lines: phases, each open-loop delivery's latency, journal fsyncs, index catch-ups, GC pauses")
	cfg, code, ok := m.parse(fs, load, args)
	if !ok {
		return code
	}
	if *dur <= 0 || *rate <= 0 || *clients <= 0 {
		fmt.Fprintln(m.Stderr, "onrecord: --duration, --rate and --clients must be positive")
		return ExitUsage
	}
	if *dir == "" {
		*dir = cfg.DataDir
	}
	opts := bench.IngestOptions{Dir: *dir, Duration: *dur, Rate: *rate, Clients: *clients, IndexPriority: cfg.IndexPriority}
	if !*asJSON {
		opts.Log = m.Stderr
	}
	if *trace != "" {
		f, err := os.OpenFile(*trace, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			return m.fail(err)
		}
		defer f.Close()
		opts.Trace = f
	}
	rep, err := bench.Ingest(ctx, opts)
	if rep != nil {
		// Printed even when the durability check failed: the figures
		// show what was acknowledged and what was found.
		if *asJSON {
			m.printJSON(rep)
		} else {
			fmt.Fprintf(m.Stdout, "%d clients, %d/s offered, %s per phase, max_batch_delay %s, index_priority %s, %d CPUs; load generator %s\n",
				rep.Clients, rep.OfferedRate, rep.Duration, rep.MaxBatchDelay, rep.IndexPriority, rep.CPUs, rep.LoadGenerator)
			m.printBench(&rep.Report, "results (signature verified, parsed, sealed, fdatasynced before the 200):")
		}
	}
	if err != nil {
		return m.fail(err)
	}
	return ExitOK
}

func (m *Main) printJSON(v any) int {
	enc := json.NewEncoder(m.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return m.fail(err)
	}
	return ExitOK
}

func (m *Main) printBench(rep *bench.Report, results string) {
	fmt.Fprintf(m.Stdout, "load average %.2f %.2f %.2f\n", rep.LoadAverage[0], rep.LoadAverage[1], rep.LoadAverage[2])
	fmt.Fprintln(m.Stdout, "limits (this machine, this disk, this run):")
	for _, x := range rep.Limits {
		fmt.Fprintf(m.Stdout, "  %-40s %12.2f %s\n", x.Name, x.Value, x.Unit)
	}
	fmt.Fprintln(m.Stdout, results)
	for _, x := range rep.Results {
		fmt.Fprintf(m.Stdout, "  %-40s %12.2f %s\n", x.Name, x.Value, x.Unit)
	}
}

func (m *Main) benchPolicy(ctx context.Context, args []string) int {
	fs, load := m.flags("bench policy", benchPolicyUsage)
	asJSON := fs.Bool("json", false, "print one JSON object with results, limits, load_average and what each figure measures")
	messages := fs.Int("messages", 20_000, "distinct 512-byte messages each round decides on")
	rounds := fs.Int("rounds", 5, "rounds of each measurement; the median round is reported")
	if _, code, ok := m.parse(fs, load, args); !ok {
		return code
	}
	if *messages <= 0 || *rounds <= 0 {
		fmt.Fprintln(m.Stderr, "onrecord: --messages and --rounds must be positive")
		return ExitUsage
	}
	opts := bench.PolicyOptions{Messages: *messages, Rounds: *rounds}
	if !*asJSON {
		opts.Log = m.Stderr
	}
	rep, err := bench.Policy(ctx, opts)
	if err != nil {
		return m.fail(err)
	}
	if *asJSON {
		return m.printJSON(rep)
	}
	fmt.Fprintf(m.Stdout, "%d messages of %d B (%d with a planted hit), %d rules, %d-phrase lexicon, %d rounds on one goroutine, %d CPUs\n",
		rep.Messages, rep.MessageBytes, rep.PlantedHits, rep.Rules, rep.LexiconPhrases, rep.Rounds, rep.CPUs)
	fmt.Fprintf(m.Stdout, "decisions by action: %v\n", rep.Actions)
	m.printBench(&rep.Report, "results (Set.Evaluate, then the detectors and the rules apart; medians of the rounds):")
	met := "NOT MET"
	if rep.TargetMet {
		met = "met"
	}
	fmt.Fprintf(m.Stdout, "target: %s: %s\n", rep.Target, met)
	return ExitOK
}

func (m *Main) benchIndex(ctx context.Context, args []string) int {
	fs, load := m.flags("bench index", benchIndexUsage)
	asJSON := fs.Bool("json", false, "print one JSON object with results, limits, targets, load_average and what each figure measures")
	messages := fs.Int("messages", bench.DefaultRecordsMessages, "records in the generated corpus")
	rate := fs.Int("rate", bench.DefaultTailRate, "records per second appended while measuring how soon they are searchable")
	tail := fs.Duration("tail", bench.DefaultTailDuration, "how long that phase appends")
	dir := fs.String("dir", "", "where to put the scratch data (default: inside data_dir, so the same disk)")
	cfg, code, ok := m.parse(fs, load, args)
	if !ok {
		return code
	}
	if *messages <= 0 || *rate <= 0 || *tail <= 0 {
		fmt.Fprintln(m.Stderr, "onrecord: --messages, --rate and --tail must be positive")
		return ExitUsage
	}
	if *dir == "" {
		*dir = cfg.DataDir
	}
	opts := bench.IndexOptions{Dir: *dir, Messages: *messages, Rate: *rate, TailDuration: *tail}
	if !*asJSON {
		opts.Log = m.Stderr
	}
	rep, err := bench.Index(ctx, opts)
	if err != nil {
		return m.fail(err)
	}
	return m.printRecords(rep, *asJSON, "results (index.CatchUp into the encrypted FTS5 index; searchable after the acknowledgement):")
}

func (m *Main) benchSearch(ctx context.Context, args []string) int {
	fs, load := m.flags("bench search", benchSearchUsage)
	asJSON := fs.Bool("json", false, "print one JSON object with results, limits, targets, query classes, load_average and what each figure measures")
	messages := fs.Int("messages", bench.DefaultRecordsMessages, "records in the generated corpus (the issue's targets are set on 1000000)")
	queries := fs.Int("queries", bench.DefaultQueriesPerClass, "timed searches per query class")
	dir := fs.String("dir", "", "where to put the scratch data (default: inside data_dir, so the same disk)")
	corpusDir := fs.String("corpus-dir", "", "keep the corpus and its index here and reuse them on the next run of the same size (default: $ONRECORD_BENCH_CORPUS_DIR, else scratch)")
	cfg, code, ok := m.parse(fs, load, args)
	if !ok {
		return code
	}
	if *messages <= 0 || *queries <= 0 {
		fmt.Fprintln(m.Stderr, "onrecord: --messages and --queries must be positive")
		return ExitUsage
	}
	if *dir == "" {
		*dir = cfg.DataDir
	}
	opts := bench.SearchOptions{Dir: *dir, Messages: *messages, Queries: *queries, CorpusDir: *corpusDir}
	if !*asJSON {
		opts.Log = m.Stderr
	}
	rep, err := bench.Search(ctx, opts)
	if err != nil {
		return m.fail(err)
	}
	return m.printRecords(rep, *asJSON, "results (Index.Search newest first, top 20 with count capped at 1,000, snippets):")
}

func (m *Main) benchExport(ctx context.Context, args []string) int {
	fs, load := m.flags("bench export", benchExportUsage)
	asJSON := fs.Bool("json", false, "print one JSON object with results, limits, targets, load_average and what each figure measures")
	messages := fs.Int("messages", bench.DefaultRecordsMessages, "records in the generated corpus")
	selection := fs.Int("selection", bench.DefaultExportSelection, "about how many records each export produces")
	budget := fs.Duration("budget", bench.DefaultExportBudget, "about how long one format's production may take; beyond it an even sample of the selection is produced")
	dir := fs.String("dir", "", "where to put the scratch data (default: inside data_dir, so the same disk)")
	cfg, code, ok := m.parse(fs, load, args)
	if !ok {
		return code
	}
	if *messages <= 0 || *selection <= 0 || *budget <= 0 {
		fmt.Fprintln(m.Stderr, "onrecord: --messages, --selection and --budget must be positive")
		return ExitUsage
	}
	if *dir == "" {
		*dir = cfg.DataDir
	}
	opts := bench.ExportOptions{Dir: *dir, Messages: *messages, Selection: *selection, Budget: *budget}
	if !*asJSON {
		opts.Log = m.Stderr
	}
	rep, err := bench.Export(ctx, opts)
	if err != nil {
		return m.fail(err)
	}
	return m.printRecords(rep, *asJSON, "results (export.Produce then verify.Export, per format):")
}

// printRecords prints a records benchmark's report: the JSON object, or
// the corpus, the figures and whether each of the targets was met.
func (m *Main) printRecords(rep *bench.RecordsReport, asJSON bool, results string) int {
	if asJSON {
		return m.printJSON(rep)
	}
	c := rep.Corpus
	fmt.Fprintf(m.Stdout, "corpus: %d records (%d messages, %d reactions, %d edits, %d deletions), %d conversations, %d senders, %s to %s, "+
		"written at %.0f/s by %d concurrent appends; %d CPUs\n", c.Records, c.Messages, c.Reactions, c.Edits, c.Deletes,
		c.Conversations, c.Senders, c.FirstSentAt.Format(time.DateOnly), c.LastSentAt.Format(time.DateOnly), c.AppendPerS, c.AppendWriters, rep.CPUs)
	for _, q := range rep.Queries {
		fmt.Fprintf(m.Stdout, "query class %-6s %3d searches (%d distinct), median count %.0f, e.g. %s\n",
			q.Name, q.Queries, q.Distinct, q.MedianCount, strings.Join(q.Examples, " | "))
	}
	if x := rep.ExportInfo; x != nil {
		fmt.Fprintf(m.Stdout, "selection %s: %d records, %d produced per format; raw is %s\n", x.Query, x.Selected, x.Produced, x.RawIs)
		if x.Sampled != "" {
			fmt.Fprintln(m.Stdout, "note: "+x.Sampled)
		}
	}
	m.printBench(&rep.Report, results)
	for _, t := range rep.Targets {
		met := "NOT MET"
		if t.Met {
			met = "met"
		}
		if t.AtMessages > c.Records {
			met += fmt.Sprintf(" (the target is set on %d messages; this run had %d)", t.AtMessages, c.Records)
		}
		fmt.Fprintf(m.Stdout, "target: %s %s: %.2f, %s\n", t.Metric, t.Goal, t.Value, met)
	}
	return ExitOK
}
