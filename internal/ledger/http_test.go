package ledger

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// entriesFor serves testEntry(seed, i) for [from, to), like the journal.
func entriesFor(seed string) func(from, to uint64) ([][]byte, error) {
	return func(from, to uint64) ([][]byte, error) {
		var out [][]byte
		for i := from; i < to; i++ {
			out = append(out, testEntry(seed, i))
		}
		return out, nil
	}
}

func get(t *testing.T, srv *httptest.Server, method, path string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func bundle(seed string, from, to uint64) []byte {
	var b []byte
	for i := from; i < to; i++ {
		e := testEntry(seed, i)
		b = binary.BigEndian.AppendUint16(b, uint16(len(e)))
		b = append(b, e...)
	}
	return b
}

func TestHandler_ServesCheckpointTilesAndBundles(t *testing.T) {
	key := mustKey(t, "")
	l := mustOpen(t, t.TempDir(), key, func(o *Options) { o.Entries = entriesFor("a") })
	mustStart(t, l)
	srv := httptest.NewServer(l.Handler())
	defer srv.Close()

	if resp, _ := get(t, srv, "GET", "/log/checkpoint"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("checkpoint before any: %d, want 404", resp.StatusCode)
	}
	const size = 600 // two full level-0 tiles, a partial of 88, a level-1 partial of 2
	mustAppend(t, l, "a", 0, size)
	signed := mustCheckpoint(t, l)

	tile := func(level int, n uint64, w int) []byte {
		d, err := l.tree.tileData(level, n, w)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	tests := []struct {
		path   string
		status int
		body   []byte
		cache  string
	}{
		{"/log/checkpoint", 200, signed, cacheCheckpoint},
		{"/log/tile/0/000", 200, tile(0, 0, 256), cacheImmutable},
		{"/log/tile/0/001", 200, tile(0, 1, 256), cacheImmutable},
		{"/log/tile/0/000.p/17", 200, tile(0, 0, 17), cachePartial},
		{"/log/tile/0/002.p/88", 200, tile(0, 2, 88), cachePartial},
		{"/log/tile/0/002.p/50", 200, tile(0, 2, 50), cachePartial},
		{"/log/tile/0/002.p/89", 404, nil, ""},
		{"/log/tile/0/002", 404, nil, ""},
		{"/log/tile/0/003.p/1", 404, nil, ""},
		{"/log/tile/1/000.p/2", 200, tile(1, 0, 2), cachePartial},
		{"/log/tile/1/000.p/3", 404, nil, ""},
		{"/log/tile/1/000", 404, nil, ""},
		{"/log/tile/2/000.p/1", 404, nil, ""},
		{"/log/tile/63/000.p/1", 404, nil, ""},
		{"/log/tile/entries/000", 200, bundle("a", 0, 256), cacheImmutable},
		{"/log/tile/entries/002.p/88", 200, bundle("a", 512, 600), cachePartial},
		{"/log/tile/entries/002.p/89", 404, nil, ""},
		{"/log/tile/entries/002", 404, nil, ""},
		{"/log/tile/0/0", 404, nil, ""},
		{"/log/tile/00/000", 404, nil, ""},
		{"/log/tile/0/x000/000", 404, nil, ""},
		{"/log/tile/0/000.p/0", 404, nil, ""},
		{"/log/tile/", 404, nil, ""},
		{"/log/", 404, nil, ""},
		{"/log/checkpoint/extra", 404, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, body := get(t, srv, "GET", tt.path)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d (%s)", resp.StatusCode, tt.status, body)
			}
			if tt.status != 200 {
				return
			}
			if !bytes.Equal(body, tt.body) {
				t.Fatalf("body differs (%d bytes, want %d)", len(body), len(tt.body))
			}
			if got := resp.Header.Get("Cache-Control"); got != tt.cache {
				t.Fatalf("Cache-Control %q, want %q", got, tt.cache)
			}
			wantType := "application/octet-stream"
			if tt.path == "/log/checkpoint" {
				wantType = "text/plain; charset=utf-8"
			}
			if got := resp.Header.Get("Content-Type"); got != wantType {
				t.Fatalf("Content-Type %q, want %q", got, wantType)
			}
		})
	}
	if full := tile(0, 0, 256); len(full) != 8192 {
		t.Fatalf("full tile is %d bytes", len(full))
	}

	// HEAD is served like GET, without a body.
	resp, body := get(t, srv, "HEAD", "/log/tile/0/000")
	if resp.StatusCode != 200 || len(body) != 0 || resp.Header.Get("Content-Length") != "8192" {
		t.Fatalf("HEAD: %d, %d bytes, Content-Length %q", resp.StatusCode, len(body), resp.Header.Get("Content-Length"))
	}
	for _, method := range []string{"POST", "PUT", "DELETE", "PATCH"} {
		for _, path := range []string{"/log/checkpoint", "/log/tile/0/000"} {
			if resp, _ := get(t, srv, method, path); resp.StatusCode != http.StatusMethodNotAllowed {
				t.Fatalf("%s %s: %d, want 405", method, path, resp.StatusCode)
			}
		}
	}
}

func TestHandler_IndexPathEncodingWithXElements(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a tree of 256,005 leaves")
	}
	l := mustOpen(t, t.TempDir(), mustKey(t, ""))
	const size = 1000*TileWidth + 5 // level-0 tile 1000 holds 5 leaves
	for n := uint64(0); n < size; n += 4096 {
		mustAppend(t, l, "a", n, min(n+4096, size))
	}
	srv := httptest.NewServer(l.Handler())
	defer srv.Close()
	want, err := l.ReadTile(0, 1000, 5)
	if err != nil {
		t.Fatal(err)
	}
	resp, body := get(t, srv, "GET", "/log/tile/0/x001/000.p/5")
	if resp.StatusCode != 200 || !bytes.Equal(body, want) {
		t.Fatalf("tile x001/000.p/5: %d, %d bytes", resp.StatusCode, len(body))
	}
	if resp, _ := get(t, srv, "GET", "/log/tile/0/x001/000.p/6"); resp.StatusCode != 404 {
		t.Fatalf("tile x001/000.p/6: %d, want 404", resp.StatusCode)
	}
	if resp, _ := get(t, srv, "GET", "/log/tile/0/999"); resp.StatusCode != 200 {
		t.Fatalf("tile 999: %d, want 200", resp.StatusCode)
	}
	// Level 1 tile 3 covers level-8 hashes 768..1023; 1000 of them exist.
	if resp, _ := get(t, srv, "GET", "/log/tile/1/003.p/232"); resp.StatusCode != 200 {
		t.Fatalf("tile 1/003.p/232: %d, want 200", resp.StatusCode)
	}
}

func TestHandler_EntryBundleErrors(t *testing.T) {
	tests := []struct {
		name    string
		entries func(from, to uint64) ([][]byte, error)
		status  int
	}{
		{"no entries source", nil, 404},
		{"journal read fails", func(uint64, uint64) ([][]byte, error) { return nil, errors.New("disk on fire") }, 500},
		{"journal returns too few", func(from, to uint64) ([][]byte, error) { return entriesFor("a")(from, to-1) }, 500},
		{"journal entry differs from leaf", entriesFor("other"), 500},
		{"entry too large for a bundle", func(from, to uint64) ([][]byte, error) {
			out := make([][]byte, to-from)
			for i := range out {
				out[i] = bytes.Repeat([]byte{1}, 1<<16)
			}
			return out, nil
		}, 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := mustOpen(t, t.TempDir(), mustKey(t, ""), func(o *Options) { o.Entries = tt.entries })
			mustAppend(t, l, "a", 0, 10)
			srv := httptest.NewServer(l.Handler())
			defer srv.Close()
			resp, body := get(t, srv, "GET", "/log/tile/entries/000.p/10")
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if strings.Contains(string(body), "disk on fire") {
				t.Fatal("internal error text leaked to the client")
			}
		})
	}
}

func TestHandler_HostilePathsNeverSucceedOrFail(t *testing.T) {
	l := mustOpen(t, t.TempDir(), mustKey(t, ""), func(o *Options) { o.Entries = entriesFor("a") })
	mustAppend(t, l, "a", 0, 300)
	srv := httptest.NewServer(l.Handler())
	defer srv.Close()
	paths := []string{
		"/log/tile/../../etc/passwd", "/log/tile/0/..%2f..%2fetc", "/log/tile/%00", "/log/tile/0/000%00",
		"/log/tile/0/000.p/%31", "/log/tile/" + strings.Repeat("x999/", 1000) + "000",
		"/log/tile/0/x018/x446/x744/x073/x709/x551/615", "/log/tile/7/x018/x446/x744/x073/x709/x551/615.p/255",
		"/log/tile/entries/x018/x446/x744/x073/x709/x551/615.p/255", "/log/tile//0/000", "/log/tile/0//000",
		"/log/tile", "/log/tile/-0/000", "/log/tile/0/000.p/-1", "/log/tile/entries/000.p/9999999999999999999999",
	}
	for _, p := range paths {
		resp, _ := get(t, srv, "GET", p)
		if resp.StatusCode == 200 || resp.StatusCode >= 500 {
			t.Errorf("GET %q: %d", p, resp.StatusCode)
		}
	}
}
