package ledger

import (
	"errors"
	"net/http"
	"strconv"
)

// Cache policies. Full tiles and bundles are immutable. A partial one is a
// fixed prefix too, but clients are told to prefer the full resource once
// it exists, so it is cached briefly. The checkpoint changes every second.
const (
	cacheImmutable  = "public, max-age=31536000, immutable"
	cachePartial    = "public, max-age=60"
	cacheCheckpoint = "no-cache"
)

// Handler serves the log read-only in C2SP tlog-tiles layout under /log/:
//
//	GET /log/checkpoint                     latest signed checkpoint (text/plain)
//	GET /log/tile/<L>/<N>[.p/<W>]           Merkle tree tiles
//	GET /log/tile/entries/<N>[.p/<W>]       entry bundles (encoded envelopes)
//
// HEAD works like GET; other methods get 405. Unknown, non-canonical or
// not-yet-existing resources get 404. Mount it at "/log/" of a mux.
func (l *Ledger) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /log/checkpoint", l.serveCheckpoint)
	mux.HandleFunc("GET /log/tile/{path...}", l.serveTile)
	return mux
}

func (l *Ledger) serveCheckpoint(w http.ResponseWriter, r *http.Request) {
	cp := l.Latest()
	if cp == nil {
		http.Error(w, "no checkpoint yet", http.StatusNotFound)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", cacheCheckpoint)
	h.Set("Content-Length", strconv.Itoa(len(cp)))
	_, _ = w.Write(cp)
}

func (l *Ledger) serveTile(w http.ResponseWriter, r *http.Request) {
	// Canonical tile paths never need percent-encoding; refusing escaped
	// spellings keeps one URL per resource.
	p, err := ParseTilePath("tile/" + r.PathValue("path"))
	if err != nil || r.URL.RawPath != "" {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	var data []byte
	if p.Entries {
		data, err = l.ReadEntryBundle(p.Index, p.Width)
	} else {
		data, err = l.ReadTile(p.Level, p.Index, p.Width)
	}
	switch {
	case errors.Is(err, ErrOutOfRange), errors.Is(err, ErrNoEntries):
		http.Error(w, "not found", http.StatusNotFound)
		return
	case err != nil:
		l.logger.Error("ledger: serve tile", "path", p.String(), "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	if p.Partial() {
		h.Set("Cache-Control", cachePartial)
	} else {
		h.Set("Cache-Control", cacheImmutable)
	}
	h.Set("Content-Length", strconv.Itoa(len(data)))
	_, _ = w.Write(data)
}
