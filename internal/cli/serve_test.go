//go:build unix

package cli

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/app"
	"github.com/onrecord/onrecord/internal/config"
)

// TestRun_AdminListenerAnswersWhileTheArchiveOpens: while the journal is
// replayed, /healthz says the process is alive and starting and /readyz
// and /metrics are 503; once open, the real admin handler answers.
func TestRun_AdminListenerAnswersWhileTheArchiveOpens(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	cfg.ExportDir = filepath.Join(t.TempDir(), "exports")
	cfg.Listen, cfg.AdminListen = "127.0.0.1:0", "localhost:0" // two ports the kernel picks
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 5 * time.Second}
	get := func(url string) (int, string) {
		t.Helper()
		resp, err := client.Get(url)
		if err != nil {
			t.Errorf("GET %s: %v", url, err)
			return 0, ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	type answer struct {
		path, body string
		code       int
	}
	check := func(phase, base string, want []answer) {
		for _, w := range want {
			code, body := get(base + w.path)
			if code != w.code || !strings.Contains(body, w.body) {
				t.Errorf("%s: %s = %d %q, want %d with %q", phase, w.path, code, body, w.code, w.body)
			}
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ready := make(chan string, 1)
	var stderr bytes.Buffer
	m := &Main{Stdout: io.Discard, Stderr: &stderr, Env: func(string) (string, bool) { return "", false }}
	done := make(chan int, 1)
	reloaded := make(chan struct{}, 1)
	go func() {
		done <- m.run(ctx, cfg, runHooks{
			// A SIGHUP while the archive opens is held for after it, not
			// the end of the process (this test's, if it were).
			reload: func() (config.Config, error) { reloaded <- struct{}{}; return cfg, nil },
			opening: func(adminURL string) {
				if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
					t.Error(err)
				}
				check("opening", adminURL, []answer{
					{"/healthz", "ok: starting", 200},
					{"/readyz", "not ready yet", 503},
					{"/metrics", "not ready yet", 503},
				})
			},
			started: func(_ context.Context, _ *app.App, _, adminURL string) { ready <- adminURL },
		})
	}()
	select {
	case adminURL := <-ready:
		check("open", adminURL, []answer{
			{"/healthz", "ok", 200},
			{"/readyz", "ready: ", 200},
			{"/metrics", "onrecord_", 200},
		})
	case code := <-done:
		t.Fatalf("run ended with %d before it was ready:\n%s", code, stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatal("not ready after 30 s")
	}
	select {
	case <-reloaded:
	case <-time.After(10 * time.Second):
		t.Error("the SIGHUP sent while opening was not acted on once open")
	}
	cancel()
	if code := <-done; code != ExitOK {
		t.Fatalf("run ended with %d:\n%s", code, stderr.String())
	}
}

// TestRun_WebhooksDuringTheReplayAreKept: while the journal replays (held
// here by the replaying hook), a signed webhook is answered 200 once it is
// a sealed task and a forged one 401, and an API request waits; once the
// archive is open the kept delivery is in it, the queue is empty, and the
// API request is answered by the open archive.
func TestRun_WebhooksDuringTheReplayAreKept(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	cfg.ExportDir = filepath.Join(t.TempDir(), "exports")
	cfg.Listen, cfg.AdminListen = "127.0.0.1:0", "localhost:0"
	cfg.Channels = []config.Channel{{Name: "tg", Type: "telegram", BotToken: "123:bot-token-for-tests", SecretToken: "hook-secret-0123456789abcdef"}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	const update = `{"update_id":731500123,"channel_post":{"message_id":77,"chat":{"id":-1001870000003,"title":"Market Notes","type":"channel"},"date":1740990240,"text":"Market note: rates unchanged."}}`
	post := func(url, path, secret string) int {
		req, err := http.NewRequest("POST", url+path, strings.NewReader(update))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if secret != "" {
			req.Header.Set("X-Telegram-Bot-Api-Secret-Token", secret)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stderr bytes.Buffer
	m := &Main{Stdout: io.Discard, Stderr: &stderr, Env: func(string) (string, bool) { return "", false }}
	started := make(chan *app.App, 1)
	done := make(chan int, 1)
	var replayed atomic.Bool
	var adminURL string    // set before started is sent
	var adminDuring string // set by opening, before replaying
	api := make(chan int, 1)
	go func() {
		done <- m.run(ctx, cfg, runHooks{
			opening: func(admin string) { adminDuring = admin },
			replaying: func(publicURL string) {
				replayed.Store(true)
				for _, c := range []struct {
					secret string
					want   int
				}{
					{"hook-secret-0123456789abcdef", 200},
					{"not-the-secret", 401},
				} {
					if got := post(publicURL, "/hooks/tg", c.secret); got != c.want {
						t.Errorf("while replaying: POST /hooks/tg with secret %q = %d, want %d", c.secret, got, c.want)
					}
				}
				// The admin listener's liveness answer says what was taken.
				if resp, err := http.Get(adminDuring + "/healthz"); err != nil {
					t.Error(err)
				} else {
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if !strings.Contains(string(b), "webhooks meanwhile: 1 kept in the intake queue, 1 refused") {
						t.Errorf("/healthz while replaying: %q", b)
					}
				}
				// The API waits for the archive rather than being refused:
				// answered by it (a bearer token is required) once open.
				go func() { api <- post(publicURL, "/api/v1/messages", "") }()
			},
			started: func(_ context.Context, a *app.App, _, admin string) { adminURL = admin; started <- a },
		})
	}()
	var a *app.App
	select {
	case a = <-started:
	case code := <-done:
		t.Fatalf("run ended with %d:\n%s", code, stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatal("not started after 30 s")
	}
	if !replayed.Load() {
		t.Fatal("the public listener was not served during the replay")
	}
	// What the intake kept is stored before the gateway takes over: by the
	// time serve has started, the record is there and its task gone.
	tasks, _ := filepath.Glob(filepath.Join(cfg.IntakeDir(), "*"))
	var found bool
	a.Archive.Events(0, func(_ uint64, ev *onrecord.Event, err error) error {
		if err == nil && ev.Channel == "tg" && ev.Body == "Market note: rates unchanged." && string(ev.Raw) == update {
			found = true
		}
		return nil
	})
	if !found {
		t.Fatalf("the delivery acknowledged during the replay is not in the archive once serve started:\n%s", stderr.String())
	}
	select {
	case code := <-api:
		if code != 401 {
			t.Errorf("the API request made during the replay: %d, want the open archive's 401", code)
		}
	case <-time.After(10 * time.Second):
		t.Error("the API request made during the replay was not answered")
	}
	resp, err := http.Get(adminURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"onrecord_intake_kept_total 1\n", "onrecord_intake_refused_total 1\n", "onrecord_intake_backlog 0\n"} {
		if !bytes.Contains(metrics, []byte(want)) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if len(tasks) != 0 {
		t.Errorf("intake tasks left after the drain: %v", tasks)
	}
	if !strings.Contains(stderr.String(), "1 webhooks were kept in the intake queue") {
		t.Errorf("serve did not say what it kept:\n%s", stderr.String())
	}
	cancel()
	if code := <-done; code != ExitOK {
		t.Fatalf("run ended with %d:\n%s", code, stderr.String())
	}
}
