package archive

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/onrecord/onrecord/internal/durable"
	"github.com/onrecord/onrecord/internal/kms"
	"github.com/onrecord/onrecord/internal/ledger"
)

// loadOrCreateWrapped returns a secret kept in path wrapped by the KEK,
// generating and storing it durably on first use. An existing file is never
// overwritten: if another process created it first, its secret is used.
func loadOrCreateWrapped(path string, kek kms.Wrapper, gen func() ([]byte, error)) ([]byte, error) {
	for range 2 {
		wrapped, err := os.ReadFile(path)
		if err == nil {
			plain, err := kek.Unwrap(wrapped)
			if err != nil {
				return nil, fmt.Errorf("unwrap %s (is key_file the key this data directory was created with?): %w", path, err)
			}
			return plain, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		plain, err := gen()
		if err != nil {
			return nil, err
		}
		if wrapped, err = kek.Wrap(plain); err != nil {
			return nil, err
		}
		if err := durable.MkdirAll(filepath.Dir(path)); err != nil {
			return nil, err
		}
		created, err := durable.CreateFile(path, wrapped)
		if err != nil {
			return nil, err
		}
		if created {
			return plain, nil
		}
	}
	return nil, fmt.Errorf("%s: created and removed concurrently", path)
}

// publishVerifierKey writes the log's public key beside the checkpoints
// (for auditors and `verify`) or checks that the one there is ours: a
// verifier key that does not match the signing key means one of them was
// replaced.
func publishVerifierKey(ledgerDir, signerKey string) error {
	vkey, err := ledger.VerifierKey(signerKey)
	if err != nil {
		return fmt.Errorf("log signing key: %w", err)
	}
	path := filepath.Join(ledgerDir, VerifierKeyFile)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		if strings.TrimSpace(string(b)) != vkey {
			return fmt.Errorf("%s does not match the log's signing key: one of them was replaced; restore the original (the checkpoints name the key that signed them)", path)
		}
		return nil
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	if err := durable.MkdirAll(ledgerDir); err != nil {
		return err
	}
	if _, err := durable.CreateFile(path, []byte(vkey+"\n")); err != nil {
		return err
	}
	return os.Chmod(path, 0o644) // #nosec G302 -- the log's public key: public by design
}
