package policy

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/policy/detect"
)

// benchPhrases is a 1,000-phrase lexicon of the shape `onrecord bench
// policy` uses: verbs times objects, many sharing words with desk chat.
func benchPhrases() []string {
	verbs := []string{"front run", "backdate", "park", "wash trade", "churn", "spoof", "hide", "split up",
		"cross internally", "mark up", "pre-hedge", "layer", "quietly unwind", "book offshore", "move off book",
		"net off", "roll forward", "window dress", "squeeze", "pump", "bury", "rebook", "reallocate",
		"late book", "shadow"}
	var objects []string
	for _, o := range []string{"block trade", "client order", "fund position", "hedge", "swap", "repo",
		"bond allocation", "ipo allocation", "fx order", "options book", "loss", "error trade", "month end marks",
		"quarter end book", "short position", "margin call", "commission", "soft dollars", "research payment",
		"trade ticket", "confirm", "settlement", "prime balance", "cash sweep", "bonus pool", "valuation", "nav",
		"trade time", "order ticket", "cross", "rebate", "fee", "spread", "markup", "allocation", "book",
		"inventory", "p and l", "client fill", "price"} {
		objects = append(objects, "the "+o)
	}
	var out []string
	for _, o := range objects {
		for _, v := range verbs {
			out = append(out, v+" "+o)
		}
	}
	return out
}

// benchSet is the starter pack plus the 1,000-phrase lexicon and its rule.
func benchSet(tb testing.TB, phrases []string) *Set {
	tb.Helper()
	var b strings.Builder
	b.WriteString("policy: market_conduct\nlexicons:\n  - name: market_conduct\n    terms:\n")
	for _, p := range phrases {
		b.WriteString("      - " + strconv.Quote(p) + "\n")
	}
	b.WriteString("    negations: [not, never, \"don't\"]\nrules:\n  - id: market-conduct\n")
	b.WriteString("    when: findings.exists(f, f.lexicon == \"market_conduct\")\n    action: flag\n")
	b.WriteString("    detectors: [\"lexicon:market_conduct\"]\n")
	files := starterFiles(tb)
	set, err := Compile(append(files, File{Name: "market_conduct.yaml", Text: b.String()}))
	if err != nil {
		tb.Fatal(err)
	}
	return set
}

// benchMessages are n 512-byte chat messages, every 20th with a planted
// hit (card, SSN, promissory, off-channel, complaint, lexicon phrase).
func benchMessages(n int, phrases []string) []Input {
	rng := rand.New(rand.NewPCG(2026, 11))
	lines := []string{
		"Following up on our call this morning about the %s position.",
		"Markets opened lower and %s is down 2.4%% on the day so far.",
		"I placed the limit order for 300 shares of %s at $182.40, it should fill before the close.",
		"Let me check with the desk and get back to you within the hour.",
		"The quarterly review is on Tuesday at 10:30, does that still work for you?",
		"We rebalanced last week to bring bonds back to 4.5%% of the allocation.",
		"Your wire of $12,500.00 cleared this morning, see %s statement.",
		"Noted, I will update the client order and confirm the fill.",
		"The block trade settled as planned and the confirm went out.",
		"The hedge on the options book rolled at 15:45 as agreed.",
		"Our research team upgraded %s to buy with a target of $240.00.",
	}
	tickers := []string{"AAPL", "MSFT", "NVDA", "JPM", "XOM"}
	hits := []string{
		"Please charge the fee to my card 4111 1111 1111 1111 instead of the account.",
		"For the application form my SSN is 123-45-6789.",
		"Honestly this one is a sure thing, you cannot lose with it.",
		"Easier to whatsapp me tonight and we can finish this there.",
		"I never authorized that sale and I want my money back.",
	}
	out := make([]Input, n)
	for i := range out {
		dir := onrecord.Outbound
		if rng.IntN(2) == 0 {
			dir = onrecord.Inbound
		}
		var b strings.Builder
		b.WriteString("Hi Anna! ")
		if i%20 == 10 {
			if k := (i / 20) % 6; k < len(hits) {
				b.WriteString(hits[k] + " ")
			} else {
				b.WriteString("Can we " + phrases[rng.IntN(len(phrases))] + " before the close? ")
			}
		}
		for b.Len() < 512 {
			l := lines[rng.IntN(len(lines))]
			if strings.Contains(l, "%s") {
				l = fmt.Sprintf(l, tickers[rng.IntN(len(tickers))])
			} else {
				l = strings.ReplaceAll(l, "%%", "%")
			}
			b.WriteString(l + " ")
		}
		ev := &onrecord.Event{Channel: "whatsapp", Kind: onrecord.KindMessage, Direction: dir, Body: b.String()[:512],
			Sender: onrecord.Party{ID: "+12025550100", Name: "Ben"}, Recipients: []onrecord.Party{{ID: "+447700900123"}}}
		in := Input{Event: ev}
		if dir == onrecord.Outbound {
			in.Sender = map[string]any{"id": "+12025550100", "role": "adviser", "department": "wealth"}
			in.Contact = map[string]any{"approved": true, "consented": true}
		}
		out[i] = in
	}
	return out
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loop runs f once per iteration over msgs and reports, beside the wall
// clock, the process CPU time per iteration: on a shared machine the
// wall clock also counts the time other processes held the core.
func loop(b *testing.B, msgs []Input, f func(Input)) {
	b.ReportAllocs()
	cpu := cpuTime()
	i := 0
	for b.Loop() {
		f(msgs[i%len(msgs)])
		i++
	}
	b.ReportMetric(float64((cpuTime()-cpu).Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// BenchmarkEvaluate is one decision per iteration with the starter pack
// and a 1,000-phrase lexicon over 512-byte messages (one in 20 with a
// hit); the issue's target is ≤ 10 µs per decision. `onrecord bench
// policy` reports the same beside the capture pipeline.
func BenchmarkEvaluate(b *testing.B) {
	phrases := benchPhrases()
	set := benchSet(b, phrases)
	msgs := benchMessages(2000, phrases)
	b.SetBytes(512)
	loop(b, msgs, func(in Input) {
		if _, err := set.Evaluate(b.Context(), in); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkEvaluateParts splits a decision's detector scan into the
// built-in detectors and the lexicons (all of them in one trie, as the
// set scans), and times the whole scan (BenchmarkEvaluate minus scan is
// the rules) and whole decisions on the messages with a hit only.
func BenchmarkEvaluateParts(b *testing.B) {
	phrases := benchPhrases()
	set := benchSet(b, phrases)
	msgs := benchMessages(2000, phrases)
	b.Run("builtin", func(b *testing.B) {
		loop(b, msgs, func(in Input) { detect.Scan(in.Event.Body, detect.Options{}) })
	})
	b.Run("lexicons", func(b *testing.B) {
		sc, err := detect.NewScanner(detect.Options{Detectors: []string{"none"}, Lexicons: set.lexicons})
		if err != nil {
			b.Fatal(err)
		}
		loop(b, msgs, func(in Input) { sc.Scan(in.Event.Body) })
	})
	b.Run("scan", func(b *testing.B) {
		loop(b, msgs, func(in Input) { set.scanner.Scan(in.Event.Body) })
	})
	// The one message in 20 with a planted hit, where rules evaluate.
	var hits []Input
	for i := 10; i < len(msgs); i += 20 {
		hits = append(hits, msgs[i])
	}
	b.Run("evaluate-hits", func(b *testing.B) {
		loop(b, hits, func(in Input) {
			if _, err := set.Evaluate(b.Context(), in); err != nil {
				b.Fatal(err)
			}
		})
	})
}
