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

func TestBodyHold(t *testing.T) {
	for _, tc := range []struct{ announced, want int64 }{
		{-1, 4096}, // chunked: it may be as large as any body
		{0, 0},
		{100, 100},
		{4095, 4095},
		{4096, 4096},
		{1 << 30, 4096}, // refused with 413 once past the cap
	} {
		if got := bodyHold(tc.announced, 4096); got != tc.want {
			t.Errorf("bodyHold(%d) = %d, want %d", tc.announced, got, tc.want)
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
// announced bodies fill max_body_memory: a third is refused with 503 and
// Retry-After before its body is read, stores nothing and is counted; once
// one of the two is answered, the third is taken when sent again, and
// nothing is held at the end.
func TestGateway_BodiesInMemoryAreBounded(t *testing.T) {
	e := newEnvWith(t, nil, func(o *Options) { o.MaxBodyMemory = 8000 })
	pad := func(id string, n int) string {
		head := fmt.Sprintf(`{"id":%q,"text":"`, id)
		return head + strings.Repeat("x", n-len(head)-2) + `"}`
	}
	slow := []*slowDelivery{startSlowDelivery(t, e, pad("s1", 4000)), startSlowDelivery(t, e, pad("s2", 4000))}
	for deadline := time.Now().Add(10 * time.Second); e.g.bodies.used.Load() != 8000; {
		if time.Now().After(deadline) {
			t.Fatalf("held %d bytes, want the two announced 8000", e.g.bodies.used.Load())
		}
		time.Sleep(time.Millisecond)
	}
	req, _ := http.NewRequest("POST", e.srv.URL+"/hooks/t", strings.NewReader(`{"id":"m3","text":"hello"}`))
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
	if code, msg := e.post(t, `{"id":"m3","text":"hello"}`, true); code != 200 {
		t.Fatalf("sent again with room: %d %s", code, msg)
	}
	if code := slow[1].finish(t); code != 200 {
		t.Fatalf("second slow delivery: %d", code)
	}
	if e.a.Len() != 3 || e.g.bodies.used.Load() != 0 {
		t.Fatalf("%d records, %d bytes still held; want 3 and 0", e.a.Len(), e.g.bodies.used.Load())
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
