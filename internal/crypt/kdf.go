package crypt

import (
	"crypto/sha256"
	"hash"
	"sync"
)

// kdf computes the HKDF-SHA256 steps of sealing and opening (RFC 5869 over
// HMAC-SHA256, RFC 2104) with two SHA-256 states kept in a pool. The
// standard library's crypto/hkdf builds a new HMAC — two new SHA-256 states
// and their pads — for every step: most of the 37 allocations and 4.3 KB
// Seal made per record, and most of its time besides the cipher. The outputs
// are crypto/hkdf's, byte for byte (TestKDF_SameAsCryptoHKDF).
type kdf struct {
	inner, outer hash.Hash
	pad          [sha256.BlockSize]byte
	t            [sha256.Size]byte // the last HMAC output
	prk          [sha256.Size]byte
}

var kdfPool = sync.Pool{New: func() any { return &kdf{inner: sha256.New(), outer: sha256.New()} }}

var (
	recordKeyInfoBytes = []byte(recordKeyInfo)
	sealKeysInfoBytes  = []byte(sealKeysInfo)
	blockOne           = []byte{1}
	blockTwo           = []byte{2}
)

func getKDF() *kdf { return kdfPool.Get().(*kdf) }

// release wipes every secret k holds and returns it to the pool.
func (k *kdf) release() {
	clear(k.pad[:])
	clear(k.t[:])
	clear(k.prk[:])
	k.inner.Reset()
	k.outer.Reset()
	kdfPool.Put(k)
}

// mac sets k.t to HMAC-SHA256(key, the parts one after another).
func (k *kdf) mac(key []byte, parts ...[]byte) {
	if len(key) > sha256.BlockSize {
		// RFC 2104: a longer key is hashed first. Keys here are 16 or 32
		// bytes; this keeps mac correct for any.
		k.inner.Reset()
		k.inner.Write(key)
		key = k.inner.Sum(k.t[:0])
	}
	clear(k.pad[:])
	copy(k.pad[:], key)
	for i := range k.pad {
		k.pad[i] ^= 0x36
	}
	k.inner.Reset()
	k.inner.Write(k.pad[:])
	for _, p := range parts {
		k.inner.Write(p)
	}
	for i := range k.pad {
		k.pad[i] ^= 0x36 ^ 0x5c
	}
	k.outer.Reset()
	k.outer.Write(k.pad[:])
	k.outer.Write(k.inner.Sum(k.t[:0]))
	k.outer.Sum(k.t[:0])
}

// recordKey sets k.t to deriveRecordKey's output:
// HKDF-SHA256(ikm = bucket key, salt = record id, info = recordKeyInfo), 32
// bytes, which is one block of Expand.
func (k *kdf) recordKey(bucketKey []byte, id [16]byte) {
	k.mac(id[:], bucketKey) // Extract
	k.prk = k.t
	k.mac(k.prk[:], recordKeyInfoBytes, blockOne)
}

// sealKeys expands recordKey as deriveSealKeys does: HKDF-Expand(prk =
// record key, info = sealKeysInfo, 64) = T(1) | T(2), the AEAD key and the
// key commitment.
func (k *kdf) sealKeys(recordKey []byte, aeadKey, commitment *[32]byte) {
	k.mac(recordKey, sealKeysInfoBytes, blockOne)
	*aeadKey = k.t
	k.mac(recordKey, k.t[:], sealKeysInfoBytes, blockTwo)
	*commitment = k.t
}
