package ledger

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/transparency-dev/formats/log"
	"golang.org/x/mod/sumdb/note"
)

// Defaults for Options.
const (
	DefaultCheckpointEvery    = 1000
	DefaultCheckpointInterval = time.Second
)

// ErrClosed is returned by operations on a closed Ledger.
var ErrClosed = errors.New("ledger is closed")

// Options configure a Ledger.
type Options struct {
	// Dir is the ledger directory; it holds the checkpoint history.
	// Required. Created (0700) if missing.
	Dir string
	// Origin is the checkpoint origin line. It must equal the signing
	// key's name; empty means the key's name.
	Origin string
	// SignerKey is the signed-note private key ("PRIVATE+KEY+..."), as made
	// by NewSignerKey. Required.
	SignerKey string
	// CheckpointEvery signs a checkpoint once this many leaves arrived since
	// the last one. Zero means DefaultCheckpointEvery.
	CheckpointEvery int
	// CheckpointInterval signs a checkpoint once this much time passed since
	// the last one and at least one leaf arrived. Zero means
	// DefaultCheckpointInterval.
	CheckpointInterval time.Duration
	// Entries returns the encoded envelopes with indexes [from, to). The
	// journal provides it; entry bundles are 404 without it.
	Entries func(from, to uint64) ([][]byte, error)
	// Logger receives operational events (sizes and offsets, never record
	// content). Nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock for the checkpoint interval. Nil means time.Now.
	Now func() time.Time
}

// Ledger is the Merkle log over the journal: tree state, signed checkpoints,
// proofs and tiles. All methods are safe for concurrent use.
type Ledger struct {
	origin   string
	signer   note.Signer
	verifier note.Verifier
	vkey     string
	every    uint64
	interval time.Duration
	entries  func(from, to uint64) ([][]byte, error)
	logger   *slog.Logger
	now      func() time.Time

	mu   sync.RWMutex // guards tree
	tree *tree

	// signing is a one-slot semaphore serialising checkpoint signing and
	// appends to the history; a channel so waiting can honour a context.
	signing chan struct{}
	// The fields below are written only while holding signing.
	file       *checkpointFile
	failed     error     // sticky: the history can no longer be appended to
	lastSigned time.Time // when the latest checkpoint was signed here

	// latest is the latest durable checkpoint; read without the semaphore.
	latest atomic.Pointer[storedLatest]
	// signedSize mirrors latest's size for the cheap check in AppendLeaves.
	signedSize atomic.Uint64

	lifecycle sync.Mutex // orders Start against Close
	started   atomic.Bool
	closed    atomic.Bool
	kick      chan struct{}
	stop      chan struct{}
	done      chan struct{}
}

type storedLatest struct {
	note   []byte
	offset int64
	cp     log.Checkpoint
}

// Open validates opts, opens the checkpoint history in opts.Dir (truncating
// a torn last entry, failing closed on corruption before it), verifies the
// latest checkpoint's signature, and returns a Ledger with an empty tree.
// The caller then replays every journal leaf with AppendLeaves and calls
// Start, which checks the history against the replayed tree.
func Open(opts Options) (*Ledger, error) {
	if opts.Dir == "" {
		return nil, errors.New("ledger: Options.Dir is required")
	}
	if opts.SignerKey == "" {
		return nil, errors.New("ledger: Options.SignerKey is required; create one with NewSignerKey")
	}
	if opts.CheckpointEvery < 0 {
		return nil, fmt.Errorf("ledger: Options.CheckpointEvery is %d, want >= 0", opts.CheckpointEvery)
	}
	if opts.CheckpointInterval < 0 {
		return nil, fmt.Errorf("ledger: Options.CheckpointInterval is %s, want >= 0", opts.CheckpointInterval)
	}
	signer, err := note.NewSigner(opts.SignerKey)
	if err != nil {
		return nil, fmt.Errorf("ledger: Options.SignerKey: %w", err)
	}
	vkey, err := VerifierKey(opts.SignerKey)
	if err != nil {
		return nil, fmt.Errorf("ledger: Options.SignerKey: %w", err)
	}
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, fmt.Errorf("ledger: verifier key: %w", err)
	}
	origin := opts.Origin
	if origin == "" {
		origin = signer.Name()
	}
	if origin != signer.Name() {
		return nil, fmt.Errorf("ledger: Options.Origin %q differs from the signing key's name %q; C2SP checkpoints are signed under the origin's name", origin, signer.Name())
	}
	l := &Ledger{
		origin:   origin,
		signer:   signer,
		verifier: verifier,
		vkey:     vkey,
		every:    uint64(opts.CheckpointEvery),
		interval: opts.CheckpointInterval,
		entries:  opts.Entries,
		logger:   opts.Logger,
		now:      opts.Now,
		tree:     newTree(),
		signing:  make(chan struct{}, 1),
		kick:     make(chan struct{}, 1),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	if l.every == 0 {
		l.every = DefaultCheckpointEvery
	}
	if l.interval == 0 {
		l.interval = DefaultCheckpointInterval
	}
	if l.logger == nil {
		l.logger = slog.Default()
	}
	if l.now == nil {
		l.now = time.Now
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("ledger: create directory: %w", err)
	}
	if err := l.loadHistory(opts.Dir); err != nil {
		return nil, err
	}
	if l.tree.spill, err = openTileSpill(filepath.Join(opts.Dir, LeafTilesFile), spillCache, spillBatch); err != nil {
		l.file.close()
		return nil, fmt.Errorf("ledger: %w", err)
	}
	return l, nil
}

// loadHistory reads the checkpoint history: every entry must parse, carry
// our origin and not shrink the tree; the latest must carry a valid
// signature by our key.
func (l *Ledger) loadHistory(dir string) error {
	var last *storedLatest
	path := filepath.Join(dir, CheckpointsFile)
	file, err := openCheckpointFile(dir, func(c StoredCheckpoint) error {
		cp, err := parseCheckpointBody(c.Note)
		if err != nil {
			return fmt.Errorf("ledger: checkpoint history %s: entry at offset %d: %w", path, c.Offset, err)
		}
		if cp.Origin != l.origin {
			return fmt.Errorf("ledger: checkpoint history %s: entry at offset %d has origin %q, want %q", path, c.Offset, cp.Origin, l.origin)
		}
		if last != nil && cp.Size < last.cp.Size {
			return fmt.Errorf("ledger: checkpoint history %s: entry at offset %d commits to size %d, smaller than %d at offset %d", path, c.Offset, cp.Size, last.cp.Size, last.offset)
		}
		last = &storedLatest{note: c.Note, offset: c.Offset, cp: *cp}
		return nil
	}, func(ce *CorruptCheckpointError) {
		l.logger.Warn("ledger: truncating torn checkpoint history tail", "path", ce.Path, "offset", ce.Offset, "reason", ce.Reason)
	})
	if err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	if last != nil {
		if _, _, err := VerifyCheckpoint(last.note, l.verifier, l.origin); err != nil {
			file.close()
			return fmt.Errorf("ledger: checkpoint history %s: latest entry at offset %d is not signed by key %s: %w", path, last.offset, l.vkey, err)
		}
		l.latest.Store(last)
		l.signedSize.Store(last.cp.Size)
	}
	l.file = file
	return nil
}

// AppendLeaves adds leaf hashes for journal records first, first+1, ...
// first must equal the current size. It only hashes in memory (O(1)
// amortised per leaf), so the journal can call it from its commit hook on
// the writer goroutine; it wakes the checkpoint goroutine when enough
// leaves have arrived. Callers must pass only durable records.
func (l *Ledger) AppendLeaves(first uint64, leafHashes [][HashSize]byte) error {
	if l.closed.Load() {
		return ErrClosed
	}
	l.mu.Lock()
	if first != l.tree.size {
		size := l.tree.size
		l.mu.Unlock()
		return fmt.Errorf("ledger: append leaves at %d, but the tree has %d leaves", first, size)
	}
	err := l.tree.append(leafHashes)
	size := l.tree.size
	if sp := l.tree.spill; sp != nil && sp.failed != nil && !sp.warned {
		sp.warned = true
		l.logger.Warn("ledger: cannot write leaf tiles to disk; keeping them in memory", "file", LeafTilesFile, "err", sp.failed)
	}
	l.mu.Unlock()
	if err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	if l.started.Load() && size-l.signedSize.Load() >= l.every {
		select {
		case l.kick <- struct{}{}:
		default:
		}
	}
	return nil
}

// Start checks the latest stored checkpoint against the replayed tree (its
// size must not exceed the tree's and its root must match the tree at that
// size) and starts the background signer. It fails closed: a mismatch
// means the journal lost or changed records that a published checkpoint
// commits to.
func (l *Ledger) Start() error {
	l.lifecycle.Lock()
	defer l.lifecycle.Unlock()
	if l.closed.Load() {
		return ErrClosed
	}
	if l.started.Load() {
		return errors.New("ledger: already started")
	}
	if err := l.checkLatest(); err != nil {
		return err
	}
	l.started.Store(true)
	go l.run()
	// Sign the replayed backlog promptly rather than after the first
	// interval.
	if l.Size() > l.signedSize.Load() {
		select {
		case l.kick <- struct{}{}:
		default:
		}
	}
	return nil
}

func (l *Ledger) checkLatest() error {
	latest := l.latest.Load()
	if latest == nil {
		return nil
	}
	l.mu.RLock()
	size := l.tree.size
	root, err := l.tree.rootAt(min(latest.cp.Size, size))
	l.mu.RUnlock()
	if latest.cp.Size > size {
		return fmt.Errorf("ledger: journal has %d records but checkpoint at offset %d commits to %d", size, latest.offset, latest.cp.Size)
	}
	if err != nil {
		return fmt.Errorf("ledger: root at size %d: %w", latest.cp.Size, err)
	}
	if !bytes.Equal(root, latest.cp.Hash) {
		return fmt.Errorf("ledger: root mismatch at size %d: checkpoint at offset %d commits to %s, journal gives %s",
			latest.cp.Size, latest.offset, base64.StdEncoding.EncodeToString(latest.cp.Hash), base64.StdEncoding.EncodeToString(root))
	}
	return nil
}

// VerifyHistory re-reads the whole checkpoint history and checks every
// entry: framing, signature by the log key, origin, sizes never shrinking,
// and root equal to the tree's root at that size (which, for one append-only
// tree, implies consistency between consecutive checkpoints). An entry
// beyond the tree's size is an error. It returns how many entries it
// checked. It is the periodic scrub; Start checks only the latest entry so
// that startup stays fast.
func (l *Ledger) VerifyHistory(ctx context.Context) (checked int, err error) {
	// Read only what was durable when we started, so a concurrent append
	// does not look like a torn tail.
	select {
	case l.signing <- struct{}{}:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	if errors.Is(l.failed, ErrClosed) {
		<-l.signing
		return 0, ErrClosed
	}
	path, end := l.file.path, l.file.end
	<-l.signing
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("ledger: open checkpoint history: %w", err)
	}
	defer f.Close()
	var prev uint64
	err = ScanCheckpoints(path, io.NewSectionReader(f, 0, end), func(c StoredCheckpoint) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		cp, _, err := VerifyCheckpoint(c.Note, l.verifier, l.origin)
		if err != nil {
			return fmt.Errorf("checkpoint at offset %d: %w", c.Offset, err)
		}
		if cp.Size < prev {
			return fmt.Errorf("checkpoint at offset %d commits to size %d, smaller than the previous %d", c.Offset, cp.Size, prev)
		}
		prev = cp.Size
		root, err := l.RootAt(cp.Size)
		if errors.Is(err, ErrOutOfRange) {
			return fmt.Errorf("journal has %d records but checkpoint at offset %d commits to %d", l.Size(), c.Offset, cp.Size)
		}
		if err != nil {
			return err
		}
		if !bytes.Equal(root, cp.Hash) {
			return fmt.Errorf("root mismatch at size %d: checkpoint at offset %d", cp.Size, c.Offset)
		}
		checked++
		return nil
	})
	if err != nil {
		return checked, fmt.Errorf("ledger: verify history: %w", err)
	}
	return checked, nil
}

// run is the background signer: it signs when CheckpointEvery leaves have
// arrived (AppendLeaves kicks it) or when CheckpointInterval has passed
// since the last checkpoint and the tree grew.
func (l *Ledger) run() {
	defer close(l.done)
	timer := time.NewTimer(l.interval)
	defer timer.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-l.kick:
		case <-timer.C:
		}
		select {
		case l.signing <- struct{}{}:
		case <-l.stop:
			return
		}
		wait := l.interval
		if l.failed == nil {
			size := l.Size()
			signed := l.signedSize.Load()
			since := l.now().Sub(l.lastSigned)
			if size > signed {
				if size-signed >= l.every || since >= l.interval {
					if _, err := l.signLocked(); err != nil {
						l.logger.Error("ledger: checkpoint failed; no further checkpoints until restart", "err", err)
					}
				} else {
					wait = l.interval - since
				}
			}
		}
		<-l.signing
		timer.Reset(max(wait, time.Millisecond))
	}
}

// Checkpoint signs a checkpoint for the current tree now if the tree grew
// since the latest one (or none exists yet), makes it durable, and returns
// the latest signed checkpoint. It is what shutdown and `onrecord
// checkpoint` use.
func (l *Ledger) Checkpoint(ctx context.Context) ([]byte, error) {
	if l.closed.Load() {
		return nil, ErrClosed
	}
	if !l.started.Load() {
		return nil, errors.New("ledger: checkpoint before Start: the tree may not be replayed yet")
	}
	select {
	case l.signing <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("ledger: checkpoint: %w", ctx.Err())
	}
	defer func() { <-l.signing }()
	return l.signLocked()
}

// signLocked signs the current tree if it grew. The caller holds signing.
func (l *Ledger) signLocked() ([]byte, error) {
	if l.failed != nil {
		return nil, fmt.Errorf("ledger: checkpoint history is failed: %w", l.failed)
	}
	l.mu.RLock()
	size := l.tree.size
	root, err := l.tree.rootAt(size)
	l.mu.RUnlock()
	if err != nil {
		return nil, fmt.Errorf("ledger: root at size %d: %w", size, err)
	}
	latest := l.latest.Load()
	if latest != nil {
		if size == latest.cp.Size {
			return bytes.Clone(latest.note), nil
		}
		if size < latest.cp.Size {
			return nil, fmt.Errorf("ledger: tree has %d leaves, fewer than the latest checkpoint's %d", size, latest.cp.Size)
		}
	}
	signed, err := signCheckpoint(l.signer, l.origin, size, root)
	if err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	off, err := l.file.append(signed)
	if err != nil {
		// After a failed write or fsync the file's durable state is
		// unknown; never append after it. Open repairs a torn tail.
		l.failed = err
		return nil, fmt.Errorf("ledger: %w", err)
	}
	l.latest.Store(&storedLatest{note: signed, offset: off, cp: log.Checkpoint{Origin: l.origin, Size: size, Hash: root}})
	l.signedSize.Store(size)
	l.lastSigned = l.now()
	l.logger.Debug("ledger: checkpoint signed", "size", size, "offset", off)
	return bytes.Clone(signed), nil
}

// Close stops the background signer, signs a final checkpoint if the tree
// grew since the last one (only when started: before Start the tree may be
// half replayed), and closes the history. It is safe to call twice.
func (l *Ledger) Close() error {
	l.lifecycle.Lock()
	defer l.lifecycle.Unlock()
	if !l.closed.CompareAndSwap(false, true) {
		return nil
	}
	if l.started.Load() {
		close(l.stop)
		<-l.done
	}
	l.signing <- struct{}{}
	defer func() { <-l.signing }()
	var errs []error
	if l.started.Load() && l.failed == nil {
		if _, err := l.signLocked(); err != nil {
			errs = append(errs, fmt.Errorf("final checkpoint: %w", err))
		}
	}
	if err := l.file.close(); err != nil {
		errs = append(errs, err)
	}
	if err := l.tree.spill.close(); err != nil {
		errs = append(errs, fmt.Errorf("leaf tiles file: %w", err))
	}
	// A Checkpoint call that passed its closed check before Close began
	// finds this and fails instead of writing to a closed file.
	l.failed = ErrClosed
	return errors.Join(errs...)
}

// Latest returns a copy of the latest durable signed checkpoint, or nil if
// none has been signed yet.
func (l *Ledger) Latest() []byte {
	if latest := l.latest.Load(); latest != nil {
		return bytes.Clone(latest.note)
	}
	return nil
}

// Origin is the checkpoint origin line.
func (l *Ledger) Origin() string { return l.origin }

// VerifierKey is the public signed-note key auditors pin to check
// checkpoints.
func (l *Ledger) VerifierKey() string { return l.vkey }

// Size is the number of leaves in the tree.
func (l *Ledger) Size() uint64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.tree.size
}

// LeafHash returns the leaf hash at index.
func (l *Ledger) LeafHash(index uint64) ([HashSize]byte, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if index >= l.tree.size {
		return [HashSize]byte{}, fmt.Errorf("ledger: leaf %d of a tree of size %d: %w", index, l.tree.size, ErrOutOfRange)
	}
	h, err := l.tree.slot(0, index)
	if err != nil {
		return [HashSize]byte{}, fmt.Errorf("ledger: leaf %d: %w", index, err)
	}
	return [HashSize]byte(h), nil
}

// RootAt returns the RFC 6962 root of the tree's first size leaves.
func (l *Ledger) RootAt(size uint64) ([]byte, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	root, err := l.tree.rootAt(size)
	if err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	return root, nil
}

// InclusionProof returns the RFC 6962 inclusion proof of leaf index in the
// tree of the given size (index < size <= Size()), in the order
// proof.VerifyInclusion expects.
func (l *Ledger) InclusionProof(index, size uint64) ([][]byte, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	p, err := l.tree.inclusion(index, size)
	if err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	return p, nil
}

// ConsistencyProof returns the RFC 6962 consistency proof between the trees
// of size1 and size2 (size1 <= size2 <= Size()).
func (l *Ledger) ConsistencyProof(size1, size2 uint64) ([][]byte, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	p, err := l.tree.consistency(size1, size2)
	if err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	return p, nil
}
