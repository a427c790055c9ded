package journal_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/onrecord/onrecord/internal/journal"
	"github.com/onrecord/onrecord/internal/journal/faultfs"
)

// tinySegment makes segments roll every few records.
const tinySegment = 512

func mustOpen(tb testing.TB, opts journal.Options) *journal.Journal {
	tb.Helper()
	j, err := journal.Open(opts)
	if err != nil {
		tb.Fatalf("Open(%s): %v", opts.Dir, err)
	}
	tb.Cleanup(func() { _ = j.Close() })
	return j
}

// payload returns a deterministic record of n bytes for index i.
func payload(i, n int) []byte {
	b := []byte(fmt.Sprintf("record-%06d|", i))
	for len(b) < n {
		b = append(b, byte('a'+(i+len(b))%26))
	}
	return b[:n]
}

func sizeFor(i int) int { return 10 + (i*37)%120 }

func mustAppend(tb testing.TB, j *journal.Journal, data []byte) uint64 {
	tb.Helper()
	seq, err := j.Append(context.Background(), data)
	if err != nil {
		tb.Fatalf("Append: %v", err)
	}
	return seq
}

func appendRange(tb testing.TB, j *journal.Journal, from, to int) {
	tb.Helper()
	for i := from; i < to; i++ {
		if seq := mustAppend(tb, j, payload(i, sizeFor(i))); seq != uint64(i) {
			tb.Fatalf("Append #%d got seq %d", i, seq)
		}
	}
}

func readAll(tb testing.TB, j *journal.Journal, from uint64) [][]byte {
	tb.Helper()
	var out [][]byte
	next := from
	err := j.Scan(from, func(seq uint64, data []byte) error {
		if seq != next {
			return fmt.Errorf("Scan gave seq %d, want %d", seq, next)
		}
		next++
		out = append(out, bytes.Clone(data))
		return nil
	})
	if err != nil {
		tb.Fatalf("Scan(%d): %v", from, err)
	}
	return out
}

func checkRecords(tb testing.TB, j *journal.Journal, n int) {
	tb.Helper()
	if got := j.Len(); got != uint64(n) {
		tb.Fatalf("Len = %d, want %d", got, n)
	}
	got := readAll(tb, j, 0)
	if len(got) != n {
		tb.Fatalf("Scan returned %d records, want %d", len(got), n)
	}
	for i, d := range got {
		if want := payload(i, sizeFor(i)); !bytes.Equal(d, want) {
			tb.Fatalf("record %d = %q, want %q", i, d, want)
		}
	}
}

func segments(tb testing.TB, dir string) []string {
	tb.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.seg"))
	if err != nil {
		tb.Fatal(err)
	}
	slices.Sort(m)
	return m
}

type framePos struct {
	seg string
	off int64
	n   int
}

// frames locates every record on disk with the offline checker.
func frames(tb testing.TB, dir string) []framePos {
	tb.Helper()
	var out []framePos
	if _, err := journal.Check(nil, dir, func(seq uint64, seg string, off int64, data []byte) error {
		out = append(out, framePos{seg, off, len(data)})
		return nil
	}); err != nil {
		tb.Fatalf("Check: %v", err)
	}
	return out
}

func flipByte(tb testing.TB, path string, off int64) {
	tb.Helper()
	if err := os.Chmod(path, 0o644); err != nil {
		tb.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		tb.Fatal(err)
	}
	b[0] ^= 0x40
	if _, err := f.WriteAt(b, off); err != nil {
		tb.Fatal(err)
	}
}

func writeAt(tb testing.TB, path string, off int64, data []byte) {
	tb.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(data, off); err != nil {
		tb.Fatal(err)
	}
}

func TestJournal_AppendScanRoundTripAcrossSegmentRolls(t *testing.T) {
	dir := t.TempDir()
	j := mustOpen(t, journal.Options{Dir: dir, SegmentSize: tinySegment})
	appendRange(t, j, 0, 200)
	checkRecords(t, j, 200)
	if n := len(segments(t, dir)); n < 10 {
		t.Fatalf("got %d segments, want many rolls with SegmentSize %d", n, tinySegment)
	}
	// Scan from the middle of a segment returns exactly the suffix.
	for _, from := range []uint64{0, 1, 57, 199, 200} {
		got := readAll(t, j, from)
		if len(got) != 200-int(from) {
			t.Fatalf("Scan(%d) returned %d records, want %d", from, len(got), 200-int(from))
		}
		if len(got) > 0 && !bytes.Equal(got[0], payload(int(from), sizeFor(int(from)))) {
			t.Fatalf("Scan(%d) first record = %q", from, got[0])
		}
	}
	if err := j.Scan(201, func(uint64, []byte) error { return nil }); err == nil {
		t.Fatal("Scan past the end succeeded")
	}
	stop := errors.New("stop")
	if err := j.Scan(0, func(uint64, []byte) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("Scan did not return the callback's error: %v", err)
	}
}

func TestJournal_ReopenContinuesSequenceNumbers(t *testing.T) {
	dir := t.TempDir()
	opts := journal.Options{Dir: dir, SegmentSize: tinySegment}
	for round := range 3 {
		j := mustOpen(t, opts)
		checkRecords(t, j, round*30)
		if r := j.Recovered(); r.Records != uint64(round*30) || r.TornBytes != 0 {
			t.Fatalf("round %d: Recovered = %+v", round, r)
		}
		appendRange(t, j, round*30, round*30+30)
		if err := j.Close(); err != nil {
			t.Fatal(err)
		}
	}
	j := mustOpen(t, opts)
	checkRecords(t, j, 90)
}

func TestJournal_SealedSegmentsAreReadOnly(t *testing.T) {
	dir := t.TempDir()
	j := mustOpen(t, journal.Options{Dir: dir, SegmentSize: tinySegment})
	appendRange(t, j, 0, 50)
	segs := segments(t, dir)
	if len(segs) < 3 {
		t.Fatalf("want several segments, got %d", len(segs))
	}
	for i, s := range segs {
		fi, err := os.Stat(s)
		if err != nil {
			t.Fatal(err)
		}
		want := os.FileMode(0o400)
		if i == len(segs)-1 {
			want = 0o600
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s has mode %v, want %v", filepath.Base(s), fi.Mode().Perm(), want)
		}
	}
	j.Close()
	// Reopening leaves sealed segments sealed and continues the last one.
	j = mustOpen(t, journal.Options{Dir: dir, SegmentSize: tinySegment})
	for _, s := range segs[:len(segs)-1] {
		fi, _ := os.Stat(s)
		if fi.Mode().Perm() != 0o400 {
			t.Errorf("%s has mode %v after reopen", filepath.Base(s), fi.Mode().Perm())
		}
	}
	appendRange(t, j, 50, 51)
}

func TestJournal_TornTailIsTruncated(t *testing.T) {
	tests := []struct {
		name string
		// damage the last segment; end is the offset just past the last frame
		// and last the position of the last frame.
		damage   func(t *testing.T, seg string, end int64, last framePos)
		keep     int // records that survive of 20
		minTorn  int64
		maxTorn  int64
		checkLen bool
	}{
		{
			name: "partial frame after the last record",
			damage: func(t *testing.T, seg string, end int64, _ framePos) {
				f := append([]byte{200, 0, 0, 0}, bytes.Repeat([]byte{7}, 30)...)
				writeAt(t, seg, end, f)
			},
			keep: 20, minTorn: 34, maxTorn: 34,
		},
		{
			name: "garbage after the last record",
			damage: func(t *testing.T, seg string, end int64, _ framePos) {
				writeAt(t, seg, end, bytes.Repeat([]byte{0xde, 0xad, 0xbe, 0xef}, 25))
			},
			keep: 20, minTorn: 100, maxTorn: 100,
		},
		{
			name: "last record cut short",
			damage: func(t *testing.T, seg string, end int64, last framePos) {
				// The second half of the last frame never reached the disk.
				half := last.off + (end-last.off)/2
				writeAt(t, seg, half, make([]byte, end-half))
			},
			keep: 19, minTorn: 1, maxTorn: 200,
		},
		{
			name: "last record payload damaged",
			damage: func(t *testing.T, seg string, end int64, _ framePos) {
				flipByte(t, seg, end-1)
			},
			keep: 19, minTorn: 1, maxTorn: 200,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			opts := journal.Options{Dir: dir, SegmentSize: 64 << 10}
			j := mustOpen(t, opts)
			appendRange(t, j, 0, 20)
			j.Close()
			fr := frames(t, dir)
			last := fr[len(fr)-1]
			end := last.off + 12 + int64(last.n)
			tt.damage(t, last.seg, end, last)

			// The offline checker reports the torn tail without repairing it.
			rep, err := journal.Check(nil, dir, nil)
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			if rep.Torn == nil || rep.Records != uint64(tt.keep) {
				t.Fatalf("Check report: torn %+v, records %d", rep.Torn, rep.Records)
			}

			recovered := openRecovering(t, opts)
			j = recovered.j
			if !slices.EqualFunc(recovered.records, readAll(t, j, 0), bytes.Equal) {
				t.Fatalf("OnRecover saw %d records, Scan holds %d (or their bytes differ)", len(recovered.records), len(readAll(t, j, 0)))
			}
			r := j.Recovered()
			if r.TornBytes < tt.minTorn || r.TornBytes > tt.maxTorn || r.TornSegment != last.seg {
				t.Fatalf("Recovered = %+v, want %d..%d torn bytes in %s", r, tt.minTorn, tt.maxTorn, last.seg)
			}
			checkRecords(t, j, tt.keep)
			// Appending continues right after the last complete record.
			appendRange(t, j, tt.keep, tt.keep+5)
			j.Close()
			j = mustOpen(t, opts)
			if r := j.Recovered(); r.TornBytes != 0 {
				t.Fatalf("torn tail reappeared after repair: %+v", r)
			}
			checkRecords(t, j, tt.keep+5)
		})
	}
}

func TestJournal_ReadOnlyOpenDoesNotRepair(t *testing.T) {
	dir := t.TempDir()
	j := mustOpen(t, journal.Options{Dir: dir, SegmentSize: 4096})
	appendRange(t, j, 0, 10)
	j.Close()
	fr := frames(t, dir)
	last := fr[len(fr)-1]
	end := last.off + 12 + int64(last.n)
	writeAt(t, last.seg, end, []byte("torn!"))
	before, _ := os.ReadFile(last.seg)

	ro := mustOpen(t, journal.Options{Dir: dir, ReadOnly: true})
	if r := ro.Recovered(); r.TornBytes != 5 || r.TornOffset != end {
		t.Fatalf("Recovered = %+v, want 5 torn bytes at %d", r, end)
	}
	checkRecords(t, ro, 10)
	if _, err := ro.Append(context.Background(), []byte("x")); !errors.Is(err, journal.ErrReadOnly) {
		t.Fatalf("Append on read-only journal: %v", err)
	}
	after, _ := os.ReadFile(last.seg)
	if !bytes.Equal(before, after) {
		t.Fatal("read-only open modified the segment")
	}
	if _, err := journal.Open(journal.Options{Dir: filepath.Join(dir, "missing"), ReadOnly: true}); err == nil {
		t.Fatal("read-only open of a missing directory succeeded")
	}
}

func TestJournal_CorruptionBeforeTailFailsClosed(t *testing.T) {
	tests := []struct {
		name   string
		target func(fr []framePos) framePos
		at     func(p framePos) int64
	}{
		{
			name:   "payload byte flipped in the active segment",
			target: func(fr []framePos) framePos { return fr[len(fr)-3] },
			at:     func(p framePos) int64 { return p.off + 12 + 2 },
		},
		{
			name:   "length byte flipped in the active segment",
			target: func(fr []framePos) framePos { return fr[len(fr)-2] },
			at:     func(p framePos) int64 { return p.off },
		},
		{
			name:   "payload byte flipped in a sealed segment",
			target: func(fr []framePos) framePos { return fr[1] },
			at:     func(p framePos) int64 { return p.off + 12 + 3 },
		},
		{
			name: "last record of a sealed segment damaged",
			target: func(fr []framePos) framePos {
				for i := 1; i < len(fr); i++ {
					if fr[i].seg != fr[0].seg {
						return fr[i-1]
					}
				}
				return fr[0]
			},
			at: func(p framePos) int64 { return p.off + 12 + int64(p.n) - 1 },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			opts := journal.Options{Dir: dir, SegmentSize: 2048}
			j := mustOpen(t, opts)
			appendRange(t, j, 0, 60)
			j.Close()
			p := tt.target(frames(t, dir))
			flipByte(t, p.seg, tt.at(p))
			before, _ := os.ReadFile(p.seg)

			_, err := journal.Open(opts)
			var ce *journal.CorruptError
			if !errors.As(err, &ce) {
				t.Fatalf("Open = %v, want *CorruptError", err)
			}
			if ce.Segment != p.seg || ce.Offset != p.off {
				t.Fatalf("CorruptError names %s at %d, want %s at %d (%v)", ce.Segment, ce.Offset, p.seg, p.off, err)
			}
			msg := err.Error()
			if !strings.Contains(msg, filepath.Base(p.seg)) || !strings.Contains(msg, fmt.Sprint(p.off)) {
				t.Fatalf("error message does not name segment and offset: %s", msg)
			}
			after, _ := os.ReadFile(p.seg)
			if !bytes.Equal(before, after) {
				t.Fatal("Open modified a corrupt segment")
			}
			if _, err := journal.Check(nil, dir, nil); !errors.As(err, &ce) {
				t.Fatalf("Check = %v, want *CorruptError", err)
			}
		})
	}
}

func TestJournal_SegmentTamperingFailsClosed(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(t *testing.T, segs []string) string // returns the segment the error must name
	}{
		{
			name: "middle segment deleted",
			tamper: func(t *testing.T, segs []string) string {
				if err := os.Remove(segs[2]); err != nil {
					t.Fatal(err)
				}
				return segs[3]
			},
		},
		{
			name: "first segment deleted",
			tamper: func(t *testing.T, segs []string) string {
				if err := os.Remove(segs[0]); err != nil {
					t.Fatal(err)
				}
				return segs[1]
			},
		},
		{
			name: "middle segment truncated",
			tamper: func(t *testing.T, segs []string) string {
				fi, _ := os.Stat(segs[2])
				if err := os.Truncate(segs[2], fi.Size()-5); err != nil {
					t.Fatal(err)
				}
				return segs[2]
			},
		},
		{
			name: "middle segment truncated at a frame boundary",
			tamper: func(t *testing.T, segs []string) string {
				var last framePos
				for _, p := range frames(t, filepath.Dir(segs[0])) {
					if p.seg == segs[2] {
						last = p
					}
				}
				if err := os.Truncate(segs[2], last.off); err != nil {
					t.Fatal(err)
				}
				return segs[3]
			},
		},
		{
			name: "two segments swapped by renaming",
			tamper: func(t *testing.T, segs []string) string {
				tmp := segs[1] + ".x"
				for _, mv := range [][2]string{{segs[1], tmp}, {segs[2], segs[1]}, {tmp, segs[2]}} {
					if err := os.Rename(mv[0], mv[1]); err != nil {
						t.Fatal(err)
					}
				}
				return segs[1]
			},
		},
		{
			name: "garbage after the last record of a sealed last segment",
			tamper: func(t *testing.T, segs []string) string {
				last := segs[len(segs)-1]
				fi, _ := os.Stat(last)
				end := fi.Size()
				for _, p := range frames(t, filepath.Dir(last)) {
					if p.seg == last {
						end = p.off + 12 + int64(p.n)
					}
				}
				writeAt(t, last, end, []byte("garbage"))
				if err := os.Chmod(last, 0o444); err != nil {
					t.Fatal(err)
				}
				return last
			},
		},
		{
			name: "segment header damaged",
			tamper: func(t *testing.T, segs []string) string {
				flipByte(t, segs[1], 17)
				return segs[1]
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			opts := journal.Options{Dir: dir, SegmentSize: tinySegment}
			j := mustOpen(t, opts)
			appendRange(t, j, 0, 60)
			j.Close()
			segs := segments(t, dir)
			if len(segs) < 5 {
				t.Fatalf("want at least 5 segments, got %d", len(segs))
			}
			want := tt.tamper(t, segs)
			_, err := journal.Open(opts)
			var ce *journal.CorruptError
			if !errors.As(err, &ce) {
				t.Fatalf("Open = %v, want *CorruptError", err)
			}
			if ce.Segment != want || !strings.Contains(err.Error(), filepath.Base(want)) {
				t.Fatalf("error names %s, want %s: %v", ce.Segment, want, err)
			}
		})
	}
}

func TestJournal_InterruptedRollIsCompletedOnOpen(t *testing.T) {
	dir := t.TempDir()
	opts := journal.Options{Dir: dir, SegmentSize: tinySegment}
	j := mustOpen(t, opts)
	appendRange(t, j, 0, 30)
	j.Close()
	segs := segments(t, dir)
	// A crash after the new segment was created but before the old one was
	// sealed leaves it writable and full of preallocated zeros; a crash
	// while creating a segment leaves a temporary file.
	prev := segs[len(segs)-2]
	if err := os.Chmod(prev, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(prev, tinySegment*2); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, "00000000000000009999.seg.tmp")
	if err := os.WriteFile(tmp, []byte("partial"), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := journal.Check(nil, dir, nil)
	if err != nil || len(rep.Unsealed) != 1 || len(rep.TempFiles) != 1 {
		t.Fatalf("Check = %+v, %v", rep, err)
	}

	j = mustOpen(t, opts)
	r := j.Recovered()
	if len(r.Resealed) != 1 || r.Resealed[0] != prev || len(r.RemovedTemp) != 1 {
		t.Fatalf("Recovered = %+v", r)
	}
	if fi, _ := os.Stat(prev); fi.Mode().Perm() != 0o400 {
		t.Fatalf("interrupted seal not completed: mode %v", fi.Mode().Perm())
	}
	if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("temporary segment not removed: %v", err)
	}
	checkRecords(t, j, 30)
}

func TestJournal_LastSegmentSealedStartsNewSegment(t *testing.T) {
	dir := t.TempDir()
	opts := journal.Options{Dir: dir, SegmentSize: 4096}
	j := mustOpen(t, opts)
	appendRange(t, j, 0, 5)
	j.Close()
	segs := segments(t, dir)
	// A crash right after sealing and before the next segment existed.
	if err := os.Chmod(segs[0], 0o444); err != nil {
		t.Fatal(err)
	}
	j = mustOpen(t, opts)
	appendRange(t, j, 5, 8)
	checkRecords(t, j, 8)
	if got := segments(t, dir); len(got) != 2 || filepath.Base(got[1]) != "00000000000000000005.seg" {
		t.Fatalf("segments = %v", got)
	}
}

func TestJournal_FsyncFailureIsFatal(t *testing.T) {
	dir := t.TempDir()
	ffs := faultfs.New(nil)
	var commits []uint64
	var synced int // records OnSync reported
	var cmu sync.Mutex
	opts := journal.Options{Dir: dir, FS: ffs, SegmentSize: 64 << 10, OnCommit: func(first uint64, recs [][]byte) {
		cmu.Lock()
		defer cmu.Unlock()
		for i := range recs {
			commits = append(commits, first+uint64(i))
		}
	}, OnSync: func(took time.Duration, records int) {
		cmu.Lock()
		defer cmu.Unlock()
		if took < 0 || records < 1 {
			t.Errorf("OnSync(%s, %d)", took, records)
		}
		synced += records
	}}
	j := mustOpen(t, opts)
	appendRange(t, j, 0, 10)

	// One fsync fails and the kernel drops the dirty pages; the next fsync
	// would succeed. A journal that retried the fsync and acknowledged would
	// ack records that are not on disk.
	ffs.FailSync(syscall.EIO, 1, true)
	var wg sync.WaitGroup
	errs := make([]error, 16)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = j.Append(context.Background(), payload(100+i, 50))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if !errors.Is(err, journal.ErrFailed) || !errors.Is(err, syscall.EIO) {
			t.Fatalf("append %d after failed fsync: %v, want ErrFailed wrapping EIO", i, err)
		}
	}
	if _, err := j.Append(context.Background(), []byte("later")); !errors.Is(err, journal.ErrFailed) {
		t.Fatalf("append after fatal error: %v, want ErrFailed", err)
	}
	if j.Len() != 10 {
		t.Fatalf("Len = %d after failed batch, want 10", j.Len())
	}
	cmu.Lock()
	if len(commits) != 10 || synced != 10 {
		t.Fatalf("OnCommit saw %d records and OnSync %d, want only the 10 durable ones", len(commits), synced)
	}
	cmu.Unlock()
	if _, failed := ffs.Syncs(); failed != 1 {
		t.Fatalf("%d injected fsync failures consumed, want 1", failed)
	}
	// 10 batches, the repair's and the failed one's, and at most one per
	// other sync slot: a later batch's own sync, started while the failed
	// one ran (never acknowledged either).
	if total, _ := ffs.Syncs(); total > 12+journal.DefaultSyncDepth-1 {
		t.Fatalf("fsync was called %d times: it must not be retried after failing", total)
	}
	j.Close()

	// Reopening recovers exactly the durable prefix.
	ffs.Reset()
	j = mustOpen(t, journal.Options{Dir: dir, FS: ffs, SegmentSize: 64 << 10})
	checkRecords(t, j, 10)
	appendRange(t, j, 10, 12)
}

func TestJournal_DiskFullIsReportedAndAppendsResume(t *testing.T) {
	tests := []struct {
		name string
		arm  func(ffs *faultfs.FS)
	}{
		{"write fails part way", func(ffs *faultfs.FS) { ffs.LimitWrites(110) }},
		{"write fails at once", func(ffs *faultfs.FS) { ffs.LimitWrites(0) }},
		{"new segment cannot be preallocated", func(ffs *faultfs.FS) { ffs.FailAllocate(syscall.ENOSPC) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			ffs := faultfs.New(nil)
			opts := journal.Options{Dir: dir, FS: ffs, SegmentSize: tinySegment}
			j := mustOpen(t, opts)
			appendRange(t, j, 0, 9)

			tt.arm(ffs)
			// Enough appends to need a new segment.
			for i := range 8 {
				_, err := j.Append(context.Background(), payload(1000+i, 100))
				if err == nil {
					continue // fitted in the current segment
				}
				if !errors.Is(err, journal.ErrDiskFull) || !errors.Is(err, syscall.ENOSPC) || errors.Is(err, journal.ErrFailed) {
					t.Fatalf("append on full disk: %v, want ErrDiskFull", err)
				}
				if msg := err.Error(); !strings.Contains(msg, "disk full writing segment") || !strings.Contains(msg, "free space and retry") {
					t.Fatalf("unclear disk-full message: %s", msg)
				}
				break
			}
			_, err := j.Append(context.Background(), payload(2000, 100))
			if !errors.Is(err, journal.ErrDiskFull) {
				t.Fatalf("append while disk stays full: %v", err)
			}
			// Reads keep working; acknowledged records are intact.
			n := int(j.Len())
			if got := readAll(t, j, 0); len(got) != n {
				t.Fatalf("Scan returned %d records, Len %d", len(got), n)
			}

			ffs.Reset()
			// A short record lands where the failed batch started; nothing of
			// the failed batch may remain after it.
			mustAppend(t, j, []byte("short"))
			if rep, err := journal.Check(nil, dir, nil); err != nil || rep.Torn != nil {
				t.Fatalf("after a failed batch and a shorter one: Check = %+v, %v", rep.Torn, err)
			}
			n++
			var acked [][]byte
			for i := range 20 {
				p := payload(3000+i, 60)
				seq, err := j.Append(context.Background(), p)
				if err != nil {
					t.Fatalf("append after space was freed: %v", err)
				}
				if seq != uint64(n+i) {
					t.Fatalf("seq = %d, want %d (no gaps after a failed batch)", seq, n+i)
				}
				acked = append(acked, p)
			}
			j.Close()

			j = mustOpen(t, journal.Options{Dir: dir, SegmentSize: tinySegment})
			if r := j.Recovered(); r.TornBytes != 0 {
				t.Fatalf("partial batch left a torn tail: %+v", r)
			}
			got := readAll(t, j, 0)
			if len(got) != n+20 {
				t.Fatalf("reopened journal has %d records, want %d", len(got), n+20)
			}
			for i := range 9 {
				if !bytes.Equal(got[i], payload(i, sizeFor(i))) {
					t.Fatalf("record %d damaged", i)
				}
			}
			for i, p := range acked {
				if !bytes.Equal(got[n+i], p) {
					t.Fatalf("record %d = %q, want %q", n+i, got[n+i], p)
				}
			}
		})
	}
}

func TestJournal_ConcurrentAppendsAreUniqueAndReadable(t *testing.T) {
	dir := t.TempDir()
	var (
		cmu       sync.Mutex
		committed uint64
		gapErr    error
	)
	opts := journal.Options{Dir: dir, SegmentSize: 16 << 10, OnCommit: func(first uint64, recs [][]byte) {
		cmu.Lock()
		defer cmu.Unlock()
		if first != committed && gapErr == nil {
			gapErr = fmt.Errorf("OnCommit first = %d, want %d", first, committed)
		}
		committed = first + uint64(len(recs))
	}}
	j := mustOpen(t, opts)
	const workers, each = 32, 60
	seen := make([][]uint64, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				data := []byte(fmt.Sprintf("w%02d-i%03d-%s", w, i, strings.Repeat("x", (w*7+i)%90)))
				seq, err := j.Append(context.Background(), data)
				if err != nil {
					t.Errorf("Append: %v", err)
					return
				}
				// The caller may reuse its buffer at once.
				clear(data)
				seen[w] = append(seen[w], seq)
			}
		}()
	}
	// Concurrent scans only ever see committed records.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 20 {
			n := j.Len()
			var got uint64
			if err := j.Scan(0, func(seq uint64, data []byte) error { got++; return nil }); err != nil {
				t.Errorf("concurrent Scan: %v", err)
				return
			}
			if got < n {
				t.Errorf("concurrent Scan saw %d records, Len was %d", got, n)
			}
		}
	}()
	wg.Wait()
	if gapErr != nil {
		t.Fatal(gapErr)
	}
	total := uint64(workers * each)
	if j.Len() != total || committed != total {
		t.Fatalf("Len = %d, OnCommit saw %d, want %d", j.Len(), committed, total)
	}
	bySeq := make(map[uint64]string, total)
	for w, seqs := range seen {
		for i, seq := range seqs {
			key := fmt.Sprintf("w%02d-i%03d-", w, i)
			if prev, dup := bySeq[seq]; dup {
				t.Fatalf("seq %d acknowledged twice: %s and %s", seq, prev, key)
			}
			bySeq[seq] = key
		}
	}
	check := func(j *journal.Journal) {
		err := j.Scan(0, func(seq uint64, data []byte) error {
			if want, ok := bySeq[seq]; !ok || !strings.HasPrefix(string(data), want) {
				return fmt.Errorf("record %d = %q, want prefix %q", seq, data, want)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	check(j)
	j.Close()
	j = mustOpen(t, journal.Options{Dir: dir, SegmentSize: 16 << 10})
	check(j)
}

func TestJournal_AppendRejectsBadInput(t *testing.T) {
	j := mustOpen(t, journal.Options{Dir: t.TempDir(), MaxRecordSize: 100})
	if _, err := j.Append(context.Background(), make([]byte, 101)); !errors.Is(err, journal.ErrRecordTooLarge) {
		t.Fatalf("oversized record: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := j.Append(ctx, []byte("x")); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: %v", err)
	}
	if seq := mustAppend(t, j, nil); seq != 0 {
		t.Fatalf("empty record got seq %d", seq)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := j.Append(context.Background(), []byte("x")); !errors.Is(err, journal.ErrClosed) {
		t.Fatalf("append after close: %v", err)
	}
}

func TestJournal_RecordLargerThanSegmentGetsItsOwnSegment(t *testing.T) {
	dir := t.TempDir()
	opts := journal.Options{Dir: dir, SegmentSize: 256, MaxRecordSize: 4096}
	j := mustOpen(t, opts)
	big := bytes.Repeat([]byte("B"), 1000)
	mustAppend(t, j, []byte("small"))
	mustAppend(t, j, big)
	mustAppend(t, j, []byte("after"))
	j.Close()
	j = mustOpen(t, opts)
	got := readAll(t, j, 0)
	if len(got) != 3 || !bytes.Equal(got[1], big) || string(got[2]) != "after" {
		t.Fatalf("records = %d", len(got))
	}
}

func TestOptions_ValidateNamesTheField(t *testing.T) {
	tests := []struct {
		opts journal.Options
		want string
	}{
		{journal.Options{}, "Options.Dir"},
		{journal.Options{Dir: "x", SegmentSize: 10}, "Options.SegmentSize"},
		{journal.Options{Dir: "x", MaxRecordSize: -1}, "Options.MaxRecordSize"},
		{journal.Options{Dir: "x", MaxBatchBytes: -1}, "Options.MaxBatchBytes"},
	}
	for _, tt := range tests {
		err := tt.opts.Validate()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Validate(%+v) = %v, want mention of %s", tt.opts, err, tt.want)
		}
	}
	if err := (journal.Options{Dir: "x"}).Validate(); err != nil {
		t.Errorf("valid options rejected: %v", err)
	}
}

func TestCheck_ReportsEveryFrame(t *testing.T) {
	dir := t.TempDir()
	j := mustOpen(t, journal.Options{Dir: dir, SegmentSize: tinySegment})
	appendRange(t, j, 0, 40)
	j.Close()
	var seqs []uint64
	rep, err := journal.Check(nil, dir, func(seq uint64, seg string, off int64, data []byte) error {
		seqs = append(seqs, seq)
		if !bytes.Equal(data, payload(int(seq), sizeFor(int(seq)))) {
			return fmt.Errorf("record %d mismatch", seq)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Records != 40 || rep.FramesChecked != 40 || len(seqs) != 40 || rep.Torn != nil || len(rep.Segments) != len(segments(t, dir)) {
		t.Fatalf("report = %+v", rep)
	}
	var sum uint64
	for _, s := range rep.Segments {
		sum += s.Records
	}
	if sum != 40 {
		t.Fatalf("segment records sum to %d", sum)
	}
}

// recovering is a journal opened with OnRecover, and what it was given.
type recovering struct {
	j       *journal.Journal
	records [][]byte
}

// openRecovering opens opts with an OnRecover that copies every record
// and checks that they come in sequence from 0.
func openRecovering(tb testing.TB, opts journal.Options) *recovering {
	tb.Helper()
	r := &recovering{}
	opts.OnRecover = func(seq uint64, data []byte) error {
		if seq != uint64(len(r.records)) {
			return fmt.Errorf("OnRecover gave seq %d, want %d", seq, len(r.records))
		}
		r.records = append(r.records, bytes.Clone(data))
		return nil
	}
	r.j = mustOpen(tb, opts)
	return r
}

// TestJournal_OnRecoverSeesEveryRecordOnceAndCanStopOpen: Open hands every
// committed record, across segment rolls, to OnRecover, and an error from
// it fails Open with that error.
func TestJournal_OnRecoverSeesEveryRecordOnceAndCanStopOpen(t *testing.T) {
	dir := t.TempDir()
	opts := journal.Options{Dir: dir, SegmentSize: 4096}
	j := mustOpen(t, opts)
	appendRange(t, j, 0, 300)
	j.Close()
	r := openRecovering(t, opts)
	if len(r.records) != 300 {
		t.Fatalf("OnRecover saw %d records, want 300", len(r.records))
	}
	for i, rec := range r.records {
		if !bytes.Equal(rec, payload(i, sizeFor(i))) {
			t.Fatalf("record %d = %q", i, rec)
		}
	}
	r.j.Close()

	boom := errors.New("cannot rebuild")
	opts.OnRecover = func(seq uint64, _ []byte) error {
		if seq == 150 {
			return boom
		}
		return nil
	}
	if _, err := journal.Open(opts); !errors.Is(err, boom) {
		t.Fatalf("Open with a failing OnRecover: %v, want %v", err, boom)
	}
}

// A batch's fsync starts while the previous batch's still runs, and
// batches are released in order whatever order their syncs end in: a
// later batch is never acknowledged before an earlier one is durable, nor
// at all when the earlier one's sync failed.
func TestJournal_SyncsOverlapAndReleaseInOrder(t *testing.T) {
	tests := []struct {
		name     string
		firstErr error // the outcome of the first batch's sync, released last
		wantLen  uint64
	}{
		{"later sync ends first", nil, 2},
		{"earlier sync fails after the later one succeeded", syscall.EIO, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ffs := faultfs.New(nil)
			var mu sync.Mutex
			var commits []uint64
			j := mustOpen(t, journal.Options{Dir: t.TempDir(), FS: ffs, SyncDepth: 2, OnCommit: func(first uint64, recs [][]byte) {
				mu.Lock()
				defer mu.Unlock()
				for i := range recs {
					commits = append(commits, first+uint64(i))
				}
			}})
			defer j.Close()
			defer ffs.ReleaseAll(nil) // before Close, should the test stop part way
			ffs.HoldSyncs()
			type result struct {
				seq uint64
				err error
			}
			appendOne := func(p []byte) chan result {
				ch := make(chan result, 1)
				go func() {
					seq, err := j.Append(context.Background(), p)
					ch <- result{seq, err}
				}()
				return ch
			}
			waitHeld := func(n int) {
				t.Helper()
				for deadline := time.Now().Add(10 * time.Second); ffs.Held() < n; time.Sleep(time.Millisecond) {
					if time.Now().After(deadline) {
						t.Fatalf("%d syncs running at once, want %d: a batch's sync waited for the previous one's", ffs.Held(), n)
					}
				}
			}
			first := appendOne([]byte("first"))
			waitHeld(1)
			second := appendOne([]byte("second"))
			waitHeld(2)

			ffs.Release(1, nil)
			select {
			case r := <-second:
				t.Fatalf("the second batch was acknowledged (%d, %v) before the first was durable", r.seq, r.err)
			case <-time.After(50 * time.Millisecond):
			}
			if j.Len() != 0 {
				t.Fatalf("Len = %d while the first batch syncs, want 0", j.Len())
			}
			ffs.Release(0, tt.firstErr)
			r1, r2 := <-first, <-second
			if tt.firstErr == nil {
				if r1.err != nil || r2.err != nil || r1.seq != 0 || r2.seq != 1 {
					t.Fatalf("appends = (%d, %v), (%d, %v); want 0 and 1", r1.seq, r1.err, r2.seq, r2.err)
				}
			} else {
				for _, r := range []result{r1, r2} {
					if !errors.Is(r.err, journal.ErrFailed) {
						t.Fatalf("append after the first batch's failed sync: %v, want ErrFailed", r.err)
					}
				}
			}
			if j.Len() != tt.wantLen {
				t.Fatalf("Len = %d, want %d", j.Len(), tt.wantLen)
			}
			mu.Lock()
			defer mu.Unlock()
			if want := []uint64{0, 1}[:tt.wantLen]; !slices.Equal(commits, want) {
				t.Fatalf("OnCommit saw %v, want %v", commits, want)
			}
		})
	}
}
