package app

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/onrecord/onrecord"
)

// appendEvents appends n searchable messages to a's archive.
func appendEvents(t *testing.T, a *App, n int) {
	t.Helper()
	for i := range n {
		ev := &onrecord.Event{Channel: "whatsapp", Kind: onrecord.KindMessage, ProviderID: fmt.Sprintf("wamid.tail.%d.%d", time.Now().UnixNano(), i),
			Conversation: "c1", Direction: onrecord.Inbound, Sender: onrecord.Party{ID: "15550001"},
			SentAt: time.Now().UTC(), Body: "quarterly numbers"}
		if _, err := a.Archive.Append(t.Context(), ev); err != nil {
			t.Fatal(err)
		}
	}
}

// starved is a background worker that runs each catch-up only after
// delay: a thread of idle priority on a machine whose CPUs capture keeps
// busy. It returns the work channel and how many it has started.
func starved(t *testing.T, delay time.Duration) (chan<- func(), func() int) {
	work := make(chan func())
	var ran atomic.Int32
	ctx := t.Context()
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case fn := <-work:
				time.Sleep(delay)
				ran.Add(1) // before fn: tailIn may return as soon as fn does
				fn()
			}
		}
	}()
	return work, func() int { return int(ran.Load()) }
}

func lagOf(t *testing.T, x *indexer) float64 {
	t.Helper()
	l := x.lag()
	if l < 0 {
		t.Fatal("index position unreadable")
	}
	return l
}

// The tailer's catch-up runs in the background while the index keeps up;
// one that the background thread does not finish in time is stopped and
// done at normal priority; far behind, it does not go to the background
// at all. In every case the index ends up with everything.
func TestTailer_BackgroundAndItsLimits(t *testing.T) {
	for _, tc := range []struct {
		name      string
		behind    int
		delay     time.Duration // before the background worker starts a catch-up
		maxLag    int
		maxTime   time.Duration
		wantRanBG int
		// wantTries counts catch-ups begun (onCatchUp): the stopped one
		// and the one here when the background is too slow.
		wantTries int
	}{
		{"keeps up: in the background", 20, 0, 1000, time.Minute, 1, 1},
		{"background too slow: stopped, done here after maxTime", 20, 300 * time.Millisecond, 1000, 20 * time.Millisecond, 1, 2},
		{"far behind: done here, not sent to the background", 50, 0, 30, time.Minute, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, _ := apiTestApp(t) // not started: no tailer of its own
			x := a.index
			x.bgMaxLag, x.bgMaxTime = tc.maxLag, tc.maxTime
			var tries atomic.Int32
			x.onCatchUp = func(time.Duration, int) { tries.Add(1) }
			appendEvents(t, a, tc.behind)
			work, ran := starved(t, tc.delay)
			start := time.Now()
			if err := x.tailIn(t.Context(), work); err != nil {
				t.Fatal(err)
			}
			if l := lagOf(t, x); l != 0 {
				t.Errorf("index %v records behind after the catch-up", l)
			}
			if tc.delay > tc.maxTime && time.Since(start) < tc.delay {
				t.Errorf("returned after %v, before the stopped background catch-up (%v) had ended", time.Since(start), tc.delay)
			}
			if got := ran(); got != tc.wantRanBG {
				t.Errorf("background worker ran %d catch-ups, want %d", got, tc.wantRanBG)
			}
			if got := tries.Load(); got != int32(tc.wantTries) {
				t.Errorf("%d catch-ups begun, want %d", got, tc.wantTries)
			}
		})
	}
}

// A request that needs the index does not wait for a background catch-up
// to finish: it stops it and catches up itself. tailCatchUp gives way at
// once when a request is waiting or catching up.
func TestTailer_GivesWayToARequest(t *testing.T) {
	a, _ := apiTestApp(t)
	x := a.index

	x.wanted.Add(1) // a request waiting for x.mu
	appendEvents(t, a, 5)
	behind := lagOf(t, x) // the 5 and any records the app wrote itself
	if err := x.tailCatchUp(t.Context()); err != nil {
		t.Fatal(err)
	}
	if l := lagOf(t, x); l != behind || l < 5 {
		t.Errorf("the tailer took in records while a request waited: lag %v, want %v", l, behind)
	}
	x.wanted.Add(-1)

	x.mu.Lock() // a request catching up
	if err := x.tailCatchUp(t.Context()); err != nil {
		t.Fatal(err)
	}
	x.mu.Unlock()
	if l := lagOf(t, x); l != behind {
		t.Errorf("the tailer took in records while a request caught up: lag %v, want %v", l, behind)
	}

	// A catch-up in progress: its context is the one stopTail ends.
	stopped := make(chan error, 1)
	x.tailMu.Lock()
	ctx, cancel := context.WithCancel(t.Context())
	x.stopTail = cancel
	x.tailMu.Unlock()
	go func() { <-ctx.Done(); stopped <- ctx.Err() }()
	if err := x.catchUp(t.Context()); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-stopped:
		if err == nil {
			t.Error("the tailer's catch-up was not stopped")
		}
	case <-time.After(5 * time.Second):
		t.Error("a request's catch-up did not stop the tailer's")
	}
	if l := lagOf(t, x); l != 0 {
		t.Errorf("index %v records behind after the request's catch-up", l)
	}
}

// Started with index_priority = "idle", the tailer keeps the index up to
// date from its background thread.
func TestTailer_IdlePriorityKeepsUp(t *testing.T) {
	a, _ := apiTestApp(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan struct{})
	go func() { a.index.run(ctx, 10*time.Millisecond, true); close(done) }()
	appendEvents(t, a, 30)
	deadline := time.Now().Add(30 * time.Second)
	for lagOf(t, a.index) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("index still %v behind after 30 s", lagOf(t, a.index))
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
}
