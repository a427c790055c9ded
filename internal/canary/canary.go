// Package canary looks for marker strings — canaries — in bytes written to
// disk, in every form an encoding could leave them readable. Tests put
// canaries into messages, names and attachments, then prove that no file
// holds one: the archive, the index and the whole product (e2e) each do.
package canary

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strings"
	"unicode/utf16"
)

// Forms returns the byte strings whose presence means s was written in a
// readable or trivially decodable form: as is (UTF-8), UTF-16 in either
// byte order, hex in either case, and standard and URL-safe base64 at each
// of the three alignments s can have in the encoded data — without the
// first and last groups of four, which mix in the neighbouring bytes. s
// should be long enough (a dozen characters or more) for those to leave
// something.
func Forms(s string) map[string][]byte {
	le := make([]byte, 0, 2*len(s))
	be := make([]byte, 0, 2*len(s))
	for _, u := range utf16.Encode([]rune(s)) {
		le = append(le, byte(u), byte(u>>8)) // #nosec G115 -- the low and high bytes of a UTF-16 unit, on purpose
		be = append(be, byte(u>>8), byte(u)) // #nosec G115 -- the high and low bytes of a UTF-16 unit, on purpose
	}
	h := hex.EncodeToString([]byte(s))
	forms := map[string][]byte{"utf-8": []byte(s), "utf-16le": le, "utf-16be": be, "hex": []byte(h), "HEX": []byte(strings.ToUpper(h))}
	for shift := range 3 {
		enc := base64.StdEncoding.EncodeToString(append(make([]byte, shift), s...))
		lo := 0
		if shift > 0 {
			lo = 4
		}
		if lo >= len(enc)-4 {
			continue // too short to leave a group of its own
		}
		core := enc[lo : len(enc)-4]
		forms[fmt.Sprintf("base64+%d", shift)] = []byte(core)
		forms[fmt.Sprintf("base64url+%d", shift)] = []byte(strings.NewReplacer("+", "-", "/", "_").Replace(core))
	}
	return forms
}

// Find reports each canary that b holds in any of its Forms, once per
// canary, as "NAME holds CANARY as FORM".
func Find(name string, b []byte, canaries []string) []string {
	return formsOf(canaries).find(name, b)
}

// canaryForms is every canary with its Forms in a fixed order, made once
// per scan rather than once per file.
type canaryForms []struct {
	canary string
	names  []string
	forms  map[string][]byte
}

func formsOf(canaries []string) canaryForms {
	out := make(canaryForms, len(canaries))
	for i, c := range canaries {
		out[i].canary, out[i].forms = c, Forms(c)
		out[i].names = slices.Sorted(maps.Keys(out[i].forms))
	}
	return out
}

func (cf canaryForms) find(name string, b []byte) []string {
	var found []string
	for _, c := range cf {
		for _, form := range c.names {
			if bytes.Contains(b, c.forms[form]) {
				found = append(found, fmt.Sprintf("%s holds %q as %s", name, c.canary, form))
				break
			}
		}
	}
	return found
}

// ScanDir runs Find over every file under dir, naming files by their
// slash-separated path relative to dir, and says how many files and bytes
// it read. It reads through an os.Root, so a link cannot take it outside
// dir.
func ScanDir(dir string, canaries []string) (found []string, files int, size int64, err error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("scan %s for canaries: %w", dir, err)
	}
	defer root.Close()
	fsys, forms := root.FS(), formsOf(canaries)
	err = fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, path)
		if err != nil {
			return err
		}
		files++
		size += int64(len(b))
		found = append(found, forms.find(path, b)...)
		return nil
	})
	if err != nil {
		return nil, files, size, fmt.Errorf("scan %s for canaries: %w", dir, err)
	}
	return found, files, size, nil
}
