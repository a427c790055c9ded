package redact

import (
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/onrecord/onrecord"
)

// notRedacted are the text fields of an event that redaction leaves
// alone, each for a reason: what the archive assigns or names itself, a
// fixed vocabulary, or what a production never carries (blob addresses and
// keys are dropped or the blob put back in its place before redaction).
// A field missing from both this list and fieldsOf fails
// TestFieldsOf_CoversEveryTextField.
var notRedacted = map[string]string{
	"id":                    "the archive's record id",
	"channel":               "the configured channel name",
	"kind":                  "fixed vocabulary",
	"direction":             "fixed vocabulary",
	"retention_class":       "the configured class name",
	"capture.flags":         "fixed vocabulary",
	"attachments.blob":      "a blob address; dropped from productions",
	"attachments.sha256":    "a digest; withheld files lose it",
	"body_blob.*":           "put back in body before redaction",
	"raw_blob.*":            "put back in raw before redaction",
	"recipients_blob.*":     "put back in recipients before redaction",
	"capture.roster_blob.*": "put back in capture.roster before redaction",
}

// TestFieldsOf_CoversEveryTextField walks onrecord.Event by reflection:
// every string it holds (in nested parties, attachments, the capture and
// its roster, meta) is either a field redaction reads (fieldsOf) or named
// in notRedacted with its reason. A field added to the event without
// either would be carried whole by a redacted JSONL production, as the
// roster was until this test's session.
func TestFieldsOf_CoversEveryTextField(t *testing.T) {
	var ev onrecord.Event
	fill(reflect.ValueOf(&ev).Elem())
	covered := map[string]bool{}
	index := regexp.MustCompile(`\[\d+\]`)
	for _, f := range fieldsOf(&ev) {
		name := index.ReplaceAllString(f.name, "")
		if strings.HasPrefix(name, "meta.") || strings.HasPrefix(name, "meta-key.") {
			name = "meta"
		}
		covered[name] = true
	}
	for _, path := range textPaths(reflect.TypeOf(ev), "") {
		blobField := false
		for k := range notRedacted {
			if p, ok := strings.CutSuffix(k, ".*"); ok && strings.HasPrefix(path, p+".") {
				blobField = true
			}
		}
		if !covered[path] && notRedacted[path] == "" && !blobField {
			t.Errorf("%s: a text field of the event that redaction neither reads (fieldsOf) nor names in notRedacted", path)
		}
		if covered[path] && notRedacted[path] != "" {
			t.Errorf("%s: both redacted and listed as not redacted", path)
		}
	}
}

// textPaths lists the JSON paths of the strings a value of type t holds,
// without slice indexes ("recipients.name"); a map of strings is its path.
func textPaths(t reflect.Type, prefix string) []string {
	var out []string
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return nil // bytes: raw payloads and files, withheld whole
		}
		return textPaths(t.Elem(), prefix)
	case reflect.Map:
		return []string{prefix}
	case reflect.String:
		return []string{prefix}
	case reflect.Struct:
		if t == reflect.TypeOf(time.Time{}) {
			return nil
		}
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" || !f.IsExported() {
				continue
			}
			if prefix != "" {
				name = prefix + "." + name
			}
			out = append(out, textPaths(f.Type, name)...)
		}
	}
	return out
}

// fill sets every string in v to some text, every slice to one element and
// every pointer to a value, so that fieldsOf lists every field it reads.
func fill(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		v.SetString("text")
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem())
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return
		}
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(v.Index(0))
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		v.SetMapIndex(reflect.ValueOf("key"), reflect.ValueOf("text"))
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i))
			}
		}
	}
}
