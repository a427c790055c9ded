package ledger

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/transparency-dev/formats/log"
	"golang.org/x/mod/sumdb/note"
)

// DefaultOrigin is the checkpoint origin (and signing key name) used when
// none is configured. Deployments that publish their log should use their
// own URL prefix without the scheme, as C2SP tlog-tiles recommends.
const DefaultOrigin = "onrecord.local/log"

// NewSignerKey generates an Ed25519 signed-note key pair whose name is the
// log's origin (DefaultOrigin if empty). The caller stores skey sealed and
// hands it to Open; vkey is public and is what auditors pin.
func NewSignerKey(origin string) (skey, vkey string, err error) {
	if origin == "" {
		origin = DefaultOrigin
	}
	skey, vkey, err = note.GenerateKey(rand.Reader, origin)
	if err != nil {
		return "", "", fmt.Errorf("generate checkpoint signing key: %w", err)
	}
	// GenerateKey does not check the name; NewSigner does.
	if _, err := note.NewSigner(skey); err != nil {
		return "", "", fmt.Errorf("checkpoint origin %q is not a valid key name (no spaces, newlines or '+'): %w", origin, err)
	}
	return skey, vkey, nil
}

// VerifierKey derives the public verifier key from a signer key, so the
// ledger can check its own history without a second configured secret.
func VerifierKey(skey string) (string, error) {
	signer, err := note.NewSigner(skey)
	if err != nil {
		return "", fmt.Errorf("parse checkpoint signing key: %w", err)
	}
	// NewSigner accepted the layout PRIVATE+KEY+<name>+<hash>+<base64 key>;
	// the name holds no '+', but the base64 key may.
	rest := skey
	for range 4 {
		_, rest, _ = strings.Cut(rest, "+")
	}
	key, err := base64.StdEncoding.DecodeString(rest)
	if err != nil || len(key) != 1+ed25519.SeedSize || key[0] != 1 {
		return "", errors.New("parse checkpoint signing key: not an Ed25519 key")
	}
	pub := ed25519.NewKeyFromSeed(key[1:]).Public().(ed25519.PublicKey)
	vkey, err := note.NewEd25519VerifierKey(signer.Name(), pub)
	if err != nil {
		return "", fmt.Errorf("derive checkpoint verifier key: %w", err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil || v.KeyHash() != signer.KeyHash() {
		return "", errors.New("derive checkpoint verifier key: key hash does not match the signer")
	}
	return vkey, nil
}

// signCheckpoint returns the signed note for a tree of the given size and
// root, in C2SP tlog-checkpoint form: "<origin>\n<size>\n<base64 root>\n"
// followed by the signature line.
func signCheckpoint(signer note.Signer, origin string, size uint64, root []byte) ([]byte, error) {
	body := log.Checkpoint{Origin: origin, Size: size, Hash: root}.Marshal()
	signed, err := note.Sign(&note.Note{Text: string(body)}, signer)
	if err != nil {
		return nil, fmt.Errorf("sign checkpoint at size %d: %w", size, err)
	}
	return signed, nil
}

// VerifyCheckpoint checks a signed checkpoint against the log's verifier
// key and origin (the key's name if origin is empty) and returns its
// contents. The root must be a 32-byte SHA-256 hash. Extension lines, if
// any, are returned in rest. Outside input is welcome: it never panics.
func VerifyCheckpoint(signed []byte, verifier note.Verifier, origin string) (cp *log.Checkpoint, rest []byte, err error) {
	if verifier == nil {
		return nil, nil, errors.New("verify checkpoint: no verifier key")
	}
	if origin == "" {
		origin = verifier.Name()
	}
	if len(signed) > MaxCheckpointSize {
		return nil, nil, fmt.Errorf("verify checkpoint: %d bytes, more than %d", len(signed), MaxCheckpointSize)
	}
	cp, rest, _, err = log.ParseCheckpoint(signed, origin, verifier)
	if err != nil {
		return nil, nil, fmt.Errorf("verify checkpoint: %w", err)
	}
	if len(cp.Hash) != HashSize {
		return nil, nil, fmt.Errorf("verify checkpoint: root is %d bytes, want %d", len(cp.Hash), HashSize)
	}
	return cp, rest, nil
}

// parseCheckpointBody reads origin, size and root from a signed note
// without checking the signature. Open uses it on every stored entry (cheap)
// and verifies the signature only on the latest.
func parseCheckpointBody(signed []byte) (*log.Checkpoint, error) {
	i := bytes.LastIndex(signed, []byte("\n\n"))
	if i < 0 {
		return nil, errors.New("not a signed note: no blank line before the signatures")
	}
	var cp log.Checkpoint
	if _, err := cp.Unmarshal(signed[:i+1]); err != nil {
		return nil, err
	}
	if len(cp.Hash) != HashSize {
		return nil, fmt.Errorf("root is %d bytes, want %d", len(cp.Hash), HashSize)
	}
	return &cp, nil
}
