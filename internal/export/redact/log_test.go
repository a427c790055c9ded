package redact

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/onrecord/onrecord/internal/export"
)

func TestWriteLog_CellsCannotRunAsFormulas(t *testing.T) {
	tests := []struct {
		name  string
		entry Entry
		// want are the cells a spreadsheet shows, after the header.
		want []string
	}{
		{"equals after a field prefix is harmless", Entry{Seq: 1, Bates: "B-1", Field: "meta.=HYPERLINK(\"http://evil\")", Start: 0, End: 3, Code: "(b)(6)", Source: "span", Length: 3},
			[]string{"1", "B-1", "meta.=HYPERLINK(\"http://evil\")", "0", "3", "(b)(6)", "span", "", "3"}},
		{"equals", Entry{Seq: 8, Field: "meta-key.=1+1", Code: "=cmd|' /C calc'!A0", Source: "span", Reason: "=HYPERLINK(\"http://evil\")"},
			[]string{"8", "", "meta-key.=1+1", "0", "0", "'=cmd|' /C calc'!A0", "span", "'=HYPERLINK(\"http://evil\")", "0"}},
		{"plus", Entry{Seq: 2, Field: "body", Code: "+cmd", Source: "span", Reason: "+1 555"},
			[]string{"2", "", "body", "0", "0", "'+cmd", "span", "'+1 555", "0"}},
		{"minus", Entry{Seq: 3, Field: "body", Code: "(b)(6)", Source: "span", Reason: "-2+3"},
			[]string{"3", "", "body", "0", "0", "(b)(6)", "span", "'-2+3", "0"}},
		{"at", Entry{Seq: 4, Bates: "@SUM(A1)", Field: "body", Code: "(b)(6)", Source: "span"},
			[]string{"4", "'@SUM(A1)", "body", "0", "0", "(b)(6)", "span", "", "0"}},
		{"tab", Entry{Seq: 5, Field: "body", Code: "(b)(6)", Source: "span", Reason: "\t=1+1"},
			[]string{"5", "", "body", "0", "0", "(b)(6)", "span", "'\t=1+1", "0"}},
		// encoding/csv writing CR LF records drops a lone CR inside a
		// field; the escape is added before, so the cell still starts
		// with ', and the JSON log keeps the CR.
		{"carriage return", Entry{Seq: 6, Field: "body", Code: "(b)(6)", Source: "span", Reason: "\r=1+1"},
			[]string{"6", "", "body", "0", "0", "(b)(6)", "span", "'=1+1", "0"}},
		{"commas, quotes and line breaks are quoted", Entry{Seq: 7, Field: "body", Code: "(b)(6), (b)(7)(C)", Source: "span, us_ssn", Reason: "a \"quoted\"\nreason"},
			[]string{"7", "", "body", "0", "0", "(b)(6), (b)(7)(C)", "span, us_ssn", "a \"quoted\"\nreason", "0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			files, err := WriteLog(dir, []Entry{tt.entry})
			if err != nil {
				t.Fatal(err)
			}
			wantFiles := []export.File{{Path: LogCSV, Items: []uint64{tt.entry.Seq}}, {Path: LogJSON, Items: []uint64{tt.entry.Seq}}}
			if !slices.EqualFunc(files, wantFiles, func(a, b export.File) bool { return a.Path == b.Path && slices.Equal(a.Items, b.Items) }) {
				t.Errorf("files = %+v, want %+v", files, wantFiles)
			}
			rows := readCSV(t, filepath.Join(dir, LogCSV))
			if !slices.Equal(rows[0], logColumns) {
				t.Errorf("header %q", rows[0])
			}
			if len(rows) != 2 || !slices.Equal(rows[1], tt.want) {
				t.Fatalf("rows %q, want %q", rows[1:], tt.want)
			}
			for _, c := range rows[1] {
				if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
					t.Errorf("cell %q would run as a formula", c)
				}
			}
			// The JSON log keeps every value exact.
			if got := readJSON(t, filepath.Join(dir, LogJSON)); !slices.Equal(got, []Entry{tt.entry}) {
				t.Errorf("json log %+v, want %+v", got, tt.entry)
			}
		})
	}
}

func TestWriteLog_RoundTripsTheLogOfAProduction(t *testing.T) {
	items := loadItems(t, "production.json", nil)
	_, log, err := Apply(items, Options{Rules: []Rule{{Detector: "*", Code: "(b)(6)"}}, DropAttachments: true})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files, err := WriteLog(dir, log)
	if err != nil {
		t.Fatal(err)
	}
	if got := readJSON(t, filepath.Join(dir, LogJSON)); !slices.Equal(got, log) {
		t.Errorf("json log %+v, want %+v", got, log)
	}
	rows := readCSV(t, filepath.Join(dir, LogCSV))
	if len(rows) != len(log)+1 {
		t.Fatalf("%d csv rows for %d entries", len(rows), len(log))
	}
	for i, e := range log {
		if rows[i+1][0] != strconv.FormatUint(e.Seq, 10) || rows[i+1][2] != e.Field {
			t.Errorf("row %d = %q, entry %+v", i+1, rows[i+1], e)
		}
	}
	var seqs []uint64
	for _, e := range log {
		if !slices.Contains(seqs, e.Seq) {
			seqs = append(seqs, e.Seq)
		}
	}
	if !slices.Equal(files[0].Items, seqs) {
		t.Errorf("files carry %v, want %v", files[0].Items, seqs)
	}
}

func TestWriteLog_AnEmptyLogIsWrittenToo(t *testing.T) {
	dir := t.TempDir()
	if _, err := WriteLog(dir, nil); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, LogJSON))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(`"entries": []`)) {
		t.Errorf("json log %s, want an empty entries list", b)
	}
	if rows := readCSV(t, filepath.Join(dir, LogCSV)); len(rows) != 1 {
		t.Errorf("csv rows %q, want the header only", rows)
	}
}

func TestWriteLog_NeverOverwrites(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, LogJSON), []byte("theirs"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := WriteLog(dir, nil); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("err = %v, want already exists", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, LogJSON)); string(b) != "theirs" {
		t.Errorf("the existing file was overwritten: %q", b)
	}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("\ufeff")) {
		t.Errorf("%s has no UTF-8 byte order mark", path)
	}
	if !bytes.Contains(b, []byte("\r\n")) {
		t.Errorf("%s records do not end in CR LF", path)
	}
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\ufeff")))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func readJSON(t *testing.T, path string) []Entry {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Version int     `json:"version"`
		Entries []Entry `json:"entries"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Version != 1 {
		t.Errorf("version %d", doc.Version)
	}
	return doc.Entries
}
