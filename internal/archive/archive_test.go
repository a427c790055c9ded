package archive

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/blob/localfs"
	"github.com/onrecord/onrecord/internal/canary"
	"github.com/onrecord/onrecord/internal/config"
	"github.com/onrecord/onrecord/internal/journal"
	"github.com/onrecord/onrecord/internal/retention"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func testConfig(t testing.TB, dir string) config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = dir
	cfg.SegmentSize = "1MiB"
	cfg.RetentionClasses = append(cfg.RetentionClasses, config.RetentionClass{Name: "short", Duration: "30d"})
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func mustOpen(t testing.TB, cfg config.Config, now func() time.Time) *Archive {
	t.Helper()
	a, err := Open(t.Context(), Options{Config: cfg, Now: now})
	if err != nil {
		t.Fatalf("open archive: %v", err)
	}
	return a
}

// reopened closes a and opens its directory again, as a restart does; the
// new archive is closed when the test ends.
func reopened(t testing.TB, a *Archive, cfg config.Config) *Archive {
	t.Helper()
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	a = mustOpen(t, cfg, nil)
	t.Cleanup(func() { a.Close() })
	return a
}

func event(i int, body string) *onrecord.Event {
	return &onrecord.Event{
		Channel: "whatsapp", Kind: onrecord.KindMessage, ProviderID: fmt.Sprintf("wamid.%d", i),
		Conversation: "c1", Direction: onrecord.Inbound, Sender: onrecord.Party{ID: "+15550001", Name: "Client"},
		Recipients: []onrecord.Party{{ID: "+15550002", Name: "Advisor"}},
		SentAt:     time.Date(2026, 11, 23, 10, 0, i%60, 0, time.UTC), Body: body,
	}
}

func mustVerify(t *testing.T, cfg config.Config) *Report {
	t.Helper()
	rep, err := VerifyDir(context.Background(), VerifyOptions{Config: cfg})
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if !rep.OK {
		t.Fatalf("verify failed: %v", rep.Errors)
	}
	return rep
}

func TestArchive_AppendGetAndReopen(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	a := mustOpen(t, cfg, nil)
	var seqs []uint64
	for i := range 20 {
		res, err := a.Append(t.Context(), event(i, fmt.Sprintf("hello %d", i)))
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, res.Seq)
	}
	a = reopened(t, a, cfg)
	for i, seq := range seqs {
		ev, err := a.Get(seq)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Body != fmt.Sprintf("hello %d", i) || ev.ProviderID != fmt.Sprintf("wamid.%d", i) || ev.RetentionClass != "default" {
			t.Fatalf("record %d = %+v", seq, ev)
		}
	}
	if a.Len() != 20 {
		t.Fatalf("Len = %d", a.Len())
	}
}

func TestArchive_RetryIsNotStoredTwiceAndConflictIsKept(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	a := mustOpen(t, cfg, nil)
	first, err := a.Append(t.Context(), event(1, "original"))
	if err != nil {
		t.Fatal(err)
	}
	// Concurrent retries of the same delivery.
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			res, err := a.Append(t.Context(), event(1, "original"))
			if err != nil || !res.Duplicate || res.Seq != first.Seq {
				t.Errorf("retry: %+v %v", res, err)
			}
		})
	}
	wg.Wait()
	conf, err := a.Append(t.Context(), event(1, "changed"))
	if err != nil {
		t.Fatal(err)
	}
	if !conf.Conflict || conf.ConflictWith != first.Seq || conf.Seq == first.Seq {
		t.Fatalf("conflict result = %+v", conf)
	}
	a.Close()
	// The duplicate map survives a restart without decrypting anything.
	a = mustOpen(t, cfg, nil)
	defer a.Close()
	res, err := a.Append(t.Context(), event(1, "original"))
	if err != nil || !res.Duplicate {
		t.Fatalf("retry after restart: %+v %v", res, err)
	}
	if a.Len() != 2 {
		t.Fatalf("Len = %d, want 2 (original and conflict)", a.Len())
	}
}

// TestArchive_ConflictWhereTheContentEncodingIsNotReused covers the events
// whose content hash is not over their own encoding (receipt-time, with a
// capture roster, unparsed): a changed re-delivery is a conflict, stored,
// and a retry that differs only outside the content is a duplicate.
func TestArchive_ConflictWhereTheContentEncodingIsNotReused(t *testing.T) {
	receipt := func(ev *onrecord.Event, i int) {
		ev.SentAtIsReceipt = true
		ev.SentAt = ev.SentAt.Add(time.Duration(i) * time.Second)
	}
	roster := func(ev *onrecord.Event, i int) {
		ev.Capture = &onrecord.Capture{GroupID: "g1", Roster: []onrecord.GroupMember{{Address: fmt.Sprintf("+1555000%d", i)}}}
	}
	unparsed := func(ev *onrecord.Event, i int) {
		ev.Kind, ev.Raw = onrecord.KindUnparsed, []byte(ev.Body)
		ev.Meta = map[string]string{"error": fmt.Sprintf("attempt %d", i)}
	}
	for _, tc := range []struct {
		name string
		vary func(ev *onrecord.Event, attempt int) // what differs between attempts, outside the content
	}{{"receipt time", receipt}, {"capture roster", roster}, {"unparsed", unparsed}} {
		t.Run(tc.name, func(t *testing.T) {
			a := mustOpen(t, testConfig(t, t.TempDir()), nil)
			defer a.Close()
			ev := func(body string, attempt int) *onrecord.Event {
				e := event(1, body)
				tc.vary(e, attempt)
				return e
			}
			first, err := a.Append(t.Context(), ev("original", 0))
			if err != nil {
				t.Fatal(err)
			}
			retry, err := a.Append(t.Context(), ev("original", 1))
			if err != nil || !retry.Duplicate || retry.Seq != first.Seq {
				t.Fatalf("retry = %+v, %v; want a duplicate of %d", retry, err, first.Seq)
			}
			changed, err := a.Append(t.Context(), ev("changed", 2))
			if err != nil || !changed.Conflict || changed.ConflictWith != first.Seq {
				t.Fatalf("changed re-delivery = %+v, %v; want a conflict with %d", changed, err, first.Seq)
			}
			if a.Len() != 2 {
				t.Fatalf("Len = %d, want 2 (original and conflict)", a.Len())
			}
		})
	}
}

func TestArchive_RejectsInvalidEvent(t *testing.T) {
	a := mustOpen(t, testConfig(t, t.TempDir()), nil)
	defer a.Close()
	ev := event(1, "x")
	ev.Direction = "sideways"
	if _, err := a.Append(t.Context(), ev); onrecord.ErrorCode(err) != onrecord.EINVALID {
		t.Fatalf("err = %v", err)
	}
	ev = event(1, "x")
	ev.RetentionClass = "nope"
	if _, err := a.Append(t.Context(), ev); onrecord.ErrorCode(err) != onrecord.EINVALID {
		t.Fatalf("unknown class: err = %v", err)
	}
	if a.Len() != 0 {
		t.Fatal("invalid events were stored")
	}
}

// TestArchive_NoPlaintextAtRest imports events carrying a canary and scans
// every byte under the data directory for it, in UTF-8, UTF-16 and base64.
func TestArchive_NoPlaintextAtRest(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	a := mustOpen(t, cfg, nil)
	const canary = "CANARY-7f3a9c-onrecord-secret-body"
	for i := range 50 {
		ev := event(i, "prefix "+canary+" suffix")
		ev.Attachments = []onrecord.Attachment{{Name: "note.txt", ContentType: "text/plain", Data: []byte(canary)}}
		ev.Raw = []byte(`{"text":"` + canary + `"}`)
		if _, err := a.Append(t.Context(), ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.CreateHold(t.Context(), retention.Hold{ID: "m-1", Reason: canary}); err != nil {
		t.Fatal(err)
	}
	// The attachments went to the blob store (one blob: same content),
	// and come back whole after a reopen.
	a.Close()
	a = mustOpen(t, cfg, nil)
	ev, err := a.Get(7)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := a.Attachment(t.Context(), &ev.Attachments[0]); err != nil || string(got) != canary || ev.Attachments[0].Blob == "" {
		t.Fatalf("attachment after reopen: %q, %v (%+v)", got, err, ev.Attachments[0])
	}
	a.Close()
	st, err := localfs.Open(cfg.BlobDir())
	if err != nil {
		t.Fatal(err)
	}
	blobs := st.Packed()
	st.Close()
	if blobs != 1 {
		t.Fatalf("%d blobs stored, want 1 (content-addressed)", blobs)
	}
	assertNoCanary(t, dir, canary)
}

func assertNoCanary(t *testing.T, dir, c string) {
	t.Helper()
	found, files, _, err := canary.ScanDir(dir, []string{c})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range found {
		t.Error(f)
	}
	if files < 3 {
		t.Fatalf("scanned only %d files", files)
	}
}

func TestArchive_DisposalShredsBucketAndVerifyCountsIt(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	clk := &clock{t: time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)}
	a := mustOpen(t, cfg, clk.Now)
	var shortSeqs []uint64
	for i := range 5 {
		ev := event(i, "short-lived")
		ev.RetentionClass = "short"
		res, err := a.Append(t.Context(), ev)
		if err != nil {
			t.Fatal(err)
		}
		shortSeqs = append(shortSeqs, res.Seq)
	}
	keep, err := a.Append(t.Context(), event(100, "kept for six years"))
	if err != nil {
		t.Fatal(err)
	}
	bucket := retention.BucketName("short", clk.Now())

	// Before expiry: refused.
	if _, err := a.Dispose(t.Context(), bucket, "test", "tester"); !errors.Is(err, retention.ErrRetained) {
		t.Fatalf("dispose before expiry: %v", err)
	}
	clk.Add(40 * 24 * time.Hour)
	// Under hold: refused.
	if err := a.CreateHold(t.Context(), retention.Hold{ID: "lit-1", Classes: []string{"short"}, Reason: "litigation"}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Dispose(t.Context(), bucket, "test", "tester"); !errors.Is(err, retention.ErrHeld) {
		t.Fatalf("dispose under hold: %v", err)
	}
	if _, err := a.Dispose(t.Context(), retention.BucketName("default", time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)), "test", "tester"); !errors.Is(err, retention.ErrRetained) {
		t.Fatalf("dispose of a six-year bucket: %v", err)
	}
	a.Close()

	// The hold survives a restart.
	a = mustOpen(t, cfg, clk.Now)
	if _, err := a.Dispose(t.Context(), bucket, "test", "tester"); !errors.Is(err, retention.ErrHeld) {
		t.Fatalf("dispose under hold after restart: %v", err)
	}
	if err := a.ReleaseHold(t.Context(), "lit-1", "settled", "tester"); err != nil {
		t.Fatal(err)
	}
	d, err := a.Dispose(t.Context(), bucket, "retention expired", "tester")
	if err != nil {
		t.Fatalf("dispose: %v", err)
	}
	if d.Records != 5 || d.FirstSeq != shortSeqs[0] || d.LastSeq != shortSeqs[4] {
		t.Fatalf("disposal = %+v", d)
	}
	for _, s := range shortSeqs {
		if _, err := a.Get(s); onrecord.ErrorCode(err) != onrecord.ENOTFOUND {
			t.Fatalf("disposed record %d: err = %v", s, err)
		}
	}
	if ev, err := a.Get(keep.Seq); err != nil || ev.Body != "kept for six years" {
		t.Fatalf("kept record: %v %v", ev, err)
	}
	if _, err := a.Dispose(t.Context(), bucket, "again", "tester"); err == nil {
		t.Fatal("second disposal accepted")
	}
	a.Close()
	rep := mustVerify(t, cfg)
	if rep.Disposed != 5 || len(rep.DisposedBuckets) != 1 || rep.Records != 6 {
		t.Fatalf("verify report: disposed=%d buckets=%v records=%d", rep.Disposed, rep.DisposedBuckets, rep.Records)
	}
	// Still refused after restart, and the records stay undecryptable.
	a = mustOpen(t, cfg, clk.Now)
	defer a.Close()
	if _, err := a.Get(shortSeqs[0]); onrecord.ErrorCode(err) != onrecord.ENOTFOUND {
		t.Fatalf("after restart: %v", err)
	}
}

func TestVerify_CountsAndCheckpoints(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.CheckpointEvery = 7
	a := mustOpen(t, cfg, nil)
	for i := range 30 {
		ev := event(i, "x")
		if i%3 == 0 {
			ev.Channel = "slack"
		}
		if _, err := a.Append(t.Context(), ev); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.Checkpoint(t.Context()); err != nil {
		t.Fatal(err)
	}
	a.Close()
	rep := mustVerify(t, cfg)
	if rep.Records != 30 || rep.ByChannel["slack"] != 10 || rep.ByChannel["whatsapp"] != 20 || rep.ByKind["message"] != 30 {
		t.Fatalf("report = %+v", rep)
	}
	if rep.Checkpoints < 1 || rep.CheckpointSize != 30 {
		t.Fatalf("checkpoints = %d, size %d", rep.Checkpoints, rep.CheckpointSize)
	}
	if !strings.HasPrefix(rep.DataDir, "/") {
		t.Fatalf("data dir %q is not absolute", rep.DataDir)
	}
}

// TestStoredPlaintext_SplicedEqualsEncoded checks the write path's one
// encoding: the event encoded for its content hash with the archive's
// fields spliced in decodes to the same event as encoding it whole.
// The head storedPlaintext writes by hand is byte for byte json.Marshal's.
func TestStoredPlaintext_HeadIsMarshals(t *testing.T) {
	now := time.Date(2026, 12, 2, 10, 0, 0, 123, time.FixedZone("X", 3600))
	for _, s := range []string{"", "abcd", "finra", "a\"b", "<x>&", "tab\there", "é", "\u2028", "back\\slash", "\x7f"} {
		want, err := json.Marshal(struct {
			ID             string    `json:"id"`
			CapturedAt     time.Time `json:"captured_at"`
			RetentionClass string    `json:"retention_class"`
		}{s, now, s})
		if err != nil {
			t.Fatal(err)
		}
		got, err := storedPlaintext(nil, &onrecord.Event{}, []byte("{}"), s, now, s)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%q: head\n%s\nwant\n%s", s, got, want)
		}
	}
}

func TestStoredPlaintext_SplicedEqualsEncoded(t *testing.T) {
	now := time.Date(2026, 12, 2, 10, 0, 0, 123, time.UTC)
	for name, ev := range map[string]*onrecord.Event{
		"full":    event(3, "hello \"quoted\" <b>"),
		"minimal": {Channel: "c", Kind: onrecord.KindMessage, ProviderID: "p", Conversation: "x", Direction: onrecord.Inbound, Sender: onrecord.Party{ID: "s"}, SentAt: now},
	} {
		enc, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		// A reused buffer, as Append passes from its pool.
		stale := bytes.Repeat([]byte("stale "), 200)
		spliced, err := storedPlaintext(stale[:0], ev, enc, "abcd", now, "finra")
		if err != nil {
			t.Fatal(err)
		}
		whole, err := storedPlaintext(nil, ev, nil, "abcd", now, "finra")
		if err != nil {
			t.Fatal(err)
		}
		var a, b onrecord.Event
		if err := json.Unmarshal(spliced, &a); err != nil {
			t.Fatalf("%s: spliced encoding does not decode: %v\n%s", name, err, spliced)
		}
		if err := json.Unmarshal(whole, &b); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, b) || a.ID != "abcd" || a.RetentionClass != "finra" || !a.CapturedAt.Equal(now) {
			t.Fatalf("%s: spliced %+v\nwhole %+v", name, a, b)
		}
	}
}

func TestLockDir_SecondHolderIsRefused(t *testing.T) {
	dir := t.TempDir()
	f, err := lockDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lockDir(dir); err == nil || !strings.Contains(err.Error(), "in use by another onrecord process") {
		t.Fatalf("second lock: err = %v, want the directory reported in use", err)
	}
	f.Close()
	g, err := lockDir(dir)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	g.Close()
}

// TestArchive_ReopenReplaysInChunks: a restart rebuilds the same Merkle tree
// and duplicate map from a journal longer than one replay chunk, both by
// record count (many small events) and by bytes (a few large records).
func TestArchive_ReopenReplaysInChunks(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.SegmentSize = "64MiB"
	a := mustOpen(t, cfg, nil)
	n := 2*replayChunkRecords + 7
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for i := w; i < n; i += 16 {
				if _, err := a.Append(t.Context(), event(i, "hello")); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	big := make([]byte, replayChunkBytes/3)
	for range 7 {
		if _, err := a.AppendRaw(t.Context(), big); err != nil {
			t.Fatal(err)
		}
	}
	size := a.Ledger().Size()
	root, err := a.Ledger().RootAt(size)
	if err != nil {
		t.Fatal(err)
	}
	a = reopened(t, a, cfg)
	if got := a.Ledger().Size(); got < size {
		t.Fatalf("tree size after reopen = %d, want at least %d", got, size)
	}
	again, err := a.Ledger().RootAt(size)
	if err != nil || !bytes.Equal(again, root) {
		t.Fatalf("root after reopen = %x (%v), want %x", again, err, root)
	}
	for _, i := range []int{0, replayChunkRecords - 1, replayChunkRecords, n - 1} {
		res, err := a.Append(t.Context(), event(i, "hello"))
		if err != nil || !res.Duplicate {
			t.Errorf("retry of event %d after reopen: %+v %v", i, res, err)
		}
	}
}

// TestArchive_OpenFailsCleanlyOnARecordItCannotReplay: a record the journal
// holds intact but the archive cannot decode stops the open with an error
// naming it — after the records before it were hashed by the replay's
// goroutines, which all end.
func TestArchive_OpenFailsCleanlyOnARecordItCannotReplay(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.SegmentSize = "64MiB"
	a := mustOpen(t, cfg, nil)
	n := 3*replayChunkRecords + 5 // several chunks in flight before the bad one
	for i := range n {
		if _, err := a.Append(t.Context(), event(i, "hello")); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	j, err := journal.Open(journal.Options{Dir: cfg.JournalDir(), SegmentSize: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	bad, err := j.Append(t.Context(), []byte("not an envelope"))
	if err != nil {
		t.Fatal(err)
	}
	j.Close()
	before := runtime.NumGoroutine()
	done := make(chan error, 1)
	go func() {
		_, err := Open(t.Context(), Options{Config: cfg})
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("replay record %d", bad)) {
			t.Fatalf("open = %v, want the replay's error naming record %d", err, bad)
		}
	case <-time.After(time.Minute):
		t.Fatal("open did not return")
	}
	for deadline := time.Now().Add(5 * time.Second); runtime.NumGoroutine() > before; {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines after the failed open, %d before", runtime.NumGoroutine(), before)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
