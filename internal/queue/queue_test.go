package queue_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/onrecord/onrecord/internal/queue"
)

func open(t *testing.T, dir string) *queue.Dir {
	t.Helper()
	q, err := queue.Open(dir, bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func TestDir_TasksSurviveReopenSealed(t *testing.T) {
	dir := t.TempDir()
	q := open(t, dir)
	if err := q.Put("b-task", []byte("CANARY second")); err != nil {
		t.Fatal(err)
	}
	if err := q.Put("a-task", []byte("first")); err != nil {
		t.Fatal(err)
	}
	if err := q.Put("b-task", []byte("CANARY second, updated")); err != nil {
		t.Fatal(err)
	}
	// A temporary file left by a crash mid-Put is not a task.
	os.WriteFile(filepath.Join(dir, ".tmp-c-task-123"), []byte("half"), 0o600)

	q = open(t, dir)
	names, err := q.List()
	if err != nil || !slices.Equal(names, []string{"a-task", "b-task"}) {
		t.Fatalf("List = %v, %v", names, err)
	}
	if got, err := q.Get("b-task"); err != nil || string(got) != "CANARY second, updated" {
		t.Fatalf("Get = %q, %v", got, err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		if bytes.Contains(b, []byte("CANARY")) {
			t.Fatalf("plaintext in %s", e.Name())
		}
	}
	if err := q.Delete("a-task"); err != nil {
		t.Fatal(err)
	}
	if err := q.Delete("a-task"); err != nil {
		t.Fatalf("second Delete: %v", err)
	}
	if _, err := q.Get("a-task"); !errors.Is(err, queue.ErrNotFound) {
		t.Fatalf("Get deleted: %v", err)
	}
}

func TestDir_RefusesBadNamesAndForeignTasks(t *testing.T) {
	dir := t.TempDir()
	q := open(t, dir)
	for _, n := range []string{"", "../x", "A", "a/b", string(bytes.Repeat([]byte("a"), 129))} {
		if err := q.Put(n, nil); err == nil {
			t.Errorf("Put(%q) accepted", n)
		}
	}
	q.Put("t", []byte("x"))
	other, err := queue.Open(dir, bytes.Repeat([]byte{8}, 32))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Get("t"); err == nil {
		t.Fatal("a task opened with another key")
	}
	// A task renamed to another name does not open either.
	os.Rename(filepath.Join(dir, "t"), filepath.Join(dir, "u"))
	if _, err := q.Get("u"); err == nil {
		t.Fatal("a task opened under another name")
	}
}

func TestDir_NamesAreKeyedAndStable(t *testing.T) {
	q := open(t, t.TempDir())
	a, b := q.Name("media", "wa", "+15550100"), q.Name("media", "wa", "+15550100")
	if a != b || len(a) != 32 {
		t.Fatalf("names %q %q", a, b)
	}
	if q.Name("media", "wa+", "15550100") == a {
		t.Fatal("parts run together")
	}
	other, _ := queue.Open(t.TempDir(), bytes.Repeat([]byte{9}, 32))
	if other.Name("media", "wa", "+15550100") == a {
		t.Fatal("name does not depend on the key")
	}
	if err := q.Put(a, nil); err != nil {
		t.Fatalf("a derived name is refused: %v", err)
	}
}
