package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/onrecord/onrecord/internal/archive"
)

func (m *Main) verify(ctx context.Context, args []string) int {
	fs, load := m.flags("verify", "[--json] [--log-key VKEY] [--no-decrypt]")
	asJSON := fs.Bool("json", false, "print the summary as one JSON object")
	logKey := fs.String("log-key", "", "the log's verifier key, if you hold it from elsewhere (default: the data directory's)")
	noDecrypt := fs.Bool("no-decrypt", false, "do not decrypt records (for an auditor without the key file)")
	cfg, code, ok := m.parse(fs, load, args)
	if !ok {
		return code
	}
	rep, err := archive.VerifyDir(ctx, archive.VerifyOptions{Config: cfg, VerifierKey: *logKey, NoDecrypt: *noDecrypt})
	if err != nil {
		if *asJSON {
			json.NewEncoder(m.Stdout).Encode(map[string]any{"ok": false, "errors": []string{err.Error()}})
		}
		return m.fail(err)
	}
	if *asJSON {
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return m.fail(err)
		}
	} else {
		m.printReport(rep)
	}
	if !rep.OK {
		return ExitFailure
	}
	return ExitOK
}

func (m *Main) printReport(r *archive.Report) {
	w := m.Stdout
	fmt.Fprintf(w, "data directory   %s\n", r.DataDir)
	fmt.Fprintf(w, "journal          %d segments, %d frames, every CRC checked\n", r.Segments, r.Frames)
	fmt.Fprintf(w, "records          %d events, %d system records, %d decrypted and checked against their key commitment\n", r.Records, r.SystemRecords, r.Decrypted)
	fmt.Fprintf(w, "  by channel     %s\n", counts(r.ByChannel))
	fmt.Fprintf(w, "  by kind        %s\n", counts(r.ByKind))
	if len(r.BySystemKind) > 0 {
		fmt.Fprintf(w, "  system         %s\n", counts(r.BySystemKind))
	}
	fmt.Fprintf(w, "checkpoints      %d signed checkpoints verified; latest: size %d, root %s\n", r.Checkpoints, r.CheckpointSize, r.CheckpointRoot)
	fmt.Fprintf(w, "disposed         %d records in %d disposed buckets %s\n", r.Disposed, len(r.DisposedBuckets), strings.Join(r.DisposedBuckets, " "))
	for _, s := range r.Warnings {
		fmt.Fprintf(w, "warning: %s\n", s)
	}
	for _, s := range r.Errors {
		fmt.Fprintf(w, "ERROR: %s\n", s)
	}
	if r.OK {
		fmt.Fprintln(w, "OK: the archive verifies")
	} else {
		fmt.Fprintf(w, "FAILED: %d problems\n", len(r.Errors))
	}
}

func counts(m map[string]uint64) string {
	if len(m) == 0 {
		return "-"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}
