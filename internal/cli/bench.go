package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/onrecord/onrecord/internal/bench"
)

const (
	benchJournalUsage = "[--json] [--duration 2s] [--dir DIR]"
	benchIngestUsage  = "[--json] [--duration 5s] [--rate 10000] [--clients 128] [--dir DIR]"
	benchPolicyUsage  = "[--json] [--messages 20000] [--rounds 5]"
)

func (m *Main) bench(ctx context.Context, args []string) int {
	if len(args) > 0 {
		switch args[0] {
		case "journal":
			return m.benchJournal(ctx, args[1:])
		case "ingest":
			return m.benchIngest(ctx, args[1:])
		case "policy":
			return m.benchPolicy(ctx, args[1:])
		}
	}
	fmt.Fprintf(m.Stderr, "Usage:\n  onrecord bench journal %s\n      seal + journal + Merkle leaf against the disk's own limits\n"+
		"  onrecord bench ingest %s\n      signed webhooks over loopback, durable before the 200, against a bare net/http handler\n"+
		"  onrecord bench policy %s\n      policy decisions per core (starter pack + a 1,000-phrase lexicon) against capture's own CPU cost per message\n",
		benchJournalUsage, benchIngestUsage, benchPolicyUsage)
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
	opts := bench.IngestOptions{Dir: *dir, Duration: *dur, Rate: *rate, Clients: *clients}
	if !*asJSON {
		opts.Log = m.Stderr
	}
	rep, err := bench.Ingest(ctx, opts)
	if rep != nil {
		// Printed even when the durability check failed: the figures
		// show what was acknowledged and what was found.
		if *asJSON {
			m.printJSON(rep)
		} else {
			fmt.Fprintf(m.Stdout, "%d clients, %d/s offered, %s per phase, max_batch_delay %s, %d CPUs; load generator %s\n",
				rep.Clients, rep.OfferedRate, rep.Duration, rep.MaxBatchDelay, rep.CPUs, rep.LoadGenerator)
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
