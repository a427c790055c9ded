package archive

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/config"
	"github.com/onrecord/onrecord/record"
)

// The crash child: when ONRECORD_CRASH_CHILD names a data directory, the
// test binary becomes a writer that appends events from several goroutines
// and prints "ack SEQ PROVIDER_ID" after each acknowledgement, until it is
// killed.
func TestMain(m *testing.M) {
	if dir := os.Getenv("ONRECORD_CRASH_CHILD"); dir != "" {
		crashChild(dir, os.Getenv("ONRECORD_CRASH_PREFIX"))
		return
	}
	os.Exit(m.Run())
}

func crashConfig(dir string) config.Config {
	cfg := config.Default()
	cfg.DataDir = dir
	cfg.SegmentSize = "1MiB" // several segment rolls over the run
	cfg.CheckpointEvery = 50
	return cfg
}

func crashChild(dir, prefix string) {
	a, err := Open(context.Background(), Options{Config: crashConfig(dir)})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child open:", err)
		os.Exit(3)
	}
	out := bufio.NewWriter(os.Stdout)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				id := fmt.Sprintf("%s-%d-%d", prefix, w, i)
				ev := event(i, strings.Repeat("b", 200+rand.IntN(3000))+id)
				ev.ProviderID = id
				res, err := a.Append(context.Background(), ev)
				if err != nil {
					fmt.Fprintln(os.Stderr, "child append:", err)
					os.Exit(4)
				}
				mu.Lock()
				fmt.Fprintf(out, "ack %d %s\n", res.Seq, id)
				out.Flush()
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// readAll decrypts every event record.
func readAll(t *testing.T, a *Archive) map[uint64]*onrecord.Event {
	t.Helper()
	out := map[uint64]*onrecord.Event{}
	err := a.journal.Scan(0, func(seq uint64, data []byte) error {
		env, err := record.Unmarshal(data)
		if err != nil {
			return fmt.Errorf("record %d: %w", seq, err)
		}
		if env.Kind != record.KindEvent {
			return nil
		}
		pt, err := a.sealer.Open(env)
		if err != nil {
			return fmt.Errorf("record %d: %w", seq, err)
		}
		var ev onrecord.Event
		if err := json.Unmarshal(pt, &ev); err != nil {
			return fmt.Errorf("record %d: %w", seq, err)
		}
		out[seq] = &ev
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCrash_AcknowledgedMeansDurable kills a writing child with SIGKILL at
// random moments and checks, after every restart, that every acknowledged
// record is present and intact and that verify passes.
func TestCrash_AcknowledgedMeansDurable(t *testing.T) {
	if testing.Short() {
		t.Skip("crash loop skipped in -short mode")
	}
	cycles := 50
	if v, err := strconv.Atoi(os.Getenv("ONRECORD_CRASH_CYCLES")); err == nil {
		cycles = v
	}
	dir := t.TempDir()
	cfg := crashConfig(dir)
	acked := map[uint64]string{}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	for c := range cycles {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "ONRECORD_CRASH_CHILD="+dir, fmt.Sprintf("ONRECORD_CRASH_PREFIX=c%d", c))
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 1024)
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		// Kill after the child has acknowledged something, at a random
		// moment in its writing.
		killAt := time.Duration(5+rng.IntN(120)) * time.Millisecond
		var timer <-chan time.Time
		for line := range lines {
			var seq uint64
			var id string
			if _, err := fmt.Sscanf(line, "ack %d %s", &seq, &id); err != nil {
				t.Fatalf("cycle %d: bad child line %q", c, line)
			}
			if prev, ok := acked[seq]; ok && prev != id {
				t.Fatalf("cycle %d: seq %d acknowledged for %s and %s", c, seq, prev, id)
			}
			acked[seq] = id
			if timer == nil {
				timer = time.After(killAt)
			}
			select {
			case <-timer:
				cmd.Process.Signal(syscall.SIGKILL)
				timer = make(chan time.Time) // never fires again
			default:
			}
		}
		err = cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
			t.Fatalf("cycle %d: child ended without being killed: %v\n%s", c, err, stderr.String())
		}

		// Restart: recovery, then every acknowledged record must be there.
		a, err := Open(t.Context(), Options{Config: cfg})
		if err != nil {
			t.Fatalf("cycle %d: reopen after SIGKILL: %v", c, err)
		}
		all := readAll(t, a)
		for seq, id := range acked {
			ev, ok := all[seq]
			if !ok {
				t.Fatalf("cycle %d: acknowledged record %d (%s) lost", c, seq, id)
			}
			if ev.ProviderID != id || !strings.HasSuffix(ev.Body, id) {
				t.Fatalf("cycle %d: record %d holds %s, acknowledged as %s", c, seq, ev.ProviderID, id)
			}
		}
		info := fmt.Sprintf("cycle %d: %d records, %d acknowledged", c, a.Len(), len(acked))
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
		rep, err := VerifyDir(t.Context(), VerifyOptions{Config: cfg})
		if err != nil || !rep.OK {
			t.Fatalf("%s: verify after restart: %v %v", info, err, rep)
		}
		if c%10 == 0 {
			t.Log(info)
		}
	}
	if len(acked) < cycles {
		t.Fatalf("only %d acknowledgements over %d cycles", len(acked), cycles)
	}
	b, _ := json.Marshal(map[string]int{"cycles": cycles, "acknowledged": len(acked)})
	t.Logf("crash loop: %s", b)
}
