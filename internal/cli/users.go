package cli

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/app"
)

// usersCSVHeader is the column order `users import` reads and `users list
// --csv` writes.
var usersCSVHeader = []string{"user_name", "display_name", "email", "department", "title", "role", "seniority", "official", "active", "manager", "identities"}

func (m *Main) users(ctx context.Context, args []string) int {
	usage := "Usage: onrecord users list [--json]\n       onrecord users import FILE.csv   (columns: " + strings.Join(usersCSVHeader, ",") +
		"; identities as channel:address;channel:address; manager as a user_name)"
	if len(args) == 0 || (args[0] != "list" && args[0] != "import") {
		fmt.Fprintln(m.Stderr, usage)
		return ExitUsage
	}
	sub := args[0]
	fs, load := m.flags("users "+sub, "")
	asJSON := fs.Bool("json", false, "print as JSON")
	cfg, code, ok := m.parse(fs, load, args[1:])
	if !ok {
		return code
	}
	a, err := app.Open(ctx, app.Options{Config: cfg, Logger: m.logger(cfg), Warn: m.Stderr})
	if err != nil {
		return m.fail(err)
	}
	defer a.Close()
	dir := a.Governance.Directory
	switch sub {
	case "list":
		people := dir.People()
		if *asJSON {
			enc := json.NewEncoder(m.Stdout)
			enc.SetIndent("", "  ")
			enc.Encode(people)
			return ExitOK
		}
		for _, p := range people {
			state := "active"
			if !p.Active {
				state = "inactive"
			}
			var ids []string
			for _, id := range p.Identities {
				ids = append(ids, id.Channel+":"+id.Address)
			}
			fmt.Fprintf(m.Stdout, "%-32s %-24s %-12s %-8s %s\n", p.UserName, p.Name(), p.Role, state, strings.Join(ids, " "))
		}
		return ExitOK
	case "import":
		if fs.NArg() != 1 {
			fmt.Fprintln(m.Stderr, usage)
			return ExitUsage
		}
		f, err := os.Open(fs.Arg(0))
		if err != nil {
			return m.fail(err)
		}
		defer f.Close()
		n, err := importUsers(ctx, a, f, whoami())
		if err != nil {
			fmt.Fprintf(m.Stderr, "onrecord: %s: %v (%d people imported before it)\n", fs.Arg(0), err, n)
			return ExitFailure
		}
		fmt.Fprintf(m.Stdout, "%d people imported or updated; each change is recorded\n", n)
	}
	return ExitOK
}

// importUsers creates or updates people from CSV rows, matching existing
// people by user name. Managers are resolved by user name after all rows
// are read, so order does not matter.
func importUsers(ctx context.Context, a *app.App, r io.Reader, actor string) (int, error) {
	cr := csv.NewReader(r)
	header, err := cr.Read()
	if err != nil {
		return 0, fmt.Errorf("header: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimSpace(strings.ToLower(h))] = i
	}
	if _, ok := col["user_name"]; !ok {
		return 0, fmt.Errorf("header: a user_name column is required")
	}
	get := func(row []string, name string) string {
		if i, ok := col[name]; ok && i < len(row) {
			return strings.TrimSpace(row[i])
		}
		return ""
	}
	dir := a.Governance.Directory
	byName := map[string]onrecord.Person{}
	for _, p := range dir.People() {
		byName[strings.ToLower(p.UserName)] = p
	}
	type pending struct {
		p       onrecord.Person
		manager string
	}
	var rows []pending
	for line := 2; ; line++ {
		row, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, fmt.Errorf("line %d: %w", line, err)
		}
		name := get(row, "user_name")
		if name == "" {
			return 0, fmt.Errorf("line %d: user_name is empty", line)
		}
		p := byName[strings.ToLower(name)]
		p.UserName = name
		p.DisplayName, p.Email, p.Department, p.Title = get(row, "display_name"), get(row, "email"), get(row, "department"), get(row, "title")
		p.Role, p.Seniority = get(row, "role"), get(row, "seniority")
		for _, f := range []struct {
			name string
			v    *bool
		}{{"official", &p.Official}, {"active", &p.Active}} {
			s := get(row, f.name)
			if s == "" {
				*f.v = true
				continue
			}
			b, err := strconv.ParseBool(s)
			if err != nil {
				return 0, fmt.Errorf("line %d: %s %q is not true or false", line, f.name, s)
			}
			*f.v = b
		}
		p.Identities = nil
		for _, id := range strings.Split(get(row, "identities"), ";") {
			if id = strings.TrimSpace(id); id == "" {
				continue
			}
			ch, addr, ok := strings.Cut(id, ":")
			if !ok || ch == "" || addr == "" {
				return 0, fmt.Errorf("line %d: identity %q is not channel:address", line, id)
			}
			p.Identities = append(p.Identities, onrecord.Identity{Channel: ch, Address: addr})
		}
		rows = append(rows, pending{p, get(row, "manager")})
	}
	n := 0
	for _, pass := range []bool{false, true} {
		for i := range rows {
			if pass {
				if rows[i].manager == "" {
					continue
				}
				mgr, ok := byName[strings.ToLower(rows[i].manager)]
				if !ok {
					return n, fmt.Errorf("%s: manager %q is not in the directory", rows[i].p.UserName, rows[i].manager)
				}
				rows[i].p.Manager = mgr.ID
			}
			out, err := dir.PutPerson(ctx, actor, rows[i].p)
			if err != nil {
				return n, fmt.Errorf("%s: %w", rows[i].p.UserName, err)
			}
			rows[i].p = out
			byName[strings.ToLower(out.UserName)] = out
			if !pass {
				n++
			}
		}
	}
	return n, nil
}
