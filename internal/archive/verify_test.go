package archive

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onrecord/onrecord/internal/journal"
	"github.com/onrecord/onrecord/internal/ledger"
)

type frameAt struct {
	seg string
	off int64
}

// tamperFixture writes enough records for several segments and returns the
// config, the segment paths in order and where each record's frame is.
func tamperFixture(t *testing.T) (cfgDir string, segs []string, frames []frameAt) {
	t.Helper()
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	cfg.CheckpointEvery = 10
	a := mustOpen(t, cfg, nil)
	// Texts just within BodyInline, so that they stay in the records.
	for i := range 180 {
		if _, err := a.Append(t.Context(), event(i, strings.Repeat("x", 16_000)+fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	rep, err := journal.Check(nil, cfg.JournalDir(), func(seq uint64, seg string, off int64, data []byte) error {
		frames = append(frames, frameAt{seg, off})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range rep.Segments {
		segs = append(segs, s.Path)
	}
	if len(segs) < 3 {
		t.Fatalf("fixture has %d segments, want at least 3", len(segs))
	}
	return dir, segs, frames
}

func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x5a
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

func TestVerify_TamperingIsFound(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(t *testing.T, dir string, segs []string, frames []frameAt)
		// want is a part of the message that names the place.
		want func(dir string, segs []string) string
	}{
		{
			name: "byte flipped in a sealed segment",
			tamper: func(t *testing.T, dir string, segs []string, frames []frameAt) {
				flipByte(t, frames[3].seg, frames[3].off+100)
			},
			want: func(dir string, segs []string) string { return filepath.Base(segs[0]) },
		},
		{
			name: "byte flipped in the open segment before its tail",
			tamper: func(t *testing.T, dir string, segs []string, frames []frameAt) {
				last := segs[len(segs)-1]
				for _, f := range frames {
					if f.seg == last {
						flipByte(t, f.seg, f.off+200)
						return
					}
				}
				t.Fatal("no frame in the last segment")
			},
			want: func(dir string, segs []string) string { return filepath.Base(segs[len(segs)-1]) },
		},
		{
			name: "byte flipped in the latest checkpoint",
			tamper: func(t *testing.T, dir string, segs []string, frames []frameAt) {
				p := filepath.Join(dir, "log", ledger.CheckpointsFile)
				cps, err := ledger.ReadCheckpoints(p)
				if err != nil || len(cps) < 2 {
					t.Fatalf("%d checkpoints, %v", len(cps), err)
				}
				flipByte(t, p, cps[len(cps)-1].Offset+20)
			},
			want: func(string, []string) string { return "checkpoint" },
		},
		{
			name: "byte flipped in an earlier checkpoint",
			tamper: func(t *testing.T, dir string, segs []string, frames []frameAt) {
				p := filepath.Join(dir, "log", ledger.CheckpointsFile)
				cps, _ := ledger.ReadCheckpoints(p)
				flipByte(t, p, cps[1].Offset+12)
			},
			want: func(string, []string) string { return "offset" },
		},
		{
			name: "middle segment deleted",
			tamper: func(t *testing.T, dir string, segs []string, frames []frameAt) {
				os.Remove(segs[1])
			},
			want: func(dir string, segs []string) string { return filepath.Base(segs[2]) },
		},
		{
			name: "last segment deleted",
			tamper: func(t *testing.T, dir string, segs []string, frames []frameAt) {
				os.Remove(segs[len(segs)-1])
			},
			want: func(string, []string) string { return "records are missing" },
		},
		{
			name: "sealed segment truncated in the middle",
			tamper: func(t *testing.T, dir string, segs []string, frames []frameAt) {
				fi, _ := os.Stat(segs[0])
				os.Truncate(segs[0], fi.Size()/2)
			},
			want: func(dir string, segs []string) string { return filepath.Base(segs[0]) },
		},
		{
			name: "segments reordered",
			tamper: func(t *testing.T, dir string, segs []string, frames []frameAt) {
				tmp := segs[0] + ".tmp"
				os.Rename(segs[0], tmp)
				os.Rename(segs[1], segs[0])
				os.Rename(tmp, segs[1])
			},
			want: func(dir string, segs []string) string { return filepath.Base(segs[0]) },
		},
		{
			name: "verifier key replaced",
			tamper: func(t *testing.T, dir string, segs []string, frames []frameAt) {
				_, vkey, _ := ledger.NewSignerKey("onrecord.local/log")
				os.WriteFile(filepath.Join(dir, "log", VerifierKeyFile), []byte(vkey+"\n"), 0o644)
			},
			want: func(string, []string) string { return "signature" },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, segs, frames := tamperFixture(t)
			cfg := testConfig(t, dir)
			mustVerify(t, cfg)
			tt.tamper(t, dir, segs, frames)
			rep, err := VerifyDir(t.Context(), VerifyOptions{Config: cfg})
			if err != nil {
				t.Fatalf("verify could not run: %v", err)
			}
			if rep.OK {
				t.Fatal("verify passed a tampered archive")
			}
			want := tt.want(dir, segs)
			if !strings.Contains(strings.Join(rep.Errors, "\n"), want) {
				t.Fatalf("errors do not name %q:\n%s", want, strings.Join(rep.Errors, "\n"))
			}
			// Opening fails closed as well, rather than repairing damage.
			if a, err := Open(t.Context(), Options{Config: cfg}); err == nil {
				a.Close()
				if tt.name != "verifier key replaced" && tt.name != "byte flipped in an earlier checkpoint" {
					t.Fatal("Open accepted a tampered archive")
				}
			}
		})
	}
}

func TestVerify_TornTailIsRepaired(t *testing.T) {
	dir, _, _ := tamperFixture(t)
	cfg := testConfig(t, dir)
	before := mustVerify(t, cfg)
	rep, err := journal.Check(nil, cfg.JournalDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	last := rep.Segments[len(rep.Segments)-1]
	// A partial frame after the last complete one: an interrupted,
	// unacknowledged write.
	f, err := os.OpenFile(last.Path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte{0, 0, 0x10, 0, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3}, last.ValidEnd)
	f.Close()

	torn := mustVerify(t, cfg)
	if torn.TornTailBytes == 0 || len(torn.Warnings) == 0 {
		t.Fatalf("torn tail not reported: %+v", torn)
	}
	a := mustOpen(t, cfg, nil)
	if a.Len() != uint64(before.Frames) {
		t.Fatalf("after repair %d records, want %d", a.Len(), before.Frames)
	}
	if _, err := a.Append(t.Context(), event(1000, "after repair")); err != nil {
		t.Fatal(err)
	}
	a.Close()
	after := mustVerify(t, cfg)
	if after.TornTailBytes != 0 || after.Records != before.Records+1 {
		t.Fatalf("after repair: %+v", after)
	}
}
