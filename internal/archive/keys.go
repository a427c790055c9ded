package archive

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/onrecord/onrecord/internal/kms"
)

// loadOrCreateWrapped returns a secret kept in path wrapped by the KEK,
// generating and storing it (durably) on first use.
func loadOrCreateWrapped(path string, kek kms.Wrapper, gen func() ([]byte, error)) ([]byte, error) {
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
	if err := writeFileAtomic(path, wrapped, 0o600); err != nil {
		return nil, err
	}
	return plain, nil
}

// writeFileAtomic writes data to a temporary file beside path, fsyncs it,
// renames it into place and fsyncs the directory, so that after a crash the
// file is either absent or whole.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after the rename
	if _, err = f.Write(data); err == nil {
		if err = f.Chmod(perm); err == nil {
			err = f.Sync()
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync directory %s: %w", dir, err)
	}
	return nil
}
