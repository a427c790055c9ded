//go:build linux

package sched

import (
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// policy is the scheduling policy of the calling thread.
func policy() (uint32, error) {
	attr, err := unix.SchedGetAttr(0, 0)
	if err != nil {
		return 0, err
	}
	return attr.Policy, nil
}

// Work given to run runs on a thread of the idle class with one more P;
// between pieces of work, and for every other goroutine, nothing changes.
func TestBackground_IdleThreadAndItsOwnProcWhileWorking(t *testing.T) {
	before := runtime.GOMAXPROCS(0)
	type seen struct {
		policy               uint32
		idleProcs, busyProcs int
		afterProcs           int
		err                  error
	}
	out := make(chan seen)
	go func() {
		run, err := Background()
		if err != nil {
			out <- seen{err: err}
			return
		}
		var s seen
		s.idleProcs = runtime.GOMAXPROCS(0)
		run(func() {
			s.policy, s.err = policy()
			s.busyProcs = runtime.GOMAXPROCS(0)
		})
		s.afterProcs = runtime.GOMAXPROCS(0)
		out <- s
	}()
	s := <-out
	if s.err != nil {
		t.Fatal(s.err)
	}
	if s.policy != unix.SCHED_IDLE {
		t.Errorf("policy of the background thread = %d, want SCHED_IDLE (%d)", s.policy, unix.SCHED_IDLE)
	}
	if s.idleProcs != before || s.afterProcs != before {
		t.Errorf("GOMAXPROCS without background work = %d before and %d after, want %d", s.idleProcs, s.afterProcs, before)
	}
	if s.busyProcs != before+1 {
		t.Errorf("GOMAXPROCS during background work = %d, want %d", s.busyProcs, before+1)
	}
	if got := runtime.GOMAXPROCS(0); got != before {
		t.Errorf("GOMAXPROCS after = %d, want %d", got, before)
	}
	if p, err := policy(); err != nil || p == unix.SCHED_IDLE {
		t.Errorf("the test's own thread is in the idle class")
	}
}

// The runtime ends a thread whose goroutine returns while locked to it,
// so no other goroutine ever runs at idle priority: after many
// background goroutines have come and gone, fresh goroutines still find
// only threads of normal priority.
func TestBackground_ThreadEndsWithItsGoroutine(t *testing.T) {
	for range 20 {
		done := make(chan error)
		go func() {
			run, err := Background()
			if err == nil {
				run(func() {})
			}
			done <- err
		}()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	for range 200 {
		p := make(chan uint32)
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			got, _ := policy()
			p <- got
		}()
		if got := <-p; got == unix.SCHED_IDLE {
			t.Fatal("a goroutine ran on a thread in the idle class")
		}
	}
}
