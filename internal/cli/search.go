package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/onrecord/onrecord/internal/app"
	"github.com/onrecord/onrecord/internal/archive"
	"github.com/onrecord/onrecord/internal/index"
	"github.com/onrecord/onrecord/internal/search"
)

// openIndex opens the encrypted index under data_dir and brings it up to
// date with the journal.
func openIndex(ctx context.Context, a *archive.Archive, dataDir string) (*index.Index, int, error) {
	ix, err := index.Open(filepath.Join(dataDir, "index"), a.IndexKey())
	if err != nil {
		return nil, 0, err
	}
	added, err := index.CatchUp(ctx, ix, a, archive.Searchable)
	if err != nil {
		ix.Close()
		return nil, 0, err
	}
	return ix, added, nil
}

// selectRecords brings the index up to date and returns the journal
// sequence numbers of what q matches and of what refers to it;
// custodians resolves custodian: names in q.
func selectRecords(ctx context.Context, a *archive.Archive, dataDir string, q search.Query, custodians index.CustodianResolver) ([]uint64, error) {
	ix, _, err := openIndex(ctx, a, dataDir)
	if err != nil {
		return nil, err
	}
	defer ix.Close()
	return ix.Matches(ctx, q, custodians)
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
	req := app.SearchRequest{Query: strings.Join(fs.Args(), " "), Zone: *zone, Limit: *limit, Relevance: *relevance}
	if strings.TrimSpace(req.Query) == "" {
		fmt.Fprintln(m.Stderr, "Usage: onrecord search [--json] [--zone Z] [--relevance] QUERY")
		return ExitUsage
	}
	loc, err := time.LoadLocation(*zone)
	if err != nil {
		fmt.Fprintf(m.Stderr, "onrecord: --zone %q: %v\n", *zone, err)
		return ExitUsage
	}
	var res *app.SearchResult
	if srv := m.server(ctx, cfg); srv != nil {
		// A server has the data directory: ask it rather than open the
		// files a second time.
		res = new(app.SearchResult)
		if code, err := srv.call(ctx, "POST", "/local/v1/search", req, res); err != nil {
			if code == 400 {
				fmt.Fprintf(m.Stderr, "onrecord: query: %v\n", err)
				return ExitUsage
			}
			return m.fail(err)
		}
	} else {
		a, err := archive.Open(ctx, archive.Options{Config: cfg, Logger: m.logger(cfg), Warn: m.Stderr})
		if err != nil {
			return m.fail(err)
		}
		defer a.Close()
		ix, added, err := openIndex(ctx, a, cfg.DataDir)
		if err != nil {
			if errors.Is(err, index.ErrWrongKey) {
				fmt.Fprintln(m.Stderr, "onrecord: the index does not open with this key file; run onrecord reindex")
			}
			return m.fail(err)
		}
		defer ix.Close()
		if added > 0 && !*asJSON {
			fmt.Fprintf(m.Stderr, "indexed %d new records\n", added)
		}
		res, err = app.Search(ctx, a, ix, archiveCustodians(a), req, whoami())
		var se *app.SearchError
		if errors.As(err, &se) {
			fmt.Fprintf(m.Stderr, "onrecord: query: %v\n", err)
			return ExitUsage
		}
		if err != nil {
			return m.fail(err)
		}
	}
	if *asJSON {
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		enc.Encode(res)
		return ExitOK
	}
	fmt.Fprintf(m.Stdout, "%s results for %s\n", res.Count, res.Query)
	for _, h := range res.Hits {
		who := h.SenderName
		if who == "" {
			who = h.Sender
		}
		fmt.Fprintf(m.Stdout, "%s  %-9s %-8s %-20s %s\n", h.SentAt.In(loc).Format("2006-01-02 15:04"), h.Channel, h.Kind, who, snippet(h.Fragments, "«", "»"))
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

// reindex rebuilds the search index from the journal: the index is a
// cache, the journal the truth.
func (m *Main) reindex(ctx context.Context, args []string) int {
	fs, load := m.flags("reindex", "")
	cfg, code, ok := m.parse(fs, load, args)
	if !ok {
		return code
	}
	a, err := archive.Open(ctx, archive.Options{Config: cfg, Logger: m.logger(cfg), Warn: m.Stderr})
	if err != nil {
		return m.fail(err) // a running server holds the directory: stop it first
	}
	defer a.Close()
	if err := os.RemoveAll(cfg.IndexDir()); err != nil {
		return m.fail(err)
	}
	start := time.Now()
	ix, added, err := openIndex(ctx, a, cfg.DataDir)
	if err != nil {
		return m.fail(err)
	}
	ix.Close()
	d := time.Since(start)
	fmt.Fprintf(m.Stdout, "indexed %d records of %d in %s (%.0f/s)\n", added, a.Len(), d.Round(time.Millisecond), float64(added)/d.Seconds())
	return ExitOK
}
