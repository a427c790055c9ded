package export

import (
	"bytes"
	"encoding/json"
	"runtime"
	"sync"

	"github.com/onrecord/onrecord/verify"
)

// encodeManifest returns the manifest as json.MarshalIndent(m, "", "  ")
// does, byte for byte, plus a final newline; the records and files arrays,
// which are nearly all of it, are encoded on every CPU.
func encodeManifest(m *verify.Manifest) ([]byte, error) {
	head := *m
	head.Records, head.Withheld, head.Files = nil, nil, nil
	hb, err := json.MarshalIndent(&head, "", "  ")
	if err != nil {
		return nil, err
	}
	// The arrays are the last fields; withheld is left out when empty.
	tail := []byte(",\n  \"records\": null,\n  \"files\": null\n}")
	if !bytes.HasSuffix(hb, tail) {
		// The manifest's fields changed: the slow way is still right.
		b, err := json.MarshalIndent(m, "", "  ")
		return append(b, '\n'), err
	}
	records, err := indentArray(m.Records)
	if err != nil {
		return nil, err
	}
	files, err := indentArray(m.Files)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(hb)+len(records)+len(files)+256)
	out = append(out, hb[:len(hb)-len(tail)]...)
	out = append(out, ",\n  \"records\": "...)
	out = append(out, records...)
	if len(m.Withheld) > 0 {
		withheld, err := indentArray(m.Withheld)
		if err != nil {
			return nil, err
		}
		out = append(out, ",\n  \"withheld\": "...)
		out = append(out, withheld...)
	}
	out = append(out, ",\n  \"files\": "...)
	out = append(out, files...)
	return append(out, "\n}\n"...), nil
}

// indentArray is xs as a field of a top-level object in
// json.MarshalIndent(…, "", "  "), encoded in chunks on every CPU.
func indentArray[T any](xs []T) ([]byte, error) {
	switch {
	case xs == nil:
		return []byte("null"), nil
	case len(xs) == 0:
		return []byte("[]"), nil
	}
	workers := min(runtime.GOMAXPROCS(0), (len(xs)+255)/256)
	parts := make([][]byte, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lo, hi := w*len(xs)/workers, (w+1)*len(xs)/workers
			// "[" + "\n    {…},\n    {…}" + "\n  ]": keep the middle.
			b, err := json.MarshalIndent(xs[lo:hi], "  ", "  ")
			if err != nil {
				errs[w] = err
				return
			}
			parts[w] = b[1 : len(b)-len("\n  ]")]
		}()
	}
	wg.Wait()
	n := 0
	for w := range workers {
		if errs[w] != nil {
			return nil, errs[w]
		}
		n += len(parts[w]) + 1
	}
	out := make([]byte, 0, n+8)
	out = append(out, '[')
	for w, p := range parts {
		if w > 0 {
			out = append(out, ',')
		}
		out = append(out, p...)
	}
	return append(out, "\n  ]"...), nil
}
