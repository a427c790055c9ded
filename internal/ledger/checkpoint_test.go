package ledger

import (
	"bytes"
	"strings"
	"testing"

	"github.com/transparency-dev/formats/log"
	"golang.org/x/mod/sumdb/note"
)

func TestNewSignerKey_VerifierKeyIsDerivableFromSignerKey(t *testing.T) {
	// Many keys, because base64 key material sometimes contains '+', the
	// separator of the key's fields.
	for i := range 64 {
		key := mustKey(t, "")
		got, err := VerifierKey(key.skey)
		if err != nil {
			t.Fatalf("key %d: VerifierKey: %v", i, err)
		}
		if got != key.vkey {
			t.Fatalf("key %d: VerifierKey = %q, NewSignerKey gave %q", i, got, key.vkey)
		}
	}
}

func TestNewSignerKey_UsesOrigin(t *testing.T) {
	for _, origin := range []string{"", "archive.example.com/log"} {
		key := mustKey(t, origin)
		v, err := note.NewVerifier(key.vkey)
		if err != nil {
			t.Fatal(err)
		}
		want := origin
		if want == "" {
			want = DefaultOrigin
		}
		if v.Name() != want {
			t.Fatalf("key name %q, want %q", v.Name(), want)
		}
	}
}

func TestNewSignerKey_RejectsInvalidOrigin(t *testing.T) {
	for _, origin := range []string{"has space", "a+b", "line\nbreak"} {
		if _, _, err := NewSignerKey(origin); err == nil {
			t.Fatalf("NewSignerKey(%q) succeeded", origin)
		}
	}
}

func TestVerifierKey_RejectsNonSignerKeys(t *testing.T) {
	key := mustKey(t, "")
	for _, bad := range []string{"", key.vkey, "PRIVATE+KEY+x+00000000+AQ==", strings.Replace(key.skey, "PRIVATE", "PUBLIC", 1)} {
		if _, err := VerifierKey(bad); err == nil {
			t.Fatalf("VerifierKey(%q) succeeded", bad)
		}
	}
}

func signedTestCheckpoint(t testing.TB, key testKey, size uint64) []byte {
	t.Helper()
	signer, err := note.NewSigner(key.skey)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := signCheckpoint(signer, signer.Name(), size, RootOf(testLeaves("a", 0, size)))
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

func TestVerifyCheckpoint_RoundTrip(t *testing.T) {
	key := mustKey(t, "")
	signed := signedTestCheckpoint(t, key, 300)
	cp := mustVerify(t, signed, key.vkey)
	if cp.Origin != DefaultOrigin || cp.Size != 300 || !bytes.Equal(cp.Hash, RootOf(testLeaves("a", 0, 300))) {
		t.Fatalf("checkpoint = %+v", cp)
	}
	body, err := parseCheckpointBody(signed)
	if err != nil || body.Size != 300 || !bytes.Equal(body.Hash, cp.Hash) {
		t.Fatalf("parseCheckpointBody = %+v, %v", body, err)
	}
}

func TestVerifyCheckpoint_Rejects(t *testing.T) {
	key := mustKey(t, "")
	other := mustKey(t, "")
	signed := signedTestCheckpoint(t, key, 7)
	v, _ := note.NewVerifier(key.vkey)
	ov, _ := note.NewVerifier(other.vkey)

	otherSigner, _ := note.NewSigner(mustKey(t, "example.com/x").skey)
	wrongOrigin, _ := note.Sign(&note.Note{Text: string(log.Checkpoint{Origin: "example.com/x", Size: 1, Hash: make([]byte, 32)}.Marshal())}, otherSigner)

	signer, _ := note.NewSigner(key.skey)
	shortRoot, _ := note.Sign(&note.Note{Text: DefaultOrigin + "\n1\nAAAA\n"}, signer)

	tests := []struct {
		name     string
		signed   []byte
		verifier note.Verifier
		origin   string
	}{
		{"other key", signed, ov, ""},
		{"size changed", bytes.Replace(signed, []byte("\n7\n"), []byte("\n8\n"), 1), v, ""},
		{"root changed", flipIn(signed, len(DefaultOrigin)+4), v, ""},
		{"wrong origin asked", signed, v, "example.com/y"},
		{"signed by a stranger", wrongOrigin, v, ""},
		{"root not 32 bytes", shortRoot, v, ""},
		{"empty", nil, v, ""},
		{"nil verifier", signed, nil, ""},
		{"too large", append(bytes.Repeat([]byte("a"), MaxCheckpointSize), signed...), v, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if cp, _, err := VerifyCheckpoint(tt.signed, tt.verifier, tt.origin); err == nil {
				t.Fatalf("VerifyCheckpoint accepted it: %+v", cp)
			}
		})
	}
}

func flipIn(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 0x01
	return c
}

func FuzzParseCheckpoint(f *testing.F) {
	key := mustKey(f, "")
	v, err := note.NewVerifier(key.vkey)
	if err != nil {
		f.Fatal(err)
	}
	signed := signedTestCheckpoint(f, key, 12)
	f.Add(signed)
	f.Add([]byte(DefaultOrigin + "\n12\nAAAA\n\n— x y\n"))
	f.Add([]byte("\n\n"))
	f.Add([]byte{})
	f.Add(bytes.Replace(signed, []byte("\n12\n"), []byte("\n-1\n"), 1))
	f.Fuzz(func(t *testing.T, data []byte) {
		cp, _, err := VerifyCheckpoint(data, v, "")
		if err == nil && (cp.Origin != DefaultOrigin || len(cp.Hash) != HashSize) {
			t.Fatalf("accepted checkpoint with origin %q and %d-byte root", cp.Origin, len(cp.Hash))
		}
		if body, err := parseCheckpointBody(data); err == nil && len(body.Hash) != HashSize {
			t.Fatalf("parsed body with %d-byte root", len(body.Hash))
		}
		// The history scanner is the other parser of stored bytes.
		_ = ScanCheckpoints("fuzz", bytes.NewReader(data), func(StoredCheckpoint) error { return nil })
	})
}
