package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"reflect"
	"sync"
	"syscall"
	"time"

	"github.com/onrecord/onrecord/internal/app"
	"github.com/onrecord/onrecord/internal/config"
)

func (m *Main) serve(ctx context.Context, args []string) int {
	fs, load := m.flags("serve", "")
	cfg, code, ok := m.parse(fs, load, args)
	if !ok {
		return code
	}
	return m.run(ctx, cfg, runHooks{reload: load})
}

// runHooks let `demo` reuse the server: prepare may change the
// configuration once the public address is known (public_url, channels),
// and started runs beside the server until ctx ends.
type runHooks struct {
	prepare func(cfg *config.Config, publicURL string) error
	started func(ctx context.Context, a *app.App, publicURL, adminURL string)
	// reload reads the configuration again, for SIGHUP; nil leaves SIGHUP
	// to end the process.
	reload func() (config.Config, error)
}

// run serves cfg until SIGINT or SIGTERM, then drains in-flight requests
// and closes the archive with a final checkpoint.
func (m *Main) run(ctx context.Context, cfg config.Config, hooks runHooks) int {
	app.TuneGC()
	log := m.logger(cfg)
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	pl, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return m.fail(fmt.Errorf("listen: %w", err))
	}
	al, err := net.Listen("tcp", cfg.AdminListen)
	if err != nil {
		pl.Close()
		return m.fail(fmt.Errorf("admin_listen: %w", err))
	}
	scheme := "http"
	if cfg.TLSCert != "" {
		scheme = "https"
	}
	publicURL := scheme + "://" + pl.Addr().String()
	if hooks.prepare != nil {
		if err := hooks.prepare(&cfg, publicURL); err != nil {
			pl.Close()
			al.Close()
			return m.fail(err)
		}
	}
	a, err := app.Open(ctx, app.Options{Config: cfg, Logger: log, Warn: m.Stderr})
	if err != nil {
		pl.Close()
		al.Close()
		return m.fail(err)
	}
	abs, _ := filepath.Abs(cfg.DataDir)
	kek, _ := filepath.Abs(cfg.KEKPath())
	fmt.Fprintf(m.Stderr, "onrecord: data directory %s (%d records; key file %s)\n", abs, a.Archive.Len(), kek)

	public := &http.Server{Handler: a.PublicHandler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 60 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10}
	admin := &http.Server{Handler: a.AdminHandler(), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second}

	fmt.Fprintf(m.Stderr, "onrecord: public listener %s (webhooks /hooks/{channel}, API /api/v1, log /log/checkpoint)\n", publicURL)
	for _, ch := range cfg.Channels {
		fmt.Fprintf(m.Stderr, "onrecord: channel %s (%s) at %s/hooks/%s\n", ch.Name, ch.Type, publicURL, ch.Name)
	}
	adminURL := "http://" + al.Addr().String()
	fmt.Fprintf(m.Stderr, "onrecord: admin listener %s (/metrics, /healthz, /readyz)\n", adminURL)
	a.Start(ctx)

	errc := make(chan error, 2)
	go func() {
		if cfg.TLSCert != "" {
			errc <- public.ServeTLS(pl, cfg.TLSCert, cfg.TLSKey)
		} else {
			errc <- public.Serve(pl)
		}
	}()
	go func() { errc <- admin.Serve(al) }()
	var side sync.WaitGroup
	if hooks.started != nil {
		side.Go(func() { hooks.started(ctx, a, publicURL, adminURL) })
	}
	if hooks.reload != nil {
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
		side.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case <-hup:
					reloadTokens(ctx, a, cfg, hooks.reload, log)
				}
			}
		})
	}

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
		stop()
	}
	side.Wait()
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

// reloadTokens is SIGHUP: the configuration is read again and its API
// tokens replace the running ones (revoking a leaked token needs no
// restart, which would refuse webhooks while the journal is replayed).
// Nothing else is changed; a configuration that is not valid changes
// nothing.
func reloadTokens(ctx context.Context, a *app.App, running config.Config, load func() (config.Config, error), log *slog.Logger) {
	next, err := load()
	if err != nil {
		log.Error("SIGHUP: the configuration is not valid, so nothing was reloaded; the API tokens in use are unchanged", "err", err)
		return
	}
	if err := a.ReloadAPITokens(ctx, next); err != nil {
		log.Error("SIGHUP: API tokens not reloaded; those in use are unchanged", "err", err)
		return
	}
	was, now := running, next
	was.APITokens, was.NamedAPITokens, now.APITokens, now.NamedAPITokens = nil, nil, nil, nil
	if !reflect.DeepEqual(was, now) {
		log.Warn("SIGHUP reloads the API tokens only: restart serve for the other changes to the configuration to take effect")
	}
}
