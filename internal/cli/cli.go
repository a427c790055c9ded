// Package cli is onrecord's command line: one Main with a subcommand per
// task, each on the standard library's flag package. It parses, prints and
// picks exit codes; the work is done by the packages it calls.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/config"
)

// Exit codes.
const (
	ExitOK      = 0
	ExitFailure = 1 // the command ran and found a problem (verify failed, lines rejected)
	ExitUsage   = 2 // bad flags or configuration
)

// Main holds the process's standard streams.
type Main struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Env looks up environment variables; nil means os.LookupEnv.
	Env func(string) (string, bool)
}

type command struct {
	name, summary string
	run           func(m *Main, ctx context.Context, args []string) int
}

func commands() []command {
	return []command{
		{"demo", "run the gateway with five simulated providers sending live traffic", (*Main).demo},
		{"serve", "run the archive: capture gateway, journal, Merkle log and their HTTP endpoints", (*Main).serve},
		{"import", "import canonical events (--format jsonl FILE)", (*Main).importCmd},
		{"verify", "audit the whole data directory offline", (*Main).verify},
		{"checkpoint", "print the latest signed checkpoint", (*Main).checkpoint},
		{"search", "search the archive (brings the encrypted index up to date first)", (*Main).search},
		{"status", "records, log size, index lag, media backlog (asks the running server if there is one)", (*Main).status},
		{"reindex", "rebuild the search index from the journal", (*Main).reindex},
		{"show", "show a conversation reconstructed: versions, deletions, reactions, statuses (show conversation ID)", (*Main).show},
		{"export", "produce records with their proofs (--query Q --format jsonl|rsmf|eml|dat|html|pdf --out DIR)", (*Main).export},
		{"verify-export", "check an export offline: files, manifest, proofs", (*Main).verifyExport},
		{"users", "list the directory, or import people from CSV", (*Main).users},
		{"policy", "check the policies, or test a message against them", (*Main).policy},
		{"hold", "create, release or list legal holds", (*Main).hold},
		{"matter", "records requests: open (due date in working days, hold), search, export with methodology, close", (*Main).matter},
		{"records", "federal records reports: the 20-day rule of 44 U.S.C. 2911 for non-official accounts (records fra)", (*Main).records},
		{"retention", "plan or run disposal under retention classes and holds, with a certificate (retention plan|run)", (*Main).retentionCmd},
		{"verify-certificate", "check a disposal certificate offline", (*Main).verifyCertificate},
		{"keys", "list key buckets, or destroy one whose retention has passed", (*Main).keys},
		{"bench", "measure against this machine's limits (bench journal|ingest [--json])", (*Main).bench},
		{"version", "print the version", (*Main).version},
	}
}

// Version is set at build time with -ldflags "-X ...cli.Version=...".
var Version = "dev"

// Run runs the subcommand named by args[0] and returns the exit code.
func (m *Main) Run(ctx context.Context, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		m.usage()
		if len(args) == 0 {
			return ExitUsage
		}
		return ExitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return m.runChecked(ctx, c, args[1:])
		}
	}
	fmt.Fprintf(m.Stderr, "onrecord: unknown command %q\n\n", args[0])
	m.usage()
	return ExitUsage
}

// runChecked runs c with standard output watched: search results, reports
// and checkpoints are evidence, so output that did not reach its file
// (a full disk, an I/O error) fails the command instead of leaving a cut
// file behind an exit code that says it worked.
func (m *Main) runChecked(ctx context.Context, c command, args []string) int {
	out := &checkedWriter{w: m.Stdout}
	mc := *m
	mc.Stdout = out
	code := c.run(&mc, ctx, args)
	err := out.err
	if f, ok := m.Stdout.(*os.File); ok && err == nil && out.n > 0 {
		// A redirect into a file: what the command wrote must be there.
		if fi, serr := f.Stat(); serr == nil && fi.Mode().IsRegular() {
			err = f.Sync()
		}
	}
	if err != nil && code == ExitOK {
		fmt.Fprintf(m.Stderr, "onrecord: %s: the output was not written: %v\n", c.name, err)
		return ExitFailure
	}
	return code
}

// checkedWriter keeps the first error its writer returned; once it has
// one it writes nothing more.
type checkedWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *checkedWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	c.err = err
	return n, err
}

func (m *Main) usage() {
	fmt.Fprintln(m.Stderr, "onrecord — business messaging, on the record.\n\nUsage: onrecord COMMAND [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(m.Stderr, "  %-11s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(m.Stderr, "\nEvery command reads the same configuration: --config FILE, ONRECORD_* variables, flags.\nRun 'onrecord COMMAND -h' for its flags.")
}

func (m *Main) version(_ context.Context, _ []string) int {
	fmt.Fprintln(m.Stdout, "onrecord", Version)
	return ExitOK
}

// flags returns a flag set with the configuration flags registered and a
// function that loads the configuration after parsing.
func (m *Main) flags(name, usage string) (*flag.FlagSet, func() (config.Config, error)) {
	fs := flag.NewFlagSet("onrecord "+name, flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	l := &config.Loader{Env: m.Env}
	l.RegisterFlags(fs)
	fs.Usage = func() {
		fmt.Fprintf(m.Stderr, "Usage: onrecord %s %s\n\nFlags:\n", name, usage)
		fs.PrintDefaults()
	}
	return fs, func() (config.Config, error) { return l.Load(fs) }
}

// parse parses args and loads the configuration, printing what is wrong.
func (m *Main) parse(fs *flag.FlagSet, load func() (config.Config, error), args []string) (config.Config, int, bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return config.Config{}, ExitOK, false
		}
		return config.Config{}, ExitUsage, false
	}
	cfg, err := load()
	if err != nil {
		fmt.Fprintf(m.Stderr, "onrecord: configuration is not valid:\n  %s\n", strings.ReplaceAll(err.Error(), "\n", "\n  "))
		return cfg, ExitUsage, false
	}
	return cfg, ExitOK, true
}

func (m *Main) logger(cfg config.Config) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(cfg.LogLevel))
	return slog.New(slog.NewTextHandler(m.Stderr, &slog.HandlerOptions{Level: lvl}))
}

// fail prints err and returns the exit code for it.
func (m *Main) fail(err error) int {
	fmt.Fprintf(m.Stderr, "onrecord: %v\n", err)
	if onrecord.ErrorCode(err) == onrecord.EINVALID {
		return ExitUsage
	}
	return ExitFailure
}

// NewMain returns a Main on the process's standard streams.
func NewMain() *Main {
	return &Main{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
}
