package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/archive"
	"github.com/onrecord/onrecord/internal/connector"
	"github.com/onrecord/onrecord/internal/fetch"
	"github.com/prometheus/client_golang/prometheus"
)

// Appender is where the gateway makes events durable.
type Appender interface {
	Append(ctx context.Context, ev *onrecord.Event) (archive.Result, error)
}

// Channel is one configured channel as the gateway sees it.
type Channel struct {
	Config    connector.Config
	Connector connector.Connector
	// Retention is the class its records are kept under ("" = default).
	Retention string
	// Client fetches its media (SSRF-safe, see package fetch).
	Client *http.Client
}

// Options configure a Gateway.
type Options struct {
	Archive   Appender
	Channels  []Channel
	PublicURL string
	// MaxBodyBytes caps a delivery; MaxMediaBytes a fetched file.
	MaxBodyBytes, MaxMediaBytes int64
	// MaxBodyMemory bounds the bodies held at once (memBudget), and
	// MaxMediaMemory the fetched files waiting for their records' commit;
	// 0 means no bound.
	MaxBodyMemory, MaxMediaMemory int64
	Registerer                    prometheus.Registerer
	Logger                        *slog.Logger
	Now                           func() time.Time
	// Outbound, when set, decides on every message sent through the API
	// before it is committed: who sends (the request's "from"), whether they
	// may, and what the policies say. It returns the body to send (redacted
	// or unchanged) or an error that refuses the message; a refusal that
	// implements StatusCode() and JSON() is answered with them.
	Outbound func(ctx context.Context, from string, msg *onrecord.Event) (body string, err error)
	// Annotate, when set, adds what onrecord knows at capture time to each
	// parsed event before it is sealed (Event.Capture: a group's roster,
	// the sender's standing). It must not fail or block on I/O.
	Annotate func(ev *onrecord.Event)
	// Committed, when set, is called with every newly stored captured
	// event after it is durable (consent answers are read from it). It
	// does not see backfilled history (connector.Event.Backfill): a
	// months-old "yes" answers nothing asked now.
	Committed func(ctx context.Context, ev *onrecord.Event)
	// MediaQueue keeps media fetches that failed for later attempts (see
	// RetryMedia); nil means a failure is only recorded.
	MediaQueue TaskQueue
	// MediaRetry is the wait before each further attempt; its length is
	// the number of retries. Nil means DefaultMediaRetry.
	MediaRetry []time.Duration
}

// Gateway receives deliveries and makes them durable before acknowledging.
type Gateway struct {
	opts   Options
	bodies memBudget
	media  memBudget
	// set is the channels served, replaced whole when channels are added
	// or removed (AddChannels, RemoveChannels), so that a delivery finds
	// its channel without a lock.
	set atomic.Pointer[channelSet]
	// mu orders the changes to set and to the channels' streams.
	mu sync.Mutex
	// streamCtx is RunStreams' context, under which the streams of
	// channels added later run; nil before RunStreams.
	streamCtx context.Context
	m         *metrics
	log       *slog.Logger
}

// channelSet is the channels by name, and their names in configuration
// order. It is never changed once stored.
type channelSet struct {
	byName map[string]*channel
	order  []string
}

// channel returns the channel served under name, or nil.
func (g *Gateway) channel(name string) *channel { return g.set.Load().byName[name] }

// HasChannel says whether a channel is served under name.
func (g *Gateway) HasChannel(name string) bool { return g.channel(name) != nil }

type channel struct {
	Channel
	health *health
	// stages are the channel's onrecord_webhook_stage_seconds series,
	// looked up once rather than per delivery.
	stages [numStages]prometheus.Observer
	// conn is the connector in use: Channel.Connector until its
	// credentials are replaced (ReplaceConnectors).
	conn atomic.Pointer[connector.Connector]
	// stopStream ends the channel's event stream (nil without one); set
	// under Gateway.mu.
	stopStream context.CancelFunc
}

// connector is the channel's connector now. A delivery takes it once and
// finishes with it, whatever replaces it meanwhile.
func (ch *channel) connector() connector.Connector { return *ch.conn.Load() }

// New builds a gateway.
func New(opts Options) (*Gateway, error) {
	if opts.Archive == nil {
		return nil, errors.New("ingest: no archive")
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 10 << 20
	}
	if opts.MaxMediaBytes <= 0 {
		opts.MaxMediaBytes = 20 << 20
	}
	if opts.Registerer == nil {
		opts.Registerer = prometheus.NewRegistry()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MediaRetry == nil {
		opts.MediaRetry = DefaultMediaRetry
	}
	g := &Gateway{opts: opts, bodies: memBudget{max: opts.MaxBodyMemory}, media: memBudget{max: opts.MaxMediaMemory},
		m: newMetrics(opts.Registerer), log: opts.Logger}
	g.m.memory(opts.Registerer, &g.bodies, &g.media)
	set, err := g.withChannels(&channelSet{byName: map[string]*channel{}}, opts.Channels)
	if err != nil {
		return nil, err
	}
	g.set.Store(set)
	if err := g.countBacklog(nil); err != nil {
		return nil, err
	}
	return g, nil
}

// withChannels returns a copy of cur with chans added after its own.
func (g *Gateway) withChannels(cur *channelSet, chans []Channel) (*channelSet, error) {
	next := &channelSet{byName: maps.Clone(cur.byName), order: slices.Clone(cur.order)}
	for _, c := range chans {
		if _, dup := next.byName[c.Config.Name]; dup {
			return nil, fmt.Errorf("ingest: channel %q configured twice", c.Config.Name)
		}
		if c.Connector == nil {
			return nil, fmt.Errorf("ingest: channel %q has no connector", c.Config.Name)
		}
		if c.Client == nil {
			c.Client = fetch.NewClient(fetch.Options{Timeout: 30 * time.Second})
		}
		ch := &channel{Channel: c, health: newHealth()}
		ch.conn.Store(&c.Connector)
		for i, s := range StageNames {
			ch.stages[i] = g.m.stages.WithLabelValues(c.Config.Name, s)
		}
		next.byName[c.Config.Name] = ch
		next.order = append(next.order, c.Config.Name)
	}
	return next, nil
}

// AddChannels starts serving chans while the gateway runs (a channel added
// to the configuration and reloaded): their webhooks are taken from the
// moment this returns, their event streams started if RunStreams has run,
// and media fetches a channel of the same name left queued when it was
// removed are counted and retried again. A name already served is an
// error, and then nothing is added.
func (g *Gateway) AddChannels(chans []Channel) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	next, err := g.withChannels(g.set.Load(), chans)
	if err != nil {
		return err
	}
	g.set.Store(next)
	added := map[string]bool{}
	for _, c := range chans {
		added[c.Config.Name] = true
		if g.streamCtx != nil {
			g.startStream(g.streamCtx, next.byName[c.Config.Name])
		}
	}
	return g.countBacklog(added)
}

// RemoveChannels stops serving the named channels: their webhooks are
// answered 404 from the moment this returns (a delivery being handled
// finishes), their event streams end, and their queued media fetches
// stay queued, to be retried if the channel comes back. A name not served
// is an error, and then nothing is removed.
func (g *Gateway) RemoveChannels(names []string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	cur := g.set.Load()
	for _, n := range names {
		if cur.byName[n] == nil {
			return fmt.Errorf("ingest: no channel %q to remove", n)
		}
	}
	next := &channelSet{byName: make(map[string]*channel, len(cur.byName))}
	for _, n := range cur.order {
		if !slices.Contains(names, n) {
			next.byName[n], next.order = cur.byName[n], append(next.order, n)
		}
	}
	g.set.Store(next)
	for _, n := range names {
		if stop := cur.byName[n].stopStream; stop != nil {
			stop()
		}
		// Gauges of a channel no longer served would go on reading their
		// last value; its counters stay, as history.
		g.m.lastEvent.DeleteLabelValues(n)
		g.m.mediaBacklog.DeleteLabelValues(n)
		g.m.mediaInFlight.DeleteLabelValues(n)
	}
	return nil
}

// ReplaceConnectors puts connectors built with new credentials (a rotated
// app secret, auth token or signing secret) in place of the named
// channels' connectors. A delivery being handled finishes with the one it
// started with; the next one is checked with the new. Every name must be a
// configured channel; nothing is replaced otherwise. A channel's stream
// (signal-cli), which carries no credential, keeps its connector.
func (g *Gateway) ReplaceConnectors(next map[string]connector.Connector) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	set := g.set.Load()
	for name, c := range next {
		if set.byName[name] == nil || c == nil {
			return fmt.Errorf("ingest: no channel %q to replace the connector of", name)
		}
	}
	for name, c := range next {
		set.byName[name].conn.Store(&c)
	}
	return nil
}

// Register adds the webhook routes to mux.
func (g *Gateway) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /hooks/{channel}", g.serveHook)
	mux.HandleFunc("POST /hooks/{channel}", g.serveHook)
}

// readBody reads r (limited to limit bytes) to its end into one buffer,
// reserving the buffer's capacity against budget as it grows, and returns
// it with the bytes it holds reserved, for the caller to release. The
// first buffer is the announced length (every provider announces one) but
// no more than preallocMax, so a client that announces megabytes and sends
// nothing holds 64 KiB, not megabytes: before, 26 connections announcing
// max_body_bytes and sending nothing filled the default max_body_memory
// until the read timeout, and every delivery meanwhile was refused. A
// buffer with no room to grow fails with errBodyMemory.
func readBody(r io.Reader, length, limit int64, budget *memBudget) ([]byte, int64, error) {
	const preallocMax = 64 << 10
	size := int64(512)
	if length > 0 {
		size = min(length, preallocMax) + 1 // +1: the read that meets EOF needs room
	}
	if !budget.reserve(size) {
		return nil, 0, errBodyMemory
	}
	held := size
	b := make([]byte, 0, size)
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, held, nil
		}
		if err != nil {
			return b, held, err
		}
		if len(b) == cap(b) {
			// More than announced, or than preallocMax: double, up to
			// what the limit lets through (and the read that meets it).
			size := min(2*int64(cap(b)), limit+1)
			if size <= int64(cap(b)) {
				size = int64(cap(b)) + 1 // the limit's own read, which fails
			}
			if !budget.reserve(size - int64(cap(b))) {
				return b, held, errBodyMemory
			}
			held += size - int64(cap(b))
			nb := make([]byte, len(b), size)
			copy(nb, b)
			b = nb
		}
	}
}

// refuseBody answers a delivery whose body readBody could not read, and
// names the outcome for onrecord_webhooks_total.
func refuseBody(w http.ResponseWriter, err error) (result string) {
	var tooLarge *http.MaxBytesError
	switch {
	case errors.Is(err, errBodyMemory):
		w.Header().Set("Retry-After", "5")
		http.Error(w, "busy: too many deliveries in progress; retry", http.StatusServiceUnavailable)
		return "busy"
	case errors.As(err, &tooLarge):
		http.Error(w, "payload too large", http.StatusRequestEntityTooLarge)
		return "too_large"
	default:
		http.Error(w, "cannot read body", http.StatusBadRequest)
		return "bad_request"
	}
}

// webhookMethod refuses a delivery that is neither POST nor GET (Twilio
// may be configured to call webhooks with GET and the parameters in the
// query string; the connector decides what it reads).
func webhookMethod(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return false
	}
	return true
}

// errBodyMemory is a body for which max_body_memory has no room.
var errBodyMemory = errors.New("webhook bodies in memory at max_body_memory")

func (g *Gateway) serveHook(w http.ResponseWriter, r *http.Request) {
	start := g.opts.Now()
	ch := g.channel(r.PathValue("channel"))
	if ch == nil {
		http.NotFound(w, r)
		return
	}
	name := ch.Config.Name
	body, held, err := readBody(http.MaxBytesReader(w, r.Body, g.opts.MaxBodyBytes), r.ContentLength, g.opts.MaxBodyBytes, &g.bodies)
	defer g.bodies.release(held)
	if err != nil {
		result := refuseBody(w, err)
		g.m.webhooks.WithLabelValues(name, result).Inc()
		switch {
		case result == "busy" && g.bodies.shouldLog(start):
			g.log.Warn("delivery refused: bodies in memory at max_body_memory", "channel", name,
				"bytes_held", g.bodies.used.Load(), "max_body_memory", g.bodies.max, "announced", r.ContentLength, "read", len(body))
		case result == "too_large":
			g.log.Warn("delivery too large", "channel", name, "limit", g.opts.MaxBodyBytes)
		}
		return
	}
	req := &connector.Request{
		Method: r.Method, URL: r.URL, PublicURL: publicURL(g.opts.PublicURL, r), Header: r.Header,
		Body: body, ReceivedAt: start.UTC(), RemoteAddr: r.RemoteAddr,
	}
	if resp, ok, err := handshake(ch.connector(), req); err != nil {
		if errors.Is(err, connector.ErrSignature) {
			g.refuse(ch, req, err)
		} else {
			g.m.webhooks.WithLabelValues(name, "handshake_refused").Inc()
			g.log.Warn("handshake refused", "channel", name, "err", err)
		}
		writeHandshake(w, nil, err)
		return
	} else if ok {
		g.m.webhooks.WithLabelValues(name, "handshake").Inc()
		writeHandshake(w, resp, nil)
		return
	}
	if !webhookMethod(w, r) {
		return
	}
	status, msg := g.Deliver(r.Context(), ch.Config.Name, req)
	g.m.ackLatency.WithLabelValues(name).Observe(g.opts.Now().Sub(start).Seconds())
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	io.WriteString(w, msg+"\n")
}

// writeHandshake answers a handshake: resp, or the refusal err (401 for a
// signature that does not verify, else 403).
func writeHandshake(w http.ResponseWriter, resp *connector.Response, err error) {
	switch {
	case errors.Is(err, connector.ErrSignature):
		http.Error(w, "signature does not verify", http.StatusUnauthorized)
	case err != nil:
		http.Error(w, "forbidden", http.StatusForbidden)
	default:
		if resp.ContentType != "" {
			w.Header().Set("Content-Type", resp.ContentType)
		}
		w.WriteHeader(resp.Status)
		w.Write(resp.Body)
	}
}

// publicURL rebuilds the URL the provider called, from public_url when
// configured (behind a proxy the request's own host is not what was
// signed), else from the request.
func publicURL(configured string, r *http.Request) string {
	if configured != "" {
		return strings.TrimRight(configured, "/") + r.URL.RequestURI()
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return (&url.URL{Scheme: scheme, Host: r.Host}).String() + r.URL.RequestURI()
}

// handshake calls the connector's Handshake without letting a panic out.
func handshake(c connector.Connector, req *connector.Request) (resp *connector.Response, ok bool, err error) {
	defer func() {
		if p := recover(); p != nil {
			resp, ok, err = nil, false, fmt.Errorf("handshake panicked: %v", p)
		}
	}()
	return c.Handshake(req)
}

// parse calls the connector's Parse; a panic becomes an error, so the
// delivery is archived raw rather than lost.
func parse(c connector.Connector, req *connector.Request) (evs []connector.Event, err error) {
	defer func() {
		if p := recover(); p != nil {
			evs, err = nil, fmt.Errorf("parser panicked: %v", p)
		}
	}()
	return c.Parse(req)
}

// refuse counts and logs a delivery whose signature does not verify. The
// log line names the check that failed, never the content.
func (g *Gateway) refuse(ch *channel, req *connector.Request, err error) (int, string) {
	name := ch.Config.Name
	g.m.sigFailures.WithLabelValues(name).Inc()
	g.m.webhooks.WithLabelValues(name, "unauthorized").Inc()
	ch.health.signatureFailures.Add(1)
	g.log.Warn("delivery refused: signature", "channel", name, "remote", req.RemoteAddr, "reason", err)
	return http.StatusUnauthorized, "signature does not verify"
}

// Deliver runs one authenticated-or-not delivery through the pipeline and
// returns the HTTP status to answer with. 200 means every record of the
// delivery is durable.
func (g *Gateway) Deliver(ctx context.Context, name string, req *connector.Request) (int, string) {
	ch := g.channel(name)
	if ch == nil {
		return http.StatusNotFound, "no such channel"
	}
	timer := stageTimer{obs: &ch.stages, last: time.Now()}
	conn := ch.connector()
	if err := conn.Authenticate(req); err != nil {
		return g.refuse(ch, req, err)
	}
	timer.done(stageVerify)
	return g.deliver(ctx, ch, conn, req, &timer)
}

// deliver runs a delivery whose signature has been checked through the
// rest of the pipeline: parse, media, seal, commit.
func (g *Gateway) deliver(ctx context.Context, ch *channel, conn connector.Connector, req *connector.Request, timer *stageTimer) (int, string) {
	name := ch.Config.Name
	events, perr := parse(conn, req)
	timer.done(stageParse)
	if perr == nil {
		for i := range events {
			ev := &events[i]
			g.complete(ch, ev, req)
			if err := ev.Validate(); err != nil {
				perr = fmt.Errorf("event %d: %w", i, err)
				break
			}
		}
	}
	if perr != nil {
		events = []connector.Event{g.unparsed(ch, req, perr)}
	}
	releaseMedia, err := g.fetchMedia(ctx, ch, events)
	if err != nil {
		g.m.webhooks.WithLabelValues(name, "unavailable").Inc()
		g.log.Error("media retry not queued; delivery not acknowledged", "channel", name, "err", err)
		return http.StatusServiceUnavailable, "not stored; retry later"
	}
	defer releaseMedia() // the files are in memory until their records are committed
	timer.done(stageMedia)
	if g.opts.Annotate != nil && perr == nil {
		for i := range events {
			g.opts.Annotate(&events[i].Event)
		}
	}
	// The events of one delivery (a batch of statuses, a message with its
	// edit) are appended together, so they share one group commit instead
	// of waiting for an fsync each.
	results := make([]archive.Result, len(events))
	errs := make([]error, len(events))
	if len(events) == 1 {
		results[0], errs[0] = g.opts.Archive.Append(ctx, &events[0].Event)
	} else {
		var wg sync.WaitGroup
		for i := range events {
			wg.Go(func() { results[i], errs[i] = g.opts.Archive.Append(ctx, &events[i].Event) })
		}
		wg.Wait()
	}
	timer.done(stageCommit)
	for i := range events {
		ev := &events[i].Event
		res, err := results[i], errs[i]
		if err != nil {
			ch.health.failed(string(ev.Kind))
			g.m.webhooks.WithLabelValues(name, "unavailable").Inc()
			g.log.Error("delivery not stored; the provider will retry", "channel", name, "kind", ev.Kind, "err", err)
			if onrecord.ErrorCode(err) == onrecord.EINVALID {
				return http.StatusBadRequest, "invalid event"
			}
			return http.StatusServiceUnavailable, "not stored; retry later"
		}
		now := g.opts.Now()
		switch {
		case res.Duplicate:
			g.m.duplicates.WithLabelValues(name).Inc()
			ch.health.duplicates.Add(1)
			continue
		case res.Conflict:
			g.m.conflicts.WithLabelValues(name).Inc()
			ch.health.conflicts.Add(1)
			g.log.Warn("ALERT conflict: provider id stored before with different content; both kept",
				"channel", name, "kind", ev.Kind, "seq", res.Seq, "first_seq", res.ConflictWith)
		}
		if g.opts.Committed != nil && !events[i].Backfill {
			g.opts.Committed(ctx, ev)
		}
		g.m.events.WithLabelValues(name, string(ev.Kind)).Inc()
		g.m.lastEvent.WithLabelValues(name).Set(float64(now.Unix()))
		if events[i].Backfill {
			// Months-old history is not late capture; counted as lag it
			// would raise OnrecordCaptureLate for the whole backfill.
			ch.health.event(string(ev.Kind), -1, now)
			continue
		}
		lag := now.Sub(ev.SentAt)
		g.m.captureLag.WithLabelValues(name).Observe(max(lag.Seconds(), 0))
		ch.health.event(string(ev.Kind), lag, now)
	}
	if perr != nil {
		g.m.webhooks.WithLabelValues(name, "unparsed").Inc()
		return http.StatusOK, "archived unparsed"
	}
	g.m.webhooks.WithLabelValues(name, "ok").Inc()
	return http.StatusOK, "ok"
}

// complete fills what the gateway owns in an event.
func (g *Gateway) complete(ch *channel, ev *connector.Event, req *connector.Request) {
	ev.Channel = ch.Config.Name
	if ev.Raw == nil {
		// Set already only for an item of a large batch whose whole
		// body is kept in a record of its own (connector.Event).
		ev.Raw = rawPayload(req)
	}
	ev.RetentionClass = ch.Retention
	// Connectors fall back to the receipt time when the provider sends
	// none (Twilio, some system updates); that time differs on a retry.
	if !req.ReceivedAt.IsZero() && ev.SentAt.Equal(req.ReceivedAt) {
		ev.SentAtIsReceipt = true
	}
}

// unparsed turns a signed delivery that cannot be read into a record of its
// raw bytes, and alerts.
func (g *Gateway) unparsed(ch *channel, req *connector.Request, cause error) connector.Event {
	sum := sha256.Sum256(req.Body)
	g.m.unparsed.WithLabelValues(ch.Config.Name).Inc()
	ch.health.unparsed.Add(1)
	g.log.Warn("ALERT unparsed delivery archived raw", "channel", ch.Config.Name, "bytes", len(req.Body), "err", cause)
	ev := connector.Event{Event: onrecord.Event{
		Kind: onrecord.KindUnparsed, Channel: ch.Config.Name, ProviderID: "sha256:" + hex.EncodeToString(sum[:]),
		Conversation: "unparsed", Direction: onrecord.Inbound, Sender: onrecord.Party{ID: "unknown"},
		SentAt: req.ReceivedAt, SentAtIsReceipt: true, Raw: rawPayload(req), RetentionClass: ch.Retention,
		Meta: map[string]string{"parse_error": truncate(cause.Error(), 500), "content_type": req.Header.Get("Content-Type")},
	}}
	return ev
}

// rawPayload is what the provider sent: the body, or for a GET delivery
// (Twilio's configurable webhook method) the query string.
func rawPayload(req *connector.Request) []byte {
	if len(req.Body) == 0 && req.URL != nil && req.URL.RawQuery != "" {
		return []byte(req.URL.RawQuery)
	}
	return req.Body
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Channels reports every channel's capture health.
func (g *Gateway) Channels() []ChannelHealth {
	set := g.set.Load()
	out := make([]ChannelHealth, 0, len(set.order))
	for _, n := range set.order {
		ch := set.byName[n]
		out = append(out, ch.health.snapshot(n, ch.Config.Type))
	}
	return out
}
