package bench

// The policy benchmark answers one question: how much does deciding on a
// message cost, next to what capturing that message costs anyway? Both are
// pure CPU work on the message, so they are measured on one goroutine over
// the same in-memory messages, round after round, interleaved, so that a
// noisy neighbour slows both rather than one. The disk is left out on
// purpose: the journal benchmark measures it.

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/app"
	"github.com/onrecord/onrecord/internal/config"
	"github.com/onrecord/onrecord/internal/crypt"
	"github.com/onrecord/onrecord/internal/kms/local"
	"github.com/onrecord/onrecord/internal/policy"
	"github.com/onrecord/onrecord/internal/policy/detect"
	"github.com/onrecord/onrecord/internal/policy/starter"
	"github.com/onrecord/onrecord/record"
)

// PolicyOptions tune `onrecord bench policy`.
type PolicyOptions struct {
	// Messages is how many distinct messages each round decides on
	// (default 20,000).
	Messages int
	// Rounds is how many times each measurement is repeated; the median
	// round is reported (default 5).
	Rounds int
	// Dir is where the scratch keystore for the capture baseline goes
	// (default: the system's temporary directory). Nothing is written to
	// it while the clock runs.
	Dir string
	// Log receives progress lines; nil discards them.
	Log io.Writer
}

// PolicyReport is the JSON object `onrecord bench policy --json` prints:
// results, limits and load average as the other benchmarks report them,
// the run's parameters, and what each figure is.
type PolicyReport struct {
	Report
	Messages       int `json:"messages"`
	MessageBytes   int `json:"message_bytes"`
	Rounds         int `json:"rounds"`
	Rules          int `json:"rules"`
	LexiconPhrases int `json:"lexicon_phrases"`
	// PlantedHits is how many messages carry a card number, an SSN or a
	// watched phrase; every other message should be allowed.
	PlantedHits int `json:"planted_hits"`
	// Actions counts the decisions of one pass over the messages by action.
	Actions       map[policy.Action]int `json:"actions"`
	PolicyVersion string                `json:"policy_version"`
	CPUs          int                   `json:"cpus"`
	GOMAXPROCS    int                   `json:"gomaxprocs"`
	// Target is the goal and TargetMet whether this run reached
	// it, on the wall-clock and the CPU-time figure alike.
	Target    string `json:"target"`
	TargetMet bool   `json:"target_met"`
	// Help says exactly what each metric measures.
	Help map[string]string `json:"help"`
}

const (
	policyMessageBytes = 512
	// policyHitEvery plants a hit in one message of this many (5 %).
	policyHitEvery = 20
	// policyTargetNs is the target: ≤ 10 µs per decision, that is
	// ≥ 100,000 decisions per second on one core.
	policyTargetNs = 10_000
)

// policyHelp is the definition of every metric the policy benchmark reports.
var policyHelp = map[string]string{
	"policy_decisions_per_s_1g": "policy.Set.Evaluate (starter pack + a 1,000-phrase lexicon) on one goroutine, " +
		"wall clock: 1e9 / policy_ns_per_decision",
	"policy_ns_per_decision": "median over rounds of one round's wall time / messages, Set.Evaluate on one goroutine: " +
		"every built-in detector and every lexicon, the CEL variables, every rule (a rule whose findings.exists " +
		"term no finding passes is known false without running it), the redaction",
	"policy_us_per_message": "policy_ns_per_decision in µs: what deciding adds to each message (target ≤ 10)",
	"policy_cpu_ns_per_decision": "process CPU time (user + system, every thread, so the garbage collector's " +
		"background work on other cores is charged too) over all rounds / decisions",
	"policy_decisions_per_cpu_s": "1e9 / policy_cpu_ns_per_decision: decisions per second of one core, GC included",
	"policy_vs_pipeline_ratio":   "policy_ns_per_decision / pipeline_ns_per_message, medians of the same run",
	"policy_decision_p50_us": "one more pass of Set.Evaluate after the rounds, each decision timed on its own: " +
		"median latency of one decision (GC pauses and assists included)",
	"policy_decision_p99_us": "as policy_decision_p50_us, 99th percentile",
	"policy_decision_max_us": "as policy_decision_p50_us, slowest decision",
	"scan_builtin_ns_per_message": "detect.Scan with the built-in detectors only (payment_card, us_ssn, iban, " +
		"aba_routing, email, phone) and no lexicon; median round, wall clock",
	"lexicon_1000_ns_per_message": "the generated 1,000-phrase lexicon alone (detect.Compiled.Find); median round, wall clock",
	"scan_all_ns_per_message": "the detector scan as Set.Evaluate runs it (a detect.Scanner: built-in detectors + " +
		"the starter pack's 5 lexicons + the 1,000-phrase lexicon, every lexicon in one trie); median round, wall clock",
	"rules_ns_per_message": "median over rounds of that round's Set.Evaluate minus its detector scan (measured just " +
		"before it): building the CEL variables, deciding every rule, collecting matches and redacting; " +
		"on a busy machine it can come out below zero when it is smaller than the noise",
	"pipeline_ns_per_message": "capture without policies, CPU part only, median round on one goroutine: what " +
		"archive.Append does with a message before the journal — Event.Validate, HMAC-SHA256 idempotency key, " +
		"json.Marshal of the canonical event (no raw payload, no attachments), HMAC-SHA256 content hash, " +
		"SHA-256 dedup key, random record id, id/captured_at/retention_class spliced in, crypt.Sealer.Seal " +
		"(cached bucket key, HKDF record key, key commitment, AES-256-GCM), envelope MarshalBinary. " +
		"Not included: the dedup map, the journal write and fdatasync, the Merkle leaf, HTTP and the provider's " +
		"JSON, so it is a lower bound of what capture costs",
	"pipeline_messages_per_s_1g":  "1e9 / pipeline_ns_per_message",
	"pipeline_cpu_ns_per_message": "process CPU time over all pipeline rounds / messages, GC included",
}

// Policy measures policy decisions per second on one core with the starter
// pack plus a generated 1,000-phrase lexicon, over deterministic 512-byte
// chat messages (one in 20 carrying a card number, an SSN or a watched
// phrase), beside the same messages through the CPU part of the capture
// pipeline without policies, in the same run.
//
// Each round runs, one after the other on one goroutine, the capture
// pipeline, the built-in detectors alone, the 1,000-phrase lexicon alone,
// the full detector scan, and Set.Evaluate, each over every message after
// a garbage collection; the median round of each is reported. The garbage
// collector is tuned as serve tunes it (app.TuneGC).
func Policy(ctx context.Context, opts PolicyOptions) (*PolicyReport, error) {
	app.TuneGC()
	if opts.Messages <= 0 {
		opts.Messages = 20_000
	}
	if opts.Rounds <= 0 {
		opts.Rounds = 5
	}
	if opts.Dir == "" {
		opts.Dir = os.TempDir()
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}

	phrases := marketConductPhrases()
	files := append(starter.Files(), policy.File{Name: "bench_market_conduct.yaml", Text: marketConductPolicy(phrases)})
	set, err := policy.Compile(files)
	if err != nil {
		return nil, fmt.Errorf("compile the benchmark's policy set: %w", err)
	}
	specs, err := lexiconSpecs(files)
	if err != nil {
		return nil, err
	}
	var all []*detect.Compiled
	var lex1000 *detect.Compiled
	for _, s := range specs {
		c, err := detect.Compile(s)
		if err != nil {
			return nil, fmt.Errorf("compile lexicon %s: %w", s.Name, err)
		}
		all = append(all, c)
		if s.Name == marketConductLexicon {
			lex1000 = c
		}
	}
	// As Set.Evaluate scans: every lexicon in one trie.
	scanAll, err := detect.NewScanner(detect.Options{Lexicons: all})
	if err != nil {
		return nil, err
	}

	fmt.Fprintf(opts.Log, "generating %d messages of %d bytes, one in %d with a planted hit\n", opts.Messages, policyMessageBytes, policyHitEvery)
	msgs, planted := policyMessages(opts.Messages, phrases)

	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, err
	}
	scratch, err := os.MkdirTemp(opts.Dir, "bench-policy-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(scratch)
	pipe, err := newCapturePipeline(scratch)
	if err != nil {
		return nil, err
	}

	rep := &PolicyReport{
		Report:   Report{Dir: scratch},
		Messages: opts.Messages, MessageBytes: policyMessageBytes, Rounds: opts.Rounds,
		Rules: len(set.Rules()), LexiconPhrases: len(phrases), PlantedHits: planted,
		Actions: map[policy.Action]int{}, PolicyVersion: set.Version,
		CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0),
		Target: fmt.Sprintf("policy_ns_per_decision and policy_cpu_ns_per_decision ≤ %d ns (≥ %d decisions/s per core)",
			policyTargetNs, int(1e9/policyTargetNs)),
		Help: policyHelp,
	}

	// Warm-up: one pass of each, which also creates the bucket key the
	// pipeline seals with (a durable write) before any clock runs, and
	// counts the decisions by action.
	fmt.Fprintln(opts.Log, "warm-up: every message captured once and decided on once")
	for _, m := range msgs {
		if err := pipe.capture(m.Event); err != nil {
			return nil, err
		}
		d, err := set.Evaluate(ctx, m)
		if err != nil {
			return nil, fmt.Errorf("evaluate: %w", err)
		}
		rep.Actions[d.Action]++
	}

	type workload struct {
		name string
		run  func(m policy.Input) error
		ns   []float64     // per round, wall ns per message
		cpu  time.Duration // every round's process CPU time
	}
	works := []*workload{
		{name: "capture pipeline", run: func(m policy.Input) error { return pipe.capture(m.Event) }},
		{name: "built-in detectors", run: func(m policy.Input) error { detect.Scan(m.Event.Body, detect.Options{}); return nil }},
		{name: "1,000-phrase lexicon", run: func(m policy.Input) error { lex1000.Find(m.Event.Body); return nil }},
		{name: "all detectors and lexicons", run: func(m policy.Input) error { scanAll.Scan(m.Event.Body); return nil }},
		{name: "Set.Evaluate", run: func(m policy.Input) error { _, err := set.Evaluate(ctx, m); return err }},
	}
	for r := range opts.Rounds {
		for _, w := range works {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			runtime.GC()
			cpu := cpuTime()
			start := time.Now()
			for _, m := range msgs {
				if err := w.run(m); err != nil {
					return nil, fmt.Errorf("%s: %w", w.name, err)
				}
			}
			wall := time.Since(start)
			w.cpu += cpuTime() - cpu
			w.ns = append(w.ns, float64(wall.Nanoseconds())/float64(len(msgs)))
			fmt.Fprintf(opts.Log, "round %d/%d: %-27s %8.0f ns/message\n", r+1, opts.Rounds, w.name, w.ns[len(w.ns)-1])
		}
	}
	// Last, warm, each decision timed on its own for the distribution.
	fmt.Fprintln(opts.Log, "one more pass of Set.Evaluate, each decision timed")
	runtime.GC()
	lat := make([]float64, 0, len(msgs))
	for _, m := range msgs {
		t := time.Now()
		if _, err := set.Evaluate(ctx, m); err != nil {
			return nil, fmt.Errorf("evaluate: %w", err)
		}
		lat = append(lat, float64(time.Since(t).Nanoseconds())/1000)
	}
	median := func(w *workload) float64 { return percentile(append([]float64(nil), w.ns...), 0.5) }
	perCPU := func(w *workload) float64 {
		return float64(w.cpu.Nanoseconds()) / float64(len(msgs)*opts.Rounds)
	}
	pipeNs, builtinNs, lexNs, scanNs, evalNs := median(works[0]), median(works[1]), median(works[2]), median(works[3]), median(works[4])
	// The rules are what Evaluate adds to the scan: paired round by
	// round, so that a neighbour's load drifting between rounds cancels.
	rules := make([]float64, opts.Rounds)
	for r := range rules {
		rules[r] = works[4].ns[r] - works[3].ns[r]
	}
	rulesNs := percentile(rules, 0.5)
	evalCPU := perCPU(works[4])

	rep.Limits = append(rep.Limits,
		Metric{"pipeline_ns_per_message", pipeNs, "ns"},
		Metric{"pipeline_messages_per_s_1g", 1e9 / pipeNs, "messages/s"},
		Metric{"pipeline_cpu_ns_per_message", perCPU(works[0]), "ns"})
	rep.Results = append(rep.Results,
		Metric{"policy_decisions_per_s_1g", 1e9 / evalNs, "decisions/s"},
		Metric{"policy_ns_per_decision", evalNs, "ns"},
		Metric{"policy_us_per_message", evalNs / 1000, "µs"},
		Metric{"policy_cpu_ns_per_decision", evalCPU, "ns"},
		Metric{"policy_decisions_per_cpu_s", 1e9 / evalCPU, "decisions/s"},
		Metric{"policy_vs_pipeline_ratio", evalNs / pipeNs, "ratio"},
		Metric{"policy_decision_p50_us", percentile(lat, 0.50), "µs"},
		Metric{"policy_decision_p99_us", percentile(lat, 0.99), "µs"},
		Metric{"policy_decision_max_us", percentile(lat, 1), "µs"},
		Metric{"scan_builtin_ns_per_message", builtinNs, "ns"},
		Metric{"lexicon_1000_ns_per_message", lexNs, "ns"},
		Metric{"scan_all_ns_per_message", scanNs, "ns"},
		Metric{"rules_ns_per_message", rulesNs, "ns"})
	rep.TargetMet = evalNs <= policyTargetNs && evalCPU <= policyTargetNs
	// duration_per_run: the median Set.Evaluate round.
	rep.Duration = (time.Duration(evalNs) * time.Duration(len(msgs))).Round(time.Millisecond).String()
	rep.LoadAverage = loadAverage()
	return rep, nil
}

// lexiconSpecs reads the lexicons out of policy files, to measure the
// detectors without the rules.
func lexiconSpecs(files []policy.File) ([]detect.LexiconSpec, error) {
	var out []detect.LexiconSpec
	for _, f := range files {
		var doc struct {
			Lexicons []detect.LexiconSpec `yaml:"lexicons"`
		}
		if err := yaml.Unmarshal([]byte(f.Text), &doc); err != nil {
			return nil, fmt.Errorf("%s: %w", f.Name, err)
		}
		out = append(out, doc.Lexicons...)
	}
	return out, nil
}

// capturePipeline is the CPU part of archive.Append, step for step, with
// the archive's own sealer: everything capture does with a message anyway,
// short of the dedup map and the journal.
type capturePipeline struct {
	sealer   *crypt.Sealer
	dedupKey []byte
	class    string
	// dedup and written keep the last dedup key and the envelope bytes
	// produced, as the archive keeps them, so nothing is optimised away.
	dedup   [32]byte
	written int
}

func newCapturePipeline(dir string) (*capturePipeline, error) {
	kek, _, err := local.Open(filepath.Join(dir, "kek.age"), "", true)
	if err != nil {
		return nil, fmt.Errorf("scratch key-encryption key: %w", err)
	}
	s, err := crypt.New(filepath.Join(dir, "keystore"), kek)
	if err != nil {
		return nil, fmt.Errorf("scratch keystore: %w", err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	return &capturePipeline{sealer: s, dedupKey: key, class: config.Default().DefaultRetentionClass}, nil
}

func (p *capturePipeline) keyedHash(domain string, b []byte) [32]byte {
	m := hmac.New(sha256.New, p.dedupKey)
	m.Write([]byte(domain))
	m.Write([]byte{0})
	m.Write(b)
	var out [32]byte
	m.Sum(out[:0])
	return out
}

func (p *capturePipeline) capture(ev *onrecord.Event) error {
	if err := ev.Validate(); err != nil {
		return err
	}
	idem := p.keyedHash("idempotency", []byte(ev.IdempotencyKey()))
	enc, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("encode event: %w", err)
	}
	content := p.keyedHash("content", enc)
	p.dedup = sha256.Sum256(append(idem[:], content[:]...))
	now := time.Now().UTC()
	var id [16]byte
	rand.Read(id[:])
	head, err := json.Marshal(struct {
		ID             string    `json:"id"`
		CapturedAt     time.Time `json:"captured_at"`
		RetentionClass string    `json:"retention_class"`
	}{hex.EncodeToString(id[:]), now, p.class})
	if err != nil {
		return fmt.Errorf("encode event: %w", err)
	}
	pt := make([]byte, 0, len(head)+len(enc))
	pt = append(append(append(pt, head[:len(head)-1]...), ','), enc[1:]...)
	env, err := p.sealer.Seal(record.KindEvent, id, now, p.class, pt)
	if err != nil {
		return fmt.Errorf("seal: %w", err)
	}
	env.Public = append(append(make([]byte, 0, 64), idem[:]...), content[:]...)
	buf, err := env.MarshalBinary()
	if err != nil {
		return fmt.Errorf("encode envelope: %w", err)
	}
	p.written += len(buf)
	return nil
}

const marketConductLexicon = "market_conduct"

// marketConductPhrases is the generated lexicon: 25 verbs of market
// misconduct times 40 things done to, 1,000 distinct phrases of two to
// six words. Many share words with ordinary desk chat ("the block
// trade", "the client order"), so the automaton walks partial matches in
// clean text as it would in production.
func marketConductPhrases() []string {
	verbs := []string{"front run", "backdate", "park", "wash trade", "churn", "spoof", "hide", "split up",
		"cross internally", "mark up", "pre-hedge", "layer", "quietly unwind", "book offshore", "move off book",
		"net off", "roll forward", "window dress", "squeeze", "pump", "bury", "rebook", "reallocate",
		"late book", "shadow"}
	objects := []string{"the block trade", "the client order", "the fund position", "the hedge", "the swap",
		"the repo", "the bond allocation", "the ipo allocation", "the fx order", "the options book", "the loss",
		"the error trade", "the month end marks", "the quarter end book", "the short position", "the margin call",
		"the commission", "the soft dollars", "the research payment", "the trade ticket", "the confirm",
		"the settlement", "the prime balance", "the cash sweep", "the bonus pool", "the valuation", "the nav",
		"the trade time", "the order ticket", "the cross", "the rebate", "the fee", "the spread",
		"the markup", "the allocation", "the book", "the inventory", "the p and l", "the client fill", "the price"}
	out := make([]string, 0, len(verbs)*len(objects))
	for _, o := range objects {
		for _, v := range verbs {
			out = append(out, v+" "+o)
		}
	}
	return out
}

// marketConductPolicy is the generated policy file, written as a person
// would write it next to the starter pack.
func marketConductPolicy(phrases []string) string {
	var b strings.Builder
	b.WriteString("# Generated by onrecord bench policy: a large lexicon beside the starter pack.\n")
	b.WriteString("policy: market_conduct\n")
	b.WriteString("description: Phrases that may signal market misconduct, for supervisory review.\n")
	b.WriteString("lexicons:\n  - name: " + marketConductLexicon + "\n    terms:\n")
	for _, p := range phrases {
		b.WriteString("      - " + strconv.Quote(p) + "\n")
	}
	b.WriteString("    negations: [not, never, \"don't\"]\n")
	b.WriteString("rules:\n  - id: market-conduct\n")
	b.WriteString("    when: findings.exists(f, f.lexicon == \"" + marketConductLexicon + "\")\n")
	b.WriteString("    action: flag\n    detectors: [\"lexicon:" + marketConductLexicon + "\"]\n")
	return b.String()
}

// Words the generated chat is made of: what advisers and clients write
// to each other, with the numbers they write (amounts, prices, times),
// none of which a detector or lexicon should flag.
var (
	chatNames   = []string{"Anna", "Ben", "Chloe", "Dev", "Elena", "Femi", "Grace", "Hiro", "Isla", "Jonas", "Kofi", "Lena", "Marco", "Nadia", "Owen", "Priya"}
	chatTickers = []string{"AAPL", "MSFT", "NVDA", "JPM", "XOM", "TSLA", "AMZN", "GOOGL", "UNH", "PG", "KO", "VTI"}
	chatDays    = []string{"Monday", "Tuesday", "Wednesday", "Thursday", "Friday"}
	chatLines   = []string{
		"Following up on our call this morning about the {T} position.",
		"Can you send me the updated statement for the joint account before {D}?",
		"Markets opened lower and {T} is down {P} on the day so far.",
		"I placed the limit order for {Q} shares of {T} at ${M}, it should fill before the close.",
		"Let me check with the desk and get back to you within the hour.",
		"The quarterly review is on {D} at {H}, does that still work for you?",
		"Thanks, I received the signed transfer form and sent it to operations.",
		"We rebalanced last week to bring bonds back to {P} of the allocation.",
		"Please review the proposal I emailed and let me know if you have questions.",
		"The dividend from {T} was credited to your account yesterday.",
		"Could we move the meeting to {D}? Something came up on my side.",
		"Rates look flat for now, so I would keep the bond ladder as it is.",
		"Your wire of ${A} cleared this morning.",
		"I spoke with the operations team and the paperwork is in order.",
		"The new fund's expense ratio is {P}, lower than the one you hold now.",
		"Let's talk about tax-loss harvesting before year end.",
		"Ok, sounds good. Talk soon.",
		"Noted, I will update the client order and confirm the fill.",
		"The block trade settled as planned and the confirm went out.",
		"Can you resend the trade ticket for the {T} purchase?",
		"The hedge on the options book rolled at {H} as agreed.",
		"Our research team upgraded {T} to buy with a target of ${M}.",
		"I have a call with {N} at {H}, I will update you afterwards.",
		"Please remember to sign the annual suitability form by {D}.",
	}
)

// policyMessages returns n deterministic 512-byte messages, alternately
// sent and received at random, every policyHitEvery-th carrying a planted
// hit: a valid card number, an SSN, a starter-pack phrase or one of the
// generated phrases, in turn. The planted sentence comes second, so
// trimming the message to 512 bytes never cuts it.
func policyMessages(n int, phrases []string) ([]policy.Input, int) {
	rng := mrand.New(mrand.NewPCG(2026, 11))
	pick := func(l []string) string { return l[rng.IntN(len(l))] }
	// fill expands the placeholders of a chat line: {T}icker, {D}ay,
	// {N}ame, {P}ercentage, {Q}uantity, {M}oney (price), {A}mount, {H}our.
	fill := func(line string) string {
		var b strings.Builder
		for {
			i := strings.IndexByte(line, '{')
			if i < 0 || i+2 >= len(line) {
				b.WriteString(line)
				return b.String()
			}
			b.WriteString(line[:i])
			switch line[i+1] {
			case 'T':
				b.WriteString(pick(chatTickers))
			case 'D':
				b.WriteString(pick(chatDays))
			case 'N':
				b.WriteString(pick(chatNames))
			case 'P':
				fmt.Fprintf(&b, "%d.%d%%", 1+rng.IntN(9), rng.IntN(10))
			case 'Q':
				b.WriteString(strconv.Itoa(50 * (1 + rng.IntN(40))))
			case 'M':
				fmt.Fprintf(&b, "%d.%02d", 20+rng.IntN(480), rng.IntN(100))
			case 'A':
				fmt.Fprintf(&b, "%d,%03d.00", 1+rng.IntN(250), rng.IntN(1000))
			case 'H':
				fmt.Fprintf(&b, "%d:%02d", 9+rng.IntN(8), 15*rng.IntN(4))
			}
			line = line[i+3:]
		}
	}
	base := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	channels := []string{"whatsapp", "slack", "sms", "telegram"}
	msgs := make([]policy.Input, n)
	planted := 0
	for i := range msgs {
		dir := onrecord.Outbound
		if rng.IntN(2) == 0 {
			dir = onrecord.Inbound
		}
		var hit string
		if i%policyHitEvery == policyHitEvery/2 {
			planted++
			switch (i / policyHitEvery) % 6 {
			case 0:
				hit = "Please charge the fee to my card " + cardNumber(rng) + " instead of the account."
			case 1:
				hit = fmt.Sprintf("For the application form my SSN is %03d-%02d-%04d.", 1+rng.IntN(665), 1+rng.IntN(99), 1+rng.IntN(9999))
			case 2:
				hit = "Honestly this one is a sure thing, you cannot lose with it."
			case 3:
				hit = "Easier to whatsapp me tonight and we can finish this there."
			case 4:
				// Complaints come from clients.
				dir = onrecord.Inbound
				hit = "I never authorized that sale and I want my money back."
			case 5:
				hit = "Can we " + pick(phrases) + " before the close?"
			}
		}
		name := pick(chatNames)
		var b strings.Builder
		b.WriteString("Hi " + name + "! " + fill(pick(chatLines)))
		if hit != "" {
			b.WriteString(" " + hit)
		}
		for b.Len() < policyMessageBytes {
			b.WriteString(" " + fill(pick(chatLines)))
		}
		body := b.String()[:policyMessageBytes]
		adviser := onrecord.Party{ID: fmt.Sprintf("+1202555%04d", rng.IntN(10000)), Name: pick(chatNames) + " (Adviser)"}
		client := onrecord.Party{ID: fmt.Sprintf("+4477009%05d", rng.IntN(100000)), Name: name}
		ev := &onrecord.Event{
			Channel: channels[i%len(channels)], Kind: onrecord.KindMessage, Subtype: "text",
			ProviderID:   fmt.Sprintf("bench.%08d", i),
			Conversation: "conv-" + client.ID, Direction: dir,
			SentAt: base.Add(time.Duration(i) * 7 * time.Second), Body: body,
		}
		in := policy.Input{Event: ev}
		if dir == onrecord.Outbound {
			ev.Sender, ev.Recipients = adviser, []onrecord.Party{client}
			// As the gate passes them for an employee's message.
			in.Sender = map[string]any{"id": adviser.ID, "name": adviser.Name, "role": "adviser", "department": "wealth"}
			in.Contact = map[string]any{"approved": true, "consented": true}
		} else {
			ev.Sender, ev.Recipients = client, []onrecord.Party{adviser}
		}
		msgs[i] = in
	}
	return msgs, planted
}

// cardNumber is a Visa number that passes the Luhn check, in groups of
// four as people type it.
func cardNumber(rng *mrand.Rand) string {
	d := make([]int, 16)
	d[0] = 4
	for i := 1; i < 15; i++ {
		d[i] = rng.IntN(10)
	}
	sum := 0
	for i := 14; i >= 0; i-- {
		v := d[i]
		if (15-i)%2 == 1 { // doubled: every second digit from the check digit
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
	}
	d[15] = (10 - sum%10) % 10
	var b strings.Builder
	for i, v := range d {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteByte(byte('0' + v))
	}
	return b.String()
}
