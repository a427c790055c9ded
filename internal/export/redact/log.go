package redact

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/onrecord/onrecord/internal/durable"
	"github.com/onrecord/onrecord/internal/export"
	"github.com/onrecord/onrecord/internal/export/loadfile"
)

// The redaction log's files, in the export directory.
const (
	LogCSV  = "redaction-log.csv"
	LogJSON = "redaction-log.json"
)

// logColumns are the CSV header, in Entry's order.
var logColumns = []string{"seq", "bates", "field", "start", "end", "code", "source", "reason", "length"}

// WriteLog writes the redaction log into dir as LogCSV, for the people who
// read it in a spreadsheet, and LogJSON, for the tools that check it, and
// returns both files with the seqs they name. A log with no entries is
// written too: a production that withheld nothing says so. It fails if
// either file exists already, writing neither over the other.
func WriteLog(dir string, log []Entry) ([]export.File, error) {
	c, err := encodeCSV(log)
	if err != nil {
		return nil, err
	}
	doc := struct {
		Version int     `json:"version"`
		Entries []Entry `json:"entries"`
	}{1, log}
	if doc.Entries == nil {
		doc.Entries = []Entry{} // "entries": [] rather than null
	}
	j, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("redaction log: encode json: %w", err)
	}
	j = append(j, '\n')

	var seqs []uint64
	for _, e := range log {
		seqs = append(seqs, e.Seq)
	}
	slices.Sort(seqs)
	seqs = slices.Compact(seqs)
	var files []export.File
	for _, f := range []struct {
		name string
		data []byte
	}{{LogCSV, c}, {LogJSON, j}} {
		created, err := durable.CreateFile(filepath.Join(dir, f.name), f.data)
		if err != nil {
			return nil, fmt.Errorf("redaction log: %w", err)
		}
		if !created {
			return nil, fmt.Errorf("redaction log: %s already exists in %s; an export never mixes with files it did not write", f.name, dir)
		}
		files = append(files, export.File{Path: f.name, Items: slices.Clone(seqs)})
	}
	return files, nil
}

// encodeCSV renders the log as RFC 4180 CSV (CR LF records; fields with
// commas, quotes or line breaks quoted; quotes doubled) after a UTF-8 BOM,
// as the load-file CSV is, with every cell escaped against formula
// injection: a field name comes from a provider's meta key and a reason
// from a reviewer, and either can start with "=".
func encodeCSV(log []Entry) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("\ufeff")
	w := csv.NewWriter(&b)
	w.UseCRLF = true
	row := make([]string, len(logColumns))
	for i, c := range logColumns {
		row[i] = loadfile.EscapeCell(c)
	}
	if err := w.Write(row); err != nil {
		return nil, fmt.Errorf("redaction log: csv header: %w", err)
	}
	for _, e := range log {
		vals := []string{strconv.FormatUint(e.Seq, 10), e.Bates, e.Field, strconv.Itoa(e.Start), strconv.Itoa(e.End),
			e.Code, e.Source, e.Reason, strconv.Itoa(e.Length)}
		for i, v := range vals {
			row[i] = loadfile.EscapeCell(v)
		}
		if err := w.Write(row); err != nil {
			return nil, fmt.Errorf("redaction log: csv seq %d: %w", e.Seq, err)
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return nil, fmt.Errorf("redaction log: csv: %w", err)
	}
	return b.Bytes(), nil
}
