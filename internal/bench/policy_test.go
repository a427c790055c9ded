package bench

import (
	"math"
	"testing"
	"unicode/utf8"

	"github.com/onrecord/onrecord/internal/policy"
	"github.com/onrecord/onrecord/internal/policy/starter"
)

// TestPolicy_ReportsEveryFigureAndFiresOnlyOnPlantedHits runs the whole
// policy benchmark at a toy scale. It checks the report's shape and that
// the generated messages are what the benchmark says they are (every
// planted hit decided on, every other message allowed), never how fast
// anything was.
func TestPolicy_ReportsEveryFigureAndFiresOnlyOnPlantedHits(t *testing.T) {
	rep, err := Policy(t.Context(), PolicyOptions{Messages: 200, Rounds: 1, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"pipeline_ns_per_message", "pipeline_messages_per_s_1g", "pipeline_cpu_ns_per_message"} {
		if v, ok := value(rep.Limits, name); !ok || !(v > 0) || math.IsInf(v, 0) {
			t.Errorf("limit %s = %v (reported: %v)", name, v, ok)
		}
	}
	for _, name := range []string{"policy_decisions_per_s_1g", "policy_ns_per_decision", "policy_us_per_message",
		"policy_cpu_ns_per_decision", "policy_decisions_per_cpu_s", "policy_vs_pipeline_ratio",
		"policy_decision_p50_us", "policy_decision_p99_us", "policy_decision_max_us",
		"scan_builtin_ns_per_message", "lexicon_1000_ns_per_message", "scan_all_ns_per_message"} {
		if v, ok := value(rep.Results, name); !ok || !(v > 0) || math.IsInf(v, 0) {
			t.Errorf("result %s = %v (reported: %v)", name, v, ok)
		}
	}
	if _, ok := value(rep.Results, "rules_ns_per_message"); !ok {
		t.Error("result rules_ns_per_message missing")
	}
	for _, m := range append(rep.Limits, rep.Results...) {
		if rep.Help[m.Name] == "" {
			t.Errorf("%s has no help text", m.Name)
		}
	}
	if rep.Messages != 200 || rep.Rounds != 1 || rep.MessageBytes != 512 || rep.LexiconPhrases != 1000 ||
		rep.CPUs == 0 || rep.GOMAXPROCS == 0 || rep.PolicyVersion == "" || rep.Target == "" || rep.Duration == "" {
		t.Errorf("parameters not reported: %+v", rep)
	}
	starterRules, err := policy.Compile(starter.Files())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rules != len(starterRules.Rules())+1 {
		t.Errorf("%d rules, want the starter pack's %d and the lexicon's", rep.Rules, len(starterRules.Rules()))
	}

	if rep.PlantedHits != 10 {
		t.Errorf("%d planted hits in 200 messages, want 5%%", rep.PlantedHits)
	}
	total := 0
	for _, n := range rep.Actions {
		total += n
	}
	if total != rep.Messages {
		t.Errorf("actions %v add up to %d, want %d", rep.Actions, total, rep.Messages)
	}
	if got := rep.Messages - rep.Actions[policy.Allow]; got != rep.PlantedHits {
		t.Errorf("%d messages decided other than allow (%v), want the %d planted hits", got, rep.Actions, rep.PlantedHits)
	}
}

// TestPolicyMessages_AreDeterministic512ByteTextWithDistinctPhrases checks
// the generators: same messages on every run, each exactly 512 bytes of
// valid text, and 1,000 distinct lexicon phrases.
func TestPolicyMessages_AreDeterministic512ByteTextWithDistinctPhrases(t *testing.T) {
	phrases := marketConductPhrases()
	seen := map[string]bool{}
	for _, p := range phrases {
		seen[p] = true
	}
	if len(phrases) != 1000 || len(seen) != 1000 {
		t.Fatalf("%d phrases, %d distinct; want 1,000", len(phrases), len(seen))
	}
	a, _ := policyMessages(300, phrases)
	b, _ := policyMessages(300, phrases)
	for i := range a {
		ev := a[i].Event
		if ev.Body != b[i].Event.Body || ev.Direction != b[i].Event.Direction {
			t.Fatalf("message %d differs between runs", i)
		}
		if len(ev.Body) != policyMessageBytes || !utf8.ValidString(ev.Body) {
			t.Fatalf("message %d is %d bytes (valid UTF-8: %v)", i, len(ev.Body), utf8.ValidString(ev.Body))
		}
		if err := ev.Validate(); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
}

// BenchmarkPolicy is Set.Evaluate and the capture pipeline, one message
// per iteration, cycling through the benchmark's messages; `onrecord
// bench policy` is the report with the machine's own figures beside it.
func BenchmarkPolicy(b *testing.B) {
	phrases := marketConductPhrases()
	set, err := policy.Compile(append(starter.Files(), policy.File{Name: "bench.yaml", Text: marketConductPolicy(phrases)}))
	if err != nil {
		b.Fatal(err)
	}
	msgs, _ := policyMessages(20_000, phrases)
	b.Run("evaluate", func(b *testing.B) {
		b.SetBytes(policyMessageBytes)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := set.Evaluate(b.Context(), msgs[i%len(msgs)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("pipeline", func(b *testing.B) {
		p, err := newCapturePipeline(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		if err := p.capture(msgs[0].Event); err != nil { // creates the bucket key
			b.Fatal(err)
		}
		b.SetBytes(policyMessageBytes)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if err := p.capture(msgs[i%len(msgs)].Event); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}
