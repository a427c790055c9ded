package archive

import (
	"crypto/rand"
	"fmt"
	"testing"
)

// BenchmarkAppendRaw measures the whole write path — seal, journal with
// group commit and fdatasync, Merkle leaf — with 256 concurrent writers on
// 2 cores. `onrecord bench journal` prints the same figure beside the
// machine's limits.
func BenchmarkAppendRaw(b *testing.B) {
	for _, size := range []int{512, 1536} {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			cfg := testConfig(b, b.TempDir())
			cfg.SegmentSize = "64MiB" // the default: rolls are rare, as in production
			a := mustOpen(b, cfg, nil)
			defer a.Close()
			pt := make([]byte, size)
			rand.Read(pt)
			b.SetParallelism(128)
			b.SetBytes(int64(size))
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := a.AppendRaw(b.Context(), pt); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
