// Package record defines the envelope that onrecord writes to its journal and
// the leaf hash the Merkle log commits to. It is public and pure so that an
// auditor can re-derive every leaf from the journal files with open code.
//
// The encoding is canonical: one value has exactly one byte form, and Unmarshal
// rejects anything that MarshalBinary would not have produced. That is what
// makes the leaf hash a commitment to the envelope rather than to one of many
// spellings of it.
package record

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"
)

// Version is the envelope format version written by this code.
const Version = 1

// Kind says what an envelope carries.
type Kind uint8

const (
	// KindEvent is a sealed canonical event (message, edit, delete, ...).
	KindEvent Kind = 1
	// KindDisposal records that a bucket key was destroyed. It carries no
	// ciphertext; Public holds the disposal facts as JSON.
	KindDisposal Kind = 2
	// KindHold is a sealed hold-registry change (create or release).
	KindHold Kind = 3
)

func (k Kind) String() string {
	switch k {
	case KindEvent:
		return "event"
	case KindDisposal:
		return "disposal"
	case KindHold:
		return "hold"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

func (k Kind) valid() bool { return k >= KindEvent && k <= KindHold }

// Limits keep a hostile or corrupt envelope from making the decoder allocate
// without bound.
const (
	MaxBucketLen     = 255
	MaxCiphertextLen = 64 << 20
	MaxBlobRefs      = 1024
	MaxBlobRefLen    = 255
	MaxPublicLen     = 64 << 10
)

// Envelope is what one journal frame holds. The sequence number is not part
// of it: a record's sequence number is its position in the journal, which is
// also its leaf index in the Merkle log.
type Envelope struct {
	Kind Kind
	// ID is the record id; the per-record key is derived from it.
	ID [16]byte
	// Time is the capture time in Unix nanoseconds, UTC.
	Time int64
	// Bucket names the key bucket, "class/YYYY-MM-DD"; empty for records
	// that are not sealed (disposal).
	Bucket string
	// KeyCommitment lets a reader refuse a wrong key before using what it
	// decrypts to (see package crypt).
	KeyCommitment [32]byte
	Nonce         [12]byte
	Ciphertext    []byte
	// BlobRefs are keyed-hash references to attachments stored apart.
	BlobRefs []string
	// Public is non-content metadata, only for system records.
	Public []byte
}

var magic = [2]byte{'O', 'R'}

// header layout: magic(2) version(1) kind(1) id(16) time(8) bucketLen(1) bucket
const fixedHeader = 2 + 1 + 1 + 16 + 8 + 1

// AAD returns the bytes the AEAD binds the ciphertext to: everything in the
// header that says what the ciphertext is and where it belongs.
func (e *Envelope) AAD() []byte {
	b := make([]byte, 0, fixedHeader+len(e.Bucket))
	return e.appendHeader(b)
}

func (e *Envelope) appendHeader(b []byte) []byte {
	b = append(b, magic[:]...)
	b = append(b, Version, byte(e.Kind))
	b = append(b, e.ID[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(e.Time)) // #nosec G115 -- the bit pattern is kept: decoding converts it back
	b = append(b, byte(len(e.Bucket)))                   // #nosec G115 -- len(e.Bucket) <= MaxBucketLen (Validate)
	return append(b, e.Bucket...)
}

// Validate checks the invariants that Marshal and Unmarshal rely on.
func (e *Envelope) Validate() error {
	switch {
	case !e.Kind.valid():
		return fmt.Errorf("record: unknown kind %d", e.Kind)
	case len(e.Bucket) > MaxBucketLen:
		return fmt.Errorf("record: bucket name is %d bytes, more than %d", len(e.Bucket), MaxBucketLen)
	case !utf8.ValidString(e.Bucket):
		return errors.New("record: bucket name is not UTF-8")
	case len(e.Ciphertext) > MaxCiphertextLen:
		return fmt.Errorf("record: ciphertext is %d bytes, more than %d", len(e.Ciphertext), MaxCiphertextLen)
	case len(e.BlobRefs) > MaxBlobRefs:
		return fmt.Errorf("record: %d blob refs, more than %d", len(e.BlobRefs), MaxBlobRefs)
	case len(e.Public) > MaxPublicLen:
		return fmt.Errorf("record: public metadata is %d bytes, more than %d", len(e.Public), MaxPublicLen)
	}
	for i, r := range e.BlobRefs {
		if len(r) == 0 || len(r) > MaxBlobRefLen || !utf8.ValidString(r) {
			return fmt.Errorf("record: blob ref %d is empty, too long or not UTF-8", i)
		}
	}
	return nil
}

// Size is the length of the canonical encoding.
func (e *Envelope) Size() int {
	n := fixedHeader + len(e.Bucket) + 32 + 12 + 4 + len(e.Ciphertext) + 2 + 4 + len(e.Public)
	for _, r := range e.BlobRefs {
		n += 1 + len(r)
	}
	return n
}

// MarshalBinary returns the canonical encoding.
func (e *Envelope) MarshalBinary() ([]byte, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	return e.AppendBinary(make([]byte, 0, e.Size()))
}

// AppendBinary appends the canonical encoding to b.
func (e *Envelope) AppendBinary(b []byte) ([]byte, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	b = e.appendHeader(b)
	b = append(b, e.KeyCommitment[:]...)
	b = append(b, e.Nonce[:]...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(e.Ciphertext))) // #nosec G115 -- len(e.Ciphertext) <= MaxCiphertextLen (Validate)
	b = append(b, e.Ciphertext...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(e.BlobRefs))) // #nosec G115 -- len(e.BlobRefs) <= MaxBlobRefs (Validate)
	for _, r := range e.BlobRefs {
		b = append(b, byte(len(r))) // #nosec G115 -- len(r) <= MaxBlobRefLen (Validate)
		b = append(b, r...)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(e.Public))) // #nosec G115 -- len(e.Public) <= MaxPublicLen (Validate)
	return append(b, e.Public...), nil
}

// ErrMalformed is wrapped by every decoding error.
var ErrMalformed = errors.New("malformed envelope")

type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) take(n int, what string) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || len(r.b)-r.off < n {
		r.err = fmt.Errorf("%w: %s truncated at byte %d", ErrMalformed, what, r.off)
		return nil
	}
	s := r.b[r.off : r.off+n]
	r.off += n
	return s
}

// Unmarshal decodes a canonical envelope. It never panics; on bad input it
// returns an error wrapping ErrMalformed with the byte offset.
func Unmarshal(b []byte) (*Envelope, error) { return unmarshal(b, false) }

// UnmarshalView is Unmarshal without copying: the envelope's Ciphertext and
// Public are b's own bytes, valid while b is and changed when b is. It is
// for a reader that looks at each of many records once and keeps nothing
// of them, as the replay of a journal at start does (copying every
// ciphertext was an eighth of that replay).
func UnmarshalView(b []byte) (*Envelope, error) { return unmarshal(b, true) }

func unmarshal(b []byte, view bool) (*Envelope, error) {
	own := func(p []byte) []byte {
		if view {
			return p
		}
		return append([]byte(nil), p...)
	}
	r := &reader{b: b}
	var e Envelope
	if m := r.take(2, "magic"); r.err == nil && (m[0] != magic[0] || m[1] != magic[1]) {
		return nil, fmt.Errorf("%w: bad magic", ErrMalformed)
	}
	if v := r.take(1, "version"); r.err == nil && v[0] != Version {
		return nil, fmt.Errorf("%w: version %d, this build reads %d", ErrMalformed, v[0], Version)
	}
	if k := r.take(1, "kind"); r.err == nil {
		e.Kind = Kind(k[0])
	}
	copy(e.ID[:], r.take(16, "id"))
	if t := r.take(8, "time"); r.err == nil {
		e.Time = int64(binary.BigEndian.Uint64(t)) // #nosec G115 -- the bit pattern appendHeader wrote
	}
	if n := r.take(1, "bucket length"); r.err == nil {
		e.Bucket = string(r.take(int(n[0]), "bucket"))
	}
	copy(e.KeyCommitment[:], r.take(32, "key commitment"))
	copy(e.Nonce[:], r.take(12, "nonce"))
	if n := r.take(4, "ciphertext length"); r.err == nil {
		l := binary.BigEndian.Uint32(n)
		if l > MaxCiphertextLen {
			return nil, fmt.Errorf("%w: ciphertext length %d over limit", ErrMalformed, l)
		}
		if c := r.take(int(l), "ciphertext"); l > 0 {
			e.Ciphertext = own(c)
		}
	}
	if n := r.take(2, "blob ref count"); r.err == nil {
		c := int(binary.BigEndian.Uint16(n))
		if c > MaxBlobRefs {
			return nil, fmt.Errorf("%w: %d blob refs over limit", ErrMalformed, c)
		}
		for i := 0; i < c && r.err == nil; i++ {
			if l := r.take(1, "blob ref length"); r.err == nil {
				e.BlobRefs = append(e.BlobRefs, string(r.take(int(l[0]), "blob ref")))
			}
		}
	}
	if n := r.take(4, "public length"); r.err == nil {
		l := binary.BigEndian.Uint32(n)
		if l > MaxPublicLen {
			return nil, fmt.Errorf("%w: public metadata length %d over limit", ErrMalformed, l)
		}
		if p := r.take(int(l), "public metadata"); l > 0 {
			e.Public = own(p)
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	if r.off != len(b) {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrMalformed, len(b)-r.off)
	}
	if err := e.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return &e, nil
}

// LeafHash is the RFC 6962 leaf hash of an encoded envelope:
// SHA-256(0x00 || envelope). The leaf commits to the ciphertext, never to
// plaintext.
func LeafHash(encoded []byte) [32]byte {
	h := sha256.New()
	h.Write([]byte{0})
	h.Write(encoded)
	var out [32]byte
	h.Sum(out[:0])
	return out
}
