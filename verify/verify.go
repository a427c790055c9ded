// Package verify is what an auditor imports to check onrecord's evidence
// offline, with no access to the running system: a signed checkpoint
// against the log's public key, a record's inclusion in the log at a
// checkpoint, the consistency of two checkpoints (the log only grew), and
// a disclosed record opened with its per-record key and checked against
// its key commitment. Everything here is pure: bytes in, verdict out.
package verify

import (
	"errors"
	"fmt"
	"strings"

	"github.com/onrecord/onrecord/internal/crypt"
	"github.com/onrecord/onrecord/internal/ledger"
	"github.com/onrecord/onrecord/record"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
)

// Checkpoint is a verified checkpoint: the log of Origin held Size records
// whose RFC 6962 root is Root.
type Checkpoint struct {
	Origin string
	Size   uint64
	Root   []byte
}

// ParseCheckpoint verifies a signed checkpoint (a C2SP signed note) with
// the log's verifier key (the text in log/verifier.key) and returns what
// it commits to.
func ParseCheckpoint(signed []byte, verifierKey string) (*Checkpoint, error) {
	v, err := note.NewVerifier(strings.TrimSpace(verifierKey))
	if err != nil {
		return nil, fmt.Errorf("verifier key: %w", err)
	}
	cp, _, err := ledger.VerifyCheckpoint(signed, v, "")
	if err != nil {
		return nil, err
	}
	return &Checkpoint{Origin: cp.Origin, Size: cp.Size, Root: cp.Hash}, nil
}

// Inclusion checks that envelope (the record's encoded envelope, as the
// journal and exports hold it) is record number index of the log at cp.
func Inclusion(envelope []byte, index uint64, path [][]byte, cp *Checkpoint) error {
	if cp == nil {
		return errors.New("inclusion: no checkpoint")
	}
	leaf := record.LeafHash(envelope)
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, index, cp.Size, leaf[:], path, cp.Root); err != nil {
		return fmt.Errorf("record %d is not in the log of size %d: %w", index, cp.Size, err)
	}
	return nil
}

// Consistency checks that the log at newer extends the log at older: no
// record of the older checkpoint was changed, removed or reordered.
func Consistency(older, newer *Checkpoint, path [][]byte) error {
	if older == nil || newer == nil {
		return errors.New("consistency: missing checkpoint")
	}
	if older.Origin != newer.Origin {
		return fmt.Errorf("consistency: checkpoints of different logs (%q, %q)", older.Origin, newer.Origin)
	}
	if older.Size > newer.Size {
		return fmt.Errorf("consistency: the log shrank from %d to %d records", older.Size, newer.Size)
	}
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, older.Size, newer.Size, path, older.Root, newer.Root); err != nil {
		return fmt.Errorf("the log at %d records is not an extension of the log at %d: %w", newer.Size, older.Size, err)
	}
	return nil
}

// OpenRecord decrypts one disclosed record with its per-record key. The key
// commitment in the envelope is checked before the plaintext is used, so a
// key that "decrypts" to other text is refused.
func OpenRecord(envelope, recordKey []byte) ([]byte, error) {
	env, err := record.Unmarshal(envelope)
	if err != nil {
		return nil, err
	}
	return crypt.OpenWithRecordKey(env, recordKey)
}
