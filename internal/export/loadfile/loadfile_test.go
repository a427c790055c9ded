package loadfile

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/xml"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/export"
	"github.com/onrecord/onrecord/internal/export/eml"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the current output")

var (
	t0  = time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)
	cet = time.FixedZone("CET", 3600)
)

func fixture() []export.Item {
	org := onrecord.Party{ID: "+15550001111", Name: "Acme Sales"}
	jose := onrecord.Party{ID: "+14155550123", Name: "José Müller"}
	wa := func(seq uint64, bates string, e onrecord.Event) export.Item {
		e.Channel, e.Conversation = "whatsapp", "+14155550123"
		if e.Direction == "" {
			e.Direction = onrecord.Inbound
		}
		if e.Sender.ID == "" {
			e.Sender = jose
			e.Recipients = []onrecord.Party{org}
		}
		e.SentAt = t0.Add(time.Duration(seq) * time.Minute)
		return export.Item{Seq: seq, Bates: bates, Event: &e}
	}
	return []export.Item{
		wa(1, "ACME-000001", onrecord.Event{ID: "r1", Kind: onrecord.KindMessage, ProviderID: "wamid.1", Body: "Hello 👋\nSecond line"}),
		wa(2, "ACME-000002", onrecord.Event{ID: "r2", Kind: onrecord.KindMessage, ProviderID: "wamid.2", ReplyTo: "wamid.1", Direction: onrecord.Outbound,
			Sender: org, Recipients: []onrecord.Party{jose, {ID: "+15550002222"}},
			Attachments: []onrecord.Attachment{{Name: "report=SUM(A1).pdf", ContentType: "application/pdf", Data: []byte("%PDF")}, {Name: "b.jpg"}}}),
		wa(3, "ACME-000003", onrecord.Event{Kind: onrecord.KindEdit, ProviderID: "wamid.1:edit", Target: "wamid.1", Body: "Hello (edited)"}),
		wa(4, "ACME-000004", onrecord.Event{Kind: onrecord.KindReaction, ProviderID: "wamid.4", Target: "wamid.2", Emoji: "👍"}),
		wa(5, "ACME-000005", onrecord.Event{Kind: onrecord.KindStatus, ProviderID: "wamid.2:read", Target: "wamid.2", Status: "read"}),
		wa(6, "ACME-000006", onrecord.Event{Kind: onrecord.KindDelete, ProviderID: "wamid.1:delete", Target: "wamid.1"}),
		{Seq: 7, Event: &onrecord.Event{Channel: "telegram", Kind: onrecord.KindUnparsed, ProviderID: "update:7", Raw: []byte("{}")}},
		{Seq: 8, Bates: "ACME-000008", Event: &onrecord.Event{
			Channel: "slack", Kind: onrecord.KindMessage, ProviderID: "C1:1.2", Direction: onrecord.Outbound,
			Conversation: "=HYPERLINK(\"http://evil\")", GroupName: "þ team\x14 «deals»\r\nline two ®",
			Sender: onrecord.Party{ID: "U1", Name: "@bob"}, SentAt: t0.Add(8 * time.Minute), Thread: "-1.2",
		}},
	}
}

// natives writes native and text files for the fixture under dir and
// returns the options that name them.
func natives(t testing.TB, dir string) Options {
	t.Helper()
	opts := Options{
		Location:  cet,
		Natives:   map[uint64]string{},
		Texts:     map[uint64]string{},
		Images:    map[string]Image{"ACME-000001": {Path: "images/ACME-000001.pdf", Pages: 2}, "ACME-000008": {Path: "images/ACME-000008.pdf", Pages: 1}},
		Volume:    "VOL001",
		Custodian: "",
	}
	for _, it := range fixture() {
		name := it.Bates
		if name == "" {
			name = "seq7"
		}
		for _, f := range []struct {
			m    map[uint64]string
			path string
		}{{opts.Natives, "natives/" + name + ".eml"}, {opts.Texts, "text/" + name + ".txt"}} {
			p := filepath.Join(dir, filepath.FromSlash(f.path))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte("content of "+f.path), 0o644); err != nil {
				t.Fatal(err)
			}
			f.m[it.Seq] = f.path
		}
	}
	return opts
}

func writeFixture(t *testing.T) (string, []export.File, Options) {
	t.Helper()
	dir := t.TempDir()
	opts := natives(t, dir)
	files, err := Write(dir, fixture(), opts)
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	return dir, files, opts
}

func TestWrite_MatchesGolden(t *testing.T) {
	dir, files, _ := writeFixture(t)
	if got := len(files); got != 4 {
		t.Fatalf("%d files, want dat, csv, xml, opt", got)
	}
	golden := filepath.Join("testdata", "golden")
	for _, f := range files {
		t.Run(f.Path, func(t *testing.T) {
			got, err := os.ReadFile(filepath.Join(dir, f.Path))
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(golden, filepath.Base(f.Path))
			if *update {
				if err := os.MkdirAll(golden, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from %s (go test -update rewrites it after review)\n got:\n%q", f.Path, path, got)
			}
		})
	}
}

func TestWrite_FilesCarryTheirItems(t *testing.T) {
	_, files, _ := writeFixture(t)
	all := []uint64{1, 2, 3, 4, 5, 6, 7, 8}
	want := map[string][]uint64{
		"loadfile/production.dat": all, "loadfile/production.csv": all, "loadfile/production.xml": all,
		"loadfile/production.opt": {1, 8},
	}
	for _, f := range files {
		if !slices.Equal(f.Items, want[f.Path]) {
			t.Errorf("%s carries %v, want %v", f.Path, f.Items, want[f.Path])
		}
	}
}

func TestWrite_DATReadsBackEveryItem(t *testing.T) {
	dir, _, opts := writeFixture(t)
	f, err := os.Open(filepath.Join(dir, "loadfile", "production.dat"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	header, rows, err := ReadDAT(f)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(header, Fields) {
		t.Fatalf("header %q", header)
	}
	items := fixture()
	if len(rows) != len(items) {
		t.Fatalf("%d rows for %d items", len(rows), len(items))
	}
	col := func(row []string, name string) string { return row[slices.Index(Fields, name)] }
	for i, it := range items {
		r, e := rows[i], it.Event
		native, _ := os.ReadFile(filepath.Join(dir, opts.Natives[it.Seq]))
		sh := sha256.Sum256(native)
		for name, want := range map[string]string{
			"BEGBATES": it.Bates, "ENDBATES": it.Bates, "SEQ": itoa(it.Seq),
			"CHANNEL": e.Channel, "CONVERSATION": e.Conversation, "GROUPNAME": Canonical(e.GroupName),
			"KIND": string(e.Kind), "PROVIDERID": e.ProviderID, "TARGET": e.Target,
			"NATIVEPATH": opts.Natives[it.Seq], "TEXTPATH": opts.Texts[it.Seq],
			"SHA256HASH": hex.EncodeToString(sh[:]),
			"FILESIZE":   itoa(uint64(len(native))),
		} {
			if got := col(r, name); got != want {
				t.Errorf("seq %d %s = %q, want %q", it.Seq, name, got, want)
			}
		}
		wantAttach := ""
		if len(e.Attachments) > 0 {
			wantAttach = it.Bates
		}
		if col(r, "BEGATTACH") != wantAttach || col(r, "ENDATTACH") != wantAttach {
			t.Errorf("seq %d attach range %q-%q, want %q", it.Seq, col(r, "BEGATTACH"), col(r, "ENDATTACH"), wantAttach)
		}
		if !e.SentAt.IsZero() {
			lt := e.SentAt.In(cet)
			if col(r, "SENTDATE") != lt.Format("01/02/2006") || col(r, "SENTTIME") != lt.Format("15:04:05") || col(r, "TIMEZONE") != "CET (UTC+01:00)" {
				t.Errorf("seq %d sent %q %q %q", it.Seq, col(r, "SENTDATE"), col(r, "SENTTIME"), col(r, "TIMEZONE"))
			}
		}
	}
	if got := col(rows[1], "TO"); got != "José Müller <+14155550123>; +15550002222" {
		t.Errorf("TO = %q", got)
	}
	if got := col(rows[0], "CUSTODIAN"); got != "Acme Sales <+15550001111>" {
		t.Errorf("inbound CUSTODIAN = %q, want the organisation's recipient", got)
	}
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

func TestWrite_EDRMParsesAndLinksEventsToOriginals(t *testing.T) {
	dir, _, opts := writeFixture(t)
	raw, err := os.ReadFile(filepath.Join(dir, "loadfile", "production.xml"))
	if err != nil {
		t.Fatal(err)
	}
	// Independent of our structs: every element is one the schema names.
	allowed := map[string]bool{"Root": true, "Batch": true, "Documents": true, "Document": true, "Files": true, "File": true,
		"ExternalFile": true, "Locations": true, "Location": true, "Custodian": true, "Tags": true, "Tag": true,
		"Relationships": true, "Relationship": true}
	d := xml.NewDecoder(bytes.NewReader(raw))
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("encoding/xml: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && !allowed[se.Name.Local] {
			t.Errorf("element %s is not in EDRM XML 1.2", se.Name.Local)
		}
	}

	var root struct {
		XMLName      xml.Name `xml:"Root"`
		MajorVersion string   `xml:"MajorVersion,attr"`
		MinorVersion string   `xml:"MinorVersion,attr"`
		Documents    []struct {
			DocID string `xml:"DocID,attr"`
			Files []struct {
				FileType string `xml:"FileType,attr"`
				External struct {
					FilePath string `xml:"FilePath,attr"`
					FileName string `xml:"FileName,attr"`
					Hash     string `xml:"Hash,attr"`
				} `xml:"ExternalFile"`
			} `xml:"Files>File"`
			Custodian []string `xml:"Locations>Location>Custodian"`
			Tags      []struct {
				Name  string `xml:"TagName,attr"`
				Type  string `xml:"TagDataType,attr"`
				Value string `xml:"TagValue,attr"`
			} `xml:"Tags>Tag"`
		} `xml:"Batch>Documents>Document"`
		Relationships []struct {
			Type   string `xml:"Type,attr"`
			Parent string `xml:"ParentDocId,attr"`
			Child  string `xml:"ChildDocId,attr"`
		} `xml:"Batch>Relationships>Relationship"`
	}
	if err := xml.Unmarshal(raw, &root); err != nil {
		t.Fatal(err)
	}
	if root.MajorVersion != "1" || root.MinorVersion != "2" {
		t.Errorf("version %s.%s", root.MajorVersion, root.MinorVersion)
	}
	items := fixture()
	if len(root.Documents) != len(items) {
		t.Fatalf("%d documents for %d items", len(root.Documents), len(items))
	}
	for i, it := range items {
		doc := root.Documents[i]
		wantID := it.Bates
		if wantID == "" {
			wantID = "SEQ-7"
		}
		if doc.DocID != wantID {
			t.Errorf("document %d DocID %q, want %q", i, doc.DocID, wantID)
		}
		if len(doc.Files) == 0 || doc.Files[0].FileType != "Native" {
			t.Fatalf("document %s files %+v", doc.DocID, doc.Files)
		}
		native, _ := os.ReadFile(filepath.Join(dir, opts.Natives[it.Seq]))
		sum := sha256.Sum256(native)
		ext := doc.Files[0].External
		if ext.FilePath+"/"+ext.FileName != opts.Natives[it.Seq] || ext.Hash != hex.EncodeToString(sum[:]) {
			t.Errorf("document %s native %+v", doc.DocID, ext)
		}
		tags := map[string]string{}
		for _, tg := range doc.Tags {
			tags[tg.Name] = tg.Value
		}
		if tags["PROVIDERID"] != it.Event.ProviderID || tags["SEQ"] != itoa(it.Seq) {
			t.Errorf("document %s tags %v", doc.DocID, tags)
		}
		if !it.Event.SentAt.IsZero() && tags["#DateSent"] != it.Event.SentAt.UTC().Format(time.RFC3339) {
			t.Errorf("document %s #DateSent %q", doc.DocID, tags["#DateSent"])
		}
	}
	type rel struct{ typ, parent, child string }
	var got []rel
	for _, r := range root.Relationships {
		got = append(got, rel{r.Type, r.Parent, r.Child})
	}
	want := []rel{
		{"Reply", "ACME-000001", "ACME-000002"},
		{"Edit", "ACME-000001", "ACME-000003"},
		{"Reaction", "ACME-000002", "ACME-000004"},
		{"Status", "ACME-000002", "ACME-000005"},
		{"Delete", "ACME-000001", "ACME-000006"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("relationships %v\nwant %v", got, want)
	}
}

func TestEscapeCell_PrefixesFormulaStarts(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"=SUM(A1:A2)", "'=SUM(A1:A2)"},
		{"+14155550123", "'+14155550123"},
		{"-1+1", "'-1+1"},
		{"@SUM(1)", "'@SUM(1)"},
		{"\t=1", "'\t=1"},
		{"\r=1", "'\r=1"},
		{"", ""},
		{"plain", "plain"},
		{"a=1", "a=1"},
		{" =1", " =1"},
		{"'already", "'already"},
	} {
		if got := EscapeCell(tc.in); got != tc.want {
			t.Errorf("EscapeCell(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestWrite_CSVIsRFC4180AndDefused(t *testing.T) {
	dir, _, _ := writeFixture(t)
	raw, err := os.ReadFile(filepath.Join(dir, "loadfile", "production.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(raw, []byte(bom)) {
		t.Error("no BOM")
	}
	recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(raw, []byte(bom)))).ReadAll()
	if err != nil {
		t.Fatalf("encoding/csv: %v", err)
	}
	if !slices.Equal(recs[0], Fields) {
		t.Errorf("header %q", recs[0])
	}
	for _, r := range recs {
		for _, c := range r {
			if c != "" && strings.IndexByte(formulaStarts, c[0]) >= 0 {
				t.Errorf("cell %q would run as a formula", c)
			}
		}
	}
	col := func(row []string, name string) string { return row[slices.Index(Fields, name)] }
	slack := recs[8]
	if got := col(slack, "CONVERSATION"); got != `'=HYPERLINK("http://evil")` {
		t.Errorf("CONVERSATION = %q", got)
	}
	if got := col(slack, "FROM"); got != "'@bob <U1>" {
		t.Errorf("FROM = %q", got)
	}
	if got := col(slack, "THREAD"); got != "'-1.2" {
		t.Errorf("THREAD = %q", got)
	}
	if got := col(slack, "GROUPNAME"); got != "þ team\x14 «deals»\nline two ®" {
		t.Errorf("GROUPNAME = %q (line breaks and other characters must survive CSV)", got)
	}
	if got := col(recs[1], "CONVERSATION"); got != "'+14155550123" {
		t.Errorf("phone number = %q", got)
	}
	if got := col(recs[2], "ATTACHMENTS"); got != "report=SUM(A1).pdf; b.jpg" {
		t.Errorf("ATTACHMENTS = %q (an inner = is harmless)", got)
	}
}

func TestWrite_OPTHasOneLinePerImageFile(t *testing.T) {
	dir, _, _ := writeFixture(t)
	raw, err := os.ReadFile(filepath.Join(dir, "loadfile", "production.opt"))
	if err != nil {
		t.Fatal(err)
	}
	want := "ACME-000001,VOL001,images/ACME-000001.pdf,Y,,,2\r\nACME-000008,VOL001,images/ACME-000008.pdf,Y,,,1\r\n"
	if string(raw) != want {
		t.Errorf("got %q\nwant %q", raw, want)
	}
	dir2 := t.TempDir()
	opts := natives(t, dir2)
	opts.WindowsPaths = true
	if _, err := Write(dir2, fixture(), opts); err != nil {
		t.Fatal(err)
	}
	raw, _ = os.ReadFile(filepath.Join(dir2, "loadfile", "production.opt"))
	if !strings.Contains(string(raw), `images\ACME-000001.pdf`) {
		t.Errorf("WindowsPaths: %q", raw)
	}
	raw, _ = os.ReadFile(filepath.Join(dir2, "loadfile", "production.dat"))
	if !strings.Contains(string(raw), `natives\ACME-000001.eml`) {
		t.Error("WindowsPaths not applied to the DAT")
	}
}

func TestWrite_Refuses(t *testing.T) {
	e := &onrecord.Event{Channel: "sms", Kind: onrecord.KindMessage, ProviderID: "p", SentAt: t0}
	for _, tc := range []struct {
		name  string
		items []export.Item
		opts  func(*Options)
		want  string
	}{
		{"no event", []export.Item{{Seq: 1}}, nil, "has no event"},
		{"duplicate seq", []export.Item{{Seq: 1, Event: e}, {Seq: 1, Event: e}}, nil, "appears twice"},
		{"duplicate bates", []export.Item{{Seq: 1, Bates: "A", Event: e}, {Seq: 2, Bates: "A", Event: e}}, nil, "share Bates"},
		{"native for unknown seq", []export.Item{{Seq: 1, Event: e}}, func(o *Options) { o.Natives = map[uint64]string{9: "n/9.eml"} }, "not in the production"},
		{"native outside", []export.Item{{Seq: 1, Event: e}}, func(o *Options) { o.Natives = map[uint64]string{1: "../x.eml"} }, "inside the export directory"},
		{"absolute native", []export.Item{{Seq: 1, Event: e}}, func(o *Options) { o.Natives = map[uint64]string{1: "/etc/passwd"} }, "inside the export directory"},
		{"backslash native", []export.Item{{Seq: 1, Event: e}}, func(o *Options) { o.Natives = map[uint64]string{1: `n\1.eml`} }, "slash-separated"},
		{"missing native", []export.Item{{Seq: 1, Event: e}}, func(o *Options) { o.Natives = map[uint64]string{1: "n/1.eml"} }, "open"},
		{"text outside", []export.Item{{Seq: 1, Event: e}}, func(o *Options) { o.Texts = map[uint64]string{1: "../t"} }, "text file"},
		{"image for unknown bates", []export.Item{{Seq: 1, Bates: "A", Event: e}}, func(o *Options) { o.Images = map[string]Image{"B": {Path: "i/B.pdf", Pages: 1}} }, "not in the production"},
		{"image without pages", []export.Item{{Seq: 1, Bates: "A", Event: e}}, func(o *Options) { o.Images = map[string]Image{"A": {Path: "i/A.pdf"}} }, "at least one"},
		{"comma in image path", []export.Item{{Seq: 1, Bates: "A", Event: e}}, func(o *Options) { o.Images = map[string]Image{"A": {Path: "i/A,1.pdf", Pages: 1}} }, "Opticon cannot carry"},
		{"comma in bates", []export.Item{{Seq: 1, Bates: "A,1", Event: e}}, func(o *Options) { o.Images = map[string]Image{"A,1": {Path: "i/A.pdf", Pages: 1}} }, "Opticon cannot carry"},
		{"comma in volume", []export.Item{{Seq: 1, Bates: "A", Event: e}}, func(o *Options) {
			o.Images, o.Volume = map[string]Image{"A": {Path: "i/A.pdf", Pages: 1}}, "V,1"
		}, "Opticon cannot carry"},
		{"bad name", []export.Item{{Seq: 1, Event: e}}, func(o *Options) { o.Name = "../x" }, "plain file name"},
		{"invalid utf-8", []export.Item{{Seq: 1, Event: &onrecord.Event{Channel: "sms", Kind: onrecord.KindMessage, ProviderID: "p\xff"}}}, nil, "not valid UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var opts Options
			if tc.opts != nil {
				tc.opts(&opts)
			}
			_, err := Write(dir, tc.items, opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if _, err := os.Stat(filepath.Join(dir, Dir)); !os.IsNotExist(err) {
				t.Errorf("a refused production left %s behind", Dir)
			}
		})
	}
}

func TestWrite_IsDeterministic(t *testing.T) {
	dir1, files, _ := writeFixture(t)
	dir2, _, _ := writeFixture(t)
	for _, f := range files {
		a, _ := os.ReadFile(filepath.Join(dir1, f.Path))
		b, _ := os.ReadFile(filepath.Join(dir2, f.Path))
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between two runs", f.Path)
		}
	}
}

func TestPathsOf_MapsItemsToTheirFile(t *testing.T) {
	got, err := PathsOf([]export.File{{Path: "eml/A-1.eml", Items: []uint64{1}}, {Path: "eml/A-2.eml", Items: []uint64{2, 3}}})
	if err != nil {
		t.Fatal(err)
	}
	if want := map[uint64]string{1: "eml/A-1.eml", 2: "eml/A-2.eml", 3: "eml/A-2.eml"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if _, err := PathsOf([]export.File{{Path: "a", Items: []uint64{1}}, {Path: "b", Items: []uint64{1}}}); err == nil {
		t.Error("an item in two files was accepted")
	}
}

func TestWrite_LoadsTheEMLWriterNatives(t *testing.T) {
	dir := t.TempDir()
	items := fixture()
	emls, err := eml.Write(dir, items, eml.Options{})
	if err != nil {
		t.Fatal(err)
	}
	natives, err := PathsOf(emls)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Write(dir, items, Options{Natives: natives}); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, Dir, "production.dat"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, rows, err := ReadDAT(f)
	if err != nil {
		t.Fatal(err)
	}
	for i, it := range items {
		b, err := os.ReadFile(filepath.Join(dir, natives[it.Seq]))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		if got := rows[i][slices.Index(Fields, "SHA256HASH")]; got != hex.EncodeToString(sum[:]) {
			t.Errorf("seq %d SHA256HASH %s does not match %s", it.Seq, got, natives[it.Seq])
		}
	}
}
