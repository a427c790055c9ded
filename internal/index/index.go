// Package index is the archive's search index: metadata of every event
// in ordinary tables and its text in an SQLite FTS5 table, in one SQLite
// database that is encrypted page by page (the "adiantum" VFS of
// github.com/ncruces/go-sqlite3), so nothing readable reaches the disk —
// not the database, not its write-ahead log, and not temporary files,
// which SQLite is told to keep in memory.
//
// The index is a cache of the journal and never the truth: it records the
// last journal sequence number it holds (Position) in the same transaction
// as the events, so a tailer resumes where it stopped, and it can be
// emptied and rebuilt from the journal at any time (Rebuild). It knows the
// event type but not the archive: the caller reads the journal and hands
// over (seq, event) pairs and the key.
package index

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	"github.com/ncruces/go-sqlite3"
	"github.com/ncruces/go-sqlite3/driver"
	"github.com/ncruces/go-sqlite3/ext/fts5"
	_ "github.com/ncruces/go-sqlite3/vfs/adiantum" // registers the encrypting VFS
)

// FileName is the database's name inside the index directory; SQLite puts
// its -wal and -shm files beside it.
const FileName = "index.db"

// MinKeySize is the least key material Open accepts.
const MinKeySize = 32

// ErrWrongKey is returned by Open when the database exists but the key
// does not decrypt it.
var ErrWrongKey = errors.New("index key does not open this index")

// errOldSchema is an index written by another version of onrecord. The
// index is a cache of the journal, so Open rebuilds it.
var errOldSchema = errors.New("index schema from another version")

// schemaVersion is stored in PRAGMA user_version. An index with another
// version is rebuilt by the caller (it is a cache); Open reports it.
//
// Version 2 dropped FTS5's prefix indexes: they tripled the writes per
// token (a third more indexing throughput without them) while prefix*
// queries stay fast enough by scanning the term range.
const schemaVersion = 2

// Index is an open search index. Its methods are safe for concurrent use:
// writes are serialised by SQLite, and reads run beside them (WAL mode).
type Index struct {
	db  *sql.DB
	dir string
}

// Open opens the index in dir, creating dir and an empty index if there is
// none. key must be at least MinKeySize bytes; the index's own encryption
// key is derived from it, so the caller can pass a key it also uses for
// other things. Open returns an error wrapping ErrWrongKey when dir holds
// an index that key does not decrypt.
func Open(dir string, key []byte) (*Index, error) {
	if len(key) < MinKeySize {
		return nil, fmt.Errorf("open index %s: key is %d bytes, need at least %d", dir, len(key), MinKeySize)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open index: %w", err)
	}
	pageKey, err := hkdf.Key(sha256.New, key, nil, "onrecord index adiantum v1", 32)
	if err != nil {
		return nil, fmt.Errorf("open index %s: derive key: %w", dir, err)
	}
	hexKey := hex.EncodeToString(pageKey)

	abs, err := filepath.Abs(filepath.Join(dir, FileName))
	if err != nil {
		return nil, fmt.Errorf("open index: %w", err)
	}
	// The key is set by PRAGMA, not in the URI, so it is not readable
	// through the connection's file name.
	dsn := "file:" + (&url.URL{Path: abs}).EscapedPath() + "?vfs=adiantum"
	db, err := driver.Open(dsn, func(c *sqlite3.Conn) error {
		// hexkey must come first: nothing can be read before it.
		for _, pragma := range []string{
			"PRAGMA hexkey='" + hexKey + "'",
			"PRAGMA temp_store=memory",
			"PRAGMA journal_mode=wal",
			// The index is rebuildable: losing the last transactions
			// to a power cut only moves Position back.
			"PRAGMA synchronous=normal",
			"PRAGMA cache_size=-16384",
		} {
			if err := c.Exec(pragma); err != nil {
				return err
			}
		}
		return fts5.Register(c)
	})
	if err != nil {
		return nil, fmt.Errorf("open index %s: %w", dir, err)
	}
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(4)
	ix := &Index{db: db, dir: dir}
	if err := ix.migrate(context.Background()); errors.Is(err, errOldSchema) {
		// Start over; the caller's catch-up refills it from the journal.
		db.Close()
		if err := removeIndexFiles(dir); err != nil {
			return nil, fmt.Errorf("open index %s: rebuild: %w", dir, err)
		}
		return Open(dir, key)
	} else if err != nil {
		db.Close()
		if errors.Is(err, sqlite3.NOTADB) {
			return nil, fmt.Errorf("open index %s: %w (it was written with another key, or is not an index; "+
				"remove the directory and rebuild it from the journal with onrecord reindex)", dir, ErrWrongKey)
		}
		return nil, fmt.Errorf("open index %s: %w", dir, err)
	}
	return ix, nil
}

// Close closes the index.
func (ix *Index) Close() error { return ix.db.Close() }

// Dir is the directory the index lives in.
func (ix *Index) Dir() string { return ix.dir }

const schema = `
CREATE TABLE state (
	k TEXT PRIMARY KEY,
	v INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO state (k, v) VALUES ('position', 0);

-- One row per indexed event; seq is the journal sequence number and the
-- rowid of the event's full-text row.
CREATE TABLE events (
	seq            INTEGER PRIMARY KEY,
	record_id      TEXT NOT NULL,
	channel        TEXT NOT NULL COLLATE NOCASE,
	kind           TEXT NOT NULL,
	provider_id    TEXT NOT NULL,
	conversation   TEXT NOT NULL,
	group_name     TEXT NOT NULL COLLATE NOCASE,
	direction      TEXT NOT NULL,
	sender_id      TEXT NOT NULL,
	sender_name    TEXT NOT NULL,
	sent_at        INTEGER NOT NULL, -- Unix nanoseconds
	has_attachment INTEGER NOT NULL,
	target         TEXT NOT NULL
);
CREATE INDEX events_sent_at ON events (sent_at, seq);
CREATE INDEX events_conversation ON events (conversation, sent_at);
CREATE INDEX events_group_name ON events (group_name);
CREATE INDEX events_channel ON events (channel, sent_at);
CREATE INDEX events_target ON events (channel, target) WHERE target != '';

-- Everyone on an event: role 0 is the sender, 1 a recipient. id_norm is
-- the id as a query compares it (see normID).
CREATE TABLE participants (
	id_norm TEXT NOT NULL,
	role    INTEGER NOT NULL,
	seq     INTEGER NOT NULL,
	id      TEXT NOT NULL,
	name    TEXT NOT NULL,
	PRIMARY KEY (id_norm, role, seq)
) WITHOUT ROWID;
CREATE INDEX participants_seq ON participants (seq);

CREATE TABLE attachments (
	seq          INTEGER NOT NULL,
	n            INTEGER NOT NULL,
	name         TEXT NOT NULL,
	content_type TEXT NOT NULL,
	PRIMARY KEY (seq, n)
) WITHOUT ROWID;

-- The searchable text. Its rowid is the event's seq.
CREATE VIRTUAL TABLE fts USING fts5 (
	body, attachments, sender_name, recipient_names,
	tokenize = 'unicode61 remove_diacritics 2'
);
`

func (ix *Index) migrate(ctx context.Context) error {
	var version int
	if err := ix.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return err
	}
	switch version {
	case schemaVersion:
		// Added after the first schema: finding the edits, deletes,
		// reactions and statuses of a set of messages (exports).
		_, err := ix.db.ExecContext(ctx, "CREATE INDEX IF NOT EXISTS events_target ON events (channel, target) WHERE target != ''")
		return err
	case 0:
		tx, err := ix.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if _, err := tx.ExecContext(ctx, schema); err != nil {
			return fmt.Errorf("create schema: %w", err)
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", schemaVersion)); err != nil {
			return err
		}
		return tx.Commit()
	}
	return fmt.Errorf("%w: version %d, this onrecord writes %d", errOldSchema, version, schemaVersion)
}

// Position is the journal sequence number of the last record the index
// has taken in (0 for an empty index): a tailer continues after it.
func (ix *Index) Position(ctx context.Context) (uint64, error) {
	var pos int64
	if err := ix.db.QueryRowContext(ctx, "SELECT v FROM state WHERE k = 'position'").Scan(&pos); err != nil {
		return 0, fmt.Errorf("index position: %w", err)
	}
	return uint64(pos), nil
}

// removeIndexFiles removes the index's database and its WAL and shared
// memory files, nothing else in dir.
func removeIndexFiles(dir string) error {
	for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
		if err := os.Remove(filepath.Join(dir, FileName+suffix)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}
