package cli

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// failingWriter takes ok bytes, then fails every write.
type failingWriter struct {
	ok  int
	got bytes.Buffer
}

var errDiskFull = errors.New("no space left on device")

func (f *failingWriter) Write(p []byte) (int, error) {
	if f.got.Len()+len(p) > f.ok {
		n := f.ok - f.got.Len()
		f.got.Write(p[:n])
		return n, errDiskFull
	}
	return f.got.Write(p)
}

// TestRun_OutputThatWasNotWrittenFailsTheCommand: a command whose standard
// output could not be written (a redirect onto a full disk) exits with a
// failure naming the error, not 0 over a cut file; a command that failed
// on its own keeps its exit code.
func TestRun_OutputThatWasNotWrittenFailsTheCommand(t *testing.T) {
	for _, tc := range []struct {
		name       string
		args       []string
		ok         int
		wantCode   int
		wantStderr string
	}{
		{name: "written", args: []string{"version"}, ok: 1 << 20, wantCode: ExitOK},
		{name: "nothing written", args: []string{"version"}, ok: 0, wantCode: ExitFailure,
			wantStderr: "onrecord: version: the output was not written: no space left on device"},
		{name: "cut short", args: []string{"version"}, ok: 5, wantCode: ExitFailure, wantStderr: "no space left on device"},
		{name: "its own failure first", args: []string{"checkpoint", "--no-such-flag"}, ok: 0, wantCode: ExitUsage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := &failingWriter{ok: tc.ok}
			var stderr bytes.Buffer
			m := &Main{Stdout: out, Stderr: &stderr, Env: func(string) (string, bool) { return "", false }}
			if code := m.Run(context.Background(), tc.args); code != tc.wantCode {
				t.Fatalf("exit %d, want %d (stderr %q)", code, tc.wantCode, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.wantStderr) {
				t.Fatalf("stderr %q lacks %q", stderr.String(), tc.wantStderr)
			}
		})
	}
}

// TestRun_OutputRedirectedToAFileIsSynced: output redirected into a
// regular file is complete there when the command says it succeeded.
func TestRun_OutputRedirectedToAFileIsSynced(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var stderr bytes.Buffer
	m := &Main{Stdout: f, Stderr: &stderr}
	if code := m.Run(context.Background(), []string{"version"}); code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	b, err := os.ReadFile(f.Name())
	if err != nil || !strings.HasPrefix(string(b), "onrecord ") {
		t.Fatalf("file holds %q, %v", b, err)
	}
}
