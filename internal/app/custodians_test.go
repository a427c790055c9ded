package app

import (
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/onrecord/onrecord"
)

// TestSearchByCustodian searches custodian: through the API: a person's
// records are those of every identity they held, while they held it, so a
// number handed from one employee to another splits its conversations
// between them at the hand-over; names the directory does not know, or
// that fit two people, are the query's fault (400).
func TestSearchByCustodian(t *testing.T) {
	a, srv := apiTestApp(t)

	ctx := t.Context()
	dir := a.Governance.Directory
	put := func(p onrecord.Person) onrecord.Person {
		t.Helper()
		p.Active = true
		got, err := dir.PutPerson(ctx, "test", p)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	const desk, own = "15550100", "15550199"
	wa := func(n string) []onrecord.Identity { return []onrecord.Identity{{Channel: "whatsapp", Address: n}} }
	maria := put(onrecord.Person{UserName: "maria", GivenName: "Maria", FamilyName: "Silva", Email: "maria@bank.example", Identities: wa(desk)})
	put(onrecord.Person{UserName: "mario", GivenName: "Maria", FamilyName: "Silva", Email: "mario@bank.example"})

	now := time.Now().UTC()
	n := 0
	msg := func(from, to, body string, at time.Time) {
		t.Helper()
		n++
		ev := &onrecord.Event{Channel: "whatsapp", Kind: onrecord.KindMessage, ProviderID: "wamid." + body,
			Conversation: "c-" + body, Direction: onrecord.Inbound, Sender: onrecord.Party{ID: from},
			Recipients: []onrecord.Party{{ID: to}}, SentAt: at, Body: body}
		if _, err := a.Archive.Append(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	msg(desk, "4915112345678", "alpha", now.Add(-time.Hour))
	msg("4915112345678", desk, "bravo", now.Add(-time.Hour))
	msg("4915100000000", "4915112345678", "charlie", now.Add(-time.Hour)) // nobody's
	// The desk number goes from Maria to Tom; Maria gets her own.
	maria.Identities = wa(own)
	put(maria)
	put(onrecord.Person{UserName: "tom", Email: "tom@bank.example", Identities: wa(desk)})
	msg(desk, "4915112345678", "delta", now.Add(time.Hour))
	msg(own, "4915112345678", "echo", now.Add(time.Hour))

	search := func(q string) (int, []string) {
		t.Helper()
		var res SearchResult
		resp := apiCall(t, srv, "GET", "/api/v1/search?"+url.Values{"q": {q}}.Encode(), "", &res)
		var bodies []string
		for _, h := range res.Hits {
			bodies = append(bodies, h.Snippet)
		}
		slices.Sort(bodies)
		return resp.StatusCode, bodies
	}
	for _, tc := range []struct {
		query  string
		status int
		want   []string
	}{
		{"custodian:maria", 200, []string{"alpha", "bravo", "echo"}},
		{"custodian:maria@bank.example", 200, []string{"alpha", "bravo", "echo"}},
		{"custodian:tom", 200, []string{"delta"}},
		{"custodian:tom OR custodian:maria", 200, []string{"alpha", "bravo", "delta", "echo"}},
		{"custodian:mario", 200, nil}, // a person with no identities
		{`custodian:"Maria Silva"`, 400, nil},
		{"custodian:nobody", 400, nil},
	} {
		status, got := search(tc.query)
		if status != tc.status || (status == 200 && !slices.Equal(got, tc.want)) {
			t.Errorf("%s: %d %v, want %d %v", tc.query, status, got, tc.status, tc.want)
		}
	}
}
