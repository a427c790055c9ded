package loadfile

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// writeOPT writes the Opticon image cross-reference: one line per image
// file, seven comma-separated fields,
//
//	ImageKey,Volume,Path,DocBreak,FolderBreak,BoxBreak,PageCount
//
// with DocBreak "Y" on a document's first image and PageCount there too
// (https://answercenter.ediscovery.co/litigation2/ac/cn_desktop/exporting_to_cnv.htm;
// https://docs.zylab.com/01/zylab/one/2022.html). Each document here has
// one multi-page image or PDF, so every line starts a document, as in
// those sources' multi-page PDF example. The format has no quoting, so a
// key, volume or path holding a comma or a line break is refused rather
// than written wrong. Lines end in CR LF; there is no header.
func writeOPT(w io.Writer, docs []doc, opts Options) error {
	if strings.ContainsAny(opts.Volume, ",\r\n") {
		return fmt.Errorf("volume %q holds a comma or line break, which Opticon cannot carry", opts.Volume)
	}
	var b bytes.Buffer
	for _, d := range docs {
		img, ok := opts.Images[d.it.Bates]
		if !ok || d.it.Bates == "" {
			continue
		}
		if img.Pages < 1 {
			return fmt.Errorf("image of %s has %d pages; it needs at least one", d.it.Bates, img.Pages)
		}
		path := osPath(img.Path, opts.WindowsPaths)
		for _, v := range []string{d.it.Bates, path} {
			if strings.ContainsAny(v, ",\r\n") {
				return fmt.Errorf("%q holds a comma or line break, which Opticon cannot carry", v)
			}
		}
		b.WriteString(strings.Join([]string{d.it.Bates, opts.Volume, path, "Y", "", "", strconv.Itoa(img.Pages)}, ","))
		b.WriteString("\r\n")
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("write opt: %w", err)
	}
	return nil
}
