package blob_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/onrecord/onrecord/internal/blob"
	"github.com/onrecord/onrecord/internal/blob/localfs"
)

// memStore records what reaches the backend.
type memStore map[string][]byte

func (m memStore) Put(_ context.Context, a string, b []byte) error {
	if _, ok := m[a]; !ok {
		m[a] = bytes.Clone(b)
	}
	return nil
}
func (m memStore) Get(_ context.Context, a string) ([]byte, error) {
	b, ok := m[a]
	if !ok {
		return nil, blob.ErrNotFound
	}
	return b, nil
}
func (m memStore) Delete(_ context.Context, a string) error { delete(m, a); return nil }

func TestSealed_StoresCiphertextOnceAndOpens(t *testing.T) {
	ctx := context.Background()
	mem := memStore{}
	s, err := blob.NewSealed(mem, bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	pt := []byte("CANARY-attachment-plaintext " + string(bytes.Repeat([]byte("z"), 100)))
	ref, err := s.Put(ctx, pt)
	if err != nil {
		t.Fatal(err)
	}
	ref2, err := s.Put(ctx, pt)
	if err != nil || ref2.Addr != ref.Addr || len(mem) != 1 {
		t.Fatalf("same content stored twice: %v %v, %d objects", ref, ref2, len(mem))
	}
	for _, b := range mem {
		if bytes.Contains(b, []byte("CANARY")) {
			t.Fatal("plaintext reached the store")
		}
	}
	got, err := s.Get(ctx, ref)
	if err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("Get: %q, %v", got, err)
	}
	if ref.Size != int64(len(pt)) || len(ref.SHA256) != 64 {
		t.Fatalf("ref = %+v", ref)
	}
	// A different secret gives a different address: the address is keyed.
	other, _ := blob.NewSealed(memStore{}, bytes.Repeat([]byte{2}, 32))
	if r, _ := other.Put(ctx, pt); r.Addr == ref.Addr {
		t.Fatal("address does not depend on the secret")
	}
}

func TestSealed_TamperAndWrongKeyFail(t *testing.T) {
	ctx := context.Background()
	st, err := localfs.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s, _ := blob.NewSealed(st, bytes.Repeat([]byte{1}, 32))
	a, _ := s.Put(ctx, []byte("file a"))
	b, _ := s.Put(ctx, []byte("file b"))
	ctA, _ := st.Get(ctx, a.Addr)
	for name, tc := range map[string]struct {
		ref blob.Ref
		ct  []byte
	}{
		"flipped byte":     {a, append(append([]byte{}, ctA[:len(ctA)-1]...), ctA[len(ctA)-1]^1)},
		"other blob's key": {blob.Ref{Addr: a.Addr, Key: b.Key}, ctA},
		"moved address":    {blob.Ref{Addr: b.Addr, Key: a.Key}, ctA},
		"wrong sha256":     {blob.Ref{Addr: a.Addr, Key: a.Key, SHA256: b.SHA256}, ctA},
	} {
		if _, err := blob.Open(tc.ref, tc.ct); err == nil {
			t.Errorf("%s: opened", name)
		}
	}
	if _, err := s.Get(ctx, blob.Ref{Addr: "0000000000000000000000000000000000000000000000000000000000000000", Key: a.Key}); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("missing blob: %v", err)
	}
}
