package index

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ncruces/go-sqlite3"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/search"
)

// Order is the order of search results.
type Order int

const (
	// Newest puts the most recently sent events first (the default).
	Newest Order = iota
	// Relevance puts the best full-text matches first (BM25, body
	// weighted over names and file names), newest first among equals. A
	// query without words has no relevance and comes newest first.
	Relevance
)

// Defaults and bounds of SearchOptions.
const (
	DefaultLimit    = 20
	MaxLimit        = 1000
	DefaultCountCap = 1000
	snippetTokens   = 16
	previewRunes    = 160
)

// SearchOptions say which page of results to return and how.
type SearchOptions struct {
	Order  Order
	Limit  int // DefaultLimit when 0, at most MaxLimit
	Offset int
	// CountCap is where counting stops; Results then says "more than"
	// (DefaultCountCap when 0).
	CountCap int
	// Custodian resolves a custodian: name to the business identities
	// the person held and when. Without it, custodian: queries fail with
	// ErrNoCustodians.
	Custodian CustodianResolver
}

// Results is one page of a search.
type Results struct {
	Hits []Hit
	// Count is how many events match, up to the cap; Capped says there
	// are more than Count.
	Count  int
	Capped bool
}

// CountText says the count as a person reads it: "3", "more than 1000".
func (r Results) CountText() string {
	if r.Capped {
		return "more than " + strconv.Itoa(r.Count)
	}
	return strconv.Itoa(r.Count)
}

// Hit is one matching event.
type Hit struct {
	Seq           uint64
	ID            string
	Channel       string
	Kind          onrecord.EventKind
	Conversation  string
	GroupName     string
	Direction     onrecord.Direction
	Sender        onrecord.Party
	SentAt        time.Time
	HasAttachment bool
	Target        string
	// Snippet is the best-matching stretch of the text, split where
	// matched words begin and end; without words in the query it is the
	// start of the body. Renderers escape every fragment.
	Snippet []Fragment
	// Score is the BM25 relevance (lower is better), when ordering by
	// relevance.
	Score float64
}

// Fragment is a piece of a snippet; Match marks a piece the query matched.
type Fragment struct {
	Text  string
	Match bool
}

// The marks SQLite puts around matches in snippets: private-use
// characters that ftsText keeps out of indexed text.
const (
	markOpen  = "\uE000"
	markClose = "\uE001"
)

const hitColumns = `e.seq, e.record_id, e.channel, e.kind, e.conversation, e.group_name, e.direction,
	e.sender_id, e.sender_name, e.sent_at, e.has_attachment, e.target`

// Search runs q. A query that the index cannot answer (custodian: without
// a resolver) fails before touching the data; errors from a cancelled ctx
// are returned as they are.
func (ix *Index) Search(ctx context.Context, q search.Query, opts SearchOptions) (Results, error) {
	if opts.Limit < 0 || opts.Offset < 0 || opts.CountCap < 0 {
		return Results{}, fmt.Errorf("search: limit, offset and count cap must not be negative")
	}
	limit := opts.Limit
	if limit == 0 {
		limit = DefaultLimit
	}
	limit = min(limit, MaxLimit)
	countCap := opts.CountCap
	if countCap == 0 {
		countCap = DefaultCountCap
	}
	c := &compiler{ctx: ctx, q: q, custodian: opts.Custodian}
	p, err := c.plan()
	if err != nil {
		return Results{}, fmt.Errorf("search %q: %w", q.String(), err)
	}

	var from, score string
	var where []string
	var args []any
	if p.match != "" {
		from = "fts JOIN events e ON e.seq = fts.rowid"
		score = "bm25(fts, 1.0, 0.5, 0.5, 0.5)"
		where = append(where, "fts MATCH ?")
		args = append(args, p.match)
	} else {
		from = "events e"
		score = "0"
	}
	where = append(where, p.where...)
	args = append(args, p.args...)
	cond := "1"
	if len(where) > 0 {
		cond = strings.Join(where, " AND ")
	}
	innerOrder, outerOrder := "e.sent_at DESC, e.seq DESC", "h.sent_at DESC, h.seq DESC"
	if opts.Order == Relevance && p.match != "" {
		innerOrder, outerOrder = "score, "+innerOrder, "h.score, "+outerOrder
	} else {
		score = "0" // not needed: skip computing it for every match
	}

	if p.match != "" && opts.Order != Relevance && limit+opts.Offset <= newestMaxK && !ix.sortAlways {
		res, err := ix.searchNewest(ctx, p, cond, args, limit, opts.Offset, countCap)
		if err != nil {
			return Results{}, fmt.Errorf("search %q: %w", q.String(), err)
		}
		return res, nil
	}

	var res Results
	// The SQL is put together from fragments written in this package
	// (query.go); every value from the query is bound as a ? argument.
	countSQL := "SELECT count(*) FROM (SELECT 1 FROM " + from + " WHERE " + cond + " LIMIT ?)" // #nosec G202
	if err := ix.db.QueryRowContext(ctx, countSQL, append(args[:len(args):len(args)], countCap+1)...).Scan(&res.Count); err != nil {
		return Results{}, fmt.Errorf("search %q: count: %w", q.String(), err)
	}
	if res.Count > countCap {
		res.Count, res.Capped = countCap, true
	}

	// The page is chosen first with only the columns it is sorted by, so
	// a broad query sorts narrow rows; the hits' other columns and their
	// snippets are read for the page alone.
	pageSQL := "SELECT " + hitColumns + ", h.score FROM (SELECT e.seq AS seq, e.sent_at AS sent_at, " + score + // #nosec G202 -- as countSQL
		" AS score FROM " + from + " WHERE " + cond + " ORDER BY " + innerOrder + " LIMIT ? OFFSET ?) h " +
		"JOIN events e ON e.seq = h.seq ORDER BY " + outerOrder
	rows, err := ix.db.QueryContext(ctx, pageSQL, append(args, limit, opts.Offset)...)
	if err != nil {
		return Results{}, fmt.Errorf("search %q: %w", q.String(), err)
	}
	defer rows.Close()
	for rows.Next() {
		var h Hit
		var seq, sentAt int64
		var kind, dir string
		if err := rows.Scan(&seq, &h.ID, &h.Channel, &kind, &h.Conversation, &h.GroupName, &dir,
			&h.Sender.ID, &h.Sender.Name, &sentAt, &h.HasAttachment, &h.Target, &h.Score); err != nil {
			return Results{}, fmt.Errorf("search %q: %w", q.String(), err)
		}
		h.Seq, h.Kind, h.Direction = uint64(seq), onrecord.EventKind(kind), onrecord.Direction(dir) // #nosec G115 -- index positions are journal seqs + 1, stored from uint64s below 2^63
		h.SentAt = time.Unix(0, sentAt).UTC()
		res.Hits = append(res.Hits, h)
	}
	if err := rows.Err(); err != nil {
		return Results{}, fmt.Errorf("search %q: %w", q.String(), err)
	}
	rows.Close()
	if len(res.Hits) == 0 {
		return res, nil
	}
	err = ix.withRaw(ctx, func(c *sqlite3.Conn) error { return snippets(c, p.match, res.Hits) })
	if err != nil {
		return Results{}, fmt.Errorf("search %q: snippet: %w", q.String(), err)
	}
	return res, nil
}

// matchesSQL is Matches' query: p's hits, and every event whose target is
// the provider id of a hit on the same channel. The CROSS JOIN keeps the
// hits outside: without statistics SQLite would otherwise walk every
// target of every epoch and look each up among the hits.
func matchesSQL(p *plan) (string, []any) {
	from, where, args := "events e", p.where, p.args
	if p.match != "" {
		from = "fts JOIN events e ON e.seq = fts.rowid"
		where = append([]string{"fts MATCH ?"}, where...)
		args = append([]any{p.match}, args...)
	}
	cond := "1"
	if len(where) > 0 {
		cond = strings.Join(where, " AND ")
	}
	return "WITH hits(seq) AS (SELECT e.seq FROM " + from + " WHERE " + cond + ") " +
		"SELECT seq FROM hits UNION SELECT l.seq FROM events h CROSS JOIN events l ON " + inEpochs("l.epoch") +
		" AND l.channel = h.channel AND l.target = h.provider_id " +
		"WHERE h.seq IN (SELECT seq FROM hits) AND l.target != '' ORDER BY 1", args
}

// Matches returns every event q matches together with the events that
// refer to them (edits, deletes, reactions, statuses and retried
// attachments of a matched message, by channel and target), as journal
// sequence numbers (index positions less one), in journal order. It is
// the selection of an export: a production carries a message's history
// with it.
func (ix *Index) Matches(ctx context.Context, q search.Query, custodian CustodianResolver) ([]uint64, error) {
	c := &compiler{ctx: ctx, q: q, custodian: custodian}
	p, err := c.plan()
	if err != nil {
		return nil, fmt.Errorf("search %q: %w", q.String(), err)
	}
	sql, args := matchesSQL(p)
	rows, err := ix.db.QueryContext(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("search %q: %w", q.String(), err)
	}
	defer rows.Close()
	var out []uint64
	for rows.Next() {
		var seq int64
		if err := rows.Scan(&seq); err != nil {
			return nil, fmt.Errorf("search %q: %w", q.String(), err)
		}
		out = append(out, uint64(seq)-1) // #nosec G115 -- index positions are journal seqs + 1: at least 1
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("search %q: %w", q.String(), err)
	}
	return out, nil
}

// snippets returns the snippets of hits (sets each Hit.Snippet): the best
// stretch of each event's text for match, or the start of its body when
// the query has no words.
//
// With words, one statement walks the matches from the lowest hit's seq
// up to the highest's and makes snippets for the hits alone: FTS5 finds a
// single rowid of an expression by reading every term's doclist up to it,
// so asking row by row would read them once per hit.
func snippets(c *sqlite3.Conn, match string, hits []Hit) error {
	if len(hits) == 0 {
		return nil
	}
	if match == "" {
		st, _, err := c.Prepare(fmt.Sprintf("SELECT substr(body, 1, %d) FROM fts WHERE rowid = ?", previewRunes+1))
		if err != nil {
			return err
		}
		defer st.Close()
		for i := range hits {
			if err := st.BindInt64(1, int64(hits[i].Seq)); err != nil { // #nosec G115 -- a journal seq: below 2^63 (Add refuses larger)
				return err
			}
			if st.Step() && st.ColumnType(0) != sqlite3.NULL {
				hits[i].Snippet = preview(st.ColumnText(0))
			}
			if err := errors.Join(st.Err(), st.Reset()); err != nil {
				return err
			}
		}
		return nil
	}
	lo, hi := hits[0].Seq, hits[0].Seq
	at := make(map[int64][]int, len(hits))
	marks := make([]string, len(hits))
	args := []any{match, 0, 0}
	for i, h := range hits {
		lo, hi = min(lo, h.Seq), max(hi, h.Seq)
		at[int64(h.Seq)] = append(at[int64(h.Seq)], i) // #nosec G115 -- a journal seq: below 2^63 (Add refuses larger)
		marks[i] = "?" + strconv.Itoa(i+4)
		args = append(args, int64(h.Seq)) // #nosec G115 -- a journal seq: below 2^63 (Add refuses larger)
	}
	args[1], args[2] = int64(lo), int64(hi) // #nosec G115 -- journal seqs: below 2^63 (Add refuses larger)
	st, err := prepareBound(c, fmt.Sprintf("SELECT rowid, CASE WHEN rowid IN (%s) THEN snippet(fts, -1, '%s', '%s', '…', %d) END "+
		"FROM fts WHERE fts MATCH ?1 AND rowid >= ?2 AND rowid <= ?3",
		strings.Join(marks, ", "), markOpen, markClose, snippetTokens), args...)
	if err != nil {
		return err
	}
	defer st.Close()
	for left := len(at); left > 0 && st.Step(); {
		is, ok := at[st.ColumnInt64(0)]
		if !ok || st.ColumnType(1) == sqlite3.NULL {
			continue
		}
		frags := fragments(st.ColumnText(1))
		for _, i := range is {
			hits[i].Snippet = frags
		}
		left--
	}
	return st.Err()
}

// fragments splits a snippet at SQLite's match marks.
func fragments(s string) []Fragment {
	s = strings.ReplaceAll(s, nameMark, "") // a snippet of a name
	var out []Fragment
	for s != "" {
		i := strings.Index(s, markOpen)
		if i < 0 {
			out = append(out, Fragment{Text: s})
			break
		}
		if i > 0 {
			out = append(out, Fragment{Text: s[:i]})
		}
		s = s[i+len(markOpen):]
		j := strings.Index(s, markClose)
		if j < 0 {
			j = len(s)
		}
		out = append(out, Fragment{Text: s[:j], Match: true})
		s = strings.TrimPrefix(s[j:], markClose)
	}
	return out
}

// preview is the start of a body, cut at a word when it is long.
func preview(s string) []Fragment {
	if s == "" {
		return nil
	}
	if utf8.RuneCountInString(s) > previewRunes {
		cut := 0
		for range previewRunes {
			_, n := utf8.DecodeRuneInString(s[cut:])
			cut += n
		}
		s = s[:cut]
		if i := strings.LastIndexFunc(s, unicode.IsSpace); i > previewRunes/2 {
			s = s[:i]
		}
		s += "…"
	}
	return []Fragment{{Text: s}}
}

func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.Is(unicode.Co, r)
}
