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

func TestBackground_IdleThreadAndItsOwnProc(t *testing.T) {
	before := runtime.GOMAXPROCS(0)
	type seen struct {
		policy uint32
		procs  int
		err    error
	}
	in, after := make(chan seen), make(chan int)
	release := make(chan struct{})
	go func() {
		rel, err := Background()
		if err != nil {
			in <- seen{err: err}
			return
		}
		p, err := policy()
		in <- seen{policy: p, procs: runtime.GOMAXPROCS(0), err: err}
		<-release
		rel()
		after <- runtime.GOMAXPROCS(0)
	}()
	s := <-in
	if s.err != nil {
		t.Fatal(s.err)
	}
	if s.policy != unix.SCHED_IDLE {
		t.Errorf("policy of the background thread = %d, want SCHED_IDLE (%d)", s.policy, unix.SCHED_IDLE)
	}
	if s.procs != before+1 {
		t.Errorf("GOMAXPROCS with one background goroutine = %d, want %d", s.procs, before+1)
	}
	close(release)
	if got := <-after; got != before {
		t.Errorf("GOMAXPROCS after release = %d, want %d again", got, before)
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
			rel, err := Background()
			if err == nil {
				rel()
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
