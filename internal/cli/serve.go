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
	"sync/atomic"
	"syscall"
	"time"

	"github.com/onrecord/onrecord/internal/activation"
	"github.com/onrecord/onrecord/internal/app"
	"github.com/onrecord/onrecord/internal/config"
	"github.com/onrecord/onrecord/internal/ingest"
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
	// opening runs just before the archive is opened, with the admin
	// listener already answering (tests look at it then).
	opening func(adminURL string)
	// replaying runs once the intake serves the public listener, before
	// the journal's replay (which waits for it: tests send webhooks then).
	replaying func(publicURL string)
}

// run serves cfg until SIGINT or SIGTERM, then drains in-flight requests
// and closes the archive with a final checkpoint.
func (m *Main) run(ctx context.Context, cfg config.Config, hooks runHooks) int {
	app.TuneGC()
	log := m.logger(cfg)
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	pl, al, err := m.listeners(cfg, log)
	if err != nil {
		return m.fail(err)
	}
	scheme := "http"
	if cfg.TLSCert != "" {
		scheme = "https"
	}
	publicURL := scheme + "://" + pl.Addr().String()
	adminURL := "http://" + al.Addr().String()
	if hooks.prepare != nil {
		if err := hooks.prepare(&cfg, publicURL); err != nil {
			pl.Close()
			al.Close()
			return m.fail(err)
		}
	}
	// The admin listener answers from the start. Opening replays the whole
	// journal (about 1 s per million records); a liveness probe that timed
	// out meanwhile would have the process restarted into the same replay,
	// over and over. While it runs, /healthz says the process is alive and
	// starting (and what the intake took), and everything else (/readyz,
	// /metrics) is 503.
	var intake atomic.Pointer[ingest.Intake] // set on Open's goroutine, read by the admin listener's
	adminH := &switchHandler{}
	adminH.set(startingHandler(time.Now(), intake.Load))
	admin := &http.Server{Handler: adminH, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second}
	errc := make(chan error, 2)
	go func() { errc <- admin.Serve(al) }()
	// SIGHUP is taken from now on: one that comes during the replay (a
	// systemctl reload while starting) waits for the archive to be open,
	// rather than ending the process as SIGHUP does by default.
	var hup chan os.Signal
	if hooks.reload != nil {
		hup = make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
	}
	if hooks.opening != nil {
		hooks.opening(adminURL)
	}
	// The public listener is served from the moment the keys are open:
	// while the journal replays, the intake checks each webhook's
	// signature and keeps it in a sealed queue before answering, so a
	// provider that does not retry loses nothing to a restart; the API
	// and the log wait for the archive, as they waited in the listener's
	// queue before.
	publicH := &switchHandler{}
	public := &http.Server{Handler: publicH, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 60 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10}
	servePublic := sync.OnceFunc(func() {
		go func() {
			if cfg.TLSCert != "" {
				errc <- public.ServeTLS(pl, cfg.TLSCert, cfg.TLSKey)
			} else {
				errc <- public.Serve(pl)
			}
		}()
	})
	a, err := app.Open(ctx, app.Options{Config: cfg, Logger: log, Warn: m.Stderr, Intake: func(in *ingest.Intake) {
		intake.Store(in)
		publicH.set(app.PublicHeaders(cfg, in))
		servePublic()
		if len(cfg.Channels) > 0 {
			fmt.Fprintf(m.Stderr, "onrecord: replaying the journal; webhooks on %s are checked and kept in the sealed intake queue meanwhile\n", publicURL)
		}
		if hooks.replaying != nil {
			hooks.replaying(publicURL)
		}
	}})
	in := intake.Load()
	if err != nil {
		if in != nil {
			public.Close()
		} else {
			pl.Close()
		}
		admin.Close()
		return m.fail(err)
	}
	handler := a.PublicHandler()
	if in != nil {
		// What the intake kept is stored before the gateway takes over,
		// so that it is committed before what comes next (an edit after
		// its message). Deliveries keep coming to the intake meanwhile;
		// each pass takes what came during the one before, and Start
		// takes what comes during the last.
		for range 5 {
			if done, _, err := a.DrainIntake(ctx); done == 0 || err != nil {
				break
			}
		}
	}
	publicH.set(handler)
	if in != nil {
		in.Close(handler, a.Gateway.Deliver)
	}
	adminH.set(a.AdminHandler())
	abs, _ := filepath.Abs(cfg.DataDir)
	kek, _ := filepath.Abs(cfg.KEKPath())
	fmt.Fprintf(m.Stderr, "onrecord: data directory %s (%d records; key file %s)\n", abs, a.Archive.Len(), kek)
	if in != nil && in.Spooled()+in.Refused() > 0 {
		fmt.Fprintf(m.Stderr, "onrecord: while the journal replayed, %d webhooks were kept in the intake queue and %d refused (signature)\n",
			in.Spooled(), in.Refused())
	}

	fmt.Fprintf(m.Stderr, "onrecord: public listener %s (webhooks /hooks/{channel}, API /api/v1, log /log/checkpoint)\n", publicURL)
	for _, ch := range cfg.Channels {
		fmt.Fprintf(m.Stderr, "onrecord: channel %s (%s) at %s/hooks/%s\n", ch.Name, ch.Type, publicURL, ch.Name)
	}
	fmt.Fprintf(m.Stderr, "onrecord: admin listener %s (/metrics, /healthz, /readyz)\n", adminURL)
	a.Start(ctx)
	servePublic()
	var side sync.WaitGroup
	if hooks.started != nil {
		side.Go(func() { hooks.started(ctx, a, publicURL, adminURL) })
	}
	if hup != nil {
		side.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case <-hup:
					reload(ctx, a, cfg, hooks.reload, log)
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

// reload is SIGHUP: the configuration is read again; its API tokens
// replace the running ones (revoking a leaked token needs no restart,
// which takes capture down for the journal's replay), and its channels
// the running ones: credentials rotated (an app secret, auth token or
// signing secret), channels added and removed. Nothing else is changed;
// a configuration that is not valid changes nothing, and each of the two
// parts changes all or nothing.
func reload(ctx context.Context, a *app.App, running config.Config, load func() (config.Config, error), log *slog.Logger) {
	next, err := load()
	if err != nil {
		log.Error("SIGHUP: the configuration is not valid, so nothing was reloaded; the API tokens and channels in use are unchanged", "err", err)
		return
	}
	if err := a.ReloadAPITokens(ctx, next); err != nil {
		log.Error("SIGHUP: API tokens not reloaded; those in use are unchanged", "err", err)
	}
	if _, err := a.ReloadChannels(ctx, next); err != nil {
		log.Error("SIGHUP: channels not reloaded; those in use are unchanged", "err", err)
	}
	if !reflect.DeepEqual(withoutReloadable(running), withoutReloadable(next)) {
		log.Warn("SIGHUP reloads the API tokens and the channels only: restart serve for the other changes to the configuration to take effect")
	}
}

// withoutReloadable is cfg without what SIGHUP reloads.
// The channels are left out whole: ReloadChannels says itself what it
// could not change.
func withoutReloadable(cfg config.Config) config.Config {
	cfg.APITokens, cfg.NamedAPITokens, cfg.Channels = nil, nil, nil
	return cfg
}

// switchHandler serves with whichever handler was set last.
type switchHandler struct{ h atomic.Pointer[http.Handler] }

func (s *switchHandler) set(h http.Handler) { s.h.Store(&h) }

func (s *switchHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	(*s.h.Load()).ServeHTTP(w, r)
}

// startingHandler is the admin listener while the archive opens; intake
// returns the intake once it serves the public listener (nil before).
func startingHandler(since time.Time, intake func() *ingest.Intake) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "ok: starting for %s (replaying the journal); not ready yet\n", time.Since(since).Round(time.Second))
		if in := intake(); in != nil {
			fmt.Fprintf(w, "webhooks meanwhile: %d kept in the intake queue, %d refused (signature)\n", in.Spooled(), in.Refused())
		}
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "5")
		http.Error(w, "starting: replaying the journal; not ready yet", http.StatusServiceUnavailable)
	})
	return mux
}

// listeners returns the public and admin listeners: the sockets systemd
// passed (socket activation: "public", or the only one, and "admin"), else
// new ones on listen and admin_listen. A passed public socket gets the
// same check as listen: no plain HTTP other machines can reach.
func (m *Main) listeners(cfg config.Config, log *slog.Logger) (pl, al net.Listener, err error) {
	passed, err := activation.Listeners()
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		for name, l := range passed {
			if l != pl && l != al {
				log.Warn("a socket systemd passed is not used: name it public or admin (FileDescriptorName=)", "name", name, "addr", l.Addr().String())
				l.Close()
			}
		}
		if err != nil {
			for _, l := range []net.Listener{pl, al} {
				if l != nil {
					l.Close()
				}
			}
			pl, al = nil, nil
		}
	}()
	pl, al = passed["public"], passed["admin"]
	if pl == nil && al == nil && len(passed) == 1 {
		for _, l := range passed {
			pl = l
		}
	}
	if pl != nil {
		if err := cfg.CheckPublicAddr(pl.Addr().String()); err != nil {
			return pl, al, fmt.Errorf("the public socket systemd passed: %w", err)
		}
		fmt.Fprintf(m.Stderr, "onrecord: public socket %s passed by systemd (socket activation; listen is not used)\n", pl.Addr())
	} else if pl, err = net.Listen("tcp", cfg.Listen); err != nil {
		return nil, al, fmt.Errorf("listen: %w", err)
	}
	if al != nil {
		fmt.Fprintf(m.Stderr, "onrecord: admin socket %s passed by systemd (admin_listen is not used)\n", al.Addr())
	} else if al, err = net.Listen("tcp", cfg.AdminListen); err != nil {
		return pl, nil, fmt.Errorf("admin_listen: %w", err)
	}
	return pl, al, nil
}
