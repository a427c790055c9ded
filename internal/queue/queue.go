// Package queue keeps work that must survive a restart: a task is written
// durably before the delivery that caused it is acknowledged, and removed
// only when it has been done and its outcome recorded. Tasks are sealed
// with the archive's queue key, since they carry what a provider said
// (media references, names); a task file never holds plaintext.
//
// Dir is the single-machine backend; a JetStream work queue can take its
// place when the gateway runs on several machines.
package queue

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/onrecord/onrecord/internal/durable"
)

// ErrNotFound is wrapped by Get for a task that is not there.
var ErrNotFound = errors.New("task not found")

// Dir is a durable set of named tasks, one sealed file each.
type Dir struct {
	dir     string
	aead    cipher.AEAD
	nameKey []byte
}

// Open opens (creating if needed) the task directory dir; key (32 bytes)
// seals every task.
func Open(dir string, key []byte) (*Dir, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("queue key: %d bytes, want 32", len(key))
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("queue key: %w", err)
	}
	aead, err := cipher.NewGCM(b)
	if err != nil {
		return nil, fmt.Errorf("queue key: %w", err)
	}
	if err := durable.MkdirAll(dir); err != nil {
		return nil, fmt.Errorf("queue directory: %w", err)
	}
	nk := hmac.New(sha256.New, key)
	nk.Write([]byte("task names"))
	return &Dir{dir: dir, aead: aead, nameKey: nk.Sum(nil)}, nil
}

// Name derives a task name from what identifies the task, keyed so that
// the name gives away nothing about it (a phone number, a message id).
func (d *Dir) Name(parts ...string) string {
	m := hmac.New(sha256.New, d.nameKey)
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// validName keeps task names safe as file names.
func validName(name string) error {
	if name == "" || len(name) > 128 {
		return fmt.Errorf("task name %q: want 1 to 128 characters", name)
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return fmt.Errorf("task name %q: only a-z, 0-9, - and _", name)
		}
	}
	return nil
}

// Put writes task name durably, replacing an earlier version: temporary
// file, fsync, rename, directory fsync.
func (d *Dir) Put(name string, task []byte) error {
	if err := validName(name); err != nil {
		return err
	}
	nonce := make([]byte, d.aead.NonceSize(), d.aead.NonceSize()+len(task)+d.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return fmt.Errorf("task nonce: %w", err)
	}
	sealed := d.aead.Seal(nonce, nonce, task, []byte(name))
	tmp, err := os.CreateTemp(d.dir, ".tmp-"+name+"-*")
	if err != nil {
		return fmt.Errorf("put task %s: %w", name, err)
	}
	defer os.Remove(tmp.Name()) // gone after the rename; cleans up a failure
	if _, err := tmp.Write(sealed); err != nil {
		tmp.Close()
		return fmt.Errorf("put task %s: %w", name, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("put task %s: fsync: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("put task %s: %w", name, err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(d.dir, name)); err != nil {
		return fmt.Errorf("put task %s: %w", name, err)
	}
	return durable.SyncDir(d.dir)
}

// Get reads and opens task name.
func (d *Dir) Get(name string) ([]byte, error) {
	if err := validName(name); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(d.dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("task %s: %w", name, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read task %s: %w", name, err)
	}
	n := d.aead.NonceSize()
	if len(b) < n {
		return nil, fmt.Errorf("task %s: truncated", name)
	}
	task, err := d.aead.Open(nil, b[:n], b[n:], []byte(name))
	if err != nil {
		return nil, fmt.Errorf("task %s: does not open with the queue key: %w", name, err)
	}
	return task, nil
}

// Delete removes task name durably; a task that is not there is not an
// error.
func (d *Dir) Delete(name string) error {
	if err := validName(name); err != nil {
		return err
	}
	err := os.Remove(filepath.Join(d.dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete task %s: %w", name, err)
	}
	return durable.SyncDir(d.dir)
}

// List returns the names of every task, sorted. Temporary files left by
// a crash in the middle of a Put are removed.
func (d *Dir) List() ([]string, error) {
	entries, err := os.ReadDir(d.dir)
	if err != nil {
		return nil, fmt.Errorf("list tasks: %w", err)
	}
	var names []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".tmp-") {
			os.Remove(filepath.Join(d.dir, e.Name()))
			continue
		}
		if validName(e.Name()) == nil && e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	return names, nil
}
