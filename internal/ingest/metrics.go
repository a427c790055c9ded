package ingest

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the gateway's Prometheus series.
type metrics struct {
	webhooks      *prometheus.CounterVec
	events        *prometheus.CounterVec
	sigFailures   *prometheus.CounterVec
	duplicates    *prometheus.CounterVec
	conflicts     *prometheus.CounterVec
	unparsed      *prometheus.CounterVec
	mediaErrors   *prometheus.CounterVec
	lastEvent     *prometheus.GaugeVec
	captureLag    *prometheus.HistogramVec
	ackLatency    *prometheus.HistogramVec
	stages        *prometheus.HistogramVec
	mediaBacklog  *prometheus.GaugeVec
	mediaInFlight *prometheus.GaugeVec
	streamErrors  *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "onrecord_webhooks_total",
			Help: "Webhook deliveries by channel and outcome (ok, unauthorized, unparsed, unavailable, too_large, busy, handshake, bad_request)."}, []string{"channel", "outcome"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "onrecord_events_total",
			Help: "Events made durable, by channel and kind."}, []string{"channel", "kind"}),
		sigFailures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "onrecord_signature_failures_total",
			Help: "Deliveries refused because their signature did not verify."}, []string{"channel"}),
		duplicates: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "onrecord_duplicates_total",
			Help: "Provider retries acknowledged without a new record."}, []string{"channel"}),
		conflicts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "onrecord_conflicts_total",
			Help: "Events whose provider id was stored before with different content (stored and alerted)."}, []string{"channel"}),
		unparsed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "onrecord_unparsed_total",
			Help: "Signed deliveries that could not be parsed and were archived raw."}, []string{"channel"}),
		mediaErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "onrecord_media_errors_total",
			Help: "Media files that could not be fetched (the failure is recorded in the event)."}, []string{"channel"}),
		lastEvent: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "onrecord_last_event_timestamp_seconds",
			Help: "When the channel's last event was made durable."}, []string{"channel"}),
		captureLag: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "onrecord_capture_lag_seconds",
			Help: "Time from the provider's timestamp to the record being durable.", Buckets: []float64{.1, .5, 1, 5, 30, 60, 300, 3600, 86400}}, []string{"channel"}),
		ackLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "onrecord_webhook_ack_seconds",
			Help: "Time from receiving a delivery to acknowledging it.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}, []string{"channel"}),
		stages: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: StageMetric,
			Help: "Time a delivery spent in each step before its acknowledgement: verify (signature), parse, media (fetching attachments from the provider), commit (sealing, storing attachments and the record, and waiting for the durable writes).",
			// From 25 µs (a signature check) to 13 s (a slow media host).
			Buckets: prometheus.ExponentialBuckets(0.000025, 2, 20)}, []string{"channel", "stage"}),
		mediaBacklog: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "onrecord_media_backlog",
			Help: "Media fetches that failed at capture and wait in the durable retry queue."}, []string{"channel"}),
		mediaInFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "onrecord_media_in_flight",
			Help: "Media fetches in progress at capture."}, []string{"channel"}),
		streamErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "onrecord_stream_errors_total",
			Help: "Event-stream disconnections (signal-cli), each followed by a reconnect."}, []string{"channel"}),
	}
	reg.MustRegister(m.webhooks, m.events, m.sigFailures, m.duplicates, m.conflicts, m.unparsed, m.mediaErrors,
		m.lastEvent, m.captureLag, m.ackLatency, m.stages, m.mediaBacklog, m.mediaInFlight, m.streamErrors)
	return m
}

// memory exports the bytes of webhook bodies and of fetched files held
// against their bounds.
func (m *metrics) memory(reg prometheus.Registerer, bodies, media *memBudget) {
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "onrecord_webhook_body_bytes",
		Help: "Bytes of webhook body buffers held in memory now (reserved as they grow), bounded by max_body_memory; at the bound deliveries are answered 503 (onrecord_webhooks_total{outcome=\"busy\"})."},
		func() float64 { return float64(bodies.used.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "onrecord_media_bytes",
			Help: "Bytes of fetched files held in memory until their records are committed, bounded by max_media_memory; at the bound further files are queued and fetched after the acknowledgement."},
			func() float64 { return float64(media.used.Load()) }))
}

// health is a channel's capture coverage for GET /api/v1/channels.
type health struct {
	mu                sync.Mutex
	lastEvent         time.Time
	byKind            map[string]uint64
	errorsByKind      map[string]uint64
	signatureFailures atomic.Uint64
	unparsed          atomic.Uint64
	duplicates        atomic.Uint64
	conflicts         atomic.Uint64
	mediaErrors       atomic.Uint64
	mediaBacklog      atomic.Int64
	lastLag           time.Duration
}

func newHealth() *health {
	return &health{byKind: map[string]uint64{}, errorsByKind: map[string]uint64{}}
}

// event counts one stored event; a negative lag (backfilled history) leaves
// the last capture lag as it was.
func (h *health) event(kind string, lag time.Duration, at time.Time) {
	h.mu.Lock()
	h.byKind[kind]++
	h.lastEvent = at
	if lag >= 0 {
		h.lastLag = lag
	}
	h.mu.Unlock()
}

func (h *health) failed(kind string) {
	h.mu.Lock()
	h.errorsByKind[kind]++
	h.mu.Unlock()
}

// ChannelHealth is one channel's entry in GET /api/v1/channels.
type ChannelHealth struct {
	Name              string            `json:"name"`
	Type              string            `json:"type"`
	LastEventAt       *time.Time        `json:"last_event_at"`
	EventsByKind      map[string]uint64 `json:"events_by_kind"`
	ErrorsByKind      map[string]uint64 `json:"errors_by_kind"`
	SignatureFailures uint64            `json:"signature_failures"`
	Unparsed          uint64            `json:"unparsed"`
	Duplicates        uint64            `json:"duplicates"`
	Conflicts         uint64            `json:"conflicts"`
	MediaErrors       uint64            `json:"media_errors"`
	MediaBacklog      int64             `json:"media_backlog"`
	CaptureLagSeconds float64           `json:"capture_lag_seconds"`
}

func (h *health) snapshot(name, typ string) ChannelHealth {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := ChannelHealth{Name: name, Type: typ, EventsByKind: map[string]uint64{}, ErrorsByKind: map[string]uint64{},
		SignatureFailures: h.signatureFailures.Load(), Unparsed: h.unparsed.Load(), Duplicates: h.duplicates.Load(),
		Conflicts: h.conflicts.Load(), MediaErrors: h.mediaErrors.Load(), MediaBacklog: h.mediaBacklog.Load(),
		CaptureLagSeconds: h.lastLag.Seconds()}
	for k, v := range h.byKind {
		c.EventsByKind[k] = v
	}
	for k, v := range h.errorsByKind {
		c.ErrorsByKind[k] = v
	}
	if !h.lastEvent.IsZero() {
		t := h.lastEvent
		c.LastEventAt = &t
	}
	return c
}

// The steps of a delivery timed by onrecord_webhook_stage_seconds, so that
// an operator can tell a slow disk (commit) from a slow provider (media)
// from a busy CPU (verify, parse) by the ack time alone.
const (
	stageVerify = iota
	stageParse
	stageMedia
	stageCommit
	numStages
)

// StageNames are the stage label's values, in a delivery's order.
var StageNames = [numStages]string{"verify", "parse", "media", "commit"}

// StageMetric is the histogram's name (bench ingest reads it back).
const StageMetric = "onrecord_webhook_stage_seconds"

// stageTimer observes the stages of one delivery into its channel's series.
type stageTimer struct {
	obs  *[numStages]prometheus.Observer
	last time.Time
}

func (t *stageTimer) done(stage int) {
	now := time.Now()
	t.obs[stage].Observe(now.Sub(t.last).Seconds())
	t.last = now
}
