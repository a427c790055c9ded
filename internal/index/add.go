package index

import (
	"context"
	"database/sql"
	"fmt"
	"iter"
	"strings"
	"unicode"

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
	tx, err := ix.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("index add: %w", err)
	}
	defer tx.Rollback()
	if err := addTx(ctx, tx, entries); err != nil {
		return fmt.Errorf("index add: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("index add: commit: %w", err)
	}
	return nil
}

func addTx(ctx context.Context, tx *sql.Tx, entries []Entry) error {
	var pos int64
	if err := tx.QueryRowContext(ctx, "SELECT v FROM state WHERE k = 'position'").Scan(&pos); err != nil {
		return err
	}
	prep := func(q string) (*sql.Stmt, error) { return tx.PrepareContext(ctx, q) }
	insEvent, err := prep(`INSERT INTO events (seq, record_id, channel, kind, provider_id, conversation, group_name,
		direction, sender_id, sender_name, sent_at, has_attachment, target)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer insEvent.Close()
	insPart, err := prep(`INSERT OR IGNORE INTO participants (id_norm, role, seq, id, name) VALUES (?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer insPart.Close()
	insAtt, err := prep(`INSERT INTO attachments (seq, n, name, content_type) VALUES (?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer insAtt.Close()
	insText, err := prep(`INSERT INTO fts (rowid, body, attachments, sender_name, recipient_names) VALUES (?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer insText.Close()

	next := pos
	for _, en := range entries {
		seq := int64(en.Seq)
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
		var attNames []string
		for i, a := range ev.Attachments {
			attNames = append(attNames, a.Name)
			if _, err := insAtt.ExecContext(ctx, seq, i, a.Name, a.ContentType); err != nil {
				return fmt.Errorf("seq %d: %w", seq, err)
			}
		}
		if _, err := insEvent.ExecContext(ctx, seq, ev.ID, ev.Channel, string(ev.Kind), ev.ProviderID, ev.Conversation,
			ev.GroupName, string(ev.Direction), ev.Sender.ID, ev.Sender.Name, ev.SentAt.UnixNano(),
			len(ev.Attachments) > 0, ev.Target); err != nil {
			return fmt.Errorf("seq %d: %w", seq, err)
		}
		if _, err := insPart.ExecContext(ctx, normID(ev.Sender.ID), 0, seq, ev.Sender.ID, ev.Sender.Name); err != nil {
			return fmt.Errorf("seq %d: %w", seq, err)
		}
		var recipientNames []string
		for _, r := range ev.Recipients {
			if r.Name != "" {
				recipientNames = append(recipientNames, r.Name)
			}
			if _, err := insPart.ExecContext(ctx, normID(r.ID), 1, seq, r.ID, r.Name); err != nil {
				return fmt.Errorf("seq %d: %w", seq, err)
			}
		}
		if _, err := insText.ExecContext(ctx, seq, ftsText(ev.Body), ftsText(strings.Join(attNames, "\n")),
			ftsText(ev.Sender.Name), ftsText(strings.Join(recipientNames, "\n"))); err != nil {
			return fmt.Errorf("seq %d: %w", seq, err)
		}
	}
	if next != pos {
		if _, err := tx.ExecContext(ctx, "UPDATE state SET v = ? WHERE k = 'position'", next); err != nil {
			return err
		}
	}
	return nil
}

// ftsText keeps the characters Search uses to mark highlights out of the
// indexed text, so a snippet's marks are always the index's own.
func ftsText(s string) string {
	if strings.ContainsAny(s, markOpen+markClose) {
		s = strings.NewReplacer(markOpen, "\uFFFD", markClose, "\uFFFD").Replace(s)
	}
	return s
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
	tx, err := ix.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("index reset: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `
		DELETE FROM events;
		DELETE FROM participants;
		DELETE FROM attachments;
		DELETE FROM fts;
		UPDATE state SET v = 0 WHERE k = 'position';`); err != nil {
		return fmt.Errorf("index reset: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("index reset: %w", err)
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
