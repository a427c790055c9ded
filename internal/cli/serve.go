package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/onrecord/onrecord/internal/archive"
)

func (m *Main) serve(ctx context.Context, args []string) int {
	fs, load := m.flags("serve", "")
	cfg, code, ok := m.parse(fs, load, args)
	if !ok {
		return code
	}
	log := m.logger(cfg)
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	a, err := archive.Open(ctx, archive.Options{Config: cfg, Logger: log, Warn: m.Stderr})
	if err != nil {
		return m.fail(err)
	}
	abs, _ := filepath.Abs(cfg.DataDir)
	fmt.Fprintf(m.Stderr, "onrecord: data directory %s (%d records; key file %s)\n", abs, a.Len(), cfg.KEKPath())

	public := &http.Server{Handler: publicHandler(a), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 60 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10}
	admin := &http.Server{Handler: adminHandler(a), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second}

	pl, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		a.Close()
		return m.fail(fmt.Errorf("listen: %w", err))
	}
	al, err := net.Listen("tcp", cfg.AdminListen)
	if err != nil {
		pl.Close()
		a.Close()
		return m.fail(fmt.Errorf("admin_listen: %w", err))
	}
	scheme := "http"
	if cfg.TLSCert != "" {
		scheme = "https"
	}
	fmt.Fprintf(m.Stderr, "onrecord: public listener %s://%s (GET /log/checkpoint, /log/tile/...)\n", scheme, pl.Addr())
	fmt.Fprintf(m.Stderr, "onrecord: admin listener http://%s (/healthz, /readyz)\n", al.Addr())

	errc := make(chan error, 2)
	go func() {
		if cfg.TLSCert != "" {
			errc <- public.ServeTLS(pl, cfg.TLSCert, cfg.TLSKey)
		} else {
			errc <- public.Serve(pl)
		}
	}()
	go func() { errc <- admin.Serve(al) }()

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	fmt.Fprintln(m.Stderr, "onrecord: shutting down: draining requests")
	sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err = errors.Join(public.Shutdown(sctx), admin.Shutdown(sctx), a.Close())
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		err = errors.Join(serveErr, err)
	}
	if err != nil {
		return m.fail(err)
	}
	fmt.Fprintln(m.Stderr, "onrecord: stopped; final checkpoint signed")
	return ExitOK
}

// publicHandler serves what the outside may see. It carries no debug or
// profiling handler, by construction: nothing registers on
// http.DefaultServeMux here.
func publicHandler(a *archive.Archive) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/log/", a.Ledger().Handler())
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
	return securityHeaders(mux)
}

func adminHandler(a *archive.Archive) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "ready: %d records\n", a.Len())
	})
	return mux
}

func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer")
		h.ServeHTTP(w, r)
	})
}
