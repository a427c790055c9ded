// Package app is the composition root: configuration → archive → channels
// and their connectors → gateway → HTTP handlers, started and stopped in
// that order. It is the only package that knows which connectors exist.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/archive"
	"github.com/onrecord/onrecord/internal/config"
	"github.com/onrecord/onrecord/internal/connector"
	"github.com/onrecord/onrecord/internal/fetch"
	"github.com/onrecord/onrecord/internal/index"
	"github.com/onrecord/onrecord/internal/ingest"
	"github.com/onrecord/onrecord/internal/queue"
	"github.com/onrecord/onrecord/internal/scim"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// App is a running onrecord.
type App struct {
	Config  config.Config
	Archive *archive.Archive
	Gateway *ingest.Gateway
	// Governance is the directory, contacts and policies.
	Governance *Governance
	registry   *prometheus.Registry
	tokens     *ingest.Tokens
	log        *slog.Logger
	index      *indexer
	localToken string
	exports    exportJobs
	// runCtx lives from Start to shutdown: background work (exports) ends
	// with it.
	runCtx context.Context
	// channels are the channels as the gateway runs them now, credentials
	// included (ReloadChannels compares against them).
	channelsMu sync.Mutex
	channels   []ingest.Channel
	// intakeQueue holds the deliveries acknowledged while the journal
	// replayed (Options.Intake); Start takes them into the archive.
	intakeQueue *queue.Dir
	// intakeStreams is the intake whose event streams ran during the
	// replay (nil without one): they stop once the gateway's own have
	// run a while (streamOverlap), or at Close.
	intakeStreams *ingest.Intake
	// stopIntake ends Start's drain, and intakeDone is closed when it has.
	stopIntake context.CancelFunc
	intakeDone chan struct{}
}

// Options configure Open.
type Options struct {
	Config config.Config
	Logger *slog.Logger
	// Warn receives operator warnings at start (a new key file).
	Warn io.Writer
	// OnJournalSync, if set, also sees every journal fsync (after
	// /metrics has): bench ingest reports them per phase.
	OnJournalSync func(took time.Duration, records int)
	// OnIndexCatchUp, if set, sees each of the search index tailer's
	// catch-ups that had records to take in: how long it took, and how
	// many committed records the index was behind when it began (bench
	// ingest --trace).
	OnIndexCatchUp func(took time.Duration, behind int)
	// Intake, if set, is handed an ingest.Intake as soon as the keys are
	// open, before the journal's replay: serve answers webhooks with it
	// meanwhile. Whatever it acknowledged is taken into the archive by
	// Start, as are tasks a crash left from an earlier start.
	Intake func(*ingest.Intake)
}

// Open opens the archive and builds the gateway with every configured
// channel.
func Open(ctx context.Context, opts Options) (_ *App, err error) {
	cfg := opts.Config
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	channels, err := buildChannels(cfg)
	if err != nil {
		return nil, err
	}
	maxBody, _ := config.ParseSize(cfg.MaxBodyBytes)
	maxMedia, _ := config.ParseSize(cfg.MaxMediaBytes)
	maxBodyMemory, _ := config.ParseSize(cfg.MaxBodyMemory)
	maxMediaMemory, _ := config.ParseSize(cfg.MaxMediaMemory)
	intakeDir := cfg.IntakeDir()
	var beforeReplay func([]byte)
	var intake *ingest.Intake
	if opts.Intake != nil {
		beforeReplay = func(queueKey []byte) {
			in, err := openIntake(intakeDir, queueKey, ingest.IntakeOptions{Channels: channels, PublicURL: cfg.PublicURL,
				MaxBodyBytes: maxBody, MaxBodyMemory: maxBodyMemory, Logger: log})
			if err != nil {
				log.Error("webhooks wait for the journal's replay: the intake does not open", "err", err)
				return
			}
			intake = in
			in.RunStreams(ctx)
			opts.Intake(in)
		}
	}
	// The disk as every acknowledgement waits for it: a slow fsync here is
	// every webhook's tail latency.
	fsyncs := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "onrecord_journal_fsync_seconds",
		Help:    "How long each journal batch's fdatasync took.",
		Buckets: prometheus.ExponentialBuckets(0.0001, 2, 14)}) // 0.1 ms to 0.8 s
	batches := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "onrecord_journal_batch_records",
		Help:    "Records committed by each journal fdatasync (group commit).",
		Buckets: prometheus.ExponentialBuckets(1, 2, 12)}) // 1 to 2048
	// The intake's streams end with the app (Close), or now if it does
	// not open.
	defer func() {
		if intake != nil && err != nil {
			intake.StopStreams()
		}
	}()
	a, err := archive.Open(ctx, archive.Options{Config: cfg, Logger: log, Warn: opts.Warn,
		OnJournalSync: func(took time.Duration, records int) {
			fsyncs.Observe(took.Seconds())
			batches.Observe(float64(records))
			if opts.OnJournalSync != nil {
				opts.OnJournalSync(took, records)
			}
		}, BeforeReplay: beforeReplay})
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), fsyncs, batches,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "onrecord_journal_records", Help: "Records in the journal."},
			func() float64 { return float64(a.Len()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "onrecord_log_size", Help: "Leaves in the Merkle log."},
			func() float64 { return float64(a.Ledger().Size()) }),
	)
	gov, err := openGovernance(ctx, cfg, a, log)
	if err != nil {
		a.Close()
		return nil, err
	}
	mq, err := queue.Open(filepath.Join(cfg.QueueDir(), "media"), a.QueueKey())
	if err != nil {
		a.Close()
		return nil, err
	}
	iq, err := queue.Open(intakeDir, a.QueueKey())
	if err != nil {
		a.Close()
		return nil, err
	}
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "onrecord_intake_backlog",
		Help: "Deliveries acknowledged while the journal replayed and not stored in the archive yet."},
		func() float64 {
			names, err := iq.List()
			if err != nil {
				return -1
			}
			return float64(len(names))
		}))
	if intake != nil {
		reg.MustRegister(
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "onrecord_intake_kept_total",
				Help: "Deliveries acknowledged while the journal replayed (kept in the sealed intake queue)."},
				func() float64 { return float64(intake.Spooled()) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "onrecord_intake_refused_total",
				Help: "Deliveries refused while the journal replayed because their signature did not verify."},
				func() float64 { return float64(intake.Refused()) }))
	}
	g, err := ingest.New(ingest.Options{Archive: a, Channels: channels, PublicURL: cfg.PublicURL,
		MaxBodyBytes: maxBody, MaxMediaBytes: maxMedia, MaxBodyMemory: maxBodyMemory, MaxMediaMemory: maxMediaMemory, Registerer: reg, Logger: log,
		Outbound: gov.outbound(len(cfg.Roles) > 0), Committed: gov.committed, Annotate: gov.annotate(len(cfg.Roles) > 0), MediaQueue: mq})
	if err != nil {
		a.Close()
		return nil, err
	}
	gov.Contacts.SetSender(consentSender{g})
	tokens, err := apiTokensOf(cfg)
	if err != nil {
		a.Close()
		return nil, err
	}
	apiTokens := ingest.NewTokens(tokens, nil)
	reg.MustRegister(apiTokens.Metrics()...)
	warnExpiring(log, apiTokens)
	ix, err := index.Open(cfg.IndexDir(), a.IndexKey())
	if err != nil {
		a.Close()
		return nil, fmt.Errorf("search index: %w (remove %s to rebuild it)", err, cfg.IndexDir())
	}
	x := &indexer{ix: ix, a: a, log: log, maxWait: maxWaitLag, bgMaxLag: backgroundMaxLag, bgMaxTime: backgroundMaxTime,
		onCatchUp: opts.OnIndexCatchUp}
	reg.MustRegister(x.metrics()...)
	localToken, err := writeLocalToken(cfg.DataDir)
	if err != nil {
		ix.Close()
		a.Close()
		return nil, err
	}
	return &App{Config: cfg, Archive: a, Gateway: g, Governance: gov, registry: reg, tokens: apiTokens, log: log,
		index: x, localToken: localToken, exports: exportJobs{jobs: map[string]*ExportJob{}}, runCtx: context.Background(),
		channels: channels, intakeQueue: iq, intakeStreams: intake}, nil
}

// openIntake opens the intake's queue in dir, sealed with queueKey, and
// an intake on it with opts.
func openIntake(dir string, queueKey []byte, opts ingest.IntakeOptions) (*ingest.Intake, error) {
	q, err := queue.Open(dir, queueKey)
	if err != nil {
		return nil, err
	}
	opts.Queue = q
	return ingest.NewIntake(opts)
}

// buildChannels turns [[channel]] blocks into connectors with their media
// clients.
func buildChannels(cfg config.Config) ([]ingest.Channel, error) {
	mediaTimeout, _ := time.ParseDuration(cfg.MediaTimeout)
	var out []ingest.Channel
	var errs []error
	for _, raw := range cfg.Channels {
		ch, err := raw.Resolved()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		cc := connector.Config{
			Name: ch.Name, Type: ch.Type, APIBaseURL: ch.APIBaseURL, PublicURL: cfg.PublicURL,
			AppSecret: ch.AppSecret, VerifyToken: ch.VerifyToken, AccessToken: ch.AccessToken, PhoneNumberID: ch.PhoneNumberID,
			AuthToken: ch.AuthToken, AccountSID: ch.AccountSID, From: ch.From, SharedKeys: ch.SharedKeys,
			BotToken: ch.BotToken, SecretToken: ch.SecretToken, SigningSecret: ch.SigningSecret,
			RPCURL: ch.RPCURL, Account: ch.Account, PushToken: ch.PushToken, KeepTyping: ch.KeepTyping,
		}
		c, err := newConnector(cc)
		if err != nil {
			errs = append(errs, fmt.Errorf("channel %q: %w", ch.Name, err))
			continue
		}
		fo := fetch.Options{Timeout: mediaTimeout, AllowHosts: append(mediaHosts(ch.Type), cfg.MediaAllowHosts...)}
		for _, base := range []string{ch.APIBaseURL, ch.RPCURL} {
			if base == "" {
				continue
			}
			hp, err := fetch.TrustedFromURL(base)
			if err != nil {
				errs = append(errs, fmt.Errorf("channel %q: %w", ch.Name, err))
				continue
			}
			fo.Trusted = append(fo.Trusted, hp)
			if u, err := url.Parse(base); err == nil {
				fo.AllowHosts = append(fo.AllowHosts, u.Host)
			}
		}
		out = append(out, ingest.Channel{Config: cc, Connector: c, Retention: ch.RetentionClass, Client: fetch.NewClient(fo)})
	}
	return out, errors.Join(errs...)
}

// mediaHosts are the hosts each provider serves media from.
func mediaHosts(typ string) []string {
	switch typ {
	case "whatsapp":
		return []string{"graph.facebook.com", "*.facebook.com", "*.fbcdn.net", "*.fbsbx.com", "*.whatsapp.net"}
	case "twilio":
		return []string{"api.twilio.com", "*.twilio.com", "*.twiliocdn.com"}
	case "telegram":
		return []string{"api.telegram.org"}
	case "slack":
		return []string{"files.slack.com", "*.slack.com", "*.slack-edge.com"}
	}
	return nil
}

// IndexLag is how many committed records the search index has not taken
// in yet (-1 if it cannot tell).
func (a *App) IndexLag() float64 { return a.index.lag() }

// Metrics is what /metrics on the admin listener serves.
func (a *App) Metrics() prometheus.Gatherer { return a.registry }

// PublicHandler serves what the outside may reach: webhooks, the API and
// the read-only log. Nothing here serves debug or profiling data.
func (a *App) PublicHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/log/", a.Archive.Ledger().Handler())
	a.Gateway.Register(mux)
	a.Gateway.RegisterAPI(mux, a.tokens)
	mux.HandleFunc("POST /api/v1/contacts", a.tokens.Require(a.addContact))
	apiAuth := a.tokens.Require
	// What an API client reads is recorded under its token's name.
	mux.HandleFunc("GET /api/v1/search", apiAuth(func(w http.ResponseWriter, r *http.Request) {
		a.serveSearch(w, r, ingest.Caller(r.Context()))
	}))
	mux.HandleFunc("GET /api/v1/conversations/{id}", apiAuth(func(w http.ResponseWriter, r *http.Request) {
		a.serveConversation(w, r, ingest.Caller(r.Context()))
	}))
	a.exportRoutes(mux, "/api/v1", apiAuth, false)
	a.approvalRoutes(mux, apiAuth)
	a.groupRoutes(mux, apiAuth)
	if a.Config.ScimToken != "" {
		tok, _ := config.ResolveSecret(a.Config.ScimToken) // checked by Validate
		base := strings.TrimRight(a.Config.PublicURL, "/") + "/scim/v2"
		scim.New(a.Governance.Directory, tok, base, a.log).Register(mux)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
	return PublicHeaders(a.Config, mux)
}

// PublicHeaders wraps what the public listener serves, the open archive's
// handler or the intake while the journal replays, with the headers every
// answer there carries.
func PublicHeaders(cfg config.Config, h http.Handler) http.Handler {
	// HTTPS reaches onrecord directly or through the operator's proxy:
	// browsers are told to use nothing else.
	hsts := cfg.TLSCert != "" || cfg.BehindTLSProxy
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		if hsts {
			hd.Set("Strict-Transport-Security", "max-age=63072000")
		}
		// Answers carry messages and names: no proxy or browser cache
		// may keep them (it would hold them in the clear). The log's
		// checkpoint and tiles are public and set their own caching.
		if !strings.HasPrefix(r.URL.Path, "/log/") {
			hd.Set("Cache-Control", "no-store")
		}
		h.ServeHTTP(w, r)
	})
}

// AdminHandler serves health and metrics, for the admin listener only.
func (a *App) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "ready: %d records, %d channels\n", a.Archive.Len(), len(a.Gateway.Channels()))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.registry, promhttp.HandlerOpts{}))
	a.localAPI(mux)
	return mux
}

// IndexInterval is how often the search index takes in what was committed
// since it last did. Half a second rather than less: a record costs the
// index about a fifth less CPU in batches of 5,000 than of 1,250 (index
// BenchmarkIndexAdd), and at the capture gateway's rates that CPU is what
// capture competes for; a record is still searchable about a second after
// its acknowledgement (bench index, searchable-after-ack).
const IndexInterval = 500 * time.Millisecond

// Start starts background work (event streams).
func (a *App) Start(ctx context.Context) {
	a.runCtx = ctx
	dctx, stop := context.WithCancel(ctx)
	a.stopIntake, a.intakeDone = stop, make(chan struct{})
	go a.drainIntake(dctx, 30*time.Second)
	a.Gateway.RunStreams(ctx)
	if in := a.intakeStreams; in != nil {
		time.AfterFunc(streamOverlap, in.StopStreams)
	}
	go a.Gateway.RetryMedia(ctx, 10*time.Second)
	go a.index.run(ctx, IndexInterval, a.Config.IndexPriority == config.IndexPriorityIdle)
	a.Governance.run(ctx)
}

// streamOverlap is how long the intake's event streams keep running beside
// the gateway's after Start: long enough for the gateway's to have
// connected (what both see is stored once), so that nothing signal-cli
// streams at the hand-over goes to nobody.
const streamOverlap = 10 * time.Second

// DrainIntake stores what the intake acknowledged, once (see
// ingest.Gateway.DrainIntake): serve calls it before it hands the public
// listener from the intake to the gateway, so that what came during the
// replay is committed before what comes after.
func (a *App) DrainIntake(ctx context.Context) (done, left int, err error) {
	return a.Gateway.DrainIntake(ctx, a.intakeQueue)
}

// drainIntake takes the deliveries the intake acknowledged into the
// archive, and tries again every retry while any is left (an archive
// refusing writes, a channel taken out of the configuration: the task is
// kept, never dropped).
func (a *App) drainIntake(ctx context.Context, retry time.Duration) {
	defer close(a.intakeDone)
	for {
		done, left, err := a.DrainIntake(ctx)
		if done > 0 {
			a.log.Info("deliveries received while the journal replayed are stored", "deliveries", done)
		}
		if err != nil && ctx.Err() == nil {
			a.log.Error("deliveries received while the journal replayed not all stored yet; kept and retried", "left", left, "err", err)
		}
		if left == 0 && err == nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(retry):
		}
	}
}

// Close closes the archive (after the listeners have drained).
func (a *App) Close() error {
	os.Remove(filepath.Join(a.Config.DataDir, LocalTokenFile))
	a.exports.wg.Wait() // their context ended with the server's
	if a.stopIntake != nil {
		a.stopIntake()
		<-a.intakeDone
	}
	if a.intakeStreams != nil {
		a.intakeStreams.StopStreams() // they may deliver to the gateway
	}
	a.index.mu.Lock() // no catch-up in flight
	err := a.index.ix.Close()
	a.index.mu.Unlock()
	return errors.Join(err, a.Archive.Close())
}

// apiTokensOf reads the configuration's API tokens, secrets resolved.
func apiTokensOf(cfg config.Config) ([]ingest.Token, error) {
	var tokens []ingest.Token
	for _, t := range cfg.APITokenList() {
		v, err := config.ResolveSecret(t.Token)
		if err != nil {
			return nil, fmt.Errorf("api token %s: %w", t.Name, err)
		}
		tokens = append(tokens, ingest.Token{Name: t.Name, Secret: v, Expires: t.ExpiresAt()})
	}
	return tokens, nil
}

// expiryWarning is how far ahead serve warns of a token's expiry.
const expiryWarning = 14 * 24 * time.Hour

func warnExpiring(log *slog.Logger, t *ingest.Tokens) {
	for name, at := range t.Expiring(expiryWarning) {
		log.Warn("API token expires soon or has expired: issue its client a new one", "token", name, "expires", at.Format(time.RFC3339))
	}
}

// ReloadAPITokens makes cfg's API tokens (a validated configuration, read
// again) the ones the API accepts, at once: a token taken out of the
// configuration is refused from the next call, without a restart. The
// change is recorded in the archive first (the tokens' names and expiry,
// never their secrets); if that fails, nothing changes.
func (a *App) ReloadAPITokens(ctx context.Context, cfg config.Config) error {
	tokens, err := apiTokensOf(cfg)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(tokens))
	meta := map[string]string{}
	for _, t := range tokens {
		names = append(names, t.Name)
		if !t.Expires.IsZero() {
			meta["expires:"+t.Name] = t.Expires.UTC().Format(time.RFC3339)
		}
	}
	now := time.Now().UTC()
	rec := &onrecord.Event{Kind: onrecord.KindSystem, Subtype: "admin.api_tokens", ProviderID: "api_tokens:" + now.Format(time.RFC3339Nano) + ":" + randHex(4),
		Conversation: "admin", Direction: onrecord.Inbound, Sender: onrecord.Party{ID: "operator"}, SentAt: now,
		Body: "API tokens accepted from now on: " + strings.Join(names, ", "), Meta: meta}
	if _, err := a.Archive.AppendSystem(ctx, rec); err != nil {
		return fmt.Errorf("the change of API tokens could not be recorded, so none was made: %w", err)
	}
	a.tokens.Replace(tokens)
	a.log.Info("API tokens reloaded", "tokens", strings.Join(names, ", "))
	warnExpiring(a.log, a.tokens)
	return nil
}
