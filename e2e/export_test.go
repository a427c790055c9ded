package e2e

import (
	"bytes"
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
	for _, format := range []string{"jsonl", "rsmf", "eml", "dat", "opt", "html", "pdf"} {
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
		if format == "opt" {
			opt, err := os.ReadFile(filepath.Join(out, "loadfile", "production.opt"))
			lines := strings.Split(strings.TrimSpace(string(opt)), "\r\n")
			if err != nil || len(lines) != 7 || !strings.HasPrefix(lines[0], "ONR00000001,,images/ONR00000001.pdf,Y,,,") {
				t.Fatalf("opt: %v %q", err, opt)
			}
			if pdf, err := os.ReadFile(filepath.Join(out, "images", "ONR00000001.pdf")); err != nil || !bytes.HasPrefix(pdf, []byte("%PDF-")) {
				t.Fatalf("opt image: %v", err)
			}
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
	if v := run(t, dir, nil, "verify", "--json"); !strings.Contains(v.stdout, `"onrecord": 7`) {
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

// TestCLI_MatterOpensHoldsSearchesAndExportsItsMethodology: a FOIA matter
// gets its due date in working days and a hold on what it covers; its
// searches are its methodology, which travels with its export.
func TestCLI_MatterOpensHoldsSearchesAndExportsItsMethodology(t *testing.T) {
	dir := t.TempDir()
	corpus, _ := filepath.Abs("../internal/export/testdata/corpus.jsonl")
	if r := run(t, dir, nil, "import", "--format", "jsonl", corpus); r.code != 0 {
		t.Fatalf("import: %s", r.stderr)
	}
	r := run(t, dir, nil, "matter", "open", "--id", "FOIA-1", "--type", "foia", "--received", "2026-11-25", "--query", `"term sheet"`)
	if r.code != 0 || !strings.Contains(r.stdout, "due Thu 2026-12-24") || !strings.Contains(r.stdout, "5 records covered and held") {
		t.Fatalf("open: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := run(t, dir, nil, "hold", "list"); !strings.Contains(r.stdout, "FOIA-1") {
		t.Fatalf("no hold: %s", r.stdout)
	}
	if r := run(t, dir, nil, "matter", "search", "--id", "FOIA-1", "signed"); r.code != 0 || !strings.HasPrefix(r.stdout, "3 records") {
		t.Fatalf("search: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	out := filepath.Join(dir, "production")
	if r := run(t, dir, nil, "matter", "export", "--id", "FOIA-1", "--format", "eml", "--out", out); r.code != 0 {
		t.Fatalf("export: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	b, err := os.ReadFile(filepath.Join(out, "methodology.json"))
	if err != nil || !strings.Contains(string(b), `"purpose": "responsive"`) || !strings.Contains(string(b), `"purpose": "export"`) {
		t.Fatalf("methodology: %v\n%s", err, b)
	}
	if v := run(t, dir, nil, "verify-export", out); v.code != 0 {
		t.Fatalf("verify-export: %s", v.stdout)
	}
	if r := run(t, dir, nil, "matter", "open", "--id", "S-1", "--type", "subpoena", "--received", "2026-11-25", "--query", "x"); r.code != 2 {
		t.Fatalf("a subpoena without a due date: %d %s", r.code, r.stderr)
	}
}
