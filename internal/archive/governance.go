package archive

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/config"
	"github.com/onrecord/onrecord/internal/crypt"
	"github.com/onrecord/onrecord/internal/retention"
	"github.com/onrecord/onrecord/record"
)

// CreateHold records a hold and starts enforcing it. The hold record is
// durable before the hold is reported as created.
func (a *Archive) CreateHold(ctx context.Context, h retention.Hold) error {
	h.Action = "create"
	return a.changeHold(ctx, h)
}

// ReleaseHold records the release of an active hold.
func (a *Archive) ReleaseHold(ctx context.Context, id, reason, by string) error {
	return a.changeHold(ctx, retention.Hold{ID: id, Action: "release", Reason: reason, By: by})
}

func (a *Archive) changeHold(ctx context.Context, h retention.Hold) error {
	a.govMu.Lock()
	defer a.govMu.Unlock()
	h.At = a.now().UTC()
	if err := a.holds.Check(h); err != nil {
		return &onrecord.Error{Code: onrecord.EINVALID, Message: "hold not changed", Err: err}
	}
	pt, err := json.Marshal(h)
	if err != nil {
		return err
	}
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return err
	}
	if _, _, err := a.appendSealed(ctx, record.KindHold, id, h.At, config.SystemClass, pt, pt[:0], nil, nil); err != nil {
		return err
	}
	return a.holds.Apply(h)
}

// HoldScope resolves scoped holds (by query, custodian, conversation) to
// the buckets holding records they cover: bucket → hold ids.
type HoldScope func(ctx context.Context, holds []retention.Hold) (map[string][]string, error)

// SetHoldScope gives the archive the resolver of scoped holds (the search
// index's). Without one, no bucket is disposable while a scoped hold is
// active.
func (a *Archive) SetHoldScope(fn HoldScope) {
	a.govMu.Lock()
	a.holdScope = fn
	a.govMu.Unlock()
}

// resolveScoped returns the scoped holds' buckets: an empty map when none
// is active, nil with an error when some are and cannot be resolved.
func (a *Archive) resolveScoped(ctx context.Context) (map[string][]string, error) {
	hs := a.holds.Scoped()
	if len(hs) == 0 {
		return map[string][]string{}, nil
	}
	if a.holdScope == nil {
		return nil, fmt.Errorf("hold %s covers records by search; only a resolver with the index can tell which", hs[0].ID)
	}
	return a.holdScope(ctx, hs)
}

// BucketsOf returns the bucket of each record in seqs, reading envelope
// headers in one pass over the journal from the first of them (nothing is
// decrypted).
func (a *Archive) BucketsOf(seqs []uint64) (map[uint64]string, error) {
	out := make(map[uint64]string, len(seqs))
	if len(seqs) == 0 {
		return out, nil
	}
	want := make(map[uint64]bool, len(seqs))
	first := seqs[0]
	for _, s := range seqs {
		want[s] = true
		first = min(first, s)
	}
	err := a.journal.Scan(first, func(seq uint64, data []byte) error {
		if !want[seq] {
			return nil
		}
		env, err := record.Unmarshal(data)
		if err != nil {
			return fmt.Errorf("record %d: %w", seq, err)
		}
		out[seq] = env.Bucket
		if len(out) == len(want) {
			return errStop
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, err
	}
	return out, nil
}

// Holds lists the active holds.
func (a *Archive) Holds() []retention.Hold { return a.holds.Active() }

// BucketInfo describes a key bucket for planning disposal.
type BucketInfo struct {
	Bucket    string    `json:"bucket"`
	Records   uint64    `json:"records"`
	FirstSeq  uint64    `json:"first_seq"`
	LastSeq   uint64    `json:"last_seq"`
	Disposed  bool      `json:"disposed"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	Permanent bool      `json:"permanent,omitempty"`
	HeldBy    []string  `json:"held_by,omitempty"`
}

// Buckets lists the buckets that hold event records.
func (a *Archive) Buckets() []BucketInfo {
	var out []BucketInfo
	a.buckets.Range(func(k, v any) bool {
		n, first, last := v.(*bucketStats).snapshot()
		out = append(out, BucketInfo{Bucket: k.(string), Records: n, FirstSeq: first, LastSeq: last})
		return true
	})
	a.mu.Lock()
	for i := range out {
		out[i].Disposed = a.disposed[out[i].Bucket]
	}
	a.mu.Unlock()
	a.govMu.Lock()
	scoped, scopeErr := a.resolveScoped(context.Background())
	a.govMu.Unlock()
	for i := range out {
		exp, ok, err := a.policy.ExpiresAt(out[i].Bucket)
		out[i].ExpiresAt, out[i].Permanent = exp, !ok && err == nil
		out[i].HeldBy, _ = a.holds.Covering(out[i].Bucket)
		out[i].HeldBy = append(out[i].HeldBy, scoped[out[i].Bucket]...)
		if scopeErr != nil {
			// Unresolved scoped holds hold everything, as Dispose treats them.
			for _, h := range a.holds.Scoped() {
				out[i].HeldBy = append(out[i].HeldBy, h.ID+" (unresolved)")
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Bucket < out[j].Bucket })
	return out
}

// Dispose destroys a bucket's key (crypto-shredding) once its retention has
// passed and no hold covers it. The disposal record is made durable first,
// then the key is destroyed; a crash in between is finished on the next
// Open, so a disposal record never stands for a key that survives.
func (a *Archive) Dispose(ctx context.Context, bucket, reason, by string) (retention.Disposal, error) {
	a.govMu.Lock()
	defer a.govMu.Unlock()
	now := a.now().UTC()
	scoped, err := a.resolveScoped(ctx)
	if err != nil {
		return retention.Disposal{}, &onrecord.Error{Code: onrecord.EFORBIDDEN, Message: "disposal refused: scoped holds could not be resolved", Err: err}
	}
	if err := retention.CheckDisposal(a.policy, a.holds, bucket, now, scoped); err != nil {
		return retention.Disposal{}, &onrecord.Error{Code: onrecord.EFORBIDDEN, Message: "disposal refused", Err: err}
	}
	class, _, _ := retention.ParseBucket(bucket)
	if class == config.SystemClass {
		return retention.Disposal{}, onrecord.Errorf(onrecord.EFORBIDDEN, "disposal refused: %s holds system records", bucket)
	}
	a.mu.Lock()
	done := a.disposed[bucket]
	a.mu.Unlock()
	var records, first, last uint64
	if v, ok := a.buckets.Load(bucket); ok {
		records, first, last = v.(*bucketStats).snapshot()
	}
	if done {
		return retention.Disposal{}, onrecord.Errorf(onrecord.ECONFLICT, "bucket %s was already disposed of", bucket)
	}
	exp, _, _ := a.policy.ExpiresAt(bucket)
	d := retention.Disposal{Bucket: bucket, Records: records, FirstSeq: first, LastSeq: last,
		ExpiredAt: exp, Reason: reason, By: by, At: now}
	pub, err := retention.MarshalDisposal(d)
	if err != nil {
		return d, err
	}
	env := &record.Envelope{Kind: record.KindDisposal, Time: now.UnixNano(), Bucket: bucket, Public: pub}
	if _, err := rand.Read(env.ID[:]); err != nil {
		return d, err
	}
	seq, err := a.appendEnvelope(ctx, env, nil)
	if err != nil {
		return d, err
	}
	d.Seq = seq
	a.mu.Lock()
	a.disposed[bucket] = true
	a.mu.Unlock()
	a.recent.drop(bucket)
	if err := a.sealer.Destroy(bucket); err != nil {
		return d, fmt.Errorf("disposal of %s recorded but key not yet destroyed (it will be on the next start): %w", bucket, err)
	}
	a.log.Info("bucket disposed", "bucket", bucket, "records", d.Records)
	return d, nil
}

// finishDisposals destroys the keys of buckets whose disposal record is
// durable but whose key survived a crash.
func (a *Archive) finishDisposals() error {
	a.mu.Lock()
	var todo []string
	for b := range a.disposed {
		todo = append(todo, b)
	}
	a.mu.Unlock()
	for _, b := range todo {
		has, err := a.sealer.HasKey(b)
		if err != nil && !errors.Is(err, crypt.ErrKeyDestroyed) {
			return fmt.Errorf("check key of disposed bucket %s: %w", b, err)
		}
		if has {
			a.log.Warn("finishing interrupted disposal", "bucket", b)
			if err := a.sealer.Destroy(b); err != nil {
				return fmt.Errorf("finish disposal of %s: %w", b, err)
			}
		}
	}
	return nil
}
