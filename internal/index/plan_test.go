package index

import (
	"strings"
	"testing"
)

// TestSearch_ConversationUsesIndexes checks the plan of a conversation:
// lookup: both indexes, not a scan of events.
func TestSearch_ConversationUsesIndexes(t *testing.T) {
	ix, _ := loadedIndex(t)
	c := &compiler{ctx: t.Context(), q: mustParse(t, `conversation:"deal team"`, nil)}
	p, err := c.plan()
	if err != nil {
		t.Fatal(err)
	}
	rows, err := ix.db.QueryContext(t.Context(), "EXPLAIN QUERY PLAN SELECT e.seq FROM events e WHERE "+
		strings.Join(p.where, " AND ")+" ORDER BY e.sent_at DESC, e.seq DESC LIMIT 20", p.args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	got := strings.Join(plan, "\n")
	for _, want := range []string{"INDEX events_conversation (conversation=?)", "INDEX events_group_name (group_name=?)"} {
		if !strings.Contains(got, want) {
			t.Errorf("plan lacks %q:\n%s", want, got)
		}
	}
}
