package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/config"
	"github.com/onrecord/onrecord/internal/policy"
	"github.com/onrecord/onrecord/internal/policy/starter"
)

// loadPolicies compiles policy_dir, or the starter pack when it is empty.
func loadPolicies(cfg config.Config) (*policy.Set, string, error) {
	if cfg.PolicyDir == "" {
		s, err := policy.Compile(starter.Files())
		return s, "the built-in starter pack", err
	}
	s, err := policy.LoadDir(cfg.PolicyDir)
	return s, cfg.PolicyDir, err
}

func (m *Main) policy(ctx context.Context, args []string) int {
	usage := "Usage: onrecord policy check | test [--direction outbound] [--channel NAME] [--json] TEXT | rerun [--since YYYY-MM-DD] [--until YYYY-MM-DD] [--channel C] [--json] [--dry-run]"
	if len(args) == 0 {
		fmt.Fprintln(m.Stderr, usage)
		return ExitUsage
	}
	switch args[0] {
	case "rerun":
		return m.policyRerun(ctx, args[1:])
	case "check":
		fs, load := m.flags("policy check", "")
		cfg, code, ok := m.parse(fs, load, args[1:])
		if !ok {
			return code
		}
		set, from, err := loadPolicies(cfg)
		if err != nil {
			fmt.Fprintf(m.Stderr, "onrecord: policies in %s are not valid:\n  %s\n", from, strings.ReplaceAll(err.Error(), "\n", "\n  "))
			return ExitFailure
		}
		fmt.Fprintf(m.Stdout, "%d rules in %d files from %s are valid (version %s)\n", len(set.Rules()), len(set.Files), from, set.Version)
		return ExitOK
	case "test":
		fs, load := m.flags("policy test", "[--direction outbound] [--channel NAME] [--json] TEXT")
		dir := fs.String("direction", "outbound", "inbound or outbound")
		channel := fs.String("channel", "test", "the channel the message is on")
		asJSON := fs.Bool("json", false, "print the decision as JSON")
		cfg, code, ok := m.parse(fs, load, args[1:])
		if !ok {
			return code
		}
		text := strings.Join(fs.Args(), " ")
		if text == "" {
			fmt.Fprintln(m.Stderr, usage)
			return ExitUsage
		}
		set, from, err := loadPolicies(cfg)
		if err != nil {
			fmt.Fprintf(m.Stderr, "onrecord: policies in %s are not valid:\n  %s\n", from, strings.ReplaceAll(err.Error(), "\n", "\n  "))
			return ExitFailure
		}
		ev := &onrecord.Event{Channel: *channel, Kind: onrecord.KindMessage, Direction: onrecord.Direction(*dir), Body: text}
		d, err := set.Evaluate(ctx, policy.Input{Event: ev})
		if err != nil {
			return m.fail(err)
		}
		if *asJSON {
			enc := json.NewEncoder(m.Stdout)
			enc.SetIndent("", "  ")
			enc.Encode(d)
			return ExitOK
		}
		fmt.Fprintf(m.Stdout, "decision: %s (policies from %s, version %s)\n", d.Action, from, d.Version)
		for _, mt := range d.Matches {
			fmt.Fprintf(m.Stdout, "  %s/%s → %s", mt.Policy, mt.Rule, mt.Action)
			if mt.Message != "" {
				fmt.Fprintf(m.Stdout, ": %s", mt.Message)
			}
			fmt.Fprintln(m.Stdout)
			for _, f := range mt.Findings {
				what := f.Detector
				if f.Lexicon != "" {
					what += ":" + f.Lexicon
				}
				fmt.Fprintf(m.Stdout, "      %s at %d–%d %q\n", what, f.Start, f.End, text[f.Start:f.End])
			}
		}
		if d.Redacted != "" {
			fmt.Fprintf(m.Stdout, "would send: %s\n", d.Redacted)
		}
		return ExitOK
	}
	fmt.Fprintln(m.Stderr, usage)
	return ExitUsage
}
