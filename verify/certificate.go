package verify

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/onrecord/onrecord/record"
)

// Certificate is a disposal certificate: what a retention run destroyed,
// with the checkpoints before and after it and, for every disposal, the
// disposal record and its inclusion proof, so that anyone holding the
// log's public key can check it without the archive.
type Certificate struct {
	Version     int       `json:"version"`
	RunAt       time.Time `json:"run_at"`
	By          string    `json:"by"`
	Reason      string    `json:"reason"`
	VerifierKey string    `json:"verifier_key"`
	Before      string    `json:"checkpoint_before"`
	After       string    `json:"checkpoint_after"`
	// Consistency proves the log after the run extends the log before it.
	Consistency [][]byte              `json:"consistency"`
	Disposed    []CertifiedDisposal   `json:"disposed"`
	Kept        []CertificateKeptItem `json:"kept,omitempty"`
	Totals      CertificateTotals     `json:"totals"`
}

// CertifiedDisposal is one destroyed bucket.
type CertifiedDisposal struct {
	Bucket    string    `json:"bucket"`
	Records   uint64    `json:"records"`
	FirstSeq  uint64    `json:"first_seq"`
	LastSeq   uint64    `json:"last_seq"`
	ExpiredAt time.Time `json:"expired_at"`
	// RecordSeq is the disposal record's position; Envelope its bytes as
	// the journal holds them (public content only); Inclusion its proof at
	// checkpoint_after.
	RecordSeq uint64   `json:"record_seq"`
	Envelope  []byte   `json:"envelope"`
	Inclusion [][]byte `json:"inclusion"`
}

// CertificateKeptItem is a bucket the run did not dispose of, and why.
type CertificateKeptItem struct {
	Bucket string `json:"bucket"`
	Why    string `json:"why"`
}

// CertificateTotals sum the run.
type CertificateTotals struct {
	Buckets int    `json:"buckets_disposed"`
	Records uint64 `json:"records_disposed"`
	Kept    int    `json:"buckets_kept"`
}

// CheckCertificate verifies a disposal certificate with the log's public
// key (trustedKey, or the certificate's copy when empty): both checkpoints
// are signed, the later extends the earlier, and every listed disposal is
// a disposal record in the log saying what the certificate says.
func CheckCertificate(b []byte, trustedKey string) (*Certificate, error) {
	var c Certificate
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("certificate: %w", err)
	}
	key := c.VerifierKey
	if trustedKey != "" {
		key = trustedKey
	}
	before, err := ParseCheckpoint([]byte(c.Before), key)
	if err != nil {
		return nil, fmt.Errorf("certificate: checkpoint before: %w", err)
	}
	after, err := ParseCheckpoint([]byte(c.After), key)
	if err != nil {
		return nil, fmt.Errorf("certificate: checkpoint after: %w", err)
	}
	if err := Consistency(before, after, c.Consistency); err != nil {
		return nil, fmt.Errorf("certificate: %w", err)
	}
	var total uint64
	for _, d := range c.Disposed {
		if d.RecordSeq < before.Size || d.RecordSeq >= after.Size {
			return nil, fmt.Errorf("certificate: disposal of %s at record %d is not between the checkpoints (%d..%d)", d.Bucket, d.RecordSeq, before.Size, after.Size)
		}
		if err := Inclusion(d.Envelope, d.RecordSeq, d.Inclusion, after); err != nil {
			return nil, fmt.Errorf("certificate: disposal of %s: %w", d.Bucket, err)
		}
		env, err := record.Unmarshal(d.Envelope)
		if err != nil {
			return nil, fmt.Errorf("certificate: disposal of %s: %w", d.Bucket, err)
		}
		var pub struct {
			Bucket   string `json:"bucket"`
			Records  uint64 `json:"records"`
			FirstSeq uint64 `json:"first_seq"`
			LastSeq  uint64 `json:"last_seq"`
		}
		if env.Kind != record.KindDisposal || json.Unmarshal(env.Public, &pub) != nil ||
			pub.Bucket != d.Bucket || pub.Records != d.Records || pub.FirstSeq != d.FirstSeq || pub.LastSeq != d.LastSeq {
			return nil, fmt.Errorf("certificate: record %d is not the disposal of %s the certificate describes", d.RecordSeq, d.Bucket)
		}
		total += d.Records
	}
	if c.Totals.Buckets != len(c.Disposed) || c.Totals.Records != total {
		return nil, fmt.Errorf("certificate: totals (%d buckets, %d records) do not add up (%d, %d)", c.Totals.Buckets, c.Totals.Records, len(c.Disposed), total)
	}
	return &c, nil
}
