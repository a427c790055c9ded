package app

import (
	"context"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/archive"
	"github.com/onrecord/onrecord/internal/config"
	"github.com/onrecord/onrecord/internal/ingest"
	"github.com/onrecord/onrecord/internal/sim/fleet"
)

// TestIntake_EveryKindAcrossAnUnfinishedStart sends every kind of delivery
// the five simulators produce, signed as each provider signs it, to the
// intake while the journal replays; the start then ends before the
// archive took them (as a crash would end it), and the next start stores
// them all: every channel's messages, edits, reactions and statuses, raw
// bytes kept, nothing unparsed, no conflict, and the queue left empty.
func TestIntake_EveryKindAcrossAnUnfinishedStart(t *testing.T) {
	f, srv, cfg := fleetConfig(t, fleet.Options{SignalStreamCount: -1})
	public := cfg.PublicURL
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	acked, handshakes := 0, 0
	a, err := Open(t.Context(), Options{Config: cfg, Intake: func(in *ingest.Intake) {
		srv.Config.Handler = in
		srv.Start()
		for name, ds := range f.Deliveries(public) {
			for _, d := range ds {
				code, body, err := d.Send(t.Context(), srv.Client())
				if err != nil || code != http.StatusOK {
					t.Errorf("%s %s during the replay: %d %q %v", name, d.Kind, code, body, err)
					continue
				}
				acked++
				if d.Kind == "verification" || d.Kind == "url_verification" {
					handshakes++
				}
			}
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	srv.Close()
	for seq := range a.Archive.Len() {
		if ev, err := a.Archive.Get(seq); err == nil && ev.Kind != onrecord.KindSystem {
			t.Errorf("record %d (%s %s) stored before the archive took the intake's tasks", seq, ev.Channel, ev.Kind)
		}
	}
	// Every delivery acknowledged is a task, but the handshakes.
	intakeDir := cfg.IntakeDir()
	tasks, _ := os.ReadDir(intakeDir)
	if len(tasks) != acked-handshakes {
		t.Fatalf("%d deliveries acknowledged (%d handshakes), %d tasks kept", acked, handshakes, len(tasks))
	}
	st, err := a.Status(t.Context())
	if err != nil || st.IntakeBacklog != len(tasks) {
		t.Errorf("status says %d deliveries in the intake (%v), want %d", st.IntakeBacklog, err, len(tasks))
	}
	if err := a.Close(); err != nil { // never started: the tasks stay
		t.Fatal(err)
	}
	// An audit meanwhile says what was acknowledged and is not in the log.
	rep, err := archive.VerifyDir(t.Context(), archive.VerifyOptions{Config: cfg})
	if err != nil || !rep.OK || rep.IntakePending != len(tasks) || len(rep.Warnings) == 0 {
		t.Errorf("verify with the tasks pending: ok %v, intake_pending %d (want %d), warnings %q, %v", rep.OK, rep.IntakePending, len(tasks), rep.Warnings, err)
	}

	a, err = Open(t.Context(), Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer func() { cancel(); a.Close() }()
	a.Start(ctx)
	deadline := time.Now().Add(30 * time.Second)
	for tasks, _ = os.ReadDir(intakeDir); len(tasks) > 0 && time.Now().Before(deadline); tasks, _ = os.ReadDir(intakeDir) {
		time.Sleep(20 * time.Millisecond)
	}
	if len(tasks) != 0 {
		t.Fatalf("%d of %d intake tasks left after the drain", len(tasks), acked)
	}
	kinds := map[string]map[onrecord.EventKind]int{}
	for seq := range a.Archive.Len() {
		ev, err := a.Archive.Get(seq)
		if err != nil {
			continue // not an event record
		}
		if kinds[ev.Channel] == nil {
			kinds[ev.Channel] = map[onrecord.EventKind]int{}
		}
		kinds[ev.Channel][ev.Kind]++
		if len(ev.Raw) == 0 || ev.Kind == onrecord.KindUnparsed {
			t.Errorf("%s %s %s: raw %d bytes, kind %s", ev.Channel, ev.Kind, ev.ProviderID, len(ev.Raw), ev.Kind)
		}
	}
	for _, name := range fleet.Names {
		k := kinds[name]
		if k[onrecord.KindMessage] == 0 || k[onrecord.KindEdit]+k[onrecord.KindDelete] == 0 || k[onrecord.KindReaction]+k[onrecord.KindStatus] == 0 {
			t.Errorf("%s: stored from the intake %v", name, k)
		}
	}
	for _, c := range a.Gateway.Channels() {
		if c.Conflicts != 0 {
			t.Errorf("%s: %d conflicts", c.Name, c.Conflicts)
		}
	}
}

// TestIntake_SignalStreamDuringTheReplay: signal-cli's event stream is
// pulled from the start of the replay, not after it: what it streams
// meanwhile (all 25 queued notifications, here) is kept by the intake and
// stored, once, when the archive is open, and the stream hands over to the
// gateway's own.
func TestIntake_SignalStreamDuringTheReplay(t *testing.T) {
	f, srv, cfg := fleetConfig(t, fleet.Options{SignalStream: true, SignalStreamCount: 25})
	srv.Close()
	var intake *ingest.Intake
	a, err := Open(t.Context(), Options{Config: cfg, Intake: func(in *ingest.Intake) {
		intake = in
		// The replay waits until the intake's stream has taken everything.
		deadline := time.Now().Add(10 * time.Second)
		for in.Spooled() < 25 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if got := intake.Spooled(); got != 25 {
		t.Fatalf("the intake kept %d stream notifications during the replay, want 25", got)
	}
	if done, left, err := a.DrainIntake(t.Context()); done != 25 || left != 0 || err != nil {
		t.Fatalf("drain: %d done, %d left, %v", done, left, err)
	}
	intake.Close(a.PublicHandler(), a.Gateway.Deliver)
	ctx, cancel := context.WithCancel(t.Context())
	defer func() { cancel(); a.Close() }()
	a.Start(ctx)
	// One more notification after the hand-over: whichever stream takes
	// it, it is stored.
	f.Signal.Notify([]byte(`{"envelope":{"source":"+15550199","sourceNumber":"+15550199","sourceUuid":"6f1c2c1e-1111-4aaa-8bbb-123456789abc","sourceDevice":1,"timestamp":1764000000123,"dataMessage":{"timestamp":1764000000123,"message":"after the hand-over","expiresInSeconds":0,"viewOnce":false}},"account":"` + signalAccount(cfg) + `"}`))
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, after := 0, false
		for seq := range a.Archive.Len() {
			if ev, err := a.Archive.Get(seq); err == nil && ev.Channel == fleet.Signal {
				n++
				after = after || ev.Body == "after the hand-over"
			}
		}
		if n >= 26 && after {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d Signal records (the one after the hand-over: %v), want 26", n, after)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// signalAccount is the account of cfg's Signal channel.
func signalAccount(cfg config.Config) string {
	for _, ch := range cfg.Channels {
		if ch.Name == fleet.Signal {
			return ch.Account
		}
	}
	return ""
}
