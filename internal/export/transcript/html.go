package transcript

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"

	"github.com/onrecord/onrecord/internal/export"
	"github.com/onrecord/onrecord/internal/thread"
)

// The page is one file with its style inline and no script: it must open
// the same way on a reviewer's machine years later, offline, and its
// Content-Security-Policy forbids loading anything even if a hostile
// message body got past html/template's escaping.
//
//go:embed transcript.html.tmpl
var htmlSource string

var htmlTemplate = template.Must(template.New("transcript").Parse(htmlSource))

// WriteHTML writes one self-contained HTML transcript per conversation of
// items into dir (created if missing) and returns the files written, in
// conversation order, each with the items it carries.
func WriteHTML(dir string, items []export.Item, opts Options) ([]export.File, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("html transcript: %w", err)
	}
	groups, err := conversations(items)
	if err != nil {
		return nil, fmt.Errorf("html transcript: %w", err)
	}
	var files []export.File
	for i, g := range groups {
		data, err := renderHTML(thread.Build(g), opts)
		if err != nil {
			return files, fmt.Errorf("html transcript of %s %s: %w", g[0].Event.Channel, g[0].Event.Conversation, err)
		}
		name := fileName(i, g, "html")
		if err := writeFile(dir, name, data); err != nil {
			return files, err
		}
		files = append(files, export.File{Path: name, Items: seqs(g)})
	}
	return files, nil
}

func renderHTML(c *thread.Conversation, opts Options) ([]byte, error) {
	var buf bytes.Buffer
	if err := htmlTemplate.Execute(&buf, newView(c, opts)); err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	return buf.Bytes(), nil
}
