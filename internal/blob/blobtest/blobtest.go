// Package blobtest is the conformance suite every blob.Store backend
// passes: call Run from the backend's tests with a constructor of empty
// stores.
package blobtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/onrecord/onrecord/internal/blob"
)

func addr(i int) string { return fmt.Sprintf("%064x", i+1) }

// Run runs the suite; open returns a new, empty store.
func Run(t *testing.T, open func(t *testing.T) blob.Store) {
	ctx := context.Background()
	t.Run("PutGetRoundTrip", func(t *testing.T) {
		s := open(t)
		for i, b := range [][]byte{{}, []byte("x"), bytes.Repeat([]byte{0xab}, 1<<20)} {
			if err := s.Put(ctx, addr(i), b); err != nil {
				t.Fatalf("Put %d: %v", i, err)
			}
			got, err := s.Get(ctx, addr(i))
			if err != nil || !bytes.Equal(got, b) {
				t.Fatalf("Get %d: %d bytes, %v; want %d bytes", i, len(got), err, len(b))
			}
		}
	})
	t.Run("SecondPutLeavesFirst", func(t *testing.T) {
		s := open(t)
		if err := s.Put(ctx, addr(0), []byte("first")); err != nil {
			t.Fatal(err)
		}
		if err := s.Put(ctx, addr(0), []byte("second")); err != nil {
			t.Fatalf("second Put: %v", err)
		}
		if got, _ := s.Get(ctx, addr(0)); string(got) != "first" {
			t.Fatalf("Get = %q, want the first content", got)
		}
	})
	t.Run("MissingIsNotFound", func(t *testing.T) {
		s := open(t)
		if _, err := s.Get(ctx, addr(7)); !errors.Is(err, blob.ErrNotFound) {
			t.Fatalf("Get missing: %v, want ErrNotFound", err)
		}
		if err := s.Delete(ctx, addr(7)); err != nil {
			t.Fatalf("Delete missing: %v", err)
		}
	})
	t.Run("DeleteRemoves", func(t *testing.T) {
		s := open(t)
		if err := s.Put(ctx, addr(1), []byte("gone")); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, addr(1)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, addr(1)); !errors.Is(err, blob.ErrNotFound) {
			t.Fatalf("Get after Delete: %v", err)
		}
	})
	t.Run("BadAddressesRefused", func(t *testing.T) {
		s := open(t)
		for _, a := range []string{"", "../../etc/passwd", strings.Repeat("A", 64), strings.Repeat("0", 63), strings.Repeat("0", 62) + "/x"} {
			if err := s.Put(ctx, a, []byte("x")); err == nil {
				t.Errorf("Put(%q) accepted", a)
			}
			if _, err := s.Get(ctx, a); err == nil {
				t.Errorf("Get(%q) accepted", a)
			}
		}
	})
	t.Run("ConcurrentPutsOfOneAddress", func(t *testing.T) {
		s := open(t)
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for range 8 {
			wg.Go(func() { errs <- s.Put(ctx, addr(3), []byte("same")) })
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if got, err := s.Get(ctx, addr(3)); err != nil || string(got) != "same" {
			t.Fatalf("Get = %q, %v", got, err)
		}
	})
}
