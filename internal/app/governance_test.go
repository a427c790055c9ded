package app

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/config"
	"github.com/onrecord/onrecord/internal/sim/fleet"
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

// TestConsentAndControlledOutboundThroughWhatsApp runs the consent flow
// end to end through the WhatsApp simulator: an employee adds a contact,
// the notice goes out through the provider, sending is refused until the
// contact answers YES in a signed webhook, and a NO keeps it refused.
func TestConsentAndControlledOutboundThroughWhatsApp(t *testing.T) {
	f, srv, cfg := fleetConfig(t, fleet.Options{SignalStreamCount: -1})
	public := cfg.PublicURL
	cfg.APITokens = []string{testAPIToken}
	cfg.Organisation = "Harbor & Finch"
	cfg.Roles = []config.Role{{Name: "advisor", Channels: []string{fleet.WhatsApp}}}
	a := serveTestApp(t, srv, cfg)
	if _, err := a.Governance.Directory.PutPerson(t.Context(), "test", onrecord.Person{UserName: "maria", DisplayName: "Maria Chen",
		Role: "advisor", Active: true, Identities: []onrecord.Identity{{Channel: fleet.WhatsApp, Address: "15550100"}}}); err != nil {
		t.Fatal(err)
	}
	api := func(path, body string) (int, string) { return apiDo(t, public, testAPIToken, "POST", path, body) }
	send := func(to string) (int, string) {
		return api("/api/v1/messages", `{"from":"maria","channel":"whatsapp","to":"`+to+`","body":"The transfer settled this morning."}`)
	}
	reply := func(from, text string) {
		body := `{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{"messaging_product":"whatsapp",` +
			`"metadata":{"display_phone_number":"15550100","phone_number_id":"106540352242922"},"contacts":[{"profile":{"name":"Client"},"wa_id":"` + from + `"}],` +
			`"messages":[{"from":"` + from + `","id":"wamid.reply` + from + `","timestamp":"` + strconv.FormatInt(time.Now().Unix(), 10) + `","type":"text","text":{"body":"` + text + `"}}]}}]}]}`
		mac := hmac.New(sha256.New, []byte(cfg.Channels[0].AppSecret))
		mac.Write([]byte(body))
		req, _ := http.NewRequest("POST", public+"/hooks/whatsapp", strings.NewReader(body))
		req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("reply webhook: %v %v", err, resp)
		}
		resp.Body.Close()
	}
	const yes, no = "4915112345678", "4915112340000"
	if code, body := send(yes); code != 403 || !strings.Contains(body, "contact_not_approved") {
		t.Fatalf("send to an unknown contact: %d %s", code, body)
	}
	for _, n := range []string{yes, no} {
		if code, body := api("/api/v1/contacts", `{"from":"maria","channel":"whatsapp","address":"`+n+`","name":"Client"}`); code != 201 {
			t.Fatalf("add contact: %d %s", code, body)
		}
	}
	if sent := f.WhatsApp.Sent(); len(sent) != 2 || !strings.Contains(sent[0].Body, "Harbor & Finch: Maria Chen would like") {
		t.Fatalf("consent notices through the provider: %+v", sent)
	}
	if code, body := send(yes); code != 403 || !strings.Contains(body, "contact_not_consented") {
		t.Fatalf("send before acceptance: %d %s", code, body)
	}
	reply(yes, "Yes")
	reply(no, "NO")
	if code, body := send(yes); code != 201 {
		t.Fatalf("send after acceptance: %d %s", code, body)
	}
	if code, body := send(no); code != 403 || !strings.Contains(body, "declined") {
		t.Fatalf("send after decline: %d %s", code, body)
	}
	if code, body := api("/api/v1/messages", `{"from":"maria","channel":"whatsapp","to":"`+yes+`","body":"Her SSN is 123-45-6789"}`); code != 403 || !strings.Contains(body, "policy_blocked") {
		t.Fatalf("policy block: %d %s", code, body)
	}
	// A message a policy holds for approval waits for someone else.
	code, body := api("/api/v1/messages", `{"from":"maria","channel":"whatsapp","to":"`+yes+`","body":"Wire it to IBAN DE89370400440532013000"}`)
	if code != 202 || !strings.Contains(body, "pending_approval") {
		t.Fatalf("held message: %d %s", code, body)
	}
	var held struct {
		ID string `json:"approval_id"`
	}
	json.Unmarshal([]byte(body), &held)
	sentBefore := len(f.WhatsApp.Sent())
	if _, listed := apiDo(t, public, testAPIToken, "GET", "/api/v1/approvals", ""); !strings.Contains(listed, held.ID) {
		t.Fatalf("approval queue: %s", listed)
	}
	if code, body := api("/api/v1/approvals/"+held.ID, `{"decision":"approve","by":"maria"}`); code != 403 || !strings.Contains(body, "four_eyes") {
		t.Fatalf("self-approval: %d %s", code, body)
	}
	if len(f.WhatsApp.Sent()) != sentBefore {
		t.Fatal("a held message was sent before approval")
	}
	if code, body := api("/api/v1/approvals/"+held.ID, `{"decision":"approve","by":"supervisor","reason":"client instruction on file"}`); code != 201 {
		t.Fatalf("approval: %d %s", code, body)
	}
	if sent := f.WhatsApp.Sent(); len(sent) != sentBefore+1 || !strings.Contains(sent[len(sent)-1].Body, "DE89370400440532013000") {
		t.Fatalf("approved message not sent: %+v", sent)
	}
	if code, _ := api("/api/v1/approvals/"+held.ID, `{"decision":"approve","by":"supervisor"}`); code != 404 {
		t.Fatalf("second decision on the same approval: %d", code)
	}
	// Every step is on the record: requests, answers, decisions.
	var subtypes []string
	a.Archive.ReplaySystem(func(_ uint64, ev *onrecord.Event) error {
		subtypes = append(subtypes, ev.Subtype)
		// The decision says who decided and which API client brought it.
		if ev.Subtype == "approval.decision" && !strings.Contains(string(ev.Raw), `"decided_via":"api:api_tokens[0]"`) {
			t.Errorf("approval decision without the API token it came with: %s", ev.Raw)
		}
		return nil
	})
	joined := strings.Join(subtypes, ",")
	for _, want := range []string{"directory.contact.put", "policy.decision", "approval.request", "approval.decision"} {
		if !strings.Contains(joined, want) {
			t.Errorf("no %s record in %v", want, subtypes)
		}
	}
}
