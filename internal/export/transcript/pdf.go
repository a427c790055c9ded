package transcript

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"strings"

	"codeberg.org/go-pdf/fpdf"

	"github.com/onrecord/onrecord/internal/export"
	"github.com/onrecord/onrecord/internal/thread"
)

// PDFFile is a PDF transcript written, with the Bates numbers its pages
// carry. Page numbering continues across the files of one call, so the
// next free number is Options.BatesStart plus the sum of Pages.
type PDFFile struct {
	export.File
	Pages      int
	FirstBates string
	LastBates  string
}

// WritePDF writes one PDF transcript per conversation of items into dir
// (created if missing), with the same content as WriteHTML. Every page's
// footer carries "Page N of M" and the page's own Bates number.
//
// Text is set in the embedded DejaVu Sans Condensed, which covers Latin,
// Greek, Cyrillic, Hebrew, Arabic and many symbols; a character it has no
// glyph for (emoji, CJK) is written as its code point, "[U+1F44D]", so
// nothing is lost and nothing fails. fpdf lays out right-to-left scripts
// in logical order without shaping; the HTML transcript renders them
// properly.
func WritePDF(dir string, items []export.Item, opts Options) ([]PDFFile, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("pdf transcript: %w", err)
	}
	cov, err := fontCoverage()
	if err != nil {
		return nil, fmt.Errorf("pdf transcript: %w", err)
	}
	groups, err := conversations(items)
	if err != nil {
		return nil, fmt.Errorf("pdf transcript: %w", err)
	}
	next := opts.BatesStart
	var files []PDFFile
	for i, g := range groups {
		data, pages, err := renderPDF(newView(thread.Build(g), opts), opts, cov, next)
		if err != nil {
			return files, fmt.Errorf("pdf transcript of %s %s: %w", g[0].Event.Channel, g[0].Event.Conversation, err)
		}
		name := fileName(i, g, "pdf")
		if err := writeFile(dir, name, data); err != nil {
			return files, err
		}
		files = append(files, PDFFile{
			File:  export.File{Path: name, Items: seqs(g)},
			Pages: pages, FirstBates: opts.bates(next), LastBates: opts.bates(next + pages - 1),
		})
		next += pages
	}
	return files, nil
}

// renderPDF lays the document out until its page count is known, then
// once more with "of M" and the page range filled in. Counting first
// instead of using fpdf's page-count alias keeps an alias string in a
// message body from being replaced by a number. The footer sits below the
// page-break margin, so its text cannot change the page count; the loop
// still checks.
func renderPDF(v view, opts Options, cov *coverage, first int) (data []byte, pages int, err error) {
	// fpdf indexes its tables by rune and has panicked on input it did not
	// expect; pdfText keeps such input out, and this keeps a case it
	// missed from taking the whole export process down with it.
	defer func() {
		if r := recover(); r != nil {
			data, pages, err = nil, 0, fmt.Errorf("fpdf failed: %v", r)
		}
	}()
	total := 0
	for range 3 {
		d := newPDFDoc(v, opts, cov, first, total)
		d.document()
		if err := d.f.Error(); err != nil {
			return nil, 0, fmt.Errorf("lay out: %w", err)
		}
		pages := d.f.PageCount()
		if pages == total {
			var buf bytes.Buffer
			if err := d.f.Output(&buf); err != nil {
				return nil, 0, fmt.Errorf("write: %w", err)
			}
			return buf.Bytes(), pages, nil
		}
		total = pages
	}
	return nil, 0, fmt.Errorf("page count did not settle (last %d)", total)
}

const (
	fontFamily = "dejavu"
	margin     = 15.0 // mm
	breakAt    = 20.0 // mm from the bottom: below it is the footer's
	ptToMM     = 25.4 / 72
)

type rgb struct{ r, g, b int }

var (
	black    = rgb{29, 35, 41}
	grey     = rgb{86, 97, 107}
	red      = rgb{179, 38, 30}
	brown    = rgb{138, 90, 0}
	fillOwn  = rgb{220, 241, 227}
	fillOthr = rgb{234, 238, 242}
	fillNote = rgb{247, 244, 232}
)

type pdfDoc struct {
	f     *fpdf.Fpdf
	v     view
	opts  Options
	cov   *coverage
	first int // Bates number of page 1
	total int // pages in the document; 0 while counting
	pageW float64
	pageH float64
	// filled says whether the current block has a background.
	filled bool
}

func newPDFDoc(v view, opts Options, cov *coverage, first, total int) *pdfDoc {
	f := fpdf.NewCustom(&fpdf.InitType{OrientationStr: "P", UnitStr: "mm", SizeStr: "Letter"})
	// Fixed metadata, so the same production gives the same bytes.
	now := opts.Now()
	f.SetCreationDate(now)
	f.SetModificationDate(now)
	f.SetCatalogSort(true)
	f.SetProducer("onrecord", false)
	f.SetCreator("onrecord transcript", false)
	f.SetTitle(v.Title+" – "+v.Channel+" "+v.Conversation, true)
	f.AddUTF8FontFromBytes(fontFamily, "", fontRegular)
	f.AddUTF8FontFromBytes(fontFamily, "B", fontBold)
	f.SetMargins(margin, margin, margin)
	f.SetAutoPageBreak(true, breakAt)
	f.SetCellMargin(2)
	d := &pdfDoc{f: f, v: v, opts: opts, cov: cov, first: first, total: total}
	d.pageW, d.pageH = f.GetPageSize()
	f.SetHeaderFuncMode(d.header, true)
	f.SetFooterFunc(d.footer)
	return d
}

func (d *pdfDoc) contentW() float64 { return d.pageW - 2*margin }

// header repeats what the transcript is on every page after the first,
// so a page taken out of the binder still says where it belongs.
func (d *pdfDoc) header() {
	if d.f.PageNo() == 1 {
		return
	}
	d.f.SetFont(fontFamily, "", 7.5)
	d.color(grey)
	d.f.SetXY(margin, 8)
	d.f.CellFormat(d.contentW(), 4, d.text(d.v.Title+" · "+d.v.Channel+" · "+d.v.Conversation), "", 0, "L", false, 0, "")
}

// footer carries the page's Bates number and "Page N of M".
func (d *pdfDoc) footer() {
	n := d.f.PageNo()
	y := d.pageH - 12
	d.f.SetDrawColor(200, 205, 210)
	d.f.Line(margin, y-1, d.pageW-margin, y-1)
	d.f.SetFont(fontFamily, "", 7.5)
	d.color(grey)
	d.f.SetXY(margin, y)
	d.f.CellFormat(d.contentW()/3, 5, d.text(d.v.Channel+" "+d.v.Conversation), "", 0, "L", false, 0, "")
	d.f.SetXY(margin, y)
	d.f.CellFormat(d.contentW(), 5, fmt.Sprintf("Page %d of %d", n, d.total), "", 0, "C", false, 0, "")
	d.f.SetFont(fontFamily, "B", 8)
	d.color(black)
	d.f.SetXY(margin, y)
	d.f.CellFormat(d.contentW(), 5, d.text(d.opts.bates(d.first+n-1)), "", 0, "R", false, 0, "")
}

func (d *pdfDoc) text(s string) string { return pdfText(d.cov, s) }

func (d *pdfDoc) color(c rgb) { d.f.SetTextColor(c.r, c.g, c.b) }

// band sets the column the next lines are written in; a page break inside
// a block continues in the same column.
func (d *pdfDoc) band(x, w float64) {
	d.f.SetLeftMargin(x)
	d.f.SetRightMargin(d.pageW - x - w)
	d.f.SetX(x)
}

// para writes wrapped text in the current band, on the band's fill.
func (d *pdfDoc) para(style string, size float64, c rgb, s string) {
	if s == "" {
		return
	}
	d.f.SetFont(fontFamily, style, size)
	d.color(c)
	d.f.MultiCell(0, size*ptToMM*1.35, d.text(s), "", "L", d.filled)
}

// pad adds filled space inside a block.
func (d *pdfDoc) pad(h float64) {
	d.f.CellFormat(0, h, "", "", 1, "L", d.filled, 0, "")
}

func (d *pdfDoc) setFill(c rgb) {
	d.filled = true
	d.f.SetFillColor(c.r, c.g, c.b)
}

func (d *pdfDoc) noFill() { d.filled = false }

// need starts a new page unless h mm are left, so that a block does not
// begin with its heading alone at the foot of a page.
func (d *pdfDoc) need(h float64) {
	if d.f.GetY()+h > d.pageH-breakAt {
		d.f.AddPage()
	}
}

func (d *pdfDoc) document() {
	d.f.AddPage()
	d.cover()
	for _, e := range d.v.Entries {
		d.entry(e)
	}
	d.band(margin, d.contentW())
	d.noFill()
	d.f.Ln(4)
	d.para("", 8, grey, fmt.Sprintf("End of transcript · %d records · %s", d.v.Records, cmp.Or(d.v.RecordBates, "no Bates numbers assigned")))
}

// cover is the first page's header: what the transcript covers and who
// took part.
func (d *pdfDoc) cover() {
	v := d.v
	d.band(margin, d.contentW())
	d.para("B", 16, black, v.Title)
	d.f.Ln(2)
	pages := fmt.Sprintf("%s – %s (%d pages)", d.opts.bates(d.first), d.opts.bates(d.first+max(d.total, 1)-1), d.total)
	records := fmt.Sprint(v.Records)
	if v.Orphans > 0 {
		records += fmt.Sprintf(" (%d about messages not in this production)", v.Orphans)
	}
	facts := [][2]string{
		{"Channel", v.Channel},
		{"Conversation", v.Conversation},
		{"Group", v.GroupName},
		{"Period", v.Period},
		{"Records", records},
		{"Production range", cmp.Or(v.RecordBates, "none assigned")},
		{"Pages", pages},
		{"Time zone", "All times in " + v.Zone},
		{"Produced", v.Generated},
	}
	const labelW = 34.0
	for _, fct := range facts {
		if fct[1] == "" {
			continue
		}
		y := d.f.GetY()
		d.band(margin, labelW)
		d.para("B", 9, grey, fct[0])
		d.f.SetY(y)
		d.band(margin+labelW, d.contentW()-labelW)
		d.para("", 9, black, fct[1])
	}
	d.band(margin, d.contentW())
	d.f.Ln(3)
	d.para("B", 11, black, "Participants")
	for _, p := range v.Participants {
		d.need(12)
		name := p.ID
		if p.Name != "" {
			name = p.Name + " (" + p.ID + ")"
		}
		side := "other party"
		if p.Organisation {
			side = "organisation"
		}
		d.para("B", 9, black, name)
		d.para("", 8, grey, fmt.Sprintf("%s · first seen %s · last seen %s", side, p.FirstSeen, p.LastSeen))
		for _, e := range p.Earlier {
			d.para("", 8, grey, "earlier: "+e)
		}
	}
	d.f.Ln(3)
	d.f.SetDrawColor(200, 205, 210)
	d.f.Line(margin, d.f.GetY(), d.pageW-margin, d.f.GetY())
	d.f.Ln(2)
}

func (d *pdfDoc) entry(e entryView) {
	cw := d.contentW()
	if e.Day != "" {
		d.need(30)
		d.band(margin, cw)
		d.noFill()
		d.f.Ln(2)
		d.f.SetFont(fontFamily, "B", 9)
		d.color(grey)
		d.f.CellFormat(0, 6, d.text(e.Day), "", 1, "C", false, 0, "")
	}
	d.need(22)
	switch e.Side {
	case "own":
		d.band(margin+0.25*cw, 0.75*cw)
		d.setFill(fillOwn)
	case "other":
		d.band(margin, 0.75*cw)
		d.setFill(fillOthr)
	default:
		d.band(margin+0.08*cw, 0.84*cw)
		d.setFill(fillNote)
	}
	d.pad(1.2)
	heading := e.Heading
	if e.To != "" {
		heading += " → " + e.To
	}
	d.para("B", 9, black, heading)
	meta := e.Time
	if e.TimeNote != "" {
		meta += " (" + e.TimeNote + ")"
	}
	d.para("", 7.5, grey, fmt.Sprintf("%s · %s · record %d", meta, cmp.Or(e.Bates, "no Bates number"), e.Seq))
	if len(e.Labels) > 0 {
		var ls []string
		for _, l := range e.Labels {
			ls = append(ls, strings.ToUpper(l.Text))
		}
		c := grey
		if hasClass(e.Labels, "deleted") {
			c = red
		} else if hasClass(e.Labels, "edited") {
			c = brown
		}
		d.para("B", 7.5, c, strings.Join(ls, " · "))
	}
	if e.Reply != nil {
		d.para("", 8, grey, "Reply: "+e.Reply.Text)
	}
	if e.Thread != nil {
		d.para("", 8, grey, "Thread: "+e.Thread.Text)
	}
	for _, n := range e.Deleted {
		d.para("B", 8, red, fmt.Sprintf("%s at %s · %s · record %d. The content below is preserved by the archive.", n.Text, n.Time, n.Bates, n.Seq))
	}
	if e.Body != "" {
		d.pad(0.8)
		d.para("", 9.5, black, e.Body)
	}
	if len(e.Versions) > 0 {
		d.section("Edit history")
		for _, n := range e.Versions {
			d.para("", 7.5, grey, fmt.Sprintf("%s · %s · %s · record %d", n.Label, n.Time, n.Bates, n.Seq))
			d.para("", 8.5, black, n.Text)
		}
	}
	if len(e.Attachments) > 0 {
		d.section("Attachments")
		for _, a := range e.Attachments {
			line := a.Name + " — " + a.Type
			if a.Size != "" {
				line += ", " + a.Size
			}
			d.para("", 8, black, line)
			if a.Ref != "" {
				d.para("", 7.5, grey, "ref "+a.Ref)
			}
			if a.Error != "" {
				d.para("B", 7.5, red, "not archived: "+a.Error)
			} else {
				d.para("", 7.5, grey, "SHA-256 "+a.SHA256)
			}
		}
	}
	if len(e.ReactionHistory) > 0 {
		d.section("Reactions")
		d.para("", 8, black, "Now: "+cmp.Or(strings.Join(e.Reactions, "; "), "none"))
		for _, n := range e.ReactionHistory {
			d.para("", 7.5, grey, fmt.Sprintf("%s · %s · %s · record %d", n.Time, n.Text, n.Bates, n.Seq))
		}
	}
	if len(e.Statuses) > 0 {
		d.section("Delivery")
		for _, s := range e.Statuses {
			c := black
			if s.Failed {
				c = red
			}
			d.para("", 8, c, s.Party+": "+s.Latest)
			for _, n := range s.Steps {
				d.para("", 7.5, grey, fmt.Sprintf("%s · %s · %s · record %d", n.Text, n.Time, n.Bates, n.Seq))
			}
		}
	}
	if len(e.Duplicates) > 0 {
		d.section("Duplicate records")
		for _, n := range e.Duplicates {
			d.para("", 7.5, grey, fmt.Sprintf("%s · %s · %s · record %d", n.Text, n.Time, n.Bates, n.Seq))
		}
	}
	if len(e.Details) > 0 {
		d.section("Details")
		for _, kv := range e.Details {
			d.para("", 7.5, grey, kv.Key+": "+kv.Value)
		}
	}
	d.pad(1.2)
	d.noFill()
	d.f.Ln(2.5)
}

func (d *pdfDoc) section(title string) {
	d.pad(1)
	d.para("B", 8, grey, title)
}

func hasClass(ls []labelView, class string) bool {
	return slices.ContainsFunc(ls, func(l labelView) bool { return l.Class == class })
}

// RenderPDF renders items (one conversation, usually one record) as one
// PDF transcript and returns it with its page count: the image of a
// document that an Opticon load file points at.
func RenderPDF(items []export.Item, opts Options) (data []byte, pages int, err error) {
	opts, err = opts.withDefaults()
	if err != nil {
		return nil, 0, fmt.Errorf("pdf transcript: %w", err)
	}
	cov, err := fontCoverage()
	if err != nil {
		return nil, 0, fmt.Errorf("pdf transcript: %w", err)
	}
	return renderPDF(newView(thread.Build(items), opts), opts, cov, opts.BatesStart)
}
