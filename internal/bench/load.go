package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/onrecord/onrecord/internal/sim"
)

// The load generator runs in the benchmark's own process, on the CPUs the
// server under test uses, so it is kept cheap: every delivery is encoded
// once, before the clock starts, as the HTTP/1.1 bytes a provider would
// send, and sending it is one write on a kept-alive connection and one
// response read. The same bytes go to the bare handler and to the gateway
// (which rebuilds signed URLs from public_url, not from the Host header).

// encode returns each delivery as an HTTP/1.1 request on the wire.
func encode(ds []sim.Delivery) ([][]byte, error) {
	out := make([][]byte, len(ds))
	var buf bytes.Buffer
	for i, d := range ds {
		req, err := http.NewRequest(d.Method, d.URL, bytes.NewReader(d.Body))
		if err != nil {
			return nil, fmt.Errorf("encode %s delivery: %w", d.Kind, err)
		}
		req.Header = d.Header.Clone()
		buf.Reset()
		if err := req.Write(&buf); err != nil {
			return nil, fmt.Errorf("encode %s delivery: %w", d.Kind, err)
		}
		out[i] = bytes.Clone(buf.Bytes())
	}
	return out, nil
}

// conn is one kept-alive client connection; it dials again after an error.
type conn struct {
	addr string
	c    net.Conn
	r    *bufio.Reader
	// body holds the last answer's body, read into the same memory every
	// time: the load generator's garbage is collected by the process
	// under test, in its GC cycles (io.ReadAll's fresh buffers were 7 %
	// of a bench ingest run's allocations).
	body bytes.Buffer
}

func (c *conn) dial() error {
	if c.c != nil {
		return nil
	}
	nc, err := net.DialTimeout("tcp", c.addr, 10*time.Second)
	if err != nil {
		return err
	}
	c.c, c.r = nc, bufio.NewReader(nc)
	return nil
}

// do sends one encoded request and reads the answer. The body returned is
// valid until the next call.
func (c *conn) do(req []byte) (int, []byte, error) {
	if err := c.dial(); err != nil {
		return 0, nil, err
	}
	c.c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.c.Write(req); err != nil {
		c.close()
		return 0, nil, err
	}
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		c.close()
		return 0, nil, err
	}
	c.body.Reset()
	_, err = c.body.ReadFrom(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil || resp.Close {
		c.close()
	}
	return resp.StatusCode, c.body.Bytes(), err
}

func (c *conn) close() {
	if c.c != nil {
		c.c.Close()
		c.c = nil
	}
}

// loadResult is what one load run measured.
type loadResult struct {
	acked    []int     // index of every delivery answered 200
	lat      []float64 // ms, per acknowledged delivery
	lag      []float64 // open loop: ms from the scheduled time to the send
	failures int       // errors and answers other than 200
	firstErr string    // what the first failure said
	unsent   int       // open loop: scheduled but not sent before the cutoff
	elapsed  time.Duration
	cpu      time.Duration // user + system time of the whole process meanwhile
	start    time.Time     // when the first request was due (open loop) or sent
}

// rate is acknowledged deliveries per second of wall time.
func (r loadResult) rate() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(len(r.acked)) / r.elapsed.Seconds()
}

// cores is how many CPUs the process kept busy on average.
func (r loadResult) cores() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return r.cpu.Seconds() / r.elapsed.Seconds()
}

// cpuPer is the process's CPU time per acknowledged request, in
// microseconds: unlike the rate, it does not move with time the CPUs sat
// idle, so it compares runs whose latencies differ.
func (r loadResult) cpuPer() float64 {
	if len(r.acked) == 0 {
		return 0
	}
	return float64(r.cpu.Microseconds()) / float64(len(r.acked))
}

func (r loadResult) String() string {
	s := fmt.Sprintf("%.0f/s acknowledged, p50 %.2f ms, p99 %.2f ms, %.2f CPUs busy, %d failed", r.rate(),
		percentile(r.lat, .50), percentile(r.lat, .99), r.cores(), r.failures)
	if r.unsent > 0 {
		s += fmt.Sprintf(", %d not sent", r.unsent)
	}
	if r.firstErr != "" {
		s += " (first: " + r.firstErr + ")"
	}
	return s
}

// tally collects what each request of a run ended with.
type tally struct {
	mu  sync.Mutex
	res loadResult
}

// send makes request i on c and records the outcome, with its latency
// counted from since.
func (t *tally) send(c *conn, reqs [][]byte, i int, since time.Time) {
	code, body, err := c.do(reqs[i])
	lat := ms(time.Since(since))
	t.mu.Lock()
	defer t.mu.Unlock()
	if err == nil && code == http.StatusOK {
		t.res.acked = append(t.res.acked, i)
		t.res.lat = append(t.res.lat, lat)
		return
	}
	t.res.failures++
	switch {
	case t.res.firstErr != "":
	case err != nil:
		t.res.firstErr = err.Error()
	default:
		t.res.firstErr = fmt.Sprintf("HTTP %d %s", code, bytes.TrimSpace(body))
	}
}

// connect opens n connections to addr before a run starts, so the run
// measures requests rather than connection set-up.
func connect(addr string, n int) ([]*conn, error) {
	cs := make([]*conn, n)
	for k := range cs {
		cs[k] = &conn{addr: addr}
		if err := cs[k].dial(); err != nil {
			closeAll(cs)
			return nil, fmt.Errorf("connect to %s: %w", addr, err)
		}
	}
	return cs, nil
}

func closeAll(cs []*conn) {
	for _, c := range cs {
		if c != nil {
			c.close()
		}
	}
}

// closedLoop sends reqs to addr from clients connections, each waiting for
// its answer before sending the next, for d. With cycle it goes round reqs
// again; without, it stops early once every request has been sent.
func closedLoop(ctx context.Context, addr string, reqs [][]byte, clients int, d time.Duration, cycle bool) (loadResult, error) {
	cs, err := connect(addr, clients)
	if err != nil {
		return loadResult{}, err
	}
	defer closeAll(cs)
	var next atomic.Int64
	var t tally
	cpu := cpuTime()
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for _, c := range cs {
		wg.Go(func() {
			for time.Now().Before(deadline) && ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= len(reqs) {
					if !cycle {
						return
					}
					i %= len(reqs)
				}
				t.send(c, reqs, i, time.Now())
			}
		})
	}
	wg.Wait()
	t.res.elapsed, t.res.cpu, t.res.start = time.Since(start), cpuTime()-cpu, start
	return t.res, nil
}

// openLoop offers reqs to addr at perSecond for d, whether or not the
// answers keep up: request i is due at start + i/perSecond, and its
// latency counts from then, so time spent waiting for a free connection
// behind slow answers is measured rather than omitted. conns connections
// take the requests in order; a run that falls behind stops sending at
// 2d, and what it never sent is counted as unsent.
func openLoop(ctx context.Context, addr string, reqs [][]byte, perSecond int, d time.Duration, conns int) (loadResult, error) {
	n := min(len(reqs), int(float64(perSecond)*d.Seconds()))
	conns = max(1, min(conns, n))
	cs, err := connect(addr, conns)
	if err != nil {
		return loadResult{}, err
	}
	defer closeAll(cs)
	var next atomic.Int64
	var unsent atomic.Int64
	var t tally
	lags := make([][]float64, conns)
	cpu := cpuTime()
	start := time.Now()
	cutoff := start.Add(2 * d)
	var wg sync.WaitGroup
	for k, c := range cs {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				due := dueAt(start, i, perSecond)
				if wait := time.Until(due); wait > 0 {
					time.Sleep(wait)
				}
				if ctx.Err() != nil || time.Now().After(cutoff) {
					unsent.Add(1)
					continue
				}
				lags[k] = append(lags[k], ms(time.Since(due)))
				t.send(c, reqs, i, due)
			}
		})
	}
	wg.Wait()
	t.res.elapsed, t.res.cpu, t.res.start = time.Since(start), cpuTime()-cpu, start
	t.res.unsent = int(unsent.Load())
	for _, l := range lags {
		t.res.lag = append(t.res.lag, l...)
	}
	return t.res, nil
}

// dueAt is when an open loop at perSecond that began at start sends its
// i-th request.
func dueAt(start time.Time, i, perSecond int) time.Time {
	return start.Add(time.Duration(int64(i) * int64(time.Second) / int64(perSecond)))
}

// bareServer is the limit: a plain net/http handler on loopback that reads
// each body and answers 200, nothing else.
func bareServer() (addr string, stop func(), err error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			w.WriteHeader(http.StatusOK)
		})}
	go srv.Serve(l) //nolint:errcheck // ends with Close
	return l.Addr().String(), func() { srv.Close() }, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
