package crypt

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"errors"
	"fmt"

	"github.com/onrecord/onrecord/record"
)

// RecordKeySize is the length of a disclosed per-record key.
const RecordKeySize = 32

// Overhead is how much longer a ciphertext is than its plaintext: the
// AES-GCM tag.
const Overhead = 16

// MaxPlaintext is the largest plaintext Seal accepts: the envelope's
// ciphertext limit less the tag.
const MaxPlaintext = record.MaxCiphertextLen - Overhead

const (
	recordKeyInfo = "onrecord/v1/record"
	sealKeysInfo  = "onrecord/v1/seal"
)

var (
	// ErrKeyCommitment means the key offered for an envelope is not the one
	// it was sealed with. Nothing was decrypted.
	ErrKeyCommitment = errors.New("key does not match the envelope's key commitment")
	// ErrDecrypt means the key matched the commitment but the ciphertext or
	// the authenticated header (kind, id, time, bucket) was altered.
	ErrDecrypt = errors.New("envelope failed authentication: ciphertext or header altered")
)

// deriveRecordKey is HKDF-SHA256(ikm = bucket key, salt = record id,
// info = "onrecord/v1/record"), 32 bytes.
func deriveRecordKey(bucketKey []byte, id [16]byte) []byte {
	k := getKDF()
	defer k.release()
	k.recordKey(bucketKey, id)
	return append(make([]byte, 0, RecordKeySize), k.t[:]...)
}

// deriveSealKeys expands a record key into the AES-256-GCM key and the key
// commitment: HKDF-Expand(prk = record key, info = "onrecord/v1/seal", 64),
// split 32 | 32. The record key is itself an HKDF output, hence a valid PRK.
func deriveSealKeys(recordKey []byte) (aeadKey []byte, commitment [32]byte) {
	k := getKDF()
	defer k.release()
	var key [32]byte
	k.sealKeys(recordKey, &key, &commitment)
	aeadKey = append(make([]byte, 0, 32), key[:]...)
	clear(key[:])
	return aeadKey, commitment
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("aes: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("gcm: %w", err)
	}
	return aead, nil
}

func sealable(k record.Kind) bool { return k == record.KindEvent || k == record.KindHold }

// OpenWithRecordKey decrypts env with a disclosed per-record key (from
// Sealer.RecordKey), with no keystore and no KEK: it is what an auditor does
// with an export bundle. It derives the commitment from recordKey and
// refuses a mismatch with ErrKeyCommitment before decrypting anything; an
// altered ciphertext or header is ErrDecrypt.
func OpenWithRecordKey(env *record.Envelope, recordKey []byte) ([]byte, error) {
	if env == nil {
		return nil, errors.New("open envelope: nil envelope")
	}
	if !sealable(env.Kind) {
		return nil, fmt.Errorf("open envelope %x: kind %s is not sealed", env.ID, env.Kind)
	}
	if len(recordKey) != RecordKeySize {
		return nil, fmt.Errorf("open envelope %x: record key is %d bytes, want %d", env.ID, len(recordKey), RecordKeySize)
	}
	aeadKey, commitment := deriveSealKeys(recordKey)
	defer clear(aeadKey)
	if subtle.ConstantTimeCompare(commitment[:], env.KeyCommitment[:]) != 1 {
		return nil, fmt.Errorf("open envelope %x: %w", env.ID, ErrKeyCommitment)
	}
	aead, err := newGCM(aeadKey)
	if err != nil {
		return nil, fmt.Errorf("open envelope %x: %w", env.ID, err)
	}
	plain, err := aead.Open(nil, env.Nonce[:], env.Ciphertext, env.AAD())
	if err != nil {
		return nil, fmt.Errorf("open envelope %x: %w", env.ID, ErrDecrypt)
	}
	return plain, nil
}
