package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCLI_PolicyCheckAndTest(t *testing.T) {
	dir := t.TempDir()
	r := run(t, dir, nil, "policy", "test", "--json", "Her SSN is 123-45-6789")
	var d struct {
		Action  string `json:"action"`
		Matches []struct {
			Rule string `json:"rule"`
		} `json:"matches"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &d); err != nil || r.code != 0 || d.Action != "block" || d.Matches[0].Rule != "ssn-outbound" {
		t.Fatalf("policy test: %d %v %+v\n%s", r.code, err, d, r.stderr)
	}
	pol := filepath.Join(dir, "policies")
	os.Mkdir(pol, 0o700)
	os.WriteFile(filepath.Join(pol, "desk.yaml"), []byte("policy: desk\nrules:\n  - id: x\n    when: event.body.contains(\n    action: flag\n"), 0o600)
	r = run(t, dir, nil, "policy", "check", "--policy-dir", pol)
	if r.code != 1 || !strings.Contains(r.stderr, "desk.yaml:3: rule \"x\": when:") {
		t.Fatalf("broken policy: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestCLI_UsersImportAndList(t *testing.T) {
	dir := t.TempDir()
	csv, _ := filepath.Abs("testdata/people.csv")
	r := run(t, dir, nil, "users", "import", csv)
	if r.code != 0 || !strings.Contains(r.stdout, "2 people imported") {
		t.Fatalf("import: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = run(t, dir, nil, "users", "list", "--json")
	var people []struct {
		UserName   string `json:"user_name"`
		Manager    string `json:"manager"`
		ID         string `json:"id"`
		Identities []struct{ Channel, Address string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &people); err != nil || len(people) != 2 {
		t.Fatalf("list: %v\n%s%s", err, r.stdout, r.stderr)
	}
	if people[1].UserName != "maria.chen@hf.example" || people[1].Manager != people[0].ID || len(people[1].Identities) != 2 {
		t.Fatalf("people: %+v", people)
	}
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("user_name,identities\nx@example.com,whatsapp\n"), 0o600)
	if r := run(t, dir, nil, "users", "import", bad); r.code != 1 || !strings.Contains(r.stderr, "line 2: identity") {
		t.Fatalf("bad import: %d %s", r.code, r.stderr)
	}
}

func TestCLI_SearchIndexesAndRecordsTheSearch(t *testing.T) {
	dir := t.TempDir()
	events, _ := filepath.Abs("testdata/events.jsonl")
	// The file has two bad lines on purpose (exit 1); the rest is imported.
	if r := run(t, dir, nil, "import", "--format", "jsonl", events); r.code > 1 {
		t.Fatalf("import: %s", r.stderr)
	}
	r := run(t, dir, nil, "search", "--json", "kind:message")
	var out struct {
		Count string `json:"count"`
		Hits  []struct {
			Kind string `json:"kind"`
		} `json:"hits"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || r.code != 0 || len(out.Hits) == 0 {
		t.Fatalf("search: %v %d\n%s%s", err, r.code, r.stdout, r.stderr)
	}
	// The search itself is on the record.
	v := run(t, dir, nil, "verify", "--json")
	if !strings.Contains(v.stdout, `"onrecord": 1`) {
		t.Fatalf("search not recorded:\n%s", v.stdout)
	}
	if r := run(t, dir, nil, "search", "from:"); r.code != 2 || !strings.Contains(r.stderr, "column") {
		t.Fatalf("bad query: %d %s", r.code, r.stderr)
	}
	// Nothing readable lands in the index files.
	filepath.WalkDir(filepath.Join(dir, "onrecord-data", "index"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(p)
			if strings.Contains(string(b), "SQLite format") {
				t.Errorf("%s is a plaintext SQLite file", p)
			}
		}
		return nil
	})
}

// TestCLI_CustodianSearchHoldAndExport: custodian: names a person in the
// directory, and search, holds, matters and exports reach every business
// identity they hold; an unknown custodian is the query's fault.
func TestCLI_CustodianSearchHoldAndExport(t *testing.T) {
	dir := t.TempDir()
	corpus, _ := filepath.Abs("../internal/export/testdata/corpus.jsonl")
	if r := run(t, dir, nil, "import", "--format", "jsonl", corpus); r.code != 0 {
		t.Fatalf("import: %s", r.stderr)
	}
	people := filepath.Join(dir, "people.csv")
	os.WriteFile(people, []byte("user_name,display_name,email,role,active,identities\n"+
		"desk@hf.example,Desk Line,desk@hf.example,advisor,true,whatsapp:15550109999;twilio:+15550109999\n"), 0o600)
	if r := run(t, dir, nil, "users", "import", people); r.code != 0 {
		t.Fatalf("users import: %d %s", r.code, r.stderr)
	}
	r := run(t, dir, nil, "search", "--json", `custodian:"Desk Line"`)
	var out struct {
		Hits []struct {
			Channel string `json:"channel"`
			Sender  string `json:"sender"`
		} `json:"hits"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || r.code != 0 {
		t.Fatalf("search: %v %d\n%s%s", err, r.code, r.stdout, r.stderr)
	}
	channels := map[string]bool{}
	for _, h := range out.Hits {
		channels[h.Channel] = true
	}
	if !channels["whatsapp"] || !channels["twilio"] || len(channels) != 2 {
		t.Errorf("custodian:\"Desk Line\" found %+v, want the desk's WhatsApp and Twilio records", out.Hits)
	}
	if r := run(t, dir, nil, "search", "custodian:nobody"); r.code != 2 || !strings.Contains(r.stderr, "nobody") {
		t.Errorf("unknown custodian: %d %s", r.code, r.stderr)
	}
	r = run(t, dir, nil, "hold", "create", "--id", "H-1", "--custodian", "desk@hf.example,+15550103040", "--reason", "exam")
	if r.code != 0 || !strings.Contains(r.stderr, "2 business identities") || !strings.Contains(r.stderr, "held as a participant id") {
		t.Fatalf("hold create: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = run(t, dir, nil, "matter", "open", "--id", "EX-1", "--type", "exam", "--received", "2026-12-01", "--due", "2026-12-31", "--custodian", "desk@hf.example")
	if r.code != 0 || !strings.Contains(r.stdout, "records covered") || strings.Contains(r.stdout, " 0 records covered") {
		t.Fatalf("matter open: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	outDir := filepath.Join(dir, "production")
	if r := run(t, dir, nil, "export", "--query", "custodian:desk@hf.example", "--format", "jsonl", "--out", outDir); r.code != 0 {
		t.Fatalf("export: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if v := run(t, dir, nil, "verify-export", outDir); v.code != 0 {
		t.Fatalf("verify-export: %s", v.stdout)
	}
	if r := run(t, dir, nil, "retention", "plan", "--json"); r.code != 0 {
		t.Fatalf("retention plan with a custodian hold: %d %s", r.code, r.stderr)
	}
}
