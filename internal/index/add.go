package index

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"math"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/ncruces/go-sqlite3"

	"github.com/onrecord/onrecord"
)

// Entry is one journal record handed to the index. A nil Event marks a
// record that is not a searchable event (a policy decision, an access
// log entry): it only moves Position forward.
type Entry struct {
	Seq   uint64
	Event *onrecord.Event
}

// BatchSize is how many entries Rebuild puts in one transaction, and a
// good batch size for tailers calling AddBatch.
const BatchSize = 2000

// Add indexes one event; see AddBatch.
func (ix *Index) Add(ctx context.Context, seq uint64, ev *onrecord.Event) error {
	return ix.AddBatch(ctx, []Entry{{Seq: seq, Event: ev}})
}

// AddBatch indexes entries in one transaction and moves Position to the
// highest seq among them. Entries at or below Position are already
// indexed and are skipped, so replaying a stretch of the journal after a
// crash is harmless. Either every entry is indexed or none is.
func (ix *Index) AddBatch(ctx context.Context, entries []Entry) error {
	if len(entries) == 0 {
		return nil
	}
	err := ix.w.tx(ctx, func(w *writer) error { return w.add(entries) })
	if err != nil {
		return fmt.Errorf("index add: %w", err)
	}
	return nil
}

// epochShift cuts the seqs into epochs of 131,072, which lead the indexes
// of values that new events take at random: conversation, group name,
// target, participant. Without it, each of those indexes takes a
// catch-up's events all over its pages, and a commit writes (encrypts and
// copies through the WAL) every page it touched, so the cost per event
// grew with the index: 13,600 events/s over the first 100,000 of a
// 1,500,000-event index with 200,000 conversations, 4,000 over the last
// 100,000 (BENCHMARKS.md). Led by the epoch, new entries go into the
// current epoch's part of each index, a few hundred pages however large
// the index grows. A lookup visits each epoch (epochs): one B-tree probe
// per 131,072 seqs, about 80 on 10,000,000 records.
const epochShift = 17

// sentBlockShift makes blocks of 1024 seqs in sent_max: small enough that
// a newest-first search stops within a block or two of its last hit, large
// enough that the table is a thousandth of the index.
const sentBlockShift = 10

// writer is the index's one writing connection, with its statements
// prepared once. Statements are bound and stepped directly, not through
// database/sql: a catch-up runs them hundreds of thousands of times.
type writer struct {
	mu   sync.Mutex
	conn *sqlite3.Conn
	// stmts are every statement below, for close.
	stmts                                       []*sqlite3.Stmt
	getPos, setPos, getMax, putMax              *sqlite3.Stmt
	insEvent, insSent, insPart, insAtt, insText *sqlite3.Stmt
	insFlag, insEpoch                           *sqlite3.Stmt
}

func openWriter(dsn string, maxMiB int, setup func(*sqlite3.Conn) error) (*writer, error) {
	c, err := sqlite3.OpenContext(sqlite3.WithMaxMemory(context.Background(), int64(maxMiB)<<20), dsn)
	if err != nil {
		return nil, err
	}
	if err := c.BusyTimeout(time.Minute); err != nil {
		c.Close()
		return nil, err
	}
	if err := setup(c); err != nil {
		c.Close()
		return nil, err
	}
	return &writer{conn: c}, nil
}

// prepare prepares the statements on first use: Open must be able to
// migrate an index whose tables are not yet there.
func (w *writer) prepare() error {
	if w.stmts != nil {
		return nil
	}
	for _, s := range []struct {
		st  **sqlite3.Stmt
		sql string
	}{
		{&w.getPos, "SELECT v FROM state WHERE k = 'position'"},
		{&w.setPos, "UPDATE state SET v = ? WHERE k = 'position'"},
		{&w.getMax, "SELECT sent_at FROM sent_max ORDER BY block DESC LIMIT 1"},
		{&w.putMax, "INSERT OR REPLACE INTO sent_max (block, sent_at) VALUES (?, ?)"},
		{&w.insEvent, `INSERT INTO events (seq, record_id, channel, kind, provider_id, conversation, group_name,
			direction, sender_id, sender_name, sent_at, has_attachment, target, epoch)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`},
		{&w.insSent, "INSERT INTO sent (seq, sent_at) VALUES (?, ?)"},
		{&w.insPart, "INSERT OR IGNORE INTO participants (epoch, id_norm, role, seq) VALUES (?, ?, ?, ?)"},
		{&w.insEpoch, "INSERT OR IGNORE INTO epochs (epoch) VALUES (?)"},
		{&w.insAtt, "INSERT INTO attachments (seq, n, name, content_type) VALUES (?, ?, ?, ?)"},
		{&w.insFlag, "INSERT OR IGNORE INTO flags (flag, seq) VALUES (?, ?)"},
		{&w.insText, "INSERT INTO fts (rowid, body, attachments, sender_name, recipient_names) VALUES (?, ?, ?, ?, ?)"},
	} {
		st, _, err := w.conn.Prepare(s.sql)
		if err != nil {
			w.closeStmts()
			return fmt.Errorf("prepare %q: %w", s.sql, err)
		}
		*s.st = st
		w.stmts = append(w.stmts, st)
	}
	return nil
}

func (w *writer) closeStmts() {
	for _, st := range w.stmts {
		st.Close()
	}
	w.stmts = nil
}

func (w *writer) close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closeStmts()
	return w.conn.Close()
}

// tx runs fn in one immediate transaction, interrupted if ctx ends.
func (w *writer) tx(ctx context.Context, fn func(*writer) error) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.prepare(); err != nil {
		return err
	}
	old := w.conn.SetInterrupt(ctx)
	defer w.conn.SetInterrupt(old)
	err := w.conn.Exec("BEGIN IMMEDIATE")
	if err == nil {
		if err = fn(w); err == nil {
			err = w.conn.Exec("COMMIT")
		}
		if err != nil && !w.conn.GetAutocommit() {
			// Roll back even when ctx has ended.
			w.conn.SetInterrupt(context.Background())
			if rerr := w.conn.Exec("ROLLBACK"); rerr != nil {
				err = errors.Join(err, rerr)
			}
		}
	}
	if cerr := ctx.Err(); cerr != nil && err != nil {
		// Interrupted: say why.
		return cerr
	}
	return err
}

// one steps a statement that returns at most one row and reads its first
// column (zero and false without a row), then resets it.
func one(st *sqlite3.Stmt) (int64, bool, error) {
	var v int64
	ok := st.Step()
	if ok {
		v = st.ColumnInt64(0)
	}
	return v, ok, errors.Join(st.Err(), st.Reset())
}

// bind binds args to st, the first as ?1.
func bind(st *sqlite3.Stmt, args ...any) error {
	for i, a := range args {
		var err error
		switch a := a.(type) {
		case int64:
			err = st.BindInt64(i+1, a)
		case int:
			err = st.BindInt64(i+1, int64(a))
		case string:
			err = st.BindText(i+1, a)
		case bool:
			err = st.BindBool(i+1, a)
		default:
			err = fmt.Errorf("cannot bind %T", a)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// arg is one value bound to a write statement: a text when isText, else
// an integer. exec takes these rather than any: boxing each value into an
// interface was an allocation per column per event (about 20 per event).
type arg struct {
	s      string
	i      int64
	isText bool
}

func num[T int | int64](v T) arg { return arg{i: int64(v)} }
func text(s string) arg          { return arg{s: s, isText: true} }
func flag(b bool) arg {
	if b {
		return arg{i: 1}
	}
	return arg{}
}

// exec binds args to st (the first as ?1), steps it to completion and
// resets it.
func exec(st *sqlite3.Stmt, args ...arg) error {
	for i, a := range args {
		var err error
		if a.isText {
			err = st.BindText(i+1, a.s)
		} else {
			err = st.BindInt64(i+1, a.i)
		}
		if err != nil {
			st.Reset()
			return err
		}
	}
	for st.Step() {
	}
	return errors.Join(st.Err(), st.Reset())
}

func (w *writer) add(entries []Entry) error {
	// sent_max is kept in seq order.
	if !slices.IsSortedFunc(entries, func(a, b Entry) int { return cmp.Compare(a.Seq, b.Seq) }) {
		entries = slices.SortedFunc(slices.Values(entries), func(a, b Entry) int { return cmp.Compare(a.Seq, b.Seq) })
	}
	pos, _, err := one(w.getPos)
	if err != nil {
		return err
	}
	// The running maximum of sent_at over every event indexed: seqs only
	// grow, so each block's prefix maximum is this value after its last
	// event.
	maxSent, ok, err := one(w.getMax)
	if err != nil {
		return err
	}
	if !ok {
		maxSent = math.MinInt64
	}
	block, blockMax := int64(-1), maxSent
	flush := func() error {
		if block < 0 {
			return nil
		}
		return exec(w.putMax, num(block), num(blockMax))
	}

	next := pos
	epoch := int64(-1)
	var attNames, recipientNames []string
	for _, en := range entries {
		seq := int64(en.Seq) // #nosec G115 -- checked just below: a negative result is refused
		if seq < 0 {
			return fmt.Errorf("seq %d is out of range", en.Seq)
		}
		if seq <= pos {
			continue
		}
		next = max(next, seq)
		ev := en.Event
		if ev == nil {
			continue
		}
		sentAt := ev.SentAt.UnixNano()
		if b := seq >> sentBlockShift; b != block {
			if err := flush(); err != nil {
				return err
			}
			block = b
		}
		maxSent = max(maxSent, sentAt)
		blockMax = maxSent
		if e := seq >> epochShift; e != epoch {
			if err := exec(w.insEpoch, num(e)); err != nil {
				return fmt.Errorf("seq %d: %w", seq, err)
			}
			epoch = e
		}

		attNames = attNames[:0]
		for i, a := range ev.Attachments {
			attNames = append(attNames, a.Name)
			if err := exec(w.insAtt, num(seq), num(i), text(a.Name), text(a.ContentType)); err != nil {
				return fmt.Errorf("seq %d: %w", seq, err)
			}
		}
		if err := exec(w.insEvent, num(seq), text(ev.ID), text(ev.Channel), text(string(ev.Kind)), text(ev.ProviderID),
			text(ev.Conversation), text(ev.GroupName), text(string(ev.Direction)), text(ev.Sender.ID),
			text(ev.Sender.Name), num(sentAt), flag(len(ev.Attachments) > 0), text(ev.Target), num(epoch)); err != nil {
			return fmt.Errorf("seq %d: %w", seq, err)
		}
		if err := exec(w.insSent, num(seq), num(sentAt)); err != nil {
			return fmt.Errorf("seq %d: %w", seq, err)
		}
		if err := exec(w.insPart, num(epoch), text(normID(ev.Sender.ID)), num(0), num(seq)); err != nil {
			return fmt.Errorf("seq %d: %w", seq, err)
		}
		if ev.Capture != nil {
			for _, f := range ev.Capture.Flags {
				if err := exec(w.insFlag, text(f), num(seq)); err != nil {
					return fmt.Errorf("seq %d: %w", seq, err)
				}
			}
		}
		recipientNames = recipientNames[:0]
		for _, r := range ev.Recipients {
			if r.Name != "" {
				recipientNames = append(recipientNames, r.Name)
			}
			if err := exec(w.insPart, num(epoch), text(normID(r.ID)), num(1), num(seq)); err != nil {
				return fmt.Errorf("seq %d: %w", seq, err)
			}
		}
		if err := exec(w.insText, num(seq), text(ftsText(ev.Body)), text(ftsText(strings.Join(attNames, "\n"))),
			text(nameText(ftsText(ev.Sender.Name))), text(nameText(ftsText(strings.Join(recipientNames, "\n"))))); err != nil {
			return fmt.Errorf("seq %d: %w", seq, err)
		}
	}
	if err := flush(); err != nil {
		return err
	}
	if next != pos {
		if err := exec(w.setPos, num(next)); err != nil {
			return err
		}
	}
	return nil
}

// ftsText keeps the characters Search uses to mark highlights, and
// nameMark, out of the indexed text, so a snippet's marks are always the
// index's own and only names have name tokens.
func ftsText(s string) string {
	if strings.ContainsAny(s, markOpen+markClose+nameMark) {
		s = strings.NewReplacer(markOpen, "\uFFFD", markClose, "\uFFFD", nameMark, "\uFFFD").Replace(s)
	}
	return s
}

// nameMark begins every word of a sender's or recipient's name in the
// full-text index, so that a name's words are other tokens than the same
// words in message text: "boris" as a recipient of 52,000 messages is not
// a candidate for every phrase with "boris" in it, which FTS5 would check
// position by position (a phrase with a name word cost 10–13 ms on a
// million messages, most of it in documents where the name was only a
// recipient). Words in queries ask for both forms (ftsExpr), so what
// matches is unchanged. A private-use character: unicode61 keeps it as
// part of the token, and ftsText keeps it out of all other text.
const nameMark = "\uE002"

// nameText puts nameMark before every word of s, a word being what
// unicode61 keeps together: letters, numbers, private-use characters and
// the marks that go with them.
func nameText(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 8)
	in := false
	for _, r := range s {
		word := unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.Is(unicode.Co, r) || unicode.Is(unicode.M, r)
		if word && !in && !unicode.Is(unicode.M, r) {
			b.WriteString(nameMark)
		}
		in = word
		b.WriteRune(r)
	}
	return b.String()
}

// phonePrefixes are schemes connectors put before a phone number.
var phonePrefixes = []string{"whatsapp:", "tel:", "sms:", "mms:", "signal:"}

// normID is how participant ids are compared: case-insensitively, and a
// phone number by its digits alone, so from:+1-555-010-2030 finds the
// sender whatsapp:+15550102030.
func normID(id string) string {
	s := strings.ToLower(strings.TrimSpace(id))
	num := s
	for _, p := range phonePrefixes {
		if rest, ok := strings.CutPrefix(num, p); ok {
			num = rest
			break
		}
	}
	digits := 0
	for _, r := range num {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '+' || r == '-' || r == '(' || r == ')' || r == '.' || unicode.IsSpace(r):
		default:
			return s
		}
	}
	if digits < 5 {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, num)
}

// Reset empties the index and sets Position to 0, in one transaction.
func (ix *Index) Reset(ctx context.Context) error {
	err := ix.w.tx(ctx, func(w *writer) error {
		return w.conn.Exec(`
			DELETE FROM events;
			DELETE FROM participants;
			DELETE FROM epochs;
			DELETE FROM attachments;
			DELETE FROM sent;
			DELETE FROM sent_max;
			DELETE FROM flags;
			DELETE FROM fts;
			UPDATE state SET v = 0 WHERE k = 'position';`)
	})
	if err != nil {
		return fmt.Errorf("index reset: %w", err)
	}
	return nil
}

// Optimize merges the full-text index into one segment, which makes
// every search cheaper (a term is read from one place instead of one per
// earlier commit) at the cost of rewriting the full-text index once.
func (ix *Index) Optimize(ctx context.Context) error {
	err := ix.w.tx(ctx, func(w *writer) error {
		return w.conn.Exec("INSERT INTO fts (fts) VALUES ('optimize')")
	})
	if err != nil {
		return fmt.Errorf("index optimize: %w", err)
	}
	return nil
}

// Rebuild empties the index and adds every entry of src, in batches of
// BatchSize. Searches running meanwhile see a partial index; a failed
// rebuild leaves what it had added, and Position says how far it got.
func (ix *Index) Rebuild(ctx context.Context, src iter.Seq2[Entry, error]) error {
	if err := ix.Reset(ctx); err != nil {
		return err
	}
	batch := make([]Entry, 0, BatchSize)
	for en, err := range src {
		if err != nil {
			return fmt.Errorf("index rebuild: read: %w", err)
		}
		batch = append(batch, en)
		if len(batch) == BatchSize {
			if err := ix.AddBatch(ctx, batch); err != nil {
				return fmt.Errorf("index rebuild: %w", err)
			}
			batch = batch[:0]
		}
	}
	if err := ix.AddBatch(ctx, batch); err != nil {
		return fmt.Errorf("index rebuild: %w", err)
	}
	return nil
}
