// Package kmstest is the conformance suite every kms.Wrapper backend must
// pass. A backend's test calls Run with a constructor that returns a fresh,
// independent key-encryption key on each call.
package kmstest

import (
	"bytes"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"unicode"

	"github.com/onrecord/onrecord/internal/kms"
)

// Run runs the conformance suite. newWrapper must return a wrapper for a new
// KEK each time it is called: two calls must not share key material.
func Run(t *testing.T, newWrapper func(t *testing.T) kms.Wrapper) {
	t.Helper()

	t.Run("RoundTrip", func(t *testing.T) {
		w := newWrapper(t)
		for _, n := range []int{0, 1, 32, 32 + 64, 4096} {
			plain := make([]byte, n)
			rand.Read(plain)
			wrapped, err := w.Wrap(plain)
			if err != nil {
				t.Fatalf("Wrap(%d bytes): %v", n, err)
			}
			if n >= 16 && bytes.Contains(wrapped, plain) {
				t.Fatalf("Wrap(%d bytes): wrapped output contains the plaintext", n)
			}
			got, err := w.Unwrap(wrapped)
			if err != nil {
				t.Fatalf("Unwrap(Wrap(%d bytes)): %v", n, err)
			}
			if !bytes.Equal(got, plain) {
				t.Fatalf("Unwrap(Wrap(x)) != x for %d bytes", n)
			}
		}
	})

	t.Run("WrapIsRandomized", func(t *testing.T) {
		w := newWrapper(t)
		plain := bytes.Repeat([]byte{7}, 32)
		a, err := w.Wrap(plain)
		if err != nil {
			t.Fatal(err)
		}
		b, err := w.Wrap(plain)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(a, b) {
			t.Fatal("two Wrap calls on the same input returned identical ciphertexts")
		}
	})

	t.Run("TamperedWrappedKeyIsRefused", func(t *testing.T) {
		w := newWrapper(t)
		plain := make([]byte, 32)
		rand.Read(plain)
		wrapped, err := w.Wrap(plain)
		if err != nil {
			t.Fatal(err)
		}
		// Flip one bit at a spread of positions: header, middle, tag.
		for _, pos := range []int{0, len(wrapped) / 3, len(wrapped) / 2, len(wrapped) - 1} {
			bad := bytes.Clone(wrapped)
			bad[pos] ^= 0x01
			got, err := w.Unwrap(bad)
			if err == nil {
				t.Fatalf("Unwrap accepted a wrapped key with bit flipped at byte %d (returned %d bytes)", pos, len(got))
			}
			if !errors.Is(err, kms.ErrWrongKey) {
				t.Fatalf("Unwrap of tampered key (byte %d): error %v does not wrap kms.ErrWrongKey", pos, err)
			}
		}
		if _, err := w.Unwrap(wrapped[:len(wrapped)-1]); !errors.Is(err, kms.ErrWrongKey) {
			t.Fatalf("Unwrap of truncated key: got %v, want kms.ErrWrongKey", err)
		}
		if _, err := w.Unwrap(nil); err == nil {
			t.Fatal("Unwrap(nil) succeeded")
		}
	})

	t.Run("WrongKEKIsRefused", func(t *testing.T) {
		a, b := newWrapper(t), newWrapper(t)
		if a.ID() == b.ID() {
			t.Fatalf("two independent KEKs have the same ID %q", a.ID())
		}
		wrapped, err := a.Wrap([]byte("a bucket key of thirty-two bytes"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.Unwrap(wrapped); !errors.Is(err, kms.ErrWrongKey) {
			t.Fatalf("Unwrap with another KEK: got %v, want kms.ErrWrongKey", err)
		}
	})

	t.Run("IDIsStableAndPrintable", func(t *testing.T) {
		w := newWrapper(t)
		id := w.ID()
		if id == "" || id != w.ID() {
			t.Fatalf("ID() = %q, then %q: want a stable non-empty string", id, w.ID())
		}
		if strings.IndexFunc(id, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }) >= 0 {
			t.Fatalf("ID() = %q contains whitespace or unprintable characters", id)
		}
	})

	t.Run("ConcurrentUse", func(t *testing.T) {
		w := newWrapper(t)
		errc := make(chan error, 8)
		for i := range 8 {
			go func() {
				plain := []byte{byte(i), 1, 2, 3} // #nosec G115 -- a small loop index in a test helper
				wrapped, err := w.Wrap(plain)
				if err == nil {
					var got []byte
					got, err = w.Unwrap(wrapped)
					if err == nil && !bytes.Equal(got, plain) {
						err = errors.New("concurrent round trip returned different bytes")
					}
				}
				errc <- err
			}()
		}
		for range 8 {
			if err := <-errc; err != nil {
				t.Error(err)
			}
		}
	})
}
