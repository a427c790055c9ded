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
	sqldriver "database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	"github.com/ncruces/go-sqlite3"
	"github.com/ncruces/go-sqlite3/driver"
	"github.com/ncruces/go-sqlite3/ext/fts5"
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
// queries stay fast enough by scanning the term range. Version 3 added
// sent and sent_max, and dropped the index of participants by seq and their ids
// and names, which no query read (a fifth of the writes of a catch-up).
// Version 4 added flags (flag: searches); version 5 marks the words of
// names (nameMark); version 6 leads the lookup indexes with the epoch
// (epochShift).
const schemaVersion = 6

// Index is an open search index. Its methods are safe for concurrent use:
// writes go one at a time through the index's one writing connection, and
// searches run beside them on a pool of others (WAL mode).
type Index struct {
	db  *sql.DB
	w   *writer
	dir string
	// sortAlways makes Search take the sorting query for every order, so
	// tests can compare the newest-first walk against it.
	sortAlways bool
}

// DefaultCacheMiB is the page cache of each of the index's connections
// when Options.CacheMiB is 0. A search of a large index reads the same FTS5 doclist
// and B-tree pages again and again, and a catch-up dirties pages all over
// the indexes; both want those pages decrypted in memory. Pages are cached
// as they are read, so a small index uses less.
const DefaultCacheMiB = 256

// workMiB is the memory an SQLite connection may use beside its page
// cache (sorting, FTS5's pending terms and merges, statements); the
// writing connection has twice as much. SQLite runs in WebAssembly here,
// with a fixed memory limit per connection, and running out is a panic,
// not an error: a writer with a 256 MiB cache in 384 MiB ran out while
// indexing a million events.
const workMiB = 256

// Options tune OpenWith.
type Options struct {
	// CacheMiB is each connection's page cache (DefaultCacheMiB when
	// 0).
	CacheMiB int
}

// Open opens the index in dir with default options; see OpenWith.
func Open(dir string, key []byte) (*Index, error) {
	return OpenWith(dir, key, Options{})
}

// OpenWith opens the index in dir, creating dir and an empty index if
// there is none. key must be at least MinKeySize bytes; the index's own
// encryption key is derived from it, so the caller can pass a key it also
// uses for other things. OpenWith returns an error wrapping ErrWrongKey
// when dir holds an index that key does not decrypt.
func OpenWith(dir string, key []byte, opts Options) (*Index, error) {
	if opts.CacheMiB < 0 {
		return nil, fmt.Errorf("open index %s: CacheMiB is negative", dir)
	}
	cacheMiB := opts.CacheMiB
	if cacheMiB == 0 {
		cacheMiB = DefaultCacheMiB
	}
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
	registerVFS()
	dsn := "file:" + (&url.URL{Path: abs}).EscapedPath() + "?vfs=" + vfsName
	setup := func(c *sqlite3.Conn, cacheMiB int) error {
		// hexkey must come first: nothing can be read before it.
		for _, pragma := range []string{
			"PRAGMA hexkey='" + hexKey + "'",
			// Bigger pages than SQLite's 4 KiB: a sixth less CPU per
			// indexed event (fewer pages to split, write and encrypt
			// per commit), and FTS5 doclists span fewer pages.
			"PRAGMA page_size=16384",
			"PRAGMA temp_store=memory",
			"PRAGMA journal_mode=wal",
			// The index is rebuildable: losing the last transactions
			// to a power cut only moves Position back.
			"PRAGMA synchronous=normal",
			fmt.Sprintf("PRAGMA cache_size=-%d", cacheMiB*1024),
			// Checkpoint every 128 MiB of WAL (8192 pages) rather than
			// every 1000 pages: a page that several commits change is
			// copied (decrypted, encrypted) into the database once.
			"PRAGMA wal_autocheckpoint=8192",
		} {
			if err := c.Exec(pragma); err != nil {
				return err
			}
		}
		return fts5.Register(c)
	}
	// Searches use the pool; every write goes through one connection of
	// its own, which keeps its prepared statements and its cache of the
	// pages it writes from one batch to the next.
	base, err := (&driver.SQLite{}).OpenConnector(dsn)
	if err != nil {
		return nil, fmt.Errorf("open index %s: %w", dir, err)
	}
	db := sql.OpenDB(&connector{Connector: base, maxMiB: cacheMiB + workMiB,
		setup: func(c *sqlite3.Conn) error { return setup(c, cacheMiB) }})
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(4)
	ix := &Index{db: db, dir: dir}
	w, err := openWriter(dsn, cacheMiB+2*workMiB, func(c *sqlite3.Conn) error { return setup(c, cacheMiB) })
	if err == nil {
		ix.w = w
		err = ix.migrate()
	}
	if errors.Is(err, errOldSchema) {
		// Start over; the caller's catch-up refills it from the journal.
		ix.Close()
		if err := removeIndexFiles(dir); err != nil {
			return nil, fmt.Errorf("open index %s: rebuild: %w", dir, err)
		}
		return OpenWith(dir, key, opts)
	} else if err != nil {
		ix.Close()
		if errors.Is(err, sqlite3.NOTADB) {
			return nil, fmt.Errorf("open index %s: %w (it was written with another key, or is not an index; "+
				"remove the directory and rebuild it from the journal with onrecord reindex)", dir, ErrWrongKey)
		}
		return nil, fmt.Errorf("open index %s: %w", dir, err)
	}
	return ix, nil
}

// connector opens the search connections: SQLite's, with a memory limit
// that fits the page cache, set up by setup.
type connector struct {
	sqldriver.Connector
	maxMiB int
	setup  func(*sqlite3.Conn) error
}

func (c *connector) Connect(ctx context.Context) (sqldriver.Conn, error) {
	dc, err := c.Connector.Connect(sqlite3.WithMaxMemory(ctx, int64(c.maxMiB)<<20))
	if err != nil {
		return nil, err
	}
	if err := c.setup(dc.(driver.Conn).Raw()); err != nil {
		dc.Close()
		return nil, err
	}
	return dc, nil
}

// Close closes the index.
func (ix *Index) Close() error {
	var errs []error
	if ix.w != nil {
		errs = append(errs, ix.w.close())
	}
	errs = append(errs, ix.db.Close())
	return errors.Join(errs...)
}

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
	target         TEXT NOT NULL,
	epoch          INTEGER NOT NULL -- seq >> epochShift
);
CREATE INDEX events_sent_at ON events (sent_at, seq);
CREATE INDEX events_channel ON events (channel, sent_at);
-- The lookups by a value that new events take at random (a conversation,
-- a group, the message a status or reaction points to) lead with the
-- epoch: see epochShift.
CREATE INDEX events_conversation ON events (epoch, conversation, sent_at);
CREATE INDEX events_group_name ON events (epoch, group_name);
CREATE INDEX events_target ON events (epoch, channel, target) WHERE target != '';

-- Every epoch that has events, for the lookups above to visit.
CREATE TABLE epochs (
	epoch INTEGER PRIMARY KEY
);

-- Everyone on an event: role 0 is the sender, 1 a recipient. id_norm is
-- the id as a query compares it (see normID); names are searched in fts.
CREATE TABLE participants (
	epoch   INTEGER NOT NULL,
	id_norm TEXT NOT NULL,
	role    INTEGER NOT NULL,
	seq     INTEGER NOT NULL,
	PRIMARY KEY (epoch, id_norm, role, seq)
) WITHOUT ROWID;

CREATE TABLE attachments (
	seq          INTEGER NOT NULL,
	n            INTEGER NOT NULL,
	name         TEXT NOT NULL,
	content_type TEXT NOT NULL,
	PRIMARY KEY (seq, n)
) WITHOUT ROWID;

-- Every event's sent_at by seq again, in rows a tenth the size of events':
-- the newest-first walk (newest.go) reads it for every match it passes.
CREATE TABLE sent (
	seq     INTEGER PRIMARY KEY,
	sent_at INTEGER NOT NULL
);

-- For each block of 1024 seqs (seq >> 10), the latest sent_at of any
-- event in it or in a block before it: a prefix maximum. A newest-first
-- search walks its matches from the highest seq down and stops when this
-- says nothing further down can be newer than what it has (search.go).
CREATE TABLE sent_max (
	block   INTEGER PRIMARY KEY,
	sent_at INTEGER NOT NULL
);

-- The capture flags of the events that have any (flag:).
CREATE TABLE flags (
	flag TEXT NOT NULL,
	seq  INTEGER NOT NULL,
	PRIMARY KEY (flag, seq)
) WITHOUT ROWID;

-- The searchable text. Its rowid is the event's seq.
CREATE VIRTUAL TABLE fts USING fts5 (
	body, attachments, sender_name, recipient_names,
	tokenize = 'unicode61 remove_diacritics 2'
);
`

func (ix *Index) migrate() error {
	ix.w.mu.Lock()
	defer ix.w.mu.Unlock()
	c := ix.w.conn
	st, _, err := c.Prepare("PRAGMA user_version")
	if err != nil {
		return err
	}
	var version int
	if st.Step() {
		version = st.ColumnInt(0)
	}
	if err := errors.Join(st.Err(), st.Close()); err != nil {
		return err
	}
	switch version {
	case schemaVersion:
		return nil
	case 0:
		return inTx(c, schema+fmt.Sprintf("PRAGMA user_version = %d;", schemaVersion))
	}
	return fmt.Errorf("%w: version %d, this onrecord writes %d", errOldSchema, version, schemaVersion)
}

// inTx runs sql in one transaction on c.
func inTx(c *sqlite3.Conn, sql string) error {
	if err := c.Exec("BEGIN IMMEDIATE"); err != nil {
		return err
	}
	if err := c.Exec(sql); err != nil {
		if !c.GetAutocommit() {
			c.Exec("ROLLBACK")
		}
		return err
	}
	return c.Exec("COMMIT")
}

// Position is the journal sequence number of the last record the index
// has taken in (0 for an empty index): a tailer continues after it.
func (ix *Index) Position(ctx context.Context) (uint64, error) {
	var pos int64
	if err := ix.db.QueryRowContext(ctx, "SELECT v FROM state WHERE k = 'position'").Scan(&pos); err != nil {
		return 0, fmt.Errorf("index position: %w", err)
	}
	return uint64(pos), nil // #nosec G115 -- stored by the index itself from a uint64 below 2^63
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
