package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os/user"
	"strings"
	"time"

	"github.com/onrecord/onrecord/internal/archive"
	"github.com/onrecord/onrecord/internal/retention"
)

func whoami() string {
	if u, err := user.Current(); err == nil {
		return "cli:" + u.Username
	}
	return "cli"
}

// hold is the minimal hold registry's command line: holds by retention
// class and date range. Matters, custodians and queries come with search.
func (m *Main) hold(ctx context.Context, args []string) int {
	if len(args) == 0 || (args[0] != "create" && args[0] != "release" && args[0] != "list") {
		fmt.Fprintln(m.Stderr, "Usage: onrecord hold create --id ID [--class C,...|--query Q|--custodian ID,...|--conversation ID,...] [--from YYYY-MM-DD] [--to YYYY-MM-DD] --reason TEXT\n       onrecord hold release --id ID --reason TEXT\n       onrecord hold list [--json]")
		return ExitUsage
	}
	sub := args[0]
	fs, load := m.flags("hold "+sub, "")
	id := fs.String("id", "", "hold id (for example a matter number)")
	classes := fs.String("class", "", "comma-separated retention classes the hold covers (default: all)")
	from := fs.String("from", "", "first UTC day covered, YYYY-MM-DD (default: open)")
	to := fs.String("to", "", "last UTC day covered, YYYY-MM-DD (default: open)")
	query := fs.String("query", "", "hold the records this search finds (and what refers to them), now and as they arrive")
	custodians := fs.String("custodian", "", "comma-separated custodians whose records are held: people in the directory (by user name, email or name; every identity they held, while they held it) or participant ids")
	conversations := fs.String("conversation", "", "comma-separated conversations whose records are held")
	reason := fs.String("reason", "", "why (recorded)")
	asJSON := fs.Bool("json", false, "print as JSON")
	cfg, code, ok := m.parse(fs, load, args[1:])
	if !ok {
		return code
	}
	a, err := archive.Open(ctx, archive.Options{Config: cfg, Logger: m.logger(cfg), Warn: m.Stderr})
	if err != nil {
		return m.fail(err)
	}
	defer a.Close()
	switch sub {
	case "create":
		h := retention.Hold{ID: *id, Name: *id, From: *from, To: *to, Reason: *reason, By: whoami(), Query: *query}
		if *classes != "" {
			h.Classes = strings.Split(*classes, ",")
		}
		if *custodians != "" {
			h.Custodians = strings.Split(*custodians, ",")
		}
		if *conversations != "" {
			h.Conversations = strings.Split(*conversations, ",")
		}
		if h.Scoped() {
			if _, err := holdQuery(h); err != nil {
				return m.fail(err)
			}
		}
		if err := m.checkCustodians(ctx, a, h.Custodians); err != nil {
			return m.fail(err)
		}
		if err := a.CreateHold(ctx, h); err != nil {
			return m.fail(err)
		}
		fmt.Fprintf(m.Stdout, "hold %s created\n", *id)
	case "release":
		if err := a.ReleaseHold(ctx, *id, *reason, whoami()); err != nil {
			return m.fail(err)
		}
		fmt.Fprintf(m.Stdout, "hold %s released\n", *id)
	case "list":
		holds := a.Holds()
		if *asJSON {
			json.NewEncoder(m.Stdout).Encode(holds)
			return ExitOK
		}
		for _, h := range holds {
			scope := "classes=" + orAll(h.Classes)
			if h.Scoped() {
				q, _ := holdQuery(h)
				scope = "records=" + q.String()
			}
			fmt.Fprintf(m.Stdout, "%s\t%s\tfrom=%s\tto=%s\tsince %s\t%s\n", h.ID, scope, orOpen(h.From), orOpen(h.To), h.At.Format(time.RFC3339), h.Reason)
		}
	}
	return ExitOK
}

func orAll(c []string) string {
	if len(c) == 0 {
		return "all"
	}
	return strings.Join(c, ",")
}

func orOpen(s string) string {
	if s == "" {
		return "open"
	}
	return s
}

// keys lists buckets or destroys one (crypto-shredding) under the
// retention and hold rules.
func (m *Main) keys(ctx context.Context, args []string) int {
	if len(args) == 0 || (args[0] != "list" && args[0] != "destroy") {
		fmt.Fprintln(m.Stderr, "Usage: onrecord keys list [--json]\n       onrecord keys destroy --reason TEXT BUCKET   (BUCKET is class/YYYY-MM-DD)")
		return ExitUsage
	}
	sub := args[0]
	fs, load := m.flags("keys "+sub, "")
	reason := fs.String("reason", "", "why (recorded in the disposal record)")
	asJSON := fs.Bool("json", false, "print as JSON")
	cfg, code, ok := m.parse(fs, load, args[1:])
	if !ok {
		return code
	}
	a, err := archive.Open(ctx, archive.Options{Config: cfg, Logger: m.logger(cfg), Warn: m.Stderr})
	if err != nil {
		return m.fail(err)
	}
	defer a.Close()
	if sub == "list" {
		bs := a.Buckets()
		if *asJSON {
			json.NewEncoder(m.Stdout).Encode(bs)
			return ExitOK
		}
		for _, b := range bs {
			state := "live"
			switch {
			case b.Disposed:
				state = "disposed"
			case len(b.HeldBy) > 0:
				state = "held by " + strings.Join(b.HeldBy, ",")
			}
			exp := "permanent"
			if !b.Permanent {
				exp = "expires " + b.ExpiresAt.Format(time.RFC3339)
			}
			fmt.Fprintf(m.Stdout, "%s\t%d records\t%s\t%s\n", b.Bucket, b.Records, exp, state)
		}
		return ExitOK
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return ExitUsage
	}
	d, err := a.Dispose(ctx, fs.Arg(0), *reason, whoami())
	if err != nil {
		return m.fail(err)
	}
	fmt.Fprintf(m.Stdout, "bucket %s disposed of: %d records (sequence %d..%d) can no longer be decrypted; disposal recorded\n", d.Bucket, d.Records, d.FirstSeq, d.LastSeq)
	return ExitOK
}
