// Package formats names the export formats and builds their writers, for
// the command line and the API alike.
package formats

import (
	"slices"
	"time"

	"github.com/onrecord/onrecord/internal/export"
	"github.com/onrecord/onrecord/internal/export/eml"
	"github.com/onrecord/onrecord/internal/export/jsonl"
	"github.com/onrecord/onrecord/internal/export/loadfile"
	"github.com/onrecord/onrecord/internal/export/rsmf"
	"github.com/onrecord/onrecord/internal/export/transcript"
)

// Params are what a format may need beyond the items.
type Params struct {
	Location    *time.Location
	Custodian   string
	BatesPrefix string
	BatesStart  int
	Now         func() time.Time
}

// Format is one export format.
type Format struct {
	Summary string
	Writer  func(p Params) export.Writer
}

var all = map[string]Format{
	"jsonl": {"canonical events, one per line (what `onrecord import` reads)", func(Params) export.Writer { return jsonl.Write }},
	"rsmf": {"RSMF 2.0, one .rsmf per conversation and day (Relativity and other review platforms)", func(p Params) export.Writer {
		return func(dir string, items []export.Item) ([]export.File, error) {
			return rsmf.Write(dir, items, rsmf.Options{Location: p.Location, Custodian: p.Custodian, Now: p.Now})
		}
	}},
	"eml": {"one RFC 5322 message per record, threaded, attachments as MIME parts", func(p Params) export.Writer {
		return func(dir string, items []export.Item) ([]export.File, error) {
			return eml.Write(dir, items, eml.Options{Location: p.Location})
		}
	}},
	"html": {"human-readable transcripts, one self-contained HTML file per conversation", func(p Params) export.Writer {
		return func(dir string, items []export.Item) ([]export.File, error) {
			return transcript.WriteHTML(dir, items, transcript.Options{Location: p.Location, BatesPrefix: p.BatesPrefix, BatesStart: p.BatesStart, Now: p.Now})
		}
	}},
	"pdf": {"transcripts as PDF, page numbers and a production number on every page", func(p Params) export.Writer {
		return func(dir string, items []export.Item) ([]export.File, error) {
			// Pages are numbered apart from records: PREFIX-P00000001.
			pdfs, err := transcript.WritePDF(dir, items, transcript.Options{Location: p.Location, BatesPrefix: p.BatesPrefix + "-P", BatesStart: 1, Now: p.Now})
			if err != nil {
				return nil, err
			}
			files := make([]export.File, len(pdfs))
			for i, f := range pdfs {
				files[i] = f.File
			}
			return files, nil
		}
	}},
	"dat":  {"load files (Concordance DAT, CSV, EDRM XML 1.2) with EML natives", loadFiles},
	"csv":  {"the same as dat (the CSV is among the load files)", loadFiles},
	"edrm": {"the same as dat (the EDRM XML is among the load files)", loadFiles},
}

// loadFiles writes EML natives and the load files that point at them.
func loadFiles(p Params) export.Writer {
	return func(dir string, items []export.Item) ([]export.File, error) {
		natives, err := eml.Write(dir, items, eml.Options{Location: p.Location})
		if err != nil {
			return nil, err
		}
		paths, err := loadfile.PathsOf(natives)
		if err != nil {
			return nil, err
		}
		lf, err := loadfile.Write(dir, items, loadfile.Options{Location: p.Location, Custodian: p.Custodian, Natives: paths})
		if err != nil {
			return nil, err
		}
		return append(natives, lf...), nil
	}
}

// Get returns the format name.
func Get(name string) (Format, bool) {
	f, ok := all[name]
	return f, ok
}

// Names lists the formats, sorted.
func Names() []string {
	var names []string
	for n := range all {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
