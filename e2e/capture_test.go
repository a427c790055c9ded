package e2e

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/onrecord/onrecord/internal/archive"
	"github.com/onrecord/onrecord/internal/config"
	"github.com/onrecord/onrecord/internal/sim"
	"github.com/onrecord/onrecord/internal/sim/fleet"
)

// server is a running `onrecord serve`.
type server struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	logs strings.Builder
	done chan struct{}
}

// startServe starts `onrecord serve` in dir and waits until both listeners
// are up.
func startServe(t *testing.T, dir string, env []string, args ...string) *server {
	t.Helper()
	return startServeWith(t, dir, env, nil, args...)
}

// startServeWith is startServe passing files to serve as descriptors 3 on
// (sockets, as systemd passes them).
func startServeWith(t *testing.T, dir string, env []string, files []*os.File, args ...string) *server {
	t.Helper()
	build(t)
	s := &server{cmd: exec.Command(bin, append([]string{"serve"}, args...)...), done: make(chan struct{})}
	s.cmd.Dir = dir
	s.cmd.Env = append(cleanEnv(), env...)
	s.cmd.ExtraFiles = files
	stderr, _ := s.cmd.StderrPipe()
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	go func() {
		defer close(s.done)
		sc := bufio.NewScanner(stderr)
		once := sync.OnceFunc(func() { close(ready) })
		for sc.Scan() {
			s.mu.Lock()
			s.logs.WriteString(sc.Text() + "\n")
			s.mu.Unlock()
			if strings.Contains(sc.Text(), "admin listener") {
				once()
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(20 * time.Second):
		s.cmd.Process.Kill()
		t.Fatalf("serve did not start:\n%s", s.output())
	}
	return s
}

func (s *server) output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logs.String()
}

// stop ends serve with sig and waits for it.
func (s *server) stop(t *testing.T, sig syscall.Signal) {
	t.Helper()
	s.cmd.Process.Signal(sig)
	// Read stderr to its end before Wait, which closes the pipe.
	<-s.done
	err := s.cmd.Wait()
	if sig == syscall.SIGTERM && err != nil {
		t.Fatalf("serve exit: %v\n%s", err, s.output())
	}
}

// TestCapture_FiveProvidersKillAndVerify runs serve against all five
// simulators, sends a mixed workload, SIGKILLs serve part-way, restarts it,
// lets the providers redeliver what was not acknowledged, and then checks
// with `onrecord verify --json` and by reading the archive that every
// acknowledged delivery is there, once.
func TestCapture_FiveProvidersKillAndVerify(t *testing.T) {
	n := 10000
	if testing.Short() {
		n = 2000
	}
	dir := t.TempDir()
	f, public, cfgFile, env := fleetServe(t, dir, nil)

	deliveries := f.Workload(public, 7, n)
	acked := make([]atomic.Bool, len(deliveries))
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	// send delivers every delivery in idx with 8 workers and marks what was
	// acknowledged; it stops early once stopAt acknowledgements are in.
	send := func(idx []int, stopAt int64, onStop func()) {
		var next, count atomic.Int64
		var wg sync.WaitGroup
		var once sync.Once
		for range 8 {
			wg.Go(func() {
				for {
					i := int(next.Add(1) - 1)
					if i >= len(idx) {
						return
					}
					code, _, err := deliveries[idx[i]].Send(context.Background(), client)
					if err == nil && code == http.StatusOK {
						acked[idx[i]].Store(true)
						if count.Add(1) == stopAt {
							once.Do(onStop)
						}
					}
				}
			})
		}
		wg.Wait()
	}
	all := make([]int, len(deliveries))
	for i := range all {
		all[i] = i
	}

	s := startServe(t, dir, env, "--config", cfgFile)
	send(all, int64(n*2/5), func() { s.cmd.Process.Signal(syscall.SIGKILL) })
	<-s.done
	s.cmd.Wait()
	before := 0
	for i := range acked {
		if acked[i].Load() {
			before++
		}
	}
	if before < n*2/5 || before == n {
		t.Fatalf("acknowledged before the kill: %d of %d", before, n)
	}
	// Snapshot what was acknowledged before the kill: that is what must
	// survive it.
	ackedBeforeKill := make([]bool, len(acked))
	for i := range acked {
		ackedBeforeKill[i] = acked[i].Load()
	}

	// The providers redeliver what was not acknowledged, and (as they do
	// after timeouts) some of what was.
	s = startServe(t, dir, env, "--config", cfgFile)
	var again []int
	for i := range deliveries {
		if !ackedBeforeKill[i] || i%10 == 0 {
			again = append(again, i)
		}
	}
	send(again, -1, nil)
	s.stop(t, syscall.SIGTERM)
	for i := range acked {
		if !acked[i].Load() {
			t.Fatalf("delivery %d (%s) never acknowledged", i, deliveries[i].Kind)
		}
	}

	r := run(t, dir, env, "verify", "--config", cfgFile, "--json")
	var rep archive.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("verify --json: %v\n%s\n%s", err, r.stdout, r.stderr)
	}
	if r.code != 0 || !rep.OK {
		t.Fatalf("verify: code %d, errors %v", r.code, rep.Errors)
	}
	perChannel := map[string]int{}
	for _, d := range deliveries {
		perChannel[channelOf(d)]++
	}
	for _, name := range fleet.Names {
		if rep.ByChannel[name] < uint64(perChannel[name]) {
			t.Errorf("by_channel[%s] = %d, fewer than the %d deliveries sent", name, rep.ByChannel[name], perChannel[name])
		}
	}
	for _, k := range []string{"message", "edit", "delete", "reaction", "status"} {
		if rep.ByKind[k] == 0 {
			t.Errorf("by_kind has no %s: %v", k, rep.ByKind)
		}
	}
	if rep.ByKind["unparsed"] != 0 {
		t.Errorf("%d deliveries archived unparsed", rep.ByKind["unparsed"])
	}

	// Every acknowledged delivery's payload is in the archive, and no
	// event is stored twice.
	cfg := config.Default()
	cfg.DataDir = filepath.Join(dir, "onrecord-data")
	cfg.KeyFile = ""
	a, err := archive.Open(t.Context(), archive.Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	raws := map[[32]byte]bool{}
	seen := map[string]bool{}
	for seq := uint64(0); seq < a.Len(); seq++ {
		ev, err := a.Get(seq)
		if err != nil {
			continue
		}
		raws[sha256.Sum256(ev.Raw)] = true
		if k := ev.IdempotencyKey(); seen[k] {
			t.Errorf("stored twice: %q", k)
		} else {
			seen[k] = true
		}
	}
	missing := 0
	for i, d := range deliveries {
		if ackedBeforeKill[i] && !raws[sha256.Sum256(rawOf(d))] {
			missing++
		}
	}
	if missing > 0 {
		t.Fatalf("%d deliveries acknowledged before SIGKILL are not in the archive", missing)
	}
	t.Logf("%d deliveries, %d acknowledged before SIGKILL, %d redelivered; %d records %v", n, before, len(again), rep.Records, rep.ByChannel)
}

// fleetServe starts the five simulators (closed when the test ends) and
// writes a configuration file in dir for serve: one channel per simulator,
// public_url on a free port, and the extra top-level keys. It returns the
// fleet, the public URL, the file's path and the environment serve needs:
// its two listen addresses, and every secret, which the file names
// through env: references as an operator would keep them.
func fleetServe(t *testing.T, dir string, extra map[string]any) (*fleet.Fleet, string, string, []string) {
	t.Helper()
	f, err := fleet.Start(fleet.Options{SignalStreamCount: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	pub, adm := freePort(t), freePort(t)
	public := "http://" + pub
	env := []string{"ONRECORD_LISTEN=" + pub, "ONRECORD_ADMIN_LISTEN=" + adm}
	chans := f.Channels(public)
	for i := range chans {
		for key, p := range chans[i].Secrets() {
			if *p == "" {
				continue
			}
			name := strings.ToUpper(chans[i].Name + "_" + key)
			env = append(env, name+"="+*p)
			*p = "env:" + name
		}
	}
	cfg := map[string]any{"public_url": public, "channel": chans}
	for k, v := range extra {
		cfg[k] = v
	}
	cfgFile := filepath.Join(dir, "onrecord.toml")
	fh, err := os.Create(cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	if err := toml.NewEncoder(fh).Encode(cfg); err != nil {
		t.Fatal(err)
	}
	return f, public, cfgFile, env
}

// channelOf is the channel name in a delivery's hook URL.
func channelOf(d sim.Delivery) string {
	_, after, _ := strings.Cut(d.URL, "/hooks/")
	name, _, _ := strings.Cut(after, "?")
	return name
}

// rawOf is what the gateway keeps as a delivery's raw payload: its body,
// or for a GET delivery its query string.
func rawOf(d sim.Delivery) []byte {
	if len(d.Body) > 0 {
		return d.Body
	}
	_, q, _ := strings.Cut(d.URL, "?")
	return []byte(q)
}

// TestDemo_ShowsTrafficWithinSeconds runs the README's first command as a
// newcomer would, for a few seconds, in an empty directory.
func TestDemo_ShowsTrafficWithinSeconds(t *testing.T) {
	dir := t.TempDir()
	pub, adm := freePort(t), freePort(t)
	r := run(t, dir, []string{"ONRECORD_LISTEN=" + pub, "ONRECORD_ADMIN_LISTEN=" + adm}, "demo", "--for", "6s", "--rate", "40")
	if r.code != 0 {
		t.Fatalf("demo exit %d:\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	var last string
	for _, l := range strings.Split(r.stdout, "\n") {
		if strings.Contains(l, "webhooks acknowledged") {
			last = l
		}
	}
	if last == "" || strings.Contains(last, " 0 webhooks acknowledged") || !strings.Contains(last, "(0 not)") {
		t.Fatalf("demo showed no traffic or refused some:\n%s\n%s", r.stdout, r.stderr)
	}
	for _, want := range []string{"/api/v1/channels", "/log/checkpoint", "/metrics", "onrecord verify --data-dir"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("demo does not say where to look (%s):\n%s", want, r.stdout)
		}
	}
	v := run(t, dir, nil, "verify", "--data-dir", "onrecord-demo-data", "--json")
	var rep archive.Report
	if err := json.Unmarshal([]byte(v.stdout), &rep); err != nil || !rep.OK {
		t.Fatalf("verify after demo: %v %+v\n%s", err, rep, v.stderr)
	}
	for _, name := range fleet.Names {
		if rep.ByChannel[name] == 0 {
			t.Errorf("verify after demo: nothing from %s: %v", name, rep.ByChannel)
		}
	}
	// The policy set in force is on the record.
	if rep.ByChannel["onrecord"] == 0 {
		t.Errorf("no system records: %v", rep.ByChannel)
	}
	if _, err := os.Stat(filepath.Join(dir, "onrecord-data")); err == nil {
		t.Errorf("demo wrote into the real archive's default directory")
	}
}
