package index

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/search"
)

func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

// MustOpen opens an index in a fresh directory, closed when the test ends.
func MustOpen(tb testing.TB, dir string, key []byte) *Index {
	tb.Helper()
	ix, err := Open(dir, key)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ix.Close() })
	return ix
}

// loadEvents reads testdata/events.jsonl; line n is journal seq n.
func loadEvents(tb testing.TB) []Entry {
	tb.Helper()
	f, err := os.Open("testdata/events.jsonl")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var entries []Entry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		ev := new(onrecord.Event)
		if err := json.Unmarshal(sc.Bytes(), ev); err != nil {
			tb.Fatalf("events.jsonl line %d: %v", len(entries)+1, err)
		}
		if err := ev.Validate(); err != nil {
			tb.Fatalf("events.jsonl line %d: %v", len(entries)+1, err)
		}
		entries = append(entries, Entry{Seq: uint64(len(entries) + 1), Event: ev})
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return entries
}

func mustParse(tb testing.TB, q string, loc *time.Location) search.Query {
	tb.Helper()
	parsed, err := search.Parse(q, loc)
	if err != nil {
		tb.Fatal(err)
	}
	return parsed
}

// providerIDs maps hits to the provider ids of the test events.
func providerIDs(entries []Entry, res Results) []string {
	ids := []string{}
	for _, h := range res.Hits {
		ids = append(ids, entries[h.Seq-1].Event.ProviderID)
	}
	return ids
}

func loadedIndex(t *testing.T) (*Index, []Entry) {
	t.Helper()
	ix := MustOpen(t, t.TempDir(), testKey(1))
	entries := loadEvents(t)
	if err := ix.AddBatch(t.Context(), entries); err != nil {
		t.Fatal(err)
	}
	return ix, entries
}

func TestSearch_KnownAnswers(t *testing.T) {
	ix, entries := loadedIndex(t)
	data, err := os.ReadFile("testdata/queries.txt")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for line := range strings.Lines(string(data)) {
		line = strings.TrimSuffix(line, "\n")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		query, want := f[0], strings.Fields(f[1])
		if f[1] == "-" {
			want = []string{}
		}
		loc := time.UTC
		if len(f) > 2 {
			if loc, err = time.LoadLocation(f[2]); err != nil {
				t.Fatalf("%s: %v", line, err)
			}
		}
		n++
		t.Run(query+"@"+loc.String(), func(t *testing.T) {
			res, err := ix.Search(t.Context(), mustParse(t, query, loc), SearchOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got := providerIDs(entries, res); !slices.Equal(got, want) {
				t.Errorf("%s\n got %v\nwant %v", query, got, want)
			}
			if res.Count != len(want) || res.Capped {
				t.Errorf("count = %s, want %d", res.CountText(), len(want))
			}
		})
	}
	if n < 40 {
		t.Fatalf("only %d queries read", n)
	}
}

func TestSearch_RelevanceOrdersByMatchQuality(t *testing.T) {
	ix, entries := loadedIndex(t)
	q := mustParse(t, "wire OR funds OR escrow", nil)
	newest, err := ix.Search(t.Context(), q, SearchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	best, err := ix.Search(t.Context(), q, SearchOptions{Order: Relevance})
	if err != nil {
		t.Fatal(err)
	}
	if got := providerIDs(entries, newest); !slices.Equal(got, []string{"p14", "p12", "p02", "p01"}) {
		t.Errorf("newest first: %v", got)
	}
	// p01 has all three words; it ranks first by relevance.
	got := providerIDs(entries, best)
	if len(got) != 4 || got[0] != "p01" {
		t.Errorf("by relevance: %v, want p01 first", got)
	}
	for i := 1; i < len(best.Hits); i++ {
		if best.Hits[i].Score < best.Hits[i-1].Score {
			t.Errorf("scores not ascending: %v", best.Hits)
		}
	}
}

func TestSearch_CountIsCapped(t *testing.T) {
	ix, _ := loadedIndex(t)
	for _, tc := range []struct {
		cap      int
		count    int
		capped   bool
		wantText string
	}{
		{cap: 3, count: 3, capped: true, wantText: "more than 3"},
		{cap: 4, count: 4, capped: false, wantText: "4"},
		{cap: 0, count: 4, capped: false, wantText: "4"},
	} {
		res, err := ix.Search(t.Context(), mustParse(t, "wire", nil), SearchOptions{CountCap: tc.cap, Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		if res.Count != tc.count || res.Capped != tc.capped || res.CountText() != tc.wantText {
			t.Errorf("cap %d: count %d capped %v %q", tc.cap, res.Count, res.Capped, res.CountText())
		}
		if len(res.Hits) != 1 {
			t.Errorf("cap %d: %d hits with limit 1", tc.cap, len(res.Hits))
		}
	}
}

func TestSearch_LimitAndOffsetPage(t *testing.T) {
	ix, entries := loadedIndex(t)
	q := mustParse(t, "kind:message", nil)
	all, err := ix.Search(t.Context(), q, SearchOptions{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var paged []string
	for off := 0; ; off += 3 {
		res, err := ix.Search(t.Context(), q, SearchOptions{Limit: 3, Offset: off})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Hits) == 0 {
			break
		}
		paged = append(paged, providerIDs(entries, res)...)
	}
	if want := providerIDs(entries, all); !slices.Equal(paged, want) || len(want) != 12 {
		t.Errorf("pages %v, all %v", paged, want)
	}
	if _, err := ix.Search(t.Context(), q, SearchOptions{Offset: -1}); err == nil {
		t.Error("negative offset accepted")
	}
}

func TestSearch_SnippetsHighlightMatches(t *testing.T) {
	ix, _ := loadedIndex(t)
	for _, tc := range []struct {
		query   string
		matches []string
	}{
		{`"wire the funds"`, []string{"wire the funds"}},
		{`invoic* channel:signal`, []string{"invoice"}},
		{`cafe from:frank`, []string{"Café"}},
		{`resume_frank`, []string{"resume_frank"}},
		{`lunch fund`, []string{"lunch", "fund"}},
	} {
		res, err := ix.Search(t.Context(), mustParse(t, tc.query, nil), SearchOptions{Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Hits) != 1 {
			t.Fatalf("%s: %d hits", tc.query, len(res.Hits))
		}
		var matched []string
		var text strings.Builder
		for _, f := range res.Hits[0].Snippet {
			if f.Match {
				matched = append(matched, f.Text)
			}
			text.WriteString(f.Text)
			if strings.ContainsAny(f.Text, markOpen+markClose) {
				t.Errorf("%s: mark left in %q", tc.query, f.Text)
			}
		}
		if !slices.Equal(matched, tc.matches) {
			t.Errorf("%s: highlighted %q in %q, want %q", tc.query, matched, text.String(), tc.matches)
		}
	}
	// Without words there is nothing to highlight: the snippet is the
	// start of the body.
	res, err := ix.Search(t.Context(), mustParse(t, "from:hugo", nil), SearchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Hits) != 1 || len(res.Hits[0].Snippet) != 1 || !strings.HasPrefix(res.Hits[0].Snippet[0].Text, "The invoice number") {
		t.Errorf("preview: %+v", res.Hits)
	}
}

func TestSearch_HitCarriesMetadata(t *testing.T) {
	ix, _ := loadedIndex(t)
	res, err := ix.Search(t.Context(), mustParse(t, "agreement", nil), SearchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Hits) != 1 {
		t.Fatalf("%d hits", len(res.Hits))
	}
	h := res.Hits[0]
	want := Hit{Seq: 12, ID: "r12", Channel: "email", Kind: onrecord.KindMessage, Conversation: "thread-42",
		Direction: onrecord.Inbound, Sender: onrecord.Party{ID: "ana.lima@example.com", Name: "Ana Lima"},
		SentAt: time.Date(2024, 3, 11, 8, 0, 0, 0, time.UTC), HasAttachment: true}
	h.Snippet, h.Score = nil, 0
	if !reflect.DeepEqual(h, want) {
		t.Errorf("hit\n got %+v\nwant %+v", h, want)
	}
}

func TestSearch_Custodian(t *testing.T) {
	ix, entries := loadedIndex(t)
	if _, err := ix.Search(t.Context(), mustParse(t, "custodian:ana", nil), SearchOptions{}); !errors.Is(err, ErrNoCustodians) {
		t.Fatalf("without a resolver: %v", err)
	}
	day := func(d int) time.Time { return time.Date(2024, 3, d, 0, 0, 0, 0, time.UTC) }
	people := map[string][]CustodianSpan{
		// Ana's number until the 5th (then handed to someone else), her
		// email always.
		"ana": {
			{Channel: "whatsapp", ID: "+1 555 010 2030", To: day(5)},
			{Channel: "email", ID: "ana.lima@example.com"},
		},
		// The new holder of Ana's number, from the 5th.
		"nova": {{Channel: "whatsapp", ID: "15550102030", From: day(5)}},
		// The same number on another channel is another identity.
		"other":  {{Channel: "sms", ID: "15550102030"}},
		"nobody": nil,
	}
	resolve := func(_ context.Context, name string) ([]CustodianSpan, error) {
		spans, ok := people[name]
		if name == "broken" {
			return nil, errors.New("directory unavailable")
		}
		if !ok {
			return nil, onrecord.Errorf(onrecord.ENOTFOUND, "no such person")
		}
		return spans, nil
	}
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"custodian:ana", []string{"p12", "p03", "p02", "p01"}},
		{"custodian:nova", []string{"p13"}},
		{"custodian:other", nil},
		{"custodian:nobody", nil},
		{"custodian:ana wire", []string{"p12", "p02", "p01"}},
		{"custodian:ana OR custodian:nova", []string{"p13", "p12", "p03", "p02", "p01"}},
		{"custodian:ana -kind:message", nil},
	} {
		q := mustParse(t, tc.query, nil)
		res, err := ix.Search(t.Context(), q, SearchOptions{Custodian: resolve})
		if err != nil {
			t.Errorf("%s: %v", tc.query, err)
			continue
		}
		if got := providerIDs(entries, res); !slices.Equal(got, tc.want) {
			t.Errorf("%s = %v, want %v", tc.query, got, tc.want)
		}
		seqs, err := ix.Matches(t.Context(), q, resolve)
		if err != nil || len(seqs) < len(tc.want) {
			t.Errorf("Matches(%s) = %v, %v; want at least %d", tc.query, seqs, err, len(tc.want))
		}
	}
	_, err := ix.Search(t.Context(), mustParse(t, "custodian:zed", nil), SearchOptions{Custodian: resolve})
	var ce *CustodianError
	if !errors.As(err, &ce) || ce.Name != "zed" {
		t.Errorf("unknown custodian: %v, want a *CustodianError for zed", err)
	}
	_, err = ix.Search(t.Context(), mustParse(t, "custodian:broken", nil), SearchOptions{Custodian: resolve})
	if err == nil || errors.As(err, &ce) {
		t.Errorf("a failing resolver: %v, want an error that is not the query's fault", err)
	}
}

// Whatever the user types, it reaches SQLite as data: quotes, FTS5
// syntax and SQL in terms and field values are searched for, not run.
func TestSearch_InputIsNeverSyntax(t *testing.T) {
	ix, _ := loadedIndex(t)
	for _, q := range []string{
		`from:"x' OR 1=1 --"`,
		`channel:"slack' OR '1'='1"`,
		`conversation:"); DROP TABLE events; --"`,
		`NEAR(wire funds)`,
		`wire' OR 'funds`,
		`"wire" OR "^funds"`,
		`wire* AND {body}`,
		`"col : x"`,
	} {
		parsed, err := search.Parse(q, nil)
		if err != nil {
			continue
		}
		if _, err := ix.Search(t.Context(), parsed, SearchOptions{}); err != nil {
			t.Errorf("%s: %v", q, err)
		}
	}
	res, err := ix.Search(t.Context(), mustParse(t, "kind:message", nil), SearchOptions{})
	if err != nil || res.Count != 12 {
		t.Errorf("after hostile queries: %d, %v", res.Count, err)
	}
}

func TestIndex_ResumesFromPositionAfterReopen(t *testing.T) {
	dir := t.TempDir()
	entries := loadEvents(t)
	ix, err := Open(dir, testKey(7))
	if err != nil {
		t.Fatal(err)
	}
	if pos, err := ix.Position(t.Context()); err != nil || pos != 0 {
		t.Fatalf("empty index position = %d, %v", pos, err)
	}
	if err := ix.AddBatch(t.Context(), entries[:10]); err != nil {
		t.Fatal(err)
	}
	// A record that is not an event still moves the position.
	if err := ix.AddBatch(t.Context(), []Entry{{Seq: 100}}); err != nil {
		t.Fatal(err)
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}

	ix = MustOpen(t, dir, testKey(7))
	pos, err := ix.Position(t.Context())
	if err != nil || pos != 100 {
		t.Fatalf("position after reopen = %d, %v", pos, err)
	}
	// Replaying from an earlier point is harmless: what is at or below
	// the position is skipped.
	rest := make([]Entry, 0, len(entries))
	for _, e := range entries[5:] {
		rest = append(rest, Entry{Seq: e.Seq + 100, Event: e.Event})
	}
	if err := ix.AddBatch(t.Context(), append(entries[:10:10], rest...)); err != nil {
		t.Fatal(err)
	}
	res, err := ix.Search(t.Context(), mustParse(t, "lunch", nil), SearchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// p02, p04, p05, p06 from the first batch; p06 again at seq 106.
	var seqs []uint64
	for _, h := range res.Hits {
		seqs = append(seqs, h.Seq)
	}
	slices.Sort(seqs)
	if want := []uint64{2, 4, 5, 6, 106}; !slices.Equal(seqs, want) {
		t.Errorf("lunch hits %v, want %v", seqs, want)
	}
	if pos, _ := ix.Position(t.Context()); pos != 116 {
		t.Errorf("position = %d, want 116", pos)
	}
}

func TestOpen_WrongKeyIsRefused(t *testing.T) {
	dir := t.TempDir()
	ix := MustOpen(t, dir, testKey(1))
	if err := ix.AddBatch(t.Context(), loadEvents(t)); err != nil {
		t.Fatal(err)
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := Open(dir, testKey(2))
	if !errors.Is(err, ErrWrongKey) {
		t.Fatalf("Open with another key = %v, want ErrWrongKey", err)
	}
	if !strings.Contains(err.Error(), "reindex") {
		t.Errorf("error %q does not say what to do", err)
	}
	if _, err := Open(dir, []byte("short")); err == nil || !strings.Contains(err.Error(), "at least 32") {
		t.Errorf("short key: %v", err)
	}
	// The right key still opens it.
	MustOpen(t, dir, testKey(1))
}

func TestIndex_RebuildGivesIdenticalResults(t *testing.T) {
	ix, entries := loadedIndex(t)
	queries := []string{"wire", "invoic* OR lunch", "from:ana -has:attachment", "on:2024-03-10", "participant:frank"}
	before := map[string]Results{}
	for _, q := range queries {
		for _, order := range []Order{Newest, Relevance} {
			res, err := ix.Search(t.Context(), mustParse(t, q, nil), SearchOptions{Order: order})
			if err != nil {
				t.Fatal(err)
			}
			before[q+string(rune('0'+order))] = res
		}
	}
	err := ix.Rebuild(t.Context(), func(yield func(Entry, error) bool) {
		for _, e := range entries {
			if !yield(e, nil) {
				return
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range queries {
		for _, order := range []Order{Newest, Relevance} {
			res, err := ix.Search(t.Context(), mustParse(t, q, nil), SearchOptions{Order: order})
			if err != nil {
				t.Fatal(err)
			}
			b := before[q+string(rune('0'+order))]
			if !equalResults(res, b) {
				t.Errorf("%s (order %d) differs after rebuild:\n%+v\n%+v", q, order, b, res)
			}
		}
	}
	if pos, _ := ix.Position(t.Context()); pos != uint64(len(entries)) {
		t.Errorf("position after rebuild = %d", pos)
	}
	// A failing source stops the rebuild with its error.
	boom := errors.New("journal unreadable")
	err = ix.Rebuild(t.Context(), func(yield func(Entry, error) bool) { yield(Entry{}, boom) })
	if !errors.Is(err, boom) {
		t.Errorf("rebuild from failing source: %v", err)
	}
}

func equalResults(a, b Results) bool {
	if a.Count != b.Count || a.Capped != b.Capped || len(a.Hits) != len(b.Hits) {
		return false
	}
	return reflect.DeepEqual(a.Hits, b.Hits)
}

func TestNormID(t *testing.T) {
	for in, want := range map[string]string{
		"whatsapp:+15550102030": "15550102030",
		"+1 (555) 010-2030":     "15550102030",
		"15550102030":           "15550102030",
		"U024BE7LH":             "u024be7lh",
		"Ana.Lima@Example.com":  "ana.lima@example.com",
		"@ivy:example.org":      "@ivy:example.org",
		"1234":                  "1234",
	} {
		if got := normID(in); got != want {
			t.Errorf("normID(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestIndex_FilesAreInDir(t *testing.T) {
	dir := t.TempDir()
	ix := MustOpen(t, dir, testKey(1))
	if ix.Dir() != dir {
		t.Errorf("Dir() = %q", ix.Dir())
	}
	if _, err := os.Stat(filepath.Join(dir, FileName)); err != nil {
		t.Error(err)
	}
}

func TestIndex_SearchesRunWhileAdding(t *testing.T) {
	ix := MustOpen(t, t.TempDir(), testKey(4))
	entries := corpus(2000)
	done := make(chan error, 1)
	go func() {
		for i := 0; i < len(entries); i += 100 {
			if err := ix.AddBatch(t.Context(), entries[i:i+100]); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	q := mustParse(t, "wire OR funds", nil)
	last := 0
	for adding := true; adding; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			adding = false
		default:
		}
		res, err := ix.Search(t.Context(), q, SearchOptions{CountCap: 100000})
		if err != nil {
			t.Fatal(err)
		}
		// Each search sees a committed state: counts never go back.
		if res.Count < last {
			t.Fatalf("count went from %d to %d", last, res.Count)
		}
		last = res.Count
	}
	if pos, _ := ix.Position(t.Context()); pos != 2000 {
		t.Errorf("position = %d", pos)
	}
}

// FuzzSearch: every query the parser accepts runs without an error from
// SQLite, so a user's query never turns into a server error.
func FuzzSearch(f *testing.F) {
	data, err := os.ReadFile("testdata/queries.txt")
	if err != nil {
		f.Fatal(err)
	}
	for line := range strings.Lines(string(data)) {
		if q, _, _ := strings.Cut(strings.TrimSuffix(line, "\n"), "\t"); !strings.HasPrefix(q, "#") {
			f.Add(q)
		}
	}
	ix := MustOpen(f, f.TempDir(), testKey(5))
	if err := ix.AddBatch(f.Context(), loadEvents(f)); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in string) {
		q, err := search.Parse(in, nil)
		if err != nil {
			return
		}
		if _, err := ix.Search(t.Context(), q, SearchOptions{Order: Relevance}); err != nil && !errors.Is(err, ErrNoCustodians) {
			t.Fatalf("Search(%q): %v", q.String(), err)
		}
	})
}

// TestMatches_CarryLinkedRecords: an export's selection is every match and
// every record that refers to a match, in journal order.
func TestMatches_CarryLinkedRecords(t *testing.T) {
	ix, entries := loadedIndex(t)
	for _, tc := range []struct {
		query string
		want  []string // provider ids
	}{
		// p08 (an SMS) matches; its delivered status p09 comes with it.
		{"channel:twilio kind:message", []string{"p08", "p09"}},
		// The deleted WhatsApp message brings its delete record.
		{"from:15550102030 kind:message", []string{"p01", "p03", "p13"}},
		{"nothingmatchesthisword", []string{}},
	} {
		seqs, err := ix.Matches(t.Context(), mustParse(t, tc.query, time.UTC), nil)
		if err != nil {
			t.Fatalf("%s: %v", tc.query, err)
		}
		if !slices.IsSorted(seqs) {
			t.Errorf("%s: not in journal order: %v", tc.query, seqs)
		}
		got := []string{}
		for _, s := range seqs {
			got = append(got, entries[s].Event.ProviderID) // entries[i] is journal seq i
		}
		if tc.want != nil && !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.query, got, tc.want)
		}
		// Every record linked to a match is in the selection.
		in := map[string]bool{}
		for _, id := range got {
			in[id] = true
		}
		for _, e := range entries {
			if e.Event.Target != "" && in[e.Event.Target] && !in[e.Event.ProviderID] {
				t.Errorf("%s: %s refers to a match and is missing", tc.query, e.Event.ProviderID)
			}
		}
	}
}

// TestOpen_OldSchemaIsRebuilt: an index written by another version is a
// stale cache: Open starts it over, empty, at position 0.
func TestOpen_OldSchemaIsRebuilt(t *testing.T) {
	dir := t.TempDir()
	ix := MustOpen(t, dir, testKey(1))
	if err := ix.AddBatch(t.Context(), loadEvents(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := ix.db.Exec("PRAGMA user_version = 1"); err != nil {
		t.Fatal(err)
	}
	ix.Close()
	ix = MustOpen(t, dir, testKey(1))
	if pos, err := ix.Position(t.Context()); err != nil || pos != 0 {
		t.Fatalf("position after rebuild: %d, %v", pos, err)
	}
	if err := ix.AddBatch(t.Context(), loadEvents(t)); err != nil {
		t.Fatal(err)
	}
	res, err := ix.Search(t.Context(), mustParse(t, "lunch", time.UTC), SearchOptions{})
	if err != nil || res.Count == 0 {
		t.Fatalf("search after rebuild: %+v %v", res, err)
	}
}
