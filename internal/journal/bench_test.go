package journal_test

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/onrecord/onrecord/internal/journal"
)

// noSyncFS is the OS file system with File.Sync made free, to measure the
// journal's own cost as if the disk had a fast (battery-backed) cache.
type noSyncFS struct{ journal.FS }

func (n noSyncFS) OpenFile(name string, flag int, perm fs.FileMode) (journal.File, error) {
	f, err := n.FS.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return noSyncFile{f}, nil
}

type noSyncFile struct{ journal.File }

func (noSyncFile) Sync() error { return nil }

// fsyncLatency measures this machine's limit: the time of one small write
// plus fdatasync in dir. Group commit amortizes it over a batch.
func fsyncLatency(b *testing.B, dir string) time.Duration {
	b.Helper()
	f, err := journal.OSFS().OpenFile(filepath.Join(dir, "probe"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	const n = 20
	start := time.Now()
	for i := range n {
		if _, err := f.WriteAt(buf, int64(i)*4096); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(start) / n
}

// BenchmarkJournalAppend measures durable appends from 128×GOMAXPROCS
// concurrent callers (256 on a 2-core machine). "disk" fsyncs for real and
// reports the machine's fsync latency beside the result; "fastsync" skips
// the fsync to show the journal's own ceiling.
func BenchmarkJournalAppend(b *testing.B) {
	for _, sync := range []string{"disk", "fastsync"} {
		for _, size := range []int{512, 1536} {
			b.Run(fmt.Sprintf("%s/%dB", sync, size), func(b *testing.B) {
				dir := b.TempDir()
				opts := journal.Options{Dir: filepath.Join(dir, "j")}
				var fsync time.Duration
				if sync == "fastsync" {
					opts.FS = noSyncFS{journal.OSFS()}
				} else {
					fsync = fsyncLatency(b, dir)
				}
				j, err := journal.Open(opts)
				if err != nil {
					b.Fatal(err)
				}
				defer j.Close()
				ctx := context.Background()
				b.SetBytes(int64(size))
				b.SetParallelism(128)
				b.ReportAllocs()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					data := make([]byte, size)
					for pb.Next() {
						if _, err := j.Append(ctx, data); err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
				if fsync > 0 {
					// The machine's own limit: one fsync per batch.
					b.ReportMetric(float64(fsync.Microseconds()), "fsync-µs")
				}
			})
		}
	}
}
