package crypt

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/onrecord/onrecord/record"
)

// TestSeal_PropertyRoundTrip: for any sealed kind, id, capture time, class
// and plaintext, the envelope survives the canonical encoding, opens to the
// plaintext through the Sealer and through its disclosed record key, and its
// record key opens no other record.
func TestSeal_PropertyRoundTrip(t *testing.T) {
	s, _, _ := newTestSealer(t)
	// Times are kept within a few days so the keystore stays small and the
	// test fast; bucket naming across all time is covered by FuzzParseBucket.
	base := day0.UnixNano()
	var prev *record.Envelope
	rapid.Check(t, func(rt *rapid.T) {
		kind := rapid.SampledFrom([]record.Kind{record.KindEvent, record.KindHold}).Draw(rt, "kind")
		var id [16]byte
		copy(id[:], rapid.SliceOfN(rapid.Byte(), 16, 16).Draw(rt, "id"))
		at := time.Unix(0, base+rapid.Int64Range(-3*24*int64(time.Hour), 3*24*int64(time.Hour)).Draw(rt, "offset"))
		class := rapid.SampledFrom([]string{"general", "comms-7y", "x", "a_b-c"}).Draw(rt, "class")
		plain := rapid.SliceOfN(rapid.Byte(), 0, 2048).Draw(rt, "plain")

		env, err := s.Seal(kind, id, at, class, plain)
		if err != nil {
			rt.Fatalf("Seal: %v", err)
		}
		if env.Bucket != BucketName(class, at) || env.Time != at.UnixNano() || env.ID != id || env.Kind != kind {
			rt.Fatalf("envelope header does not match the inputs: %+v", env)
		}
		enc, err := env.MarshalBinary()
		if err != nil {
			rt.Fatal(err)
		}
		if len(plain) >= 8 && bytes.Contains(enc, plain) {
			rt.Fatal("encoded envelope contains the plaintext")
		}
		dec, err := record.Unmarshal(enc)
		if err != nil {
			rt.Fatal(err)
		}
		got, err := s.Open(dec)
		if err != nil || !bytes.Equal(got, plain) {
			rt.Fatalf("Open = %x, %v; want %x", got, err, plain)
		}
		rk, err := s.RecordKey(dec)
		if err != nil {
			rt.Fatal(err)
		}
		if got, err := OpenWithRecordKey(dec, rk); err != nil || !bytes.Equal(got, plain) {
			rt.Fatalf("OpenWithRecordKey = %x, %v", got, err)
		}
		if prev != nil && prev.ID != env.ID {
			if _, err := OpenWithRecordKey(prev, rk); !errors.Is(err, ErrKeyCommitment) {
				rt.Fatalf("a record key opened a different record: %v", err)
			}
		}
		prev = env
	})
}
