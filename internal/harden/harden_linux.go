//go:build linux

package harden

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// Process makes this process non-dumpable and sets its core file size
// limit to zero. Both: a non-dumpable process writes no core whatever the
// limit (unless the administrator set fs.suid_dumpable to 2), and a zero
// limit also covers a core handler that ignores the flag but honours the
// limit. An error leaves the process running; the caller decides whether
// that is fatal.
func Process() (State, error) {
	var errs []error
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		errs = append(errs, fmt.Errorf("prctl PR_SET_DUMPABLE 0: %w", err))
	}
	if err := unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{Cur: 0, Max: 0}); err != nil {
		errs = append(errs, fmt.Errorf("setrlimit RLIMIT_CORE 0: %w", err))
	}
	st, err := Current()
	if err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return st, fmt.Errorf("harden process: %w", err)
	}
	return st, nil
}

// Current reports the process's state without changing it.
func Current() (State, error) {
	d, err := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0)
	if err != nil {
		return State{}, fmt.Errorf("prctl PR_GET_DUMPABLE: %w", err)
	}
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_CORE, &lim); err != nil {
		return State{}, fmt.Errorf("getrlimit RLIMIT_CORE: %w", err)
	}
	return State{Dumpable: d, CoreLimit: lim.Cur, CoreHardLimit: lim.Max, Supported: true}, nil
}
