package blob

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
)

// Ref is what a record keeps about a sealed blob: where it is, the key that
// opens it and what it must hash to once opened.
type Ref struct {
	Addr   string
	Key    []byte
	Size   int64
	SHA256 string // hex SHA-256 of the plaintext, for manifests and checks
}

// Sealed encrypts blobs before they reach Store.
type Sealed struct {
	store  Store
	secret []byte
}

// NewSealed wraps store; secret (32 bytes or more, from the key-encryption
// key) keys the addresses and the derived blob keys.
func NewSealed(store Store, secret []byte) (*Sealed, error) {
	if len(secret) < 32 {
		return nil, errors.New("blob: secret shorter than 32 bytes")
	}
	return &Sealed{store: store, secret: bytes.Clone(secret)}, nil
}

func (s *Sealed) mac(domain string, b []byte) []byte {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte(domain))
	m.Write([]byte{0})
	m.Write(b)
	return m.Sum(nil)
}

// Put seals pt, stores it durably and returns its reference.
func (s *Sealed) Put(ctx context.Context, pt []byte) (Ref, error) {
	addr := hex.EncodeToString(s.mac("blob address v1", pt))
	key := s.mac("blob key v1", pt)
	aead, err := newAEAD(key)
	if err != nil {
		return Ref{}, err
	}
	// A key is used for exactly one plaintext, so a fixed nonce is safe;
	// the address as additional data stops a blob being moved under
	// another address.
	ct := aead.Seal(nil, make([]byte, aead.NonceSize()), pt, []byte(addr)) // #nosec G407 -- one key per plaintext, see above
	if err := s.store.Put(ctx, addr, ct); err != nil {
		return Ref{}, fmt.Errorf("store blob: %w", err)
	}
	sum := sha256.Sum256(pt)
	return Ref{Addr: addr, Key: key, Size: int64(len(pt)), SHA256: hex.EncodeToString(sum[:])}, nil
}

// Get reads and opens the blob ref names, and checks it is what was stored.
func (s *Sealed) Get(ctx context.Context, ref Ref) ([]byte, error) {
	if err := ValidAddress(ref.Addr); err != nil {
		return nil, err
	}
	ct, err := s.store.Get(ctx, ref.Addr)
	if err != nil {
		return nil, err
	}
	return Open(ref, ct)
}

// Open decrypts a blob's stored bytes with its reference; it needs no
// secret, so an export can disclose one attachment with its record.
func Open(ref Ref, ct []byte) ([]byte, error) {
	aead, err := newAEAD(ref.Key)
	if err != nil {
		return nil, err
	}
	pt, err := aead.Open(nil, make([]byte, aead.NonceSize()), ct, []byte(ref.Addr))
	if err != nil {
		return nil, fmt.Errorf("blob %s: does not open with its key: %w", ref.Addr, err)
	}
	if ref.SHA256 != "" {
		sum := sha256.Sum256(pt)
		if hex.EncodeToString(sum[:]) != ref.SHA256 {
			return nil, fmt.Errorf("blob %s: content does not match its SHA-256", ref.Addr)
		}
	}
	return pt, nil
}

// Delete removes the blob ref names from the store.
func (s *Sealed) Delete(ctx context.Context, addr string) error { return s.store.Delete(ctx, addr) }

func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("blob key: %d bytes, want 32", len(key))
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("blob key: %w", err)
	}
	return cipher.NewGCM(b)
}
