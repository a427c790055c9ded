package export

import (
	"encoding/base64"
	"encoding/json"
	"runtime"
	"strconv"
	"sync"

	"github.com/onrecord/onrecord/verify"
)

// encodeBundle returns the proof bundle as json.MarshalIndent(b, "", "  ")
// does, byte for byte, plus a final newline. The bundle is most of a raw
// export's bytes (every envelope and proof, in base64), and marshalling
// then indenting it took longer than everything else the export does with
// it; here the records are written directly, on every CPU, each into its
// place in one buffer of the exact size.
func encodeBundle(b *verify.Bundle) ([]byte, error) {
	checkpoint, err := json.Marshal(b.Checkpoint)
	if err != nil {
		return nil, err
	}
	vkey, err := json.Marshal(b.VerifierKey)
	if err != nil {
		return nil, err
	}
	const itemIndent = "    "
	rs := b.Records
	// Where each record starts in the records array: ",\n    {…}".
	offs := make([]int, len(rs)+1)
	for i := range rs {
		offs[i+1] = offs[i] + len(",\n"+itemIndent) + recordLen(&rs[i], itemIndent)
	}
	arrayLen := len("null")
	if rs != nil {
		arrayLen = len("[]")
		if len(rs) > 0 {
			arrayLen = len("[") + offs[len(rs)] - 1 + len("\n  ]")
		}
	}
	out := make([]byte, 0, 128+len(checkpoint)+len(vkey)+arrayLen+recordLen(&b.Export, "  "))
	out = append(out, "{\n  \"checkpoint\": "...)
	out = append(out, checkpoint...)
	out = append(out, ",\n  \"verifier_key\": "...)
	out = append(out, vkey...)
	out = append(out, ",\n  \"records\": "...)
	switch {
	case rs == nil:
		out = append(out, "null"...)
	case len(rs) == 0:
		out = append(out, "[]"...)
	default:
		out = append(out, '[')
		// Record i goes at base+offs[i], less the comma the first has not.
		base := len(out) - 1
		out = out[:base+1+offs[len(rs)]-1]
		workers := min(runtime.GOMAXPROCS(0), (len(rs)+255)/256)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w * len(rs) / workers; i < (w+1)*len(rs)/workers; i++ {
					start, end := base+offs[i], base+offs[i+1]
					if i == 0 {
						start++
					}
					p := out[start:start:end]
					if i > 0 {
						p = append(p, ',')
					}
					p = append(p, "\n"+itemIndent...)
					appendBundleRecord(p, &rs[i], itemIndent)
				}
			}()
		}
		wg.Wait()
		out = append(out, "\n  ]"...)
	}
	out = append(out, ",\n  \"export_record\": "...)
	out = appendBundleRecord(out, &b.Export, "  ")
	return append(out, "\n}\n"...), nil
}

// recordLen is the length appendBundleRecord gives r at indent.
func recordLen(r *verify.BundleRecord, indent string) int {
	in := len(indent) + 2
	var digits [20]byte
	n := len("{\n") +
		in + len(`"seq": `) + len(strconv.AppendUint(digits[:0], r.Seq, 10)) + len(",\n") +
		in + len(`"envelope": `) + bytesLen(r.Envelope) + len(",\n") +
		in + len(`"record_key": `) + bytesLen(r.RecordKey) + len(",\n") +
		in + len(`"inclusion": `) + len("\n") + len(indent) + len("}")
	switch {
	case r.Inclusion == nil:
		n += len("null")
	case len(r.Inclusion) == 0:
		n += len("[]")
	default:
		n += len("[") + len(r.Inclusion) - 1 + len("\n") + in + len("]")
		for _, h := range r.Inclusion {
			n += len("\n") + in + 2 + bytesLen(h)
		}
	}
	return n
}

// bytesLen is the length appendBytes gives data.
func bytesLen(data []byte) int {
	if data == nil {
		return len("null")
	}
	return 2 + base64.StdEncoding.EncodedLen(len(data))
}

// appendBundleRecord appends one record object whose opening brace is at
// the given indentation.
func appendBundleRecord(b []byte, r *verify.BundleRecord, indent string) []byte {
	in := indent + "  "
	b = append(b, "{\n"...)
	b = append(b, in...)
	b = append(b, "\"seq\": "...)
	b = strconv.AppendUint(b, r.Seq, 10)
	b = append(b, ",\n"...)
	b = append(b, in...)
	b = append(b, "\"envelope\": "...)
	b = appendBytes(b, r.Envelope)
	b = append(b, ",\n"...)
	b = append(b, in...)
	b = append(b, "\"record_key\": "...)
	b = appendBytes(b, r.RecordKey)
	b = append(b, ",\n"...)
	b = append(b, in...)
	b = append(b, "\"inclusion\": "...)
	switch {
	case r.Inclusion == nil:
		b = append(b, "null"...)
	case len(r.Inclusion) == 0:
		b = append(b, "[]"...)
	default:
		b = append(b, '[')
		for i, h := range r.Inclusion {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '\n')
			b = append(b, in...)
			b = append(b, "  "...)
			b = appendBytes(b, h)
		}
		b = append(b, '\n')
		b = append(b, in...)
		b = append(b, ']')
	}
	b = append(b, '\n')
	b = append(b, indent...)
	return append(b, '}')
}

// appendBytes appends a []byte as encoding/json does: base64 in a string,
// or null for nil.
func appendBytes(b, data []byte) []byte {
	if data == nil {
		return append(b, "null"...)
	}
	b = append(b, '"')
	b = base64.StdEncoding.AppendEncode(b, data)
	return append(b, '"')
}
