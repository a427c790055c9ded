package index

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ncruces/go-sqlite3"
	"github.com/ncruces/go-sqlite3/driver"

	"github.com/onrecord/onrecord"
)

// The newest-first search of a full-text query, without sorting every
// match.
//
// FTS5 gives a query's matches in rowid order cheaply, and the rowid is the
// journal seq; results are ordered by sent_at, which live capture makes
// almost the same order (imports of old messages are the exception). So
// the search walks the matches from the highest seq down, keeping the best
// offset+limit by (sent_at, seq) in a heap, and stops as soon as nothing
// further down can enter the heap: sent_max holds, per block of seqs, the
// latest sent_at at or below the block, and once that bound for the rows
// not yet seen is no later than the heap's worst entry, every one of them
// would rank below it (at an equal sent_at, a lower seq ranks lower). The
// result is exactly the sorted query's; a corpus of imports only makes
// the walk longer.
//
// The count comes first, from the oldest match up to the cap: a query
// with fewer matches than the cap is then answered from that pass alone,
// and one with more is the kind whose walk stops soon.

// newestMaxK is the largest offset+limit the walk keeps in its heap; a
// deeper page takes the sorting query.
const newestMaxK = 10_000

// ranked is one match as the newest-first order sees it.
type ranked struct {
	seq, sentAt int64
}

// above says whether a ranks before b in newest-first order.
func (a ranked) above(b ranked) bool {
	return a.sentAt > b.sentAt || (a.sentAt == b.sentAt && a.seq > b.seq)
}

// worstFirst is a heap of the best matches so far, the worst on top.
type worstFirst []ranked

func (h worstFirst) Len() int           { return len(h) }
func (h worstFirst) Less(i, j int) bool { return h[j].above(h[i]) }
func (h worstFirst) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *worstFirst) Push(x any)        { *h = append(*h, x.(ranked)) }
func (h *worstFirst) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// withRaw runs fn on one of the pool's connections, in one read
// transaction, interrupted if ctx ends.
func (ix *Index) withRaw(ctx context.Context, fn func(c *sqlite3.Conn) error) error {
	conn, err := ix.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		c := dc.(driver.Conn).Raw()
		old := c.SetInterrupt(ctx)
		defer c.SetInterrupt(old)
		if err := c.Exec("BEGIN"); err != nil {
			return err
		}
		err := fn(c)
		if !c.GetAutocommit() {
			c.SetInterrupt(context.Background())
			err = errors.Join(err, c.Exec("COMMIT"))
		}
		if cerr := ctx.Err(); cerr != nil && err != nil {
			err = cerr // interrupted: say why
		}
		return err
	})
}

// prepareBound prepares sql and binds args to it, the first as ?1.
func prepareBound(c *sqlite3.Conn, sql string, args ...any) (*sqlite3.Stmt, error) {
	st, _, err := c.Prepare(sql)
	if err != nil {
		return nil, err
	}
	if err := bind(st, args...); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// searchNewest answers a newest-first search whose plan has a MATCH: the
// page of hits at offset, limit long, and the count up to countCap.
func (ix *Index) searchNewest(ctx context.Context, p *plan, cond string, args []any, limit, offset, countCap int) (Results, error) {
	var res Results
	err := ix.withRaw(ctx, func(c *sqlite3.Conn) error {
		top, count, err := walkNewest(c, p, cond, args, limit+offset, countCap)
		if err != nil {
			return err
		}
		res.Count = count
		if res.Count > countCap {
			res.Count, res.Capped = countCap, true
		}
		if offset >= len(top) {
			return nil
		}
		top = top[offset:]
		hit, _, err := c.Prepare("SELECT " + hitColumns + " FROM events e WHERE e.seq = ?")
		if err != nil {
			return err
		}
		defer hit.Close()
		for _, r := range top {
			h, err := readHit(hit, r.seq)
			if err != nil {
				return err
			}
			res.Hits = append(res.Hits, h)
		}
		if err := snippets(c, p.match, res.Hits); err != nil {
			return fmt.Errorf("snippet: %w", err)
		}
		return nil
	})
	return res, err
}

// walkNewest returns the best k matches in newest-first order and how
// many rows match, counted up to countCap+1.
func walkNewest(c *sqlite3.Conn, p *plan, cond string, args []any, k, countCap int) ([]ranked, int, error) {
	if len(p.where) == 0 {
		return walkNewestText(c, p.match, k, countCap)
	}
	sel := "SELECT e.seq, e.sent_at FROM fts JOIN events e ON e.seq = fts.rowid WHERE " + cond + " ORDER BY fts.rowid "

	// Count first, oldest first: FTS5 moves forward through a doclist
	// more cheaply than backward (each leaf read backward is decoded
	// whole), and when there are no more than countCap matches, this
	// pass has them all and no walk is needed.
	all, err := prepareBound(c, sel+"LIMIT ?", append(args[:len(args):len(args)], countCap+1)...)
	if err != nil {
		return nil, 0, err
	}
	defer all.Close()
	var rows []ranked
	for all.Step() {
		rows = append(rows, ranked{seq: all.ColumnInt64(0), sentAt: all.ColumnInt64(1)})
	}
	if err := all.Err(); err != nil {
		return nil, 0, err
	}
	if len(rows) <= countCap {
		slices.SortFunc(rows, func(a, b ranked) int {
			if a.above(b) {
				return -1
			}
			return 1
		})
		return rows[:min(k, len(rows))], len(rows), nil
	}
	walk, err := prepareBound(c, sel+"DESC", args...)
	if err != nil {
		return nil, 0, err
	}
	defer walk.Close()
	top, err := topNewest(c, k, func() (ranked, bool, error) {
		if !walk.Step() {
			return ranked{}, false, walk.Err()
		}
		return ranked{seq: walk.ColumnInt64(0), sentAt: walk.ColumnInt64(1)}, true, nil
	})
	return top, len(rows), err
}

// walkNewestText is walkNewest for a query that is full text alone. Its
// passes read rowids from FTS5 without a join: a join looks up every
// match's sent_at, where the walk needs only those of the rows it passes
// from the newest down, usually a few more than k. For a query with up to
// countCap matches (a typical phrase), that is most of the search's cost.
func walkNewestText(c *sqlite3.Conn, match string, k, countCap int) ([]ranked, int, error) {
	const sel = "SELECT rowid FROM fts WHERE fts MATCH ?1 ORDER BY rowid "
	all, err := prepareBound(c, sel+"LIMIT ?2", match, countCap+1)
	if err != nil {
		return nil, 0, err
	}
	defer all.Close()
	var seqs []int64
	for all.Step() {
		seqs = append(seqs, all.ColumnInt64(0))
	}
	if err := all.Err(); err != nil {
		return nil, 0, err
	}
	sent, _, err := c.Prepare("SELECT sent_at FROM sent WHERE seq = ?")
	if err != nil {
		return nil, 0, err
	}
	defer sent.Close()
	// rank looks seq's sent_at up; ok is false for a row without one
	// (none: sent and fts are written together), which the join would
	// have left out too.
	rank := func(seq int64) (ranked, bool, error) {
		if err := sent.BindInt64(1, seq); err != nil {
			return ranked{}, false, err
		}
		v, ok, err := one(sent)
		return ranked{seq: seq, sentAt: v}, ok, err
	}
	var next func() (ranked, bool, error)
	if len(seqs) <= countCap {
		i := len(seqs)
		next = func() (ranked, bool, error) {
			for i > 0 {
				i--
				if r, ok, err := rank(seqs[i]); ok || err != nil {
					return r, err == nil, err
				}
			}
			return ranked{}, false, nil
		}
	} else {
		walk, err := prepareBound(c, sel+"DESC", match)
		if err != nil {
			return nil, 0, err
		}
		defer walk.Close()
		next = func() (ranked, bool, error) {
			for walk.Step() {
				if r, ok, err := rank(walk.ColumnInt64(0)); ok || err != nil {
					return r, err == nil, err
				}
			}
			return ranked{}, false, walk.Err()
		}
	}
	top, err := topNewest(c, k, next)
	return top, len(seqs), err
}

// topNewest takes matches from next, highest seq first, and returns the
// best k in newest-first order, stopping as soon as sent_max says no row
// further down can rank among them.
func topNewest(c *sqlite3.Conn, k int, next func() (ranked, bool, error)) ([]ranked, error) {
	bound, _, err := c.Prepare("SELECT sent_at FROM sent_max WHERE block <= ? ORDER BY block DESC LIMIT 1")
	if err != nil {
		return nil, err
	}
	defer bound.Close()

	top := make(worstFirst, 0, min(k, 64))
	boundBlock, boundSent := int64(-1), int64(0)
	for {
		r, ok, err := next()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		if len(top) < k {
			heap.Push(&top, r)
		} else if r.above(top[0]) {
			top[0] = r
			heap.Fix(&top, 0)
		}
		if len(top) < k {
			continue
		}
		// The latest sent_at of any row below r: the prefix maximum of
		// the block holding r.seq-1, which may include rows already
		// walked (a bound, not the exact value).
		if b := (r.seq - 1) >> sentBlockShift; b != boundBlock {
			if err := bound.BindInt64(1, b); err != nil {
				return nil, err
			}
			v, ok, err := one(bound)
			if err != nil {
				return nil, err
			}
			if !ok || r.seq <= 1 {
				v = minSentAt // no event below
			}
			boundBlock, boundSent = b, v
		}
		if boundSent <= top[0].sentAt {
			break
		}
	}
	out := make([]ranked, len(top))
	for i := len(top) - 1; i >= 0; i-- {
		out[i] = heap.Pop(&top).(ranked)
	}
	return out, nil
}

// minSentAt is below any sent_at.
const minSentAt = -1 << 63

// readHit reads event seq with st, which selects hitColumns by seq.
func readHit(st *sqlite3.Stmt, seq int64) (Hit, error) {
	var h Hit
	if err := st.BindInt64(1, seq); err != nil {
		return h, err
	}
	if !st.Step() {
		return h, errors.Join(st.Err(), st.Reset(), fmt.Errorf("event %d is not indexed", seq))
	}
	h.Seq = uint64(st.ColumnInt64(0)) // #nosec G115 -- index positions are journal seqs + 1, stored from uint64s below 2^63
	h.ID, h.Channel = st.ColumnText(1), st.ColumnText(2)
	h.Kind = onrecord.EventKind(st.ColumnText(3))
	h.Conversation, h.GroupName = st.ColumnText(4), st.ColumnText(5)
	h.Direction = onrecord.Direction(st.ColumnText(6))
	h.Sender.ID, h.Sender.Name = st.ColumnText(7), st.ColumnText(8)
	h.SentAt = time.Unix(0, st.ColumnInt64(9)).UTC()
	h.HasAttachment = st.ColumnBool(10)
	h.Target = st.ColumnText(11)
	return h, errors.Join(st.Err(), st.Reset())
}
