package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCLI_ExportEveryFormatVerifiesAndTamperFails produces the same query
// in every format through the binary, checks each with verify-export,
// then changes one byte of one file and expects the verdict to name it.
func TestCLI_ExportEveryFormatVerifiesAndTamperFails(t *testing.T) {
	dir := t.TempDir()
	corpus, _ := filepath.Abs("../internal/export/testdata/corpus.jsonl")
	if r := run(t, dir, nil, "import", "--format", "jsonl", corpus); r.code != 0 {
		t.Fatalf("import: %s", r.stderr)
	}
	for _, format := range []string{"jsonl", "rsmf", "eml", "dat", "html", "pdf"} {
		out := filepath.Join(dir, "export-"+format)
		r := run(t, dir, nil, "export", "--query", "term OR lunch OR kind:status", "--format", format, "--zone", "America/New_York", "--out", out)
		if r.code != 0 || !strings.Contains(r.stdout, "exported 7 records") {
			t.Fatalf("export %s: %d\n%s%s", format, r.code, r.stdout, r.stderr)
		}
		v := run(t, dir, nil, "verify-export", "--json", out)
		var rep struct {
			OK       bool     `json:"ok"`
			Problems []string `json:"problems"`
		}
		if err := json.Unmarshal([]byte(v.stdout), &rep); err != nil || v.code != 0 || !rep.OK {
			t.Fatalf("verify-export %s: %d %v\n%s%s", format, v.code, err, v.stdout, v.stderr)
		}
		// Change one byte of the largest produced file.
		var victim string
		var size int64
		filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && !strings.Contains(p, "proof") && filepath.Base(p) != "manifest.json" {
				if fi, _ := d.Info(); fi.Size() > size {
					victim, size = p, fi.Size()
				}
			}
			return nil
		})
		b, _ := os.ReadFile(victim)
		b[len(b)/2] ^= 0x20
		os.WriteFile(victim, b, 0o600)
		v = run(t, dir, nil, "verify-export", out)
		rel, _ := filepath.Rel(out, victim)
		if v.code != 1 || !strings.Contains(v.stdout, "FAIL "+filepath.ToSlash(rel)) {
			t.Fatalf("verify-export after changing %s: %d\n%s", rel, v.code, v.stdout)
		}
	}
	// Every export is on the record.
	if v := run(t, dir, nil, "verify", "--json"); !strings.Contains(v.stdout, `"onrecord": 6`) {
		t.Fatalf("exports not recorded:\n%s", v.stdout)
	}
	// The conversation view shows the edit history and the deletion.
	s := run(t, dir, nil, "show", "conversation", "15550102030")
	if s.code != 0 || !strings.Contains(s.stdout, "v2 ") || !strings.Contains(s.stdout, "reaction 👍") {
		t.Fatalf("show: %d\n%s%s", s.code, s.stdout, s.stderr)
	}
	if s := run(t, dir, nil, "show", "conversation", "C024BE91L"); !strings.Contains(s.stdout, "[DELETED") {
		t.Fatalf("show deleted:\n%s", s.stdout)
	}
}
