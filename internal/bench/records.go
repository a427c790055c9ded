package bench

// The records benchmarks — `onrecord bench index`, `bench search` and
// `bench export` — measure what the archive does with what it already
// holds: make it searchable, find things in it, and produce it for someone
// outside. Each one builds the same deterministic corpus of chat records in
// a scratch data directory through the real write path (archive.Append
// from 64 writers, so group commit batches as it does under load: sealed,
// journalled, fdatasynced, in the Merkle log), then measures the step it is
// named after with the code the server and the CLI run, and measures the
// machine's own limits in the same run: the disk's fdatasync latency and
// sequential write bandwidth, and the fastest the archive can read its
// records back (one pass of Archive.Events), which every index catch-up
// and every export must do at least once.

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/app"
	"github.com/onrecord/onrecord/internal/archive"
	"github.com/onrecord/onrecord/internal/config"
	"github.com/onrecord/onrecord/internal/durable"
	"github.com/onrecord/onrecord/internal/export"
	"github.com/onrecord/onrecord/internal/export/formats"
	"github.com/onrecord/onrecord/internal/index"
	"github.com/onrecord/onrecord/internal/search"
	"github.com/onrecord/onrecord/verify"
)

// Defaults of the records benchmarks, sized so that each command finishes
// in about two minutes on a 2-core machine. The search targets are
// set on 1,000,000 messages: pass Messages (--messages) for that.
const (
	DefaultRecordsMessages = 200_000
	// DefaultTailRate is the offered rate of the searchable-after-ack
	// phase: about what one capture gateway sustains on this machine kind
	// (BENCHMARKS.md, bench ingest).
	DefaultTailRate     = 5_000
	DefaultTailDuration = 10 * time.Second
	// DefaultTailEvery is how often the server's indexer catches up.
	DefaultTailEvery       = app.IndexInterval
	DefaultQueriesPerClass = 100
	DefaultExportSelection = 50_000
	DefaultExportBudget    = 15 * time.Second
	// TargetCorpusMessages is the corpus size the issue sets the search
	// targets on; a smaller run is indicative only.
	TargetCorpusMessages = 1_000_000
)

const (
	corpusWriters = 64
	// seqWriteBytes is how much the bandwidth limit writes before its one
	// fdatasync.
	seqWriteBytes = 64 << 20
	// getSample is how many selected records the per-record read of an
	// export (Archive.Get) is timed on, spread over the selection.
	getSample = 2_000
)

// IndexOptions tune `onrecord bench index`.
type IndexOptions struct {
	// Dir is where the scratch data directory goes (the archive's disk).
	Dir string
	// Messages is the corpus size (DefaultRecordsMessages when 0).
	Messages int
	// Rate is the offered rate, records per second, of the phase that
	// measures how soon an acknowledged record is searchable
	// (DefaultTailRate when 0).
	Rate int
	// TailDuration is how long that phase appends (DefaultTailDuration).
	TailDuration time.Duration
	// TailEvery is how often its tailer catches up (DefaultTailEvery, the
	// server's interval).
	TailEvery time.Duration
	// Log receives progress lines; nil discards them.
	Log io.Writer
}

// SearchOptions tune `onrecord bench search`; Dir and Messages are as in
// IndexOptions.
type SearchOptions struct {
	Dir      string
	Messages int
	// Queries is how many timed searches each query class runs
	// (DefaultQueriesPerClass when 0).
	Queries int
	// CorpusDir, when set, keeps the corpus and its index there between
	// runs: a run reuses a corpus of the same size (and brings its index
	// up to date) instead of writing and indexing a new one, which takes
	// minutes for the 1,000,000. When empty, the environment
	// variable ONRECORD_BENCH_CORPUS_DIR is used; without either, the
	// corpus is scratch, removed at the end.
	CorpusDir string
	Log       io.Writer
}

// ExportOptions tune `onrecord bench export`; Dir and Messages are as in
// IndexOptions.
type ExportOptions struct {
	Dir      string
	Messages int
	// Selection is about how many records each export produces
	// (DefaultExportSelection when 0; the whole corpus if it is smaller).
	Selection int
	// Budget is about how long each format's production may take; see
	// Export (DefaultExportBudget when 0).
	Budget time.Duration
	Log    io.Writer
}

// RecordsReport is the JSON object `onrecord bench index|search|export
// --json` prints: results, limits and load average as the other
// benchmarks report them, the corpus they ran on, the targets
// with whether this run met them, and what every figure measures.
type RecordsReport struct {
	Report
	Command    string       `json:"command"`
	Corpus     CorpusInfo   `json:"corpus"`
	Queries    []QueryClass `json:"query_classes,omitempty"`
	ExportInfo *ExportInfo  `json:"export,omitempty"`
	CPUs       int          `json:"cpus"`
	GOMAXPROCS int          `json:"gomaxprocs"`
	Targets    []Target     `json:"targets"`
	// Help says exactly what each metric measures.
	Help map[string]string `json:"help"`
}

// CorpusInfo describes the generated corpus and how it was written.
type CorpusInfo struct {
	Records       int       `json:"records"`
	Messages      int       `json:"messages"`
	Reactions     int       `json:"reactions"`
	Edits         int       `json:"edits"`
	Deletes       int       `json:"deletes"`
	Channels      []string  `json:"channels"`
	Conversations int       `json:"conversations"`
	Senders       int       `json:"senders"`
	FirstSentAt   time.Time `json:"first_sent_at"`
	LastSentAt    time.Time `json:"last_sent_at"`
	BodyBytesMean float64   `json:"body_bytes_mean"`
	// AppendWriters, AppendSeconds and AppendPerS say how the corpus was
	// written: concurrent archive.Append calls, each durable on return.
	AppendWriters int     `json:"append_writers"`
	AppendSeconds float64 `json:"append_seconds"`
	AppendPerS    float64 `json:"append_per_s"`
	// IndexSeconds is how long the index took to catch up with the corpus
	// (search and export, which need it; the index command reports it as a
	// result).
	IndexSeconds float64 `json:"index_seconds,omitempty"`
	Description  string  `json:"description"`
}

// QueryClass describes one class of timed searches.
type QueryClass struct {
	Name     string   `json:"name"`
	Queries  int      `json:"queries"`
	Distinct int      `json:"distinct"`
	Examples []string `json:"examples"`
	// MedianCount is the median of the counts the searches returned,
	// which Search caps at index.DefaultCountCap ("more than 1000").
	MedianCount float64 `json:"median_count"`
	ZeroHits    int     `json:"zero_hits"`
	// MatchFractionMin and MatchFractionMedian are, for the broad class,
	// the share of indexed records each query matches, counted without a
	// cap before the timed runs.
	MatchFractionMin    float64 `json:"match_fraction_min,omitempty"`
	MatchFractionMedian float64 `json:"match_fraction_median,omitempty"`
}

// ExportInfo describes what the export benchmark produced.
type ExportInfo struct {
	// Query is the selection in the search language.
	Query    string   `json:"query"`
	Selected int      `json:"selected"`
	Produced int      `json:"produced"`
	Formats  []string `json:"formats"`
	// Sampled says why fewer records than selected were produced, when
	// they were.
	Sampled  string `json:"sampled,omitempty"`
	Budget   string `json:"budget_per_format"`
	RawIs    string `json:"raw_is"`
	Verified bool   `json:"verified"`
	GetTimed int    `json:"get_timed"`
}

// Target is one of the goals and whether this run met it.
type Target struct {
	Metric string  `json:"metric"`
	Goal   string  `json:"goal"`
	Value  float64 `json:"value"`
	Met    bool    `json:"met"`
	// AtMessages is the corpus size the issue sets the goal at, when it
	// names one; a run on fewer messages is indicative only.
	AtMessages int `json:"at_messages,omitempty"`
}

// recordsHelp is the definition of every metric the records benchmarks
// report; the per-class and per-format names are added by init.
var recordsHelp = map[string]string{
	"fdatasync_4k_p50_ms": "write 4 KiB and fdatasync, repeated for 1 s on the scratch disk: median latency",
	"fdatasync_4k_p99_ms": "as fdatasync_4k_p50_ms, 99th percentile",
	"seq_write_mib_per_s": "64 MiB written in 1 MiB writes to one new file on the scratch disk, then one fdatasync: " +
		"MiB / (writes + fdatasync), the disk's sequential write bandwidth",
	"archive_scan_open_per_s": "Archive.Events over every corpus record on one goroutine: journal read, envelope decode, " +
		"per-record key, AES-256-GCM open, JSON decode of the event; records/s (the export benchmark chooses its selection " +
		"in the same pass). Index catch-up and every export read each record at least this way, so it is their " +
		"ceiling on this machine",
	"index_catchup_messages_per_s": "index.CatchUp(ctx, ix, archive, archive.Searchable) from an empty index over the whole " +
		"corpus, as `onrecord reindex` and the server's tailer run it (journal scan and decrypt on one goroutine, batches of " +
		"up to 20,000 into the encrypted SQLite FTS5 index on another, then one merge of the full-text index, as after " +
		"any catch-up that wrote most of the index): records / wall time",
	"index_catchup_seconds":    "wall time of that catch-up",
	"index_catchup_cpus_busy":  "process CPU time during that catch-up / its wall time (2 = both cores of this machine)",
	"index_vs_scan_ratio":      "index_catchup_messages_per_s / archive_scan_open_per_s: the share of the read ceiling indexing reaches",
	"index_disk_bytes_per_rec": "size of the index directory after the catch-up / records indexed",
	"searchable_after_ack_p50_ms": "while records are appended at tail_offered_per_s for the tail duration (64 writers, open " +
		"loop), a tailer runs index.CatchUp every tail interval as the server's indexer does; per record, the time from " +
		"archive.Append returning (the acknowledgement) to the end of the catch-up after which the index position covers " +
		"its seq: median",
	"searchable_after_ack_p99_ms": "as searchable_after_ack_p50_ms, 99th percentile",
	"searchable_after_ack_max_ms": "as searchable_after_ack_p50_ms, slowest record",
	"tail_offered_per_s":          "the rate the tail phase schedules appends at",
	"tail_achieved_per_s":         "records acknowledged in the tail phase / time from its start to the last acknowledgement",
	"tail_append_ack_p99_ms":      "archive.Append latency in the tail phase (call to return), 99th percentile",
	"tail_send_lag_p99_ms": "how late appends started against their schedule in the tail phase, 99th percentile: " +
		"large values mean the writers, not the index, fell behind",
	"tail_catchup_p99_ms":        "duration of one tailer catch-up in the tail phase, 99th percentile",
	"tail_index_lag_max_records": "most committed records not yet indexed, seen at the start of any tailer catch-up",
	"export_selected": "records in the export's period and the records referring to them, chosen in one journal pass " +
		"as index.Matches chooses them",
	"export_produced": "records each format produced: export_selected, or an evenly spaced sample of it when " +
		"producing all would exceed the budget per format (see export.sampled)",
	"file_create_per_s": "new 4 KiB files created, written and closed one after the other in one directory of the " +
		"scratch disk, for a thirtieth of the budget: the ceiling of a format that writes a file per record (eml) " +
		"or per conversation and day (rsmf)",
	"archive_get_per_s": "Archive.Get (a point read; export.Produce reads the selection in one journal-order pass instead) on up to 2,000 selected records " +
		"spread over the selection, one goroutine, for at most a tenth of the budget: records/s",
	"json_marshal_events_per_s": "json.Marshal of every selected event on one goroutine, nothing else: the bare CPU " +
		"cost of serialising the records, a comparator for the formats",
	"export_raw_verified_messages_per_s": "records / (export_raw produce time + verify-export time of that raw export)",
}

// exportFormats are the formats the export benchmark produces, raw first.
var benchExportFormats = []string{"raw", "jsonl", "rsmf", "eml"}

// searchClasses are the query classes of the search benchmark.
var searchClasses = []string{"and2", "phrase", "broad", "field", "date"}

var searchClassHelp = map[string]string{
	"and2": "two content words (not template words, ≥ 3 letters) taken from one corpus message, so every query has at " +
		"least one hit: `w1 w2`",
	"phrase": "two or three consecutive words of one corpus message's sentence, quoted, at least one of them not a " +
		"template word (a ticker, name, amount...) and neither end word a function word: `\"shares of NVDA\"`",
	"broad": "one common word matching ≥ 10% of the indexed records (the corpus's most frequent words, checked by an uncapped count)",
	"field": "metadata filters: from:<a sender's id>, channel:<c> with a content word, or from:\"<a sender's name>\" " +
		"(id or name), in turn",
	"date": "date filters: on:<day>, after:/before: a week with a content word, after:/before: a month with channel:<c>, in turn",
}

func init() {
	for _, c := range searchClasses {
		for _, p := range []string{"p50", "p95", "p99"} {
			recordsHelp["search_"+c+"_"+p+"_ms"] = "Index.Search newest first, top 20 with count (capped at 1,000) and " +
				"snippets, as the API runs it, wall time of one search; " + p + " over the class's timed searches, the " +
				"classes interleaved. Class: " + searchClassHelp[c]
		}
	}
	recordsHelp["search_broad_match_fraction_min"] = "the least share of indexed records any broad query matches (uncapped count)"
	for _, f := range benchExportFormats {
		what := "export.Produce with the " + f + " writer (as `onrecord export --format " + f + "`)"
		if f == "raw" {
			what = "export.Produce with a writer that writes no files: the records leave as the proof bundle alone — " +
				"each record's envelope exactly as journalled, its per-record key and its inclusion proof at a fresh " +
				"checkpoint — with the manifest and the export's own record; every record is still read and decrypted " +
				"for the manifest"
		}
		recordsHelp["export_"+f+"_messages_per_s"] = what + ": selected records / wall time, until the directory is fsynced"
		recordsHelp["export_"+f+"_mib"] = "size of the " + f + " export directory (format files, manifest, proof bundle)"
		recordsHelp["verify_"+f+"_messages_per_s"] = "verify.Export of the " + f + " export (offline: checkpoint signature, " +
			"manifest commitment, every record's inclusion proof and content, every file's SHA-256): records / wall time"
	}
}

// Index measures indexing: the rate of index.CatchUp from an empty index
// over the corpus, and how soon a record is searchable after its
// acknowledgement while records arrive at a steady rate and a tailer
// catches up as the server's does.
func Index(ctx context.Context, opts IndexOptions) (*RecordsReport, error) {
	app.TuneGC()
	if opts.Rate <= 0 {
		opts.Rate = DefaultTailRate
	}
	if opts.TailDuration <= 0 {
		opts.TailDuration = DefaultTailDuration
	}
	if opts.TailEvery <= 0 {
		opts.TailEvery = DefaultTailEvery
	}
	run, err := startRecords(ctx, "index", opts.Dir, "", opts.Messages, opts.Log)
	if err != nil {
		return nil, err
	}
	defer run.close()
	rep := run.rep
	rep.Duration = opts.TailDuration.String()
	if err := run.limits(ctx, true); err != nil {
		return nil, err
	}

	ix, err := index.Open(run.cfg.IndexDir(), run.a.IndexKey())
	if err != nil {
		return nil, err
	}
	defer ix.Close()
	fmt.Fprintf(run.log, "index catch-up from empty over %d records\n", run.a.Len())
	cpu, start := cpuTime(), time.Now()
	added, err := index.CatchUp(ctx, ix, run.a, archive.Searchable)
	if err != nil {
		return nil, fmt.Errorf("index catch-up: %w", err)
	}
	wall := time.Since(start)
	busy := (cpuTime() - cpu).Seconds() / wall.Seconds()
	rate := float64(added) / wall.Seconds()
	size, err := dirSize(ix.Dir())
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(run.log, "  %d records in %s: %.0f/s, %.2f CPUs busy\n", added, wall.Round(time.Millisecond), rate, busy)
	rep.Results = append(rep.Results,
		Metric{"index_catchup_messages_per_s", rate, "messages/s"},
		Metric{"index_catchup_seconds", wall.Seconds(), "s"},
		Metric{"index_catchup_cpus_busy", busy, "CPUs"},
		Metric{"index_disk_bytes_per_rec", float64(size) / float64(max(added, 1)), "bytes"})
	if scan := find(rep.Limits, "archive_scan_open_per_s"); scan > 0 {
		rep.Results = append(rep.Results, Metric{"index_vs_scan_ratio", rate / scan, "ratio"})
	}

	fmt.Fprintf(run.log, "appending at %d/s for %s, a tailer catching up every %s\n", opts.Rate, opts.TailDuration, opts.TailEvery)
	tr, err := tailPhase(ctx, run.a, ix, run.corpus, run.corpus.n, opts.Rate, opts.TailDuration, opts.TailEvery)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(run.log, "  %.0f/s achieved; searchable after ack p50 %.0f ms, p99 %.0f ms\n",
		tr.achieved, percentile(tr.delays, .5), percentile(tr.delays, .99))
	rep.Results = append(rep.Results,
		Metric{"searchable_after_ack_p50_ms", percentile(tr.delays, .50), "ms"},
		Metric{"searchable_after_ack_p99_ms", percentile(tr.delays, .99), "ms"},
		Metric{"searchable_after_ack_max_ms", percentile(tr.delays, 1), "ms"},
		Metric{"tail_offered_per_s", float64(opts.Rate), "records/s"},
		Metric{"tail_achieved_per_s", tr.achieved, "records/s"},
		Metric{"tail_append_ack_p99_ms", percentile(tr.acks, .99), "ms"},
		Metric{"tail_send_lag_p99_ms", percentile(tr.sendLag, .99), "ms"},
		Metric{"tail_catchup_p99_ms", percentile(tr.catchups, .99), "ms"},
		Metric{"tail_index_lag_max_records", float64(tr.maxLag), "records"})
	rep.Targets = []Target{
		atLeast(rep.Results, "index_catchup_messages_per_s", 20_000, "messages/s", 0),
		atMost(rep.Results, "searchable_after_ack_p99_ms", 2_000, "ms", 0),
	}
	rep.LoadAverage = loadAverage()
	return rep, nil
}

// Search measures newest-first top-20 searches with their count, per query
// class, on the indexed corpus.
func Search(ctx context.Context, opts SearchOptions) (*RecordsReport, error) {
	app.TuneGC()
	if opts.Queries <= 0 {
		opts.Queries = DefaultQueriesPerClass
	}
	if opts.CorpusDir == "" {
		opts.CorpusDir = os.Getenv("ONRECORD_BENCH_CORPUS_DIR")
	}
	run, err := startRecords(ctx, "search", opts.Dir, opts.CorpusDir, opts.Messages, opts.Log)
	if err != nil {
		return nil, err
	}
	defer run.close()
	rep := run.rep
	if err := run.limits(ctx, false); err != nil {
		return nil, err
	}
	ix, err := run.index(ctx)
	if err != nil {
		return nil, err
	}
	defer ix.Close()
	indexed := run.a.Len()

	classes, err := run.corpus.queries(opts.Queries)
	if err != nil {
		return nil, err
	}
	// Broad queries are kept only if they match at least 10% of the
	// index, counted without a cap.
	broad := classes[2]
	var fractions []float64
	var keep []search.Query
	for _, q := range uniqueQueries(broad.qs) {
		res, err := ix.Search(ctx, q, index.SearchOptions{Limit: 1, CountCap: int(indexed) + 1})
		if err != nil {
			return nil, err
		}
		f := float64(res.Count) / float64(indexed)
		if f >= 0.10 {
			keep = append(keep, q)
			fractions = append(fractions, f)
		}
	}
	if len(keep) == 0 {
		return nil, fmt.Errorf("no broad candidate query matches 10%% of the %d indexed records", indexed)
	}
	broad.qs = broad.qs[:0]
	for i := range opts.Queries {
		broad.qs = append(broad.qs, keep[i%len(keep)])
	}

	fmt.Fprintf(run.log, "warm-up: 10 searches per class\n")
	for _, c := range classes {
		for _, q := range c.qs[:min(10, len(c.qs))] {
			if _, err := ix.Search(ctx, q, index.SearchOptions{}); err != nil {
				return nil, err
			}
		}
	}
	fmt.Fprintf(run.log, "%d timed searches per class, the classes interleaved\n", opts.Queries)
	lat := make([][]float64, len(classes))
	counts := make([][]float64, len(classes))
	zero := make([]int, len(classes))
	start := time.Now()
	for i := range opts.Queries {
		for k, c := range classes {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			t := time.Now()
			res, err := ix.Search(ctx, c.qs[i], index.SearchOptions{})
			if err != nil {
				return nil, err
			}
			lat[k] = append(lat[k], float64(time.Since(t).Microseconds())/1000)
			counts[k] = append(counts[k], float64(res.Count))
			if res.Count == 0 {
				zero[k]++
			}
		}
	}
	rep.Duration = time.Since(start).Round(time.Millisecond).String()
	for k, c := range classes {
		qc := QueryClass{Name: c.name, Queries: len(lat[k]), Distinct: len(uniqueQueries(c.qs)),
			MedianCount: percentile(counts[k], .5), ZeroHits: zero[k]}
		for _, q := range uniqueQueries(c.qs)[:min(5, qc.Distinct)] {
			qc.Examples = append(qc.Examples, q.String())
		}
		if c.name == "broad" {
			qc.MatchFractionMin = slices.Min(fractions)
			qc.MatchFractionMedian = percentile(slices.Clone(fractions), .5)
		}
		rep.Queries = append(rep.Queries, qc)
		for _, p := range []struct {
			name string
			q    float64
		}{{"p50", .50}, {"p95", .95}, {"p99", .99}} {
			rep.Results = append(rep.Results, Metric{"search_" + c.name + "_" + p.name + "_ms", percentile(lat[k], p.q), "ms"})
		}
		fmt.Fprintf(run.log, "  %-6s p50 %7.2f ms  p95 %7.2f ms  p99 %7.2f ms  median count %.0f\n", c.name,
			percentile(lat[k], .5), percentile(lat[k], .95), percentile(lat[k], .99), qc.MedianCount)
	}
	rep.Results = append(rep.Results, Metric{"search_broad_match_fraction_min", slices.Min(fractions), "fraction"})
	rep.Targets = []Target{
		atMost(rep.Results, "search_and2_p95_ms", 10, "ms", TargetCorpusMessages),
		atMost(rep.Results, "search_phrase_p95_ms", 10, "ms", TargetCorpusMessages),
		atMost(rep.Results, "search_broad_p95_ms", 50, "ms", TargetCorpusMessages),
	}
	rep.LoadAverage = loadAverage()
	return rep, nil
}

// Export measures verifiable productions of one selection in each format,
// and their verification.
//
// The selection is a period centred in the corpus's year holding about
// Selection records, with the records that refer to them, chosen in one
// pass of the journal as index.Matches would choose them (the index itself
// is not needed, so not built). When the slowest format would take longer
// than Budget (reading at Archive.Get's rate, or creating a file per record
// at the disk's file_create_per_s), each format produces an evenly spaced
// sample of the selection that fits the budget instead, and the report
// says so: the rate per record is what is measured, and stays comparable.
func Export(ctx context.Context, opts ExportOptions) (*RecordsReport, error) {
	app.TuneGC()
	if opts.Selection <= 0 {
		opts.Selection = DefaultExportSelection
	}
	if opts.Budget <= 0 {
		opts.Budget = DefaultExportBudget
	}
	run, err := startRecords(ctx, "export", opts.Dir, "", opts.Messages, opts.Log)
	if err != nil {
		return nil, err
	}
	defer run.close()
	rep := run.rep
	if err := run.limits(ctx, false); err != nil {
		return nil, err
	}
	// Formats that write a file per record (eml) or per conversation and
	// day (rsmf) are bound by how fast this disk creates files.
	fmt.Fprintln(run.log, "measuring file creation: new 4 KiB files in one directory, as the eml and rsmf writers create them")
	createRate, err := fileCreateRate(filepath.Join(run.scratch, "create"), opts.Budget/30)
	if err != nil {
		return nil, err
	}
	rep.Limits = append(rep.Limits, Metric{"file_create_per_s", createRate, "files/s"})
	fmt.Fprintf(run.log, "  %.0f files/s\n", createRate)
	// An eDiscovery request's usual shape: everything in a period.
	from, to := run.corpus.period(opts.Selection)
	qtext := "after:" + from.Format(time.DateOnly) + " before:" + to.Format(time.DateOnly)
	fmt.Fprintln(run.log, "measuring the archive's read ceiling: one pass of Archive.Events, selecting "+qtext)
	runtime.GC()
	var seqs []uint64
	var events []*onrecord.Event
	picked := map[string]bool{} // channel and provider id of every selected record
	n := 0
	start := time.Now()
	err = run.a.Events(0, func(seq uint64, ev *onrecord.Event, err error) error {
		if err != nil {
			return nil
		}
		n++
		in := !ev.SentAt.Before(from) && ev.SentAt.Before(to)
		if in || (ev.Target != "" && picked[ev.Channel+"\x00"+ev.Target]) {
			seqs = append(seqs, seq)
			events = append(events, ev)
			picked[ev.Channel+"\x00"+ev.ProviderID] = true
		}
		return ctx.Err()
	})
	if err != nil {
		return nil, err
	}
	scan := float64(n) / time.Since(start).Seconds()
	rep.Limits = append(rep.Limits, Metric{"archive_scan_open_per_s", scan, "records/s"})
	fmt.Fprintf(run.log, "  %.0f records/s; %d records selected\n", scan, len(seqs))
	if len(seqs) == 0 {
		return nil, fmt.Errorf("export period %s selects nothing", qtext)
	}

	// The bare CPU comparator: serialising the same events, nothing else.
	runtime.GC()
	start = time.Now()
	for _, ev := range events {
		if _, err := json.Marshal(ev); err != nil {
			return nil, err
		}
	}
	rep.Limits = append(rep.Limits, Metric{"json_marshal_events_per_s", float64(len(events)) / time.Since(start).Seconds(), "events/s"})
	events = nil

	// Produce reads each selected record once, in journal order
	// (Archive.Disclose); Archive.Get, one record at a time, is the
	// point-read comparator: time it on a sample, for at most a tenth of
	// the budget.
	sample := spread(seqs, getSample)
	got := 0
	start = time.Now()
	for _, s := range sample {
		if _, err := run.a.Get(s); err != nil {
			return nil, fmt.Errorf("get record %d: %w", s, err)
		}
		if got++; time.Since(start) > opts.Budget/10 {
			break
		}
	}
	getRate := float64(got) / time.Since(start).Seconds()
	fmt.Fprintf(run.log, "  Archive.Get: %.0f records/s (%d timed)\n", getRate, got)
	produced := seqs
	info := &ExportInfo{Query: qtext, Selected: len(seqs), Formats: benchExportFormats, Verified: true,
		RawIs: "the proof bundle alone — every record's envelope as journalled, its per-record key and its inclusion " +
			"proof — with the manifest and the export's own record: export.Produce with a writer that writes no format files",
		GetTimed: got, Budget: opts.Budget.String()}
	// The slowest format is eml, a file per record; reading is at most
	// Get's rate.
	floor := min(getRate, createRate)
	if est := float64(len(seqs)) / floor; est > opts.Budget.Seconds() {
		m := max(100, int(opts.Budget.Seconds()*floor))
		produced = spread(seqs, m)
		info.Sampled = fmt.Sprintf("the slowest format would take about %.0f s for all %d selected records (Archive.Get at %.0f/s, "+
			"file creation at %.0f/s, eml creating one file per record), over the %s budget: an evenly spaced sample of %d is produced instead",
			est, len(seqs), getRate, createRate, opts.Budget, len(produced))
		fmt.Fprintln(run.log, "  "+info.Sampled)
	}
	info.Produced = len(produced)
	rep.ExportInfo = info
	rep.Results = append(rep.Results,
		Metric{"export_selected", float64(len(seqs)), "records"},
		Metric{"export_produced", float64(len(produced)), "records"},
		Metric{"archive_get_per_s", getRate, "records/s"})

	// The formats as `onrecord export` and the API build them; raw writes
	// no format files at all.
	writers := map[string]export.Writer{"raw": func(string, []export.Item) ([]export.File, error) { return nil, nil }}
	for _, f := range benchExportFormats[1:] {
		format, ok := formats.Get(f)
		if !ok {
			return nil, fmt.Errorf("export format %q is not known", f)
		}
		writers[f] = format.Writer(formats.Params{Location: time.UTC, Custodian: "bench", BatesPrefix: "ONR", BatesStart: 1, Now: time.Now})
	}
	var total time.Duration
	for _, f := range benchExportFormats {
		dir := filepath.Join(run.scratch, "export-"+f)
		fmt.Fprintf(run.log, "export %s: %d records\n", f, len(produced))
		runtime.GC()
		start := time.Now()
		man, err := export.Produce(ctx, run.a, produced, dir, writers[f], export.Options{Format: f, Query: qtext,
			Zone: "UTC", By: "onrecord bench export", Origin: run.cfg.LogOrigin})
		if err != nil {
			return nil, fmt.Errorf("export %s: %w", f, err)
		}
		took := time.Since(start)
		if man.Counts.Records != len(produced) {
			return nil, fmt.Errorf("export %s: %d records produced of %d (%d withheld)", f, man.Counts.Records, len(produced), man.Counts.Withheld)
		}
		size, err := dirSize(dir)
		if err != nil {
			return nil, err
		}
		start = time.Now()
		vr, err := verify.Export(dir, run.a.VerifierKey())
		if err != nil {
			return nil, fmt.Errorf("verify %s export: %w", f, err)
		}
		check := time.Since(start)
		if !vr.OK || vr.Records != len(produced) {
			return nil, fmt.Errorf("verify %s export: %d records, problems: %v", f, vr.Records, vr.SortedProblems())
		}
		total += took
		k := float64(len(produced))
		fmt.Fprintf(run.log, "  %.0f records/s produced (%s, %.1f MiB), %.0f records/s verified\n",
			k/took.Seconds(), took.Round(time.Millisecond), float64(size)/(1<<20), k/check.Seconds())
		rep.Results = append(rep.Results,
			Metric{"export_" + f + "_messages_per_s", k / took.Seconds(), "messages/s"},
			Metric{"export_" + f + "_mib", float64(size) / (1 << 20), "MiB"},
			Metric{"verify_" + f + "_messages_per_s", k / check.Seconds(), "messages/s"})
		if f == "raw" {
			rep.Results = append(rep.Results, Metric{"export_raw_verified_messages_per_s", k / (took + check).Seconds(), "messages/s"})
		}
		if err := os.RemoveAll(dir); err != nil {
			return nil, err
		}
	}
	rep.Duration = total.Round(time.Millisecond).String()
	rep.Targets = []Target{atLeast(rep.Results, "export_raw_messages_per_s", 250_000, "messages/s", 0)}
	for _, f := range benchExportFormats[1:] {
		rep.Targets = append(rep.Targets, atLeast(rep.Results, "export_"+f+"_messages_per_s", 40_000, "messages/s", 0))
	}
	rep.LoadAverage = loadAverage()
	return rep, nil
}

// fileCreateRate creates new 4 KiB files (create, write, close; no sync)
// in a new directory for about d, then removes them: files/s.
func fileCreateRate(dir string, d time.Duration) (float64, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	data := make([]byte, 4<<10)
	n := 0
	start := time.Now()
	for n < 50 || time.Since(start) < d {
		if err := os.WriteFile(filepath.Join(dir, strconv.Itoa(n)+".eml"), data, 0o600); err != nil {
			return 0, err
		}
		n++
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

func atLeast(ms []Metric, name string, goal float64, unit string, at int) Target {
	v := find(ms, name)
	return Target{Metric: name, Goal: "≥ " + strconv.FormatFloat(goal, 'f', -1, 64) + " " + unit, Value: v, Met: v >= goal, AtMessages: at}
}

func atMost(ms []Metric, name string, goal float64, unit string, at int) Target {
	v, ok := metricValue(ms, name)
	return Target{Metric: name, Goal: "≤ " + strconv.FormatFloat(goal, 'f', -1, 64) + " " + unit, Value: v, Met: ok && v <= goal, AtMessages: at}
}

func metricValue(ms []Metric, name string) (float64, bool) {
	for _, m := range ms {
		if m.Name == name {
			return m.Value, true
		}
	}
	return 0, false
}

// recordsRun is one records benchmark's scratch directory and corpus.
type recordsRun struct {
	scratch string
	cfg     config.Config
	a       *archive.Archive
	corpus  *chatCorpus
	rep     *RecordsReport
	log     io.Writer
}

// startRecords makes a scratch directory under dir and opens the corpus
// of n records: written into the scratch directory, or, when keep is set
// (SearchOptions.CorpusDir), kept in keep between runs — written there
// once with a note of what it holds and reopened by later runs, the
// scratch directory then holding only the disk measurements' files.
func startRecords(ctx context.Context, command, dir, keep string, n int, log io.Writer) (*recordsRun, error) {
	if n <= 0 {
		n = DefaultRecordsMessages
	}
	if log == nil {
		log = io.Discard
	}
	if dir == "" {
		dir = os.TempDir()
	}
	var corpusDir string
	if keep != "" {
		corpusDir = filepath.Join(keep, fmt.Sprintf("corpus-%d", n))
	}
	for _, d := range []string{dir, corpusDir} {
		if d == "" {
			continue
		}
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	scratch, err := os.MkdirTemp(dir, "bench-"+command+"-")
	if err != nil {
		return nil, err
	}
	dataParent, where := scratch, ""
	if corpusDir != "" {
		dataParent, where = corpusDir, ", kept in "+corpusDir
	}
	run := &recordsRun{scratch: scratch, corpus: newChatCorpus(n), log: log}
	run.cfg = config.Default()
	run.cfg.DataDir = filepath.Join(dataParent, "data")
	if run.a, err = archive.Open(ctx, archive.Options{Config: run.cfg}); err != nil {
		os.RemoveAll(scratch)
		return nil, err
	}
	run.rep = &RecordsReport{Report: Report{Dir: dataParent}, Command: command, CPUs: runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0), Help: recordsHelp}
	note := filepath.Join(dataParent, "corpus.json")
	if corpusDir != "" {
		if b, err := os.ReadFile(note); err == nil {
			if err := json.Unmarshal(b, &run.rep.Corpus); err != nil {
				run.close()
				return nil, fmt.Errorf("kept corpus %s: %w", note, err)
			}
			if got := run.a.Len(); got != uint64(run.rep.Corpus.Records) || got != uint64(n) {
				run.close()
				return nil, fmt.Errorf("kept corpus %s holds %d records, not %d: remove it to write a new one", corpusDir, got, n)
			}
			fmt.Fprintf(log, "reusing the corpus of %d chat records kept in %s\n", n, corpusDir)
			return run, nil
		}
		if got := run.a.Len(); got != 0 {
			run.close()
			return nil, fmt.Errorf("%s holds %d records but no corpus.json (an interrupted run?): remove it", corpusDir, got)
		}
	}
	fmt.Fprintf(log, "writing a corpus of %d chat records with %d concurrent archive.Append calls%s\n", n, corpusWriters, where)
	info, err := run.corpus.write(ctx, run.a, corpusWriters, log)
	if err != nil {
		run.close()
		return nil, fmt.Errorf("write the corpus: %w", err)
	}
	run.rep.Corpus = info
	if corpusDir != "" {
		b, err := json.Marshal(info)
		if err == nil {
			err = os.WriteFile(note, b, 0o600)
		}
		if err != nil {
			run.close()
			return nil, fmt.Errorf("keep the corpus: %w", err)
		}
	}
	fmt.Fprintf(log, "  %d records in %.1f s (%.0f/s)\n", info.Records, info.AppendSeconds, info.AppendPerS)
	return run, nil
}

func (r *recordsRun) close() {
	if r.a != nil {
		r.a.Close()
	}
	os.RemoveAll(r.scratch)
}

// index brings a new index up to date with the corpus.
func (r *recordsRun) index(ctx context.Context) (*index.Index, error) {
	ix, err := index.Open(r.cfg.IndexDir(), r.a.IndexKey())
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(r.log, "indexing %d records\n", r.a.Len())
	start := time.Now()
	if _, err := index.CatchUp(ctx, ix, r.a, archive.Searchable); err != nil {
		ix.Close()
		return nil, fmt.Errorf("index catch-up: %w", err)
	}
	r.rep.Corpus.IndexSeconds = time.Since(start).Seconds()
	fmt.Fprintf(r.log, "  indexed in %.1f s\n", r.rep.Corpus.IndexSeconds)
	return ix, nil
}

// limits measures the scratch disk and, when scan is set, the archive's
// read ceiling.
func (r *recordsRun) limits(ctx context.Context, scan bool) error {
	fmt.Fprintln(r.log, "measuring the disk: 4 KiB fdatasync latency, sequential write bandwidth")
	p50, p99, err := fdatasyncLatency(filepath.Join(r.scratch, "fsync"), time.Second)
	if err != nil {
		return err
	}
	bw, err := writeBandwidth(filepath.Join(r.scratch, "seqwrite"), seqWriteBytes)
	if err != nil {
		return err
	}
	r.rep.Limits = append(r.rep.Limits,
		Metric{"fdatasync_4k_p50_ms", p50, "ms"},
		Metric{"fdatasync_4k_p99_ms", p99, "ms"},
		Metric{"seq_write_mib_per_s", bw, "MiB/s"})
	if !scan {
		return nil
	}
	fmt.Fprintln(r.log, "measuring the archive's read ceiling: one pass of Archive.Events")
	runtime.GC()
	n := 0
	start := time.Now()
	if err := r.a.Events(0, func(seq uint64, ev *onrecord.Event, err error) error {
		if err == nil {
			n++
		}
		return ctx.Err()
	}); err != nil {
		return err
	}
	rate := float64(n) / time.Since(start).Seconds()
	r.rep.Limits = append(r.rep.Limits, Metric{"archive_scan_open_per_s", rate, "records/s"})
	fmt.Fprintf(r.log, "  %.0f records/s\n", rate)
	return nil
}

// writeBandwidth writes size bytes to a new file in 1 MiB writes and
// fdatasyncs it once: MiB/s over the whole.
func writeBandwidth(path string, size int) (float64, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, err
	}
	defer os.Remove(path)
	defer f.Close()
	buf := make([]byte, 1<<20)
	rand.Read(buf)
	start := time.Now()
	for n := 0; n < size; n += len(buf) {
		if _, err := f.Write(buf); err != nil {
			return 0, err
		}
	}
	if err := durable.Fdatasync(f); err != nil {
		return 0, fmt.Errorf("fdatasync: %w", err)
	}
	return float64(size) / (1 << 20) / time.Since(start).Seconds(), nil
}

func dirSize(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		n += info.Size()
		return nil
	})
	return n, err
}

// spread returns up to n of s, evenly spaced.
func spread(s []uint64, n int) []uint64 {
	if len(s) <= n {
		return s
	}
	out := make([]uint64, n)
	for i := range out {
		out[i] = s[i*len(s)/n]
	}
	return out
}

// tailResult is what the searchable-after-ack phase measured.
type tailResult struct {
	delays   []float64 // ms from acknowledgement to searchable, per record
	acks     []float64 // ms, Append call to return
	sendLag  []float64 // ms, Append start behind schedule
	catchups []float64 // ms, one tailer catch-up
	achieved float64
	maxLag   uint64
}

// tailPhase appends corpus records first, first+1, ... at rate per second
// for d from 64 writers (an open loop: each record has its scheduled
// time), while a tailer catches the index up every interval, and times
// each record from its acknowledgement to the end of the catch-up that
// made it searchable.
func tailPhase(ctx context.Context, a *archive.Archive, ix *index.Index, c *chatCorpus, first, rate int, d, every time.Duration) (tailResult, error) {
	total := max(1, int(float64(rate)*d.Seconds()))
	evs := make([]*onrecord.Event, total)
	for k := range evs {
		evs[k] = c.event(first + k)
	}
	seqs := make([]uint64, total)
	acked := make([]time.Time, total)
	var tr tailResult
	tr.acks = make([]float64, total)
	tr.sendLag = make([]float64, total)

	type sample struct {
		at  time.Time
		pos uint64
	}
	var samples []sample
	tctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var final atomic.Uint64 // a.Len() once every writer is done; 0 until then
	tailed := make(chan error, 1)
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if pos, err := ix.Position(tctx); err == nil && a.Len() > pos {
				tr.maxLag = max(tr.maxLag, a.Len()-pos)
			}
			start := time.Now()
			if _, err := index.CatchUp(tctx, ix, a, archive.Searchable); err != nil {
				tailed <- fmt.Errorf("tailer catch-up: %w", err)
				return
			}
			pos, err := ix.Position(tctx)
			if err != nil {
				tailed <- err
				return
			}
			now := time.Now()
			tr.catchups = append(tr.catchups, float64(now.Sub(start).Microseconds())/1000)
			samples = append(samples, sample{now, pos})
			if f := final.Load(); f > 0 && pos >= f {
				tailed <- nil
				return
			}
			select {
			case <-tctx.Done():
				tailed <- tctx.Err()
				return
			case <-t.C:
			}
		}
	}()

	var next atomic.Int64
	var failed atomic.Pointer[error]
	var wg sync.WaitGroup
	begin := time.Now().Add(5 * time.Millisecond)
	for range corpusWriters {
		wg.Go(func() {
			for failed.Load() == nil {
				k := int(next.Add(1) - 1)
				if k >= total {
					return
				}
				due := begin.Add(time.Duration(float64(k) / float64(rate) * float64(time.Second)))
				if w := time.Until(due); w > 0 {
					time.Sleep(w)
				}
				t := time.Now()
				res, err := a.Append(tctx, evs[k])
				if err != nil {
					failed.Store(&err)
					return
				}
				acked[k] = time.Now()
				seqs[k] = res.Seq
				tr.acks[k] = float64(acked[k].Sub(t).Microseconds()) / 1000
				tr.sendLag[k] = float64(max(0, t.Sub(due)).Microseconds()) / 1000
			}
		})
	}
	wg.Wait()
	if p := failed.Load(); p != nil {
		cancel()
		<-tailed
		return tr, fmt.Errorf("append: %w", *p)
	}
	last := slices.MaxFunc(acked, func(x, y time.Time) int { return x.Compare(y) })
	tr.achieved = float64(total) / last.Sub(begin).Seconds()
	final.Store(a.Len())
	select {
	case err := <-tailed:
		if err != nil {
			return tr, err
		}
	case <-time.After(d + 2*time.Minute):
		cancel()
		<-tailed
		return tr, fmt.Errorf("the index did not catch up within %s of the last append", d+2*time.Minute)
	}
	tr.delays = make([]float64, total)
	for k, seq := range seqs {
		i := sort.Search(len(samples), func(i int) bool { return samples[i].pos > seq })
		if i == len(samples) {
			return tr, fmt.Errorf("record %d was never indexed", seq)
		}
		tr.delays[k] = float64(max(0, samples[i].at.Sub(acked[k])).Microseconds()) / 1000
	}
	return tr, nil
}

// The corpus. Every record is a pure function of its number, so any record
// can be made again (queries are drawn from records) and the corpus is the
// same on every run and every machine; only the journal order of records
// written concurrently differs.
//
// What it looks like: a wealth-management firm's chat over 2025 — 120
// advisers, 6,000 clients and 40 group chats, on WhatsApp, SMS, Slack,
// Telegram and Signal. A client talks to their adviser on their channel;
// some clients talk much more than others (Zipf). A message is one to
// three sentences (rarely up to eight) from 48 templates, the common ones
// far more frequent (Zipf), with slots filled from Zipf-distributed lists:
// tickers, finance nouns, first names, days, months, amounts, times, and a
// long tail of 20,000 made-up proper names (companies, projects, places),
// so that a few words are in most messages and most words in very few, as
// in real text. 60 records in 1,000 refer to an earlier message of their
// conversation: 35 reactions, 20 edits and 5 deletions. Text only: no
// attachments, which measure the blob store rather than the index or the
// formats.
const (
	corpusSeed     = 2025_0101
	corpusAdvisers = 120
	corpusClients  = 6_000
	corpusGroups   = 40
	corpusTail     = 20_000
	corpusGroupPct = 15
	// Per mille of records that refer to an earlier message.
	corpusReactions = 35
	corpusEdits     = 20
	corpusDeletes   = 5
)

var (
	corpusStart    = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	corpusSpan     = 365 * 24 * time.Hour
	corpusChannels = []string{"wa", "sms", "slack", "telegram", "signal"}
	// corpusChannelShare is each channel's share of clients, in percent.
	corpusChannelShare = []int{40, 25, 20, 10, 5}
	corpusFirst        = []string{"Anna", "Ben", "Chloe", "Dev", "Elena", "Femi", "Grace", "Hiro", "Isla", "Jonas", "Kofi",
		"Lena", "Marco", "Nadia", "Owen", "Priya", "Quinn", "Rosa", "Sami", "Tara", "Umar", "Vera", "Wes", "Xena", "Yusuf",
		"Zoe", "Aiko", "Bruno", "Carla", "Dmitri", "Esme", "Farah", "Gil", "Hana", "Ivan", "Jade", "Karim", "Lucia", "Milo",
		"Noor", "Olga", "Pablo", "Rhea", "Sven", "Tomas", "Ula", "Victor", "Wren", "Yara", "Zane", "Amara", "Boris", "Cleo",
		"Dario", "Edith", "Felix", "Greta", "Hugo", "Ines", "Jorge", "Kira", "Liam", "Maya", "Nico"}
	corpusLast = []string{"Adams", "Baker", "Costa", "Dubois", "Evans", "Fischer", "Garcia", "Hughes", "Ito", "Jensen",
		"Khan", "Lopez", "Müller", "Nakamura", "Okafor", "Patel", "Quist", "Rossi", "Schmidt", "Tanaka", "Usman", "Varga",
		"Weber", "Xu", "Yilmaz", "Zhang", "Andersen", "Bianchi", "Chen", "Dimitrov", "Eriksen", "Fontaine", "Gomez",
		"Horvat", "Ivanova", "Jovanovic", "Kowalski", "Larsen", "Moreau", "Novak", "Olsen", "Petrov", "Ribeiro", "Silva",
		"Torres", "Ueda", "Vasquez", "Wagner", "Young", "Zielinski", "Almeida", "Brennan", "Carvalho", "Doyle", "Esposito",
		"Friedman", "Grant", "Holm", "Iqbal", "Jung", "Kaur", "Lindqvist", "Mensah", "Nowak"}
	corpusTickers = []string{"AAPL", "MSFT", "NVDA", "JPM", "XOM", "TSLA", "AMZN", "GOOGL", "UNH", "PG", "KO", "VTI", "SPY",
		"QQQ", "BND", "AGG", "META", "BRK", "V", "MA", "HD", "CVX", "PFE", "MRK", "ABBV", "PEP", "COST", "WMT", "DIS", "NFLX",
		"ADBE", "CRM", "ORCL", "INTC", "AMD", "CSCO", "T", "VZ", "BA", "CAT", "GE", "IBM", "MMM", "NKE", "SBUX", "MCD", "GS",
		"MS", "BAC", "C", "WFC", "BLK", "SCHW", "TLT", "IEF", "SHY", "GLD", "SLV", "VNQ", "VEA", "VWO", "EFA", "IWM", "DIA",
		"ARKK", "SOXX", "XLE", "XLF", "XLK", "XLV"}
	corpusNouns = []string{"statement", "transfer form", "suitability form", "beneficiary form", "IRA", "Roth IRA",
		"401k rollover", "trust documents", "margin agreement", "tax report", "1099", "cost basis report", "wire instructions",
		"account application", "risk questionnaire", "investment policy statement", "fee schedule", "quarterly report",
		"performance report", "bond ladder", "municipal bonds", "treasury bills", "money market fund", "index fund",
		"annuity", "life insurance policy", "estate plan", "power of attorney", "custody agreement", "trade confirmation",
		"prospectus", "term sheet", "subscription agreement", "capital call", "distribution notice", "K-1",
		"RMD", "529 plan", "HSA", "brokerage account", "joint account", "custodial account", "cash sweep", "dividend reinvestment",
		"stop order", "limit order", "covered calls", "collar", "structured note", "private placement", "hedge fund",
		"private equity fund", "real estate fund", "model portfolio", "rebalancing proposal", "tax-loss harvesting plan",
		"charitable trust", "donor-advised fund", "credit line", "mortgage", "pledged asset line", "ACAT transfer",
		"KYC documents", "W-9", "proxy vote", "rights offering", "tender offer", "spin-off shares", "fractional shares",
		"options agreement"}
	corpusMonths   = []string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}
	corpusWeekdays = []string{"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Monday morning", "Friday afternoon", "tomorrow", "next week"}
	corpusEmoji    = []string{"👍", "❤️", "😂", "🙏", "👀", "✅"}
	// corpusTemplates are sentences as advisers and clients write them;
	// {T}icker, {F} finance noun, {W} long-tail name, {N}ame, {D}ay,
	// {O} month, {P}ercentage, {Q}uantity, {M}oney (price), {A}mount,
	// {H}our. Earlier ones are more frequent.
	corpusTemplates = []string{
		"Ok, sounds good. Talk soon.",
		"Thanks, I will take a look today.",
		"Can you call me when you have a minute?",
		"Following up on our call about the {T} position.",
		"Please send me the {F} for the {W} account before {D}.",
		"Got it, thanks {N}.",
		"Markets opened lower and {T} is down {P} so far today.",
		"I placed the limit order for {Q} shares of {T} at ${M}.",
		"Let me check with the desk and get back to you within the hour.",
		"The quarterly review is on {D} at {H}, does that still work for you?",
		"Thanks, I received the signed {F} and sent it to operations.",
		"Your wire of ${A} cleared this morning.",
		"Can you resend the trade ticket for the {T} purchase?",
		"Please review the proposal I emailed and let me know if you have questions.",
		"The dividend from {T} was credited to your account yesterday.",
		"Could we move the meeting to {D}? Something came up on my side.",
		"I spoke with {N} from operations and the paperwork for {W} is in order.",
		"We rebalanced last week to bring bonds back to {P} of the allocation.",
		"Is the {W} transfer still pending?",
		"Heads up: {T} reports earnings on {D}.",
		"The {F} for {W} is attached, please check the figures.",
		"I need the {F} signed before we can move the funds.",
		"Our research team upgraded {T} to buy with a target of ${M}.",
		"I have a call with {N} at {H}, I will update you afterwards.",
		"What is the cost basis on the {T} lot we bought in {O}?",
		"The client wants to add ${A} to the {F}.",
		"Please hold off on selling {T} until we speak.",
		"We are still waiting on the custodian to release the {W} shares.",
		"The new fund's expense ratio is {P}, lower than the one you hold now.",
		"Let's talk about tax-loss harvesting before year end.",
		"Noted, I will update the client order and confirm the fill.",
		"The block trade in {T} settled as planned and the confirm went out.",
		"Please remember to sign the annual suitability form by {D}.",
		"Happy to help, let me know if anything else comes up.",
		"Sorry for the delay, the system was down this morning.",
		"Lunch on {D} at {W}?",
		"Can you confirm the beneficiary on the {F}?",
		"The {T} options expire on {D}, do you want to roll them?",
		"Sending the {F} over now.",
		"{N} from {W} asked about the {F} again.",
		"Rates look flat for now, so I would keep the {F} as it is.",
		"I moved ${A} from the cash sweep into {T}.",
		"The {W} board meets in {O}, we should decide on the {F} before then.",
		"Did you see the note on {T} from {W}?",
		"My flight lands at {H}, I will call you from the car.",
		"The auditors from {W} need the {F} by {D}.",
		"Please keep {N} copied on anything about the {W} trust.",
		"Confirmed: {Q} {T} sold at ${M}, proceeds settle {D}.",
	}
	// corpusFunctionWords are words a phrase query neither starts nor
	// ends with.
	corpusFunctionWords = map[string]bool{"a": true, "an": true, "the": true, "to": true, "of": true, "and": true, "at": true,
		"on": true, "for": true, "in": true, "is": true, "it": true, "you": true, "i": true, "we": true, "with": true, "be": true,
		"me": true, "my": true, "your": true, "this": true, "that": true, "so": true, "if": true, "up": true, "by": true,
		"from": true, "or": true, "as": true, "can": true, "will": true, "was": true, "are": true, "do": true, "did": true,
		"have": true, "about": true, "into": true, "before": true, "until": true, "then": true, "there": true, "one": true,
		"s": true, "let": true, "any": true, "out": true, "went": true, "when": true, "now": true, "our": true, "them": true}
	// corpusBroad are the candidates for broad queries: the corpus's most
	// frequent words; the search benchmark keeps those matching ≥ 10%.
	corpusBroad = []string{"the", "you", "i", "to", "and", "for", "on", "please", "thanks", "can", "we", "account", "call"}
)

// templateWords is every word of the templates' fixed text, lower-cased:
// the vocabulary every message shares, which AND queries avoid.
var templateWords = func() map[string]bool {
	m := map[string]bool{}
	for _, t := range corpusTemplates {
		for _, w := range words(slotFree(t)) {
			m[strings.ToLower(w)] = true
		}
	}
	return m
}()

func slotFree(t string) string {
	var b strings.Builder
	for i := 0; i < len(t); i++ {
		if t[i] == '{' && i+2 < len(t) {
			i += 2
			continue
		}
		b.WriteByte(t[i])
	}
	return b.String()
}

// words splits s as the index's unicode61 tokenizer does, near enough:
// runs of letters and digits.
func words(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) })
}

type chatCorpus struct {
	n       int
	tail    []string // long-tail proper names
	groups  []chatGroup
	channel []int // client → channel index
}

type chatGroup struct {
	channel, id, name string
	advisers          []int
	clients           []int
}

func newChatCorpus(n int) *chatCorpus {
	r := mrand.New(mrand.NewPCG(corpusSeed, 0))
	c := &chatCorpus{n: n}
	// Long-tail names: two to four syllables, distinct.
	cons, vows := "bdfgklmnprstvz", "aeiou"
	seen := map[string]bool{}
	for len(c.tail) < corpusTail {
		var b strings.Builder
		for range 2 + r.IntN(3) {
			b.WriteByte(cons[r.IntN(len(cons))])
			b.WriteByte(vows[r.IntN(len(vows))])
		}
		if r.IntN(3) == 0 {
			b.WriteByte(cons[r.IntN(len(cons))])
		}
		w := b.String()
		w = strings.ToUpper(w[:1]) + w[1:]
		if !seen[w] && !templateWords[strings.ToLower(w)] {
			seen[w] = true
			c.tail = append(c.tail, w)
		}
	}
	c.channel = make([]int, corpusClients)
	for i := range c.channel {
		x, ch := r.IntN(100), 0
		for x >= corpusChannelShare[ch] {
			x -= corpusChannelShare[ch]
			ch++
		}
		c.channel[i] = ch
	}
	desks := []string{"equities", "fixed-income", "operations", "compliance", "research", "trading", "wealth-planning", "alts"}
	for g := range corpusGroups {
		ch := corpusChannels[[]int{2, 2, 2, 0, 3}[g%5]]
		grp := chatGroup{channel: ch, id: fmt.Sprintf("G%05d", g)}
		if ch == "slack" {
			grp.name = fmt.Sprintf("desk-%s-%d", desks[g%len(desks)], g/len(desks)+1)
		} else {
			grp.name = "Family office " + corpusLast[r.IntN(len(corpusLast))]
			for range 2 + r.IntN(4) {
				if k := r.IntN(corpusClients); !slices.Contains(grp.clients, k) {
					grp.clients = append(grp.clients, k)
				}
			}
		}
		for range 2 + r.IntN(8) {
			if a := r.IntN(corpusAdvisers); !slices.Contains(grp.advisers, a) {
				grp.advisers = append(grp.advisers, a)
			}
		}
		if len(grp.advisers) < 2 {
			grp.advisers = append(grp.advisers, (grp.advisers[0]+1)%corpusAdvisers)
		}
		c.groups = append(c.groups, grp)
	}
	return c
}

// party is person k (an adviser or a client) as channel identifies them.
func party(channel string, adviser bool, k int) onrecord.Party {
	off := 0
	if adviser {
		off = 7919 // names of advisers and clients interleave differently
	}
	name := corpusFirst[(k+off)%len(corpusFirst)] + " " + corpusLast[(k/len(corpusFirst)+k*7+off)%len(corpusLast)]
	var id string
	switch {
	case channel == "slack" && adviser:
		id = fmt.Sprintf("U0A%06d", k)
	case channel == "slack":
		id = fmt.Sprintf("U0C%06d", k)
	case channel == "telegram" && adviser:
		id = strconv.Itoa(700_000_000 + k)
	case channel == "telegram":
		id = strconv.Itoa(500_000_000 + k*13)
	case adviser:
		id = fmt.Sprintf("+1202555%04d", k)
	default:
		id = fmt.Sprintf("+4477009%05d", k)
	}
	return onrecord.Party{ID: id, Name: name}
}

func (c *chatCorpus) rng(i int) *mrand.Rand { return mrand.New(mrand.NewPCG(corpusSeed, uint64(i)+1)) }

// event is record i of the corpus.
func (c *chatCorpus) event(i int) *onrecord.Event {
	r := c.rng(i)
	link := r.IntN(1000)
	ev := c.message(i, r)
	if link >= corpusReactions+corpusEdits+corpusDeletes || i == 0 {
		return ev
	}
	j := i - 1 - r.IntN(min(i, 40))
	rj := c.rng(j)
	if rj.IntN(1000) < corpusReactions+corpusEdits+corpusDeletes {
		return ev // j refers to another itself: keep i a message
	}
	orig := c.message(j, rj)
	out := &onrecord.Event{Channel: orig.Channel, ProviderID: ev.ProviderID, Conversation: orig.Conversation,
		Group: orig.Group, GroupName: orig.GroupName, SentAt: ev.SentAt, Target: orig.ProviderID,
		Sender: orig.Sender, Recipients: orig.Recipients, Direction: orig.Direction}
	switch {
	case link < corpusReactions:
		out.Kind, out.Emoji = onrecord.KindReaction, corpusEmoji[r.IntN(len(corpusEmoji))]
		out.Sender, out.Recipients = orig.Recipients[0], []onrecord.Party{orig.Sender}
		out.Direction = onrecord.Inbound
		if orig.Direction == onrecord.Inbound {
			out.Direction = onrecord.Outbound
		}
	case link < corpusReactions+corpusEdits:
		out.Kind, out.Subtype = onrecord.KindEdit, "text"
		out.Body = orig.Body + " Correction: " + c.sentence(r)
	default:
		out.Kind = onrecord.KindDelete
	}
	return out
}

// message is record i as a message, drawing from r.
func (c *chatCorpus) message(i int, r *mrand.Rand) *onrecord.Event {
	ev := &onrecord.Event{Kind: onrecord.KindMessage, Subtype: "text", ProviderID: fmt.Sprintf("bench.%09d", i)}
	ev.SentAt = c.sentAt(i, r)
	if r.IntN(100) < corpusGroupPct {
		g := c.groups[r.IntN(len(c.groups))]
		ev.Channel, ev.Conversation, ev.Group, ev.GroupName = g.channel, g.id, true, g.name
		var members []onrecord.Party
		for _, a := range g.advisers {
			members = append(members, party(g.channel, true, a))
		}
		for _, k := range g.clients {
			members = append(members, party(g.channel, false, k))
		}
		s := r.IntN(len(members))
		ev.Sender = members[s]
		ev.Recipients = append(slices.Clone(members[:s]), members[s+1:]...)
		ev.Direction = onrecord.Outbound
		if s >= len(g.advisers) {
			ev.Direction = onrecord.Inbound
		}
	} else {
		k := int(mrand.NewZipf(r, 1.05, 8, corpusClients-1).Uint64())
		ch := corpusChannels[c.channel[k]]
		client, adviser := party(ch, false, k), party(ch, true, k%corpusAdvisers)
		ev.Channel, ev.Conversation = ch, ch+":"+client.ID
		if r.IntN(2) == 0 {
			ev.Direction, ev.Sender, ev.Recipients = onrecord.Outbound, adviser, []onrecord.Party{client}
		} else {
			ev.Direction, ev.Sender, ev.Recipients = onrecord.Inbound, client, []onrecord.Party{adviser}
		}
	}
	n := 1
	switch x := r.IntN(100); {
	case x >= 97:
		n = 5 + r.IntN(4)
	case x >= 85:
		n = 3
	case x >= 55:
		n = 2
	}
	var b strings.Builder
	for s := range n {
		if s > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(c.sentence(r))
	}
	ev.Body = b.String()
	return ev
}

// sentAt spreads the records over the year in order, each day's between
// 07:00 and 20:00.
func (c *chatCorpus) sentAt(i int, r *mrand.Rand) time.Time {
	days := corpusSpan.Hours() / 24
	x := (float64(i) + r.Float64()) / float64(c.n) * days
	day := int(x)
	at := time.Duration((x - float64(day)) * float64(13*time.Hour))
	return corpusStart.AddDate(0, 0, day).Add(7*time.Hour + at).Truncate(time.Millisecond)
}

// sentence is one template with its slots filled.
func (c *chatCorpus) sentence(r *mrand.Rand) string {
	t := corpusTemplates[mrand.NewZipf(r, 1.1, 3, uint64(len(corpusTemplates)-1)).Uint64()]
	var b strings.Builder
	for {
		i := strings.IndexByte(t, '{')
		if i < 0 || i+2 >= len(t) {
			b.WriteString(t)
			return b.String()
		}
		b.WriteString(t[:i])
		switch t[i+1] {
		case 'T':
			b.WriteString(corpusTickers[mrand.NewZipf(r, 1.2, 2, uint64(len(corpusTickers)-1)).Uint64()])
		case 'F':
			b.WriteString(corpusNouns[mrand.NewZipf(r, 1.1, 3, uint64(len(corpusNouns)-1)).Uint64()])
		case 'W':
			b.WriteString(c.tail[mrand.NewZipf(r, 1.05, 1, uint64(len(c.tail)-1)).Uint64()])
		case 'N':
			b.WriteString(corpusFirst[r.IntN(len(corpusFirst))])
		case 'D':
			if r.IntN(2) == 0 {
				b.WriteString(corpusWeekdays[r.IntN(len(corpusWeekdays))])
			} else {
				fmt.Fprintf(&b, "%s %d", corpusMonths[r.IntN(12)], 1+r.IntN(28))
			}
		case 'O':
			b.WriteString(corpusMonths[r.IntN(12)])
		case 'P':
			fmt.Fprintf(&b, "%d.%d%%", 1+r.IntN(9), r.IntN(10))
		case 'Q':
			b.WriteString(strconv.Itoa(50 * (1 + r.IntN(40))))
		case 'M':
			fmt.Fprintf(&b, "%d.%02d", 20+r.IntN(480), r.IntN(100))
		case 'A':
			fmt.Fprintf(&b, "%d,%03d.00", 1+r.IntN(250), r.IntN(1000))
		case 'H':
			fmt.Fprintf(&b, "%d:%02d", 8+r.IntN(10), 15*r.IntN(4))
		}
		t = t[i+3:]
	}
}

// write appends records 0..n-1 from writers goroutines.
func (c *chatCorpus) write(ctx context.Context, a *archive.Archive, writers int, log io.Writer) (CorpusInfo, error) {
	info := CorpusInfo{Records: c.n, Channels: corpusChannels, AppendWriters: writers,
		Description: "a wealth-management firm's chat over 2025: 120 advisers, 6,000 clients (Zipf: some talk much more), " +
			"40 group chats, on wa/sms/slack/telegram/signal; 1-3 sentences (rarely 5-8) from 48 templates (Zipf) with " +
			"tickers, finance nouns, names, dates, amounts and a Zipf long tail of 20,000 proper names; 6% reactions, " +
			"edits and deletions of earlier messages; text only"}
	type tally struct {
		kinds      [4]int
		bytes      int
		first, end time.Time
		convs      map[string]bool
		senders    map[string]bool
	}
	tallies := make([]tally, writers)
	var next atomic.Int64
	var failed atomic.Pointer[error]
	var done atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := range writers {
		t := &tallies[w]
		t.convs, t.senders = map[string]bool{}, map[string]bool{}
		wg.Go(func() {
			for failed.Load() == nil && ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= c.n {
					return
				}
				ev := c.event(i)
				if _, err := a.Append(ctx, ev); err != nil {
					failed.Store(&err)
					return
				}
				switch ev.Kind {
				case onrecord.KindMessage:
					t.kinds[0]++
				case onrecord.KindReaction:
					t.kinds[1]++
				case onrecord.KindEdit:
					t.kinds[2]++
				default:
					t.kinds[3]++
				}
				t.bytes += len(ev.Body)
				if t.first.IsZero() || ev.SentAt.Before(t.first) {
					t.first = ev.SentAt
				}
				if ev.SentAt.After(t.end) {
					t.end = ev.SentAt
				}
				t.convs[ev.Channel+"\x00"+ev.Conversation] = true
				t.senders[ev.Channel+"\x00"+ev.Sender.ID] = true
				if d := done.Add(1); d%max(int64(c.n/10), 1) == 0 {
					fmt.Fprintf(log, "  %d/%d\n", d, c.n)
				}
			}
		})
	}
	wg.Wait()
	if p := failed.Load(); p != nil {
		return info, *p
	}
	if err := ctx.Err(); err != nil {
		return info, err
	}
	info.AppendSeconds = time.Since(start).Seconds()
	info.AppendPerS = float64(c.n) / info.AppendSeconds
	convs, senders := map[string]bool{}, map[string]bool{}
	bytes := 0
	for _, t := range tallies {
		info.Messages += t.kinds[0]
		info.Reactions += t.kinds[1]
		info.Edits += t.kinds[2]
		info.Deletes += t.kinds[3]
		bytes += t.bytes
		if !t.first.IsZero() && (info.FirstSentAt.IsZero() || t.first.Before(info.FirstSentAt)) {
			info.FirstSentAt = t.first
		}
		if t.end.After(info.LastSentAt) {
			info.LastSentAt = t.end
		}
		for k := range t.convs {
			convs[k] = true
		}
		for k := range t.senders {
			senders[k] = true
		}
	}
	info.Conversations, info.Senders = len(convs), len(senders)
	info.BodyBytesMean = float64(bytes) / float64(max(c.n, 1))
	return info, nil
}

// queryClass is one class's queries, in the order they are timed.
type queryClass struct {
	name string
	qs   []search.Query
}

// queries makes n queries of each class in searchClasses, drawn from the
// corpus's own messages, deterministically.
func (c *chatCorpus) queries(n int) ([]*queryClass, error) {
	r := mrand.New(mrand.NewPCG(corpusSeed, 1<<40))
	classes := make([]*queryClass, len(searchClasses))
	for i, name := range searchClasses {
		classes[i] = &queryClass{name: name}
	}
	add := func(qc *queryClass, text string) error {
		q, err := search.Parse(text, time.UTC)
		if err != nil {
			return fmt.Errorf("%s query %q: %w", qc.name, text, err)
		}
		qc.qs = append(qc.qs, q)
		return nil
	}
	// message draws a message of the corpus at random.
	message := func() *onrecord.Event {
		for {
			if ev := c.event(r.IntN(c.n)); ev.Kind == onrecord.KindMessage {
				return ev
			}
		}
	}
	content := func(ev *onrecord.Event) []string {
		var out []string
		for _, w := range words(ev.Body) {
			lw := strings.ToLower(w)
			if len(w) >= 3 && !templateWords[lw] && strings.ContainsFunc(w, unicode.IsLetter) && !slices.Contains(out, w) {
				out = append(out, w)
			}
		}
		return out
	}
	day := func() time.Time {
		return corpusStart.AddDate(0, 0, r.IntN(int(corpusSpan.Hours()/24)))
	}
	const ymd = "2006-01-02"
	for len(classes[0].qs) < n {
		if ws := content(message()); len(ws) >= 2 {
			k := r.IntN(len(ws) - 1)
			if err := add(classes[0], ws[k]+" "+ws[k+1+r.IntN(len(ws)-k-1)]); err != nil {
				return nil, err
			}
		}
	}
	for len(classes[1].qs) < n {
		ev := message()
		sentences := strings.SplitAfter(ev.Body, ". ")
		ws := strings.Fields(sentences[r.IntN(len(sentences))])
		for i := range ws {
			ws[i] = strings.TrimFunc(ws[i], func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) })
		}
		l := 2 + r.IntN(2)
		if len(ws) < l {
			continue
		}
		k := r.IntN(len(ws) - l + 1)
		p := ws[k : k+l]
		if slices.Contains(p, "") || corpusFunctionWords[strings.ToLower(p[0])] || corpusFunctionWords[strings.ToLower(p[l-1])] ||
			!slices.ContainsFunc(p, func(w string) bool { return len(w) >= 2 && !templateWords[strings.ToLower(w)] }) {
			// A phrase of template words alone ("sounds good") is in a
			// tenth of the messages: a broad query, not a phrase search.
			continue
		}
		if err := add(classes[1], `"`+strings.Join(p, " ")+`"`); err != nil {
			return nil, err
		}
	}
	for i := range n {
		if err := add(classes[2], corpusBroad[i%len(corpusBroad)]); err != nil {
			return nil, err
		}
	}
	for i := 0; len(classes[3].qs) < n; i++ {
		ev := message()
		var text string
		switch i % 3 {
		case 0:
			text = "from:" + ev.Sender.ID
		case 1:
			ws := content(ev)
			if len(ws) == 0 {
				continue
			}
			text = "channel:" + ev.Channel + " " + ws[r.IntN(len(ws))]
		case 2:
			text = `from:"` + ev.Sender.Name + `"`
		}
		if err := add(classes[3], text); err != nil {
			return nil, err
		}
	}
	for i := 0; len(classes[4].qs) < n; i++ {
		d := day()
		var text string
		switch i % 3 {
		case 0:
			text = "on:" + d.Format(ymd)
		case 1:
			ws := content(message())
			if len(ws) == 0 {
				continue
			}
			text = "after:" + d.Format(ymd) + " before:" + d.AddDate(0, 0, 7).Format(ymd) + " " + ws[0]
		case 2:
			text = "after:" + d.Format(ymd) + " before:" + d.AddDate(0, 1, 0).Format(ymd) + " channel:" + corpusChannels[r.IntN(len(corpusChannels))]
		}
		if err := add(classes[4], text); err != nil {
			return nil, err
		}
	}
	return classes, nil
}

// period is a run of whole days centred in the corpus's year holding
// about want records: [from, to).
func (c *chatCorpus) period(want int) (from, to time.Time) {
	days := int(corpusSpan.Hours() / 24)
	n := min(days, max(1, (want*days+c.n-1)/c.n))
	from = corpusStart.AddDate(0, 0, (days-n)/2)
	return from, from.AddDate(0, 0, n)
}

// uniqueQueries is qs without repeats, in first-seen order.
func uniqueQueries(qs []search.Query) []search.Query {
	seen := map[string]bool{}
	var out []search.Query
	for _, q := range qs {
		if s := q.String(); !seen[s] {
			seen[s] = true
			out = append(out, q)
		}
	}
	return out
}
