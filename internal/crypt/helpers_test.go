package crypt

import (
	"crypto/rand"
	"path/filepath"
	"testing"
	"time"

	"github.com/onrecord/onrecord/internal/kms/local"
	"github.com/onrecord/onrecord/record"
)

// day0 is a fixed capture time used across tests.
var day0 = time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.UTC)

func newTestKEK(t testing.TB) *local.KEK {
	t.Helper()
	kek, _, err := local.Open(filepath.Join(t.TempDir(), "kek.age"), "", true)
	if err != nil {
		t.Fatalf("create KEK: %v", err)
	}
	return kek
}

// newTestSealer returns a Sealer on a fresh keystore and its directory.
func newTestSealer(t testing.TB) (*Sealer, string, *local.KEK) {
	t.Helper()
	kek := newTestKEK(t)
	dir := filepath.Join(t.TempDir(), "keys")
	s, err := New(dir, kek)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s, dir, kek
}

func randomID() [16]byte {
	var id [16]byte
	rand.Read(id[:])
	return id
}

func mustSeal(t testing.TB, s *Sealer, kind record.Kind, at time.Time, class string, plain []byte) *record.Envelope {
	t.Helper()
	env, err := s.Seal(kind, randomID(), at, class, plain)
	if err != nil {
		t.Fatalf("Seal(%s, %s, %s): %v", kind, at, class, err)
	}
	return env
}
