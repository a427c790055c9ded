package ledger

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
)

type testKey struct{ skey, vkey string }

func mustKey(tb testing.TB, origin string) testKey {
	tb.Helper()
	skey, vkey, err := NewSignerKey(origin)
	if err != nil {
		tb.Fatalf("NewSignerKey: %v", err)
	}
	return testKey{skey, vkey}
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// mustOpen opens a ledger in dir whose background signer never fires on
// its own (huge thresholds), so tests decide when checkpoints happen.
func mustOpen(tb testing.TB, dir string, key testKey, mod ...func(*Options)) *Ledger {
	tb.Helper()
	opts := Options{
		Dir:                dir,
		SignerKey:          key.skey,
		CheckpointEvery:    1 << 30,
		CheckpointInterval: time.Hour,
		Logger:             quietLogger(),
	}
	for _, m := range mod {
		m(&opts)
	}
	l, err := Open(opts)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() { l.Close() })
	return l
}

func mustAppend(tb testing.TB, l *Ledger, seed string, from, to uint64) {
	tb.Helper()
	if err := l.AppendLeaves(from, testLeaves(seed, from, to)); err != nil {
		tb.Fatalf("AppendLeaves(%d..%d): %v", from, to, err)
	}
}

func mustStart(tb testing.TB, l *Ledger) {
	tb.Helper()
	if err := l.Start(); err != nil {
		tb.Fatalf("Start: %v", err)
	}
}

func mustCheckpoint(tb testing.TB, l *Ledger) []byte {
	tb.Helper()
	cp, err := l.Checkpoint(context.Background())
	if err != nil {
		tb.Fatalf("Checkpoint: %v", err)
	}
	return cp
}

func mustVerify(tb testing.TB, signed []byte, vkey string) *log.Checkpoint {
	tb.Helper()
	v, err := note.NewVerifier(vkey)
	if err != nil {
		tb.Fatal(err)
	}
	cp, _, err := VerifyCheckpoint(signed, v, "")
	if err != nil {
		tb.Fatalf("VerifyCheckpoint: %v\n%s", err, signed)
	}
	return cp
}

// history writes checkpoints at the given sizes, one per size, for leaves
// from seed, and closes the ledger.
func history(tb testing.TB, dir string, key testKey, seed string, sizes ...uint64) {
	tb.Helper()
	l := mustOpen(tb, dir, key)
	mustStart(tb, l)
	var n uint64
	for _, s := range sizes {
		mustAppend(tb, l, seed, n, s)
		n = s
		mustCheckpoint(tb, l)
	}
	if err := l.Close(); err != nil {
		tb.Fatalf("Close: %v", err)
	}
}

func TestOpen_RejectsBadOptions(t *testing.T) {
	key := mustKey(t, "")
	other := mustKey(t, "example.com/other")
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"no dir", Options{SignerKey: key.skey}, "Dir is required"},
		{"no key", Options{Dir: t.TempDir()}, "SignerKey is required"},
		{"verifier key instead of signer", Options{Dir: t.TempDir(), SignerKey: key.vkey}, "SignerKey"},
		{"origin differs from key name", Options{Dir: t.TempDir(), SignerKey: other.skey, Origin: DefaultOrigin}, "differs from the signing key's name"},
		{"negative every", Options{Dir: t.TempDir(), SignerKey: key.skey, CheckpointEvery: -1}, "CheckpointEvery"},
		{"negative interval", Options{Dir: t.TempDir(), SignerKey: key.skey, CheckpointInterval: -time.Second}, "CheckpointInterval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := Open(tt.opts)
			if err == nil {
				l.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestLedger_CheckpointIsSignedC2SPNoteOverCurrentRoot(t *testing.T) {
	key := mustKey(t, "")
	l := mustOpen(t, t.TempDir(), key)
	mustStart(t, l)
	mustAppend(t, l, "a", 0, 1234)
	signed := mustCheckpoint(t, l)

	// Standard tools: note.Open with the pinned key, then the C2SP body.
	v, err := note.NewVerifier(key.vkey)
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		t.Fatalf("note.Open: %v", err)
	}
	root, err := l.RootAt(1234)
	if err != nil {
		t.Fatal(err)
	}
	want := log.Checkpoint{Origin: DefaultOrigin, Size: 1234, Hash: root}.Marshal()
	if n.Text != string(want) {
		t.Fatalf("note text %q, want %q", n.Text, want)
	}
	cp, _, _, err := log.ParseCheckpoint(signed, DefaultOrigin, v)
	if err != nil || cp.Size != 1234 || !bytes.Equal(cp.Hash, root) {
		t.Fatalf("log.ParseCheckpoint = %+v, %v", cp, err)
	}
	if got := l.Latest(); !bytes.Equal(got, signed) {
		t.Fatal("Latest differs from the checkpoint just signed")
	}
	if l.VerifierKey() != key.vkey || l.Origin() != DefaultOrigin {
		t.Fatalf("VerifierKey/Origin = %q/%q", l.VerifierKey(), l.Origin())
	}

	// An inclusion proof checks against the signed root.
	p, err := l.InclusionProof(777, cp.Size)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := l.LeafHash(777)
	if err != nil {
		t.Fatal(err)
	}
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, 777, cp.Size, leaf[:], p, cp.Hash); err != nil {
		t.Fatalf("inclusion against checkpoint: %v", err)
	}
}

func TestLedger_CheckpointOnlyWhenTreeGrew(t *testing.T) {
	dir := t.TempDir()
	key := mustKey(t, "")
	l := mustOpen(t, dir, key)
	mustStart(t, l)
	first := mustCheckpoint(t, l) // empty tree: a size-0 checkpoint
	if cp := mustVerify(t, first, key.vkey); cp.Size != 0 {
		t.Fatalf("first checkpoint size %d", cp.Size)
	}
	mustAppend(t, l, "a", 0, 3)
	a := mustCheckpoint(t, l)
	b := mustCheckpoint(t, l)
	if !bytes.Equal(a, b) {
		t.Fatal("second checkpoint without growth differs")
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	stored, err := ReadCheckpoints(filepath.Join(dir, CheckpointsFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != 2 || !bytes.Equal(stored[1].Note, a) {
		t.Fatalf("history has %d entries, want 2 ending in the size-3 checkpoint", len(stored))
	}
}

func TestLedger_CheckpointBeforeStartIsRefused(t *testing.T) {
	l := mustOpen(t, t.TempDir(), mustKey(t, ""))
	if _, err := l.Checkpoint(context.Background()); err == nil {
		t.Fatal("Checkpoint before Start succeeded")
	}
}

func TestLedger_AppendLeavesRejectsWrongFirstIndex(t *testing.T) {
	l := mustOpen(t, t.TempDir(), mustKey(t, ""))
	mustAppend(t, l, "a", 0, 5)
	for _, first := range []uint64{0, 4, 6, 1 << 40} {
		if err := l.AppendLeaves(first, testLeaves("a", first, first+1)); err == nil {
			t.Fatalf("AppendLeaves(%d) on a tree of 5 succeeded", first)
		}
	}
	if l.Size() != 5 {
		t.Fatalf("size %d after rejected appends", l.Size())
	}
	if err := l.AppendLeaves(5, nil); err != nil {
		t.Fatalf("empty batch: %v", err)
	}
}

func TestLedger_ReopenReplayAndContinue(t *testing.T) {
	dir := t.TempDir()
	key := mustKey(t, "")
	history(t, dir, key, "a", 10, 20)

	l := mustOpen(t, dir, key)
	mustAppend(t, l, "a", 0, 25) // the journal has 5 more records than checkpointed
	mustStart(t, l)
	old := mustVerify(t, l.Latest(), key.vkey)
	if old.Size != 20 {
		t.Fatalf("latest after reopen has size %d, want 20", old.Size)
	}
	cur := mustVerify(t, mustCheckpoint(t, l), key.vkey)
	p, err := l.ConsistencyProof(old.Size, cur.Size)
	if err != nil {
		t.Fatal(err)
	}
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, old.Size, cur.Size, p, old.Hash, cur.Hash); err != nil {
		t.Fatalf("new checkpoint not consistent with the old one: %v", err)
	}
	if n, err := l.VerifyHistory(context.Background()); err != nil || n != 3 {
		t.Fatalf("VerifyHistory = %d, %v; want 3 entries, nil", n, err)
	}
}

func TestLedger_StartFailsWhenJournalIsShorterThanCheckpoint(t *testing.T) {
	dir := t.TempDir()
	key := mustKey(t, "")
	history(t, dir, key, "a", 4, 10)
	l := mustOpen(t, dir, key)
	mustAppend(t, l, "a", 0, 5)
	err := l.Start()
	want := "journal has 5 records but checkpoint at offset"
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "commits to 10") {
		t.Fatalf("Start = %v, want %q ... commits to 10", err, want)
	}
}

func TestLedger_StartFailsOnRootMismatch(t *testing.T) {
	dir := t.TempDir()
	key := mustKey(t, "")
	history(t, dir, key, "a", 10)
	l := mustOpen(t, dir, key)
	mustAppend(t, l, "a", 0, 9)
	mustAppend(t, l, "forged", 9, 12) // leaf 9 differs from what was checkpointed
	err := l.Start()
	if err == nil || !strings.Contains(err.Error(), "root mismatch at size 10") {
		t.Fatalf("Start = %v, want root mismatch at size 10", err)
	}
	if _, err := l.Checkpoint(context.Background()); err == nil {
		t.Fatal("Checkpoint after a failed Start succeeded")
	}
}

func TestLedger_VerifyHistoryFindsBadEarlierRoot(t *testing.T) {
	dir := t.TempDir()
	key := mustKey(t, "")
	history(t, dir, key, "a", 5)
	// Append a validly signed checkpoint for a different tree, then a
	// correct one after it, so only the full scan can see the bad one.
	l := mustOpen(t, dir, key)
	signer, err := note.NewSigner(key.skey)
	if err != nil {
		t.Fatal(err)
	}
	forged, err := signCheckpoint(signer, DefaultOrigin, 6, RootOf(testLeaves("forged", 0, 6)))
	if err != nil {
		t.Fatal(err)
	}
	off, err := l.file.append(forged)
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, l, "a", 0, 8)
	mustStart(t, l)
	mustCheckpoint(t, l)
	_, err = l.VerifyHistory(context.Background())
	want := fmt.Sprintf("root mismatch at size 6: checkpoint at offset %d", off)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("VerifyHistory = %v, want %q", err, want)
	}
}

func TestLedger_BackgroundSignsAfterEveryLeaves(t *testing.T) {
	key := mustKey(t, "")
	l := mustOpen(t, t.TempDir(), key, func(o *Options) { o.CheckpointEvery = 10 })
	mustStart(t, l)
	mustAppend(t, l, "a", 0, 9)
	mustAppend(t, l, "a", 9, 10)
	waitForSize(t, l, 10)
}

func TestLedger_BackgroundSignsAfterInterval(t *testing.T) {
	key := mustKey(t, "")
	l := mustOpen(t, t.TempDir(), key, func(o *Options) { o.CheckpointInterval = 5 * time.Millisecond })
	mustStart(t, l)
	mustAppend(t, l, "a", 0, 1)
	waitForSize(t, l, 1)
	mustAppend(t, l, "a", 1, 3)
	waitForSize(t, l, 3)
}

// waitForSize waits until the latest checkpoint has the given size. It
// asserts that it happens, not how fast.
func waitForSize(t *testing.T, l *Ledger, size uint64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if cp := l.Latest(); cp != nil {
			body, err := parseCheckpointBody(cp)
			if err != nil {
				t.Fatal(err)
			}
			if body.Size == size {
				return
			}
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("no checkpoint of size %d was signed", size)
}

func TestLedger_CloseSignsFinalCheckpoint(t *testing.T) {
	dir := t.TempDir()
	key := mustKey(t, "")
	l := mustOpen(t, dir, key)
	mustStart(t, l)
	mustAppend(t, l, "a", 0, 42)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	stored, err := ReadCheckpoints(filepath.Join(dir, CheckpointsFile))
	if err != nil || len(stored) != 1 {
		t.Fatalf("ReadCheckpoints = %d entries, %v", len(stored), err)
	}
	if cp := mustVerify(t, stored[0].Note, key.vkey); cp.Size != 42 {
		t.Fatalf("final checkpoint size %d, want 42", cp.Size)
	}
	if err := l.AppendLeaves(42, testLeaves("a", 42, 43)); !errors.Is(err, ErrClosed) {
		t.Fatalf("AppendLeaves after Close = %v, want ErrClosed", err)
	}
	if _, err := l.Checkpoint(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Checkpoint after Close = %v, want ErrClosed", err)
	}
}

func TestLedger_CloseBeforeStartSignsNothing(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, mustKey(t, ""))
	mustAppend(t, l, "a", 0, 7) // a half-done replay
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if stored, err := ReadCheckpoints(filepath.Join(dir, CheckpointsFile)); err != nil || len(stored) != 0 {
		t.Fatalf("history = %d entries, %v; want none", len(stored), err)
	}
}

func TestLedger_FailedHistoryWriteIsSticky(t *testing.T) {
	l := mustOpen(t, t.TempDir(), mustKey(t, ""))
	mustStart(t, l)
	mustAppend(t, l, "a", 0, 3)
	l.file.f.Close() // every later write fails, as after EIO
	if _, err := l.Checkpoint(context.Background()); err == nil {
		t.Fatal("Checkpoint on a broken history succeeded")
	}
	if l.Latest() != nil {
		t.Fatal("a checkpoint that was not durable was published")
	}
	mustAppend(t, l, "a", 3, 4)
	if _, err := l.Checkpoint(context.Background()); err == nil || !strings.Contains(err.Error(), "failed") {
		t.Fatalf("second Checkpoint = %v, want the sticky failure", err)
	}
}

func TestLedger_CheckpointHonoursContext(t *testing.T) {
	l := mustOpen(t, t.TempDir(), mustKey(t, ""))
	mustStart(t, l)
	l.signing <- struct{}{} // someone else is signing
	defer func() { <-l.signing }()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.Checkpoint(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Checkpoint = %v, want context.Canceled", err)
	}
}

// TestLedger_ConcurrentAppendsAndReads runs the writer against readers; run
// with -race. Every proof a reader gets must verify against the root at the
// size it asked for.
func TestLedger_ConcurrentAppendsAndReads(t *testing.T) {
	key := mustKey(t, "")
	l := mustOpen(t, t.TempDir(), key, func(o *Options) { o.CheckpointEvery = 100 })
	mustStart(t, l)
	const total = 3000
	var wg sync.WaitGroup
	done := make(chan struct{})
	errs := make(chan error, 8)
	for r := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := uint64(r); ; i++ {
				select {
				case <-done:
					return
				default:
				}
				size := l.Size()
				if size == 0 {
					continue
				}
				idx := i % size
				root, err := l.RootAt(size)
				if err != nil {
					errs <- err
					return
				}
				p, err := l.InclusionProof(idx, size)
				if err != nil {
					errs <- err
					return
				}
				leaf, err := l.LeafHash(idx)
				if err != nil {
					errs <- err
					return
				}
				if err := proof.VerifyInclusion(rfc6962.DefaultHasher, idx, size, leaf[:], p, root); err != nil {
					errs <- fmt.Errorf("inclusion %d/%d: %w", idx, size, err)
					return
				}
				if _, err := l.ReadTile(0, 0, int(min(size, TileWidth))); err != nil {
					errs <- err
					return
				}
				_ = l.Latest()
			}
		}()
	}
	for n := uint64(0); n < total; n += 64 {
		mustAppend(t, l, "a", n, min(n+64, total))
	}
	close(done)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n, err := l.VerifyHistory(context.Background()); err != nil || n == 0 {
		t.Fatalf("VerifyHistory = %d, %v", n, err)
	}
}

func BenchmarkAppendLeaves(b *testing.B) {
	l := mustOpen(b, b.TempDir(), mustKey(b, ""))
	const batch = 64
	leaves := testLeaves("bench", 0, batch)
	b.SetBytes(batch * HashSize)
	b.ReportAllocs()
	var n uint64
	for b.Loop() {
		if err := l.AppendLeaves(n, leaves); err != nil {
			b.Fatal(err)
		}
		n += batch
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/leaf")
}
