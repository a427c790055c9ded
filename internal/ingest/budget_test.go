package ingest

import (
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

func TestMediaHold(t *testing.T) {
	for _, tc := range []struct{ announced, want int64 }{
		{0, 1024}, // not announced: it may be as large as any file
		{100, 100},
		{1024, 1024},
		{5000, 1024}, // refused as too large once read past the cap
	} {
		if got := mediaHold(tc.announced, 1024); got != tc.want {
			t.Errorf("mediaHold(%d) = %d, want %d", tc.announced, got, tc.want)
		}
	}
}

// TestGateway_FilesInMemoryAreBounded: with room in max_media_memory for
// one file of unannounced size, a message with three has the first fetched
// before the acknowledgement and the others queued, due at once, saying
// why; nothing is held once it is acknowledged, and the retry pass fetches
// the rest one after another within the same bound.
func TestGateway_FilesInMemoryAreBounded(t *testing.T) {
	e := newEnvWith(t, nil, func(o *Options) { o.MaxMediaBytes, o.MaxMediaMemory = 1024, 1500 })
	// Slow enough that the three fetches, side by side, all ask for room
	// while the first holds its reservation.
	e.conn.mediaDelay = 300 * time.Millisecond
	if code, body := e.post(t, `{"id":"album","text":"statements","medias":["m1","m1","m1"]}`, true); code != 200 {
		t.Fatalf("HTTP %d %s", code, body)
	}
	if held := e.g.media.used.Load(); held != 0 {
		t.Fatalf("%d bytes of files still held after the acknowledgement", held)
	}
	ev, err := e.a.Get(0)
	if err != nil || len(ev.Attachments) != 3 {
		t.Fatalf("record: %+v, %v", ev, err)
	}
	fetched := 0
	for i, att := range ev.Attachments {
		switch {
		case att.Error == "" && att.Blob != "":
			fetched++
		case !strings.Contains(att.Error, "max_media_memory") || !strings.Contains(att.Error, "queued"):
			t.Errorf("attachment %d: blob %q, error %q; want fetched, or queued for max_media_memory", i, att.Blob, att.Error)
		}
	}
	if fetched != 1 {
		t.Fatalf("%d files fetched before the acknowledgement, want the 1 there was room for", fetched)
	}
	if n, err := e.g.RetryDueMedia(t.Context()); n != 2 || err != nil {
		t.Fatalf("retry pass closed %d (%v), want 2", n, err)
	}
	if held := e.g.media.used.Load(); held != 0 {
		t.Fatalf("%d bytes of files still held after the retries", held)
	}
}
