//go:build linux

package sched

import (
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// Background locks the calling goroutine to its OS thread, puts that
// thread in the idle scheduling class (SCHED_IDLE), and adds a P for it
// (addProc). Call release when the goroutine is done with background
// work, then let the goroutine return: it stays locked to the thread, so
// the runtime ends the thread with it rather than give a thread of idle
// priority to other goroutines (an unprivileged thread cannot leave the
// idle class).
//
// Any thread may enter the idle class (no capability, not refused by a
// systemd RestrictRealtime= or the @system-service system call filter).
// On error the goroutine is as before: unlocked, at its old priority.
func Background() (release func(), err error) {
	runtime.LockOSThread()
	attr := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_IDLE}
	if err := unix.SchedSetAttr(0, &attr, 0); err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("sched: put this thread in the idle scheduling class: %w", err)
	}
	addProc(1)
	return func() { addProc(-1) }, nil
}
