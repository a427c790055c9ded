// Package harden takes away what would let the process's memory leave it:
// core dumps and the debugger attaches of other processes of the same
// user. The archive holds unwrapped record keys and decrypted messages in
// memory while it runs; a core file would put them on disk in plaintext,
// where the archive itself never writes them, and a same-user process that
// can ptrace it (or read /proc/PID/mem) could read them out.
package harden

// State is what Process left in force, for logs and tests.
type State struct {
	// Dumpable is the kernel's dumpable flag (prctl PR_GET_DUMPABLE): 0
	// means no core dump is written and only a privileged process
	// (CAP_SYS_PTRACE) may attach to or read this one.
	Dumpable int
	// CoreLimit is RLIMIT_CORE's soft and hard limit after Process.
	CoreLimit, CoreHardLimit uint64
	// Supported is false where the operating system has neither (every
	// system but Linux here); the other fields are then zero.
	Supported bool
}
