package ingest

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestReadBody_HoldsItsBufferReserved: what readBody holds reserved is
// its buffer, at first the announced length but no more than 64 KiB, then
// doubling as the body outgrows it, up to the limit; without room for the
// next buffer it stops with errBodyMemory; past the limit, the limit's
// error. Given back, the budget is as before.
func TestReadBody_HoldsItsBufferReserved(t *testing.T) {
	const max = 1 << 20
	for _, tc := range []struct {
		name      string
		announced int64 // -1: chunked
		body      int
		budget    int64
		held      int64 // what it holds once read (0: not checked)
		err       error
	}{
		{"small, announced", 100, 100, 1 << 30, 101, nil},
		{"empty", 0, 0, 1 << 30, 512, nil},
		{"chunked", -1, 10_000, 1 << 30, 16_384, nil},
		{"announced large, sent nothing", max, 0, 1 << 30, 64<<10 + 1, nil},
		{"announced large, sent all", max, max, 1 << 30, max + 1, nil},
		{"announced more than it fits", max, max, 200 << 10, 0, errBodyMemory},
		{"no room for the first buffer", 100, 100, 50, 0, errBodyMemory},
		{"past the limit", -1, max + 10, 1 << 30, 0, &http.MaxBytesError{}},
	} {
		b := &memBudget{max: tc.budget}
		data := strings.Repeat("x", tc.body)
		got, held, err := readBody(http.MaxBytesReader(nil, io.NopCloser(strings.NewReader(data)), max), tc.announced, max, b)
		var tooLarge *http.MaxBytesError
		switch {
		case tc.err == nil && (err != nil || string(got) != data):
			t.Errorf("%s: read %d bytes, %v; want all %d", tc.name, len(got), err, tc.body)
		case tc.err == errBodyMemory && !errors.Is(err, errBodyMemory):
			t.Errorf("%s: err %v, want errBodyMemory", tc.name, err)
		case tc.err != nil && tc.err != errBodyMemory && !errors.As(err, &tooLarge):
			t.Errorf("%s: err %v, want the limit's", tc.name, err)
		case tc.held != 0 && held != tc.held:
			t.Errorf("%s: holds %d, want %d", tc.name, held, tc.held)
		case held != b.used.Load() || held > tc.budget || held < int64(cap(got)):
			t.Errorf("%s: holds %d, budget says %d (max %d), buffer %d", tc.name, held, b.used.Load(), tc.budget, cap(got))
		}
		b.release(held)
		if b.used.Load() != 0 {
			t.Errorf("%s: %d still held after release", tc.name, b.used.Load())
		}
	}
}

// slowDelivery is a signed delivery whose body is sent in two halves: the
// request is in the handler, its body announced and half read, until
// finish sends the rest; done gives its status.
type slowDelivery struct {
	w    *io.PipeWriter
	rest string
	done chan int
}

func startSlowDelivery(t *testing.T, e *env, body string) *slowDelivery {
	t.Helper()
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", e.srv.URL+"/hooks/t", pr)
	req.ContentLength = int64(len(body))
	req.Header.Set("X-Sig", e.conn.sign(body))
	d := &slowDelivery{w: pw, rest: body[len(body)/2:], done: make(chan int, 1)}
	// A test that fails while the delivery is held open ends it, or the
	// server's Close would wait for it.
	t.Cleanup(func() { pw.CloseWithError(io.ErrUnexpectedEOF) })
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			d.done <- 0
			return
		}
		resp.Body.Close()
		d.done <- resp.StatusCode
	}()
	if _, err := io.WriteString(pw, body[:len(body)/2]); err != nil {
		t.Fatal(err)
	}
	return d
}

func (d *slowDelivery) finish(t *testing.T) int {
	t.Helper()
	if _, err := io.WriteString(d.w, d.rest); err != nil {
		t.Fatal(err)
	}
	d.w.Close()
	return <-d.done
}

// TestGateway_BodiesInMemoryAreBounded holds two slow deliveries whose
// bodies fill max_body_memory: a third is refused with 503 and Retry-After
// before its body is read, stores nothing and is counted; once one of the
// two is answered, the third is taken when sent again, and nothing is held
// at the end.
func TestGateway_BodiesInMemoryAreBounded(t *testing.T) {
	e := newEnvWith(t, nil, func(o *Options) { o.MaxBodyMemory = 8100 })
	pad := func(id string, n int) string {
		head := fmt.Sprintf(`{"id":%q,"text":"`, id)
		return head + strings.Repeat("x", n-len(head)-2) + `"}`
	}
	slow := []*slowDelivery{startSlowDelivery(t, e, pad("s1", 4000)), startSlowDelivery(t, e, pad("s2", 4000))}
	waitHeld(t, e, 2*4001) // each buffer is its announced length and a byte
	third := pad("m3", 300)
	req, _ := http.NewRequest("POST", e.srv.URL+"/hooks/t", strings.NewReader(third))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("delivery beyond the bound: %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if n := webhooksCounted(t, e, "busy"); n != 1 || e.a.Len() != 0 {
		t.Fatalf("busy counted %v, %d records stored", n, e.a.Len())
	}
	if code := slow[0].finish(t); code != 200 {
		t.Fatalf("first slow delivery: %d", code)
	}
	if code, msg := e.post(t, third, true); code != 200 {
		t.Fatalf("sent again with room: %d %s", code, msg)
	}
	if code := slow[1].finish(t); code != 200 {
		t.Fatalf("second slow delivery: %d", code)
	}
	if e.a.Len() != 3 || e.g.bodies.used.Load() != 0 {
		t.Fatalf("%d records, %d bytes still held; want 3 and 0", e.a.Len(), e.g.bodies.used.Load())
	}
}

// TestGateway_AnnouncedLengthsDoNotFillTheBound: connections that
// announce the largest body and send almost nothing hold 64 KiB each, not
// what they announced, so deliveries still get through beside them; a body
// that really outgrows the room left is refused with 503 as it does.
// Before, one such connection per max_body_bytes in the bound filled it
// until the read timeout, and every delivery meanwhile was refused.
func TestGateway_AnnouncedLengthsDoNotFillTheBound(t *testing.T) {
	e := newEnvWith(t, nil, func(o *Options) { o.MaxBodyBytes, o.MaxBodyMemory = 1<<20, 1<<20 })
	for range 8 { // 8 × 1 MiB announced, eight times the bound
		pr, pw := io.Pipe()
		t.Cleanup(func() { pw.CloseWithError(io.ErrUnexpectedEOF) })
		req, _ := http.NewRequest("POST", e.srv.URL+"/hooks/t", pr)
		req.ContentLength = 1 << 20
		go func() {
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}()
		if _, err := io.WriteString(pw, `{"id":"`); err != nil {
			t.Fatal(err)
		}
	}
	waitHeld(t, e, 8*(64<<10+1))
	if code, msg := e.post(t, `{"id":"m1","text":"hello"}`, true); code != 200 {
		t.Fatalf("a delivery beside the idle ones: %d %s", code, msg)
	}
	// Half a MiB of room left: a body of 900 KiB, sent without a length,
	// outgrows it.
	if code := postBody(t, e, -1, 900<<10); code != 503 {
		t.Fatalf("a body that outgrows the room: %d, want 503", code)
	}
	if n := webhooksCounted(t, e, "busy"); n != 1 || e.a.Len() != 1 {
		t.Fatalf("busy counted %v, %d records", n, e.a.Len())
	}
}

// postBody posts n bytes announced as announced (-1: chunked), and gives
// the status (0 when the request failed).
func postBody(t *testing.T, e *env, announced int64, n int) int {
	t.Helper()
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", e.srv.URL+"/hooks/t", pr)
	req.ContentLength = announced
	go func() {
		pw.Write([]byte(strings.Repeat("x", n)))
		pw.Close()
	}()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// waitHeld waits for the gateway to hold n bytes of bodies.
func waitHeld(t *testing.T, e *env, n int64) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); e.g.bodies.used.Load() != n; {
		if time.Now().After(deadline) {
			t.Fatalf("held %d bytes, want %d", e.g.bodies.used.Load(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// webhooksCounted is onrecord_webhooks_total{channel="t",outcome=outcome}.
func webhooksCounted(t *testing.T, e *env, outcome string) float64 {
	t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "onrecord_webhooks_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "outcome" && l.GetValue() == outcome {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// TestBudgetReader reads files through budgets with and without room for
// them: with room, all of it is read and held; without, the read stops
// with errMediaMemory, holding no more than the budget; given back, the
// budget is as before.
func TestBudgetReader(t *testing.T) {
	data := strings.Repeat("x", 200_000) // several steps of budgetStep
	for _, tc := range []struct {
		max     int64
		wantErr bool
	}{{1 << 20, false}, {int64(len(data)) + budgetStep, false}, {150_000, true}, {10, true}} {
		b := &memBudget{max: tc.max}
		r := &budgetReader{r: strings.NewReader(data), b: b}
		got, err := io.ReadAll(r)
		switch {
		case tc.wantErr && !errors.Is(err, errMediaMemory):
			t.Errorf("max %d: err %v, want errMediaMemory", tc.max, err)
		case !tc.wantErr && (err != nil || string(got) != data):
			t.Errorf("max %d: read %d bytes, %v; want all %d", tc.max, len(got), err, len(data))
		case b.used.Load() != r.n || r.n != int64(len(got)) || r.n > tc.max:
			t.Errorf("max %d: holds %d, reader says %d, read %d", tc.max, b.used.Load(), r.n, len(got))
		}
		b.release(r.n)
		if b.used.Load() != 0 {
			t.Errorf("max %d: %d still held after release", tc.max, b.used.Load())
		}
	}
}

// TestGateway_FilesInMemoryAreBounded: while the files of other deliveries
// fill max_media_memory, a message's file is queued, due at once, saying
// why, and the message acknowledged; with room, a file is fetched before
// the acknowledgement and given back once committed; the retry pass, with
// room again, fetches the queued one.
func TestGateway_FilesInMemoryAreBounded(t *testing.T) {
	e := newEnvWith(t, nil, func(o *Options) { o.MaxMediaBytes, o.MaxMediaMemory = 8192, 8192 })
	others := int64(6000) // held by deliveries in progress
	if !e.g.media.reserve(others) {
		t.Fatal("no room for the others")
	}
	if code, body := e.post(t, `{"id":"m1","text":"statement","media":"big"}`, true); code != 200 {
		t.Fatalf("HTTP %d %s", code, body)
	}
	ev, err := e.a.Get(0)
	if err != nil || len(ev.Attachments) != 1 {
		t.Fatalf("record: %+v, %v", ev, err)
	}
	if att := ev.Attachments[0]; att.Blob != "" || !strings.Contains(att.Error, "max_media_memory") || !strings.Contains(att.Error, "queued") {
		t.Fatalf("file with no room: blob %q, error %q; want it queued for max_media_memory", att.Blob, att.Error)
	}
	if h := e.g.Channels()[0]; h.MediaErrors != 0 {
		t.Errorf("%d media errors counted for a file put off on purpose", h.MediaErrors)
	}
	if n, err := e.g.RetryDueMedia(t.Context()); n != 0 || err != nil {
		t.Fatalf("retry pass without room closed %d (%v), want 0", n, err)
	}
	e.g.media.release(others)
	if code, body := e.post(t, `{"id":"m2","text":"photo","media":"m1"}`, true); code != 200 {
		t.Fatalf("HTTP %d %s", code, body)
	}
	if ev, err := e.a.Get(1); err != nil || len(ev.Attachments) != 1 || ev.Attachments[0].Blob == "" {
		t.Fatalf("file with room not fetched before the acknowledgement: %+v, %v", ev, err)
	}
	if held := e.g.media.used.Load(); held != 0 {
		t.Fatalf("%d bytes of files still held after the acknowledgement", held)
	}
	if n, err := e.g.RetryDueMedia(t.Context()); n != 1 || err != nil {
		t.Fatalf("retry pass with room closed %d (%v), want 1", n, err)
	}
	if rec, err := e.a.Get(2); err != nil || rec.Subtype != SubtypeAttachmentFetched || rec.Target != "m1" || e.g.media.used.Load() != 0 {
		t.Fatalf("record 2: %+v, %v (held %d); want the queued file fetched and nothing held", rec, err, e.g.media.used.Load())
	}
}
