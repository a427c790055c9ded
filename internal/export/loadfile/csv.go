package loadfile

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"strings"
)

// formulaStarts are the characters that make a spreadsheet treat a cell as
// a formula (OWASP, "CSV Injection"): = + - @, and tab and carriage return,
// which some spreadsheets skip before looking for one.
const formulaStarts = "=+-@\t\r"

// EscapeCell neutralises a cell a spreadsheet would run as a formula by
// putting a ' in front of it, which spreadsheets show as text and hide.
// Message text and phone numbers ("+14155550123") start with these
// characters routinely, so the ' will be seen; a value that must be exact
// is in the DAT, which no spreadsheet opens.
func EscapeCell(v string) string {
	if v != "" && strings.IndexByte(formulaStarts, v[0]) >= 0 {
		return "'" + v
	}
	return v
}

// writeCSV writes the DAT's fields as RFC 4180 CSV (encoding/csv: CR LF
// records, fields with commas, quotes or line breaks quoted, quotes
// doubled), every cell escaped, after a UTF-8 BOM so spreadsheets do not
// read it as the local code page.
func writeCSV(w io.Writer, docs []doc) error {
	var b bytes.Buffer
	b.WriteString(bom)
	cw := csv.NewWriter(&b)
	cw.UseCRLF = true
	rec := make([]string, len(Fields))
	for i, f := range Fields {
		rec[i] = EscapeCell(f)
	}
	if err := cw.Write(rec); err != nil {
		return fmt.Errorf("csv header: %w", err)
	}
	for _, d := range docs {
		for i, v := range d.row {
			rec[i] = EscapeCell(v)
		}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("csv seq %d: %w", d.it.Seq, err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("csv: %w", err)
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}
