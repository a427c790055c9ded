package index

import (
	"strings"
	"testing"
)

// TestSearch_LookupsUseIndexes checks the query plans of the lookups by
// conversation, participant and target: each probes its epoch-led index
// once per epoch (epochShift), never scans events or participants.
func TestSearch_LookupsUseIndexes(t *testing.T) {
	ix, _ := loadedIndex(t)
	whereSQL := func(p *plan) (string, []any) {
		return "SELECT e.seq FROM events e WHERE " + strings.Join(p.where, " AND ") +
			" ORDER BY e.sent_at DESC, e.seq DESC LIMIT 20", p.args
	}
	for _, tc := range []struct {
		name, query string
		sql         func(*plan) (string, []any)
		want        []string
	}{
		{"conversation", `conversation:"deal team"`, whereSQL, []string{
			"INDEX events_conversation (epoch=? AND conversation=?)",
			"INDEX events_group_name (epoch=? AND group_name=?)"}},
		{"from", `from:15550000042`, whereSQL, []string{
			"SEARCH participants USING PRIMARY KEY (epoch=? AND id_norm=? AND role=?)"}},
		{"participant", `participant:15550000042`, whereSQL, []string{
			"SEARCH participants USING PRIMARY KEY (epoch=? AND id_norm=?)"}},
		{"linked-by-target", `channel:slack`, matchesSQL, []string{
			"INDEX events_target (epoch=? AND channel=? AND target=?)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &compiler{ctx: t.Context(), q: mustParse(t, tc.query, nil)}
			p, err := c.plan()
			if err != nil {
				t.Fatal(err)
			}
			sql, args := tc.sql(p)
			rows, err := ix.db.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+sql, args...)
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
			for _, want := range tc.want {
				if !strings.Contains(got, want) {
					t.Errorf("plan lacks %q:\n%s", want, got)
				}
			}
			if strings.Contains(got, "SCAN participants") || strings.Contains(got, "SCAN e\n") || strings.HasSuffix(got, "SCAN e") {
				t.Errorf("plan scans a table:\n%s", got)
			}
		})
	}
}
