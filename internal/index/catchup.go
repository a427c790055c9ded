package index

import (
	"context"
	"sync"

	"github.com/onrecord/onrecord"
)

// Source is the journal as the index reads it: every record from a
// position on, decrypted, or why it is not an event.
type Source interface {
	Events(from uint64, fn func(seq uint64, ev *onrecord.Event, err error) error) error
}

// catchUpBatch is the most entries CatchUp puts in one transaction. Each
// commit writes every page it dirtied to the WAL, encrypted, and the
// index B-trees and FTS5 segments take new events all over their pages,
// so a transaction costs much the same whether it adds 2,000 events or
// 20,000: bigger transactions are most of a catch-up's speed. Batches are
// only this big when the index is behind; a tailer that keeps up commits
// what arrived since its last commit.
const catchUpBatch = 20_000

// CatchUp brings ix up to date with src in batches and returns how many
// events it added. keep says which events are searchable; the others (and
// records that are not events: holds, disposals, disposed records) only
// move the position. Index positions are journal seq + 1, so that the
// index's "0 = empty" never hides record 0.
//
// Reading the journal (decrypting and decoding each record) and writing
// the index run side by side: a reader goroutine gathers entries while
// the caller's goroutine commits the previous batch, and each commit
// takes everything gathered meanwhile, up to catchUpBatch.
func CatchUp(ctx context.Context, ix *Index, src Source, keep func(*onrecord.Event) bool) (int, error) {
	return catchUp(ctx, ix, src, keep, catchUpBatch)
}

func catchUp(ctx context.Context, ix *Index, src Source, keep func(*onrecord.Event) bool, maxBatch int) (int, error) {
	pos, err := ix.Position(ctx)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	p := &pending{max: maxBatch}
	p.cond = sync.NewCond(&p.mu)
	go func() {
		err := src.Events(pos, func(seq uint64, ev *onrecord.Event, err error) error {
			if err != nil || !keep(ev) {
				ev = nil
			}
			return p.put(ctx, Entry{Seq: seq + 1, Event: ev})
		})
		p.finish(err)
	}()
	// Wake a reader waiting for room when the context ends.
	stop := context.AfterFunc(ctx, func() {
		p.mu.Lock()
		p.cond.Broadcast()
		p.mu.Unlock()
	})
	defer stop()

	added := 0
	var spare []Entry
	for {
		batch, done, readErr := p.take(spare[:0])
		if len(batch) > 0 {
			if err := ix.AddBatch(ctx, batch); err != nil {
				cancel()
				p.drain()
				return added, err
			}
			for _, en := range batch {
				if en.Event != nil {
					added++
				}
			}
		}
		if done {
			if readErr == nil {
				readErr = ctx.Err()
			}
			if readErr == nil && added >= optimizeAfter {
				readErr = ix.optimizeIfMostlyNew(ctx, pos)
			}
			return added, readErr
		}
		clear(batch) // drop the events before the slice is reused
		spare = batch
	}
}

// optimizeAfter is the fewest events a catch-up adds before it considers
// merging the full-text index (Optimize).
const optimizeAfter = 50_000

// optimizeIfMostlyNew merges the full-text index into one segment when
// most of it was written since position from: after a rebuild, or a
// first catch-up over a large journal. Each commit left a segment, and
// FTS5's own merging leaves several levels of them, each of which every
// search reads; merging them costs a few seconds per million events once,
// and makes searches of a rebuilt index about a third faster. A tailer's
// small catch-ups never get here.
func (ix *Index) optimizeIfMostlyNew(ctx context.Context, from uint64) error {
	to, err := ix.Position(ctx)
	if err != nil {
		return err
	}
	if from > to/2 {
		return nil
	}
	return ix.Optimize(ctx)
}

// pending is the hand-over between CatchUp's journal reader and its
// writer.
type pending struct {
	mu      sync.Mutex
	cond    *sync.Cond
	entries []Entry
	max     int
	done    bool
	err     error
}

// put adds an entry, waiting while a full batch is waiting for the writer.
func (p *pending) put(ctx context.Context, en Entry) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.entries) >= p.max {
		if err := ctx.Err(); err != nil {
			return err
		}
		p.cond.Wait()
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	p.entries = append(p.entries, en)
	if len(p.entries) == 1 {
		p.cond.Broadcast()
	}
	return nil
}

// finish says the reader has stopped, and why (nil at the journal's end).
func (p *pending) finish(err error) {
	p.mu.Lock()
	p.done, p.err = true, err
	p.cond.Broadcast()
	p.mu.Unlock()
}

// take waits for entries or the reader's end and returns what is
// gathered, handing spare (emptied) to the reader for the next batch;
// done says the reader has stopped and nothing is left.
func (p *pending) take(spare []Entry) (batch []Entry, done bool, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.entries) == 0 && !p.done {
		p.cond.Wait()
	}
	batch, p.entries = p.entries, spare
	p.cond.Broadcast()
	if p.done && len(batch) == 0 {
		return nil, true, p.err
	}
	return batch, false, nil
}

// drain waits for the reader to stop after the context is cancelled.
func (p *pending) drain() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for !p.done {
		p.entries = p.entries[:0]
		p.cond.Broadcast()
		p.cond.Wait()
	}
}
