package app

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/archive"
	"github.com/onrecord/onrecord/internal/durable"
	"github.com/onrecord/onrecord/internal/index"
	"github.com/onrecord/onrecord/internal/ingest"
	"github.com/onrecord/onrecord/internal/sched"
	"github.com/onrecord/onrecord/internal/search"
	"github.com/prometheus/client_golang/prometheus"
)

// SearchRequest is a search as the API and the command line ask it.
type SearchRequest struct {
	Query     string `json:"query"`
	Zone      string `json:"zone,omitempty"`
	Limit     int    `json:"limit,omitempty"`
	Offset    int    `json:"offset,omitempty"`
	Relevance bool   `json:"relevance,omitempty"`
}

// SearchResult is one page of results.
type SearchResult struct {
	Query string      `json:"query"`
	Count string      `json:"count"`
	Hits  []SearchHit `json:"hits"`
}

// SearchHit is one matching record; Snippet marks matches with [ and ].
type SearchHit struct {
	Seq          uint64           `json:"seq"`
	ID           string           `json:"id"`
	Channel      string           `json:"channel"`
	Kind         string           `json:"kind"`
	Conversation string           `json:"conversation"`
	Direction    string           `json:"direction"`
	Sender       string           `json:"sender"`
	SenderName   string           `json:"sender_name,omitempty"`
	SentAt       time.Time        `json:"sent_at"`
	Snippet      string           `json:"snippet"`
	Fragments    []index.Fragment `json:"fragments"`
}

// SearchError is a query the caller must fix (400, exit code 2).
type SearchError struct{ Err error }

func (e *SearchError) Error() string { return e.Err.Error() }
func (e *SearchError) Unwrap() error { return e.Err }

// Search runs a search and records it (who, query, hit count) before any
// result is returned: a search that cannot be recorded shows nothing.
// custodians resolves custodian: names (see Custodians); nil refuses them.
func Search(ctx context.Context, a *archive.Archive, ix *index.Index, custodians index.CustodianResolver, req SearchRequest, who string) (*SearchResult, error) {
	if strings.TrimSpace(req.Query) == "" {
		return nil, &SearchError{errors.New("query is empty")}
	}
	zone := req.Zone
	if zone == "" {
		zone = "UTC"
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return nil, &SearchError{fmt.Errorf("zone %q: %w", zone, err)}
	}
	q, err := search.Parse(req.Query, loc)
	if err != nil {
		return nil, &SearchError{err}
	}
	opts := index.SearchOptions{Limit: req.Limit, Offset: req.Offset, Custodian: custodians}
	if req.Relevance {
		opts.Order = index.Relevance
	}
	res, err := ix.Search(ctx, q, opts)
	if err != nil {
		if errors.Is(err, index.ErrNoCustodians) || errors.As(err, new(*index.CustodianError)) {
			return nil, &SearchError{err}
		}
		return nil, err
	}
	now := time.Now().UTC()
	audit := &onrecord.Event{Kind: onrecord.KindSystem, Subtype: "access.search", ProviderID: "search:" + now.Format(time.RFC3339Nano) + ":" + randHex(4),
		Conversation: "access", Direction: onrecord.Inbound, Sender: onrecord.Party{ID: who}, SentAt: now,
		Body: q.String(), Meta: map[string]string{"hits": res.CountText(), "zone": zone}}
	if _, err := a.AppendSystem(ctx, audit); err != nil {
		return nil, fmt.Errorf("the search could not be recorded, so no results are shown: %w", err)
	}
	out := &SearchResult{Query: q.String(), Count: res.CountText(), Hits: []SearchHit{}}
	for _, h := range res.Hits {
		var sn strings.Builder
		for _, f := range h.Snippet {
			if f.Match {
				sn.WriteString("[" + f.Text + "]")
			} else {
				sn.WriteString(f.Text)
			}
		}
		out.Hits = append(out.Hits, SearchHit{Seq: h.Seq - 1, ID: h.ID, Channel: h.Channel, Kind: string(h.Kind),
			Conversation: h.Conversation, Direction: string(h.Direction), Sender: h.Sender.ID, SenderName: h.Sender.Name,
			SentAt: h.SentAt, Snippet: strings.Join(strings.Fields(sn.String()), " "), Fragments: h.Snippet})
	}
	return out, nil
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// indexer keeps the search index up to date with the journal while the
// server runs. One catch-up at a time: the tailer's and a search's (which
// first takes in what was acknowledged before it) would otherwise add the
// same records twice.
type indexer struct {
	mu  sync.Mutex
	ix  *index.Index
	a   *archive.Archive
	log *slog.Logger
	// maxWait is the most records a request waits for the index to take
	// in (maxWaitLag; tests lower it).
	maxWait int
	// bgMaxLag and bgMaxTime say when a catch-up runs at normal priority
	// (backgroundMaxLag, backgroundMaxTime; tests lower them).
	bgMaxLag  int
	bgMaxTime time.Duration
	// onCatchUp is Options.OnIndexCatchUp.
	onCatchUp func(took time.Duration, behind int)
	// wanted counts requests waiting to catch up (catchUp); stopTail
	// interrupts the tailer's catch-up in progress, if any, for them.
	wanted   atomic.Int32
	tailMu   sync.Mutex
	stopTail context.CancelFunc
}

// maxWaitLag bounds what a search, conversation view or export waits for: about
// three to eight seconds of indexing. In service the index is a few
// thousand records behind at most; further behind (the rebuild after an
// upgrade changed the index schema, a million records taking a minute or
// more) a request that waited would outlive the server's write timeout
// and answer nothing.
const maxWaitLag = 50_000

// behindError is a request refused because the index is further behind
// the journal than it waits for.
type behindError struct{ lag int64 }

func (e *behindError) Error() string {
	return fmt.Sprintf("the search index is catching up with the journal: %d records are not searchable yet; try again shortly", e.lag)
}

// ready brings the index up to date for a request that must see everything
// acknowledged before it, or returns a *behindError at once when that would
// mean more than maxWait records: a partial answer is never given as
// complete, and the tailer catches up without the request.
func (x *indexer) ready(ctx context.Context) error {
	if lag := x.lag(); lag > float64(x.maxWait) {
		return &behindError{lag: int64(lag)}
	}
	return x.catchUp(ctx)
}

// writeNotReady answers a request the index could not be made ready for.
func writeNotReady(w http.ResponseWriter, err error) {
	if b := (*behindError)(nil); errors.As(err, &b) {
		w.Header().Set("Retry-After", "30")
		writeJSONError(w, http.StatusServiceUnavailable, b.Error())
		return
	}
	writeJSONError(w, http.StatusServiceUnavailable, "index not available: "+err.Error())
}

// catchUp brings the index up to date for a request (or a test). A
// catch-up of the tailer's in progress gives way: it is interrupted (its
// batch rolled back) so that the request does the work on its own
// goroutine, at normal priority, rather than wait for a thread of idle
// priority that a busy machine may give almost no CPU.
func (x *indexer) catchUp(ctx context.Context) error {
	x.wanted.Add(1)
	x.tailMu.Lock()
	if x.stopTail != nil {
		x.stopTail()
	}
	x.tailMu.Unlock()
	x.mu.Lock()
	x.wanted.Add(-1)
	defer x.mu.Unlock()
	_, err := index.CatchUp(ctx, x.ix, x.a, archive.Searchable)
	return err
}

// tailCatchUp is one of the tailer's catch-ups. It leaves the work to a
// request that wants it (catchUp) and stops when one arrives; a catch-up
// that gave way returns nil.
func (x *indexer) tailCatchUp(ctx context.Context) error {
	if !x.mu.TryLock() {
		return nil // a request is catching up
	}
	defer x.mu.Unlock()
	tctx, stop := context.WithCancel(ctx)
	defer stop()
	x.tailMu.Lock()
	x.stopTail = stop
	x.tailMu.Unlock()
	defer func() {
		x.tailMu.Lock()
		x.stopTail = nil
		x.tailMu.Unlock()
	}()
	// Checked after stopTail is set: a request that came earlier is
	// counted here, one that comes later stops the catch-up.
	if x.wanted.Load() > 0 {
		return nil
	}
	_, err := index.CatchUp(tctx, x.ix, x.a, archive.Searchable)
	if err != nil && tctx.Err() != nil && ctx.Err() == nil {
		return nil // gave way to a request
	}
	return err
}

// tailOnce is one of the tailer's catch-ups, reported to onCatchUp.
func (x *indexer) tailOnce(ctx context.Context) error {
	if x.onCatchUp == nil {
		return x.tailCatchUp(ctx)
	}
	start, behind := time.Now(), x.lag()
	err := x.tailCatchUp(ctx)
	if behind > 0 {
		x.onCatchUp(time.Since(start), int(behind))
	}
	return err
}

// The tailer's catch-ups run on a thread of idle priority
// (sched.Background) while the index keeps up. One runs at normal
// priority, on the tailer's own goroutine, once the index is more than
// backgroundMaxLag records behind, or when one in the background has
// taken backgroundMaxTime (it is stopped and its batch rolled back).
// Capture comes first, but a machine busy for long does not starve
// search: requests are refused while the index is more than maxWaitLag
// behind, and this keeps it within half of that.
const (
	backgroundMaxLag  = maxWaitLag / 2
	backgroundMaxTime = 5 * time.Second
)

// run tails the journal into the index until ctx ends. It polls: a
// committed record is searchable within one interval plus the time to
// index it. With background, catch-ups run on a thread of idle priority
// where the platform has one.
func (x *indexer) run(ctx context.Context, every time.Duration, background bool) {
	var work chan<- func()
	if background {
		work = x.startBackground(ctx)
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := x.tailIn(ctx, work); err != nil && ctx.Err() == nil {
			x.log.Error("index catch-up failed; retrying", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// tailIn runs one catch-up: on the background thread (work) unless there
// is none or the index is too far behind, and here when the background
// one takes too long.
func (x *indexer) tailIn(ctx context.Context, work chan<- func()) error {
	if work == nil || x.lag() > float64(x.bgMaxLag) {
		return x.tailOnce(ctx)
	}
	bctx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	select {
	case work <- func() { done <- x.tailOnce(bctx) }:
	case <-ctx.Done():
		return nil
	}
	timer := time.NewTimer(x.bgMaxTime)
	defer timer.Stop()
	select {
	case err := <-done:
		return err
	case <-timer.C:
	}
	stop()
	<-done // stopped: what it had not committed is done again here
	return x.tailOnce(ctx)
}

// startBackground starts the goroutine that runs the tailer's catch-ups
// on a thread of idle priority and returns where to send them, or nil
// where there is no such thread (the tailer then runs them itself).
func (x *indexer) startBackground(ctx context.Context) chan<- func() {
	work := make(chan func())
	ok := make(chan bool)
	go func() {
		run, err := sched.Background()
		if err != nil {
			x.log.Info("the search index runs at normal priority", "why", err)
			ok <- false
			return
		}
		ok <- true
		for {
			select {
			case <-ctx.Done():
				return
			case fn := <-work:
				run(fn)
			}
		}
	}()
	if !<-ok {
		return nil
	}
	return work
}

// lag is how many committed records the index has not taken in yet.
func (x *indexer) lag() float64 {
	pos, err := x.ix.Position(context.Background())
	if err != nil {
		return -1
	}
	return float64(x.a.Len()) - float64(pos)
}

func (x *indexer) metrics() []prometheus.Collector {
	return []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "onrecord_index_lag_records",
			Help: "Committed records the search index has not taken in yet."}, x.lag),
	}
}

// Status is what `onrecord status` shows about a running server.
type Status struct {
	Records      uint64 `json:"records"`
	LogSize      uint64 `json:"log_size"`
	IndexedUpTo  uint64 `json:"indexed_up_to"`
	IndexLag     uint64 `json:"index_lag_records"`
	Channels     int    `json:"channels"`
	MediaBacklog int64  `json:"media_backlog"`
	// IntakeBacklog is deliveries acknowledged while the journal replayed
	// and not in the archive yet (ingest.Intake).
	IntakeBacklog int `json:"intake_backlog"`
	// APITokens are the API tokens' names and expiry (never secrets).
	APITokens []ingest.TokenInfo `json:"api_tokens"`
}

func (a *App) Status(ctx context.Context) (Status, error) {
	pos, err := a.index.ix.Position(ctx)
	if err != nil {
		return Status{}, err
	}
	st := Status{Records: a.Archive.Len(), LogSize: a.Archive.Ledger().Size(), IndexedUpTo: pos, Channels: len(a.Gateway.Channels()),
		APITokens: a.tokens.List()}
	if st.Records > pos {
		st.IndexLag = st.Records - pos
	}
	for _, c := range a.Gateway.Channels() {
		st.MediaBacklog += c.MediaBacklog
	}
	tasks, err := a.intakeQueue.List()
	if err != nil {
		return Status{}, err
	}
	st.IntakeBacklog = len(tasks)
	return st, nil
}

// LocalTokenFile is where a running server leaves the token the command
// line uses to ask it, on the admin listener, instead of opening the data
// directory a second time. Only the user who can read the data directory
// can read it.
const LocalTokenFile = "local.token"

// writeLocalToken writes a fresh token for this run.
func writeLocalToken(dataDir string) (string, error) {
	tok := randHex(32)
	p := filepath.Join(dataDir, LocalTokenFile)
	os.Remove(p)
	if _, err := durable.CreateFile(p, []byte(tok+"\n")); err != nil {
		return "", fmt.Errorf("local token: %w", err)
	}
	return tok, nil
}

// localAPI serves the command line on the admin listener: status, search,
// conversation records. It answers only with the local token.
func (a *App) localAPI(mux *http.ServeMux) {
	auth := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			got := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
			if a.localToken == "" || subtle.ConstantTimeCompare([]byte(got), []byte(a.localToken)) != 1 {
				writeJSONError(w, http.StatusUnauthorized, "the local token is required (data_dir/"+LocalTokenFile+")")
				return
			}
			h(w, r)
		}
	}
	mux.HandleFunc("GET /local/v1/status", auth(func(w http.ResponseWriter, r *http.Request) {
		st, err := a.Status(r.Context())
		if err != nil {
			writeJSONError(w, http.StatusInternalServerError, err.Error())
			return
		}
		writeJSONBody(w, http.StatusOK, st)
	}))
	mux.HandleFunc("POST /local/v1/search", auth(func(w http.ResponseWriter, r *http.Request) {
		a.serveSearch(w, r, r.Header.Get("X-Onrecord-User"))
	}))
	mux.HandleFunc("GET /local/v1/conversations/{id}", auth(func(w http.ResponseWriter, r *http.Request) {
		a.serveConversation(w, r, r.Header.Get("X-Onrecord-User"))
	}))
	a.exportRoutes(mux, "/local/v1", auth, true)
}

// serveSearch answers a SearchRequest (JSON body, or the query string of a
// GET) for who.
func (a *App) serveSearch(w http.ResponseWriter, r *http.Request, who string) {
	var req SearchRequest
	if r.Method == http.MethodGet {
		q := r.URL.Query()
		req.Query, req.Zone, req.Relevance = q.Get("q"), q.Get("zone"), q.Get("order") == "relevance"
		req.Limit, _ = strconv.Atoi(q.Get("limit"))
		req.Offset, _ = strconv.Atoi(q.Get("offset"))
	} else if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&req); err != nil {
		writeJSONError(w, http.StatusBadRequest, "body must be a JSON search request: "+err.Error())
		return
	}
	if who == "" {
		who = "api"
	}
	// Bring the index up to date first: what was acknowledged is found.
	if err := a.index.ready(r.Context()); err != nil {
		writeNotReady(w, err)
		return
	}
	res, err := Search(r.Context(), a.Archive, a.index.ix, a.custodians(), req, who)
	var se *SearchError
	switch {
	case errors.As(err, &se):
		writeJSONError(w, http.StatusBadRequest, se.Error())
	case err != nil:
		a.log.Error("search failed", "err", err)
		writeJSONError(w, http.StatusInternalServerError, "search failed")
	default:
		writeJSONBody(w, http.StatusOK, res)
	}
}

func writeJSONBody(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeJSONError(w http.ResponseWriter, status int, msg string) {
	writeJSONBody(w, status, map[string]string{"error": msg})
}
