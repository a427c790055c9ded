package durable

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("onrecord"), 1<<17) // 1 MiB
	if _, err := f.WriteAt(data, 4096); err != nil {
		t.Fatal(err)
	}
	if err := WriteBack(f, 4096, int64(len(data))); err != nil {
		t.Fatalf("write back: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got[4096:], data) {
		t.Fatalf("file after write-back: %d bytes, %v", len(got), err)
	}
	// A closed file is an error, not a silent success.
	if err := WriteBack(f, 0, 1); err == nil {
		t.Error("write back of a closed file succeeded")
	}
}
