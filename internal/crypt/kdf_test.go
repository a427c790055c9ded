package crypt

import (
	"bytes"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/onrecord/onrecord/record"
)

// TestKDF_SameAsCryptoHKDF checks the pooled HMAC and HKDF steps against
// crypto/hmac and crypto/hkdf: a record sealed by either must open with the
// other, and auditors derive record keys with the standard construction.
func TestKDF_SameAsCryptoHKDF(t *testing.T) {
	k := getKDF()
	defer k.release()
	for keyLen := range 100 {
		key, msg := make([]byte, keyLen), make([]byte, keyLen*3)
		rand.Read(key)
		rand.Read(msg)
		k.mac(key, msg[:keyLen], msg[keyLen:])
		m := hmac.New(sha256.New, key)
		m.Write(msg)
		if want := m.Sum(nil); !bytes.Equal(k.t[:], want) {
			t.Fatalf("HMAC with a %d-byte key: %x, crypto/hmac %x", keyLen, k.t, want)
		}
	}
	for range 200 {
		bucketKey := make([]byte, 32)
		rand.Read(bucketKey)
		var id [16]byte
		rand.Read(id[:])
		rk := deriveRecordKey(bucketKey, id)
		want, err := hkdf.Key(sha256.New, bucketKey, id[:], recordKeyInfo, RecordKeySize)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(rk, want) {
			t.Fatalf("record key %x, crypto/hkdf %x", rk, want)
		}
		aeadKey, commitment := deriveSealKeys(rk)
		okm, err := hkdf.Expand(sha256.New, rk, sealKeysInfo, 64)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(aeadKey, okm[:32]) || !bytes.Equal(commitment[:], okm[32:]) {
			t.Fatalf("seal keys %x | %x, crypto/hkdf %x", aeadKey, commitment, okm)
		}
	}
}

// TestSealAppend_InPlace seals a plaintext into its own storage and opens
// it back, and checks the plaintext's bytes are gone from that storage.
func TestSealAppend_InPlace(t *testing.T) {
	s, _, _ := newTestSealer(t)
	want := bytes.Repeat([]byte("on the record "), 40)
	buf := make([]byte, len(want), len(want)+Overhead)
	copy(buf, want)
	env, err := s.SealAppend(buf[:0], record.KindEvent, randomID(), day0.Add(time.Hour), "general", buf)
	if err != nil {
		t.Fatal(err)
	}
	if &env.Ciphertext[0] != &buf[0] {
		t.Error("the ciphertext is not in the plaintext's storage")
	}
	if bytes.Contains(buf[:cap(buf)], []byte("on the record")) {
		t.Error("plaintext left in the buffer")
	}
	got, err := s.Open(env)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("opened %q", got)
	}
}
