package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/archive"
	"github.com/onrecord/onrecord/internal/export"
	"github.com/onrecord/onrecord/internal/export/formats"
	"github.com/onrecord/onrecord/internal/retention"
	"github.com/onrecord/onrecord/internal/search"
)

// matterUsage lists the matter subcommands.
const matterUsage = `Usage: onrecord matter open --id ID --type foia|subpoena|exam|litigation|other --received YYYY-MM-DD
           [--zone Z] [--working-days N | --due YYYY-MM-DD] [--title T]
           [--query Q] [--custodian ID,...] [--conversation ID,...] [--from D] [--to D]
       onrecord matter list [--json]
       onrecord matter search --id ID [--json] QUERY
       onrecord matter export --id ID --format F --out DIR [--query Q]
       onrecord matter close --id ID [--release-hold]`

// loadMatters rebuilds the matters from their records.
func loadMatters(a *archive.Archive) (*retention.Matters, error) {
	r := retention.NewMatters()
	err := a.ReplaySystem(func(_ uint64, ev *onrecord.Event) error {
		if strings.HasPrefix(ev.Subtype, "matter.") {
			return r.Apply(ev.Subtype, []byte(ev.Body))
		}
		return nil
	})
	return r, err
}

// recordMatter appends one step of a matter's life.
func recordMatter(ctx context.Context, a *archive.Archive, subtype, id string, body any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	_, err = a.AppendSystem(ctx, &onrecord.Event{Kind: onrecord.KindSystem, Subtype: subtype,
		ProviderID: subtype + ":" + id + ":" + now.Format(time.RFC3339Nano), Conversation: "matter:" + id,
		Direction: onrecord.Inbound, Sender: onrecord.Party{ID: whoami()}, SentAt: now, Body: string(b)})
	return err
}

// matterScope is the matter's hold as a query, ANDed with q when given.
func matterScope(m *retention.Matter, q string) (search.Query, error) {
	scope, err := holdQuery(m.Scope)
	if err != nil || q == "" {
		return scope, err
	}
	loc, _ := time.LoadLocation(m.Zone)
	extra, err := search.Parse(q, loc)
	if err != nil {
		return search.Query{}, err
	}
	nodes := []search.Node{}
	for _, n := range []search.Node{scope.Root, extra.Root} {
		if and, ok := n.(*search.And); ok {
			nodes = append(nodes, and.Nodes...)
		} else {
			nodes = append(nodes, n)
		}
	}
	return search.Query{Root: &search.And{Nodes: nodes}, Location: loc}, nil
}

func (m *Main) matter(ctx context.Context, args []string) int {
	subs := map[string]bool{"open": true, "list": true, "search": true, "export": true, "close": true}
	if len(args) == 0 || !subs[args[0]] {
		fmt.Fprintln(m.Stderr, matterUsage)
		return ExitUsage
	}
	sub := args[0]
	fs, load := m.flags("matter "+sub, "")
	id := fs.String("id", "", "matter id (for example FOIA-2026-0142)")
	typ := fs.String("type", "foia", "foia, subpoena, exam, litigation or other")
	title := fs.String("title", "", "what was asked for, in the requester's words")
	received := fs.String("received", "", "day the request was received, YYYY-MM-DD")
	zone := fs.String("zone", "America/New_York", "time zone of the receiving office (working days and dates)")
	days := fs.Int("working-days", 0, "working days to respond (FOIA: 20)")
	due := fs.String("due", "", "due date, YYYY-MM-DD, instead of working days")
	query := fs.String("query", "", "the search language: the records the matter covers (open), or narrows to (export)")
	custodians := fs.String("custodian", "", "comma-separated custodians covered: people in the directory or participant ids")
	conversations := fs.String("conversation", "", "comma-separated conversations covered")
	from := fs.String("from", "", "first day covered, YYYY-MM-DD")
	to := fs.String("to", "", "last day covered, YYYY-MM-DD")
	format := fs.String("format", "rsmf", "export format: "+formatNames())
	out := fs.String("out", "", "export directory")
	asJSON := fs.Bool("json", false, "print as JSON")
	release := fs.Bool("release-hold", false, "release the matter's hold when closing it")
	cfg, code, ok := m.parse(fs, load, args[1:])
	if !ok {
		return code
	}
	if sub != "list" && *id == "" {
		fmt.Fprintln(m.Stderr, matterUsage)
		return ExitUsage
	}
	a, err := archive.Open(ctx, archive.Options{Config: cfg, Logger: m.logger(cfg), Warn: m.Stderr})
	if err != nil {
		return m.fail(err)
	}
	defer a.Close()
	matters, err := loadMatters(a)
	if err != nil {
		return m.fail(err)
	}
	mt := matters.Get(*id)
	if sub != "list" && sub != "open" && mt == nil {
		return m.fail(onrecord.Errorf(onrecord.EINVALID, "no matter %q (onrecord matter list)", *id))
	}
	now := time.Now()
	switch sub {
	case "open":
		if mt != nil {
			return m.fail(onrecord.Errorf(onrecord.EINVALID, "matter %s is already open", *id))
		}
		nm, err := retention.NewMatter(*id, *typ, *title, *received, *zone, *days, *due)
		if err != nil {
			return m.fail(&onrecord.Error{Code: onrecord.EINVALID, Message: "matter not opened", Err: err})
		}
		nm.Scope = retention.Hold{ID: *id, Name: *title, Query: *query, From: *from, To: *to, Reason: *typ + " " + *id, By: whoami()}
		if *custodians != "" {
			nm.Scope.Custodians = strings.Split(*custodians, ",")
		}
		if *conversations != "" {
			nm.Scope.Conversations = strings.Split(*conversations, ",")
		}
		if !nm.Scope.Scoped() {
			return m.fail(onrecord.Errorf(onrecord.EINVALID, "a matter needs a scope: --query, --custodian or --conversation"))
		}
		q, err := holdQuery(nm.Scope)
		if err != nil {
			return m.fail(&onrecord.Error{Code: onrecord.EINVALID, Message: "matter not opened", Err: err})
		}
		if err := m.checkCustodians(ctx, a, nm.Scope.Custodians); err != nil {
			return m.fail(&onrecord.Error{Code: onrecord.EINVALID, Message: "matter not opened", Err: err})
		}
		nm.OpenedBy, nm.OpenedAt = whoami(), now.UTC()
		// The hold first: from here on nothing the matter covers can be
		// disposed of, whatever happens next.
		if err := a.CreateHold(ctx, nm.Scope); err != nil {
			return m.fail(err)
		}
		if err := recordMatter(ctx, a, retention.SubtypeMatterOpen, *id, nm); err != nil {
			return m.fail(err)
		}
		hits, err := m.matterHits(ctx, a, cfg.DataDir, q, nm.Scope)
		if err != nil {
			return m.fail(err)
		}
		if err := recordMatter(ctx, a, retention.SubtypeMatterSearch, *id, retention.MatterSearch{Matter: *id, At: now.UTC(),
			By: whoami(), Query: q.String(), Hits: hits, Purpose: "scope"}); err != nil {
			return m.fail(err)
		}
		fmt.Fprintf(m.Stdout, "matter %s opened: due %s (%s), %d records covered and held (%s)\n",
			*id, nm.Due.Format("Mon 2006-01-02"), dueRule(nm), hits, q.String())
	case "list":
		all := matters.All()
		if *asJSON {
			enc := json.NewEncoder(m.Stdout)
			enc.SetIndent("", "  ")
			enc.Encode(all)
			return ExitOK
		}
		for _, x := range all {
			state := fmt.Sprintf("%d working days left", x.WorkingDaysLeft(now))
			if left := x.WorkingDaysLeft(now); left < 0 {
				state = fmt.Sprintf("OVERDUE by %d working days", -left)
			}
			if !x.ClosedAt.IsZero() {
				state = "closed " + x.ClosedAt.Format("2006-01-02")
			}
			fmt.Fprintf(m.Stdout, "%-16s %-10s due %s  %-26s %d searches  %s\n", x.ID, x.Type, x.Due.Format("2006-01-02"), state, len(x.Searches), x.Title)
		}
	case "search":
		q, err := matterScope(mt, strings.Join(fs.Args(), " "))
		if err != nil {
			return m.fail(&onrecord.Error{Code: onrecord.EINVALID, Message: "query", Err: err})
		}
		hits, err := m.matterHits(ctx, a, cfg.DataDir, q, mt.Scope)
		if err != nil {
			return m.fail(err)
		}
		if err := recordMatter(ctx, a, retention.SubtypeMatterSearch, *id, retention.MatterSearch{Matter: *id, At: now.UTC(),
			By: whoami(), Query: q.String(), Hits: hits, Purpose: "responsive"}); err != nil {
			return m.fail(err)
		}
		if *asJSON {
			json.NewEncoder(m.Stdout).Encode(map[string]any{"matter": *id, "query": q.String(), "hits": hits})
		} else {
			fmt.Fprintf(m.Stdout, "%d records for %s (recorded in the matter's methodology)\n", hits, q.String())
		}
	case "export":
		if *out == "" {
			fmt.Fprintln(m.Stderr, matterUsage)
			return ExitUsage
		}
		f, known := formats.Get(*format)
		if !known {
			return m.fail(onrecord.Errorf(onrecord.EINVALID, "format %q is not one of %s", *format, formatNames()))
		}
		q, err := matterScope(mt, *query)
		if err != nil {
			return m.fail(&onrecord.Error{Code: onrecord.EINVALID, Message: "query", Err: err})
		}
		seqs, err := selectRecords(ctx, a, cfg.DataDir, q, archiveCustodians(a, mt.Scope.Custodians...))
		if err != nil {
			return m.fail(err)
		}
		step := retention.MatterSearch{Matter: *id, At: now.UTC(), By: whoami(), Query: q.String(), Hits: len(seqs), Purpose: "export"}
		if err := recordMatter(ctx, a, retention.SubtypeMatterSearch, *id, step); err != nil {
			return m.fail(err)
		}
		mt.Searches = append(mt.Searches, step)
		loc, _ := time.LoadLocation(mt.Zone)
		inner := f.Writer(formats.Params{Location: loc, BatesPrefix: strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(*id)), BatesStart: 1, Now: time.Now})
		// The methodology travels with the production, under the manifest.
		w := func(dir string, items []export.Item) ([]export.File, error) {
			files, err := inner(dir, items)
			if err != nil {
				return nil, err
			}
			b, err := json.MarshalIndent(mt, "", "  ")
			if err != nil {
				return nil, err
			}
			if err := os.WriteFile(filepath.Join(dir, "methodology.json"), append(b, '\n'), 0o600); err != nil {
				return nil, err
			}
			return append(files, export.File{Path: "methodology.json"}), nil
		}
		man, err := export.Produce(ctx, a, seqs, *out, w, export.Options{Format: *format, Query: q.String(), Zone: mt.Zone, By: whoami(),
			BatesPrefix: strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(*id)), Origin: cfg.LogOrigin})
		if err != nil {
			return m.fail(err)
		}
		fmt.Fprintf(m.Stdout, "matter %s: exported %d records as %s into %s with its methodology (%d steps)\n", *id, man.Counts.Records, *format, *out, len(mt.Searches))
	case "close":
		if !mt.ClosedAt.IsZero() {
			return m.fail(onrecord.Errorf(onrecord.EINVALID, "matter %s was closed on %s", *id, mt.ClosedAt.Format("2006-01-02")))
		}
		if err := recordMatter(ctx, a, retention.SubtypeMatterClose, *id, map[string]any{"id": *id, "at": now.UTC(), "by": whoami()}); err != nil {
			return m.fail(err)
		}
		if *release {
			if err := a.ReleaseHold(ctx, *id, "matter closed", whoami()); err != nil {
				return m.fail(err)
			}
		}
		fmt.Fprintf(m.Stdout, "matter %s closed\n", *id)
	}
	return ExitOK
}

func dueRule(m *retention.Matter) string {
	if m.WorkingDays > 0 {
		return fmt.Sprintf("%d working days after %s, weekends and federal holidays skipped", m.WorkingDays, m.Received)
	}
	return "given"
}

// matterHits counts what a matter's query finds, with what refers to it.
func (m *Main) matterHits(ctx context.Context, a *archive.Archive, dataDir string, q search.Query, scope retention.Hold) (int, error) {
	seqs, err := selectRecords(ctx, a, dataDir, q, archiveCustodians(a, scope.Custodians...))
	return len(seqs), err
}
