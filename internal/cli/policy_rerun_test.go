package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/app"
	"github.com/onrecord/onrecord/internal/archive"
	"github.com/onrecord/onrecord/internal/config"
	"github.com/onrecord/onrecord/internal/policy"
	"github.com/onrecord/onrecord/internal/policy/starter"
)

// governanceTestConfig is a default configuration on a fresh data directory.
func governanceTestConfig(t *testing.T) config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// governanceTestClock is a settable clock for archive.Open.
type governanceTestClock struct{ ns atomic.Int64 }

func (c *governanceTestClock) set(t time.Time)     { c.ns.Store(t.UnixNano()) }
func (c *governanceTestClock) now() time.Time      { return time.Unix(0, c.ns.Load()).UTC() }
func (c *governanceTestClock) add(d time.Duration) { c.ns.Add(int64(d)) }

// provisionPeople imports a users CSV through the application, so the
// directory changes are on record exactly as governance writes them.
func provisionPeople(t *testing.T, cfg config.Config, csv string) {
	t.Helper()
	a, err := app.Open(t.Context(), app.Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := importUsers(t.Context(), a, strings.NewReader(csv), "tester"); err != nil {
		t.Fatal(err)
	}
}

// systemRecords returns the system records of one subtype, by sequence.
func systemRecords(t *testing.T, a *archive.Archive, subtype string) map[uint64]*onrecord.Event {
	t.Helper()
	out := map[uint64]*onrecord.Event{}
	if err := a.ReplaySystem(func(seq uint64, ev *onrecord.Event) error {
		if ev.Subtype == subtype {
			out[seq] = ev
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func starterSet(t *testing.T) *policy.Set {
	t.Helper()
	set, err := policy.Compile(starter.Files())
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func testMain() (*Main, *bytes.Buffer, *bytes.Buffer) {
	var out, errOut bytes.Buffer
	return &Main{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut,
		Env: func(string) (string, bool) { return "", false }}, &out, &errOut
}

// TestPolicyRerun_FlagsOnceWithoutTheText reruns the starter pack over
// captured history: each rule that fired is flagged once, on the right
// record, with offsets and no text; a second rerun stores nothing new; a
// dry run stores only the record of itself; the archive's own records are
// never evaluated.
func TestPolicyRerun_FlagsOnceWithoutTheText(t *testing.T) {
	cfg := governanceTestConfig(t)
	var clock governanceTestClock
	day := time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)
	clock.set(day)
	a, err := archive.Open(t.Context(), archive.Options{Config: cfg, Now: clock.now})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	type sent struct {
		seq  uint64
		id   string
		body string
	}
	var recs []sent
	add := func(channel string, dir onrecord.Direction, body string, at time.Time) {
		t.Helper()
		ev := &onrecord.Event{Channel: channel, Kind: onrecord.KindMessage, ProviderID: "m" + string(rune('a'+len(recs))),
			Conversation: "c1", Direction: dir, Sender: onrecord.Party{ID: "+15550100"},
			Recipients: []onrecord.Party{{ID: "+15559999"}}, SentAt: at, Body: body}
		res, err := a.Append(t.Context(), ev)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, sent{res.Seq, res.ID, body})
	}
	promise := "As discussed I guarantee you a 12% return on this fund"
	card := "my card is 4111 1111 1111 1111 thanks"
	add("wa", onrecord.Outbound, promise, day)                               // promissory: warn + flag
	add("wa", onrecord.Inbound, card, day.Add(time.Minute))                  // pii-inbound: flag
	add("wa", onrecord.Outbound, "see you at lunch", day.Add(2*time.Minute)) // allow
	add("sms", onrecord.Inbound, "guaranteed returns here", day.AddDate(0, 0, -3))
	// The archive's own records are never evaluated, whatever they say.
	if _, err := a.AppendSystem(t.Context(), &onrecord.Event{Kind: onrecord.KindSystem, Subtype: "test.note", ProviderID: "note:1",
		Conversation: "notes", Direction: onrecord.Inbound, Sender: onrecord.Party{ID: "tester"}, SentAt: day, Body: promise}); err != nil {
		t.Fatal(err)
	}
	set := starterSet(t)

	rep, err := rerunPolicies(t.Context(), a, set, rerunOptions{By: "tester"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Evaluated != 4 || rep.Flags != 4 || rep.Recorded != 4 || rep.AlreadyRecorded != 0 || !rep.PolicySetRecorded {
		t.Fatalf("first rerun: %+v", rep)
	}
	if rep.Decisions[policy.Warn] != 1 || rep.Decisions[policy.Flag] != 2 || rep.Decisions[policy.Allow] != 1 {
		t.Fatalf("decisions: %v", rep.Decisions)
	}
	wantRules := map[string]int{"pii/pii-inbound/flag": 1, "promissory/promissory-any/flag": 2, "promissory/promissory-outbound/warn": 1}
	for _, c := range rep.ByRule {
		if wantRules[c.Rule+"/"+string(c.Action)] != c.Flags || c.New != c.Flags {
			t.Errorf("by rule: %+v", c)
		}
		delete(wantRules, c.Rule+"/"+string(c.Action))
	}
	if len(wantRules) != 0 {
		t.Errorf("rules not counted: %v", wantRules)
	}

	flags := systemRecords(t, a, subtypePolicyFlag)
	if len(flags) != 4 {
		t.Fatalf("%d policy.flag records", len(flags))
	}
	targets := map[string]int{}
	for _, ev := range flags {
		var f rerunFlag
		if err := json.Unmarshal(ev.Raw, &f); err != nil {
			t.Fatal(err)
		}
		target := recs[0]
		for _, r := range recs {
			if r.seq == f.TargetSeq {
				target = r
			}
		}
		if f.TargetSeq != target.seq || f.TargetID != target.id || f.PolicyVersion != set.Version ||
			ev.Meta["target_id"] != target.id || ev.ProviderID != f.providerID() {
			t.Errorf("flag %s does not point at its record: %+v", ev.ProviderID, f)
		}
		targets[f.Rule+"@"+f.Channel+"/"+f.ProviderID]++
		for _, s := range f.Spans {
			if s.Start < 0 || s.End > len(target.body) || s.Start >= s.End {
				t.Errorf("span %+v outside %q", s, target.body)
			}
		}
		if f.Rule == "pii/pii-inbound" && (len(f.Spans) != 1 || target.body[f.Spans[0].Start:f.Spans[0].End] != "4111 1111 1111 1111") {
			t.Errorf("card span: %+v", f.Spans)
		}
		all := ev.Body + string(ev.Raw)
		for _, k := range ev.Meta {
			all += k
		}
		for _, secret := range []string{"4111", "12% return", "guarantee you", "guaranteed returns here"} {
			if strings.Contains(all, secret) {
				t.Errorf("flag %s carries the text %q", ev.ProviderID, secret)
			}
		}
	}
	for _, want := range []string{"promissory/promissory-outbound@wa/ma", "promissory/promissory-any@wa/ma", "pii/pii-inbound@wa/mb", "promissory/promissory-any@sms/md"} {
		if targets[want] != 1 {
			t.Errorf("flag %s: %d, want 1 (%v)", want, targets[want], targets)
		}
	}
	if sets := systemRecords(t, a, "policy.set"); len(sets) != 1 {
		t.Errorf("%d policy.set records", len(sets))
	}

	// The same policies again: nothing new but the record of the rerun.
	before := a.Len()
	clock.add(time.Hour)
	rep, err = rerunPolicies(t.Context(), a, set, rerunOptions{By: "tester"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Flags != 4 || rep.Recorded != 0 || rep.AlreadyRecorded != 4 || rep.PolicySetRecorded {
		t.Fatalf("second rerun: %+v", rep)
	}
	if a.Len() != before+1 || rep.Seq != before {
		t.Fatalf("second rerun stored %d records (rerun record %d)", a.Len()-before, rep.Seq)
	}
	if len(systemRecords(t, a, subtypePolicyFlag)) != 4 {
		t.Fatal("second rerun added flags")
	}

	// A dry run over one channel records only itself.
	before = a.Len()
	rep, err = rerunPolicies(t.Context(), a, set, rerunOptions{By: "tester", DryRun: true, Channel: "sms"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Evaluated != 1 || rep.Flags != 1 || rep.Recorded != 0 || rep.ByRule[0].New != 0 || a.Len() != before+1 {
		t.Fatalf("dry run: %+v, %d records stored", rep, a.Len()-before)
	}
	ev, err := a.Get(rep.Seq)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Subtype != subtypePolicyRerun || ev.Sender.ID != "tester" || ev.Meta["dry_run"] != "true" || ev.Meta["flags"] != "1" {
		t.Fatalf("rerun record: %+v", ev)
	}
	if runs := systemRecords(t, a, subtypePolicyRerun); len(runs) != 3 {
		t.Fatalf("%d policy.rerun records, want 3", len(runs))
	}

	// By sent time: only the day before the first three.
	rep, err = rerunPolicies(t.Context(), a, set, rerunOptions{DryRun: true, Since: day.AddDate(0, 0, -3).Truncate(24 * time.Hour), Until: day.Truncate(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Evaluated != 1 || rep.Flags != 1 {
		t.Fatalf("since/until: %+v", rep)
	}
}

// TestPolicyRerun_DirectoryAndConsentAsCaptured gives conditions the
// sender's directory attributes and the contact's consent as they stood
// when the record was captured. Ana's title is long enough that her
// directory record keeps its payload as a blob (archive.RawInline), which
// the rerun reads back to know her.
func TestPolicyRerun_DirectoryAndConsentAsCaptured(t *testing.T) {
	cfg := governanceTestConfig(t)
	title := strings.Repeat("Senior Vice President ", 1000)
	provisionPeople(t, cfg, "user_name,display_name,title,official,active,identities\nana,Ana,"+title+",false,true,wa:+15550001\n")
	var clock governanceTestClock
	day := time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)
	clock.set(day)
	a, err := archive.Open(t.Context(), archive.Options{Config: cfg, Now: clock.now})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	for i, from := range []string{"+15550001", "+15550777"} {
		ev := &onrecord.Event{Channel: "wa", Kind: onrecord.KindMessage, ProviderID: "m" + from, Conversation: "c" + from,
			Direction: onrecord.Outbound, Sender: onrecord.Party{ID: from}, Recipients: []onrecord.Party{{ID: "+15559999"}},
			SentAt: day.Add(time.Duration(i) * time.Minute), Body: "hello"}
		if _, err := a.Append(t.Context(), ev); err != nil {
			t.Fatal(err)
		}
	}
	set, err := policy.Compile([]policy.File{{Name: "p.yaml", Text: `policy: people
rules:
  - id: non-official
    when: has(sender.official) && !sender.official
    action: flag
  - id: unconsented
    when: direction == "outbound" && has(contact.consented) && !contact.consented
    action: warn
`}})
	if err != nil {
		t.Fatal(err)
	}
	blobs := 0
	if err := a.Events(0, func(_ uint64, ev *onrecord.Event, err error) error {
		if err == nil && strings.HasPrefix(ev.Subtype, "directory.") && ev.RawBlob != nil {
			blobs++
		}
		return nil
	}); err != nil || blobs != 1 {
		t.Fatalf("%d directory records keep their payload as a blob (%v), want Ana's", blobs, err)
	}
	rep, err := rerunPolicies(t.Context(), a, set, rerunOptions{By: "tester"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, c := range rep.ByRule {
		got[c.Rule] = c.Flags
	}
	if rep.Evaluated != 2 || got["people/non-official"] != 1 || got["people/unconsented"] != 2 {
		t.Fatalf("rerun: %+v", rep)
	}
	for _, ev := range systemRecords(t, a, subtypePolicyFlag) {
		if ev.Meta["rule"] == "people/non-official" && ev.Meta["provider_id"] != "m+15550001" {
			t.Errorf("non-official flag on %s", ev.Meta["provider_id"])
		}
	}
}

// TestPolicyRerun_Command runs the subcommand against a data directory.
func TestPolicyRerun_Command(t *testing.T) {
	cfg := governanceTestConfig(t)
	a, err := archive.Open(t.Context(), archive.Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	ev := &onrecord.Event{Channel: "wa", Kind: onrecord.KindMessage, ProviderID: "m1", Conversation: "c1",
		Direction: onrecord.Outbound, Sender: onrecord.Party{ID: "+15550100"}, SentAt: time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC),
		Body: "this is a sure thing, double your money"}
	if _, err := a.Append(t.Context(), ev); err != nil {
		t.Fatal(err)
	}
	a.Close()

	m, out, errOut := testMain()
	if code := m.policyRerun(t.Context(), []string{"--data-dir", cfg.DataDir, "--json", "--dry-run"}); code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep rerunReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if !rep.DryRun || rep.Flags != 2 || rep.Recorded != 0 || !strings.HasPrefix(rep.By, "cli") {
		t.Fatalf("dry run: %+v", rep)
	}

	m, out, errOut = testMain()
	if code := m.policyRerun(t.Context(), []string{"--data-dir", cfg.DataDir, "--since", "2026-03-02", "--until", "2026-03-02"}); code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"over 1 records", "promissory/promissory-outbound", "warn", "2 flags: 2 recorded"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// Run again in a new process's archive: the flags are known from the journal.
	m, out, errOut = testMain()
	if code := m.policyRerun(t.Context(), []string{"--data-dir", cfg.DataDir}); code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out.String(), "2 flags: 0 recorded as policy.flag records, 2 already on record") {
		t.Errorf("rerun after reopening:\n%s", out)
	}
	m, _, errOut = testMain()
	if code := m.policyRerun(t.Context(), []string{"--data-dir", cfg.DataDir, "--since", "March"}); code != ExitUsage {
		t.Fatalf("bad --since: exit %d: %s", code, errOut)
	}
}
