package archive

import (
	"cmp"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/config"
	"github.com/onrecord/onrecord/internal/crypt"
	"github.com/onrecord/onrecord/internal/journal"
	"github.com/onrecord/onrecord/internal/kms/local"
	"github.com/onrecord/onrecord/internal/ledger"
	"github.com/onrecord/onrecord/internal/retention"
	"github.com/onrecord/onrecord/record"
	tlog "github.com/transparency-dev/formats/log"
	"golang.org/x/mod/sumdb/note"
)

// VerifyOptions configure VerifyDir.
type VerifyOptions struct {
	Config config.Config
	// VerifierKey is the log's public key (a note verifier key). Empty
	// means the one in the data directory; an auditor who holds the key
	// from elsewhere passes it so that a replaced key file is noticed.
	VerifierKey string
	// NoDecrypt skips decryption, for an auditor without the KEK.
	NoDecrypt bool
}

// Report is the outcome of VerifyDir. OK is true only when Errors is empty.
type Report struct {
	OK        bool              `json:"ok"`
	DataDir   string            `json:"data_dir"`
	Segments  int               `json:"segments"`
	Frames    uint64            `json:"frames"`
	Records   uint64            `json:"records"`
	ByChannel map[string]uint64 `json:"by_channel"`
	ByKind    map[string]uint64 `json:"by_kind"`
	// BySystemKind counts system events by what they record: each policy
	// decision, consent step (directory.contact.put:accepted, ...),
	// directory change and policy change.
	BySystemKind    map[string]uint64 `json:"by_system_kind"`
	SystemRecords   uint64            `json:"system_records"`
	Decrypted       uint64            `json:"decrypted"`
	Checkpoints     int               `json:"checkpoints"`
	CheckpointSize  uint64            `json:"checkpoint_size"`
	CheckpointRoot  string            `json:"checkpoint_root,omitempty"`
	Disposed        uint64            `json:"disposed"`
	DisposedBuckets []string          `json:"disposed_buckets"`
	TornTailBytes   int64             `json:"torn_tail_bytes"`
	// IntakePending is deliveries serve acknowledged while it replayed
	// the journal and had not stored yet (ingest.Intake's queue).
	IntakePending int      `json:"intake_pending"`
	Errors        []string `json:"errors"`
	Warnings      []string `json:"warnings"`
}

func (r *Report) fail(format string, args ...any) {
	r.Errors = append(r.Errors, fmt.Sprintf(format, args...))
}

// maxErrors bounds the report when everything is wrong.
const maxErrors = 100

// VerifyDir audits a data directory offline without changing it: every
// frame and CRC, every leaf re-hashed, the root recomputed at every
// checkpoint's size (which is also what makes consecutive checkpoints
// consistent: both are roots of prefixes of the one journal), every
// checkpoint signature, and every record decrypted where its key still
// exists and checked against its key commitment. The returned error is only
// for a directory that cannot be audited at all; findings are in the
// report.
func VerifyDir(ctx context.Context, opts VerifyOptions) (*Report, error) {
	cfg := opts.Config
	rep := &Report{ByChannel: map[string]uint64{}, ByKind: map[string]uint64{}, BySystemKind: map[string]uint64{}, Errors: []string{}, Warnings: []string{}, DisposedBuckets: []string{}}
	rep.DataDir, _ = filepath.Abs(cfg.DataDir)
	if _, err := os.Stat(cfg.JournalDir()); err != nil {
		return nil, fmt.Errorf("no journal in %s: %w", cfg.DataDir, err)
	}

	// 1. The signed checkpoints, oldest first.
	vkey := opts.VerifierKey
	if vkey == "" {
		b, err := os.ReadFile(filepath.Join(cfg.LedgerDir(), VerifierKeyFile))
		if err != nil {
			return nil, fmt.Errorf("read the log's verifier key (or pass it with --log-key): %w", err)
		}
		vkey = strings.TrimSpace(string(b))
	}
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, fmt.Errorf("log verifier key: %w", err)
	}
	type cp struct {
		offset int64
		size   uint64
		root   []byte
	}
	var cps []cp
	cpPath := filepath.Join(cfg.LedgerDir(), ledger.CheckpointsFile)
	stored, err := ledger.ReadCheckpoints(cpPath)
	if err != nil {
		var ce *ledger.CorruptCheckpointError
		if errors.As(err, &ce) && ce.Torn {
			rep.Warnings = append(rep.Warnings, err.Error()+" (an interrupted write; repaired on next start)")
		} else if errors.Is(err, os.ErrNotExist) {
			rep.Warnings = append(rep.Warnings, "no checkpoint has been signed yet")
		} else {
			rep.fail("%v", err)
		}
	}
	for _, s := range stored {
		c, _, _, err := tlog.ParseCheckpoint(s.Note, verifier.Name(), verifier)
		if err != nil {
			rep.fail("checkpoint at offset %d of %s: signature or format does not verify: %v", s.Offset, cpPath, err)
			continue
		}
		if n := len(cps); n > 0 && c.Size < cps[n-1].size {
			rep.fail("checkpoint at offset %d of %s shrinks the log from %d to %d records", s.Offset, cpPath, cps[n-1].size, c.Size)
			continue
		}
		cps = append(cps, cp{s.Offset, c.Size, c.Hash})
	}
	rep.Checkpoints = len(cps)
	if n := len(cps); n > 0 {
		rep.CheckpointSize, rep.CheckpointRoot = cps[n-1].size, hex.EncodeToString(cps[n-1].root)
	}

	// 2. The keys, unless the auditor has none.
	var sealer *crypt.Sealer
	if !opts.NoDecrypt {
		pass, err := config.ResolveSecret(cfg.KeyPassphrase)
		if err != nil {
			return nil, fmt.Errorf("key_passphrase: %w", err)
		}
		kek, _, err := local.Open(cfg.KEKPath(), pass, false)
		if err != nil {
			return nil, fmt.Errorf("open key-encryption key (or run with --no-decrypt): %w", err)
		}
		if sealer, err = crypt.New(cfg.KeystoreDir(), kek); err != nil {
			return nil, fmt.Errorf("open keystore: %w", err)
		}
	}

	// 3. Every frame, in order.
	var b ledger.Builder
	next := 0 // next checkpoint to compare against
	checkRoots := func() {
		for next < len(cps) && cps[next].size == b.Size() {
			if got := b.Root(); string(got) != string(cps[next].root) {
				rep.fail("checkpoint at offset %d commits to root %x at size %d, but the journal's first %d records hash to %x",
					cps[next].offset, cps[next].root, cps[next].size, cps[next].size, got)
			}
			next++
		}
	}
	checkRoots()
	destroyed := map[string]uint64{}
	firstDestroyed := map[string]uint64{}
	disposed := map[string]bool{}
	cr, err := journal.Check(nil, cfg.JournalDir(), func(seq uint64, seg string, off int64, data []byte) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		b.Append(record.LeafHash(data))
		checkRoots()
		if len(rep.Errors) >= maxErrors {
			return nil
		}
		where := fmt.Sprintf("record %d (%s offset %d)", seq, seg, off)
		env, err := record.Unmarshal(data)
		if err != nil {
			rep.fail("%s: %v", where, err)
			return nil
		}
		switch env.Kind {
		case record.KindEvent:
			rep.Records++
		case record.KindDisposal:
			rep.SystemRecords++
			d, err := retention.UnmarshalDisposal(env.Public)
			if err != nil || d.Bucket != env.Bucket {
				rep.fail("%s: disposal record does not parse or names another bucket: %v", where, err)
				return nil
			}
			disposed[d.Bucket] = true
			return nil
		default:
			rep.SystemRecords++
		}
		if sealer == nil {
			return nil
		}
		pt, err := sealer.Open(env)
		switch {
		case errors.Is(err, crypt.ErrKeyDestroyed):
			if destroyed[env.Bucket] == 0 {
				firstDestroyed[env.Bucket] = seq
			}
			destroyed[env.Bucket]++
			return nil
		case err != nil:
			rep.fail("%s: does not decrypt: %v", where, err)
			return nil
		}
		rep.Decrypted++
		if env.Kind == record.KindEvent {
			var ev onrecord.Event
			if err := decodeEvent(pt, &ev); err != nil {
				rep.fail("%s: decrypted event does not parse: %v", where, err)
				return nil
			}
			if ev.ID != hex.EncodeToString(env.ID[:]) {
				rep.fail("%s: sealed event names id %s, envelope says %x", where, ev.ID, env.ID)
			}
			rep.ByChannel[ev.Channel]++
			rep.ByKind[string(ev.Kind)]++
			if ev.Kind == onrecord.KindSystem {
				k := ev.Subtype
				if st := cmp.Or(ev.Meta["state"], ev.Meta["action"]); st != "" {
					k += ":" + st
				}
				rep.BySystemKind[k]++
			}
		}
		return nil
	})
	if err != nil {
		var ce *journal.CorruptError
		if !errors.As(err, &ce) {
			return nil, fmt.Errorf("read journal: %w", err)
		}
		rep.fail("%v", err)
	}
	rep.Segments, rep.Frames = len(cr.Segments), cr.FramesChecked
	if cr.Torn != nil {
		rep.TornTailBytes = cr.Torn.Bytes
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("torn tail: %d bytes at offset %d of %s after the last complete frame (an interrupted, unacknowledged write; repaired on next start)", cr.Torn.Bytes, cr.Torn.Offset, cr.Torn.Segment))
	}
	for _, s := range cr.Unsealed {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("segment %s is not the last but is still writable (sealed on next start)", s))
	}
	for ; next < len(cps); next++ {
		rep.fail("checkpoint at offset %d commits to %d records but the journal holds %d: records are missing or the journal was truncated",
			cps[next].offset, cps[next].size, b.Size())
	}

	// 4. Every record without a key must belong to a disposed bucket.
	for _, bucket := range slices.Sorted(maps.Keys(destroyed)) {
		if disposed[bucket] {
			rep.Disposed += destroyed[bucket]
			continue
		}
		rep.fail("bucket %s: %d records (the first is record %d) have no key and there is no disposal record: keys were destroyed outside onrecord",
			bucket, destroyed[bucket], firstDestroyed[bucket])
	}
	rep.DisposedBuckets = slices.Sorted(maps.Keys(disposed))
	if sealer != nil {
		for _, bucket := range rep.DisposedBuckets {
			if has, _ := sealer.HasKey(bucket); has {
				rep.Warnings = append(rep.Warnings, fmt.Sprintf("bucket %s has a disposal record but its key still exists (an interrupted disposal; finished on next start)", bucket))
			}
		}
	}
	if n := pendingIntake(cfg); n > 0 {
		rep.IntakePending = n
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("%d deliveries acknowledged while serve replayed its journal are in the sealed intake queue (%s), not in the log yet; the next serve stores them",
			n, cfg.IntakeDir()))
	}
	rep.OK = len(rep.Errors) == 0
	return rep, nil
}

// pendingIntake counts the tasks in serve's intake queue: files whose names
// the queue could have written (it seals them; counting needs no key).
func pendingIntake(cfg config.Config) int {
	entries, err := os.ReadDir(cfg.IntakeDir())
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range entries {
		if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") {
			n++
		}
	}
	return n
}
