package crypt

import (
	"crypto/rand"
	"fmt"
	"testing"

	"github.com/onrecord/onrecord/record"
)

// BenchmarkSeal measures the hot path: bucket key from the cache, HKDF to
// the record key and the AEAD key, AES-256-GCM, on all cores. The
// per-record key derivation costs a few HMAC-SHA256 calls; compare with
// BenchmarkAESGCM, the machine's own limit for the encryption alone.
func BenchmarkSeal(b *testing.B) {
	for _, size := range []int{512, 1536} {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			s, _, _ := newTestSealer(b)
			plain := make([]byte, size)
			rand.Read(plain)
			// Create the bucket key outside the timed loop.
			if _, err := s.Seal(record.KindEvent, randomID(), day0, "general", plain); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(size))
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				var id [16]byte
				rand.Read(id[:])
				for i := uint64(0); pb.Next(); i++ {
					id[0], id[1], id[2], id[3] = byte(i), byte(i>>8), byte(i>>16), byte(i>>24)
					if _, err := s.Seal(record.KindEvent, id, day0, "general", plain); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkOpen measures opening through the cached bucket key.
func BenchmarkOpen(b *testing.B) {
	s, _, _ := newTestSealer(b)
	plain := make([]byte, 1536)
	env, err := s.Seal(record.KindEvent, randomID(), day0, "general", plain)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(plain)))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Open(env); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkAESGCM is the floor under BenchmarkSeal: AES-256-GCM with a fresh
// key schedule per record and nothing else.
func BenchmarkAESGCM(b *testing.B) {
	for _, size := range []int{512, 1536} {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			key := make([]byte, 32)
			plain := make([]byte, size)
			nonce := make([]byte, 12)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					aead, err := newGCM(key)
					if err != nil {
						b.Error(err)
						return
					}
					aead.Seal(nil, nonce, plain, nil)
				}
			})
		})
	}
}
