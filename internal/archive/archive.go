package archive

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/blob"
	"github.com/onrecord/onrecord/internal/blob/localfs"
	"github.com/onrecord/onrecord/internal/config"
	"github.com/onrecord/onrecord/internal/crypt"
	"github.com/onrecord/onrecord/internal/journal"
	"github.com/onrecord/onrecord/internal/kms/local"
	"github.com/onrecord/onrecord/internal/ledger"
	"github.com/onrecord/onrecord/internal/retention"
	"github.com/onrecord/onrecord/record"
)

// Options configure Open.
type Options struct {
	Config config.Config
	// Now is the clock; nil means time.Now. Tests move it to expire buckets.
	Now func() time.Time
	// Logger receives operational logs, never content.
	Logger *slog.Logger
	// Warn receives warnings meant for the operator at start (a new KEK).
	Warn io.Writer
	// JournalFS replaces the journal's file system (fault injection).
	JournalFS journal.FS
	// Blobs stores sealed attachments; nil means a directory beside the
	// journal (config BlobDir).
	Blobs blob.Store
	// OnJournalSync sees every journal fsync (journal.Options.OnSync).
	OnJournalSync func(took time.Duration, records int)
	// BeforeReplay, if set, is called with the queue key (QueueKey) once
	// the keys are open and before the journal is replayed, the part of
	// Open that grows with the archive; the data directory is locked by
	// then. serve starts taking webhooks into a sealed queue there
	// (ingest.Intake) rather than leaving them unanswered for the replay.
	BeforeReplay func(queueKey []byte)
}

// Archive is an open data directory.
type Archive struct {
	cfg      config.Config
	now      func() time.Time
	log      *slog.Logger
	sealer   *crypt.Sealer
	journal  *journal.Journal
	ledger   *ledger.Ledger
	dedupKey []byte
	macs     sync.Pool // of hash.Hash: keyedHash's HMACs, keyed with dedupKey
	blobs    *blob.Sealed
	policy   retention.Policy
	holds    *retention.Holds

	lock *os.File // the data directory's LOCK, held while open
	// ownStore is the blob store Open opened (not one passed in Options),
	// closed with the archive.
	ownStore io.Closer

	feed chan feedBatch // committed batches on their way to the tree
	fed  chan struct{}  // closed when the feeder has stopped

	// recent holds the latest records decoded, for Events (recent.go).
	recent recent
	// rosters and recipients hold the lists last read from blobs
	// (listcache.go).
	rosters    listCache[onrecord.GroupMember]
	recipients listCache[onrecord.Party]
	// sealedRosters and sealedRecipients remember the lists last stored
	// as blobs (listcache.go).
	sealedRosters    listRefs[onrecord.GroupMember]
	sealedRecipients listRefs[onrecord.Party]

	dedup *dedup // every (id, content) stored, and each id's first record

	mu       sync.Mutex // guards disposed
	buckets  sync.Map   // bucket name → *bucketStats
	disposed map[string]bool
	// systemSeqs are the event records in system buckets (count), so that
	// ReplaySystem reads those alone rather than the whole journal again
	// after the replay has (800 ms of a million-record start). Appenders
	// add theirs as they commit, not necessarily in order.
	sysMu      sync.Mutex
	systemSeqs []uint64
	govMu      sync.Mutex // serialises hold changes and disposals
	// holdScope resolves scoped holds (set by SetHoldScope, under govMu).
	holdScope HoldScope
}

// bucketStats counts a bucket's event records without a lock: Append
// updates it from every writer at once.
type bucketStats struct {
	records, firstSeq, lastSeq atomic.Uint64
	// system says the bucket is of the archive's own class: its event
	// records are listed in Archive.systemSeqs.
	system bool
}

func (s *bucketStats) snapshot() (records, first, last uint64) {
	return s.records.Load(), s.firstSeq.Load(), s.lastSeq.Load()
}

// Open opens (creating on first use) the data directory, recovers the
// journal, rebuilds the Merkle tree, the duplicate map and the hold registry
// from it, and checks the stored checkpoints against the rebuilt tree.
func Open(ctx context.Context, opts Options) (*Archive, error) {
	cfg := opts.Config
	a := &Archive{
		cfg:      cfg,
		now:      opts.Now,
		log:      opts.Logger,
		policy:   retention.Policy{Classes: cfg.Retentions()},
		holds:    retention.NewHolds(),
		disposed: map[string]bool{},
		dedup:    newDedup(),
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	lock, err := lockDir(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	a.lock = lock
	ok := false
	defer func() {
		if !ok {
			lock.Close()
		}
	}()
	passphrase, err := config.ResolveSecret(cfg.KeyPassphrase)
	if err != nil {
		return nil, fmt.Errorf("key_passphrase: %w", err)
	}
	kek, created, err := local.Open(cfg.KEKPath(), passphrase, true)
	if err != nil {
		return nil, fmt.Errorf("open key-encryption key: %w", err)
	}
	if created && opts.Warn != nil {
		fmt.Fprintf(opts.Warn, "WARNING: a new key-encryption key was written to %s.\n"+
			"  Back it up and keep it apart from the data: losing it loses every record.\n"+
			"  In production move it to a KMS or HSM, or at least set key_file to a separate volume.\n", cfg.KEKPath())
	}
	if a.sealer, err = crypt.New(cfg.KeystoreDir(), kek); err != nil {
		return nil, fmt.Errorf("open keystore: %w", err)
	}
	keysDir := filepath.Dir(cfg.KeystoreDir())
	if a.dedupKey, err = loadOrCreateWrapped(filepath.Join(keysDir, "dedup"), kek, func() ([]byte, error) {
		k := make([]byte, 32)
		_, err := rand.Read(k)
		return k, err
	}); err != nil {
		return nil, fmt.Errorf("dedup key: %w", err)
	}
	store := opts.Blobs
	if store == nil {
		fsStore, err := localfs.Open(cfg.BlobDir())
		if err != nil {
			return nil, err
		}
		store, a.ownStore = fsStore, fsStore
		defer func() {
			if !ok {
				fsStore.Close()
			}
		}()
	}
	blobSecret := a.keyedHash("blob secret v1", nil)
	if a.blobs, err = blob.NewSealed(store, blobSecret[:]); err != nil {
		return nil, err
	}
	signer, err := loadOrCreateWrapped(filepath.Join(keysDir, "log-signer"), kek, func() ([]byte, error) {
		skey, _, err := ledger.NewSignerKey(cfg.LogOrigin)
		return []byte(skey), err
	})
	if err != nil {
		return nil, fmt.Errorf("log signing key: %w", err)
	}
	if err := publishVerifierKey(cfg.LedgerDir(), string(signer)); err != nil {
		return nil, err
	}
	interval, batchDelay, segSize := cfg.Durations()
	a.feed, a.fed = make(chan feedBatch, 64), make(chan struct{})
	go a.feeder()
	if a.ledger, err = ledger.Open(ledger.Options{
		Dir:                cfg.LedgerDir(),
		Origin:             cfg.LogOrigin,
		SignerKey:          string(signer),
		CheckpointEvery:    cfg.CheckpointEvery,
		CheckpointInterval: interval,
		Entries:            a.entries,
		Logger:             a.log,
	}); err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	if opts.BeforeReplay != nil {
		opts.BeforeReplay(a.QueueKey())
	}
	// The journal verifies every record as it opens; the derived state is
	// rebuilt from the same read.
	replay := a.startReplay()
	a.journal, err = journal.Open(journal.Options{
		Dir:           cfg.JournalDir(),
		FS:            opts.JournalFS,
		SegmentSize:   segSize,
		MaxBatchDelay: batchDelay,
		OnCommit:      a.onCommit,
		OnSync:        opts.OnJournalSync,
		OnRecover:     replay.add,
		Logger:        a.log,
	})
	if rerr := replay.finish(); err == nil && rerr != nil {
		a.journal.Close()
		a.journal = nil
		err = rerr
	}
	if err != nil {
		a.close()
		return nil, fmt.Errorf("open journal: %w", err)
	}
	if err := a.ledger.Start(); err != nil {
		a.close()
		return nil, fmt.Errorf("check log: %w", err)
	}
	if err := a.finishDisposals(); err != nil {
		a.close()
		return nil, err
	}
	if len(a.ledger.Latest()) == 0 {
		// A new log publishes its empty checkpoint at once, so that
		// /log/checkpoint answers from the first start.
		if _, err := a.ledger.Checkpoint(ctx); err != nil {
			a.close()
			return nil, fmt.Errorf("sign first checkpoint: %w", err)
		}
	}
	ok = true
	return a, nil
}

// VerifierKeyFile is the name, under the log directory, of the public key
// that checkpoints verify against.
const VerifierKeyFile = "verifier.key"

// replayer rebuilds the derived state from every committed record as the
// journal opens: the Merkle tree, the duplicate map, bucket counts, holds
// and disposals. Hashing the leaves (SHA-256 over every byte of the
// journal) is the largest part of it and needs nothing but the bytes, so
// other goroutines do it, a chunk of records each, while the journal reads
// and the archive learns the next ones; one more hands the hashed chunks
// to the ledger in journal order. (With one hashing goroutine, it was the
// replay's bottleneck: 1.67 of 2 s for a million records on two cores.)
type replayer struct {
	a *Archive
	// A full chunk goes to work (any hasher) and to order (the appender,
	// which waits for its hashes); both hold every chunk there is, so
	// sending never blocks. free holds the chunks not in use.
	work, order, free chan *replayChunk
	hashed            chan error
	c                 *replayChunk
}

func (a *Archive) startReplay() *replayer {
	hashers := max(1, runtime.GOMAXPROCS(0))
	n := hashers + 3 // being filled, being hashed, hashed and waiting, being appended
	r := &replayer{a: a, work: make(chan *replayChunk, n), order: make(chan *replayChunk, n),
		free: make(chan *replayChunk, n), hashed: make(chan error, 1)}
	for range n {
		r.free <- &replayChunk{done: make(chan struct{}, 1)}
	}
	for range hashers {
		go func() {
			for c := range r.work {
				c.leaves()
				c.done <- struct{}{}
			}
		}()
	}
	go func() {
		var first uint64
		var err error
		for c := range r.order {
			<-c.done
			if err == nil {
				err = a.ledger.AppendLeaves(first, c.hash)
				first += uint64(len(c.ends))
			}
			r.free <- c
		}
		r.hashed <- err
	}()
	r.c = <-r.free
	r.c.reset()
	return r
}

// send hands the chunk being filled to the hashers and the appender.
func (r *replayer) send() {
	r.order <- r.c
	r.work <- r.c
}

// add takes in record seq; data is only valid during the call.
func (r *replayer) add(seq uint64, data []byte) error {
	// learn keeps nothing of env's ciphertext or public bytes.
	env, err := record.UnmarshalView(data)
	if err != nil {
		return fmt.Errorf("replay record %d: %w", seq, err)
	}
	if err := r.a.learn(seq, env); err != nil {
		return fmt.Errorf("replay record %d: %w", seq, err)
	}
	r.c.add(data)
	if len(r.c.ends) == replayChunkRecords || len(r.c.data) >= replayChunkBytes {
		r.send()
		r.c = <-r.free
		r.c.reset()
	}
	return nil
}

// finish hands the last chunk to the ledger and waits until every leaf is
// in the tree. It is called once, whether or not the journal opened.
func (r *replayer) finish() error {
	r.a.dedup.replayed()
	r.send()
	close(r.work)
	close(r.order)
	err := <-r.hashed
	// Let the chunks' buffers go: the journal may keep a reference to add.
	r.c = nil
	for len(r.free) > 0 {
		<-r.free
	}
	if err != nil {
		return fmt.Errorf("replay journal: %w", err)
	}
	return nil
}

// A replay chunk is handed to the ledger at replayChunkRecords records or
// replayChunkBytes bytes, whichever comes first: a few chunks are in use
// (three more than hashing goroutines), so large records cannot make a
// replay hold much of the journal in memory.
const (
	replayChunkRecords = 4096
	replayChunkBytes   = 8 << 20
)

// replayChunk is consecutive records copied out of the journal's scan
// buffer, for their leaf hashes.
type replayChunk struct {
	data []byte
	ends []int
	hash [][32]byte
	done chan struct{} // a hasher sends once hash is filled
}

func (c *replayChunk) reset() { c.data, c.ends = c.data[:0], c.ends[:0] }

func (c *replayChunk) add(rec []byte) {
	c.data = append(c.data, rec...)
	c.ends = append(c.ends, len(c.data))
}

func (c *replayChunk) leaves() {
	c.hash = c.hash[:0]
	from := 0
	for _, end := range c.ends {
		c.hash = append(c.hash, record.LeafHash(c.data[from:end]))
		from = end
	}
}

// learn updates the derived state from one committed record.
func (a *Archive) learn(seq uint64, env *record.Envelope) error {
	switch env.Kind {
	case record.KindEvent:
		if len(env.Public) == 64 {
			var idem, content [32]byte
			copy(idem[:], env.Public[:32])
			copy(content[:], env.Public[32:])
			a.dedup.learn(idem, content, seq)
		}
		a.count(env.Bucket, seq)
	case record.KindHold:
		pt, err := a.sealer.Open(env)
		if err != nil {
			return fmt.Errorf("open hold record: %w", err)
		}
		var h retention.Hold
		if err := json.Unmarshal(pt, &h); err != nil {
			return fmt.Errorf("hold record: %w", err)
		}
		if err := a.holds.Apply(h); err != nil {
			a.log.Warn("hold record does not apply", "seq", seq, "err", err)
		}
	case record.KindDisposal:
		d, err := retention.UnmarshalDisposal(env.Public)
		if err != nil {
			return err
		}
		a.mu.Lock()
		a.disposed[d.Bucket] = true
		a.mu.Unlock()
	}
	return nil
}

func (a *Archive) count(bucket string, seq uint64) {
	v, ok := a.buckets.Load(bucket)
	if !ok {
		class, _, err := crypt.ParseBucket(bucket)
		fresh := &bucketStats{system: err == nil && class == config.SystemClass}
		fresh.firstSeq.Store(seq)
		fresh.lastSeq.Store(seq)
		v, _ = a.buckets.LoadOrStore(bucket, fresh)
	}
	s := v.(*bucketStats)
	if s.system {
		a.sysMu.Lock()
		a.systemSeqs = append(a.systemSeqs, seq)
		a.sysMu.Unlock()
	}
	s.records.Add(1)
	storeIf(&s.firstSeq, seq, func(cur uint64) bool { return seq < cur })
	storeIf(&s.lastSeq, seq, func(cur uint64) bool { return seq > cur })
}

// storeIf sets v to x while better(current) holds.
func storeIf(v *atomic.Uint64, x uint64, better func(uint64) bool) {
	for {
		cur := v.Load()
		if !better(cur) || v.CompareAndSwap(cur, x) {
			return
		}
	}
}

// onCommit runs on the journal's writer after each fsync, before the
// waiters are released. It copies the batch and hands it to the feeder,
// which hashes the leaves and adds them to the tree in journal order: the
// hashing stays off the writer's path, so the next batch's write and
// fdatasync overlap this one's hashing. A record is acknowledged once it
// is durable; its leaf follows within moments, and every checkpoint is
// signed over leaves of durable records only.
func (a *Archive) onCommit(first uint64, records [][]byte) {
	n := 0
	for _, r := range records {
		n += len(r)
	}
	fb := feedBatch{first: first, ends: make([]int, len(records))}
	if b, _ := feedBufs.Get().(*[]byte); b != nil && cap(*b) >= n {
		fb.buf = (*b)[:0]
	} else {
		fb.buf = make([]byte, 0, n)
	}
	for i, r := range records {
		fb.buf = append(fb.buf, r...)
		fb.ends[i] = len(fb.buf)
	}
	a.feed <- fb
}

// feedBatch is one committed batch on its way to the tree; a batch with
// flushed set carries no records and is answered once everything before
// it is in the tree.
type feedBatch struct {
	first   uint64
	buf     []byte
	ends    []int
	flushed chan struct{}
}

func (a *Archive) feeder() {
	defer close(a.fed)
	var leaves [][32]byte
	for fb := range a.feed {
		if fb.flushed != nil {
			close(fb.flushed)
			continue
		}
		leaves = leaves[:0]
		start := 0
		for _, end := range fb.ends {
			leaves = append(leaves, record.LeafHash(fb.buf[start:end]))
			start = end
		}
		if err := a.ledger.AppendLeaves(fb.first, leaves); err != nil {
			// Only a bug gets here (the journal hands out dense sequence
			// numbers); the records are durable and the tree is rebuilt
			// from them on the next start.
			a.log.Error("log out of step with journal", "first", fb.first, "err", err)
		}
		if cap(fb.buf) <= maxFeedBuf {
			feedBufs.Put(&fb.buf)
		}
	}
}

// feedBufs are feedBatch buffers for reuse (the records in them are
// sealed envelopes): a new copy of every committed batch was 7% of all
// the memory bench ingest's gateway allocated. Buffers over maxFeedBuf (a
// burst's batch) are left to the collector.
var feedBufs sync.Pool

const maxFeedBuf = 4 << 20

// syncLedger waits until every record acknowledged before the call is a
// leaf of the tree.
func (a *Archive) syncLedger(ctx context.Context) error {
	done := make(chan struct{})
	select {
	case a.feed <- feedBatch{flushed: done}:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (a *Archive) entries(from, to uint64) ([][]byte, error) {
	var out [][]byte
	err := a.journal.Scan(from, func(seq uint64, data []byte) error {
		if seq >= to {
			return errStop
		}
		out = append(out, append([]byte(nil), data...))
		return nil
	})
	if errors.Is(err, errStop) {
		err = nil
	}
	return out, err
}

var errStop = errors.New("stop")

// Result says what Append did.
type Result struct {
	Seq uint64 `json:"seq"`
	ID  string `json:"id"`
	// Duplicate is set when the event was already stored with the same
	// content; Seq is then the stored record's.
	Duplicate bool `json:"duplicate,omitempty"`
	// Conflict is set when the same (channel, provider_id, kind) was stored
	// before with different content. The new record is stored too — nothing
	// is dropped — and ConflictWith names the first.
	Conflict     bool   `json:"conflict,omitempty"`
	ConflictWith uint64 `json:"conflict_with,omitempty"`
}

// Append seals the event and makes it durable. It returns only after the
// record (or the earlier identical one) is committed.
func (a *Archive) Append(ctx context.Context, ev *onrecord.Event) (Result, error) {
	if err := ev.Validate(); err != nil {
		return Result{}, &onrecord.Error{Code: onrecord.EINVALID, Message: "invalid event", Err: err}
	}
	class := ev.RetentionClass
	if class == "" {
		class = a.cfg.DefaultRetentionClass
	}
	if _, ok := a.policy.Classes[class]; !ok || class == config.SystemClass {
		return Result{}, onrecord.Errorf(onrecord.EINVALID, "retention class %q is not configured", class)
	}
	given := ev
	ev, err := a.sealAttachments(ctx, ev)
	if err != nil {
		return Result{}, err
	}
	idem := a.keyedHash("idempotency", []byte(ev.IdempotencyKey()))
	bufs := getWriteBufs()
	defer bufs.release()
	content, enc, err := a.contentHash(ev, bufs)
	if err != nil {
		return Result{}, err
	}
	p, seq, dup, err := a.dedup.begin(ctx, idem, content)
	if err != nil {
		return Result{}, err
	}
	if dup {
		return Result{Seq: seq, Duplicate: true}, nil
	}
	firstSeq, claimed, err := a.dedup.claimFirst(ctx, idem, p)
	if err != nil {
		a.dedup.finish(p, idem, content, false, 0, err)
		return Result{}, err
	}
	res, err := a.appendNew(ctx, ev, given, enc, bufs, class, idem, content)
	a.dedup.finish(p, idem, content, claimed, res.Seq, err)
	if err == nil && !claimed {
		res.Conflict, res.ConflictWith = true, firstSeq
		a.log.Warn("conflict: same provider id stored with different content",
			"channel", ev.Channel, "kind", ev.Kind, "seq", res.Seq, "first_seq", firstSeq)
	}
	return res, err
}

// given is the event as the caller gave it, before sealAttachments made ev
// keep its text or its group's roster as blobs.
func (a *Archive) appendNew(ctx context.Context, ev, given *onrecord.Event, enc []byte, bufs *writeBufs, class string, idem, content [32]byte) (Result, error) {
	now := a.now().UTC()
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return Result{}, fmt.Errorf("record id: %w", err)
	}
	pt, err := storedPlaintext(bufs.pt[:0], ev, enc, hex.EncodeToString(id[:]), now, class)
	if err != nil {
		return Result{}, err
	}
	bufs.pt = pt
	var public [64]byte
	copy(public[:], idem[:])
	copy(public[32:], content[:])
	// Sealed in place: the ciphertext takes the plaintext's storage.
	seq, bucket, err := a.appendSealed(ctx, record.KindEvent, id, now, class, pt, pt[:0], public[:], bufs)
	if err != nil {
		return Result{}, err
	}
	// What Events would decode from the record, kept for the search
	// index's tailer (recent.go); what it keeps as blobs is put back as
	// inflate does.
	stored := *ev
	stored.ID, stored.CapturedAt, stored.RetentionClass = hex.EncodeToString(id[:]), now, class
	if stored.BodyBlob != nil {
		stored.Body, stored.BodyBlob = given.Body, nil
	}
	if stored.RecipientsBlob != nil {
		stored.Recipients, stored.RecipientsBlob = given.Recipients, nil
	}
	if stored.Capture != nil && stored.Capture.RosterBlob != nil {
		stored.Capture = given.Capture
	}
	if dec, ok := decodedForm(&stored); ok {
		a.recent.put(&recentRecord{seq: seq, bucket: bucket, ev: dec})
	}
	return Result{Seq: seq, ID: stored.ID}, nil
}

// appendSealed seals plaintext into the (class, day of now) bucket and
// appends it. The ciphertext is appended to dst (pt[:0] seals in place,
// overwriting pt). It is the lowest layer of the write path and what the
// journal benchmark measures.
func (a *Archive) appendSealed(ctx context.Context, kind record.Kind, id [16]byte, now time.Time, class string, pt, dst, public []byte, bufs *writeBufs) (seq uint64, bucket string, err error) {
	env, err := a.sealer.SealAppend(dst, kind, id, now, class, pt)
	if err != nil {
		return 0, "", fmt.Errorf("seal: %w", err)
	}
	env.Public = public
	seq, err = a.appendEnvelope(ctx, env, bufs)
	return seq, env.Bucket, err
}

// appendEnvelope encodes env into bufs (or a new buffer if bufs is nil)
// and appends it to the journal, which copies it before returning.
func (a *Archive) appendEnvelope(ctx context.Context, env *record.Envelope, bufs *writeBufs) (uint64, error) {
	var dst []byte
	if bufs != nil {
		dst = bufs.env[:0]
	}
	buf, err := env.AppendBinary(slices.Grow(dst, env.Size()))
	if err != nil {
		return 0, fmt.Errorf("encode envelope: %w", err)
	}
	if bufs != nil {
		bufs.env = buf
	}
	seq, err := a.journal.Append(ctx, buf)
	if err != nil {
		code := onrecord.EINTERNAL
		if errors.Is(err, journal.ErrDiskFull) || errors.Is(err, journal.ErrFailed) {
			code = onrecord.EUNAVAILABLE
		}
		return 0, &onrecord.Error{Code: code, Message: "record not stored", Err: err}
	}
	if len(buf) > math.MaxUint16 {
		// Kept like any other, but a C2SP entry bundle cannot hold it: the
		// bundle of its 256 records is answered 500, and tlog-tiles
		// clients cannot fetch them (offline verification from the
		// journal is not affected). Long texts, payloads, recipient
		// lists and rosters are blobs; what is left is a field that large
		// of another kind.
		a.log.Warn("record larger than a log entry bundle holds (64 KiB): /log/tile/entries cannot serve its bundle",
			"seq", seq, "bytes", len(buf))
	}
	if env.Kind == record.KindEvent {
		a.count(env.Bucket, seq)
	} else {
		a.recent.put(&recentRecord{seq: seq, bucket: env.Bucket, err: notAnEvent(seq, env.Kind)})
	}
	return seq, nil
}

// AppendRaw seals and appends an opaque plaintext under the default class
// without an event around it; for benchmarks of the write path.
func (a *Archive) AppendRaw(ctx context.Context, pt []byte) (uint64, error) {
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return 0, err
	}
	seq, _, err := a.appendSealed(ctx, record.KindEvent, id, a.now().UTC(), a.cfg.DefaultRetentionClass, pt, nil, nil, nil)
	return seq, err
}

func (a *Archive) keyedHash(domain string, b []byte) [32]byte {
	// Two per append: a pooled HMAC, Reset to its keyed state, saves the
	// key schedule and the allocations of a new one.
	m, _ := a.macs.Get().(hash.Hash)
	if m == nil {
		m = hmac.New(sha256.New, a.dedupKey)
	} else {
		m.Reset()
	}
	m.Write([]byte(domain))
	m.Write([]byte{0})
	m.Write(b)
	var out [32]byte
	m.Sum(out[:0])
	a.macs.Put(m)
	return out
}

// contentHash is the keyed hash of what the provider said: the event less
// the fields the archive adds. When that encoding is also the event's own
// (no field was left out for the hash), it is returned for storedPlaintext
// to reuse, so the event is encoded once on the write path.
func (a *Archive) contentHash(ev *onrecord.Event, bufs *writeBufs) ([32]byte, []byte, error) {
	c := *ev
	c.ID, c.CapturedAt, c.RetentionClass, c.Capture = "", time.Time{}, "", nil
	same := ev.ID == "" && ev.CapturedAt.IsZero() && ev.Capture == nil
	if c.SentAtIsReceipt {
		c.SentAt = time.Time{}
		same = false
	}
	if c.Kind == onrecord.KindUnparsed {
		// An unreadable delivery's content is its raw bytes; when it was
		// received and why it failed differ between retries.
		c.SentAt, c.Meta = time.Time{}, nil
		same = false
	}
	b, err := appendEvent(bufs.enc[:0], &c)
	if err != nil {
		return [32]byte{}, nil, fmt.Errorf("encode event: %w", err)
	}
	bufs.enc = b
	// Hash before dropping an encoding that is not the event's own: the
	// hash is of what the provider said whether or not it can be reused.
	h := a.keyedHash("content", b)
	if !same {
		b = nil
	}
	return h, b, nil
}

// storedPlaintext is the event as sealed: with its record id, capture time
// and retention class. enc, when not nil, is the event's encoding without
// those three fields (all of which are omitted when empty), so they are
// spliced in at the front instead of encoding the event again.
func storedPlaintext(dst []byte, ev *onrecord.Event, enc []byte, id string, now time.Time, class string) ([]byte, error) {
	if len(enc) < 2 || enc[0] != '{' {
		stored := *ev
		stored.ID, stored.CapturedAt, stored.RetentionClass = id, now, class
		pt, err := appendEvent(dst, &stored)
		if err != nil {
			return nil, fmt.Errorf("encode event: %w", err)
		}
		return pt, nil
	}
	// The head is what json.Marshal writes for struct{ID, CapturedAt,
	// RetentionClass} with those three tags, less its closing brace.
	// Room for the AEAD tag too, so that it is sealed in place.
	pt := slices.Grow(dst, len(id)+len(class)+len(enc)+96+crypt.Overhead)
	pt = appendJSONString(append(pt, `{"id":`...), id)
	pt, err := appendTime(append(pt, `,"captured_at":`...), now)
	if err != nil {
		return nil, fmt.Errorf("encode event: %w", err)
	}
	pt = appendJSONString(append(pt, `,"retention_class":`...), class)
	if len(enc) > 2 {
		pt = append(pt, ',')
	}
	return append(pt, enc[1:]...), nil
}

// Envelope returns the encoded envelope of record seq exactly as the
// journal holds it (what the Merkle leaf commits to).
func (a *Archive) Envelope(seq uint64) ([]byte, error) {
	out, err := a.journal.Read(seq)
	if errors.Is(err, journal.ErrNotFound) {
		return nil, onrecord.Errorf(onrecord.ENOTFOUND, "no record %d", seq)
	}
	if err != nil {
		return nil, fmt.Errorf("read record %d: %w", seq, err)
	}
	return out, nil
}

// RecordKey returns the per-record key of record seq, which discloses that
// record and no other (for export bundles).
func (a *Archive) RecordKey(seq uint64) ([]byte, error) {
	b, err := a.Envelope(seq)
	if err != nil {
		return nil, err
	}
	env, err := record.Unmarshal(b)
	if err != nil {
		return nil, fmt.Errorf("record %d: %w", seq, err)
	}
	return a.sealer.RecordKey(env)
}

// Get returns the decrypted event at seq.
func (a *Archive) Get(seq uint64) (*onrecord.Event, error) {
	b, err := a.Envelope(seq)
	if err != nil {
		return nil, err
	}
	return a.openEvent(seq, b)
}

func notAnEvent(seq uint64, kind record.Kind) error {
	return onrecord.Errorf(onrecord.EINVALID, "record %d is a %s record", seq, kind)
}

// Events calls fn with every record from seq from up to the end of the
// journal as the call finds it: the event, or why record seq is not one (a
// hold, a disposal, a disposed record). Records appended since this
// archive was opened come from memory while they are recent (recent.go);
// the others from the journal, in one pass over each stretch. Reading
// record by record with Get would re-read each segment from its start
// every time. The events passed to fn may be shared with later calls:
// fn must not change them.
func (a *Archive) Events(from uint64, fn func(seq uint64, ev *onrecord.Event, err error) error) error {
	end := a.journal.Len()
	for seq := from; seq < end; {
		if rec, ok := a.recent.get(seq); ok {
			if err := fn(seq, rec.ev, rec.err); err != nil {
				return err
			}
			seq++
			continue
		}
		// Read from the journal up to the next record held in memory.
		start := seq
		var fnErr error
		err := a.journal.Scan(start, func(s uint64, data []byte) error {
			if s >= end {
				return errStop
			}
			if s > start {
				if _, ok := a.recent.get(s); ok {
					return errStop
				}
			}
			ev, err := a.openEvent(s, data)
			seq = s + 1
			if fnErr = fn(s, ev, err); fnErr != nil {
				return errStop
			}
			return nil
		})
		switch {
		case fnErr != nil:
			return fnErr
		case err != nil && !errors.Is(err, errStop):
			return err
		case seq == start:
			return fmt.Errorf("events: record %d not found in the journal", start)
		}
	}
	return nil
}

// openEvent decodes and decrypts an encoded envelope holding an event.
func (a *Archive) openEvent(seq uint64, b []byte) (*onrecord.Event, error) {
	env, err := record.Unmarshal(b)
	if err != nil {
		return nil, fmt.Errorf("record %d: %w", seq, err)
	}
	if env.Kind != record.KindEvent {
		return nil, notAnEvent(seq, env.Kind)
	}
	pt, err := a.sealer.Open(env)
	if err != nil {
		if errors.Is(err, crypt.ErrKeyDestroyed) {
			return nil, &onrecord.Error{Code: onrecord.ENOTFOUND, Message: fmt.Sprintf("record %d was disposed of", seq), Err: err}
		}
		return nil, fmt.Errorf("open record %d: %w", seq, err)
	}
	var ev onrecord.Event
	if err := decodeEvent(pt, &ev); err != nil {
		return nil, fmt.Errorf("decode record %d: %w", seq, err)
	}
	if err := a.inflate(&ev); err != nil {
		return nil, fmt.Errorf("record %d: %w", seq, err)
	}
	return &ev, nil
}

// Len is the number of committed records.
func (a *Archive) Len() uint64 { return a.journal.Len() }

// Ledger exposes the Merkle log (checkpoints, tiles, proofs).
func (a *Archive) Ledger() *ledger.Ledger { return a.ledger }

// Checkpoint signs a checkpoint now if the log grew, and returns the latest.
func (a *Archive) Checkpoint(ctx context.Context) ([]byte, error) {
	if err := a.syncLedger(ctx); err != nil {
		return nil, err
	}
	return a.ledger.Checkpoint(ctx)
}

// Close stops appends, then signs a final checkpoint.
func (a *Archive) Close() error { return a.close() }

func (a *Archive) close() error {
	var errs []error
	if a.journal != nil {
		errs = append(errs, a.journal.Close())
	}
	if a.feed != nil {
		// The writer has stopped: no more batches. Drain the feeder so
		// the final checkpoint covers every record.
		close(a.feed)
		<-a.fed
		a.feed = nil
	}
	if a.ledger != nil {
		errs = append(errs, a.ledger.Close())
	}
	if a.ownStore != nil {
		errs = append(errs, a.ownStore.Close())
	}
	if a.lock != nil {
		errs = append(errs, a.lock.Close())
	}
	return errors.Join(errs...)
}

// InclusionProof proves record seq is in the log of the given size (a
// checkpoint's).
func (a *Archive) InclusionProof(seq, size uint64) ([][]byte, error) {
	return a.ledger.InclusionProof(seq, size)
}

// VerifierKey is the log's public key, as published in log/verifier.key.
func (a *Archive) VerifierKey() string { return a.ledger.VerifierKey() }
