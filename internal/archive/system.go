package archive

import (
	"context"
	"fmt"
	"slices"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/config"
	"github.com/onrecord/onrecord/record"
)

// SystemChannel is the channel name of onrecord's own records: directory
// and contact changes, consent steps, policy changes, accesses.
const SystemChannel = "onrecord"

// AppendSystem records one of onrecord's own events (a directory change,
// a consent step, a new policy set) under the permanent system class, with
// the same idempotency as captured events: the same ProviderID and content
// is stored once. The event's Channel is set to SystemChannel.
func (a *Archive) AppendSystem(ctx context.Context, ev *onrecord.Event) (Result, error) {
	ev.Channel = SystemChannel
	ev.RetentionClass = config.SystemClass
	if err := ev.Validate(); err != nil {
		return Result{}, &onrecord.Error{Code: onrecord.EINVALID, Message: "invalid system event", Err: err}
	}
	// A policy set with large lexicons keeps its text as a blob, as a
	// large provider payload does (RawInline); ReplaySystem reads it back.
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
	res, err := a.appendNew(ctx, ev, given, enc, bufs, config.SystemClass, idem, content)
	a.dedup.finish(p, idem, content, false, res.Seq, err)
	return res, err
}

// ReplaySystem calls fn with every system event in journal order: how the
// directory, contacts and policy history are rebuilt at start. It reads
// the records of system buckets alone (systemSeqs), not the journal.
func (a *Archive) ReplaySystem(fn func(seq uint64, ev *onrecord.Event) error) error {
	a.sysMu.Lock()
	seqs := slices.Clone(a.systemSeqs)
	a.sysMu.Unlock()
	slices.Sort(seqs)
	for _, seq := range seqs {
		data, err := a.journal.Read(seq)
		if err != nil {
			return fmt.Errorf("replay system records: read record %d: %w", seq, err)
		}
		ev, err := a.openSystem(seq, data)
		if err != nil {
			return fmt.Errorf("replay system records: %w", err)
		}
		if err := fn(seq, ev); err != nil {
			return fmt.Errorf("replay system records: %w", err)
		}
	}
	return nil
}

// openSystem opens system record seq, its raw payload put back when kept
// as a blob.
func (a *Archive) openSystem(seq uint64, data []byte) (*onrecord.Event, error) {
	env, err := record.Unmarshal(data)
	if err != nil {
		return nil, fmt.Errorf("record %d: %w", seq, err)
	}
	pt, err := a.sealer.Open(env)
	if err != nil {
		return nil, fmt.Errorf("open system record %d: %w", seq, err)
	}
	var ev onrecord.Event
	if err := decodeEvent(pt, &ev); err != nil {
		return nil, fmt.Errorf("system record %d: %w", seq, err)
	}
	if err := a.inflate(&ev); err != nil {
		return nil, fmt.Errorf("system record %d: %w", seq, err)
	}
	if ev.RawBlob != nil {
		if ev.Raw, err = a.Raw(context.Background(), &ev); err != nil {
			return nil, fmt.Errorf("system record %d: %w", seq, err)
		}
		ev.RawBlob = nil
	}
	return &ev, nil
}

// Searchable says whether an event belongs in the search index: captured
// records do; the archive's own records (searches, exports, policy
// decisions, directory changes) do not, so that searching for a word does
// not find the searches that used it.
func Searchable(ev *onrecord.Event) bool { return ev != nil && ev.Channel != SystemChannel }

// IndexKey is the key of the search index's encrypted files, derived from
// the archive's KEK-wrapped secret so that the index needs no key of its
// own and is unreadable without the key file.
func (a *Archive) IndexKey() []byte {
	k := a.keyedHash("search index key v1", nil)
	return k[:]
}

// QueueKey seals the durable work queues (media retries), derived like
// IndexKey.
func (a *Archive) QueueKey() []byte {
	k := a.keyedHash("queue key v1", nil)
	return k[:]
}
