package verify_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/archive"
	"github.com/onrecord/onrecord/internal/config"
	"github.com/onrecord/onrecord/verify"
)

// fixture is an archive with two checkpoints, as an auditor would receive
// evidence from it.
type fixture struct {
	a        *archive.Archive
	vkey     string
	cp1, cp2 *verify.Checkpoint
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	a, err := archive.Open(t.Context(), archive.Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	appendN := func(from, n int) {
		for i := from; i < from+n; i++ {
			ev := &onrecord.Event{Channel: "sms", Kind: onrecord.KindMessage, ProviderID: fmt.Sprintf("SM%d", i),
				Conversation: "c", Direction: onrecord.Inbound, Sender: onrecord.Party{ID: "+1555"},
				SentAt: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), Body: fmt.Sprintf("message %d", i)}
			if _, err := a.Append(t.Context(), ev); err != nil {
				t.Fatal(err)
			}
		}
	}
	f := &fixture{a: a}
	b, err := os.ReadFile(filepath.Join(cfg.LedgerDir(), archive.VerifierKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	f.vkey = string(b)
	sign := func() *verify.Checkpoint {
		note, err := a.Checkpoint(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		cp, err := verify.ParseCheckpoint(note, f.vkey)
		if err != nil {
			t.Fatal(err)
		}
		return cp
	}
	appendN(0, 37)
	f.cp1 = sign()
	appendN(37, 300)
	f.cp2 = sign()
	if f.cp1.Size != 37 || f.cp2.Size != 337 {
		t.Fatalf("checkpoint sizes %d, %d", f.cp1.Size, f.cp2.Size)
	}
	return f
}

func TestInclusion_ProofFromTheLogVerifiesAndTamperingFails(t *testing.T) {
	f := newFixture(t)
	for _, idx := range []uint64{0, 1, 36, 255, 256, 336} {
		env, err := f.a.Envelope(idx)
		if err != nil {
			t.Fatal(err)
		}
		path, err := f.a.Ledger().InclusionProof(idx, f.cp2.Size)
		if err != nil {
			t.Fatal(err)
		}
		if err := verify.Inclusion(env, idx, path, f.cp2); err != nil {
			t.Fatalf("record %d: %v", idx, err)
		}
		bad := bytes.Clone(env)
		bad[len(bad)/2] ^= 1
		if verify.Inclusion(bad, idx, path, f.cp2) == nil {
			t.Fatalf("record %d: a changed envelope verified", idx)
		}
		if verify.Inclusion(env, idx+1, path, f.cp2) == nil {
			t.Fatalf("record %d: verified at the wrong index", idx)
		}
		if len(path) > 0 {
			badPath := append([][]byte(nil), path...)
			badPath[0] = bytes.Repeat([]byte{1}, 32)
			if verify.Inclusion(env, idx, badPath, f.cp2) == nil {
				t.Fatalf("record %d: a forged proof verified", idx)
			}
		}
	}
}

func TestConsistency_TheLogOnlyGrew(t *testing.T) {
	f := newFixture(t)
	path, err := f.a.Ledger().ConsistencyProof(f.cp1.Size, f.cp2.Size)
	if err != nil {
		t.Fatal(err)
	}
	if err := verify.Consistency(f.cp1, f.cp2, path); err != nil {
		t.Fatal(err)
	}
	if verify.Consistency(f.cp2, f.cp1, path) == nil {
		t.Fatal("a shrinking log verified")
	}
	forged := *f.cp1
	forged.Root = bytes.Repeat([]byte{7}, 32)
	if verify.Consistency(&forged, f.cp2, path) == nil {
		t.Fatal("a rewritten history verified")
	}
}

func TestParseCheckpoint_RefusesWrongKeyAndTampering(t *testing.T) {
	f := newFixture(t)
	note := f.a.Ledger().Latest()
	if _, err := verify.ParseCheckpoint(note, f.vkey); err != nil {
		t.Fatal(err)
	}
	bad := bytes.Replace(note, []byte("\n337\n"), []byte("\n336\n"), 1)
	if _, err := verify.ParseCheckpoint(bad, f.vkey); err == nil {
		t.Fatal("a changed checkpoint verified")
	}
	other := "onrecord.local/log+00000000+AQ7nTfc7VFPkz8PpKtFzr6Ad1MaIakp7U4mhuGY2D1aG"
	if _, err := verify.ParseCheckpoint(note, other); err == nil {
		t.Fatal("a checkpoint verified under another key")
	}
}

func TestOpenRecord_DisclosedKeyOpensOnlyItsRecord(t *testing.T) {
	f := newFixture(t)
	env5, _ := f.a.Envelope(5)
	env6, _ := f.a.Envelope(6)
	key5, err := f.a.RecordKey(5)
	if err != nil {
		t.Fatal(err)
	}
	pt, err := verify.OpenRecord(env5, key5)
	if err != nil {
		t.Fatal(err)
	}
	var ev onrecord.Event
	if err := json.Unmarshal(pt, &ev); err != nil || ev.Body != "message 5" {
		t.Fatalf("opened %q: %v", pt, err)
	}
	if _, err := verify.OpenRecord(env6, key5); err == nil {
		t.Fatal("a record key opened its neighbour")
	}
}
