package crypt

import (
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/onrecord/onrecord/internal/durable"
	"github.com/onrecord/onrecord/internal/kms"
	"github.com/onrecord/onrecord/record"
)

var (
	// ErrKeyDestroyed means the bucket's key was destroyed (disposal): its
	// records are gone by design, and no new record may be sealed into it.
	ErrKeyDestroyed = errors.New("bucket key destroyed")
	// ErrKeyMissing means the bucket has neither a key nor a tombstone. For
	// an envelope from the journal this is an alarm: the keystore is not the
	// one the journal was written with, or key files were lost.
	ErrKeyMissing = errors.New("bucket has no key and was never destroyed")
	// ErrWrongKEK means the keystore's keys were wrapped by a different
	// key-encryption key than the one configured, or a key file was altered.
	ErrWrongKEK = errors.New("keystore does not belong to this key-encryption key")
)

// Limits of Envelope.Time (Unix nanoseconds in an int64).
var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

// Sealer seals and opens envelopes with bucket keys from a keystore
// directory. It is safe for concurrent use. One process should own a
// keystore directory at a time: concurrent creation of the same bucket key by
// two processes is safe (the first writer wins and both use its key), but
// Destroy in one process does not reach another's in-memory cache.
type Sealer struct {
	store keystore
	// states maps bucket name → *bucketState. A sync.Map because the hot
	// path is a read of a few long-lived entries from every core.
	states sync.Map
}

// bucketState caches one bucket's unwrapped key.
type bucketState struct {
	// mu is held for reading while the key is used and for writing while it
	// is loaded, created or destroyed, so Destroy waits for in-flight uses
	// and clears the key only when nobody holds it.
	mu        sync.RWMutex
	key       []byte // nil until loaded; cleared on destroy
	destroyed bool
}

// New opens (creating if needed, mode 0700) the keystore in dir, whose bucket
// keys are wrapped by kek. It refuses, with an error wrapping ErrWrongKEK, a
// keystore holding keys wrapped by another KEK. It also finishes any Destroy
// a crash interrupted and removes temporary files a crash left behind.
func New(dir string, kek kms.Wrapper) (*Sealer, error) {
	if dir == "" {
		return nil, errors.New("open keystore: no directory given")
	}
	if kek == nil {
		return nil, errors.New("open keystore: no key-encryption key given")
	}
	id := kek.ID()
	if err := checkKEKID(id); err != nil {
		return nil, fmt.Errorf("open keystore %s: %w", dir, err)
	}
	if err := durable.MkdirAll(dir); err != nil {
		return nil, fmt.Errorf("open keystore: %w", err)
	}
	s := &Sealer{store: keystore{dir: dir, kek: kek, id: id}}
	if _, err := s.store.scan(true); err != nil {
		return nil, fmt.Errorf("open keystore: %w", err)
	}
	return s, nil
}

func (s *Sealer) state(bucket string) *bucketState {
	if v, ok := s.states.Load(bucket); ok {
		return v.(*bucketState)
	}
	v, _ := s.states.LoadOrStore(bucket, &bucketState{})
	return v.(*bucketState)
}

// withKey runs fn with the bucket's key, loading it from disk, or with
// create creating it, on first use. fn must not retain the key.
func (s *Sealer) withKey(bucket string, create bool, fn func(key []byte) error) error {
	st := s.state(bucket)
	for range 2 {
		st.mu.RLock()
		if st.key != nil {
			err := fn(st.key)
			st.mu.RUnlock()
			return err
		}
		destroyed := st.destroyed
		st.mu.RUnlock()
		if destroyed {
			return fmt.Errorf("bucket %s: %w", bucket, ErrKeyDestroyed)
		}
		if err := s.load(st, bucket, create); err != nil {
			return err
		}
	}
	// load leaves either a key or destroyed set, so the second pass returns.
	return fmt.Errorf("bucket %s: key state did not settle", bucket)
}

// load fills st from disk, creating the key if allowed. Holding st.mu for
// writing makes creation happen once per bucket per process; the
// link-not-rename in createFileDurable makes it once per keystore.
func (s *Sealer) load(st *bucketState, bucket string, create bool) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.key != nil || st.destroyed {
		return nil
	}
	key, destroyed, err := s.store.load(bucket)
	if err == nil && key == nil && !destroyed {
		if !create {
			return fmt.Errorf("bucket %s: %w", bucket, ErrKeyMissing)
		}
		key, destroyed, err = s.store.create(bucket)
	}
	if err != nil {
		return err
	}
	st.key, st.destroyed = key, destroyed
	return nil
}

// Seal encrypts plaintext into a new envelope of the given kind in the
// bucket of (class, t). id must be unique; the caller makes it random. Only
// KindEvent and KindHold are sealed (a disposal record carries public facts
// and no ciphertext). The first Seal into a bucket creates its key and makes
// it durable before returning. Sealing into a destroyed bucket returns
// ErrKeyDestroyed.
func (s *Sealer) Seal(kind record.Kind, id [16]byte, t time.Time, class string, plaintext []byte) (*record.Envelope, error) {
	return s.SealAppend(nil, kind, id, t, class, plaintext)
}

// SealAppend is Seal with the ciphertext appended to dst, as
// cipher.AEAD.Seal appends: plaintext[:0] as dst, with room for the
// 16-byte tag, encrypts in place, so the write path needs no buffer for
// the ciphertext and leaves no copy of the plaintext behind.
func (s *Sealer) SealAppend(dst []byte, kind record.Kind, id [16]byte, t time.Time, class string, plaintext []byte) (*record.Envelope, error) {
	if !sealable(kind) {
		return nil, fmt.Errorf("seal: kind %s is not sealed (only event and hold records are)", kind)
	}
	if len(plaintext) > MaxPlaintext {
		return nil, fmt.Errorf("seal: plaintext is %d bytes, more than %d", len(plaintext), MaxPlaintext)
	}
	if t.Before(minTime) || t.After(maxTime) {
		return nil, fmt.Errorf("seal: time %s is outside the range of Unix nanoseconds", t)
	}
	if err := checkClass(class); err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	env := &record.Envelope{Kind: kind, ID: id, Time: t.UnixNano(), Bucket: BucketName(class, t)}
	k := getKDF()
	defer k.release()
	err := s.withKey(env.Bucket, true, func(bucketKey []byte) error {
		k.recordKey(bucketKey, id)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	var aeadKey [32]byte
	recordKey := k.t
	k.sealKeys(recordKey[:], &aeadKey, &env.KeyCommitment)
	clear(recordKey[:])
	aead, err := newGCM(aeadKey[:])
	clear(aeadKey[:])
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	rand.Read(env.Nonce[:]) // never fails (crypto/rand, Go ≥ 1.24)
	env.Ciphertext = aead.Seal(dst, env.Nonce[:], plaintext, env.AAD())
	return env, nil
}

// recordKey derives env's record key from its bucket key. It does not create
// keys.
func (s *Sealer) recordKey(env *record.Envelope) ([]byte, error) {
	if env == nil {
		return nil, errors.New("nil envelope")
	}
	if !sealable(env.Kind) {
		return nil, fmt.Errorf("envelope %x: kind %s is not sealed", env.ID, env.Kind)
	}
	if _, _, err := ParseBucket(env.Bucket); err != nil {
		return nil, fmt.Errorf("envelope %x: %w", env.ID, err)
	}
	var rk []byte
	err := s.withKey(env.Bucket, false, func(bucketKey []byte) error {
		rk = deriveRecordKey(bucketKey, env.ID)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("envelope %x: %w", env.ID, err)
	}
	return rk, nil
}

// Open decrypts env. Errors: ErrKeyDestroyed (the bucket was disposed of),
// ErrKeyMissing (no key and no tombstone: wrong or damaged keystore),
// ErrWrongKEK, ErrKeyCommitment (the envelope was not sealed under this
// keystore's key; nothing was decrypted), ErrDecrypt (ciphertext or header
// altered).
func (s *Sealer) Open(env *record.Envelope) ([]byte, error) {
	rk, err := s.recordKey(env)
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	defer clear(rk)
	plain, err := OpenWithRecordKey(env, rk)
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	return plain, nil
}

// RecordKey returns the 32-byte per-record key of env, for disclosing that
// one record (export bundles): with it, OpenWithRecordKey decrypts env and
// checks its key commitment, and nothing else. It says nothing about the
// bucket key or any other record's key. It returns ErrKeyCommitment rather
// than a key that would not open env. The caller owns the returned slice and
// should clear it when done.
func (s *Sealer) RecordKey(env *record.Envelope) ([]byte, error) {
	rk, err := s.recordKey(env)
	if err != nil {
		return nil, fmt.Errorf("record key: %w", err)
	}
	aeadKey, commitment := deriveSealKeys(rk)
	clear(aeadKey)
	if subtle.ConstantTimeCompare(commitment[:], env.KeyCommitment[:]) != 1 {
		clear(rk)
		return nil, fmt.Errorf("record key: envelope %x: %w", env.ID, ErrKeyCommitment)
	}
	return rk, nil
}

// Destroy crypto-shreds bucket: it writes a tombstone so the bucket is
// never re-keyed, removes the wrapped key file, fsyncs the directory, and
// clears the cached key after in-flight Seal and Open calls that hold it
// finish. Afterwards every Seal and Open for the bucket returns
// ErrKeyDestroyed. It is idempotent, and a bucket that never had a key is
// tombstoned too.
//
// DESTROY CHECKS NO POLICY. Destroying a key whose records are still within
// retention, or covered by a legal hold, is the premature erasure of
// regulated records. The caller (package retention) must check retention and
// holds first and record the disposal in the log; nothing else may call
// Destroy. See the package documentation for what file removal can and
// cannot erase.
func (s *Sealer) Destroy(bucket string) error {
	if _, _, err := ParseBucket(bucket); err != nil {
		return fmt.Errorf("destroy: %w", err)
	}
	st := s.state(bucket)
	st.mu.Lock()
	defer st.mu.Unlock()
	// Forget the key first, even if the disk steps fail: a bucket someone
	// asked to destroy must not be used by this process again. Retrying
	// Destroy repeats the (idempotent) disk steps.
	clear(st.key)
	st.key, st.destroyed = nil, true
	if err := s.store.destroy(bucket); err != nil {
		return err
	}
	return nil
}

// HasKey reports whether bucket has a live (not destroyed) key. It does not
// unwrap the key.
func (s *Sealer) HasKey(bucket string) (bool, error) {
	if _, _, err := ParseBucket(bucket); err != nil {
		return false, fmt.Errorf("has key: %w", err)
	}
	if v, ok := s.states.Load(bucket); ok {
		st := v.(*bucketState)
		st.mu.RLock()
		key, destroyed := st.key != nil, st.destroyed
		st.mu.RUnlock()
		if key || destroyed {
			return key, nil
		}
	}
	ok, err := s.store.hasKey(bucket)
	if err != nil {
		return false, fmt.Errorf("has key %s: %w", bucket, err)
	}
	return ok, nil
}

// Buckets lists the buckets with a live key, sorted.
func (s *Sealer) Buckets() ([]string, error) {
	live, err := s.store.scan(false)
	if err != nil {
		return nil, fmt.Errorf("list buckets: %w", err)
	}
	return live, nil
}
