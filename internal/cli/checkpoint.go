package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/onrecord/onrecord/internal/ledger"
)

// checkpoint prints the latest stored checkpoint. It reads the checkpoint
// history without opening the journal, so it works while a server runs.
func (m *Main) checkpoint(ctx context.Context, args []string) int {
	fs, load := m.flags("checkpoint", "")
	cfg, code, ok := m.parse(fs, load, args)
	if !ok {
		return code
	}
	cps, err := ledger.ReadCheckpoints(filepath.Join(cfg.LedgerDir(), ledger.CheckpointsFile))
	var ce *ledger.CorruptCheckpointError
	if err != nil && !(errors.As(err, &ce) && ce.Torn) {
		return m.fail(err)
	}
	if len(cps) == 0 {
		return m.fail(fmt.Errorf("no checkpoint has been signed yet in %s", cfg.DataDir))
	}
	m.Stdout.Write(cps[len(cps)-1].Note)
	return ExitOK
}
