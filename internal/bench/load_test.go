package bench

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/onrecord/onrecord/internal/sim"
)

// readResponse reads what http.ReadResponse reads, answer after answer on
// one connection: status, body, and whether the connection ends.
func TestReadResponse_AsNetHTTPReadsIt(t *testing.T) {
	big := strings.Repeat("x", 9000)
	for _, tc := range []struct {
		name, raw string
		code      int
		body      string
		closing   bool
	}{
		{"content length", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Type: text/plain\r\n\r\nabc", 200, "abc", false},
		{"empty", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 200, "", false},
		{"header names in any case", "HTTP/1.1 401 Unauthorized\r\ncontent-LENGTH:  5 \r\n\r\nnope\n", 401, "nope\n", false},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n10;ext=1\r\n0123456789abcdef\r\n0\r\nX-Trailer: 1\r\n\r\n", 200, "abc0123456789abcdef", false},
		{"big body", "HTTP/1.1 200 OK\r\nContent-Length: 9000\r\n\r\n" + big, 200, big, false},
		{"no content", "HTTP/1.1 204 No Content\r\n\r\n", 204, "", false},
		{"connection close", "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 4\r\n\r\nbusy", 503, "busy", true},
		{"HTTP/1.0", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", 200, "ok", true},
		{"until the end", "HTTP/1.1 200 OK\r\n\r\nall of it", 200, "all of it", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Twice in a row, as on a kept-alive connection, unless the
			// first ends it.
			raw := tc.raw
			if !tc.closing {
				raw += tc.raw
			}
			var body bytes.Buffer
			r := bufio.NewReaderSize(strings.NewReader(raw), 64) // bodies span many buffer fills
			for range 2 {
				body.Reset()
				code, closing, err := readResponse(r, &body)
				if err != nil || code != tc.code || body.String() != tc.body || closing != tc.closing {
					t.Fatalf("readResponse = %d %q closing %v, %v; want %d %q closing %v", code, body.String(), closing, err, tc.code, tc.body, tc.closing)
				}
				if closing {
					break
				}
			}
			// net/http agrees.
			resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(tc.raw)), nil)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.code || string(b) != tc.body || resp.Close != tc.closing {
				t.Errorf("net/http reads %d %q closing %v", resp.StatusCode, b, resp.Close)
			}
		})
	}
}

func TestReadResponse_RefusesMalformed(t *testing.T) {
	for _, raw := range []string{
		"",
		"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
		"HTTP/1.1 2x0 OK\r\n\r\n",
		"SIP/2.0 200 OK\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcdef\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",
	} {
		var body bytes.Buffer
		if code, _, err := readResponse(bufio.NewReader(strings.NewReader(raw)), &body); err == nil {
			t.Errorf("%q: read as %d %q, want an error", raw, code, body.String())
		}
	}
}

// Against a real net/http server, whose answers are what the load
// generator reads: small ones with a length, a big one chunked.
func TestConnDo_NetHTTPServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("y", 70_000)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		switch r.URL.Path {
		case "/big":
			w.Write([]byte(big)) // more than the response buffer: chunked
		case "/bad":
			http.Error(w, "refused", http.StatusBadRequest)
		}
	})}
	go srv.Serve(l) //nolint:errcheck // ends with Close
	defer srv.Close()
	c := &conn{addr: l.Addr().String()}
	defer c.close()
	for _, tc := range []struct {
		path string
		code int
		body string
	}{{"/ok", 200, ""}, {"/big", 200, big}, {"/bad", 400, "refused\n"}, {"/ok", 200, ""}} {
		req := []byte("POST " + tc.path + " HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi")
		code, body, err := c.do(req)
		if err != nil || code != tc.code || string(body) != tc.body {
			t.Fatalf("%s: %d (%d bytes), %v; want %d (%d bytes)", tc.path, code, len(body), err, tc.code, len(tc.body))
		}
	}
}

// encode puts every delivery's request on the wire back to back in one
// buffer; each reads back whole, as net/http parses it, and cannot grow
// into the next.
func TestEncode_RequestsBackToBack(t *testing.T) {
	ds := []sim.Delivery{
		{Kind: "a", Method: "POST", URL: "http://127.0.0.1:1/hooks/wa", Header: http.Header{"X-Hub-Signature-256": {"sha256=00"}}, Body: []byte(`{"a":1}`)},
		{Kind: "b", Method: "POST", URL: "http://127.0.0.1:1/hooks/sms?x=1", Body: []byte("From=%2B1&Body=hi")},
		{Kind: "c", Method: "GET", URL: "http://127.0.0.1:1/hooks/wa?hub.mode=subscribe"},
	}
	reqs, err := encode(ds)
	if err != nil {
		t.Fatal(err)
	}
	if reqs.len() != 3 || reqs.from(1).len() != 2 || reqs.from(5).len() != 0 {
		t.Fatalf("len %d, from(1) %d, from(5) %d; want 3, 2, 0", reqs.len(), reqs.from(1).len(), reqs.from(5).len())
	}
	for i, d := range ds {
		r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(reqs.at(i))))
		if err != nil {
			t.Fatalf("%s: %v", d.Kind, err)
		}
		body, _ := io.ReadAll(r.Body)
		if r.Method != d.Method || r.URL.RequestURI() != strings.TrimPrefix(d.URL, "http://127.0.0.1:1") || !bytes.Equal(body, d.Body) ||
			r.Header.Get("X-Hub-Signature-256") != d.Header.Get("X-Hub-Signature-256") {
			t.Errorf("%s: read back as %s %s %q %v", d.Kind, r.Method, r.URL, body, r.Header)
		}
	}
	if !bytes.Equal(reqs.from(1).at(1), reqs.at(2)) {
		t.Error("from(1).at(1) is not at(2)")
	}
	next := bytes.Clone(reqs.at(1))
	_ = append(reqs.at(0), "overwrite"...)
	if !bytes.Equal(reqs.at(1), next) {
		t.Error("appending to one request changed the next")
	}
	s := sample(pick(reqs, []int{2, 0, 1}), 2)
	if s.len() != 2 || !bytes.Equal(s.at(0), reqs.at(2)) || !bytes.Equal(s.at(1), reqs.at(0)) {
		t.Errorf("sample of 2 of 3 picked: %q", s.buf)
	}
}
