package crypt

import (
	"bytes"
	"testing"
	"time"

	"github.com/onrecord/onrecord/record"
)

// FuzzParseKeyFile: key files are read from disk, which an attacker with
// write access to the keystore controls. Parsing must not panic, and
// whatever parses is canonical.
func FuzzParseKeyFile(f *testing.F) {
	good := encodeKeyFile(keyFile{bucket: "general/2025-03-14", kek: "0123456789abcdef", created: day0, wrapped: []byte("wrapped-bytes")})
	f.Add(good)
	f.Add([]byte(""))
	f.Add([]byte(keyFileHeader + "\n"))
	f.Add(bytes.Replace(good, []byte("Z\n"), []byte("+00:00\n"), 1))
	f.Add(bytes.Replace(good, []byte("general"), []byte("../etc"), 1))
	f.Fuzz(func(t *testing.T, data []byte) {
		kf, err := parseKeyFile(data)
		if err != nil {
			return
		}
		if !bytes.Equal(encodeKeyFile(kf), data) {
			t.Fatalf("accepted a non-canonical key file:\n%q", data)
		}
		if _, _, err := ParseBucket(kf.bucket); err != nil {
			t.Fatalf("accepted a key file with bad bucket %q", kf.bucket)
		}
	})
}

// FuzzOpen: envelopes are decoded from journal files. Whatever decodes must
// be refused or opened without panic, and must not make the Sealer touch
// files outside its keystore or create keys.
func FuzzOpen(f *testing.F) {
	s, _, _ := newTestSealer(f)
	env, err := s.Seal(record.KindEvent, [16]byte{1}, day0, "general", []byte("seed"))
	if err != nil {
		f.Fatal(err)
	}
	enc, err := env.MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(enc, make([]byte, 32))
	other := *env
	other.Bucket = "../../x/2025-01-01"
	if b, err := other.MarshalBinary(); err == nil {
		f.Add(b, []byte("short"))
	}
	f.Fuzz(func(t *testing.T, data, key []byte) {
		e, err := record.Unmarshal(data)
		if err != nil {
			return
		}
		plain, err := s.Open(e)
		if err == nil && !bytes.Equal(e.Ciphertext, env.Ciphertext) {
			// Forging a valid envelope is a break of AES-GCM; only the
			// seed (or a header-identical copy) can open.
			t.Fatalf("Open accepted an envelope that was never sealed: %q", plain)
		}
		_, _ = s.RecordKey(e)
		_, _ = OpenWithRecordKey(e, key)
		if ok, _ := s.HasKey(BucketName("general", day0.Add(24*time.Hour))); ok {
			t.Fatal("opening created a key")
		}
	})
}
