package app

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/archive"
	"github.com/onrecord/onrecord/internal/config"
	"github.com/onrecord/onrecord/internal/sim/fleet"
)

// TestGroupRules runs the group rules through the API and the WhatsApp
// simulator: who may create a group, who may be in it, who administers
// it, the roster sealed with every group message in and out, flags on
// groups and senders outside the rules, and a departing admin's rights
// handed to their manager.
func TestGroupRules(t *testing.T) {
	f, srv, cfg := fleetConfig(t, fleet.Options{SignalStreamCount: -1})
	public := cfg.PublicURL
	cfg.APITokens = []string{testAPIToken}
	cfg.Roles = []config.Role{
		{Name: "advisor", Channels: []string{fleet.WhatsApp}, CreateGroups: []string{fleet.WhatsApp}},
		{Name: "ops", Channels: []string{fleet.WhatsApp}},
		{Name: "supervisor", Channels: []string{fleet.WhatsApp}, AdministerGroups: []string{"*"}},
	}
	a := serveTestApp(t, srv, cfg)

	ctx := t.Context()
	dir := a.Governance.Directory
	person := func(user, role, manager, number string) onrecord.Person {
		p, err := dir.PutPerson(ctx, "test", onrecord.Person{UserName: user, Role: role, Manager: manager, Active: true,
			Identities: []onrecord.Identity{{Channel: fleet.WhatsApp, Address: number}}})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	boss := person("boss", "advisor", "", "15550103")
	maria := person("maria", "advisor", boss.ID, "15550100")
	person("tom", "ops", "", "15550101")
	person("sup", "supervisor", "", "15550102")
	const client, pending, stranger = "4915112345678", "4915112340000", "4915119999999"
	for _, n := range []string{client, pending} {
		if _, err := a.Governance.Contacts.Add(ctx, maria, fleet.WhatsApp, n, "Client "+n[len(n)-4:], ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok, err := a.Governance.Contacts.Answer(ctx, fleet.WhatsApp, client, "yes"); !ok || err != nil {
		t.Fatalf("consent: %v %v", ok, err)
	}

	api := func(path, body string) (int, string) {
		t.Helper()
		return apiDo(t, public, testAPIToken, "POST", path, body)
	}
	create := func(from, conv string, members ...string) (int, string) {
		m, _ := json.Marshal(members)
		return api("/api/v1/groups", `{"from":"`+from+`","channel":"whatsapp","conversation":"`+conv+`","name":"Wealth desk","members":`+string(m)+`}`)
	}
	for _, tt := range []struct {
		name, from string
		members    []string
		code       int
		want       string
	}{
		{"a role without create_groups", "tom", []string{client}, 403, "group_creation_not_allowed"},
		{"a contact who has not consented", "maria", []string{client, pending}, 403, "group_member_not_allowed"},
		{"someone who is not a contact", "maria", []string{stranger}, 403, "group_member_not_allowed"},
		{"not an employee", "nobody", []string{client}, 403, "not_in_directory"},
	} {
		if code, body := create(tt.from, "120363000000000001", tt.members...); code != tt.code || !strings.Contains(body, tt.want) {
			t.Errorf("%s: %d %s", tt.name, code, body)
		}
	}
	code, body := create("maria", "120363000000000001", "15550101", "15550102", client)
	if code != 201 {
		t.Fatalf("create: %d %s", code, body)
	}
	var g onrecord.ChatGroup
	json.Unmarshal([]byte(body), &g)
	admins := func(g onrecord.ChatGroup) (out []string) {
		for _, m := range g.Members {
			if m.Admin {
				out = append(out, m.Address)
			}
		}
		return out
	}
	if got := admins(g); !slices.Equal(got, []string{"15550100", "15550102"}) {
		t.Fatalf("admins %v: the creator and the supervisor by rule", got)
	}
	if code, body := create("boss", "120363000000000001", client); code != 409 {
		t.Fatalf("the same conversation twice: %d %s", code, body)
	}
	// Only an admin changes members, and only under the same rules.
	if code, body := api("/api/v1/groups/"+g.ID+"/members", `{"from":"tom","add":["15550103"]}`); code != 403 {
		t.Fatalf("a member who is not an admin adds someone: %d %s", code, body)
	}
	if code, body := api("/api/v1/groups/"+g.ID+"/members", `{"from":"sup","add":["`+pending+`"]}`); code != 403 || !strings.Contains(body, "not accepted") {
		t.Fatalf("adding an unconsented contact: %d %s", code, body)
	}
	if code, body := api("/api/v1/groups/"+g.ID+"/members", `{"from":"sup","add":["15550103"],"remove":["15550101"]}`); code != 200 {
		t.Fatalf("admin changes members: %d %s", code, body)
	}

	// Inbound: a member, a stranger in the governed group, an ungoverned
	// group, and an unknown contact one to one.
	inbound := func(id, from, group, text string) {
		t.Helper()
		grp := ""
		if group != "" {
			grp = `"group_id":"` + group + `",`
		}
		body := `{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{"messaging_product":"whatsapp",` +
			`"metadata":{"display_phone_number":"15550100","phone_number_id":"106540352242922"},"contacts":[{"profile":{"name":"X"},"wa_id":"` + from + `"}],` +
			`"messages":[{"from":"` + from + `",` + grp + `"id":"` + id + `","timestamp":"` + strconv.FormatInt(time.Now().Unix(), 10) + `","type":"text","text":{"body":"` + text + `"}}]}}]}]}`
		mac := hmac.New(sha256.New, []byte(cfg.Channels[0].AppSecret))
		mac.Write([]byte(body))
		req, _ := http.NewRequest("POST", public+"/hooks/whatsapp", strings.NewReader(body))
		req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("webhook: %v %v", err, resp)
		}
		resp.Body.Close()
	}
	inbound("wamid.g1", client, "120363000000000001", "Morning all")
	inbound("wamid.g2", stranger, "120363000000000001", "Who added me?")
	inbound("wamid.g3", client, "120363999999999999", "Side chat")
	inbound("wamid.d1", stranger, "", "Hello?")
	if code, body := api("/api/v1/messages", `{"from":"maria","channel":"whatsapp","to":"120363000000000001","body":"Rates are unchanged."}`); code != 201 {
		t.Fatalf("send to the group: %d %s", code, body)
	}
	if sent := f.WhatsApp.Sent(); len(sent) == 0 || !strings.Contains(string(sent[len(sent)-1].Payload), `"recipient_type":"group"`) {
		t.Fatalf("group send through the provider: %+v", sent)
	}
	if code, body := api("/api/v1/messages", `{"from":"tom","channel":"whatsapp","to":"120363000000000001","body":"hi"}`); code != 403 || !strings.Contains(body, "not a member") {
		t.Fatalf("a removed member sends to the group: %d %s", code, body)
	}

	// Departure: maria leaves; her admin rights go to her manager.
	maria.Active = false
	if _, err := dir.PutPerson(ctx, "scim", maria); err != nil {
		t.Fatal(err)
	}
	g, _ = dir.ChatGroup(g.ID)
	if _, still := g.Member("15550100"); still || !slices.Equal(admins(g), []string{"15550102", "15550103"}) {
		t.Fatalf("after maria left: %+v", g.Members)
	}

	type seen struct {
		roster []string
		flags  []string
	}
	got := map[string]seen{}
	var subtypes []string
	for seq := range a.Archive.Len() {
		ev, err := a.Archive.Get(seq)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Kind == onrecord.KindSystem {
			subtypes = append(subtypes, ev.Subtype)
			continue
		}
		if ev.Kind != onrecord.KindMessage {
			continue
		}
		var s seen
		if ev.Capture != nil {
			for _, m := range ev.Capture.Roster {
				s.roster = append(s.roster, m.Address)
			}
			s.flags = ev.Capture.Flags
		}
		got[ev.Body] = s
	}
	for _, tt := range []struct {
		body   string
		roster []string
		flags  []string
	}{
		{"Morning all", []string{"15550100", "15550102", client, "15550103"}, nil},
		{"Who added me?", []string{"15550100", "15550102", client, "15550103"}, []string{onrecord.FlagNotAMember, onrecord.FlagUnknownContact}},
		{"Side chat", nil, []string{onrecord.FlagUngovernedGroup}},
		{"Hello?", nil, []string{onrecord.FlagUnknownContact}},
		{"Rates are unchanged.", []string{"15550100", "15550102", client, "15550103"}, nil},
	} {
		if s := got[tt.body]; !slices.Equal(s.roster, tt.roster) || !slices.Equal(s.flags, tt.flags) {
			t.Errorf("%q captured with roster %v flags %v, want %v %v", tt.body, s.roster, s.flags, tt.roster, tt.flags)
		}
	}
	joined := strings.Join(subtypes, ",")
	for _, want := range []string{"directory.chatgroup.put", "directory.admin.handover", "policy.decision"} {
		if !strings.Contains(joined, want) {
			t.Errorf("no %s record in %v", want, subtypes)
		}
	}

	// The conversation view returns the group's records and is itself
	// recorded.
	req, _ := http.NewRequest("GET", public+"/api/v1/conversations/120363000000000001?channel=whatsapp", nil)
	req.Header.Set("Authorization", "Bearer "+testAPIToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var conv ConversationRecords
	json.NewDecoder(resp.Body).Decode(&conv)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(conv.Records) < 3 || conv.Records[0].Event.Capture == nil {
		t.Fatalf("conversation view: %d %+v", resp.StatusCode, conv)
	}

	// verify counts each step by what it records.
	a.Close()
	rep, err := archive.VerifyDir(ctx, archive.VerifyOptions{Config: cfg})
	if err != nil || !rep.OK {
		t.Fatalf("verify: %v %+v", err, rep)
	}
	for k, n := range map[string]uint64{
		"directory.chatgroup.put":                            3, // created, members changed, maria removed
		"directory.admin.handover":                           1,
		"directory.contact.put:pending":                      2,
		"directory.contact.put:accepted":                     1,
		"access.view":                                        1,
		"policy.decision:refused:group_creation_not_allowed": 1,
		"policy.decision:refused:group_member_not_allowed":   3,
		"policy.decision:refused:not_in_directory":           1,
	} {
		if rep.BySystemKind[k] < n {
			t.Errorf("verify by_system_kind[%s] = %d, want at least %d (%v)", k, rep.BySystemKind[k], n, rep.BySystemKind)
		}
	}
}
