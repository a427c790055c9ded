package record

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"pgregory.net/rapid"
)

func genEnvelope(t *rapid.T) *Envelope {
	e := &Envelope{
		Kind:   Kind(rapid.IntRange(1, 3).Draw(t, "kind")),
		Time:   rapid.Int64().Draw(t, "time"),
		Bucket: rapid.StringN(0, 40, MaxBucketLen).Draw(t, "bucket"),
	}
	copy(e.ID[:], rapid.SliceOfN(rapid.Byte(), 16, 16).Draw(t, "id"))
	copy(e.KeyCommitment[:], rapid.SliceOfN(rapid.Byte(), 32, 32).Draw(t, "kc"))
	copy(e.Nonce[:], rapid.SliceOfN(rapid.Byte(), 12, 12).Draw(t, "nonce"))
	if c := rapid.SliceOfN(rapid.Byte(), 0, 300).Draw(t, "ct"); len(c) > 0 {
		e.Ciphertext = c
	}
	e.BlobRefs = append(e.BlobRefs, rapid.SliceOfN(rapid.StringN(1, 20, MaxBlobRefLen), 0, 4).Draw(t, "refs")...)
	if p := rapid.SliceOfN(rapid.Byte(), 0, 50).Draw(t, "public"); len(p) > 0 {
		e.Public = p
	}
	return e
}

func TestEnvelope_RoundTripIsCanonical(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		e := genEnvelope(t)
		b, err := e.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != e.Size() {
			t.Fatalf("Size() = %d, encoding is %d bytes", e.Size(), len(b))
		}
		got, err := Unmarshal(b)
		if err != nil {
			t.Fatal(err)
		}
		b2, err := got.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, b2) {
			t.Fatal("re-encoding differs: encoding is not canonical")
		}
		if !bytes.HasPrefix(b, e.AAD()) {
			t.Fatal("encoding does not start with the AAD header")
		}
	})
}

func TestUnmarshal_RejectsMalformed(t *testing.T) {
	good, err := (&Envelope{Kind: KindEvent, Bucket: "default/2026-01-02", Ciphertext: []byte("x")}).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	mut := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"bad magic", mut(func(b []byte) []byte { b[0] = 'X'; return b })},
		{"bad version", mut(func(b []byte) []byte { b[2] = 9; return b })},
		{"unknown kind", mut(func(b []byte) []byte { b[3] = 0; return b })},
		{"trailing byte", append(append([]byte(nil), good...), 0)},
		{"truncated", good[:len(good)-1]},
		{"huge ciphertext length", mut(func(b []byte) []byte {
			off := fixedHeader + len("default/2026-01-02") + 32 + 12
			b[off] = 0xff
			return b
		})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Unmarshal(tt.in); !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
		})
	}
}

func TestLeafHash_IsRFC6962(t *testing.T) {
	// RFC 6962 test vector: the leaf hash of the empty leaf.
	got := LeafHash(nil)
	const want = "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
	if hexs := bytesHex(got[:]); hexs != want {
		t.Fatalf("LeafHash(empty) = %s, want %s", hexs, want)
	}
}

func bytesHex(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

func FuzzEnvelopeCodec(f *testing.F) {
	seed, _ := (&Envelope{Kind: KindDisposal, Bucket: "default/2026-01-02", Public: []byte(`{"a":1}`), BlobRefs: []string{"b1"}}).MarshalBinary()
	f.Add(seed)
	f.Add([]byte("OR\x01\x01"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := Unmarshal(b)
		view, verr := UnmarshalView(b)
		if (err == nil) != (verr == nil) || !reflect.DeepEqual(e, view) {
			t.Fatalf("UnmarshalView = %+v, %v; Unmarshal = %+v, %v", view, verr, e, err)
		}
		if err != nil {
			return
		}
		// Whatever decodes must re-encode to exactly the same bytes.
		again, err := e.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded envelope does not re-encode: %v", err)
		}
		if !bytes.Equal(again, b) {
			t.Fatal("decoded envelope re-encodes differently")
		}
	})
}

// TestUnmarshalView_SharesTheInput: the view's ciphertext and public
// metadata are the input's bytes; Unmarshal's are copies.
func TestUnmarshalView_SharesTheInput(t *testing.T) {
	b, err := (&Envelope{Kind: KindEvent, Bucket: "default/2026-01-02", Ciphertext: []byte("sealed"), Public: []byte("pub")}).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	owned, err := Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	view, err := UnmarshalView(b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = 'x'
	}
	if string(owned.Ciphertext) != "sealed" || string(owned.Public) != "pub" {
		t.Errorf("Unmarshal's envelope changed with its input: %q %q", owned.Ciphertext, owned.Public)
	}
	if string(view.Ciphertext) != "xxxxxx" || string(view.Public) != "xxx" {
		t.Errorf("UnmarshalView's envelope does not share its input: %q %q", view.Ciphertext, view.Public)
	}
	if view.Bucket != "default/2026-01-02" {
		t.Errorf("the bucket name must be a copy: %q", view.Bucket)
	}
}
