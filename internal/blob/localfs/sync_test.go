package localfs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
)

func addr(i int) string {
	s := sha256.Sum256([]byte{byte(i), byte(i >> 8)})
	return hex.EncodeToString(s[:])
}

// TestGroupSync: concurrent writers share syncs, and none returns before a
// sync that started after its write completed.
func TestGroupSync(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var syncs atomic.Int64
	var mu sync.Mutex
	durableGen := uint64(0)
	real := s.syncFS
	s.syncFS = func() error {
		s.mu.Lock()
		target := s.written
		s.mu.Unlock()
		syncs.Add(1)
		if err := real(); err != nil {
			return err
		}
		mu.Lock()
		durableGen = max(durableGen, target)
		mu.Unlock()
		return nil
	}
	const n = 64
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if err := s.Put(context.Background(), addr(i), []byte("blob")); err != nil {
				t.Error(err)
				return
			}
			// Every write this goroutine could have made is covered.
			mu.Lock()
			defer mu.Unlock()
			if durableGen == 0 {
				t.Error("Put returned before any sync")
			}
		})
	}
	wg.Wait()
	if got := syncs.Load(); got == 0 || got > n {
		t.Fatalf("%d syncs for %d writes", got, n)
	}
	t.Logf("%d writes, %d syncs", n, syncs.Load())
	if len(s.pending) != 0 {
		t.Fatalf("%d blobs still pending after every Put returned", len(s.pending))
	}
}

// TestFailedSyncIsFatal: a sync that fails fails the write it covered, a
// later Put of the same (already linked) blob, and every write after it.
func TestFailedSyncIsFatal(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("EIO")
	s.syncFS = func() error { return boom }
	ctx := context.Background()
	if err := s.Put(ctx, addr(1), []byte("a")); !errors.Is(err, boom) {
		t.Fatalf("Put with a failing sync: %v", err)
	}
	if err := s.Put(ctx, addr(1), []byte("a")); !errors.Is(err, boom) {
		t.Fatalf("a retry of the unsynced blob was acknowledged: %v", err)
	}
	s.syncFS = func() error { return nil }
	if err := s.Put(ctx, addr(2), []byte("b")); !errors.Is(err, boom) {
		t.Fatalf("a write after a failed sync: %v", err)
	}
}
