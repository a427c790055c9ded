// Package formats names the export formats and builds their writers, for
// the command line and the API alike.
package formats

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
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
	"opt":  {"the dat load files plus an Opticon OPT and a PDF image of every record (images/BATES.pdf)", imagedLoadFiles},
}

// imagedLoadFiles writes what loadFiles does and, for review platforms that
// load images, a PDF transcript of each record named by its Bates number,
// with the Opticon cross-reference to them. Each page of an image carries
// the record's Bates number and its page number (BATES-00000001).
func imagedLoadFiles(p Params) export.Writer {
	return func(dir string, items []export.Item) ([]export.File, error) {
		natives, err := eml.Write(dir, items, eml.Options{Location: p.Location})
		if err != nil {
			return nil, err
		}
		paths, err := loadfile.PathsOf(natives)
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Join(dir, "images"), 0o700); err != nil {
			return nil, fmt.Errorf("opt images: %w", err)
		}
		root, err := os.OpenRoot(dir)
		if err != nil {
			return nil, fmt.Errorf("opt images: %w", err)
		}
		defer root.Close()
		images := make(map[string]loadfile.Image, len(items))
		var mu sync.Mutex
		var files []export.File
		err = export.WriteFiles(root, len(items), func(i int) (string, []byte, error) {
			it := items[i]
			if it.Bates == "" {
				return "", nil, fmt.Errorf("opt images: record %d has no Bates number", it.Seq)
			}
			data, pages, err := transcript.RenderPDF([]export.Item{it}, transcript.Options{Location: p.Location,
				BatesPrefix: it.Bates + "-", BatesStart: 1, Now: p.Now})
			if err != nil {
				return "", nil, fmt.Errorf("opt image of %s: %w", it.Bates, err)
			}
			name := "images/" + it.Bates + ".pdf"
			mu.Lock()
			images[it.Bates] = loadfile.Image{Path: name, Pages: pages}
			mu.Unlock()
			return name, data, nil
		})
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			files = append(files, export.File{Path: images[it.Bates].Path, Items: []uint64{it.Seq}})
		}
		lf, err := loadfile.Write(dir, items, loadfile.Options{Location: p.Location, Custodian: p.Custodian, Natives: paths, Images: images})
		if err != nil {
			return nil, err
		}
		return append(append(natives, files...), lf...), nil
	}
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
