package bench

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/onrecord/onrecord"
)

// checkRecordsReport checks what every records report must hold: each
// named figure present and finite, every figure explained, the corpus and
// the targets reported. It never looks at how fast anything was.
func checkRecordsReport(t *testing.T, rep *RecordsReport, command string, limits, results []string) {
	t.Helper()
	for _, name := range limits {
		if v, ok := metricValue(rep.Limits, name); !ok || !(v > 0) || math.IsInf(v, 0) {
			t.Errorf("limit %s = %v (reported: %v)", name, v, ok)
		}
	}
	for _, name := range results {
		if v, ok := metricValue(rep.Results, name); !ok || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			t.Errorf("result %s = %v (reported: %v)", name, v, ok)
		}
	}
	for _, m := range append(rep.Limits, rep.Results...) {
		if rep.Help[m.Name] == "" {
			t.Errorf("%s has no help text", m.Name)
		}
	}
	for _, tg := range rep.Targets {
		if _, ok := metricValue(rep.Results, tg.Metric); !ok || tg.Goal == "" {
			t.Errorf("target %+v is not on a reported result", tg)
		}
	}
	c := rep.Corpus
	if rep.Command != command || c.Records == 0 || c.Messages+c.Reactions+c.Edits+c.Deletes != c.Records ||
		c.Conversations == 0 || c.Senders == 0 || c.AppendPerS <= 0 || c.Description == "" ||
		rep.CPUs == 0 || rep.Dir == "" || rep.Duration == "" {
		t.Errorf("report parameters: command %q, corpus %+v, cpus %d, dir %q, duration %q", rep.Command, c, rep.CPUs, rep.Dir, rep.Duration)
	}
}

// TestIndex_ReportsEveryFigure runs the index benchmark at a toy scale.
func TestIndex_ReportsEveryFigure(t *testing.T) {
	rep, err := Index(t.Context(), IndexOptions{Dir: t.TempDir(), Messages: 2000, Rate: 400,
		TailDuration: 500 * time.Millisecond, TailEvery: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	checkRecordsReport(t, rep, "index",
		[]string{"fdatasync_4k_p50_ms", "fdatasync_4k_p99_ms", "seq_write_mib_per_s", "archive_scan_open_per_s"},
		[]string{"index_catchup_messages_per_s", "index_catchup_seconds", "index_catchup_cpus_busy", "index_vs_scan_ratio",
			"index_disk_bytes_per_rec", "searchable_after_ack_p50_ms", "searchable_after_ack_p99_ms", "searchable_after_ack_max_ms",
			"tail_offered_per_s", "tail_achieved_per_s", "tail_append_ack_p99_ms", "tail_send_lag_p99_ms", "tail_catchup_p99_ms",
			"tail_index_lag_max_records"})
	if len(rep.Targets) != 2 {
		t.Errorf("targets %+v, want indexing rate and searchable p99", rep.Targets)
	}
	if v, _ := metricValue(rep.Results, "tail_offered_per_s"); v != 400 {
		t.Errorf("tail_offered_per_s = %v, want 400", v)
	}
}

// TestSearch_ReportsEveryClassAndBroadQueriesMatchATenth runs the search
// benchmark at a toy scale.
func TestSearch_ReportsEveryClassAndBroadQueriesMatchATenth(t *testing.T) {
	rep, err := Search(t.Context(), SearchOptions{Dir: t.TempDir(), Messages: 2000, Queries: 20})
	if err != nil {
		t.Fatal(err)
	}
	var results []string
	for _, c := range searchClasses {
		results = append(results, "search_"+c+"_p50_ms", "search_"+c+"_p95_ms", "search_"+c+"_p99_ms")
	}
	checkRecordsReport(t, rep, "search", []string{"fdatasync_4k_p50_ms", "seq_write_mib_per_s"}, append(results, "search_broad_match_fraction_min"))
	if len(rep.Queries) != len(searchClasses) {
		t.Fatalf("%d query classes reported, want %d", len(rep.Queries), len(searchClasses))
	}
	for _, qc := range rep.Queries {
		if qc.Queries != 20 || qc.Distinct == 0 || len(qc.Examples) == 0 {
			t.Errorf("class %+v", qc)
		}
		// Drawn from the corpus's own messages, these always find something.
		if (qc.Name == "and2" || qc.Name == "phrase" || qc.Name == "broad") && qc.ZeroHits > 0 {
			t.Errorf("class %s: %d searches found nothing", qc.Name, qc.ZeroHits)
		}
		if qc.Name == "broad" && (qc.MatchFractionMin < 0.10 || qc.MatchFractionMedian < qc.MatchFractionMin) {
			t.Errorf("broad queries match %v..%v of the records, want at least 10%%", qc.MatchFractionMin, qc.MatchFractionMedian)
		}
	}
	if len(rep.Targets) != 3 || rep.Targets[0].AtMessages != TargetCorpusMessages {
		t.Errorf("targets %+v", rep.Targets)
	}
}

// TestExport_ProducesAndVerifiesEveryFormat runs the export benchmark at a
// toy scale; Export fails if any production does not verify.
func TestExport_ProducesAndVerifiesEveryFormat(t *testing.T) {
	rep, err := Export(t.Context(), ExportOptions{Dir: t.TempDir(), Messages: 2000, Selection: 500})
	if err != nil {
		t.Fatal(err)
	}
	results := []string{"export_selected", "export_produced", "archive_get_per_s", "export_raw_verified_messages_per_s"}
	for _, f := range benchExportFormats {
		results = append(results, "export_"+f+"_messages_per_s", "export_"+f+"_mib", "verify_"+f+"_messages_per_s")
	}
	checkRecordsReport(t, rep, "export",
		[]string{"fdatasync_4k_p50_ms", "seq_write_mib_per_s", "archive_scan_open_per_s", "json_marshal_events_per_s"}, results)
	x := rep.ExportInfo
	if x == nil || !x.Verified || x.Selected < 450 || x.Selected > 700 || x.Produced == 0 || x.Produced > x.Selected ||
		!strings.HasPrefix(x.Query, "after:") || x.RawIs == "" {
		t.Errorf("export info %+v", x)
	}
	if len(rep.Targets) != len(benchExportFormats) {
		t.Errorf("targets %+v, want one per format", rep.Targets)
	}
}

// TestChatCorpus_IsDeterministicValidAndShapedAsDescribed checks the
// generator: the same records on every run, each valid, spread over the
// year, with reactions, edits and deletions that refer to an earlier
// message of their conversation.
func TestChatCorpus_IsDeterministicValidAndShapedAsDescribed(t *testing.T) {
	const n = 5000
	a, b := newChatCorpus(n), newChatCorpus(n)
	messages := map[string]*onrecord.Event{}
	kinds := map[onrecord.EventKind]int{}
	for i := range n {
		ev := a.event(i)
		if other := b.event(i); other.Body != ev.Body || other.ProviderID != ev.ProviderID || other.Sender != ev.Sender {
			t.Fatalf("record %d differs between runs", i)
		}
		if err := ev.Validate(); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if ev.SentAt.Year() != 2025 || ev.SentAt.Hour() < 7 || ev.SentAt.Hour() >= 20 {
			t.Fatalf("record %d sent at %s, want 2025 in office hours", i, ev.SentAt)
		}
		kinds[ev.Kind]++
		if ev.Kind == onrecord.KindMessage {
			messages[ev.ProviderID] = ev
			continue
		}
		orig := messages[ev.Target]
		if orig == nil || orig.Channel != ev.Channel || orig.Conversation != ev.Conversation {
			t.Fatalf("record %d (%s) refers to %q, not an earlier message of its conversation", i, ev.Kind, ev.Target)
		}
	}
	if kinds[onrecord.KindMessage] < n*90/100 || kinds[onrecord.KindReaction] == 0 || kinds[onrecord.KindEdit] == 0 || kinds[onrecord.KindDelete] == 0 {
		t.Errorf("kinds %v", kinds)
	}
	classes, err := a.queries(50)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range classes {
		if len(c.qs) != 50 {
			t.Errorf("class %s: %d queries, want 50", c.name, len(c.qs))
		}
	}
	from, to := a.period(1000)
	if d := to.Sub(from); d < 70*24*time.Hour || d > 75*24*time.Hour {
		t.Errorf("period for 1,000 of 5,000 records is %s long, want a fifth of the year", d)
	}
}
