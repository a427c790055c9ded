package search

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sexpr writes a tree in a form that shows its structure, for test tables.
func sexpr(n Node) string {
	switch n := n.(type) {
	case *Term:
		return n.String()
	case *Phrase:
		return "(phrase " + strconv.Quote(n.Text) + ")"
	case *Field:
		return "(" + string(n.Name) + " " + strconv.Quote(n.Value) + ")"
	case *DateFilter:
		return "(" + string(n.Op) + " " + n.Date.String() + ")"
	case *Not:
		return "(not " + sexpr(n.Node) + ")"
	case *And, *Or:
		op, nodes := "and", []Node(nil)
		if o, ok := n.(*Or); ok {
			op, nodes = "or", o.Nodes
		} else {
			nodes = n.(*And).Nodes
		}
		parts := []string{op}
		for _, c := range nodes {
			parts = append(parts, sexpr(c))
		}
		return "(" + strings.Join(parts, " ") + ")"
	}
	return fmt.Sprintf("?%T", n)
}

func readLines(t *testing.T, name string) []string {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "#") {
			continue
		}
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

func TestParse_Table(t *testing.T) {
	lines := readLines(t, "testdata/parse.txt")
	n := 0
	for i := 0; i+1 < len(lines); i++ {
		if lines[i] == "" || !strings.HasPrefix(lines[i+1], "=> ") {
			continue
		}
		query, want := lines[i], strings.TrimPrefix(lines[i+1], "=> ")
		i++
		n++
		t.Run(query, func(t *testing.T) {
			q, err := Parse(query, nil)
			if err != nil {
				t.Fatalf("Parse(%q): %v", query, err)
			}
			if got := sexpr(q.Root); got != want {
				t.Errorf("Parse(%q)\n got %s\nwant %s", query, got, want)
			}
			again, err := Parse(q.String(), nil)
			if err != nil {
				t.Fatalf("re-parse of %q: %v", q.String(), err)
			}
			if !reflect.DeepEqual(again.Root, q.Root) {
				t.Errorf("re-parse of %q gives %s", q.String(), sexpr(again.Root))
			}
		})
	}
	if n < 30 {
		t.Fatalf("only %d cases read from testdata/parse.txt", n)
	}
}

func TestParse_ErrorsNameThePosition(t *testing.T) {
	for _, line := range readLines(t, "testdata/errors.txt") {
		f := strings.Split(line, "\t")
		if len(f) != 3 {
			continue
		}
		query, msg := f[0], f[2]
		col, err := strconv.Atoi(f[1])
		if err != nil {
			t.Fatalf("bad column in %q", line)
		}
		t.Run(query, func(t *testing.T) {
			_, err := Parse(query, nil)
			var perr *Error
			if !errors.As(err, &perr) {
				t.Fatalf("Parse(%q) = %v, want *Error", query, err)
			}
			if perr.Column != col || !strings.Contains(perr.Msg, msg) {
				t.Errorf("Parse(%q) = %q at column %d, want %q at column %d", query, perr.Msg, perr.Column, msg, col)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("column %d", col)) {
				t.Errorf("message %q does not name column %d", err.Error(), col)
			}
		})
	}
}

func TestParse_LimitsHostileInput(t *testing.T) {
	for name, q := range map[string]string{
		"too long":     strings.Repeat("a ", MaxQueryBytes),
		"too deep":     strings.Repeat("(", maxDepth+1) + "a" + strings.Repeat(")", maxDepth+1),
		"invalid utf8": "ab\xffcd",
	} {
		if _, err := Parse(q, nil); err == nil {
			t.Errorf("%s: Parse accepted it", name)
		}
	}
	// Deep but within the limit is fine.
	if _, err := Parse(strings.Repeat("(", maxDepth)+"a"+strings.Repeat(")", maxDepth), nil); err != nil {
		t.Errorf("depth %d: %v", maxDepth, err)
	}
}

func TestDate_DaysFollowTheZone(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	q, err := Parse("on:2024-03-10", ny)
	if err != nil {
		t.Fatal(err)
	}
	d := q.Root.(*DateFilter).Date
	start, end := d.Start(q.Location), d.End(q.Location)
	if want := time.Date(2024, 3, 10, 5, 0, 0, 0, time.UTC); !start.Equal(want) {
		t.Errorf("start = %v, want %v", start.UTC(), want)
	}
	// The day daylight saving time starts has 23 hours.
	if got := end.Sub(start); got != 23*time.Hour {
		t.Errorf("day length = %v, want 23h", got)
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"testdata/parse.txt", "testdata/errors.txt"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		for line := range strings.Lines(string(data)) {
			line = strings.TrimSuffix(line, "\n")
			if q, _, _ := strings.Cut(line, "\t"); !strings.HasPrefix(q, "=> ") {
				f.Add(q)
			}
		}
	}
	f.Fuzz(func(t *testing.T, in string) {
		q, err := Parse(in, nil)
		if err != nil {
			var perr *Error
			if !errors.As(err, &perr) || perr.Column < 1 || perr.Offset > len(in) {
				t.Fatalf("Parse(%q): bad error %#v", in, err)
			}
			return
		}
		out := q.String()
		again, err := Parse(out, nil)
		if err != nil {
			t.Fatalf("Parse(%q) ok, but its rendering %q fails: %v", in, out, err)
		}
		if !reflect.DeepEqual(again.Root, q.Root) {
			t.Fatalf("Parse(%q) = %s, rendered %q, re-parsed %s", in, sexpr(q.Root), out, sexpr(again.Root))
		}
	})
}
