package local

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/onrecord/onrecord/internal/kms"
	"github.com/onrecord/onrecord/internal/kms/kmstest"
)

// testOptions keeps scrypt cheap: the default work factor costs a second and
// 256 MiB per call, far too much under -race.
var testOptions = options{scryptLogN: 10}

func newTestKEK(t *testing.T, passphrase string) (*KEK, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "keys", "kek.age")
	k, created, err := open(path, passphrase, true, testOptions)
	if err != nil {
		t.Fatalf("open(create): %v", err)
	}
	if !created {
		t.Fatal("open(create) on a missing file reported created=false")
	}
	return k, path
}

func TestKEK_Conformance(t *testing.T) {
	kmstest.Run(t, func(t *testing.T) kms.Wrapper {
		k, _ := newTestKEK(t, "")
		return k
	})
}

func TestKEK_PassphraseProtectedConformance(t *testing.T) {
	kmstest.Run(t, func(t *testing.T) kms.Wrapper {
		k, _ := newTestKEK(t, "correct horse")
		return k
	})
}

func TestOpen_CreatesFileWithOwnerOnlyPermissions(t *testing.T) {
	_, path := newTestKEK(t, "")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Fatalf("key file mode = %04o, want 0600", got)
	}
	di, err := os.Stat(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if got := di.Mode().Perm(); got != 0o700 {
		t.Fatalf("created parent directory mode = %04o, want 0700", got)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# created: ", "KMS", "AGE-SECRET-KEY-1"} {
		if !bytes.Contains(data, []byte(want)) {
			t.Errorf("key file does not contain %q:\n%s", want, data)
		}
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Fatalf("key directory holds %d entries, want only the key file (temporary file left behind?)", len(entries))
	}
}

func TestOpen_ReopenGivesSameKey(t *testing.T) {
	for _, pass := range []string{"", "s3cret passphrase"} {
		t.Run(fmt.Sprintf("passphrase=%v", pass != ""), func(t *testing.T) {
			k1, path := newTestKEK(t, pass)
			wrapped, err := k1.Wrap([]byte("bucket key"))
			if err != nil {
				t.Fatal(err)
			}
			k2, created, err := open(path, pass, true, testOptions)
			if err != nil {
				t.Fatalf("reopen: %v", err)
			}
			if created {
				t.Fatal("reopen of an existing key file reported created=true")
			}
			if k2.ID() != k1.ID() {
				t.Fatalf("reopened ID %s, want %s", k2.ID(), k1.ID())
			}
			got, err := k2.Unwrap(wrapped)
			if err != nil || string(got) != "bucket key" {
				t.Fatalf("reopened KEK cannot unwrap: %q, %v", got, err)
			}
		})
	}
}

func TestOpen_PassphraseFileIsArmoredAndHidesTheKey(t *testing.T) {
	_, path := newTestKEK(t, "pw")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, []byte("-----BEGIN AGE ENCRYPTED FILE-----")) {
		t.Fatalf("passphrase-protected key file is not armored age:\n%s", data)
	}
	if bytes.Contains(data, []byte("AGE-SECRET-KEY")) {
		t.Fatal("passphrase-protected key file contains the identity in the clear")
	}
}

func TestOpen_WrongPassphraseIsRefused(t *testing.T) {
	_, path := newTestKEK(t, "right")
	_, _, err := open(path, "wrong", false, testOptions)
	if !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("open with wrong passphrase: got %v, want ErrWrongPassphrase", err)
	}
}

func TestOpen_PassphraseMismatchWithFileKindIsRefused(t *testing.T) {
	_, plainPath := newTestKEK(t, "")
	if _, _, err := open(plainPath, "unexpected", false, testOptions); err == nil || !strings.Contains(err.Error(), "not passphrase-protected") {
		t.Fatalf("passphrase for an unencrypted file: got %v, want a clear refusal", err)
	}
	_, encPath := newTestKEK(t, "pw")
	if _, _, err := open(encPath, "", false, testOptions); err == nil || !strings.Contains(err.Error(), "supply its passphrase") {
		t.Fatalf("no passphrase for an encrypted file: got %v, want a clear refusal", err)
	}
}

func TestOpen_GroupOrWorldReadableFileIsRefused(t *testing.T) {
	for _, mode := range []fs.FileMode{0o640, 0o604, 0o644, 0o660} {
		t.Run(fmt.Sprintf("%04o", mode), func(t *testing.T) {
			_, path := newTestKEK(t, "")
			if err := os.Chmod(path, mode); err != nil {
				t.Fatal(err)
			}
			_, _, err := Open(path, "", false)
			if err == nil {
				t.Fatalf("open of a %04o key file succeeded", mode)
			}
			if want := "chmod 600 " + path; !strings.Contains(err.Error(), want) {
				t.Fatalf("error %q does not tell the operator to %q", err, want)
			}
		})
	}
}

func TestOpen_MissingFileWithoutCreateFails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "absent.age")
	_, _, err := Open(path, "", false)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("got %v, want an error wrapping fs.ErrNotExist", err)
	}
	if _, statErr := os.Stat(path); !errors.Is(statErr, fs.ErrNotExist) {
		t.Fatal("Open with create=false created the file")
	}
}

func TestOpen_GarbageFileIsRefused(t *testing.T) {
	for name, content := range map[string]string{
		"empty":       "",
		"text":        "hello\n",
		"two keys":    "", // filled below
		"age garbage": "age-encryption.org/v1\n-> nonsense\n",
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "k")
			if name == "two keys" {
				a, _ := newTestKEK(t, "")
				b, _ := newTestKEK(t, "")
				content = a.identity.String() + "\n" + b.identity.String() + "\n"
			}
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			pass := ""
			if strings.HasPrefix(content, "age-") {
				pass = "x"
			}
			if _, _, err := open(path, pass, false, testOptions); err == nil {
				t.Fatal("open accepted a file that is not a single age identity")
			}
		})
	}
}

func TestOpen_ConcurrentCreatorsAgreeOnOneKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kek.age")
	const n = 8
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		ids     = map[string]bool{}
		created int
	)
	for range n {
		wg.Go(func() {
			k, c, err := open(path, "", true, testOptions)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			ids[k.ID()] = true
			if c {
				created++
			}
		})
	}
	wg.Wait()
	if len(ids) != 1 || created != 1 {
		t.Fatalf("%d concurrent creators saw %d distinct keys and %d reported creating one; want 1 and 1", n, len(ids), created)
	}
}

func TestKEK_FormattingDoesNotLeakSecret(t *testing.T) {
	k, _ := newTestKEK(t, "")
	for _, s := range []string{fmt.Sprint(k), fmt.Sprintf("%v %+v %#v %s", k, k, k, k)} {
		if strings.Contains(s, "AGE-SECRET-KEY") {
			t.Fatalf("formatting the KEK printed its secret: %s", s)
		}
	}
}

func TestKEK_IDIsFingerprintOfRecipient(t *testing.T) {
	k, _ := newTestKEK(t, "")
	if len(k.ID()) != 16 {
		t.Fatalf("ID %q: want 16 hex digits", k.ID())
	}
	if strings.Contains(k.identity.String(), k.ID()) {
		t.Fatal("ID appears inside the secret key text")
	}
}

func TestCreatedWarning_NamesPathAndConsequence(t *testing.T) {
	w := CreatedWarning("/var/lib/onrecord/kek.age")
	for _, want := range []string{"/var/lib/onrecord/kek.age", "back it up", "KMS", "loses every record"} {
		if !strings.Contains(w, want) {
			t.Errorf("warning %q lacks %q", w, want)
		}
	}
}
