package localfs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
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
	defer s.Close()
	var syncs atomic.Int64
	var mu sync.Mutex
	durableGen := map[string]bool{} // blobs whose frame was on file when a completed sync began
	real := s.syncFile
	s.syncFile = func(f *os.File) error {
		live, _, err := scanPack(f, true)
		if err != nil {
			return err
		}
		syncs.Add(1)
		if err := real(f); err != nil {
			return err
		}
		mu.Lock()
		for _, b := range live {
			durableGen[hex.EncodeToString(b.key[:])] = true
		}
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
			mu.Lock()
			defer mu.Unlock()
			if !durableGen[addr(i)] {
				t.Errorf("Put of %d returned before a sync covered it", i)
			}
		})
	}
	wg.Wait()
	if got := syncs.Load(); got == 0 || got > n {
		t.Fatalf("%d syncs for %d writes", got, n)
	}
	t.Logf("%d writes, %d syncs", n, syncs.Load())
	if len(s.pending) != 0 || s.synced != s.written {
		t.Fatalf("%d chunks pending, synced %d of %d after every Put returned", len(s.pending), s.synced, s.written)
	}
}

// TestFailedSyncIsFatal: a sync that fails fails the write it covered, a
// later Put of the same blob, reads of it, and every write after it.
func TestFailedSyncIsFatal(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	boom := errors.New("EIO")
	s.syncFile = func(*os.File) error { return boom }
	ctx := context.Background()
	if err := s.Put(ctx, addr(1), []byte("a")); !errors.Is(err, boom) {
		t.Fatalf("Put with a failing sync: %v", err)
	}
	if err := s.Put(ctx, addr(1), []byte("a")); !errors.Is(err, boom) {
		t.Fatalf("a retry of the unsynced blob was acknowledged: %v", err)
	}
	if _, err := s.Get(ctx, addr(1)); !errors.Is(err, boom) {
		t.Fatalf("a read of the unsynced blob: %v", err)
	}
	s.syncFile = func(*os.File) error { return nil }
	if err := s.Put(ctx, addr(2), []byte("b")); !errors.Is(err, boom) {
		t.Fatalf("a write after a failed sync: %v", err)
	}
}

// TestFailedSyncIsFatalToWaiters: writers waiting for the commit that
// fails, and those that arrive while it runs, are all refused.
func TestFailedSyncIsFatalToWaiters(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	boom := errors.New("EIO")
	release := make(chan struct{})
	var calls atomic.Int64
	s.syncFile = func(*os.File) error {
		if calls.Add(1) == 1 {
			<-release
		}
		return boom
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	wg.Go(func() { errs <- s.Put(context.Background(), addr(0), []byte("first")) })
	// Wait until the first writer is committing, then queue more.
	for {
		s.mu.Lock()
		syncing := s.syncing
		s.mu.Unlock()
		if syncing {
			break
		}
	}
	for i := 1; i < 16; i++ {
		wg.Go(func() { errs <- s.Put(context.Background(), addr(i), []byte("later")) })
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, boom) {
			t.Fatalf("a write around a failed sync: %v", err)
		}
	}
}
