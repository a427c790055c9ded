// Package activation takes the listening sockets systemd passes a service
// it starts (socket activation; sd_listen_fds(3)). A socket systemd holds
// stays open while the service restarts: a webhook that arrives between
// one process and the next waits in the socket's queue and is answered
// by the next, instead of being refused, which matters for the providers
// that do not retry (Twilio, signal-cli's push).
package activation

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
)

// firstFD is the first passed descriptor: systemd passes them from 3 on.
const firstFD = 3

// maxFDs bounds LISTEN_FDS: a service here takes one or two.
const maxFDs = 16

// Listeners returns the sockets passed to this process, by name
// (LISTEN_FDNAMES, FileDescriptorName= in the socket unit; systemd names
// an unnamed one after its socket unit), and takes the variables out of
// the environment so that no child process believes they are its. With
// none passed it returns an empty map.
func Listeners() (map[string]net.Listener, error) {
	defer func() {
		for _, v := range []string{"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"} {
			os.Unsetenv(v)
		}
	}()
	fds, names, err := passed(os.Getenv, os.Getpid())
	if err != nil || len(fds) == 0 {
		return map[string]net.Listener{}, err
	}
	out := map[string]net.Listener{}
	closeAll := func() {
		for _, l := range out {
			l.Close()
		}
	}
	for i, fd := range fds {
		closeOnExec(fd)
		f := os.NewFile(uintptr(fd), "socket "+names[i])
		l, err := net.FileListener(f) // a duplicate of fd
		f.Close()
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("socket %q passed by systemd (fd %d): %w", names[i], fd, err)
		}
		if _, dup := out[names[i]]; dup {
			l.Close()
			closeAll()
			return nil, fmt.Errorf("two sockets passed by systemd are named %q: give each its own FileDescriptorName=", names[i])
		}
		out[names[i]] = l
	}
	return out, nil
}

// passed reads which descriptors were passed and their names from the
// environment, as sd_listen_fds does: nothing unless LISTEN_FDS is set,
// and nothing if LISTEN_PID names another process (the variables were
// inherited, not meant for this one).
func passed(getenv func(string) string, pid int) ([]int, []string, error) {
	nfds := getenv("LISTEN_FDS")
	if nfds == "" {
		return nil, nil, nil
	}
	if p := getenv("LISTEN_PID"); p != "" && p != strconv.Itoa(pid) {
		return nil, nil, nil
	}
	n, err := strconv.Atoi(nfds)
	if err != nil || n < 0 || n > maxFDs {
		return nil, nil, fmt.Errorf("LISTEN_FDS=%q is not a number of sockets from 0 to %d", nfds, maxFDs)
	}
	var names []string
	if v := getenv("LISTEN_FDNAMES"); v != "" {
		names = strings.Split(v, ":")
	}
	fds := make([]int, n)
	out := make([]string, n)
	for i := range n {
		fds[i] = firstFD + i
		out[i] = "unknown" // sd_listen_fds_with_names' name for an unnamed one
		if i < len(names) && names[i] != "" {
			out[i] = names[i]
		}
	}
	return fds, out, nil
}
