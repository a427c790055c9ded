package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/archive"
	"github.com/onrecord/onrecord/internal/meta"
	"github.com/onrecord/onrecord/internal/policy"
)

// System record subtypes written by a rerun.
const (
	subtypePolicyFlag  = "policy.flag"
	subtypePolicyRerun = "policy.rerun"
)

// rerunOptions choose the records a rerun covers and whether it records
// its flags.
type rerunOptions struct {
	// Since and Until bound the records by sent time, [Since, Until); a
	// zero time leaves that side open.
	Since, Until time.Time
	// Channel limits the rerun to one channel; empty for all.
	Channel string
	// DryRun records no flags, only the rerun itself.
	DryRun bool
	// By is who ran the rerun, as recorded.
	By string
}

func (o rerunOptions) covers(ev *onrecord.Event) bool {
	return (o.Channel == "" || ev.Channel == o.Channel) &&
		(o.Since.IsZero() || !ev.SentAt.Before(o.Since)) &&
		(o.Until.IsZero() || ev.SentAt.Before(o.Until))
}

// rerunSpan is where a detector found something: the detector and the
// offsets into the body, never the text.
type rerunSpan struct {
	Detector string `json:"detector"`
	Lexicon  string `json:"lexicon,omitempty"`
	Start    int    `json:"start"`
	End      int    `json:"end"`
}

// rerunFlag is one rule that fired with an action other than allow on one
// archived record: the body of a policy.flag record. Everything in it is
// derived from the record, the policy set and the directory as the journal
// held it when the record was captured, so the same rerun produces the
// same flag byte for byte and the archive stores it once.
type rerunFlag struct {
	PolicyVersion string        `json:"policy_version"`
	TargetSeq     uint64        `json:"target_seq"`
	TargetID      string        `json:"target_id"`
	Channel       string        `json:"channel"`
	ProviderID    string        `json:"provider_id"`
	Kind          string        `json:"kind"`
	Conversation  string        `json:"conversation"`
	Direction     string        `json:"direction"`
	SentAt        time.Time     `json:"sent_at"`
	Rule          string        `json:"rule"` // policy/rule
	Action        policy.Action `json:"action"`
	// Decision is the record's whole decision (the most restrictive
	// action of every rule that fired).
	Decision policy.Action `json:"decision"`
	Message  string        `json:"message,omitempty"`
	Spans    []rerunSpan   `json:"spans,omitempty"`
}

// providerID names the flag by (policy version, record, rule): what makes
// a second rerun with the same policies store nothing new.
func (f *rerunFlag) providerID() string {
	return "flag:" + f.PolicyVersion + ":" + f.TargetID + ":" + f.Rule
}

// event is the flag as a system record. Its time is the flagged record's
// sent time (the time the decision applies to, and a fixed one); when the
// flag was made is the record's capture time.
func (f *rerunFlag) event() (*onrecord.Event, error) {
	raw, err := json.Marshal(f)
	if err != nil {
		return nil, err
	}
	body := fmt.Sprintf("%s: %s on record %d (%s %s)", f.Action, f.Rule, f.TargetSeq, f.Channel, f.ProviderID)
	if f.Message != "" {
		body += ": " + f.Message
	}
	return &onrecord.Event{Kind: onrecord.KindSystem, Subtype: subtypePolicyFlag, ProviderID: f.providerID(),
		Conversation: f.Channel + ":" + f.Conversation, Direction: onrecord.Direction(f.Direction),
		Sender: onrecord.Party{ID: "onrecord"}, SentAt: f.SentAt, Body: body, Raw: raw,
		Meta: map[string]string{"action": string(f.Action), "rule": f.Rule, "policy_version": f.PolicyVersion,
			"target_seq": strconv.FormatUint(f.TargetSeq, 10), "target_id": f.TargetID,
			"channel": f.Channel, "provider_id": f.ProviderID}}, nil
}

// rerunCount is how often one rule fired with one action.
type rerunCount struct {
	Rule   string        `json:"rule"`
	Action policy.Action `json:"action"`
	Flags  int           `json:"flags"`
	// New is how many of them were not on record before this rerun
	// (for a dry run: would not have been).
	New int `json:"new"`
}

// rerunReport is what a rerun found and recorded: counts only, no content.
type rerunReport struct {
	PolicyVersion string `json:"policy_version"`
	By            string `json:"by"`
	DryRun        bool   `json:"dry_run"`
	Since         string `json:"since,omitempty"`
	Until         string `json:"until,omitempty"`
	Channel       string `json:"channel,omitempty"`
	// Evaluated is the captured records in scope the policies ran over.
	Evaluated int `json:"evaluated"`
	// Decisions counts the evaluated records by their decision.
	Decisions map[policy.Action]int `json:"decisions"`
	// Flags is every non-allow rule match; Recorded the policy.flag records
	// this rerun added, AlreadyRecorded those an earlier rerun had.
	Flags           int          `json:"flags"`
	Recorded        int          `json:"recorded"`
	AlreadyRecorded int          `json:"already_recorded"`
	ByRule          []rerunCount `json:"by_rule"`
	// Unparsed records in scope have no content to evaluate; Disposed
	// records can no longer be read; Unreadable ones failed to open.
	Unparsed   int      `json:"unparsed,omitempty"`
	Disposed   int      `json:"disposed,omitempty"`
	Unreadable []uint64 `json:"unreadable,omitempty"`
	// PolicySetRecorded says the rerun recorded the policy set itself,
	// because no policy.set record had its version yet.
	PolicySetRecorded bool `json:"policy_set_recorded,omitempty"`
	// Seq is the policy.rerun record's sequence number.
	Seq uint64 `json:"seq"`
}

// rerunPolicies evaluates set over every captured record of a in scope,
// with the input the gateway builds: the sender's directory attributes
// when the sender is an employee, the external parties' approval and
// consent, and the record's sent time as now. The directory and contacts
// are those the journal held when the record was captured. Unless
// opts.DryRun, every rule that fired with an action other than allow is
// recorded as a policy.flag system record, and the policy set as a
// policy.set record if none has its version; the originals are never
// touched. The rerun itself is recorded as a policy.rerun record either
// way.
func rerunPolicies(ctx context.Context, a *archive.Archive, set *policy.Set, opts rerunOptions) (*rerunReport, error) {
	rep := &rerunReport{PolicyVersion: set.Version, By: opts.By, DryRun: opts.DryRun, Channel: opts.Channel,
		Decisions: map[policy.Action]int{}}
	if !opts.Since.IsZero() {
		rep.Since = opts.Since.Format(time.RFC3339)
	}
	if !opts.Until.IsZero() {
		rep.Until = opts.Until.Format(time.RFC3339)
	}
	h := newGovernanceHistory()
	var flags []rerunFlag
	err := a.Events(0, func(seq uint64, ev *onrecord.Event, err error) error {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		switch {
		case err != nil && onrecord.ErrorCode(err) == onrecord.EINVALID:
			return nil // a hold or disposal record, not an event
		case err != nil && onrecord.ErrorCode(err) == onrecord.ENOTFOUND:
			rep.Disposed++
			return nil
		case err != nil:
			rep.Unreadable = append(rep.Unreadable, seq)
			return nil
		case !archive.Searchable(ev):
			if ev.RawBlob != nil { // a large payload: a policy set, a person with long attributes
				raw, err := a.Raw(ctx, ev)
				if err != nil {
					return fmt.Errorf("system record %d: %w", seq, err)
				}
				c := *ev // shared with later readers of Events: not to be changed
				c.Raw, c.RawBlob = raw, nil
				ev = &c
			}
			return h.apply(seq, ev)
		case !opts.covers(ev):
			return nil
		case ev.Kind == onrecord.KindUnparsed:
			rep.Unparsed++
			return nil
		}
		d, err := set.Evaluate(ctx, rerunInput(h, ev))
		if err != nil {
			return fmt.Errorf("evaluate record %d: %w", seq, err)
		}
		rep.Evaluated++
		rep.Decisions[d.Action]++
		if d.Action == policy.Allow {
			return nil
		}
		for _, mt := range d.Matches {
			if mt.Action == policy.Allow {
				continue
			}
			f := rerunFlag{PolicyVersion: set.Version, TargetSeq: seq, TargetID: ev.ID, Channel: ev.Channel,
				ProviderID: ev.ProviderID, Kind: string(ev.Kind), Conversation: ev.Conversation,
				Direction: string(ev.Direction), SentAt: ev.SentAt, Rule: mt.Policy + "/" + mt.Rule,
				Action: mt.Action, Decision: d.Action, Message: mt.Message}
			for _, fd := range mt.Findings {
				f.Spans = append(f.Spans, rerunSpan{Detector: fd.Detector, Lexicon: fd.Lexicon, Start: fd.Start, End: fd.End})
			}
			flags = append(flags, f)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("policy rerun: %w", err)
	}
	// The flags are appended after the pass, not during it: the pass reads
	// the journal the appends write to.
	counts := map[[2]string]*rerunCount{}
	if !opts.DryRun && len(flags) > 0 && !h.policies[set.Version] {
		if err := recordPolicySet(ctx, a, set); err != nil {
			return nil, err
		}
		rep.PolicySetRecorded = true
	}
	for i := range flags {
		f := &flags[i]
		key := [2]string{f.Rule, string(f.Action)}
		c := counts[key]
		if c == nil {
			c = &rerunCount{Rule: f.Rule, Action: f.Action}
			counts[key] = c
		}
		c.Flags++
		rep.Flags++
		isNew := !h.flags[f.providerID()]
		if !opts.DryRun {
			ev, err := f.event()
			if err != nil {
				return nil, err
			}
			res, err := a.AppendSystem(ctx, ev)
			if err != nil {
				return nil, fmt.Errorf("record flag on record %d: %w", f.TargetSeq, err)
			}
			isNew = !res.Duplicate
		}
		if isNew {
			c.New++
			rep.Recorded++
		} else {
			rep.AlreadyRecorded++
		}
	}
	if opts.DryRun {
		// Nothing was recorded; Recorded counted what would have been.
		rep.Recorded, rep.AlreadyRecorded = 0, 0
	}
	for _, c := range counts {
		rep.ByRule = append(rep.ByRule, *c)
	}
	slices.SortFunc(rep.ByRule, func(x, y rerunCount) int {
		return cmp.Or(cmp.Compare(x.Rule, y.Rule), cmp.Compare(x.Action, y.Action))
	})
	seq, err := recordRerun(ctx, a, rep)
	if err != nil {
		return nil, err
	}
	rep.Seq = seq
	return rep, nil
}

// rerunInput is the policy input for an archived record, built the way the
// gateway builds it for a message it sends: the sender's directory
// attributes when the sender holds a business identity, and for the
// external parties (recipients of an outbound record, the sender of an
// inbound one) whether every one of them is an approved contact and has
// consented. What is not known is left empty, as the gateway leaves it.
func rerunInput(h *governanceHistory, ev *onrecord.Event) policy.Input {
	in := policy.Input{Event: ev, Now: ev.SentAt}
	sender := h.employee(ev.Channel, ev.Sender.ID)
	if sender != nil {
		in.Sender = directoryVars(sender)
	}
	var parties []string
	switch {
	case ev.Direction == onrecord.Outbound:
		for _, r := range ev.Recipients {
			if h.employee(ev.Channel, r.ID) == nil {
				parties = append(parties, r.ID)
			}
		}
	case sender == nil:
		parties = append(parties, ev.Sender.ID)
	}
	if len(parties) > 0 {
		approved, consented := true, true
		for _, p := range parties {
			state := h.consentState(ev.Channel, p)
			approved = approved && state != ""
			consented = consented && state == meta.ConsentAccepted
		}
		in.Contact = map[string]any{"approved": approved, "consented": consented}
	}
	return in
}

// recordPolicySet records a policy set with the full text of its files,
// as governance does when the active set changes, so that the version a
// flag names can always be read back.
func recordPolicySet(ctx context.Context, a *archive.Archive, s *policy.Set) error {
	raw, err := json.Marshal(s.Files)
	if err != nil {
		return err
	}
	var names []string
	for _, f := range s.Files {
		names = append(names, f.Name)
	}
	ev := &onrecord.Event{Kind: onrecord.KindSystem, Subtype: "policy.set", ProviderID: "policy:" + s.Version,
		Conversation: "policies", Direction: onrecord.Inbound, Sender: onrecord.Party{ID: "onrecord"}, SentAt: time.Now().UTC(),
		Body: "policy set " + s.Version + ": " + strings.Join(names, ", "), Raw: raw, Meta: map[string]string{"version": s.Version}}
	if _, err := a.AppendSystem(ctx, ev); err != nil {
		return fmt.Errorf("record policy set %s: %w", s.Version, err)
	}
	return nil
}

// recordRerun records who ran a rerun, over what, and the counts.
func recordRerun(ctx context.Context, a *archive.Archive, rep *rerunReport) (uint64, error) {
	raw, err := json.Marshal(rep)
	if err != nil {
		return 0, err
	}
	mode := "rerun"
	if rep.DryRun {
		mode = "dry run"
	}
	ev := &onrecord.Event{Kind: onrecord.KindSystem, Subtype: subtypePolicyRerun, ProviderID: "rerun:" + meta.NewID(),
		Conversation: "policies", Direction: onrecord.Inbound, Sender: onrecord.Party{ID: orDefault(rep.By, "cli")},
		SentAt: time.Now().UTC(), Raw: raw,
		Body: fmt.Sprintf("policy %s of %s by %s: %d records evaluated, %d flags, %d recorded, %d already on record",
			mode, rep.PolicyVersion, orDefault(rep.By, "cli"), rep.Evaluated, rep.Flags, rep.Recorded, rep.AlreadyRecorded),
		Meta: map[string]string{"policy_version": rep.PolicyVersion, "dry_run": strconv.FormatBool(rep.DryRun),
			"evaluated": strconv.Itoa(rep.Evaluated), "flags": strconv.Itoa(rep.Flags),
			"recorded": strconv.Itoa(rep.Recorded), "already_recorded": strconv.Itoa(rep.AlreadyRecorded)}}
	res, err := a.AppendSystem(ctx, ev)
	if err != nil {
		return 0, fmt.Errorf("record the rerun: %w", err)
	}
	return res.Seq, nil
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// policyRerun is `onrecord policy rerun`: the current policies over the
// archive's history, recording a flag for every rule that fires.
func (m *Main) policyRerun(ctx context.Context, args []string) int {
	fs, load := m.flags("policy rerun", "[--since YYYY-MM-DD] [--until YYYY-MM-DD] [--channel C] [--json] [--dry-run]")
	since := fs.String("since", "", "first UTC day of sent time covered, YYYY-MM-DD (default: open)")
	until := fs.String("until", "", "last UTC day of sent time covered, YYYY-MM-DD (default: open)")
	channel := fs.String("channel", "", "only records of this channel")
	asJSON := fs.Bool("json", false, "print the counts as JSON")
	dryRun := fs.Bool("dry-run", false, "record no flags (the rerun itself is still recorded)")
	cfg, code, ok := m.parse(fs, load, args)
	if !ok {
		return code
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return ExitUsage
	}
	opts := rerunOptions{Channel: *channel, DryRun: *dryRun, By: whoami()}
	for _, d := range []struct {
		flag, v string
		to      *time.Time
		next    bool
	}{{"since", *since, &opts.Since, false}, {"until", *until, &opts.Until, true}} {
		if d.v == "" {
			continue
		}
		t, err := time.Parse("2006-01-02", d.v)
		if err != nil {
			fmt.Fprintf(m.Stderr, "onrecord: --%s %q is not a day (YYYY-MM-DD)\n", d.flag, d.v)
			return ExitUsage
		}
		if d.next {
			t = t.AddDate(0, 0, 1) // --until is inclusive
		}
		*d.to = t
	}
	if !opts.Since.IsZero() && !opts.Until.IsZero() && !opts.Since.Before(opts.Until) {
		fmt.Fprintln(m.Stderr, "onrecord: --since is after --until")
		return ExitUsage
	}
	set, from, err := loadPolicies(cfg)
	if err != nil {
		fmt.Fprintf(m.Stderr, "onrecord: policies in %s are not valid:\n  %s\n", from, strings.ReplaceAll(err.Error(), "\n", "\n  "))
		return ExitFailure
	}
	a, err := archive.Open(ctx, archive.Options{Config: cfg, Logger: m.logger(cfg), Warn: m.Stderr})
	if err != nil {
		return m.fail(err) // a running server holds the data directory: stop it first
	}
	defer a.Close()
	rep, err := rerunPolicies(ctx, a, set, opts)
	if err != nil {
		return m.fail(err)
	}
	code = ExitOK
	if len(rep.Unreadable) > 0 {
		fmt.Fprintf(m.Stderr, "onrecord: %d records could not be read and were not evaluated (first: %d); run onrecord verify\n",
			len(rep.Unreadable), rep.Unreadable[0])
		code = ExitFailure
	}
	if *asJSON {
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		enc.Encode(rep)
		return code
	}
	fmt.Fprintf(m.Stdout, "policies from %s (version %s) over %d records", from, rep.PolicyVersion, rep.Evaluated)
	if rep.Unparsed+rep.Disposed > 0 {
		fmt.Fprintf(m.Stdout, " (%d unparsed and %d disposed records skipped)", rep.Unparsed, rep.Disposed)
	}
	fmt.Fprintln(m.Stdout)
	var decisions []string
	for _, act := range []policy.Action{policy.Allow, policy.Flag, policy.Warn, policy.Redact, policy.RequireApproval, policy.Block} {
		if n := rep.Decisions[act]; n > 0 {
			decisions = append(decisions, fmt.Sprintf("%s %d", act, n))
		}
	}
	fmt.Fprintf(m.Stdout, "decisions: %s\n", orDefault(strings.Join(decisions, ", "), "none"))
	newWord := "new"
	if rep.DryRun {
		newWord = "would be new"
	}
	for _, c := range rep.ByRule {
		fmt.Fprintf(m.Stdout, "  %-40s %-16s %6d  (%d %s)\n", c.Rule, c.Action, c.Flags, c.New, newWord)
	}
	if rep.DryRun {
		fmt.Fprintf(m.Stdout, "dry run: %d flags, none recorded; the rerun is recorded as record %d\n", rep.Flags, rep.Seq)
		return code
	}
	fmt.Fprintf(m.Stdout, "%d flags: %d recorded as policy.flag records, %d already on record; the rerun is recorded as record %d\n",
		rep.Flags, rep.Recorded, rep.AlreadyRecorded, rep.Seq)
	if rep.PolicySetRecorded {
		fmt.Fprintf(m.Stdout, "policy set %s was not on record and has been recorded with its files\n", rep.PolicyVersion)
	}
	return code
}
