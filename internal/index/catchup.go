package index

import (
	"context"

	"github.com/onrecord/onrecord"
)

// Source is the journal as the index reads it: every record from a
// position on, decrypted, or why it is not an event.
type Source interface {
	Events(from uint64, fn func(seq uint64, ev *onrecord.Event, err error) error) error
}

// CatchUp brings ix up to date with src in batches and returns how many
// events it added. keep says which events are searchable; the others (and
// records that are not events: holds, disposals, disposed records) only
// move the position. Index positions are journal seq + 1, so that the
// index's "0 = empty" never hides record 0.
func CatchUp(ctx context.Context, ix *Index, src Source, keep func(*onrecord.Event) bool) (int, error) {
	pos, err := ix.Position(ctx)
	if err != nil {
		return 0, err
	}
	added := 0
	var batch []Entry
	err = src.Events(pos, func(seq uint64, ev *onrecord.Event, err error) error {
		if err != nil || !keep(ev) {
			ev = nil
		}
		batch = append(batch, Entry{Seq: seq + 1, Event: ev})
		if ev != nil {
			added++
		}
		if len(batch) < BatchSize {
			return ctx.Err()
		}
		err = ix.AddBatch(ctx, batch)
		batch = batch[:0]
		return err
	})
	if err != nil {
		return added, err
	}
	return added, ix.AddBatch(ctx, batch)
}
