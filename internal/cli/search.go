package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/archive"
	"github.com/onrecord/onrecord/internal/index"
	"github.com/onrecord/onrecord/internal/search"
)

// openIndex opens the encrypted index under data_dir and brings it up to
// date with the journal. Index positions are journal seq + 1, so that the
// index's "0 = empty" never hides record 0.
func openIndex(ctx context.Context, a *archive.Archive, dataDir string) (*index.Index, int, error) {
	ix, err := index.Open(filepath.Join(dataDir, "index"), a.IndexKey())
	if err != nil {
		return nil, 0, err
	}
	pos, err := ix.Position(ctx)
	if err != nil {
		ix.Close()
		return nil, 0, err
	}
	added := 0
	var batch []index.Entry
	err = a.Events(pos, func(seq uint64, ev *onrecord.Event, err error) error {
		if err != nil || ev.Channel == archive.SystemChannel {
			// Holds, disposals, disposed records, and the archive's own
			// records (searches, exports, policy decisions): only the
			// position moves. Searching for a word must not find the
			// searches that used it.
			ev = nil
		}
		batch = append(batch, index.Entry{Seq: seq + 1, Event: ev})
		if ev != nil {
			added++
		}
		if len(batch) < index.BatchSize {
			return nil
		}
		err = ix.AddBatch(ctx, batch)
		batch = batch[:0]
		return err
	})
	if err != nil {
		ix.Close()
		return nil, 0, err
	}
	if err := ix.AddBatch(ctx, batch); err != nil {
		ix.Close()
		return nil, 0, err
	}
	return ix, added, nil
}

func (m *Main) search(ctx context.Context, args []string) int {
	fs, load := m.flags("search", "[--json] [--zone America/New_York] [--relevance] [--limit 20] QUERY")
	asJSON := fs.Bool("json", false, "print results as JSON")
	zone := fs.String("zone", "UTC", "time zone for dates in the query and the output")
	relevance := fs.Bool("relevance", false, "best matches first instead of newest first")
	limit := fs.Int("limit", 20, "results to show")
	cfg, code, ok := m.parse(fs, load, args)
	if !ok {
		return code
	}
	q := strings.Join(fs.Args(), " ")
	if strings.TrimSpace(q) == "" {
		fmt.Fprintln(m.Stderr, "Usage: onrecord search [--json] [--zone Z] [--relevance] QUERY")
		return ExitUsage
	}
	loc, err := time.LoadLocation(*zone)
	if err != nil {
		fmt.Fprintf(m.Stderr, "onrecord: --zone %q: %v\n", *zone, err)
		return ExitUsage
	}
	query, err := search.Parse(q, loc)
	if err != nil {
		fmt.Fprintf(m.Stderr, "onrecord: query: %v\n", err)
		return ExitUsage
	}
	a, err := archive.Open(ctx, archive.Options{Config: cfg, Logger: m.logger(cfg), Warn: m.Stderr})
	if err != nil {
		return m.fail(err)
	}
	defer a.Close()
	ix, added, err := openIndex(ctx, a, cfg.DataDir)
	if err != nil {
		if errors.Is(err, index.ErrWrongKey) {
			fmt.Fprintln(m.Stderr, "onrecord: the index does not open with this key file; remove", filepath.Join(cfg.DataDir, "index"), "and search again to rebuild it")
		}
		return m.fail(err)
	}
	defer ix.Close()
	if added > 0 && !*asJSON {
		fmt.Fprintf(m.Stderr, "indexed %d new records\n", added)
	}
	opts := index.SearchOptions{Limit: *limit}
	if *relevance {
		opts.Order = index.Relevance
	}
	res, err := ix.Search(ctx, query, opts)
	if err != nil {
		return m.fail(err)
	}
	// Every search is on the record: who, what, how many hits.
	audit := &onrecord.Event{Kind: onrecord.KindSystem, Subtype: "access.search", ProviderID: "search:" + time.Now().UTC().Format(time.RFC3339Nano),
		Conversation: "access", Direction: onrecord.Inbound, Sender: onrecord.Party{ID: whoami()}, SentAt: time.Now().UTC(),
		Body: query.String(), Meta: map[string]string{"hits": res.CountText(), "zone": *zone}}
	if _, err := a.AppendSystem(ctx, audit); err != nil {
		return m.fail(fmt.Errorf("the search could not be recorded, so no results are shown: %w", err))
	}
	if *asJSON {
		type hit struct {
			Seq          uint64    `json:"seq"`
			ID           string    `json:"id"`
			Channel      string    `json:"channel"`
			Kind         string    `json:"kind"`
			Conversation string    `json:"conversation"`
			Direction    string    `json:"direction"`
			Sender       string    `json:"sender"`
			SentAt       time.Time `json:"sent_at"`
			Snippet      string    `json:"snippet"`
		}
		out := struct {
			Query string `json:"query"`
			Count string `json:"count"`
			Hits  []hit  `json:"hits"`
		}{Query: query.String(), Count: res.CountText(), Hits: []hit{}}
		for _, h := range res.Hits {
			out.Hits = append(out.Hits, hit{h.Seq - 1, h.ID, h.Channel, string(h.Kind), h.Conversation, string(h.Direction),
				h.Sender.ID, h.SentAt, snippet(h.Snippet, "[", "]")})
		}
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		enc.Encode(out)
		return ExitOK
	}
	fmt.Fprintf(m.Stdout, "%s results for %s\n", res.CountText(), query.String())
	for _, h := range res.Hits {
		who := h.Sender.Name
		if who == "" {
			who = h.Sender.ID
		}
		fmt.Fprintf(m.Stdout, "%s  %-9s %-8s %-20s %s\n", h.SentAt.In(loc).Format("2006-01-02 15:04"), h.Channel, h.Kind, who, snippet(h.Snippet, "«", "»"))
	}
	return ExitOK
}

func snippet(fs []index.Fragment, open, close string) string {
	var b strings.Builder
	for _, f := range fs {
		if f.Match {
			b.WriteString(open + f.Text + close)
		} else {
			b.WriteString(f.Text)
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}
