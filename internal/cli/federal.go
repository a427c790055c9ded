package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/archive"
	"github.com/onrecord/onrecord/internal/meta"
	"github.com/onrecord/onrecord/internal/retention"
)

// fraStatuses are the statuses of the 20-day rule in report order:
// violations, then what needs attention, then the rest.
var fraStatuses = []string{retention.StatusOverdue, retention.StatusLate, retention.StatusDueSoon, retention.StatusOpen, retention.StatusOnTime}

// fraReport is the 44 U.S.C. 2911 report: every message sent from the
// business identity of someone who uses a non-official account, assessed
// against the 20-day rule.
type fraReport struct {
	Now      time.Time `json:"now"`
	WarnDays int       `json:"warn_days"`
	// People is how many people in the directory are not on official
	// accounts; Messages how many of their messages are tracked.
	People      int                    `json:"people"`
	Messages    int                    `json:"messages"`
	Counts      map[string]int         `json:"counts"`
	Assessments []retention.Assessment `json:"assessments"`
	// Seq is the records.fra_report record's sequence number.
	Seq uint64 `json:"seq,omitempty"`
}

// Violations is how many messages were copied late or not at all in time.
func (r *fraReport) Violations() int {
	return r.Counts[retention.StatusOverdue] + r.Counts[retention.StatusLate]
}

// fraKinds are the events that create or send a record: a message, and
// an edit (a new version of it). Reactions, statuses and deletions do not.
var fraKinds = map[onrecord.EventKind]bool{onrecord.KindMessage: true, onrecord.KindEdit: true}

// assessFRA tracks the messages sent by people whose directory entry says
// they use a non-official account (Official false, active or not), from
// any of their business identities on the identity's channel. Capture by
// onrecord is the copy into the official record, so a captured message's
// CopiedAt is its capture time: a message captured more than 20 days after
// it was sent (an import of a phone's history, a backlog) is late. The
// directory is the current one, rebuilt from its records.
func assessFRA(ctx context.Context, a *archive.Archive, now time.Time, warn time.Duration) (*fraReport, error) {
	h := newGovernanceHistory()
	if err := a.ReplaySystem(h.apply); err != nil {
		return nil, err
	}
	rep := &fraReport{Now: now.UTC(), WarnDays: int(warn / (24 * time.Hour)), Counts: map[string]int{}}
	owner := map[string]string{} // channel \x00 address → user name
	for _, p := range h.dir.People() {
		if p.Official {
			continue
		}
		rep.People++
		for _, id := range p.Identities {
			if _, taken := owner[id.Channel+"\x00"+id.Address]; !taken {
				owner[id.Channel+"\x00"+id.Address] = p.UserName
			}
		}
	}
	var tracked []retention.Tracked
	if len(owner) > 0 {
		err := a.Events(0, func(seq uint64, ev *onrecord.Event, err error) error {
			if cerr := ctx.Err(); cerr != nil {
				return cerr
			}
			if err != nil || !archive.Searchable(ev) || !fraKinds[ev.Kind] {
				return nil
			}
			who, ok := owner[ev.Channel+"\x00"+ev.Sender.ID]
			if !ok {
				return nil
			}
			tracked = append(tracked, retention.Tracked{RecordID: ev.ID, Person: who, Channel: ev.Channel,
				SentAt: ev.SentAt, CopiedAt: ev.CapturedAt})
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("fra report: %w", err)
		}
	}
	rep.Assessments = retention.Assess(tracked, now, warn)
	rep.Messages = len(rep.Assessments)
	for _, as := range rep.Assessments {
		rep.Counts[as.Status]++
	}
	return rep, nil
}

// recordFRAReport records that the report was run, by whom, as of when,
// and its counts; not which messages or whose.
func recordFRAReport(ctx context.Context, a *archive.Archive, rep *fraReport, by string) (uint64, error) {
	summary := struct {
		Now      time.Time      `json:"now"`
		WarnDays int            `json:"warn_days"`
		People   int            `json:"people"`
		Messages int            `json:"messages"`
		Counts   map[string]int `json:"counts"`
	}{rep.Now, rep.WarnDays, rep.People, rep.Messages, rep.Counts}
	raw, err := json.Marshal(summary)
	if err != nil {
		return 0, err
	}
	md := map[string]string{"as_of": rep.Now.Format(time.RFC3339), "people": strconv.Itoa(rep.People),
		"messages": strconv.Itoa(rep.Messages)}
	for _, s := range fraStatuses {
		md[s] = strconv.Itoa(rep.Counts[s])
	}
	ev := &onrecord.Event{Kind: onrecord.KindSystem, Subtype: "records.fra_report", ProviderID: "fra-report:" + meta.NewID(),
		Conversation: "records", Direction: onrecord.Inbound, Sender: onrecord.Party{ID: orDefault(by, "cli")},
		SentAt: time.Now().UTC(), Raw: raw, Meta: md,
		Body: fmt.Sprintf("44 U.S.C. 2911 report as of %s by %s: %d people on non-official accounts, %d messages: %d overdue, %d late, %d due soon, %d open, %d on time",
			rep.Now.Format(time.RFC3339), orDefault(by, "cli"), rep.People, rep.Messages, rep.Counts[retention.StatusOverdue],
			rep.Counts[retention.StatusLate], rep.Counts[retention.StatusDueSoon], rep.Counts[retention.StatusOpen], rep.Counts[retention.StatusOnTime])}
	res, err := a.AppendSystem(ctx, ev)
	if err != nil {
		return 0, fmt.Errorf("record the report: %w", err)
	}
	return res.Seq, nil
}

// records is `onrecord records`: reports on federal records obligations.
// It exits 1 when the report finds violations, so a schedule can alert.
func (m *Main) records(ctx context.Context, args []string) int {
	usage := "Usage: onrecord records fra [--now RFC3339] [--warn-days 3] [--json]\n" +
		"  the 20-day rule of 44 U.S.C. 2911 for people the directory marks as not on official accounts"
	if len(args) == 0 || args[0] != "fra" {
		fmt.Fprintln(m.Stderr, usage)
		return ExitUsage
	}
	fs, load := m.flags("records fra", "[--now RFC3339] [--warn-days 3] [--json]")
	nowFlag := fs.String("now", "", "assess as of this time, RFC 3339 (default: now)")
	warnDays := fs.Int("warn-days", 3, "days before the deadline a message not yet copied is due soon")
	asJSON := fs.Bool("json", false, "print the report with every assessment as JSON")
	cfg, code, ok := m.parse(fs, load, args[1:])
	if !ok {
		return code
	}
	if fs.NArg() != 0 || *warnDays < 0 {
		fs.Usage()
		return ExitUsage
	}
	now := time.Now().UTC()
	if *nowFlag != "" {
		t, err := time.Parse(time.RFC3339, *nowFlag)
		if err != nil {
			fmt.Fprintf(m.Stderr, "onrecord: --now %q is not an RFC 3339 time (2026-11-19T12:00:00Z)\n", *nowFlag)
			return ExitUsage
		}
		now = t
	}
	a, err := archive.Open(ctx, archive.Options{Config: cfg, Logger: m.logger(cfg), Warn: m.Stderr})
	if err != nil {
		return m.fail(err) // a running server holds the data directory: stop it first
	}
	defer a.Close()
	rep, err := assessFRA(ctx, a, now, time.Duration(*warnDays)*24*time.Hour)
	if err != nil {
		return m.fail(err)
	}
	if rep.Seq, err = recordFRAReport(ctx, a, rep, whoami()); err != nil {
		return m.fail(err)
	}
	code = ExitOK
	if rep.Violations() > 0 {
		code = ExitFailure
	}
	if *asJSON {
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		enc.Encode(rep)
		return code
	}
	fmt.Fprintf(m.Stdout, "44 U.S.C. 2911 as of %s: %d people on non-official accounts, %d messages tracked\n",
		rep.Now.Format(time.RFC3339), rep.People, rep.Messages)
	for _, s := range fraStatuses {
		fmt.Fprintf(m.Stdout, "  %-9s %d\n", s, rep.Counts[s])
	}
	day := func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04") }
	for _, as := range rep.Assessments {
		switch as.Status {
		case retention.StatusOverdue:
			fmt.Fprintf(m.Stdout, "OVERDUE   %-20s %-10s record %s sent %s, deadline %s passed, not copied\n",
				as.Person, as.Channel, as.RecordID, day(as.SentAt), day(as.Deadline))
		case retention.StatusLate:
			fmt.Fprintf(m.Stdout, "LATE      %-20s %-10s record %s sent %s, copied %s, %s after the deadline\n",
				as.Person, as.Channel, as.RecordID, day(as.SentAt), day(as.CopiedAt), lateBy(as.CopiedAt.Sub(as.Deadline)))
		case retention.StatusDueSoon:
			fmt.Fprintf(m.Stdout, "DUE SOON  %-20s %-10s record %s sent %s, copy by %s\n",
				as.Person, as.Channel, as.RecordID, day(as.SentAt), day(as.Deadline))
		}
	}
	fmt.Fprintf(m.Stdout, "report recorded as record %d\n", rep.Seq)
	return code
}

// lateBy says how late, in days when it is at least one.
func lateBy(d time.Duration) string {
	if d >= 24*time.Hour {
		return fmt.Sprintf("%.1f days", d.Hours()/24)
	}
	return d.Round(time.Minute).String()
}
