package rsmf

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // fixtures name zones; do not depend on the host's zoneinfo

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/export"
)

// exportedAt is Options.Now in every test, so X-RSMF-ExportDate is fixed.
var exportedAt = time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)

// fixture is one testdata/cases/*.json: the items of a production and the
// options to write it with.
type fixture struct {
	Options struct {
		SplitBy   string `json:"split_by"`
		MaxBytes  int64  `json:"max_bytes"`
		Location  string `json:"location"`
		Custodian string `json:"custodian"`
	} `json:"options"`
	Items []struct {
		Seq   uint64          `json:"seq"`
		Bates string          `json:"bates"`
		Event *onrecord.Event `json:"event"`
	} `json:"items"`
}

// cases lists the fixtures by name (file name without .json).
func cases(t testing.TB) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "cases", "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no fixtures in testdata/cases: %v", err)
	}
	var names []string
	for _, p := range paths {
		names = append(names, strings.TrimSuffix(filepath.Base(p), ".json"))
	}
	return names
}

func mustLoad(t testing.TB, name string) ([]export.Item, Options) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "cases", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var f fixture
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("fixture %s: %v", name, err)
	}
	opts := Options{SplitBy: f.Options.SplitBy, MaxBytes: f.Options.MaxBytes, Custodian: f.Options.Custodian,
		Now: func() time.Time { return exportedAt }}
	if f.Options.Location != "" {
		if opts.Location, err = time.LoadLocation(f.Options.Location); err != nil {
			t.Fatal(err)
		}
	}
	items := make([]export.Item, 0, len(f.Items))
	for _, it := range f.Items {
		items = append(items, export.Item{Seq: it.Seq, Bates: it.Bates, Event: it.Event})
	}
	return items, opts
}

// mustWrite writes items to a fresh directory and returns it with the files.
func mustWrite(t testing.TB, items []export.Item, opts Options) (string, []export.File) {
	t.Helper()
	dir := t.TempDir()
	files, err := Write(dir, items, opts)
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	return dir, files
}

// parsed is an .rsmf read back the way an eDiscovery platform reads it.
type parsed struct {
	raw      []byte
	header   mail.Header
	rawHead  string // the header block as written, folded
	text     string
	zip      *zip.Reader
	files    map[string][]byte // rsmf.zip's files by name
	manifest manifest
	json     []byte
}

// mustParse reads an .rsmf with net/mail and mime/multipart, the way any
// mail tool would, and fails the test on anything not well formed.
func mustParse(t testing.TB, path string) *parsed {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p := &parsed{raw: raw, files: map[string][]byte{}}
	head, _, ok := bytes.Cut(raw, []byte("\r\n\r\n"))
	if !ok {
		t.Fatalf("%s: no blank line after the headers", path)
	}
	p.rawHead = string(head)
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("%s: net/mail: %v", path, err)
	}
	p.header = msg.Header
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" {
		t.Fatalf("%s: Content-Type %q: %v", path, msg.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var zipped []byte
	for n := 0; ; n++ {
		part, err := mr.NextPart()
		if err == io.EOF {
			if n != 2 {
				t.Fatalf("%s: %d parts, want the summary and rsmf.zip", path, n)
			}
			break
		}
		if err != nil {
			t.Fatalf("%s: part %d: %v", path, n, err)
		}
		body, err := io.ReadAll(part) // quoted-printable is decoded by the reader
		if err != nil {
			t.Fatalf("%s: part %d: %v", path, n, err)
		}
		switch n {
		case 0:
			if ct := part.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
				t.Fatalf("%s: first part is %q, want the text summary", path, ct)
			}
			p.text = string(body)
		case 1:
			if part.FileName() != "rsmf.zip" || part.Header.Get("Content-Transfer-Encoding") != "base64" {
				t.Fatalf("%s: second part is %q (%q), want rsmf.zip in base64", path, part.FileName(), part.Header.Get("Content-Transfer-Encoding"))
			}
			if zipped, err = base64.StdEncoding.DecodeString(strings.ReplaceAll(string(body), "\r\n", "")); err != nil {
				t.Fatalf("%s: rsmf.zip base64: %v", path, err)
			}
		default:
			t.Fatalf("%s: unexpected part %d", path, n)
		}
	}
	if p.zip, err = zip.NewReader(bytes.NewReader(zipped), int64(len(zipped))); err != nil {
		t.Fatalf("%s: rsmf.zip: %v", path, err)
	}
	for _, f := range p.zip.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatalf("%s: rsmf.zip %s: %v", path, f.Name, err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("%s: rsmf.zip %s: %v", path, f.Name, err)
		}
		if _, dup := p.files[f.Name]; dup {
			t.Fatalf("%s: rsmf.zip holds %s twice", path, f.Name)
		}
		p.files[f.Name] = b
	}
	p.json = p.files[manifestName]
	if p.json == nil {
		t.Fatalf("%s: rsmf.zip has no %s", path, manifestName)
	}
	dec := json.NewDecoder(bytes.NewReader(p.json))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p.manifest); err != nil {
		t.Fatalf("%s: manifest: %v", path, err)
	}
	return p
}

// dump renders a parsed file for a golden file: headers as written, the
// summary, the zip's listing and the manifest. The zip's compressed bytes
// are left out so a change in Go's deflate does not churn the golden files;
// TestWrite_IsDeterministic covers the bytes.
func (p *parsed) dump() string {
	var b strings.Builder
	b.WriteString("==== headers\n")
	b.WriteString(strings.ReplaceAll(p.rawHead, "\r\n", "\n"))
	b.WriteString("\n==== text/plain\n")
	b.WriteString(strings.ReplaceAll(p.text, "\r\n", "\n"))
	b.WriteString("==== rsmf.zip\n")
	for _, f := range p.zip.File {
		fmt.Fprintf(&b, "%s\t%d bytes\t%s\n", f.Name, f.UncompressedSize64, f.Modified.UTC().Format(time.RFC3339))
	}
	b.WriteString("==== " + manifestName + "\n")
	b.Write(p.json)
	return b.String()
}

// event finds the manifest event with the custom field onrecord.seq = seq.
func (p *parsed) event(t testing.TB, seq uint64) event {
	t.Helper()
	for _, e := range p.manifest.Events {
		if customValue(e.Custom, "onrecord.seq") == uitoa(seq) {
			return e
		}
	}
	t.Fatalf("no event for seq %d in the manifest", seq)
	return event{}
}

func customValue(c []custom, name string) string {
	for _, x := range c {
		if x.Name == name {
			return x.Value
		}
	}
	return ""
}

// seqsIn is every journal seq a manifest names: its events' and the
// records folded into them.
func seqsIn(m manifest) []string {
	var out []string
	for _, e := range m.Events {
		for _, c := range e.Custom {
			if c.Name == "onrecord.seq" || strings.HasSuffix(c.Name, ".seq") {
				out = append(out, c.Value)
			}
		}
	}
	return out
}
