package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/onrecord/onrecord/internal/archive"
	"github.com/onrecord/onrecord/internal/durable"
	"github.com/onrecord/onrecord/internal/retention"
	"github.com/onrecord/onrecord/internal/search"
	"github.com/onrecord/onrecord/verify"
)

// holdQuery is the search a scoped hold stands for: its query, any of its
// custodians, any of its conversations, sent within its days.
func holdQuery(h retention.Hold) (search.Query, error) {
	var parts []search.Node
	if h.Query != "" {
		q, err := search.Parse(h.Query, time.UTC)
		if err != nil {
			return search.Query{}, fmt.Errorf("hold %s: query: %w", h.ID, err)
		}
		if and, ok := q.Root.(*search.And); ok {
			parts = append(parts, and.Nodes...) // an And holds no And
		} else {
			parts = append(parts, q.Root)
		}
	}
	anyOf := func(name search.FieldName, values []string) {
		var or []search.Node
		for _, v := range values {
			or = append(or, &search.Field{Name: name, Value: v})
		}
		switch len(or) {
		case 0:
		case 1:
			parts = append(parts, or[0])
		default:
			parts = append(parts, &search.Or{Nodes: or})
		}
	}
	// A custodian is a person in the directory (every identity they held,
	// while they held it) or, for a name the directory does not know, a
	// participant id: both are asked for, and the resolver answers
	// nothing for what is not a person (archiveCustodians' lenient names).
	var custodians []search.Node
	for _, c := range h.Custodians {
		custodians = append(custodians, &search.Field{Name: search.FieldCustodian, Value: c}, &search.Field{Name: search.FieldParticipant, Value: c})
	}
	if len(custodians) > 0 {
		parts = append(parts, &search.Or{Nodes: custodians})
	}
	anyOf(search.FieldConversation, h.Conversations)
	for _, d := range []struct {
		op  search.DateOp
		day string
	}{{search.After, h.From}, {search.Before, h.To}} {
		if d.day == "" {
			continue
		}
		t, err := time.Parse("2006-01-02", d.day)
		if err != nil {
			return search.Query{}, fmt.Errorf("hold %s: %w", h.ID, err)
		}
		// after: and before: are exclusive of the day named; the hold's
		// days are inclusive.
		if d.op == search.After {
			t = t.AddDate(0, 0, -1)
		} else {
			t = t.AddDate(0, 0, 1)
		}
		parts = append(parts, &search.DateFilter{Op: d.op, Date: search.Date{Year: t.Year(), Month: t.Month(), Day: t.Day()}})
	}
	if len(parts) == 1 {
		return search.Query{Root: parts[0], Location: time.UTC}, nil
	}
	return search.Query{Root: &search.And{Nodes: parts}, Location: time.UTC}, nil
}

// indexHoldScope resolves scoped holds through the index, brought up to
// date with the journal first, so that records that arrived after the hold
// was placed are covered too.
func indexHoldScope(a *archive.Archive, dataDir string) archive.HoldScope {
	return func(ctx context.Context, holds []retention.Hold) (map[string][]string, error) {
		ix, _, err := openIndex(ctx, a, dataDir)
		if err != nil {
			return nil, err
		}
		defer ix.Close() // one index for every hold
		out := map[string][]string{}
		var lenient []string
		for _, h := range holds {
			lenient = append(lenient, h.Custodians...)
		}
		custodians := archiveCustodians(a, lenient...)
		for _, h := range holds {
			q, err := holdQuery(h)
			if err != nil {
				return nil, err
			}
			seqs, err := ix.Matches(ctx, q, custodians)
			if err != nil {
				return nil, fmt.Errorf("hold %s: %w", h.ID, err)
			}
			buckets, err := a.BucketsOf(seqs)
			if err != nil {
				return nil, err
			}
			seen := map[string]bool{}
			for _, b := range buckets {
				if !seen[b] {
					seen[b] = true
					out[b] = append(out[b], h.ID)
				}
			}
		}
		return out, nil
	}
}

// retentionCmd plans or runs disposal under the retention classes and
// every hold.
func (m *Main) retentionCmd(ctx context.Context, args []string) int {
	if len(args) == 0 || (args[0] != "plan" && args[0] != "run") {
		fmt.Fprintln(m.Stderr, "Usage: onrecord retention plan [--json]\n       onrecord retention run --reason TEXT [--certificate FILE] [--json]")
		return ExitUsage
	}
	sub := args[0]
	fs, load := m.flags("retention "+sub, "")
	asJSON := fs.Bool("json", false, "print as JSON")
	reason := fs.String("reason", "", "why (recorded in every disposal record and the certificate)")
	certPath := fs.String("certificate", "", "where to write the disposal certificate (default: data_dir/certificates/…)")
	cfg, code, ok := m.parse(fs, load, args[1:])
	if !ok {
		return code
	}
	if sub == "run" && strings.TrimSpace(*reason) == "" {
		fmt.Fprintln(m.Stderr, "onrecord: retention run needs --reason (it is recorded)")
		return ExitUsage
	}
	a, err := archive.Open(ctx, archive.Options{Config: cfg, Logger: m.logger(cfg), Warn: m.Stderr})
	if err != nil {
		return m.fail(err)
	}
	defer a.Close()
	a.SetHoldScope(indexHoldScope(a, cfg.DataDir))
	now := time.Now().UTC()
	lines, disposable := planRetention(a, now)
	if sub == "plan" {
		if *asJSON {
			enc := json.NewEncoder(m.Stdout)
			enc.SetIndent("", "  ")
			enc.Encode(lines)
			return ExitOK
		}
		for _, l := range lines {
			fmt.Fprintf(m.Stdout, "%-28s %8d records  %s\n", l.Bucket, l.Records, l.State)
		}
		fmt.Fprintf(m.Stdout, "%d of %d buckets would be disposed of now\n", len(disposable), len(lines))
		return ExitOK
	}
	cert, err := runDisposal(ctx, a, lines, disposable, *reason, whoami(), now)
	if err != nil {
		return m.fail(err)
	}
	b, err := json.MarshalIndent(cert, "", "  ")
	if err != nil {
		return m.fail(err)
	}
	path := *certPath
	if path == "" {
		dir := filepath.Join(cfg.DataDir, "certificates")
		if err := durable.MkdirAll(dir); err != nil {
			return m.fail(err)
		}
		path = filepath.Join(dir, "disposal-"+now.Format("20060102T150405Z")+".json")
	}
	if _, err := durable.CreateFile(path, append(b, '\n')); err != nil {
		return m.fail(err)
	}
	if *asJSON {
		fmt.Fprintln(m.Stdout, string(b))
	} else {
		fmt.Fprintf(m.Stdout, "disposed of %d buckets (%d records); kept %d; certificate %s\n", cert.Totals.Buckets, cert.Totals.Records, cert.Totals.Kept, path)
	}
	return ExitOK
}

func (m *Main) verifyCertificate(ctx context.Context, args []string) int {
	fs, _ := m.flags("verify-certificate", "[--key FILE] FILE")
	keyFile := fs.String("key", "", "the log's verifier key from an independent copy")
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
		fmt.Fprintln(m.Stderr, "Usage: onrecord verify-certificate [--key FILE] FILE")
		return ExitUsage
	}
	var key string
	if *keyFile != "" {
		b, err := os.ReadFile(*keyFile)
		if err != nil {
			return m.fail(err)
		}
		key = string(b)
	}
	b, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return m.fail(err)
	}
	c, err := verify.CheckCertificate(b, key)
	if err != nil {
		fmt.Fprintln(m.Stdout, "FAIL", err)
		return ExitFailure
	}
	fmt.Fprintf(m.Stdout, "OK: %d buckets (%d records) disposed between the two checkpoints, each by a disposal record in the log\n", c.Totals.Buckets, c.Totals.Records)
	return ExitOK
}

// planLine is one bucket of a retention plan.
type planLine struct {
	archive.BucketInfo
	State string `json:"state"`
}

// planRetention says what would happen to every bucket at now, and which
// are disposable.
func planRetention(a *archive.Archive, now time.Time) ([]planLine, []string) {
	var lines []planLine
	var disposable []string
	for _, b := range a.Buckets() {
		st := "disposable"
		switch {
		case b.Disposed:
			st = "disposed"
		case b.Permanent:
			st = "kept permanently"
		case now.Before(b.ExpiresAt):
			st = "retained until " + b.ExpiresAt.Format("2006-01-02")
		case len(b.HeldBy) > 0:
			st = "held by " + strings.Join(b.HeldBy, ", ")
		default:
			disposable = append(disposable, b.Bucket)
		}
		lines = append(lines, planLine{b, st})
	}
	return lines, disposable
}

// runDisposal disposes of the planned buckets and returns the certificate.
// Every disposal is checked again by the archive, under the lock hold
// changes take: the plan is not what decides.
func runDisposal(ctx context.Context, a *archive.Archive, lines []planLine, disposable []string, reason, by string, now time.Time) (*verify.Certificate, error) {
	before, err := a.Checkpoint(ctx)
	if err != nil {
		return nil, err
	}
	cert := &verify.Certificate{Version: 1, RunAt: now, By: by, Reason: reason, VerifierKey: a.VerifierKey(), Before: string(before)}
	for _, l := range lines {
		if l.State != "disposable" && l.State != "disposed" {
			cert.Kept = append(cert.Kept, verify.CertificateKeptItem{Bucket: l.Bucket, Why: l.State})
		}
	}
	var done []retention.Disposal
	for _, b := range disposable {
		d, err := a.Dispose(ctx, b, reason, by)
		if err != nil {
			cert.Kept = append(cert.Kept, verify.CertificateKeptItem{Bucket: b, Why: err.Error()})
			continue
		}
		done = append(done, d)
	}
	after, err := a.Checkpoint(ctx)
	if err != nil {
		return nil, err
	}
	cert.After = string(after)
	cpBefore, err := verify.ParseCheckpoint(before, a.VerifierKey())
	if err != nil {
		return nil, err
	}
	cpAfter, err := verify.ParseCheckpoint(after, a.VerifierKey())
	if err != nil {
		return nil, err
	}
	if cert.Consistency, err = a.Ledger().ConsistencyProof(cpBefore.Size, cpAfter.Size); err != nil {
		return nil, err
	}
	for _, d := range done {
		env, err := a.Envelope(d.Seq)
		if err != nil {
			return nil, err
		}
		proof, err := a.InclusionProof(d.Seq, cpAfter.Size)
		if err != nil {
			return nil, err
		}
		cert.Disposed = append(cert.Disposed, verify.CertifiedDisposal{Bucket: d.Bucket, Records: d.Records, FirstSeq: d.FirstSeq,
			LastSeq: d.LastSeq, ExpiredAt: d.ExpiredAt, RecordSeq: d.Seq, Envelope: env, Inclusion: proof})
		cert.Totals.Buckets++
		cert.Totals.Records += d.Records
	}
	cert.Totals.Kept = len(cert.Kept)
	return cert, nil
}
