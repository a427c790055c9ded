package app

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/config"
)

// TestDirectoryAndPoliciesSurviveRestart provisions a user over SCIM,
// changes the policies, restarts, and finds both rebuilt from the journal.
func TestDirectoryAndPoliciesSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	pol := filepath.Join(dir, "policies")
	os.Mkdir(pol, 0o700)
	write := func(action string) {
		os.WriteFile(filepath.Join(pol, "p.yaml"), []byte("policy: p\nrules:\n  - id: ssn\n    when: findings.exists(f, f.detector == 'us_ssn')\n    action: "+action+"\n"), 0o600)
	}
	write("block")
	cfg := config.Default()
	cfg.DataDir = filepath.Join(dir, "data")
	cfg.ScimToken = "scim-0123456789abcdef0123456789"
	cfg.PolicyDir = pol
	cfg.PublicURL = "https://records.example.gov"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	a, err := Open(t.Context(), Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.PublicHandler())
	req, _ := http.NewRequest("POST", srv.URL+"/scim/v2/Users", strings.NewReader(`{"userName":"maria@example.com","active":true,"urn:onrecord:params:scim:schemas:extension:2.0:User":{"role":"advisor"}}`))
	req.Header.Set("Authorization", "Bearer "+cfg.ScimToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("SCIM create: %d", resp.StatusCode)
	}
	v1 := a.Governance.Policies.Active().Version
	srv.Close()
	a.Close()

	write("warn")
	a, err = Open(t.Context(), Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	people := a.Governance.Directory.People()
	if len(people) != 1 || people[0].UserName != "maria@example.com" || people[0].Role != "advisor" {
		t.Fatalf("directory after restart: %+v", people)
	}
	if v2 := a.Governance.Policies.Active().Version; v2 == v1 {
		t.Fatal("the changed policy file was not loaded")
	}
	// Both policy versions are on the record, with their text.
	var sets []string
	a.Archive.ReplaySystem(func(_ uint64, ev *onrecord.Event) error {
		if ev.Subtype == "policy.set" {
			sets = append(sets, string(ev.Raw))
		}
		return nil
	})
	if len(sets) != 2 || !strings.Contains(sets[0], "action: block") || !strings.Contains(sets[1], "action: warn") {
		t.Fatalf("policy records: %q", sets)
	}
}
