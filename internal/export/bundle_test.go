package export

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/onrecord/onrecord/verify"
	"pgregory.net/rapid"
)

// TestEncodeBundle_IsMarshalIndent keeps the hand-written bundle encoder
// byte for byte what encoding/json writes, so bundles written before and
// after it read the same and hash the same.
func TestEncodeBundle_IsMarshalIndent(t *testing.T) {
	bytesOrNil := func(max int) *rapid.Generator[[]byte] {
		return rapid.Custom(func(t *rapid.T) []byte {
			if rapid.IntRange(0, 5).Draw(t, "nil") == 0 {
				return nil
			}
			return rapid.SliceOfN(rapid.Byte(), 0, max).Draw(t, "b")
		})
	}
	record := rapid.Custom(func(t *rapid.T) verify.BundleRecord {
		r := verify.BundleRecord{Seq: rapid.Uint64().Draw(t, "seq"), Envelope: bytesOrNil(300).Draw(t, "env"),
			RecordKey: bytesOrNil(32).Draw(t, "key")}
		switch rapid.IntRange(0, 3).Draw(t, "proof") {
		case 0:
		case 1:
			r.Inclusion = [][]byte{}
		default:
			r.Inclusion = rapid.SliceOfN(bytesOrNil(32), 1, 20).Draw(t, "inclusion")
		}
		return r
	})
	rapid.Check(t, func(t *rapid.T) {
		b := verify.Bundle{Checkpoint: rapid.String().Draw(t, "cp") + "<&>\n\u2028—", VerifierKey: rapid.String().Draw(t, "vk"),
			Export: record.Draw(t, "export")}
		switch n := rapid.IntRange(-1, 600).Draw(t, "n"); {
		case n == 0:
			b.Records = []verify.BundleRecord{}
		case n > 0:
			b.Records = rapid.SliceOfN(record, n, n).Draw(t, "records")
		}
		want, err := json.MarshalIndent(&b, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		got, err := encodeBundle(&b)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, append(want, '\n')) {
			t.Fatalf("encodeBundle differs from json.MarshalIndent:\n got %q\nwant %q", got, want)
		}
	})
}

// TestEncodeManifest_IsMarshalIndent: the manifest is hashed into the log,
// so its encoding must stay exactly what encoding/json writes.
func TestEncodeManifest_IsMarshalIndent(t *testing.T) {
	str := rapid.String()
	at := rapid.Custom(func(t *rapid.T) time.Time {
		return time.Unix(rapid.Int64Range(-1e10, 1e10).Draw(t, "s"), rapid.Int64Range(0, 1e9-1).Draw(t, "ns")).UTC()
	})
	record := rapid.Custom(func(t *rapid.T) verify.ManifestRecord {
		r := verify.ManifestRecord{Seq: rapid.Uint64().Draw(t, "seq"), ID: str.Draw(t, "id"), Bates: str.Draw(t, "bates"),
			Channel: str.Draw(t, "ch"), Kind: str.Draw(t, "kind"), Conversation: str.Draw(t, "conv"), SentAt: at.Draw(t, "at"),
			Redacted: rapid.Bool().Draw(t, "red")}
		for range rapid.IntRange(0, 2).Draw(t, "atts") {
			r.Attachments = append(r.Attachments, verify.ManifestAttachment{Name: str.Draw(t, "n"), Size: rapid.Int64().Draw(t, "sz"),
				SHA256: str.Draw(t, "sha"), Error: str.Draw(t, "err")})
		}
		return r
	})
	file := rapid.Custom(func(t *rapid.T) verify.ManifestEntry {
		e := verify.ManifestEntry{Path: str.Draw(t, "p"), Size: rapid.Int64().Draw(t, "sz"), SHA256: str.Draw(t, "sha")}
		if rapid.Bool().Draw(t, "items") {
			e.Records = rapid.SliceOf(rapid.Uint64()).Draw(t, "records")
		}
		return e
	})
	withheld := rapid.Custom(func(t *rapid.T) verify.Withheld {
		return verify.Withheld{Seq: rapid.Uint64().Draw(t, "seq"), Reason: str.Draw(t, "why")}
	})
	sliceOf := func(n int, draw func(int)) {
		for i := range n {
			draw(i)
		}
	}
	rapid.Check(t, func(t *rapid.T) {
		m := verify.Manifest{Version: rapid.Int().Draw(t, "v"), Format: str.Draw(t, "f"), Query: str.Draw(t, "q"), Zone: str.Draw(t, "z"),
			ExportedBy: str.Draw(t, "by"), ExportedAt: at.Draw(t, "at"), LogOrigin: str.Draw(t, "o"),
			BatesFirst: str.Draw(t, "bf"), BatesLast: str.Draw(t, "bl"),
			Counts: verify.ManifestCounts{Records: rapid.Int().Draw(t, "cr"), Files: rapid.Int().Draw(t, "cf")}}
		if n := rapid.IntRange(-1, 700).Draw(t, "records"); n >= 0 {
			m.Records = []verify.ManifestRecord{}
			sliceOf(n, func(int) { m.Records = append(m.Records, record.Draw(t, "r")) })
		}
		if n := rapid.IntRange(-1, 3).Draw(t, "withheld"); n >= 0 {
			m.Withheld = []verify.Withheld{}
			sliceOf(n, func(int) { m.Withheld = append(m.Withheld, withheld.Draw(t, "w")) })
		}
		if n := rapid.IntRange(-1, 300).Draw(t, "files"); n >= 0 {
			m.Files = []verify.ManifestEntry{}
			sliceOf(n, func(int) { m.Files = append(m.Files, file.Draw(t, "f")) })
		}
		want, err := json.MarshalIndent(&m, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		got, err := encodeManifest(&m)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, append(want, '\n')) {
			t.Fatalf("encodeManifest differs from json.MarshalIndent:\n got %q\nwant %q", got, want)
		}
	})
}
