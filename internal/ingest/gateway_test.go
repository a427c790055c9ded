package ingest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/archive"
	"github.com/onrecord/onrecord/internal/config"
	"github.com/onrecord/onrecord/internal/connector"
	"github.com/onrecord/onrecord/internal/queue"
	"github.com/prometheus/client_golang/prometheus"
)

// testConnector speaks a minimal signed protocol: header X-Sig is the hex
// HMAC-SHA256 of the body; the body is JSON {"id","text","media"}.
type testConnector struct {
	secret     []byte
	media      map[string]string // ref → content ("ERR" fails)
	mediaDelay time.Duration     // how long each fetch takes
	sent       []connector.Outbound
	// inFlight and maxInFlight count fetches running at once.
	inFlight, maxInFlight atomic.Int32
}

func (c *testConnector) Handshake(req *connector.Request) (*connector.Response, bool, error) {
	if req.Method != http.MethodGet {
		return nil, false, nil
	}
	if req.URL.Query().Get("token") != "ok" {
		return nil, false, errors.New("bad verify token")
	}
	return &connector.Response{Status: 200, ContentType: "text/plain", Body: []byte(req.URL.Query().Get("challenge"))}, true, nil
}

// sign is the X-Sig header Authenticate accepts for body.
func (c *testConnector) sign(body string) string {
	m := hmac.New(sha256.New, c.secret)
	m.Write([]byte(body))
	return hex.EncodeToString(m.Sum(nil))
}

func (c *testConnector) Authenticate(req *connector.Request) error {
	m := hmac.New(sha256.New, c.secret)
	m.Write(req.Body)
	got, _ := hex.DecodeString(req.Header.Get("X-Sig"))
	if !hmac.Equal(got, m.Sum(nil)) {
		return fmt.Errorf("%w: X-Sig", connector.ErrSignature)
	}
	return nil
}

func (c *testConnector) Parse(req *connector.Request) ([]connector.Event, error) {
	var p struct {
		ID, Text, Media string
		Medias          []string // more files on the one message
		Panic           bool
		Backfill        bool // history sent after the fact
	}
	if err := json.Unmarshal(req.Body, &p); err != nil {
		return nil, err
	}
	if p.Panic {
		panic("parser bug")
	}
	ev := connector.Event{Event: onrecord.Event{Kind: onrecord.KindMessage, ProviderID: p.ID, Conversation: "c1",
		Direction: onrecord.Inbound, Sender: onrecord.Party{ID: "+1555"}, SentAt: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC), Body: p.Text}}
	if p.Media != "" {
		ev.Media = []connector.MediaRef{{Ref: p.Media, Name: "photo.jpg", ContentType: "image/jpeg"}}
	}
	for _, m := range p.Medias {
		ev.Media = append(ev.Media, connector.MediaRef{Ref: m, Name: m + ".jpg", ContentType: "image/jpeg"})
	}
	ev.Backfill = p.Backfill
	return []connector.Event{ev}, nil
}

func (c *testConnector) Fetch(ctx context.Context, client *http.Client, m connector.MediaRef) (io.ReadCloser, string, error) {
	n := c.inFlight.Add(1)
	defer c.inFlight.Add(-1)
	for {
		if top := c.maxInFlight.Load(); n <= top || c.maxInFlight.CompareAndSwap(top, n) {
			break
		}
	}
	time.Sleep(c.mediaDelay)
	v, ok := c.media[m.Ref]
	if !ok || v == "ERR" {
		return nil, "", errors.New("media server said 500")
	}
	return io.NopCloser(strings.NewReader(v)), "image/jpeg", nil
}

func (c *testConnector) Send(ctx context.Context, client *http.Client, msg connector.Outbound) (string, error) {
	if msg.To == "refuse" {
		return "", errors.New("provider: invalid recipient")
	}
	c.sent = append(c.sent, msg)
	return "prov-1", nil
}

type env struct {
	a    *archive.Archive
	g    *Gateway
	srv  *httptest.Server
	conn *testConnector
	q    *queue.Dir
	reg  *prometheus.Registry
	now  atomic.Pointer[time.Time] // the gateway's clock
}

func (e *env) advance(d time.Duration) {
	t := e.now.Load().Add(d)
	e.now.Store(&t)
}

func newEnv(t testing.TB, app Appender) *env {
	t.Helper()
	return newEnvWith(t, app, nil)
}

// newEnvWith is newEnv with the gateway's options changed by set first.
func newEnvWith(t testing.TB, app Appender, set func(*Options)) *env {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	a, err := archive.Open(t.Context(), archive.Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	if app == nil {
		app = a
	}
	conn := &testConnector{secret: []byte("s3cret"), media: map[string]string{"m1": "JPEGDATA", "big": strings.Repeat("x", 5000), "bad": "ERR"}}
	q, err := queue.Open(t.TempDir(), bytes.Repeat([]byte{3}, 32))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{a: a, conn: conn, q: q, reg: prometheus.NewRegistry()}
	start := time.Date(2026, 11, 23, 9, 0, 5, 0, time.UTC)
	e.now.Store(&start)
	opts := Options{Archive: app, Channels: []Channel{{Config: connector.Config{Name: "t", Type: "test"}, Connector: conn}},
		MaxBodyBytes: 4096, MaxMediaBytes: 1024, MediaQueue: q, Now: func() time.Time { return *e.now.Load() },
		Registerer: e.reg}
	if set != nil {
		set(&opts)
	}
	g, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	g.Register(mux)
	g.RegisterAPI(mux, NewTokens([]Token{{Name: "test", Secret: "token-token-token-token-1"}}, nil))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	e.g, e.srv = g, srv
	return e
}

// send makes one request to srv and returns the status and body.
func send(t *testing.T, srv *httptest.Server, method, path, body string, header map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (e *env) post(t *testing.T, body string, sign bool) (int, string) {
	t.Helper()
	var header map[string]string
	if sign {
		header = map[string]string{"X-Sig": e.conn.sign(body)}
	}
	return send(t, e.srv, "POST", "/hooks/t", body, header)
}

func TestGateway_SignatureFailuresStoreNothing(t *testing.T) {
	e := newEnv(t, nil)
	body := `{"id":"m1","text":"hello"}`
	cases := map[string]func(*http.Request){
		"missing header": func(r *http.Request) {},
		"wrong secret":   func(r *http.Request) { r.Header.Set("X-Sig", strings.Repeat("ab", 32)) },
	}
	for name, mut := range cases {
		req, _ := http.NewRequest("POST", e.srv.URL+"/hooks/t", strings.NewReader(body))
		mut(req)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Errorf("%s: status %d", name, resp.StatusCode)
		}
	}
	// Body changed by one byte after signing.
	m := hmac.New(sha256.New, e.conn.secret)
	m.Write([]byte(body))
	req, _ := http.NewRequest("POST", e.srv.URL+"/hooks/t", strings.NewReader(strings.Replace(body, "hello", "hellp", 1)))
	req.Header.Set("X-Sig", hex.EncodeToString(m.Sum(nil)))
	resp, _ := http.DefaultClient.Do(req)
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("changed body: status %d", resp.StatusCode)
	}
	if n := e.a.Len(); n != 0 {
		t.Fatalf("%d records stored from unauthenticated deliveries", n)
	}
	if h := e.g.Channels()[0]; h.SignatureFailures != 3 {
		t.Fatalf("signature failures = %d", h.SignatureFailures)
	}
}

func TestGateway_ReplayIsStoredOnceAndRawKept(t *testing.T) {
	e := newEnv(t, nil)
	body := `{"id":"m1","text":"buy 100 ACME"}`
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			if code, msg := e.post(t, body, true); code != 200 {
				t.Errorf("status %d %s", code, msg)
			}
		})
	}
	wg.Wait()
	if n := e.a.Len(); n != 1 {
		t.Fatalf("%d records after 100 replays", n)
	}
	ev, err := e.a.Get(0)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Channel != "t" || ev.Body != "buy 100 ACME" || !bytes.Equal(ev.Raw, []byte(body)) {
		t.Fatalf("stored %+v", ev)
	}
	// The same id with different content is kept and counted as a conflict.
	if code, _ := e.post(t, `{"id":"m1","text":"buy 1000 ACME"}`, true); code != 200 {
		t.Fatal(code)
	}
	if h := e.g.Channels()[0]; h.Conflicts != 1 || h.Duplicates != 99 || e.a.Len() != 2 {
		t.Fatalf("health %+v, %d records", h, e.a.Len())
	}
}

func TestGateway_UnreadableSignedDeliveryIsArchivedRaw(t *testing.T) {
	e := newEnv(t, nil)
	for i, body := range []string{`not json {`, `{"panic":true}`, `{"id":"","text":"no id"}`} {
		code, msg := e.post(t, body, true)
		if code != 200 || !strings.Contains(msg, "unparsed") {
			t.Fatalf("%q: %d %s", body, code, msg)
		}
		ev, err := e.a.Get(uint64(i))
		if err != nil {
			t.Fatal(err)
		}
		if ev.Kind != onrecord.KindUnparsed || string(ev.Raw) != body || ev.Meta["parse_error"] == "" {
			t.Fatalf("record %d = %+v", i, ev)
		}
	}
	// A retry of the same unreadable delivery is not stored twice.
	e.post(t, `not json {`, true)
	if e.a.Len() != 3 {
		t.Fatalf("%d records", e.a.Len())
	}
}

func TestGateway_MediaFetchedOrFailureRecorded(t *testing.T) {
	e := newEnv(t, nil)
	for _, ref := range []string{"m1", "bad", "big"} {
		if code, _ := e.post(t, fmt.Sprintf(`{"id":"%s","text":"see photo","media":"%s"}`, ref, ref), true); code != 200 {
			t.Fatal(code)
		}
	}
	ok, _ := e.a.Get(0)
	if len(ok.Attachments) != 1 || ok.Attachments[0].Error != "" || ok.Attachments[0].Ref != "m1" {
		t.Fatalf("fetched attachment = %+v", ok.Attachments)
	}
	// The record refers to the sealed file; the file comes back whole.
	att := ok.Attachments[0]
	if len(att.Data) != 0 || len(att.Blob) != 64 || att.Size != 8 || len(att.SHA256) != 64 {
		t.Fatalf("attachment reference = %+v", att)
	}
	if data, err := e.a.Attachment(t.Context(), &att); err != nil || string(data) != "JPEGDATA" {
		t.Fatalf("attachment content = %q, %v", data, err)
	}
	bad, _ := e.a.Get(1)
	if len(bad.Attachments) != 1 || !strings.Contains(bad.Attachments[0].Error, "retrying") || bad.Attachments[0].Blob != "" {
		t.Fatalf("failed attachment = %+v", bad.Attachments)
	}
	// An oversized file keeps what was read up to the cap, with the error;
	// it is not retried.
	big, _ := e.a.Get(2)
	if big.Attachments[0].Size != 1024 || !strings.Contains(big.Attachments[0].Error, "larger than") {
		t.Fatalf("oversized attachment: %d bytes, error %q", big.Attachments[0].Size, big.Attachments[0].Error)
	}
	if h := e.g.Channels()[0]; h.MediaErrors != 2 || h.MediaBacklog != 1 {
		t.Fatalf("media errors = %d, backlog %d", h.MediaErrors, h.MediaBacklog)
	}
}

func TestGateway_FailedMediaIsRetriedFromTheDurableQueue(t *testing.T) {
	e := newEnv(t, nil)
	e.conn.media["later"] = "ERR"
	e.conn.media["never"] = "ERR"
	for _, ref := range []string{"later", "never"} {
		if code, _ := e.post(t, fmt.Sprintf(`{"id":"%s","text":"see photo","media":"%s"}`, ref, ref), true); code != 200 {
			t.Fatal(code)
		}
	}
	// A provider's retry of the same delivery queues no second task.
	e.post(t, `{"id":"later","text":"see photo","media":"later"}`, true)
	if names, _ := e.q.List(); len(names) != 2 {
		t.Fatalf("%d tasks queued, want 2", len(names))
	}
	// Not due yet: nothing happens.
	if n, err := e.g.RetryDueMedia(t.Context()); n != 0 || err != nil || e.a.Len() != 2 {
		t.Fatalf("early pass closed %d, %v; %d records", n, err, e.a.Len())
	}
	// The provider recovers for one file. A gateway restarted over the same
	// queue picks the tasks up.
	e.conn.media["later"] = "PNGDATA"
	g2, err := New(Options{Archive: e.a, Channels: []Channel{{Config: connector.Config{Name: "t", Type: "test"}, Connector: e.conn}},
		MaxMediaBytes: 1024, MediaQueue: e.q, Now: func() time.Time { return *e.now.Load() }})
	if err != nil {
		t.Fatal(err)
	}
	if h := g2.Channels()[0]; h.MediaBacklog != 2 {
		t.Fatalf("backlog after restart = %d", h.MediaBacklog)
	}
	e.advance(DefaultMediaRetry[0])
	if n, err := g2.RetryDueMedia(t.Context()); n != 1 || err != nil {
		t.Fatalf("pass closed %d, %v", n, err)
	}
	fetched, err := e.a.Get(2)
	if err != nil {
		t.Fatal(err)
	}
	if fetched.Kind != onrecord.KindSystem || fetched.Subtype != SubtypeAttachmentFetched || fetched.Target != "later" ||
		fetched.Conversation != "c1" || fetched.Attachments[0].Error != "" {
		t.Fatalf("closing record = %+v", fetched)
	}
	if data, err := e.a.Attachment(t.Context(), &fetched.Attachments[0]); err != nil || string(data) != "PNGDATA" {
		t.Fatalf("retried file = %q, %v", data, err)
	}
	// The original record is unchanged: still the failure, now linked.
	if orig, _ := e.a.Get(0); orig.Attachments[0].Error == "" {
		t.Fatalf("original changed: %+v", orig.Attachments)
	}
	// The other file fails every attempt; after the last it is recorded
	// as given up and leaves the queue.
	for range DefaultMediaRetry {
		e.advance(DefaultMediaRetry[len(DefaultMediaRetry)-1])
		if _, err := g2.RetryDueMedia(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if names, _ := e.q.List(); len(names) != 0 {
		t.Fatalf("%d tasks left", len(names))
	}
	failed, _ := e.a.Get(3)
	if failed.Subtype != SubtypeAttachmentFailed || failed.Target != "never" || failed.Attachments[0].Error == "" ||
		failed.Meta["attempts"] != fmt.Sprint(len(DefaultMediaRetry)) {
		t.Fatalf("give-up record = %+v", failed)
	}
	if e.a.Len() != 4 {
		t.Fatalf("%d records, want 4", e.a.Len())
	}
	if h := g2.Channels()[0]; h.MediaBacklog != 0 {
		t.Fatalf("backlog = %d", h.MediaBacklog)
	}
}

type failingQueue struct{ *queue.Dir }

func (failingQueue) Put(string, []byte) error { return errors.New("disk full") }

func TestGateway_UnqueueableRetryIsNotAcknowledged(t *testing.T) {
	e := newEnv(t, nil)
	g, err := New(Options{Archive: e.a, Channels: []Channel{{Config: connector.Config{Name: "t", Type: "test"}, Connector: e.conn}},
		MediaQueue: failingQueue{e.q}})
	if err != nil {
		t.Fatal(err)
	}
	body := `{"id":"b1","text":"x","media":"bad"}`
	m := hmac.New(sha256.New, e.conn.secret)
	m.Write([]byte(body))
	req := &connector.Request{Method: "POST", Header: http.Header{"X-Sig": {hex.EncodeToString(m.Sum(nil))}}, Body: []byte(body)}
	if code, _ := g.Deliver(t.Context(), "t", req); code != 503 || e.a.Len() != 0 {
		t.Fatalf("status %d with %d records; want 503 and nothing stored", code, e.a.Len())
	}
}

type failingAppender struct{}

func (failingAppender) Append(context.Context, *onrecord.Event) (archive.Result, error) {
	return archive.Result{}, &onrecord.Error{Code: onrecord.EUNAVAILABLE, Message: "record not stored", Err: errors.New("journal: disk full")}
}

func TestGateway_NotDurableIsNotAcknowledged(t *testing.T) {
	e := newEnv(t, failingAppender{})
	if code, _ := e.post(t, `{"id":"m1","text":"x"}`, true); code != 503 {
		t.Fatalf("status %d, want 503", code)
	}
}

func TestGateway_LimitsAndRoutes(t *testing.T) {
	e := newEnv(t, nil)
	if code, _ := e.post(t, `{"id":"m1","text":"`+strings.Repeat("x", 5000)+`"}`, true); code != 413 {
		t.Fatalf("oversized body: %d", code)
	}
	resp, _ := http.Post(e.srv.URL+"/hooks/nope", "application/json", strings.NewReader("{}"))
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Fatalf("unknown channel: %d", resp.StatusCode)
	}
	resp, _ = http.Get(e.srv.URL + "/hooks/t?token=ok&challenge=12345")
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "12345" {
		t.Fatalf("handshake: %d %q", resp.StatusCode, b)
	}
	resp, _ = http.Get(e.srv.URL + "/hooks/t?token=bad&challenge=1")
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("bad handshake: %d", resp.StatusCode)
	}
	if e.a.Len() != 0 {
		t.Fatal("records stored")
	}
}

func TestAPI_SendCommitsFirstAndLinksTheProviderID(t *testing.T) {
	e := newEnv(t, nil)
	call := func(token, body string) (int, map[string]any) {
		req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/messages", strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	if code, _ := call("", `{"channel":"t","to":"+1555","body":"hi"}`); code != 401 {
		t.Fatalf("no token: %d", code)
	}
	if code, _ := call("wrong-token-wrong-token-1", `{"channel":"t","to":"+1555","body":"hi"}`); code != 401 {
		t.Fatalf("wrong token: %d", code)
	}
	code, out := call("token-token-token-token-1", `{"channel":"t","to":"+1555","body":"Your statement is ready"}`)
	if code != 201 || out["provider_message_id"] != "prov-1" {
		t.Fatalf("send: %d %v", code, out)
	}
	msg, _ := e.a.Get(0)
	st, _ := e.a.Get(1)
	if msg.Direction != onrecord.Outbound || msg.Body != "Your statement is ready" || st.Kind != onrecord.KindStatus ||
		st.Target != msg.ProviderID || st.Meta["provider_message_id"] != "prov-1" || msg.Meta["submitted_by"] != "api:test" {
		t.Fatalf("records: %+v / %+v", msg, st)
	}
	code, _ = call("token-token-token-token-1", `{"channel":"t","to":"refuse","body":"x"}`)
	failed, _ := e.a.Get(3)
	if code != 502 || failed.Status != "failed" || failed.StatusError == "" {
		t.Fatalf("refused send: %d %+v", code, failed)
	}
	req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/channels", nil)
	req.Header.Set("Authorization", "Bearer token-token-token-token-1")
	resp, _ := http.DefaultClient.Do(req)
	var ch struct{ Channels []ChannelHealth }
	json.NewDecoder(resp.Body).Decode(&ch)
	resp.Body.Close()
	if len(ch.Channels) != 1 || ch.Channels[0].Name != "t" {
		t.Fatalf("channels: %+v", ch)
	}
}

func TestReadBody(t *testing.T) {
	body := strings.Repeat("0123456789", 300)
	boom := errors.New("connection reset")
	for _, tc := range []struct {
		name    string
		r       io.Reader
		length  int64
		want    string
		wantErr error
	}{
		{"announced", strings.NewReader(body), int64(len(body)), body, nil},
		{"one byte at a time", iotest.OneByteReader(strings.NewReader(body)), int64(len(body)), body, nil},
		{"data with EOF", iotest.DataErrReader(strings.NewReader(body)), int64(len(body)), body, nil},
		{"unknown length", strings.NewReader(body), -1, body, nil},
		{"more than announced", strings.NewReader(body), 10, body, nil},
		{"less than announced", strings.NewReader(body[:5]), int64(len(body)), body[:5], nil},
		{"empty", strings.NewReader(""), 0, "", nil},
		{"longer than preallocated", strings.NewReader(strings.Repeat(body, 30)), 30 * int64(len(body)), strings.Repeat(body, 30), nil},
		{"reader fails", io.MultiReader(strings.NewReader(body[:100]), iotest.ErrReader(boom)), int64(len(body)), body[:100], boom},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := readBody(tc.r, tc.length, 1<<20, &memBudget{})
			if !errors.Is(err, tc.wantErr) || string(got) != tc.want {
				t.Fatalf("readBody = %d bytes, %v; want %d bytes, %v", len(got), err, len(tc.want), tc.wantErr)
			}
		})
	}
	// The limit stays the MaxBytesReader's.
	rec := httptest.NewRecorder()
	_, _, err := readBody(http.MaxBytesReader(rec, io.NopCloser(strings.NewReader(body)), 100), int64(len(body)), 100, &memBudget{})
	var tooLarge *http.MaxBytesError
	if !errors.As(err, &tooLarge) {
		t.Fatalf("over the limit: err = %v, want *http.MaxBytesError", err)
	}
}

// slowAppender takes delay to make each event durable.
type slowAppender struct {
	Appender
	delay time.Duration
}

func (s slowAppender) Append(ctx context.Context, ev *onrecord.Event) (archive.Result, error) {
	time.Sleep(s.delay)
	return s.Appender.Append(ctx, ev)
}

// TestGateway_StagesTimedWhereTheTimeGoes checks onrecord_webhook_stage_seconds:
// every acknowledged delivery is counted in each stage, a refused one only
// up to where it stopped, and a slow provider shows in media, a slow disk
// in commit (lower bounds only: sleeps guarantee at least that much).
func TestGateway_StagesTimedWhereTheTimeGoes(t *testing.T) {
	const mediaDelay, commitDelay = 20 * time.Millisecond, 200 * time.Millisecond
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	a, err := archive.Open(t.Context(), archive.Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	e := newEnv(t, slowAppender{a, commitDelay})
	e.conn.mediaDelay = mediaDelay
	if code, _ := e.post(t, `{"id":"m1","text":"see photo","media":"m1"}`, true); code != 200 {
		t.Fatal(code)
	}
	if code, _ := e.post(t, `{"id":"m2","text":"unsigned"}`, false); code != 401 {
		t.Fatal(code)
	}
	stages := map[string]*struct {
		n   uint64
		sum float64
	}{}
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "onrecord_webhook_stage_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			var stage, channel string
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "stage":
					stage = l.GetValue()
				case "channel":
					channel = l.GetValue()
				}
			}
			if channel != "t" {
				t.Errorf("series for channel %q", channel)
			}
			stages[stage] = &struct {
				n   uint64
				sum float64
			}{m.GetHistogram().GetSampleCount(), m.GetHistogram().GetSampleSum()}
		}
	}
	for _, s := range []string{"verify", "parse", "media", "commit"} {
		if stages[s] == nil || stages[s].n != 1 {
			t.Errorf("stage %s: %+v, want one delivery (the unsigned one stops before)", s, stages[s])
		}
	}
	if st := stages["media"]; st != nil && st.sum < mediaDelay.Seconds() {
		t.Errorf("media stage %.3f s, the fetch took at least %v", st.sum, mediaDelay)
	}
	if st := stages["commit"]; st != nil && st.sum < commitDelay.Seconds() {
		t.Errorf("commit stage %.3f s, the append took at least %v", st.sum, commitDelay)
	}
}

// TestGateway_ManyFilesAreFetchedSideBySideAndTheRestQueued sends one
// message naming more files than a delivery fetches before its
// acknowledgement: the first ones are fetched several at once, in order in
// the record; the rest are queued, due at once, and the retry loop closes
// each with an attachment_fetched record.
func TestGateway_ManyFilesAreFetchedSideBySideAndTheRestQueued(t *testing.T) {
	e := newEnv(t, nil)
	e.conn.mediaDelay = 20 * time.Millisecond
	var refs []string
	for i := range maxInlineMedia + 4 {
		ref := fmt.Sprintf("f%02d", i)
		e.conn.media[ref] = "DATA-" + ref
		refs = append(refs, `"`+ref+`"`)
	}
	if code, body := e.post(t, `{"id":"album","text":"statements","medias":[`+strings.Join(refs, ",")+`]}`, true); code != 200 {
		t.Fatalf("HTTP %d %s", code, body)
	}
	if top := e.conn.maxInFlight.Load(); top < 2 || top > mediaParallel {
		t.Errorf("at most %d fetches ran at once, want 2..%d", top, mediaParallel)
	}
	ev, err := e.a.Get(0)
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.Attachments) != maxInlineMedia+4 {
		t.Fatalf("%d attachments, want %d", len(ev.Attachments), maxInlineMedia+4)
	}
	for i, att := range ev.Attachments {
		want := fmt.Sprintf("f%02d", i)
		data, err := e.a.Attachment(t.Context(), &att)
		switch {
		case att.Ref != want:
			t.Errorf("attachment %d is %s: out of order", i, att.Ref)
		case i < maxInlineMedia && (err != nil || string(data) != "DATA-"+want || att.Error != ""):
			t.Errorf("attachment %d not fetched inline: %q %v %q", i, data, err, att.Error)
		case i >= maxInlineMedia && (att.Blob != "" || !strings.Contains(att.Error, "queued")):
			t.Errorf("attachment %d: blob %q, error %q; want it queued", i, att.Blob, att.Error)
		}
	}
	if names, _ := e.q.List(); len(names) != 4 {
		t.Fatalf("%d fetches queued, want 4", len(names))
	}
	// Due at once: the next pass of the retry loop takes them.
	if n, err := e.g.RetryDueMedia(t.Context()); n != 4 || err != nil {
		t.Fatalf("retry pass closed %d (%v), want 4", n, err)
	}
	for seq := uint64(1); seq < e.a.Len(); seq++ {
		rec, err := e.a.Get(seq)
		if err != nil || rec.Subtype != SubtypeAttachmentFetched || rec.Target != "album" || len(rec.Attachments) != 1 {
			t.Fatalf("record %d: %+v, %v; want an attachment_fetched record for the album", seq, rec, err)
		}
	}
	if h := e.g.Channels()[0]; h.MediaErrors != 0 {
		t.Errorf("%d media errors counted for files deferred on purpose", h.MediaErrors)
	}
}

// TestGateway_ReplaceConnectorsRotatesCredentials replaces the channel's
// connector with one built with a new secret: deliveries signed with the
// old secret are refused from then on, those signed with the new one
// accepted; an unknown channel replaces nothing.
func TestGateway_ReplaceConnectorsRotatesCredentials(t *testing.T) {
	e := newEnv(t, nil)
	if code, _ := e.post(t, `{"id":"before","text":"old secret"}`, true); code != 200 {
		t.Fatalf("old secret before the rotation: %d", code)
	}
	rotated := &testConnector{secret: []byte("n3w-s3cret"), media: e.conn.media}
	if err := e.g.ReplaceConnectors(map[string]connector.Connector{"t": rotated, "nope": rotated}); err == nil {
		t.Fatal("a replacement naming an unknown channel was taken")
	}
	if code, _ := e.post(t, `{"id":"still","text":"old secret"}`, true); code != 200 {
		t.Fatalf("a refused replacement changed the connector: %d", code)
	}
	if err := e.g.ReplaceConnectors(map[string]connector.Connector{"t": rotated}); err != nil {
		t.Fatal(err)
	}
	if code, _ := e.post(t, `{"id":"after-old","text":"old secret"}`, true); code != 401 {
		t.Fatalf("old secret after the rotation: %d, want 401", code)
	}
	old := e.conn
	e.conn = rotated // post signs with e.conn's secret
	if code, body := e.post(t, `{"id":"after-new","text":"new secret"}`, true); code != 200 {
		t.Fatalf("new secret after the rotation: %d %s", code, body)
	}
	e.conn = old
	if n := e.a.Len(); n != 3 {
		t.Fatalf("%d records, want 3", n)
	}
}

// TestGateway_BackfillIsNotCommittedLive: history a provider sends after
// the fact is stored like any event, but the Committed hook (consent
// answers) sees only live events: an old "yes" answers nothing asked now.
func TestGateway_BackfillIsNotCommittedLive(t *testing.T) {
	e := newEnv(t, nil)
	var seen []string
	e.g.opts.Committed = func(_ context.Context, ev *onrecord.Event) { seen = append(seen, ev.ProviderID) }
	for _, body := range []string{`{"id":"live","text":"yes"}`, `{"id":"old","text":"yes","backfill":true}`} {
		if code, msg := e.post(t, body, true); code != 200 {
			t.Fatalf("%s: HTTP %d %s", body, code, msg)
		}
	}
	if e.a.Len() != 2 || len(seen) != 1 || seen[0] != "live" {
		t.Fatalf("%d stored, Committed saw %v; want 2 stored and only the live one seen", e.a.Len(), seen)
	}
}
