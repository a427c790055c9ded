// Package local keeps onrecord's key-encryption key (KEK) in a file on the
// archive host: an age X25519 identity, optionally itself encrypted with a
// passphrase (age scrypt).
//
// It exists so that onrecord runs with zero configuration. It is the weakest
// of the kms backends: whoever can read the key file and the data directory
// can read every record. Production deployments should move the KEK into a
// KMS or HSM (Vault transit, AWS KMS), which implement the same kms.Wrapper.
//
// The key file is the one thing whose loss loses the archive, so it is
// written the way the journal is: to a temporary file in the same directory,
// fsynced, linked into place without replacing anything that is already
// there, and the directory fsynced. Opening refuses a file that group or
// others can read, because a readable KEK silently voids the encryption.
package local

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"filippo.io/age"
	"filippo.io/age/armor"

	"github.com/onrecord/onrecord/internal/durable"
	"github.com/onrecord/onrecord/internal/kms"
)

// ErrWrongPassphrase is returned by Open when the key file is
// passphrase-protected and the passphrase given does not decrypt it.
var ErrWrongPassphrase = errors.New("wrong passphrase for key file")

// maxKeyFileSize bounds what Open reads: a key file is a few hundred bytes.
const maxKeyFileSize = 64 << 10

// defaultScryptLogN is age's own default work factor (about one second).
const defaultScryptLogN = 18

// KEK is a key-encryption key held in a local age identity file. It is safe
// for concurrent use.
type KEK struct {
	identity  *age.X25519Identity
	recipient *age.X25519Recipient
	id        string
}

var _ kms.Wrapper = (*KEK)(nil)

// options holds knobs that only tests change.
type options struct {
	scryptLogN int
}

// Open loads the KEK from path. If the file does not exist and create is
// true, a new identity is generated and written (parent directories are
// created with mode 0700, the file with 0600), and created is true: the caller
// must then tell the operator to back the file up, because losing it loses
// every record.
//
// If passphrase is non-empty the file is (or, when created, will be)
// age-encrypted to that passphrase with scrypt; a wrong passphrase returns an
// error wrapping ErrWrongPassphrase. A passphrase given for an unencrypted file,
// or none given for an encrypted one, is an error rather than a silent
// downgrade.
func Open(path string, passphrase string, create bool) (kek *KEK, created bool, err error) {
	return open(path, passphrase, create, options{scryptLogN: defaultScryptLogN})
}

// CreatedWarning is what the caller prints when Open reports created=true,
// so the wording lives in one place.
func CreatedWarning(path string) string {
	return fmt.Sprintf("a new key-encryption key was written to %s; back it up and move it to a KMS in production: losing it loses every record", path)
}

func open(path, passphrase string, create bool, o options) (*KEK, bool, error) {
	if path == "" {
		return nil, false, errors.New("open key-encryption key: no key file path given")
	}
	data, err := readKeyFile(path)
	if errors.Is(err, fs.ErrNotExist) && create {
		kek, created, err := createKeyFile(path, passphrase, o)
		if err != nil {
			return nil, false, fmt.Errorf("create key-encryption key %s: %w", path, err)
		}
		return kek, created, nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, fmt.Errorf("open key-encryption key: %s does not exist (restore it from backup; a new key cannot read existing records): %w", path, err)
	}
	if err != nil {
		return nil, false, err
	}
	kek, err := parseKeyFile(data, passphrase)
	if err != nil {
		return nil, false, fmt.Errorf("open key-encryption key %s: %w", path, err)
	}
	return kek, false, nil
}

// readKeyFile reads the key file after checking that only its owner can
// read it.
func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("open key-encryption key %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("open key-encryption key %s: not a regular file (mode %s)", path, fi.Mode())
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("open key-encryption key %s: file mode %04o lets group or others read it; run: chmod 600 %s", path, perm, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read key-encryption key %s: %w", path, err)
	}
	if len(data) > maxKeyFileSize {
		return nil, fmt.Errorf("open key-encryption key %s: file is larger than %d bytes; it is not an onrecord key file", path, maxKeyFileSize)
	}
	return data, nil
}

// encrypted reports whether data is an age-encrypted file (armored or
// binary) rather than a plain identity file.
func encrypted(data []byte) (armored, ok bool) {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	switch {
	case bytes.HasPrefix(trimmed, []byte(armor.Header)):
		return true, true
	case bytes.HasPrefix(trimmed, []byte("age-encryption.org/")):
		return false, true
	}
	return false, false
}

func parseKeyFile(data []byte, passphrase string) (*KEK, error) {
	armored, isEncrypted := encrypted(data)
	switch {
	case isEncrypted && passphrase == "":
		return nil, errors.New("the key file is passphrase-protected; supply its passphrase")
	case !isEncrypted && passphrase != "":
		return nil, errors.New("a passphrase was given but the key file is not passphrase-protected; remove the passphrase setting, or re-create the file encrypted with age -p")
	}
	if isEncrypted {
		plain, err := decryptWithPassphrase(data, armored, passphrase)
		if err != nil {
			return nil, err
		}
		data = plain
	}
	ids, err := age.ParseIdentities(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("parse age identity: %w", err)
	}
	if len(ids) != 1 {
		return nil, fmt.Errorf("key file holds %d identities, want exactly one", len(ids))
	}
	x, ok := ids[0].(*age.X25519Identity)
	if !ok {
		return nil, fmt.Errorf("key file holds a %T, want an age X25519 identity (AGE-SECRET-KEY-1...)", ids[0])
	}
	return newKEK(x), nil
}

func decryptWithPassphrase(data []byte, armored bool, passphrase string) ([]byte, error) {
	id, err := age.NewScryptIdentity(passphrase)
	if err != nil {
		return nil, fmt.Errorf("passphrase: %w", err)
	}
	var src io.Reader = bytes.NewReader(data)
	if armored {
		src = armor.NewReader(src)
	}
	r, err := age.Decrypt(src, id)
	var noMatch *age.NoIdentityMatchError
	if errors.As(err, &noMatch) || errors.Is(err, age.ErrIncorrectIdentity) {
		return nil, ErrWrongPassphrase
	}
	if err != nil {
		return nil, fmt.Errorf("decrypt passphrase-protected key file: %w", err)
	}
	plain, err := io.ReadAll(io.LimitReader(r, maxKeyFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("decrypt passphrase-protected key file: %w", err)
	}
	if len(plain) > maxKeyFileSize {
		return nil, errors.New("decrypted key file is implausibly large")
	}
	return plain, nil
}

func createKeyFile(path, passphrase string, o options) (*KEK, bool, error) {
	x, err := age.GenerateX25519Identity()
	if err != nil {
		return nil, false, fmt.Errorf("generate identity: %w", err)
	}
	var text bytes.Buffer
	fmt.Fprintf(&text, "# onrecord key-encryption key (age X25519 identity)\n")
	fmt.Fprintf(&text, "# created: %s\n", time.Now().UTC().Format(time.RFC3339))
	fmt.Fprintf(&text, "# public key: %s\n", x.Recipient())
	fmt.Fprintf(&text, "# Every archived record depends on this key: back it up, and keep it apart\n")
	fmt.Fprintf(&text, "# from the data directory. In production move it into a KMS or HSM (Vault\n")
	fmt.Fprintf(&text, "# transit, AWS KMS). Losing it loses every record.\n")
	fmt.Fprintf(&text, "%s\n", x)
	content := text.Bytes()

	if passphrase != "" {
		r, err := age.NewScryptRecipient(passphrase)
		if err != nil {
			return nil, false, fmt.Errorf("passphrase: %w", err)
		}
		r.SetWorkFactor(o.scryptLogN)
		var out bytes.Buffer
		aw := armor.NewWriter(&out)
		w, err := age.Encrypt(aw, r)
		if err != nil {
			return nil, false, fmt.Errorf("encrypt key file: %w", err)
		}
		if _, err := w.Write(content); err != nil {
			return nil, false, fmt.Errorf("encrypt key file: %w", err)
		}
		if err := w.Close(); err != nil {
			return nil, false, fmt.Errorf("encrypt key file: %w", err)
		}
		if err := aw.Close(); err != nil {
			return nil, false, fmt.Errorf("encrypt key file: %w", err)
		}
		clear(content)
		content = out.Bytes()
	}

	if err := durable.MkdirAll(filepath.Dir(path)); err != nil {
		return nil, false, err
	}
	won, err := durable.CreateFile(path, content)
	if err != nil {
		return nil, false, err
	}
	if !won {
		// Another process created the key file between our stat and our
		// link. Use its key, not ours: ours was never visible to anyone.
		data, err := readKeyFile(path)
		if err != nil {
			return nil, false, err
		}
		kek, err := parseKeyFile(data, passphrase)
		if err != nil {
			return nil, false, err
		}
		return kek, false, nil
	}
	return newKEK(x), true, nil
}

func newKEK(x *age.X25519Identity) *KEK {
	r := x.Recipient()
	sum := sha256.Sum256([]byte(r.String()))
	return &KEK{identity: x, recipient: r, id: hex.EncodeToString(sum[:8])}
}

// ID returns the first 16 hex digits of SHA-256 of the age recipient
// (public key) string. It identifies the KEK without revealing anything
// about its secret half.
func (k *KEK) ID() string { return k.id }

// Recipient returns the age public key ("age1..."), for display and backup
// notes.
func (k *KEK) Recipient() string { return k.recipient.String() }

// Wrap age-encrypts plain to the KEK's recipient (binary age format).
func (k *KEK) Wrap(plain []byte) ([]byte, error) {
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, k.recipient)
	if err != nil {
		return nil, fmt.Errorf("kms/local: wrap: %w", err)
	}
	if _, err := w.Write(plain); err != nil {
		return nil, fmt.Errorf("kms/local: wrap: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("kms/local: wrap: %w", err)
	}
	return buf.Bytes(), nil
}

// Unwrap decrypts bytes produced by Wrap. Every failure wraps
// kms.ErrWrongKey: the input is in memory, so the only ways to fail are a
// different KEK, tampering, or bytes that were never an age file.
func (k *KEK) Unwrap(wrapped []byte) ([]byte, error) {
	r, err := age.Decrypt(bytes.NewReader(wrapped), k.identity)
	if err != nil {
		return nil, fmt.Errorf("kms/local: unwrap with KEK %s: %w: %v", k.id, kms.ErrWrongKey, err)
	}
	plain, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("kms/local: unwrap with KEK %s: %w: %v", k.id, kms.ErrWrongKey, err)
	}
	return plain, nil
}

// String never prints the secret key.
func (k *KEK) String() string { return "kms/local KEK " + k.id }

// GoString keeps %#v from printing the secret key either.
func (k *KEK) GoString() string { return k.String() }
