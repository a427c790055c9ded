// Package jsonl writes the canonical events of an export one JSON object
// per line: the format `onrecord import` reads, so that a production
// re-imports into another instance with the same content. Attachments
// travel inline (data_base64) with their size and SHA-256, which the
// importer checks.
package jsonl

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/onrecord/onrecord/internal/export"
)

// FileName is the one file the format writes.
const FileName = "events.jsonl"

// Write writes items, in their order, to dir/events.jsonl.
func Write(dir string, items []export.Item) ([]export.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, FileName), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("jsonl export: %w", err)
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	file := export.File{Path: FileName, Items: make([]uint64, 0, len(items))}
	// Lines are encoded a chunk at a time on every CPU and written in order.
	chunks := make([][]byte, (len(items)+chunkSize-1)/chunkSize)
	errs := make([]error, len(chunks))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(chunks)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := int(next.Add(1) - 1); c < len(chunks); c = int(next.Add(1) - 1) {
				chunks[c], errs[c] = encodeLines(items[c*chunkSize : min((c+1)*chunkSize, len(items))])
			}
		}()
	}
	wg.Wait()
	for c, b := range chunks {
		if errs[c] != nil {
			return nil, errs[c]
		}
		w.Write(b)
	}
	for _, it := range items {
		file.Items = append(file.Items, it.Seq)
	}
	if err := w.Flush(); err != nil {
		return nil, fmt.Errorf("jsonl export: %w", err)
	}
	if err := f.Sync(); err != nil {
		return nil, fmt.Errorf("jsonl export: %w", err)
	}
	return []export.File{file}, f.Close()
}

// chunkSize is how many lines one worker encodes at a time.
const chunkSize = 256

// encodeLines is the lines of items.
func encodeLines(items []export.Item) ([]byte, error) {
	var out []byte
	for _, it := range items {
		ev := *it.Event
		// What the archive assigns is not part of what happened; the
		// importing archive assigns its own.
		ev.ID, ev.CapturedAt = "", time.Time{}
		ev.RawBlob = nil // loaded into Raw (export.Load); its key never leaves
		ev.Attachments = nil
		for _, a := range it.Event.Attachments {
			a.Blob, a.BlobKey, a.Size = "", nil, int64(len(a.Data))
			ev.Attachments = append(ev.Attachments, a)
		}
		b, err := json.Marshal(&ev)
		if err != nil {
			return nil, fmt.Errorf("jsonl export: record %d: %w", it.Seq, err)
		}
		out = append(append(out, b...), '\n')
	}
	return out, nil
}
