package ingest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/onrecord/onrecord/internal/connector"
	"github.com/onrecord/onrecord/internal/queue"
)

// newIntake serves an intake for e's channel, keeping its tasks in a
// queue of their own in dir.
func newIntake(t *testing.T, e *env) (in *Intake, q *queue.Dir, dir string, srv *httptest.Server) {
	t.Helper()
	dir = t.TempDir()
	q, err := queue.Open(dir, bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	in, err = NewIntake(IntakeOptions{Channels: []Channel{{Config: connector.Config{Name: "t", Type: "test"}, Connector: e.conn}},
		MaxBodyBytes: 4096, Queue: q})
	if err != nil {
		t.Fatal(err)
	}
	srv = httptest.NewServer(in)
	t.Cleanup(srv.Close)
	return in, q, dir, srv
}

func taskCount(t *testing.T, q *queue.Dir) int {
	t.Helper()
	names, err := q.List()
	if err != nil {
		t.Fatal(err)
	}
	return len(names)
}

// TestIntake_AcknowledgesOnlyWhatItKeeps: while the archive opens, a
// delivery is answered 200 only once it is a task in the queue; one whose
// signature does not verify is refused and kept nowhere; handshakes are
// answered from the connector.
func TestIntake_AcknowledgesOnlyWhatItKeeps(t *testing.T) {
	e := newEnv(t, nil)
	in, q, dir, srv := newIntake(t, e)
	const body = `{"id":"m1","text":"wire 9,000 to account 4417"}`
	signed := map[string]string{"X-Sig": e.conn.sign(body)}
	cases := []struct {
		name, method, path, body string
		header                   map[string]string
		code                     int
		answer                   string
		tasks                    int // in the queue after the request
	}{
		{"signed", "POST", "/hooks/t", body, signed, 200, "ok", 1},
		{"no signature", "POST", "/hooks/t", body, nil, 401, "signature", 1},
		{"body changed after signing", "POST", "/hooks/t", strings.Replace(body, "9,000", "8,000", 1), signed, 401, "signature", 1},
		{"wrong secret", "POST", "/hooks/t", body, map[string]string{"X-Sig": strings.Repeat("ab", 32)}, 401, "signature", 1},
		{"too large", "POST", "/hooks/t", strings.Repeat("x", 5000), nil, 413, "too large", 1},
		{"handshake", "GET", "/hooks/t?token=ok&challenge=c-42", "", nil, 200, "c-42", 1},
		{"handshake refused", "GET", "/hooks/t?token=no&challenge=c-42", "", nil, 403, "forbidden", 1},
		{"no such channel", "POST", "/hooks/nope", body, signed, 404, "not found", 1},
		{"retried by the provider", "POST", "/hooks/t", body, signed, 200, "ok", 2},
	}
	for _, c := range cases {
		code, answer := send(t, srv, c.method, c.path, c.body, c.header)
		if code != c.code || !strings.Contains(answer, c.answer) {
			t.Errorf("%s: %d %q, want %d with %q", c.name, code, answer, c.code, c.answer)
		}
		if n := taskCount(t, q); n != c.tasks {
			t.Errorf("%s: %d tasks, want %d", c.name, n, c.tasks)
		}
	}
	if in.Spooled() != 2 || in.Refused() != 3 {
		t.Errorf("spooled %d, refused %d; want 2 and 3", in.Spooled(), in.Refused())
	}
	if e.a.Len() != 0 {
		t.Errorf("the archive has %d records before the drain", e.a.Len())
	}
	// No plaintext at rest: the tasks are sealed.
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(files) != 2 {
		t.Errorf("%d files in the queue directory, want the 2 tasks", len(files))
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte("4417")) || bytes.Contains(b, []byte("X-Sig")) {
			t.Errorf("task file %s holds the delivery in the clear", filepath.Base(f))
		}
	}
}

// TestIntake_DrainStoresEachDeliveryOnceInOrder: once the archive is
// open, every task goes through the gateway's pipeline in the order
// received, without its signature checked again (the secret was rotated
// meanwhile: checked again, each would now be refused), and is removed;
// a provider's retry and a task drained twice (a crash between the commit
// and the removal) are duplicates, stored once.
func TestIntake_DrainStoresEachDeliveryOnceInOrder(t *testing.T) {
	e := newEnv(t, nil)
	_, q, _, srv := newIntake(t, e)
	bodies := []string{`{"id":"m1","text":"first"}`, `{"id":"m2","text":"second","media":"m1"}`, `{"id":"m1","text":"first"}`}
	for _, b := range bodies {
		if code, answer := send(t, srv, "POST", "/hooks/t", b, map[string]string{"X-Sig": e.conn.sign(b)}); code != 200 {
			t.Fatalf("intake: %d %s", code, answer)
		}
	}
	names, _ := q.List()
	first, err := q.Get(names[0])
	if err != nil {
		t.Fatal(err)
	}
	e.conn.secret = []byte("rotated")
	if code, _ := e.post(t, bodies[0], false); code != 401 {
		t.Fatalf("the gateway took an unsigned delivery: %d", code)
	}

	done, left, err := e.g.DrainIntake(t.Context(), q)
	if err != nil || done != 3 || left != 0 {
		t.Fatalf("drain: %d done, %d left, %v", done, left, err)
	}
	if n := taskCount(t, q); n != 0 {
		t.Errorf("%d tasks left after the drain", n)
	}
	if n := e.a.Len(); n != 2 {
		t.Fatalf("%d records, want 2 (the retry is a duplicate)", n)
	}
	for seq, want := range []struct{ id, body string }{{"m1", bodies[0]}, {"m2", bodies[1]}} {
		ev, err := e.a.Get(uint64(seq))
		if err != nil {
			t.Fatal(err)
		}
		if ev.ProviderID != want.id || string(ev.Raw) != want.body || ev.Channel != "t" {
			t.Errorf("record %d: %s %q on %q, want %s %q", seq, ev.ProviderID, ev.Raw, ev.Channel, want.id, want.body)
		}
		if want.id == "m2" && (len(ev.Attachments) != 1 || ev.Attachments[0].Size != int64(len("JPEGDATA"))) {
			t.Errorf("m2's media: %+v", ev.Attachments)
		}
	}
	// The same task again, as a crash after the commit would leave it.
	if err := q.Put(names[0], first); err != nil {
		t.Fatal(err)
	}
	if done, left, err := e.g.DrainIntake(t.Context(), q); err != nil || done != 1 || left != 0 || e.a.Len() != 2 {
		t.Fatalf("second drain: %d done, %d left, %v; %d records", done, left, err, e.a.Len())
	}
}

// TestIntake_TaskKeptUntilStored: a task the archive does not take, or
// whose channel is no longer configured, stays in the queue.
func TestIntake_TaskKeptUntilStored(t *testing.T) {
	e := newEnv(t, failingAppender{})
	_, q, _, srv := newIntake(t, e)
	body := `{"id":"m1","text":"hello"}`
	if code, _ := send(t, srv, "POST", "/hooks/t", body, map[string]string{"X-Sig": e.conn.sign(body)}); code != 200 {
		t.Fatal(code)
	}
	done, left, err := e.g.DrainIntake(t.Context(), q)
	if err == nil || done != 0 || left != 1 || taskCount(t, q) != 1 {
		t.Fatalf("archive refusing writes: %d done, %d left, %v, %d tasks", done, left, err, taskCount(t, q))
	}
	if err := e.g.RemoveChannels([]string{"t"}); err != nil {
		t.Fatal(err)
	}
	done, left, err = e.g.DrainIntake(t.Context(), q)
	if err == nil || !strings.Contains(err.Error(), "no longer configured") || done != 0 || left != 1 || taskCount(t, q) != 1 {
		t.Fatalf("channel removed: %d done, %d left, %v, %d tasks", done, left, err, taskCount(t, q))
	}
}

// TestIntake_ClosedHandsOverToTheGateway: after Close, deliveries go to
// the handler Close was given, not to the queue.
func TestIntake_ClosedHandsOverToTheGateway(t *testing.T) {
	e := newEnv(t, nil)
	in, q, _, srv := newIntake(t, e)
	mux := http.NewServeMux()
	e.g.Register(mux)
	in.Close(mux, e.g.Deliver)
	body := `{"id":"m1","text":"hello"}`
	if code, answer := send(t, srv, "POST", "/hooks/t", body, map[string]string{"X-Sig": e.conn.sign(body)}); code != 200 {
		t.Fatalf("%d %s", code, answer)
	}
	if taskCount(t, q) != 0 || e.a.Len() != 1 {
		t.Fatalf("%d tasks, %d records; want the gateway to have stored it", taskCount(t, q), e.a.Len())
	}
}

// TestIntake_OtherRequestsWaitForTheArchive: a request that is not a
// webhook is neither refused nor answered while the archive opens; Close
// hands it to the open archive's handler.
func TestIntake_OtherRequestsWaitForTheArchive(t *testing.T) {
	e := newEnv(t, nil)
	in, _, _, srv := newIntake(t, e)
	type answer struct {
		code int
		body string
	}
	answered := make(chan answer, 1)
	go func() {
		code, body := send(t, srv, "GET", "/log/checkpoint", "", nil)
		answered <- answer{code, body}
	}()
	select {
	case a := <-answered:
		t.Fatalf("answered %d %q while the archive opens", a.code, a.body)
	case <-time.After(200 * time.Millisecond):
	}
	in.Close(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "open: "+r.URL.Path) }), e.g.Deliver)
	select {
	case a := <-answered:
		if a.code != 200 || a.body != "open: /log/checkpoint" {
			t.Fatalf("after Close: %d %q", a.code, a.body)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("not answered after Close")
	}
}

// BenchmarkIntake measures deliveries acknowledged per second by the
// intake (signature checked, sealed task written and fsynced, directory
// fsynced) from 32 concurrent clients, with the queue on the test's
// temporary directory: what serve takes while the journal replays.
func BenchmarkIntake(b *testing.B) {
	conn := &testConnector{secret: []byte("s3cret")}
	q, err := queue.Open(b.TempDir(), bytes.Repeat([]byte{7}, 32))
	if err != nil {
		b.Fatal(err)
	}
	in, err := NewIntake(IntakeOptions{Channels: []Channel{{Config: connector.Config{Name: "t", Type: "test"}, Connector: conn}}, Queue: q})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(in)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	body := `{"id":"m1","text":"` + strings.Repeat("a", 600) + `"}`
	sig := conn.sign(body)
	b.SetParallelism(16) // 32 clients on 2 CPUs
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest("POST", srv.URL+"/hooks/t", strings.NewReader(body))
			req.Header.Set("X-Sig", sig)
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "deliveries/s")
}

// BenchmarkDrainIntake measures how fast the gateway stores what the
// intake kept once the archive is open: one task after another, each
// read and opened, parsed, committed (an fdatasync of its own) and
// removed (a directory fsync).
func BenchmarkDrainIntake(b *testing.B) {
	e := newEnv(b, nil)
	q, err := queue.Open(b.TempDir(), bytes.Repeat([]byte{7}, 32))
	if err != nil {
		b.Fatal(err)
	}
	for i := range b.N {
		body := fmt.Sprintf(`{"id":"m%d","text":"%s"}`, i, strings.Repeat("a", 600))
		task, _ := json.Marshal(intakeTask{Channel: "t", Method: "POST", URL: "/hooks/t", Header: http.Header{}, Body: []byte(body),
			ReceivedAt: time.Now().UTC()})
		if err := q.Put(intakeName(time.Now()), task); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	start := time.Now()
	done, left, err := e.g.DrainIntake(b.Context(), q)
	if err != nil || done != b.N || left != 0 {
		b.Fatalf("%d done, %d left, %v", done, left, err)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "deliveries/s")
}
