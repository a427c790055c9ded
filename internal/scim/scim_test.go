package scim

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/onrecord/onrecord/internal/meta"
)

const token = "scim-token-0123456789abcdefghij"

// recorder keeps what the directory recorded, as the journal would.
type recorder struct {
	mu      sync.Mutex
	changes []meta.Change
	fail    bool
}

func (r *recorder) Record(_ context.Context, c meta.Change) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		return os.ErrClosed
	}
	b, _ := json.Marshal(c) // what is recorded is a serialisable snapshot
	var cp meta.Change
	json.Unmarshal(b, &cp)
	r.changes = append(r.changes, cp)
	return nil
}

func (r *recorder) ops() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, c := range r.changes {
		out = append(out, c.Op)
	}
	return out
}

type env struct {
	t   *testing.T
	srv *httptest.Server
	dir *meta.Directory
	rec *recorder
	ids map[string]string // placeholders in testdata bodies
}

func newEnv(t *testing.T) *env {
	rec := &recorder{}
	dir := meta.New(meta.Options{Recorder: rec, FallbackAdminRole: "supervisor"})
	mux := http.NewServeMux()
	New(dir, token, "https://records.example.gov/scim/v2", nil).Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &env{t: t, srv: srv, dir: dir, rec: rec, ids: map[string]string{}}
}

// do sends a request with a body from testdata (placeholders replaced) or
// inline, and decodes the JSON answer.
func (e *env) do(method, path, body string, want int) map[string]any {
	e.t.Helper()
	if strings.HasSuffix(body, ".json") {
		b, err := os.ReadFile("testdata/entra/" + body)
		if err != nil {
			e.t.Fatal(err)
		}
		body = string(b)
	}
	for k, v := range e.ids {
		body = strings.ReplaceAll(body, k, v)
		path = strings.ReplaceAll(path, k, v)
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, bytes.NewReader([]byte(body)))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != want {
		e.t.Fatalf("%s %s = %d, want %d: %v", method, path, resp.StatusCode, want, out)
	}
	return out
}

func TestEntraProvisioningLifecycle(t *testing.T) {
	e := newEnv(t)
	u := e.do("POST", "/scim/v2/Users", "create_user.json", 201)
	e.ids["USER_ID"] = u["id"].(string)
	m := e.do("POST", "/scim/v2/Users", "create_manager.json", 201)
	e.ids["MANAGER_ID"] = m["id"].(string)
	e.do("POST", "/scim/v2/Users", "create_user.json", 409) // same userName

	p, _ := e.dir.Person(e.ids["USER_ID"])
	if p.Department != "Private Wealth" || p.Role != "advisor" || p.Seniority != "senior" || !p.Official || len(p.Identities) != 2 || p.Email != "maria.chen@harborfinch.example" {
		t.Fatalf("created person: %+v", p)
	}

	// Entra's matching query, and one for a user that does not exist.
	l := e.do("GET", "/scim/v2/Users?filter="+url.QueryEscape(`userName eq "Maria.Chen@harborfinch.example"`), "", 200)
	if l["totalResults"].(float64) != 1 {
		t.Fatalf("filter: %v", l)
	}
	l = e.do("GET", "/scim/v2/Users?filter="+url.QueryEscape(`userName eq "nobody@example.com"`), "", 200)
	if l["totalResults"].(float64) != 0 {
		t.Fatalf("filter for nobody: %v", l)
	}
	l = e.do("GET", "/scim/v2/Users?filter="+url.QueryEscape(`emails[type eq "work" and value co "okafor"] or externalId eq "none"`), "", 200)
	if l["totalResults"].(float64) != 1 {
		t.Fatalf("value-path filter: %v", l)
	}
	e.do("GET", "/scim/v2/Users?filter="+url.QueryEscape(`userName zz "x"`), "", 400)

	e.do("PATCH", "/scim/v2/Users/USER_ID", "patch_replace.json", 200)
	e.do("PATCH", "/scim/v2/Users/USER_ID", "patch_no_path.json", 200)
	p, _ = e.dir.Person(e.ids["USER_ID"])
	if p.Email != "maria.chen@hf.example" || p.FamilyName != "Chen-Alvarez" || p.Title != "Senior Relationship Manager" ||
		p.Department != "Wealth Management" || p.Manager != e.ids["MANAGER_ID"] || p.DisplayName != "Maria Chen-Alvarez" || p.GivenName != "María" {
		t.Fatalf("patched person: %+v", p)
	}
	got := e.do("GET", "/scim/v2/Users/USER_ID", "", 200)
	ent := got[SchemaEnterprise].(map[string]any)
	if ent["manager"].(map[string]any)["value"] != e.ids["MANAGER_ID"] || got["meta"].(map[string]any)["location"] != "https://records.example.gov/scim/v2/Users/"+e.ids["USER_ID"] {
		t.Fatalf("user resource: %v", got)
	}

	g := e.do("POST", "/scim/v2/Groups", "create_group.json", 201)
	e.ids["GROUP_ID"] = g["id"].(string)
	e.do("PATCH", "/scim/v2/Groups/GROUP_ID", "group_add_members.json", 200)
	l = e.do("GET", "/scim/v2/Groups?excludedAttributes=members&filter="+url.QueryEscape(`displayName eq "Private Wealth Desk"`), "", 200)
	if l["totalResults"].(float64) != 1 || l["Resources"].([]any)[0].(map[string]any)["members"] != nil {
		t.Fatalf("group filter: %v", l)
	}
	e.do("PATCH", "/scim/v2/Groups/GROUP_ID", "group_remove_member_filter.json", 200)
	gs, _ := e.dir.Group(e.ids["GROUP_ID"])
	if len(gs.Members) != 1 || gs.Members[0] != e.ids["USER_ID"] {
		t.Fatalf("after remove by filter: %v", gs.Members)
	}
	e.do("PATCH", "/scim/v2/Groups/GROUP_ID", "group_remove_member_value.json", 200)
	gs, _ = e.dir.Group(e.ids["GROUP_ID"])
	if len(gs.Members) != 0 {
		t.Fatalf("after remove by value: %v", gs.Members)
	}

	// Deactivation ("False" as a string, as Entra sends it).
	e.do("PATCH", "/scim/v2/Users/USER_ID", "patch_disable.json", 200)
	p, _ = e.dir.Person(e.ids["USER_ID"])
	if p.Active {
		t.Fatal("still active")
	}
	if _, ok := e.dir.ByIdentity("whatsapp", "15550100001"); ok {
		t.Fatal("a deactivated person's identity still resolves")
	}
	e.do("DELETE", "/scim/v2/Users/MANAGER_ID", "", 204)
	e.do("GET", "/scim/v2/Users/MANAGER_ID", "", 404)
	e.do("DELETE", "/scim/v2/Groups/GROUP_ID", "", 204)

	// Every change is recorded, in order.
	want := []string{"person.put", "person.put", "person.put", "person.put", "group.put", "group.put", "group.put", "group.put",
		"person.put", "access.revoke", "access.revoke", "person.delete", "group.delete"}
	if got := e.rec.ops(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("recorded %v\nwant     %v", got, want)
	}
}

func TestDeprovisioningHandsOverAdminAndRemovesFromGroups(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	mk := func(user, role, manager string) string {
		p, err := e.dir.PutPerson(ctx, "test", personFor(user, role, manager))
		if err != nil {
			t.Fatal(err)
		}
		return p.ID
	}
	boss := mk("boss", "advisor", "")
	sup1 := mk("sup1", "supervisor", "")
	sup2 := mk("sup2", "supervisor", "")
	alice := mk("alice", "advisor", boss)
	bob := mk("bob", "advisor", "")
	desk, err := e.dir.PutGroup(ctx, "test", meta.GroupState{Group: groupNamed("desk", alice, bob), Admins: []string{alice}})
	if err != nil {
		t.Fatal(err)
	}
	ops, err := e.dir.PutGroup(ctx, "test", meta.GroupState{Group: groupNamed("ops", bob), Admins: []string{bob}})
	if err != nil {
		t.Fatal(err)
	}
	// alice leaves: her manager takes over the desk.
	e.ids["ALICE"] = alice
	e.do("PATCH", "/scim/v2/Users/ALICE", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":false}]}`, 200)
	d, _ := e.dir.Group(desk.ID)
	if strings.Join(d.Admins, ",") != boss || contains(d.Members, alice) || !contains(d.Members, boss) {
		t.Fatalf("desk after alice left: members %v admins %v", d.Members, d.Admins)
	}
	// bob (no manager) is deleted: the supervisors take over ops.
	e.ids["BOB"] = bob
	e.do("DELETE", "/scim/v2/Users/BOB", "", 204)
	o, _ := e.dir.Group(ops.ID)
	if len(o.Admins) != 2 || !contains(o.Admins, sup1) || !contains(o.Admins, sup2) || contains(o.Members, bob) {
		t.Fatalf("ops after bob left: members %v admins %v", o.Members, o.Admins)
	}
	handovers := 0
	for _, c := range e.rec.changes {
		if c.Op == meta.OpAdminHandover {
			handovers++
		}
	}
	if handovers != 3 {
		t.Fatalf("%d hand-overs recorded", handovers)
	}
	// Replaying the record rebuilds the same directory.
	re := meta.New(meta.Options{})
	for _, c := range e.rec.changes {
		re.Replay(c)
	}
	if a, b := mustJSON(re.People()), mustJSON(e.dir.People()); a != b {
		t.Fatalf("replayed people differ:\n%s\n%s", a, b)
	}
	if a, b := mustJSON(re.Groups()), mustJSON(e.dir.Groups()); a != b {
		t.Fatalf("replayed groups differ")
	}
}

func TestAuthAndErrors(t *testing.T) {
	e := newEnv(t)
	for _, h := range []string{"", "Bearer wrong", "Basic " + token} {
		req, _ := http.NewRequest("GET", e.srv.URL+"/scim/v2/Users", nil)
		if h != "" {
			req.Header.Set("Authorization", h)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Errorf("auth %q: %d", h, resp.StatusCode)
		}
	}
	e.do("POST", "/scim/v2/Users", `{"userName": ""}`, 400)
	e.do("POST", "/scim/v2/Users", `not json`, 400)
	e.do("PATCH", "/scim/v2/Users/nope", `{}`, 404)
	u := e.do("POST", "/scim/v2/Users", `{"userName":"x@example.com"}`, 201)
	e.ids["X"] = u["id"].(string)
	e.do("PATCH", "/scim/v2/Users/X", `{"Operations":[{"op":"Replace","path":"active","value":false}]}`, 400) // no PatchOp schema
	e.do("PATCH", "/scim/v2/Users/X", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Move","path":"active"}]}`, 400)
	e.do("PATCH", "/scim/v2/Users/X", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"maybe"}]}`, 400)
	// A change that cannot be recorded is not made.
	e.rec.fail = true
	e.do("PATCH", "/scim/v2/Users/X", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"title","value":"CFO"}]}`, 503)
	e.rec.fail = false
	if p, _ := e.dir.Person(e.ids["X"]); p.Title != "" {
		t.Fatal("an unrecorded change took effect")
	}
	e.do("GET", "/scim/v2/ServiceProviderConfig", "", 200)
}

func FuzzFilter(f *testing.F) {
	for _, s := range []string{`userName eq "a"`, `emails[type eq "work" and value co "x"]`, `not (a pr) or b sw "c"`, `members[value eq "1"]`, `(`, `a eq`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		flt, err := parseFilter(s)
		if err != nil {
			return
		}
		flt.match(func(string) []string { return []string{"a", ""} })
	})
}
