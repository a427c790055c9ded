//go:build linux

package sched

import (
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// Background locks the calling goroutine to its OS thread and puts that
// thread in the idle scheduling class (SCHED_IDLE). It returns run, which
// runs a piece of background work on that goroutine with one more P
// (addProc) for its duration: while the kernel leaves the thread waiting
// the goroutine keeps its P, and without one of their own the other
// goroutines would run on one P fewer. Between pieces of work the P is
// given back, so that GOMAXPROCS exceeds the CPUs only while background
// work is in progress (more Ps than CPUs costs a busy net/http server
// about a tenth of its requests per second here, BENCHMARKS.md). Only the
// goroutine that called Background may call run.
//
// The goroutine stays locked to the thread: when it returns, the runtime
// ends the thread with it rather than give a thread of idle priority to
// other goroutines (an unprivileged thread cannot leave the idle class).
// Any thread may enter the idle class (no capability, not refused by a
// systemd RestrictRealtime= or the @system-service system call filter).
// On error the goroutine is as before: unlocked, at its old priority.
func Background() (run func(work func()), err error) {
	runtime.LockOSThread()
	attr := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_IDLE}
	if err := unix.SchedSetAttr(0, &attr, 0); err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("sched: put this thread in the idle scheduling class: %w", err)
	}
	return func(work func()) {
		addProc(1)
		defer addProc(-1)
		work()
	}, nil
}
