package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
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

// requests are encoded deliveries, back to back in one buffer. As one
// object each they were a quarter of a million objects and pointers that
// the collector of the process under test marked in every cycle, on the
// CPUs it measures; a provider's queued webhooks are not in the server's
// heap.
type requests struct {
	buf  []byte
	offs []int // request i is buf[offs[i]:offs[i+1]]
}

func (r requests) len() int { return max(0, len(r.offs)-1) }

func (r requests) at(i int) []byte { return r.buf[r.offs[i]:r.offs[i+1]:r.offs[i+1]] }

// from is the requests from the k-th on.
func (r requests) from(k int) requests {
	return requests{buf: r.buf, offs: r.offs[min(k, r.len()):]}
}

// add appends req.
func (r *requests) add(req []byte) {
	if len(r.offs) == 0 {
		r.offs = append(r.offs, len(r.buf))
	}
	r.buf = append(r.buf, req...)
	r.offs = append(r.offs, len(r.buf))
}

// encode returns each delivery as an HTTP/1.1 request on the wire.
func encode(ds []sim.Delivery) (requests, error) {
	each := make([][]byte, len(ds))
	var buf bytes.Buffer
	for i, d := range ds {
		req, err := http.NewRequest(d.Method, d.URL, bytes.NewReader(d.Body))
		if err != nil {
			return requests{}, fmt.Errorf("encode %s delivery: %w", d.Kind, err)
		}
		req.Header = d.Header.Clone()
		buf.Reset()
		if err := req.Write(&buf); err != nil {
			return requests{}, fmt.Errorf("encode %s delivery: %w", d.Kind, err)
		}
		each[i] = bytes.Clone(buf.Bytes())
	}
	return packed(each), nil
}

// packed copies reqs into requests of their own, in one buffer of just
// their size.
func packed(reqs [][]byte) requests {
	size := 0
	for _, r := range reqs {
		size += len(r)
	}
	out := requests{buf: make([]byte, 0, size), offs: make([]int, 0, len(reqs)+1)}
	for _, r := range reqs {
		out.add(r)
	}
	return out
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
	c.body.Reset()
	code, closing, err := readResponse(c.r, &c.body)
	if err != nil || closing {
		c.close()
	}
	return code, c.body.Bytes(), err
}

// maxAnswerBody bounds an answer's body as the load generator reads it.
const maxAnswerBody = 1 << 20

// readResponse reads one HTTP/1.1 response from r, its body into body,
// and says whether the server will close the connection after it. It
// allocates nothing of its own, unlike http.ReadResponse (a header map,
// its strings, the Response): the load generator's garbage is collected
// in the GC cycles of the process it measures, and its goroutines are
// charged mark assists during them, which delays what an open loop sends
// and counts as latency (ReadResponse had allocated 225 MB by the end of
// a bench ingest run's closed loops). It understands what
// net/http servers send: a status line, headers, and a body delimited by
// Content-Length, chunked, or the end of the connection.
func readResponse(r *bufio.Reader, body *bytes.Buffer) (code int, closing bool, err error) {
	line, err := r.ReadSlice('\n')
	if err != nil {
		return 0, true, fmt.Errorf("read the status line: %w", err)
	}
	// "HTTP/1.1 200 OK": the version, a space, three digits.
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return 0, true, fmt.Errorf("malformed status line %q", bytes.TrimSpace(line))
	}
	for _, d := range line[9:12] {
		if d < '0' || d > '9' {
			return 0, true, fmt.Errorf("malformed status line %q", bytes.TrimSpace(line))
		}
		code = code*10 + int(d-'0')
	}
	closing = line[7] == '0' // HTTP/1.0 closes unless told otherwise
	length, chunked := -1, false
	for {
		line, err = r.ReadSlice('\n')
		if err != nil {
			return code, true, fmt.Errorf("read a header: %w", err)
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return code, true, fmt.Errorf("malformed header %q", line)
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			n, err := strconv.ParseUint(string(value), 10, 40)
			if err != nil {
				return code, true, fmt.Errorf("malformed Content-Length %q", value)
			}
			length = int(n)
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			closing = bytes.EqualFold(value, []byte("close"))
		}
	}
	switch {
	case code/100 == 1 || code == http.StatusNoContent || code == http.StatusNotModified:
		return code, closing, nil
	case chunked:
		return code, closing, readChunked(r, body)
	case length >= 0:
		return code, closing, readBody(r, body, length)
	default: // delimited by the end of the connection
		_, err = body.ReadFrom(io.LimitReader(r, maxAnswerBody))
		return code, true, err
	}
}

// readBody reads n bytes of body from r into body, keeping at most
// maxAnswerBody of them.
func readBody(r *bufio.Reader, body *bytes.Buffer, n int) error {
	for n > 0 {
		if r.Buffered() == 0 {
			if _, err := r.Peek(1); err != nil {
				return fmt.Errorf("read the body: %w", err)
			}
		}
		p, _ := r.Peek(min(n, r.Buffered())) // buffered: no error
		if keep := maxAnswerBody - body.Len(); keep > 0 {
			body.Write(p[:min(len(p), keep)])
		}
		r.Discard(len(p)) //nolint:errcheck // buffered
		n -= len(p)
	}
	return nil
}

// readChunked reads a chunked body and its trailers.
func readChunked(r *bufio.Reader, body *bytes.Buffer) error {
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return fmt.Errorf("read a chunk's size: %w", err)
		}
		size, _, _ := bytes.Cut(bytes.TrimRight(line, "\r\n"), []byte(";"))
		// string(...) of a short, non-escaping slice is not allocated.
		n, err := strconv.ParseUint(string(bytes.TrimSpace(size)), 16, 24)
		if err != nil {
			return fmt.Errorf("malformed chunk size %q", size)
		}
		if n == 0 {
			break
		}
		if err := readBody(r, body, int(n)); err != nil {
			return err
		}
		if err := readCRLF(r); err != nil {
			return err
		}
	}
	for { // trailers, up to the empty line
		line, err := r.ReadSlice('\n')
		if err != nil {
			return fmt.Errorf("read the trailers: %w", err)
		}
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			return nil
		}
	}
}

func readCRLF(r *bufio.Reader) error {
	line, err := r.ReadSlice('\n')
	if err != nil {
		return fmt.Errorf("read the end of a chunk: %w", err)
	}
	if len(bytes.TrimRight(line, "\r\n")) != 0 {
		return fmt.Errorf("a chunk runs past its size")
	}
	return nil
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
func (t *tally) send(c *conn, reqs requests, i int, since time.Time) {
	code, body, err := c.do(reqs.at(i))
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
func closedLoop(ctx context.Context, addr string, reqs requests, clients int, d time.Duration, cycle bool) (loadResult, error) {
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
				if i >= reqs.len() {
					if !cycle {
						return
					}
					i %= reqs.len()
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
func openLoop(ctx context.Context, addr string, reqs requests, perSecond int, d time.Duration, conns int) (loadResult, error) {
	n := min(reqs.len(), int(float64(perSecond)*d.Seconds()))
	conns = max(1, min(conns, n))
	cs, err := connect(addr, conns)
	if err != nil {
		return loadResult{}, err
	}
	defer closeAll(cs)
	var next atomic.Int64
	var unsent atomic.Int64
	var t tally
	// Room for every answer up front: growing them would copy under the
	// tally's lock and leave garbage, in the middle of the run.
	t.res.acked, t.res.lat = make([]int, 0, n), make([]float64, 0, n)
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
