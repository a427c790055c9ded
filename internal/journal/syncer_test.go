package journal

import (
	"context"
	"sync"
	"testing"
)

// Concurrent appends share batches, which the writer syncs through the
// Syncer; every acknowledged record is there after reopening.
func TestJournal_ConcurrentBatchesSyncThroughSyncer(t *testing.T) {
	dir := t.TempDir()
	j, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Go(func() {
			for k := range 20 {
				if _, err := j.Append(context.Background(), []byte{byte(i), byte(k)}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	j, err = Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if j.Len() != 64*20 {
		t.Fatalf("%d records after reopening, want %d", j.Len(), 64*20)
	}
}
