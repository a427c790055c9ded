package e2e

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// credentialPatterns are the shapes of real key material and provider
// credentials, tight enough that a word about them ("AGE-SECRET-KEY-1...")
// in a comment or an error message does not match.
var credentialPatterns = []struct {
	name string
	re   *regexp.Regexp
}{
	{"PEM private key", regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY-----`)},
	{"age identity (a key-encryption key)", regexp.MustCompile(`AGE-SECRET-KEY-1[02-9AC-HJ-NP-Z]{58}`)},
	{"signed-note private key (the log's signing key)", regexp.MustCompile(`PRIVATE\+KEY\+[^+\s]+\+[0-9a-f]{8}\+[A-Za-z0-9+/]{40,}`)},
	{"AWS access key id", regexp.MustCompile(`\b(AKIA|ASIA)[0-9A-Z]{16}\b`)},
	{"Slack token", regexp.MustCompile(`\bxox[abposr]-[0-9]{6,}-[0-9A-Za-z-]{10,}`)},
	{"GitHub token", regexp.MustCompile(`\bgh[pousr]_[A-Za-z0-9]{36}\b`)},
	{"Telegram bot token", regexp.MustCompile(`\b[0-9]{8,10}:AA[A-Za-z0-9_-]{33}\b`)},
	{"Meta access token", regexp.MustCompile(`\bEAA[A-Za-z0-9]{90,}`)},
}

// fixtureFile says whether path may hold made-up credentials: tests, their
// testdata, and the providers' simulators (which issue fake tokens to the
// gateway in tests and `onrecord demo`).
func fixtureFile(path string) bool {
	return strings.HasSuffix(path, "_test.go") || strings.Contains("/"+path, "/testdata/") ||
		strings.HasPrefix(path, "internal/sim/")
}

// TestRepository_HoldsNoCredentials scans every tracked file outside the
// test fixtures for private keys and provider credentials (the
// TeleMessage app shipped with hard-coded ones): a key pasted into the
// README, an example configuration or the code fails here before it is
// published.
func TestRepository_HoldsNoCredentials(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("git", "-C", root, "ls-files", "-z").Output()
	if err != nil {
		t.Skipf("not a git checkout (git ls-files: %v): the tracked files cannot be listed", err)
	}
	scanned := 0
	for _, path := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		if path == "" || fixtureFile(path) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(root, path))
		if err != nil {
			if os.IsNotExist(err) {
				continue // deleted in the working tree, not yet committed
			}
			t.Fatal(err)
		}
		scanned++
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(nil, len(b)+1)
		for line := 1; sc.Scan(); line++ {
			for _, p := range credentialPatterns {
				if p.re.Match(sc.Bytes()) {
					t.Errorf("%s:%d: looks like a %s", path, line, p.name)
				}
			}
		}
	}
	if scanned < 100 {
		t.Errorf("scanned %d files: the file list is not the repository's", scanned)
	}
}

// TestCredentialPatterns_MatchRealShapes keeps the patterns honest: each
// matches a credential of its shape (made up here, in a test file) and
// none matches the words about them that the code uses.
func TestCredentialPatterns_MatchRealShapes(t *testing.T) {
	real := map[string]string{
		"PEM private key":                                 "-----BEGIN OPENSSH PRIVATE KEY-----",
		"age identity (a key-encryption key)":             "AGE-SECRET-KEY-1QQQZ8K2FHAW4N4HW3M5PWUNY8LS9D5CXN6NC8Q2QW0EJ9KF3JKGS6ZLZM5",
		"signed-note private key (the log's signing key)": "PRIVATE+KEY+onrecord.example+3a2f1b0c+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
		"AWS access key id":                               "AKIAIOSFODNN7EXAMPLE",
		"Slack token":                                     "xoxb-1000000001-2000000002-AbCdEfGhIjKl",
		"GitHub token":                                    "ghp_" + strings.Repeat("a1B2", 9),
		"Telegram bot token":                              "7352001234:AAHfiqksKZ8WmR2zSjiQ7_v4TMAKdiHm9T0",
		"Meta access token":                               "EAAG" + strings.Repeat("Zm9v", 24),
	}
	words := []string{
		"want an age X25519 identity (AGE-SECRET-KEY-1...)",
		`the signed-note private key ("PRIVATE+KEY+..."), as made`,
		"NewSigner accepted the layout PRIVATE+KEY+<name>+<hash>+<base64 key>",
		"xoxb- bot tokens", "EAA tokens",
	}
	for _, p := range credentialPatterns {
		if s, ok := real[p.name]; !ok || !p.re.MatchString(s) {
			t.Errorf("%s does not match %q", p.name, s)
		}
		for _, w := range words {
			if p.re.MatchString(w) {
				t.Errorf("%s matches the words %q", p.name, w)
			}
		}
	}
}
