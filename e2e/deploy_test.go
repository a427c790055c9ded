package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSystemdUnit_VerifiesAndIsSandboxed checks deploy/systemd/onrecord.service
// (and onrecord.socket) with systemd's own tools, where the machine has them: `systemd-analyze
// verify` must have nothing to say (an unknown or misspelt directive is
// only a warning to systemd, which then runs the service without it), and
// `systemd-analyze security` must rate its exposure at 2.0 or lower
// ("OK"; an unsandboxed service rates about 9.6). The unit's ExecStart is
// pointed at the binary under test, which verify requires to exist.
func TestSystemdUnit_VerifiesAndIsSandboxed(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed here: the systemd unit is not checked")
	}
	build(t)
	unit, err := os.ReadFile(filepath.Join("..", "deploy", "systemd", "onrecord.service"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(unit)
	for _, want := range []string{"ExecStart=/usr/local/bin/onrecord serve ", "ExecReload=/bin/kill -HUP $MAINPID", "LimitCORE=0", "UMask=0077", "User=onrecord"} {
		if !strings.Contains(text, want) {
			t.Errorf("the unit lacks %q", want)
		}
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "onrecord.service")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(text, "/usr/local/bin/onrecord", bin)), 0o644); err != nil {
		t.Fatal(err)
	}
	// The socket unit (socket activation) is verified beside it; it must
	// name its socket as serve looks for it.
	socket, err := os.ReadFile(filepath.Join("..", "deploy", "systemd", "onrecord.socket"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(socket), "\nFileDescriptorName=public\n") {
		t.Error("onrecord.socket does not name its socket public")
	}
	socketPath := filepath.Join(dir, "onrecord.socket")
	if err := os.WriteFile(socketPath, socket, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", path, socketPath).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	out, err = exec.Command(analyze, "security", "--offline=true", "--threshold=20", path).CombinedOutput()
	if err != nil {
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		t.Errorf("systemd-analyze security: %v: %s", err, lines[len(lines)-1])
	}
}
