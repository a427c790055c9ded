package canary

import (
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"
)

func TestFind_EveryEncodingAtEveryAlignment(t *testing.T) {
	const c = "canaryq7v2k9xw3m5t8p"
	u16 := func(s string, big bool) []byte {
		var b []byte
		for _, u := range utf16.Encode([]rune(s)) {
			if big {
				b = append(b, byte(u>>8), byte(u))
			} else {
				b = append(b, byte(u), byte(u>>8))
			}
		}
		return b
	}
	for _, tc := range []struct {
		name string
		data []byte
		want bool
	}{
		{"plain, inside other text", []byte("a message about " + c + " and more"), true},
		{"UTF-16LE", u16("x"+c, false), true},
		{"UTF-16BE", u16(c+"y", true), true},
		{"hex", []byte(hex.EncodeToString([]byte("[" + c + "]"))), true},
		{"HEX", []byte(strings.ToUpper(hex.EncodeToString([]byte(c)))), true},
		{"base64, offset 0", []byte(base64.StdEncoding.EncodeToString([]byte(c + "tail"))), true},
		{"base64, offset 1", []byte(base64.StdEncoding.EncodeToString([]byte("h" + c + "tail"))), true},
		{"base64, offset 2", []byte(base64.StdEncoding.EncodeToString([]byte("he" + c))), true},
		{"base64url without padding, offset 1", []byte(base64.RawURLEncoding.EncodeToString([]byte("\xff" + c + "\xfe\xfd"))), true},
		{"sealed (nothing readable)", []byte("\x8a\x01\x9cQ\x00\x7f" + strings.Repeat("\xee", 64)), false},
		{"a different canary", []byte("canaryq7v2k9xw3m5t8q"), false},
		{"the canary cut short", []byte(c[:len(c)-1]), false},
	} {
		found := Find("f", tc.data, []string{c})
		if got := len(found) > 0; got != tc.want {
			t.Errorf("%s: found %q, want found %v", tc.name, found, tc.want)
		}
		if len(found) > 1 {
			t.Errorf("%s: %d findings for one canary in one file", tc.name, len(found))
		}
	}
}

func TestScanDir_NamesFilesAndCounts(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "sub"), 0o700)
	os.WriteFile(filepath.Join(dir, "clean"), []byte("nothing here"), 0o600)
	os.WriteFile(filepath.Join(dir, "sub", "leak"), []byte("x canaryzz41bq9w8e7r y"), 0o600)
	found, files, size, err := ScanDir(dir, []string{"canaryzz41bq9w8e7r", "canarynotwritten00"})
	if err != nil || files != 2 || size != 34 {
		t.Fatalf("ScanDir: %d files, %d bytes, %v", files, size, err)
	}
	if len(found) != 1 || !strings.HasPrefix(found[0], `sub/leak holds "canaryzz41bq9w8e7r" as utf-8`) {
		t.Errorf("found %q", found)
	}
	if _, _, _, err := ScanDir(filepath.Join(dir, "missing"), nil); err == nil {
		t.Error("a missing directory scanned without an error")
	}
}

// TestForms_ShortStrings: a canary too short for a base64 group of its
// own keeps its other forms instead of panicking.
func TestForms_ShortStrings(t *testing.T) {
	for _, s := range []string{"", "a", "ab", "abcd"} {
		if f := Forms(s); string(f["utf-8"]) != s || string(f["hex"]) != hex.EncodeToString([]byte(s)) {
			t.Errorf("Forms(%q) = %q", s, f)
		}
	}
}
