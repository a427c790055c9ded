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
	"syscall"
	"testing"
	"time"

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
