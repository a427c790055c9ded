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
