package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/onrecord/onrecord/internal/bench"
)

func (m *Main) bench(ctx context.Context, args []string) int {
	if len(args) == 0 || args[0] != "journal" {
		fmt.Fprintln(m.Stderr, "Usage: onrecord bench journal [--json] [--duration 2s] [--dir DIR]")
		return ExitUsage
	}
	fs, load := m.flags("bench journal", "[--json] [--duration 2s] [--dir DIR]")
	asJSON := fs.Bool("json", false, "print one JSON object with results, limits and load_average")
	dur := fs.Duration("duration", 2*time.Second, "how long each measurement runs")
	dir := fs.String("dir", "", "where to put the scratch data (default: inside data_dir, so the same disk)")
	cfg, code, ok := m.parse(fs, load, args[1:])
	if !ok {
		return code
	}
	if *dir == "" {
		*dir = cfg.DataDir
	}
	opts := bench.Options{Dir: *dir, Duration: *dur}
	if !*asJSON {
		opts.Log = m.Stderr
	}
	rep, err := bench.Journal(ctx, opts)
	if err != nil {
		return m.fail(err)
	}
	if *asJSON {
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		enc.Encode(rep)
		return ExitOK
	}
	fmt.Fprintf(m.Stdout, "load average %.2f %.2f %.2f\n", rep.LoadAverage[0], rep.LoadAverage[1], rep.LoadAverage[2])
	fmt.Fprintln(m.Stdout, "limits (this machine, this disk, this run):")
	for _, x := range rep.Limits {
		fmt.Fprintf(m.Stdout, "  %-40s %12.2f %s\n", x.Name, x.Value, x.Unit)
	}
	fmt.Fprintln(m.Stdout, "results (seal + journal + Merkle leaf, durable before ack):")
	for _, x := range rep.Results {
		fmt.Fprintf(m.Stdout, "  %-40s %12.2f %s\n", x.Name, x.Value, x.Unit)
	}
	return ExitOK
}
