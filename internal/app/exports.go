package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/onrecord/onrecord/internal/export"
	"github.com/onrecord/onrecord/internal/export/formats"
	"github.com/onrecord/onrecord/internal/export/redact"
	"github.com/onrecord/onrecord/internal/index"
	"github.com/onrecord/onrecord/internal/ingest"
	"github.com/onrecord/onrecord/internal/search"
)

// ExportRequest asks for a production.
type ExportRequest struct {
	Query       string `json:"query"`
	Format      string `json:"format"`
	Zone        string `json:"zone,omitempty"`
	Custodian   string `json:"custodian,omitempty"`
	BatesPrefix string `json:"bates_prefix,omitempty"`
	BatesStart  int    `json:"bates_start,omitempty"`
	// Out is the export directory; only the command line on this machine
	// may name one (the API writes under export_dir).
	Out string `json:"out,omitempty"`
	// Redaction, when it names rules or spans, makes the production a
	// release copy (FOIA): redacted in place with exemption codes, a
	// redaction log beside it, the originals' keys withheld.
	Redaction redact.Options `json:"redaction,omitzero"`
}

// ExportJob is a production in progress or done.
type ExportJob struct {
	ID       string    `json:"id"`
	State    string    `json:"state"` // running, done, failed
	Query    string    `json:"query"`
	Format   string    `json:"format"`
	Dir      string    `json:"dir"`
	By       string    `json:"by"`
	Done     int       `json:"done"`
	Total    int       `json:"total"`
	Records  int       `json:"records"`
	Files    int       `json:"files"`
	Withheld int       `json:"withheld"`
	First    string    `json:"bates_first,omitempty"`
	Last     string    `json:"bates_last,omitempty"`
	Error    string    `json:"error,omitempty"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished,omitzero"`
}

// exportJobs runs productions in the background, one at a time per job.
type exportJobs struct {
	mu   sync.Mutex
	jobs map[string]*ExportJob
	wg   sync.WaitGroup
}

func (j *exportJobs) snapshot(id string) (ExportJob, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	job, ok := j.jobs[id]
	if !ok {
		return ExportJob{}, false
	}
	return *job, true
}

func (j *exportJobs) list() []ExportJob {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := make([]ExportJob, 0, len(j.jobs))
	for _, job := range j.jobs {
		out = append(out, *job)
	}
	slices.SortFunc(out, func(a, b ExportJob) int { return a.Started.Compare(b.Started) })
	return out
}

// StartExport validates a request, selects its records and starts the
// production; the job's progress is read with the returned id.
func (a *App) StartExport(ctx context.Context, req ExportRequest, who string, local bool) (ExportJob, error) {
	f, ok := formats.Get(req.Format)
	if !ok {
		return ExportJob{}, &SearchError{fmt.Errorf("format %q is not one of %s", req.Format, strings.Join(formats.Names(), ", "))}
	}
	if req.Zone == "" {
		req.Zone = "UTC"
	}
	loc, err := time.LoadLocation(req.Zone)
	if err != nil {
		return ExportJob{}, &SearchError{fmt.Errorf("zone %q: %w", req.Zone, err)}
	}
	q, err := search.Parse(req.Query, loc)
	if err != nil {
		return ExportJob{}, &SearchError{err}
	}
	id := time.Now().UTC().Format("20060102T150405Z") + "-" + randHex(4)
	dir := filepath.Join(a.Config.ExportDir, id)
	if req.Out != "" {
		if !local {
			return ExportJob{}, &SearchError{errors.New("out is for the command line; the API writes under export_dir")}
		}
		dir = req.Out
	}
	if err := a.index.ready(ctx); err != nil {
		return ExportJob{}, err
	}
	seqs, err := a.index.ix.Matches(ctx, q, a.custodians())
	if err != nil {
		if errors.Is(err, index.ErrNoCustodians) || errors.As(err, new(*index.CustodianError)) {
			return ExportJob{}, &SearchError{err}
		}
		return ExportJob{}, fmt.Errorf("select the records: %w", err)
	}
	job := &ExportJob{ID: id, State: "running", Query: q.String(), Format: req.Format, Dir: dir, By: who, Total: len(seqs), Started: time.Now().UTC()}
	a.exports.mu.Lock()
	a.exports.jobs[id] = job
	// The answer is the job as it starts: copied now, before its goroutine
	// reports progress into it (a copy taken after raced with that).
	started := *job
	a.exports.mu.Unlock()
	w := f.Writer(formats.Params{Location: loc, Custodian: req.Custodian, BatesPrefix: req.BatesPrefix, BatesStart: req.BatesStart, Now: time.Now})
	var hook func(string, []export.Item) ([]export.Item, map[uint64]bool, []export.File, error)
	if req.Redaction.Requested() {
		hook = redact.Hook(req.Redaction)
	}
	a.exports.wg.Go(func() {
		man, err := export.Produce(a.runCtx, a.Archive, seqs, dir, w, export.Options{Format: req.Format, Query: q.String(), Zone: req.Zone,
			By: who, BatesPrefix: req.BatesPrefix, BatesStart: req.BatesStart, Origin: a.Config.LogOrigin, Redact: hook,
			Progress: func(done, total int) {
				a.exports.mu.Lock()
				job.Done, job.Total = done, total
				a.exports.mu.Unlock()
			}})
		a.exports.mu.Lock()
		defer a.exports.mu.Unlock()
		job.Finished = time.Now().UTC()
		if err != nil {
			job.State, job.Error = "failed", err.Error()
			a.log.Error("export failed", "id", id, "err", err)
			return
		}
		job.State, job.Done = "done", job.Total
		job.Records, job.Files, job.Withheld = man.Counts.Records, man.Counts.Files, man.Counts.Withheld
		job.First, job.Last = man.BatesFirst, man.BatesLast
	})
	return started, nil
}

// exportRoutes serves export jobs under prefix; local says the caller is
// the command line on this machine.
func (a *App) exportRoutes(mux *http.ServeMux, prefix string, guard func(http.HandlerFunc) http.HandlerFunc, local bool) {
	mux.HandleFunc("POST "+prefix+"/exports", guard(func(w http.ResponseWriter, r *http.Request) {
		var req ExportRequest
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&req); err != nil {
			writeJSONError(w, http.StatusBadRequest, "body must be a JSON export request: "+err.Error())
			return
		}
		who := ingest.Caller(r.Context())
		if local && r.Header.Get("X-Onrecord-User") != "" {
			who = r.Header.Get("X-Onrecord-User")
		}
		job, err := a.StartExport(r.Context(), req, who, local)
		var se *SearchError
		switch {
		case errors.As(err, &se):
			writeJSONError(w, http.StatusBadRequest, se.Error())
		case errors.As(err, new(*behindError)):
			writeNotReady(w, err)
		case err != nil:
			writeJSONError(w, http.StatusServiceUnavailable, err.Error())
		default:
			w.Header().Set("Location", prefix+"/exports/"+job.ID)
			writeJSONBody(w, http.StatusAccepted, job)
		}
	}))
	mux.HandleFunc("GET "+prefix+"/exports/{id}", guard(func(w http.ResponseWriter, r *http.Request) {
		job, ok := a.exports.snapshot(r.PathValue("id"))
		if !ok {
			writeJSONError(w, http.StatusNotFound, "no such export")
			return
		}
		writeJSONBody(w, http.StatusOK, job)
	}))
	mux.HandleFunc("GET "+prefix+"/exports", guard(func(w http.ResponseWriter, r *http.Request) {
		writeJSONBody(w, http.StatusOK, map[string]any{"exports": a.exports.list()})
	}))
}
