// Package sched runs background work on CPU time that nothing else wants.
//
// The server's search index takes in what capture committed in catch-ups
// of a few thousand records, each a hundred milliseconds or more of one
// CPU. At the same priority as capture, on a machine of two CPUs, each
// catch-up leaves capture one CPU, and the webhooks that arrive meanwhile
// queue: that was most of the gateway's tail latency (BENCHMARKS.md).
// Background moves such work to a thread of its own in the kernel's idle
// scheduling class, which a thread of normal priority preempts as soon as
// it wakes, so the index uses what capture leaves and capture no longer
// waits for the index.
package sched

import (
	"os"
	"runtime"
	"sync"
)

// procs counts the pieces of background work in progress, each of which
// has a P of its own.
var procs struct {
	sync.Mutex
	n    int
	base int // GOMAXPROCS before the first
}

// addProc adds d to GOMAXPROCS on behalf of background work (Background).
// When the last piece ends, GOMAXPROCS goes back to what it was: to the
// runtime's default, which follows the CPU limit, unless the operator set
// GOMAXPROCS. Each change stops the world for a moment, which at two per
// index catch-up (every 500 ms) is nothing.
func addProc(d int) {
	procs.Lock()
	defer procs.Unlock()
	if procs.n == 0 {
		procs.base = runtime.GOMAXPROCS(0)
	}
	procs.n += d
	switch {
	case procs.n > 0:
		runtime.GOMAXPROCS(procs.base + procs.n)
	case os.Getenv("GOMAXPROCS") == "":
		runtime.SetDefaultGOMAXPROCS()
	default:
		runtime.GOMAXPROCS(procs.base)
	}
}
