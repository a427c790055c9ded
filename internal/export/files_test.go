package export_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/onrecord/onrecord/internal/export"
)

func TestWriteFiles_WritesEveryFileInOrderAndStopsAtTheFirstFailure(t *testing.T) {
	content := func(i int) []byte { return []byte(fmt.Sprintf("file %d\n", i)) }
	encode := func(failAt int) export.EncodeFunc {
		return func(i int) (string, []byte, error) {
			if i == failAt {
				return "", nil, errors.New("cannot render")
			}
			return fmt.Sprintf("%d.txt", i), content(i), nil
		}
	}
	check := func(t *testing.T, dir string, upTo int) {
		t.Helper()
		for i := range upTo {
			b, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("%d.txt", i)))
			if err != nil || string(b) != string(content(i)) {
				t.Fatalf("file %d: %q, %v", i, b, err)
			}
		}
	}
	for _, tc := range []struct {
		name     string
		n        int
		failAt   int  // encoding fails here
		existing int  // this file is there before (creating it fails)
		encoding bool // which failure is expected
	}{
		{"all", 700, -1, -1, false},
		{"none", 0, -1, -1, false},
		{"rendering fails", 700, 321, -1, true},
		{"creating fails", 700, -1, 17, false},
		{"first fails", 700, 0, -1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.existing >= 0 {
				if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%d.txt", tc.existing)), []byte("mine"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			root, err := os.OpenRoot(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer root.Close()
			err = export.WriteFiles(root, tc.n, encode(tc.failAt))
			stop := max(tc.failAt, tc.existing)
			if stop < 0 {
				if err != nil {
					t.Fatal(err)
				}
				check(t, dir, tc.n)
				return
			}
			var fe *export.FileError
			if !errors.As(err, &fe) || fe.Index != stop || fe.Encoding != tc.encoding {
				t.Fatalf("err = %#v, want a FileError at %d (encoding %v)", err, stop, tc.encoding)
			}
			check(t, dir, stop)
			if tc.existing >= 0 {
				if b, _ := os.ReadFile(filepath.Join(dir, fmt.Sprintf("%d.txt", tc.existing))); string(b) != "mine" {
					t.Fatalf("a file that was there was overwritten: %q", b)
				}
			}
		})
	}
}
