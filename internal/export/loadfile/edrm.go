package loadfile

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"github.com/onrecord/onrecord"
)

// EDRM XML 1.2 (schema documentation "EDRM XML Interchange Format",
// XSD version 1.2 of 31 Oct 2010). Element names and their order follow
// that document's structure: Root (MajorVersion, MinorVersion,
// Description, Locale, DataInterchangeType) > Batch > Documents >
// Document (DocID, DocType, MimeType) > Files > File (FileType) >
// ExternalFile (FilePath, FileName, FileSize, Hash, HashType); then
// Locations > Location > Custodian; then Tags > Tag (TagName,
// TagDataType, TagValue); and Batch > Relationships > Relationship
// (Type, ParentDocId, ChildDocId). Attribute spellings were checked against
// two public writers of the format (Nuix's nuix_nli_lib for 1.2, and
// process-pst). The schema leaves Relationship Type open; ours are
// Reply, Edit, Delete, Reaction and Status, from the event's ReplyTo and
// Target.

type edrmRoot struct {
	XMLName             xml.Name  `xml:"Root"`
	MajorVersion        string    `xml:"MajorVersion,attr"`
	MinorVersion        string    `xml:"MinorVersion,attr"`
	Description         string    `xml:"Description,attr"`
	Locale              string    `xml:"Locale,attr"`
	DataInterchangeType string    `xml:"DataInterchangeType,attr"`
	Batch               edrmBatch `xml:"Batch"`
}

type edrmBatch struct {
	Documents     []edrmDocument     `xml:"Documents>Document"`
	Relationships []edrmRelationship `xml:"Relationships>Relationship"`
}

type edrmDocument struct {
	DocID     string         `xml:"DocID,attr"`
	DocType   string         `xml:"DocType,attr"`
	MimeType  string         `xml:"MimeType,attr,omitempty"`
	Files     []edrmFile     `xml:"Files>File"`
	Locations []edrmLocation `xml:"Locations>Location"`
	Tags      []edrmTag      `xml:"Tags>Tag"`
}

type edrmFile struct {
	FileType     string           `xml:"FileType,attr"`
	ExternalFile edrmExternalFile `xml:"ExternalFile"`
}

type edrmExternalFile struct {
	FilePath string `xml:"FilePath,attr"`
	FileName string `xml:"FileName,attr"`
	FileSize string `xml:"FileSize,attr,omitempty"`
	Hash     string `xml:"Hash,attr,omitempty"`
	HashType string `xml:"HashType,attr,omitempty"`
}

type edrmLocation struct {
	Custodian string `xml:"Custodian"`
}

type edrmTag struct {
	TagName     string `xml:"TagName,attr"`
	TagDataType string `xml:"TagDataType,attr"`
	TagValue    string `xml:"TagValue,attr"`
}

type edrmRelationship struct {
	Type        string `xml:"Type,attr"`
	ParentDocID string `xml:"ParentDocId,attr"`
	ChildDocID  string `xml:"ChildDocId,attr"`
}

// mimeTypes maps the natives onrecord's writers produce to their media
// types; a fixed table, because mime.TypeByExtension reads the host's
// tables and would make output differ between machines.
var mimeTypes = map[string]string{
	".eml":   "message/rfc822",
	".json":  "application/json",
	".jsonl": "application/jsonl",
	".html":  "text/html",
	".htm":   "text/html",
	".pdf":   "application/pdf",
	".txt":   "text/plain",
	".xml":   "application/xml",
}

// writeEDRM writes the EDRM XML load file. XML 1.0 cannot hold most
// control characters even escaped; encoding/xml writes U+FFFD for them, so
// such a value (an id holding DC4, say) is exact in the DAT but not here.
func writeEDRM(w io.Writer, docs []doc, opts Options) error {
	root := edrmRoot{
		MajorVersion: "1", MinorVersion: "2",
		Description:         "onrecord production",
		Locale:              "US", // as Nuix's 1.2 writer gives it
		DataInterchangeType: "Update",
	}
	// An edit's Target is the original's provider id; the original's
	// record is preferably its message, whatever else shares the id.
	byProvider := map[string]string{}
	isMsg := map[string]bool{}
	for _, d := range docs {
		e := d.it.Event
		k := e.Channel + "\x00" + e.ProviderID
		if _, ok := byProvider[k]; !ok || (e.Kind == onrecord.KindMessage && !isMsg[k]) {
			byProvider[k] = d.id
			isMsg[k] = e.Kind == onrecord.KindMessage
		}
	}
	for _, d := range docs {
		e := d.it.Event
		doc := edrmDocument{DocID: d.id, DocType: "Message"}
		if d.native.hasNative {
			dirPart, file := path.Split(d.native.path)
			doc.MimeType = mimeTypes[strings.ToLower(path.Ext(file))]
			doc.Files = append(doc.Files, edrmFile{FileType: "Native", ExternalFile: edrmExternalFile{
				FilePath: osPath(strings.TrimSuffix(dirPart, "/"), opts.WindowsPaths), FileName: file,
				FileSize: fmt.Sprint(d.native.size), Hash: d.native.sha, HashType: "SHA256",
			}})
		}
		if d.text != "" {
			dirPart, file := path.Split(d.text)
			doc.Files = append(doc.Files, edrmFile{FileType: "Text", ExternalFile: edrmExternalFile{
				FilePath: osPath(strings.TrimSuffix(dirPart, "/"), opts.WindowsPaths), FileName: file,
			}})
		}
		if img, ok := opts.Images[d.it.Bates]; ok && d.it.Bates != "" {
			dirPart, file := path.Split(img.Path)
			doc.Files = append(doc.Files, edrmFile{FileType: "Image", ExternalFile: edrmExternalFile{
				FilePath: osPath(strings.TrimSuffix(dirPart, "/"), opts.WindowsPaths), FileName: file,
			}})
		}
		if c := custodian(e, opts.Custodian); c != "" {
			doc.Locations = []edrmLocation{{Custodian: c}}
		}
		doc.Tags = tags(d)
		root.Batch.Documents = append(root.Batch.Documents, doc)

		link := func(typ, providerID string) {
			if providerID == "" {
				return
			}
			if parent, ok := byProvider[e.Channel+"\x00"+providerID]; ok && parent != d.id {
				root.Batch.Relationships = append(root.Batch.Relationships, edrmRelationship{Type: typ, ParentDocID: parent, ChildDocID: d.id})
			}
		}
		link("Reply", e.ReplyTo)
		switch e.Kind {
		case onrecord.KindEdit:
			link("Edit", e.Target)
		case onrecord.KindDelete:
			link("Delete", e.Target)
		case onrecord.KindReaction:
			link("Reaction", e.Target)
		case onrecord.KindStatus:
			link("Status", e.Target)
		}
	}
	var b bytes.Buffer
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	enc.Indent("", "  ")
	if err := enc.Encode(root); err != nil {
		return fmt.Errorf("edrm xml: %w", err)
	}
	b.WriteString("\n")
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("write edrm xml: %w", err)
	}
	return nil
}

// tags are the document's metadata: the EDRM names for what EDRM defines
// (#From, #To, #DateSent, a UTC ISO 8601 DateTime), then every other
// non-empty DAT field under its DAT name, so both files read alike.
func tags(d doc) []edrmTag {
	e := d.it.Event
	var ts []edrmTag
	add := func(name, typ, v string) {
		if v != "" {
			ts = append(ts, edrmTag{TagName: name, TagDataType: typ, TagValue: v})
		}
	}
	var to []string
	for _, p := range e.Recipients {
		to = append(to, party(p))
	}
	add("#From", "Text", party(e.Sender))
	add("#To", "Text", strings.Join(to, "; "))
	if !e.SentAt.IsZero() {
		add("#DateSent", "DateTime", e.SentAt.UTC().Format(time.RFC3339))
	}
	for i, f := range Fields {
		switch f {
		case "FROM", "TO", "SENTDATE", "SENTTIME", "TIMEZONE", "NATIVEPATH", "TEXTPATH":
			continue // said above, or in Files
		case "SEQ", "FILESIZE":
			add(f, "LongInteger", d.row[i])
		default:
			add(f, "Text", d.row[i])
		}
	}
	return ts
}
