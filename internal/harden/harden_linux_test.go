//go:build linux

package harden

import (
	"testing"

	"golang.org/x/sys/unix"
)

// TestProcess_NoCoreNoAttach starts from a process that could dump core
// (dumpable, a core limit above zero where the hard limit allows one) so
// that each half of Process is seen to act, then checks both are off.
func TestProcess_NoCoreNoAttach(t *testing.T) {
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 1, 0, 0, 0); err != nil {
		t.Fatal(err)
	}
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_CORE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Max > 0 {
		if err := unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{Cur: min(lim.Max, 1<<20), Max: lim.Max}); err != nil {
			t.Fatal(err)
		}
	} else {
		t.Log("hard core limit is already 0 here: only the dumpable flag is seen to change")
	}
	before, err := Current()
	if err != nil {
		t.Fatal(err)
	}
	if before.Dumpable != 1 || (lim.Max > 0 && before.CoreLimit == 0) {
		t.Fatalf("could not set up a dumpable process: %+v", before)
	}

	st, err := Process()
	if err != nil {
		t.Fatal(err)
	}
	want := State{Dumpable: 0, CoreLimit: 0, CoreHardLimit: 0, Supported: true}
	if st != want {
		t.Errorf("Process left %+v, want %+v", st, want)
	}
	if now, err := Current(); err != nil || now != want {
		t.Errorf("Current after Process: %+v, %v; want %+v", now, err, want)
	}
	// Once more changes nothing and fails nothing (a hard limit, once
	// lowered, cannot be raised again by an unprivileged process).
	if st, err := Process(); err != nil || st != want {
		t.Errorf("second Process: %+v, %v", st, err)
	}
}
