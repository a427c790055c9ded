package activation

import (
	"slices"
	"strings"
	"testing"
)

func TestPassed(t *testing.T) {
	for _, tc := range []struct {
		name      string
		env       map[string]string
		wantFDs   []int
		wantNames []string
		wantErr   string
	}{
		{name: "nothing passed", env: map[string]string{}},
		{name: "one, named", env: map[string]string{"LISTEN_FDS": "1", "LISTEN_FDNAMES": "public", "LISTEN_PID": "42"},
			wantFDs: []int{3}, wantNames: []string{"public"}},
		{name: "two, one unnamed", env: map[string]string{"LISTEN_FDS": "2", "LISTEN_FDNAMES": ":admin"},
			wantFDs: []int{3, 4}, wantNames: []string{"unknown", "admin"}},
		{name: "fewer names than sockets", env: map[string]string{"LISTEN_FDS": "2", "LISTEN_FDNAMES": "public"},
			wantFDs: []int{3, 4}, wantNames: []string{"public", "unknown"}},
		{name: "for another process", env: map[string]string{"LISTEN_FDS": "1", "LISTEN_PID": "7"}},
		{name: "zero", env: map[string]string{"LISTEN_FDS": "0"}, wantFDs: []int{}, wantNames: []string{}},
		{name: "not a number", env: map[string]string{"LISTEN_FDS": "one"}, wantErr: `LISTEN_FDS="one"`},
		{name: "negative", env: map[string]string{"LISTEN_FDS": "-1"}, wantErr: `LISTEN_FDS="-1"`},
		{name: "too many", env: map[string]string{"LISTEN_FDS": "100000"}, wantErr: `LISTEN_FDS="100000"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fds, names, err := passed(func(k string) string { return tc.env[k] }, 42)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(fds, tc.wantFDs) || !slices.Equal(names, tc.wantNames) {
				t.Fatalf("passed = %v %q %v, want %v %q", fds, names, err, tc.wantFDs, tc.wantNames)
			}
		})
	}
}
