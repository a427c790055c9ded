// Package e2e runs the onrecord binary as a user would: built once, started
// with zero configuration, driven through its command line and HTTP.
package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
)

var (
	bin       string
	buildOnce sync.Once
	buildErr  error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "onrecord-e2e-")
	if err != nil {
		panic(err)
	}
	bin = filepath.Join(dir, "onrecord")
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// build builds the binary once per run. It runs inside a test, where the
// files it stats are recorded for go test's result cache.
func build(t *testing.T) {
	t.Helper()
	buildOnce.Do(func() {
		touchSources()
		out, err := exec.Command("go", "build", "-o", bin, "../cmd/onrecord").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("build onrecord: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
}

// touchSources stats every source file of the module. The binary is built
// with `go build`, which go test's result cache cannot see; the files a test
// stats are part of its cache key, so a changed source reruns these tests.
func touchSources() {
	filepath.WalkDir("..", func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".go") || strings.HasSuffix(p, ".mod") || strings.HasSuffix(p, ".toml")) {
			os.Stat(p)
		}
		return nil
	})
}

type result struct {
	code           int
	stdout, stderr string
}

// run runs the binary in dir with the given environment additions.
func run(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	build(t)
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(cleanEnv(), env...)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code, so.String(), se.String()}
}

// cleanEnv drops ONRECORD_* so the developer's environment cannot leak in.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ONRECORD_") {
			out = append(out, kv)
		}
	}
	return out
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func TestServe_ZeroConfigStartsServesLogAndStops(t *testing.T) {
	build(t)
	dir := t.TempDir()
	pub, adm := freePort(t), freePort(t)
	// Only the ports change, so that the test does not collide with
	// anything else on the machine; everything else is the embedded default.
	srv := startServe(t, dir, []string{"ONRECORD_LISTEN=" + pub, "ONRECORD_ADMIN_LISTEN=" + adm})
	get := func(url string) (int, string) {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := get("http://" + pub + "/log/checkpoint")
	if code != 200 {
		t.Fatalf("GET /log/checkpoint = %d %q", code, body)
	}
	vkey, err := os.ReadFile(filepath.Join(dir, "onrecord-data", "log", "verifier.key"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(strings.TrimSpace(string(vkey)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := note.Open([]byte(body), note.VerifierList(v)); err != nil {
		t.Fatalf("checkpoint does not verify: %v\n%s", err, body)
	}
	for _, p := range []string{"/debug/pprof/", "/debug/pprof/heap", "/debug/vars", "/metrics", "/healthz", "/heapdump", "/actuator/heapdump"} {
		if code, _ := get("http://" + pub + p); code != 404 {
			t.Errorf("public listener serves %s: %d", p, code)
		}
	}
	if code, _ := get("http://" + adm + "/healthz"); code != 200 {
		t.Errorf("admin /healthz = %d", code)
	}
	// No core file can take the keys and messages in its memory to disk
	// (internal/harden; the dumpable flag is checked there).
	if runtime.GOOS == "linux" {
		limits, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", srv.cmd.Process.Pid))
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`(?m)^Max core file size +0 +0 `).Match(limits) {
			t.Errorf("serve may write a core file:\n%s", limits)
		}
	}
	// A second process on the same data directory is refused.
	r := run(t, dir, nil, "import", "--format", "jsonl", "../nonexistent-is-not-reached.jsonl")
	if r.code == 0 {
		t.Errorf("import while serving succeeded")
	}
	// Commands that read ask the running server instead, on the admin
	// listener with the token it left in the data directory.
	env := []string{"ONRECORD_ADMIN_LISTEN=" + adm}
	if r := run(t, dir, env, "status"); r.code != 0 || !strings.Contains(r.stdout, "running server") {
		t.Errorf("status while serving: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := run(t, dir, env, "search", "--json", "anything"); r.code != 0 || !strings.Contains(r.stdout, `"count": "0"`) {
		t.Errorf("search while serving: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := run(t, dir, env, "show", "conversation", "nobody-here"); r.code != 1 || !strings.Contains(r.stderr, "no records in conversation") {
		t.Errorf("show while serving: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := run(t, dir, env, "search", "from:"); r.code != 2 {
		t.Errorf("bad query while serving: %d %s", r.code, r.stderr)
	}
	exported := filepath.Join(dir, "while-serving")
	if r := run(t, dir, env, "export", "--query", "anything", "--format", "jsonl", "--out", exported); r.code != 0 || !strings.Contains(r.stdout, "by the running server") {
		t.Errorf("export while serving: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := run(t, dir, nil, "verify-export", exported); r.code != 0 {
		t.Errorf("verify-export of the server's export: %s", r.stdout)
	}
	if code, _ := get("http://" + pub + "/api/v1/exports"); code != 401 {
		t.Errorf("exports API without a token: %d", code)
	}
	if code, _ := get("http://" + adm + "/local/v1/status"); code != 401 {
		t.Errorf("local API without its token: %d", code)
	}
	if code, _ := get("http://" + pub + "/api/v1/conversations/x"); code != 401 {
		t.Errorf("conversation API without a token: %d", code)
	}
	if code, _ := get("http://" + pub + "/api/v1/search?q=x"); code != 401 {
		t.Errorf("search API without a token: %d", code)
	}
	srv.stop(t, syscall.SIGTERM)
	out := srv.output()
	abs, _ := filepath.EvalSymlinks(dir)
	if _, err := os.Stat(filepath.Join(dir, "onrecord-data", "local.token")); err == nil {
		t.Error("the local token outlived the server")
	}
	for _, want := range []string{"data directory " + filepath.Join(abs, "onrecord-data"), "WARNING: a new key-encryption key", "final checkpoint signed"} {
		if !strings.Contains(out, want) {
			t.Errorf("serve output lacks %q:\n%s", want, out)
		}
	}
	fi, err := os.Stat(filepath.Join(dir, "onrecord-data", "keys", "kek.age"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v %v", fi.Mode(), err)
	}
}

func TestCLI_ImportVerifyCheckpointAndTamper(t *testing.T) {
	dir := t.TempDir()
	src, _ := filepath.Abs("testdata/events.jsonl")
	r := run(t, dir, nil, "import", "--format", "jsonl", src)
	if r.code != 1 {
		t.Fatalf("import of a file with bad lines exited %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "7 stored, 1 duplicates skipped, 1 conflicts stored and flagged, 7 invalid") {
		t.Fatalf("import summary: %s", r.stdout)
	}
	if !strings.Contains(r.stderr, `line 8: field "sent_at"`) {
		t.Fatalf("import errors do not name line and field:\n%s", r.stderr)
	}
	// Importing again stores nothing new.
	r = run(t, dir, nil, "import", "--format", "jsonl", src)
	if !strings.Contains(r.stdout, "0 stored, 8 duplicates skipped") {
		t.Fatalf("re-import: %s", r.stdout)
	}

	r = run(t, dir, nil, "verify", "--json")
	if r.code != 0 {
		t.Fatalf("verify exited %d: %s %s", r.code, r.stdout, r.stderr)
	}
	var rep struct {
		OK          bool              `json:"ok"`
		Records     int               `json:"records"`
		ByChannel   map[string]int    `json:"by_channel"`
		ByKind      map[string]int    `json:"by_kind"`
		Checkpoints int               `json:"checkpoints"`
		Disposed    int               `json:"disposed"`
		Errors      []string          `json:"errors"`
		Extra       map[string]string `json:"-"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("verify --json: %v\n%s", err, r.stdout)
	}
	if !rep.OK || rep.Records != 7 || rep.ByChannel["slack"] != 1 || rep.ByKind["message"] != 3 || rep.Checkpoints < 1 || rep.Errors == nil {
		t.Fatalf("verify report: %+v", rep)
	}
	r = run(t, dir, nil, "verify")
	if r.code != 0 || !strings.Contains(r.stdout, "OK: the archive verifies") {
		t.Fatalf("verify: %d %s", r.code, r.stdout)
	}

	r = run(t, dir, nil, "checkpoint")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "onrecord.local/log\n7\n") {
		t.Fatalf("checkpoint: %d %q %s", r.code, r.stdout, r.stderr)
	}

	// Flip one byte inside the first record's frame.
	seg := filepath.Join(dir, "onrecord-data", "journal", "00000000000000000000.seg")
	f, err := os.OpenFile(seg, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 1)
	f.ReadAt(b, 200)
	f.WriteAt([]byte{b[0] ^ 1}, 200)
	f.Close()
	r = run(t, dir, nil, "verify")
	if r.code != 1 || !strings.Contains(r.stdout, "00000000000000000000.seg") {
		t.Fatalf("verify of a tampered journal exited %d:\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestCLI_ConfigErrorsNameTheField(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "bad.toml"), []byte("listen = \"nowhere\"\ncheckpoint_every = 0\n"), 0o600)
	r := run(t, dir, nil, "verify", "--config", "bad.toml")
	if r.code != 2 || !strings.Contains(r.stderr, "listen:") || !strings.Contains(r.stderr, "checkpoint_every:") {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	r = run(t, dir, []string{"ONRECORD_DATA_DIR="}, "verify")
	if r.code != 2 || !strings.Contains(r.stderr, "data_dir:") {
		t.Fatalf("empty data dir: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	r = run(t, dir, nil, "frobnicate")
	if r.code != 2 {
		t.Fatalf("unknown command exit %d", r.code)
	}
}

func TestCLI_HoldsBlockKeyDestruction(t *testing.T) {
	dir := t.TempDir()
	src, _ := filepath.Abs("testdata/events.jsonl")
	run(t, dir, nil, "import", "--format", "jsonl", src)
	bucket := "default/" + time.Now().UTC().Format("2006-01-02")
	r := run(t, dir, nil, "keys", "destroy", "--reason", "test", bucket)
	if r.code == 0 || !strings.Contains(r.stderr, "retention period has not passed") {
		t.Fatalf("destroy of a live bucket: %d %s", r.code, r.stderr)
	}
	r = run(t, dir, nil, "hold", "create", "--id", "FOIA-2026-001", "--reason", "request")
	if r.code != 0 {
		t.Fatalf("hold create: %d %s", r.code, r.stderr)
	}
	r = run(t, dir, nil, "hold", "list")
	if !strings.Contains(r.stdout, "FOIA-2026-001") {
		t.Fatalf("hold list: %s", r.stdout)
	}
	r = run(t, dir, nil, "keys", "list")
	if !strings.Contains(r.stdout, bucket) || !strings.Contains(r.stdout, "held by FOIA-2026-001") {
		t.Fatalf("keys list: %s", r.stdout)
	}
}

// TestCLI_OutputOntoAFullDiskFails: output the binary could not write
// (here /dev/full, which answers every write with ENOSPC) makes it exit 1
// and say so, rather than exit 0 over nothing.
func TestCLI_OutputOntoAFullDiskFails(t *testing.T) {
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("no /dev/full on this system: %v", err)
	}
	defer full.Close()
	build(t)
	cmd := exec.Command(bin, "version")
	cmd.Env = cleanEnv()
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = full, &stderr
	err = cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(stderr.String(), "no space left on device") {
		t.Fatalf("onrecord version > /dev/full: %v, stderr %q; want exit 1 naming ENOSPC", err, stderr.String())
	}
}

// TestServe_SIGHUPReloadsAPITokensAndChannelSecrets: an API token taken
// out of the configuration file is refused once serve has had SIGHUP, and
// the new one accepted, without a restart; a configuration made invalid
// meanwhile changes nothing. A channel secret rotated in its file: is
// taken the same way.
func TestServe_SIGHUPReloadsAPITokensAndChannelSecrets(t *testing.T) {
	build(t)
	dir := t.TempDir()
	pub, adm := freePort(t), freePort(t)
	const leaked, rotated = "leaked-0123456789abcdef01234", "rotated-0123456789abcdef0123"
	cfgFile := filepath.Join(dir, "onrecord.toml")
	writeCfg := func(body string) {
		t.Helper()
		if err := os.WriteFile(cfgFile, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// A Telegram channel whose secret_token is read from a file: rotated
	// by rewriting the file and SIGHUP.
	secretFile := filepath.Join(dir, "tg.secret")
	const oldSecret, newSecret = "tg-old-0123456789abcdef0123", "tg-new-0123456789abcdef0123"
	if err := os.WriteFile(secretFile, []byte(oldSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	withToken := func(name, token string) string {
		return fmt.Sprintf("listen = %q\nadmin_listen = %q\n\n[[api_token]]\nname = %q\ntoken = %q\n\n"+
			"[[channel]]\nname = \"tg\"\ntype = \"telegram\"\nbot_token = \"123456:test-bot-token-0123456789\"\nsecret_token = %q\n",
			pub, adm, name, token, "file:"+secretFile)
	}
	writeCfg(withToken("ediscovery", leaked))
	srv := startServe(t, dir, nil, "--config", cfgFile)
	defer srv.stop(t, syscall.SIGTERM)
	status := func(token string) int {
		req, _ := http.NewRequest("GET", "http://"+pub+"/api/v1/channels", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s:\n%s", what, srv.output())
			}
		}
	}
	if status(leaked) != 200 || status(rotated) != 401 {
		t.Fatalf("before SIGHUP: %d %d", status(leaked), status(rotated))
	}

	writeCfg(withToken("ediscovery 2", rotated)) // not a valid name
	srv.cmd.Process.Signal(syscall.SIGHUP)
	waitFor("an invalid configuration was not reported", func() bool { return strings.Contains(srv.output(), "nothing was reloaded") })
	if status(leaked) != 200 {
		t.Fatal("an invalid configuration changed the tokens")
	}

	writeCfg(withToken("ediscovery-2", rotated))
	srv.cmd.Process.Signal(syscall.SIGHUP)
	waitFor("the new token was not accepted after SIGHUP", func() bool { return status(rotated) == 200 })
	if got := status(leaked); got != 401 {
		t.Fatalf("the revoked token after SIGHUP: %d, want 401", got)
	}
	if !strings.Contains(srv.output(), "API tokens reloaded") {
		t.Errorf("no log line for the reload:\n%s", srv.output())
	}

	// The channel's secret, rotated in its file.
	hook := func(secret string) int {
		req, _ := http.NewRequest("POST", "http://"+pub+"/hooks/tg", strings.NewReader(`{"update_id":1}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if hook(oldSecret) != 200 || hook(newSecret) != 401 {
		t.Fatalf("before the rotation: %d %d", hook(oldSecret), hook(newSecret))
	}
	if err := os.WriteFile(secretFile, []byte(newSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv.cmd.Process.Signal(syscall.SIGHUP)
	waitFor("the rotated channel secret was not taken after SIGHUP", func() bool { return hook(newSecret) == 200 })
	if got := hook(oldSecret); got != 401 {
		t.Fatalf("the old channel secret after SIGHUP: %d, want 401", got)
	}
	if out := srv.output(); !strings.Contains(out, "channels reloaded") || strings.Contains(out, newSecret) {
		t.Errorf("the reload's log line is missing or names the secret:\n%s", out)
	}
}

// TestServe_SocketActivationKeepsWebhooksAcrossARestart: with the public
// socket held open outside serve (as systemd holds it), a request made
// while no serve runs waits in the socket's queue and is answered by the
// next serve, instead of being refused. A passed socket that other
// machines could reach over plain HTTP is refused like listen would be.
func TestServe_SocketActivationKeepsWebhooksAcrossARestart(t *testing.T) {
	build(t)
	dir := t.TempDir()
	sock, pub := heldSocket(t, "127.0.0.1:0")
	env := []string{"LISTEN_FDS=1", "LISTEN_FDNAMES=public", "ONRECORD_ADMIN_LISTEN=" + freePort(t)}
	client := &http.Client{Timeout: 60 * time.Second}
	get := func() (int, error) {
		resp, err := client.Get("http://" + pub + "/log/checkpoint")
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}

	first := startServeWith(t, dir, env, []*os.File{sock})
	if code, err := get(); code != 200 || err != nil {
		t.Fatalf("first serve: %d %v\n%s", code, err, first.output())
	}
	if !strings.Contains(first.output(), "passed by systemd") {
		t.Errorf("serve did not say it took the passed socket:\n%s", first.output())
	}
	first.stop(t, syscall.SIGTERM)

	// No serve runs now: the request is queued, not refused.
	answered := make(chan error, 1)
	go func() {
		code, err := get()
		if err == nil && code != 200 {
			err = fmt.Errorf("status %d", code)
		}
		answered <- err
	}()
	select {
	case err := <-answered:
		t.Fatalf("answered while no serve was running: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	second := startServeWith(t, dir, env, []*os.File{sock})
	defer second.stop(t, syscall.SIGTERM)
	select {
	case err := <-answered:
		if err != nil {
			t.Fatalf("the request made during the restart: %v\n%s", err, second.output())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the request made during the restart was not answered:\n%s", second.output())
	}
}

// TestServe_PassedSocketReachableOverPlainHTTPIsRefused: the listen check
// applies to a socket systemd passes too.
func TestServe_PassedSocketReachableOverPlainHTTPIsRefused(t *testing.T) {
	sock, _ := heldSocket(t, "0.0.0.0:0")
	build(t)
	cmd := exec.Command(bin, "serve")
	cmd.Dir = t.TempDir()
	cmd.Env = append(cleanEnv(), "LISTEN_FDS=1", "ONRECORD_ADMIN_LISTEN="+freePort(t))
	cmd.ExtraFiles = []*os.File{sock}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	var ee *exec.ExitError
	if err := cmd.Run(); !errors.As(err, &ee) || !strings.Contains(stderr.String(), "can be reached from other machines over plain HTTP") {
		t.Fatalf("serve on a passed 0.0.0.0 socket: %v\n%s", err, stderr.String())
	}
}

// heldSocket is a listening socket on addr held open by the test, as
// systemd holds one for socket activation: the file to pass to serve, and
// the address.
func heldSocket(t *testing.T, addr string) (*os.File, string) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close() // the file is a duplicate that keeps the socket open
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, ln.Addr().String()
}
