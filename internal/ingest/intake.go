package ingest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/onrecord/onrecord/internal/connector"
)

// Intake takes webhooks while the archive is not open yet: serve replays
// the whole journal at start (seconds per million records), and a provider
// that does not retry (Twilio; signal-cli's push) loses what it sent
// meanwhile if nobody answers, while the others answer a timeout by
// sending everything again. The intake checks each delivery's signature
// exactly as the gateway does, writes the request as it came (method, URL,
// headers, body, time of receipt) to a durable task sealed with the queue
// key, and only then answers 200; a handshake is answered at once, and a
// delivery that does not verify is refused 401 and kept nowhere. Once the
// archive is open, the gateway takes each task through the rest of its
// pipeline (DrainIntake) and removes it only when its records are
// committed. Until then what was acknowledged is durable and sealed but
// not yet in the log; a crash meanwhile leaves the tasks for the next
// start. Event streams (signal-cli's) are pulled and kept the same way
// (RunStreams).
//
// Everything else on the public listener (the API, the log) waits for
// the archive to open, as it waited in the listener's queue before.
type Intake struct {
	opts     IntakeOptions
	channels map[string]Channel
	bodies   memBudget
	mux      *http.ServeMux

	// mu orders a task's Put against Close: once Close returns no Put is
	// in flight, so DrainIntake sees every task the intake acknowledged.
	mu      sync.RWMutex
	next    http.Handler                                                               // set by Close: the open archive's handler
	deliver func(context.Context, string, *connector.Request) (status int, msg string) // set by Close: the gateway's Deliver
	opened  chan struct{}                                                              // closed by Close

	// The event streams (RunStreams), and what ends them.
	streams     sync.WaitGroup
	stopStreams context.CancelFunc

	spooled, refused atomic.Uint64
}

// IntakeOptions configure an Intake.
type IntakeOptions struct {
	Channels  []Channel
	PublicURL string
	// MaxBodyBytes caps a delivery; MaxBodyMemory bounds the bodies held
	// at once (0: no bound), as for the gateway.
	MaxBodyBytes, MaxBodyMemory int64
	// Queue keeps the tasks; it must be the one DrainIntake reads.
	Queue  TaskQueue
	Logger *slog.Logger
	Now    func() time.Time
}

// NewIntake builds an intake for the configured channels.
func NewIntake(opts IntakeOptions) (*Intake, error) {
	if opts.Queue == nil {
		return nil, errors.New("intake: no queue")
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 10 << 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	in := &Intake{opts: opts, channels: map[string]Channel{}, bodies: memBudget{max: opts.MaxBodyMemory}, mux: http.NewServeMux(),
		opened: make(chan struct{})}
	for _, ch := range opts.Channels {
		in.channels[ch.Config.Name] = ch
	}
	in.mux.HandleFunc("GET /hooks/{channel}", in.serveHook)
	in.mux.HandleFunc("POST /hooks/{channel}", in.serveHook)
	in.mux.HandleFunc("/", in.wait)
	return in, nil
}

// ServeHTTP serves the public listener until Close, then hands every
// request to the handler Close was given.
func (in *Intake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	in.mu.RLock()
	next := in.next
	in.mu.RUnlock()
	if next != nil {
		next.ServeHTTP(w, r)
		return
	}
	in.mux.ServeHTTP(w, r)
}

// Close ends the intake: requests from now on, and a delivery that has
// been read but not yet written as a task, go to next, and stream
// notifications to deliver. When Close returns every task the intake
// acknowledged is in the queue.
func (in *Intake) Close(next http.Handler, deliver func(ctx context.Context, channel string, req *connector.Request) (int, string)) {
	in.mu.Lock()
	if in.next == nil {
		in.next, in.deliver = next, deliver
		close(in.opened)
	}
	in.mu.Unlock()
}

// wait holds a request that is not a webhook (the API, the log) until the
// archive is open and then hands it over, as the listener's queue held it
// before the intake: the client is answered late rather than refused.
func (in *Intake) wait(w http.ResponseWriter, r *http.Request) {
	select {
	case <-in.opened:
		in.mu.RLock()
		next := in.next
		in.mu.RUnlock()
		next.ServeHTTP(w, r)
	case <-r.Context().Done():
	}
}

// Spooled and Refused count the deliveries the intake acknowledged and
// those whose signature did not verify.
func (in *Intake) Spooled() uint64 { return in.spooled.Load() }
func (in *Intake) Refused() uint64 { return in.refused.Load() }

func (in *Intake) serveHook(w http.ResponseWriter, r *http.Request) {
	start := in.opts.Now()
	name := r.PathValue("channel")
	ch, ok := in.channels[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	body, held, err := readBody(http.MaxBytesReader(w, r.Body, in.opts.MaxBodyBytes), r.ContentLength, in.opts.MaxBodyBytes, &in.bodies)
	defer in.bodies.release(held)
	if err != nil {
		refuseBody(w, err)
		return
	}
	req := &connector.Request{
		Method: r.Method, URL: r.URL, PublicURL: publicURL(in.opts.PublicURL, r), Header: r.Header,
		Body: body, ReceivedAt: start.UTC(), RemoteAddr: r.RemoteAddr,
	}
	conn := ch.Connector
	if resp, ok, err := handshake(conn, req); err != nil || ok {
		if errors.Is(err, connector.ErrSignature) {
			in.refuse(name, req, err)
		}
		writeHandshake(w, resp, err)
		return
	}
	if !webhookMethod(w, r) {
		return
	}
	if err := conn.Authenticate(req); err != nil {
		in.refuse(name, req, err)
		http.Error(w, "signature does not verify", http.StatusUnauthorized)
		return
	}
	closed, err := in.keep(name, req)
	if closed {
		// The archive opened while this delivery was read: the gateway
		// takes it, from the bytes already read.
		r.Body = io.NopCloser(bytes.NewReader(body))
		in.next.ServeHTTP(w, r)
		return
	}
	if err != nil {
		in.opts.Logger.Error("delivery received while the archive opens not stored; the provider may retry", "channel", name, "err", err)
		http.Error(w, "not stored; retry later", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "ok\n")
}

// keep writes req, authenticated, as a task, unless the intake has been
// closed (closed is then true, and nothing is written: the caller hands
// req to the gateway).
func (in *Intake) keep(name string, req *connector.Request) (closed bool, err error) {
	task, err := json.Marshal(intakeTask{Channel: name, Method: req.Method, URL: req.URL.RequestURI(), PublicURL: req.PublicURL,
		Header: req.Header, Body: req.Body, ReceivedAt: req.ReceivedAt, RemoteAddr: req.RemoteAddr})
	if err != nil {
		return false, err
	}
	in.mu.RLock()
	defer in.mu.RUnlock()
	if in.next != nil {
		return true, nil
	}
	if err := in.opts.Queue.Put(intakeName(req.ReceivedAt), task); err != nil {
		return false, err
	}
	in.spooled.Add(1)
	return false, nil
}

// RunStreams pulls, from now until ctx ends or StopStreams, the event
// stream of every channel that has one (signal-cli's, at rpc_url): a
// stream is not a webhook that waits for an answer, and what signal-cli
// streams while nobody is subscribed is not streamed again. Each
// notification is kept as a task, as a webhook is, and after Close handed
// to the gateway's Deliver. Once the gateway's own streams run, two
// subscriptions see the same notifications for a while; the second copy
// is a duplicate, stored once.
func (in *Intake) RunStreams(ctx context.Context) {
	ctx, stop := context.WithCancel(ctx)
	in.mu.Lock()
	in.stopStreams = stop
	in.mu.Unlock()
	for _, ch := range in.opts.Channels {
		s, ok := ch.Connector.(connector.Streamer)
		if !ok || ch.Config.RPCURL == "" {
			continue
		}
		name := ch.Config.Name
		in.streams.Go(func() {
			pullStream(ctx, s, ch.Client, func(req *connector.Request) error {
				if req.ReceivedAt.IsZero() {
					req.ReceivedAt = in.opts.Now().UTC()
				}
				if err := ch.Connector.Authenticate(req); err != nil {
					in.refuse(name, req, err)
					return err
				}
				closed, err := in.keep(name, req)
				if closed {
					if status, msg := in.deliver(ctx, name, req); status != http.StatusOK {
						return fmt.Errorf("delivery not stored: %d %s", status, msg)
					}
					return nil
				}
				return err
			}, func(err error, backoff time.Duration) {
				in.opts.Logger.Warn("event stream ended; reconnecting", "channel", name, "err", err, "in", backoff)
			})
		})
	}
}

// StopStreams ends RunStreams' streams and waits for them.
func (in *Intake) StopStreams() {
	in.mu.Lock()
	stop := in.stopStreams
	in.mu.Unlock()
	if stop != nil {
		stop()
	}
	in.streams.Wait()
}

// refuse counts and logs a delivery whose signature does not verify,
// without its content (as Gateway.refuse).
func (in *Intake) refuse(name string, req *connector.Request, err error) {
	in.refused.Add(1)
	in.opts.Logger.Warn("delivery refused: signature", "channel", name, "remote", req.RemoteAddr, "reason", err)
}

// intakeTask is a delivery the intake acknowledged: the request as it
// came, for the gateway to finish once the archive is open.
type intakeTask struct {
	Channel    string      `json:"channel"`
	Method     string      `json:"method"`
	URL        string      `json:"url"` // path and query as received
	PublicURL  string      `json:"public_url"`
	Header     http.Header `json:"header"`
	Body       []byte      `json:"body"`
	ReceivedAt time.Time   `json:"received_at"`
	RemoteAddr string      `json:"remote_addr"`
}

// intakeName names a task by its time of receipt, so that the queue lists
// tasks in the order they came, and a random suffix.
func intakeName(at time.Time) string {
	var b [6]byte
	rand.Read(b[:])
	return fmt.Sprintf("%020d-%s", at.UnixNano(), hex.EncodeToString(b[:]))
}

// DrainIntake takes every delivery the intake acknowledged through the
// pipeline, one after another in the order received, as if each had just
// arrived, except that its signature is not checked again: it was before
// the task was written, and a task opens only with the queue key (a
// Slack timestamp would meanwhile be outside its window, and a secret
// rotated across a restart would refuse what was acknowledged). A task is
// removed once its records are committed (or found stored: a task taken
// again after a crash is a duplicate). A task that cannot be taken now (a
// channel no longer configured, an archive refusing writes) stays for the
// next call; one that cannot be read stays too, and is reported. It
// returns how many tasks it finished and how many remain.
func (g *Gateway) DrainIntake(ctx context.Context, q TaskQueue) (done, left int, err error) {
	names, err := q.List()
	if err != nil {
		return 0, 0, err
	}
	var errs []error
	for i, n := range names {
		if ctx.Err() != nil {
			left += len(names) - i
			errs = append(errs, ctx.Err())
			break
		}
		if err := g.drainOne(ctx, q, n); err != nil {
			left++
			errs = append(errs, err)
			continue
		}
		done++
	}
	return done, left, errors.Join(errs...)
}

func (g *Gateway) drainOne(ctx context.Context, q TaskQueue, name string) error {
	b, err := q.Get(name)
	if err != nil {
		return fmt.Errorf("intake task %s: %w", name, err)
	}
	var t intakeTask
	if err := json.Unmarshal(b, &t); err != nil {
		return fmt.Errorf("intake task %s: %w", name, err)
	}
	u, err := url.ParseRequestURI(t.URL)
	if err != nil {
		return fmt.Errorf("intake task %s: url: %w", name, err)
	}
	ch := g.channel(t.Channel)
	if ch == nil {
		return fmt.Errorf("intake task %s: channel %q is no longer configured; the task is kept", name, t.Channel)
	}
	req := &connector.Request{Method: t.Method, URL: u, PublicURL: t.PublicURL, Header: t.Header, Body: t.Body,
		ReceivedAt: t.ReceivedAt, RemoteAddr: t.RemoteAddr}
	timer := stageTimer{obs: &ch.stages, last: time.Now()}
	status, msg := g.deliver(ctx, ch, ch.connector(), req, &timer)
	if status != http.StatusOK {
		return fmt.Errorf("intake task %s (channel %s): %d %s; the task is kept", name, t.Channel, status, msg)
	}
	return q.Delete(name)
}
