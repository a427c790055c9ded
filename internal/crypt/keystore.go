package crypt

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/onrecord/onrecord/internal/durable"
	"github.com/onrecord/onrecord/internal/kms"
)

// bucketKeySize is the size of a bucket key (and of a record key).
const bucketKeySize = 32

// maxKeyFileSize bounds what is read from a key file. Wrapped keys are a few
// hundred bytes locally and a few KiB from a cloud KMS.
const maxKeyFileSize = 64 << 10

// maxKEKIDLen bounds a kms.Wrapper ID written into key files.
const maxKEKIDLen = 256

const (
	keyFileHeader  = "onrecord bucket key v1"
	tombstoneHead  = "onrecord bucket key destroyed v1"
	keySuffix      = ".key"
	tombstoneSufx  = ".destroyed"
	wrapLabel      = "onrecord/v1/bucket-key\x00"
	tempNameMarker = ".tmp-"
)

// keystore is the on-disk half of a Sealer: one wrapped key file per bucket,
// DIR/<class>/<YYYY-MM-DD>.key, and a tombstone DIR/<class>/<YYYY-MM-DD>.destroyed
// for every destroyed bucket.
type keystore struct {
	dir string
	kek kms.Wrapper
	id  string // kek.ID(), read once
}

// keyFile is the parsed form of a .key file. The header fields are outside
// the wrapping so that a keystore opened with the wrong KEK is diagnosed
// from the file alone; the bucket name is repeated inside the wrapped
// plaintext, where the KEK's AEAD authenticates it.
type keyFile struct {
	bucket  string
	kek     string
	created time.Time
	wrapped []byte
}

func (k *keystore) paths(bucket string) (classDir, keyPath, tombPath string) {
	class, date, _ := strings.Cut(bucket, "/")
	classDir = filepath.Join(k.dir, class)
	return classDir, filepath.Join(classDir, date+keySuffix), filepath.Join(classDir, date+tombstoneSufx)
}

func encodeKeyFile(kf keyFile) []byte {
	return fmt.Appendf(nil, "%s\nbucket: %s\nkek: %s\ncreated: %s\nwrapped: %s\n",
		keyFileHeader, kf.bucket, kf.kek, kf.created.UTC().Format(time.RFC3339),
		base64.StdEncoding.EncodeToString(kf.wrapped))
}

// parseKeyFile decodes a .key file. It is strict: exactly the lines
// encodeKeyFile writes, in that order.
func parseKeyFile(data []byte) (keyFile, error) {
	var kf keyFile
	if len(data) > maxKeyFileSize {
		return kf, fmt.Errorf("key file is %d bytes, more than %d", len(data), maxKeyFileSize)
	}
	lines := strings.Split(string(data), "\n")
	if len(lines) != 6 || lines[5] != "" {
		return kf, errors.New("key file does not have exactly five newline-terminated lines")
	}
	if lines[0] != keyFileHeader {
		return kf, fmt.Errorf("key file header is %q, want %q", lines[0], keyFileHeader)
	}
	field := func(line, name string) (string, error) {
		v, ok := strings.CutPrefix(line, name+": ")
		if !ok || v == "" {
			return "", fmt.Errorf("key file line %q: want %q field", line, name)
		}
		return v, nil
	}
	var err error
	if kf.bucket, err = field(lines[1], "bucket"); err != nil {
		return kf, err
	}
	if _, _, err := ParseBucket(kf.bucket); err != nil {
		return kf, fmt.Errorf("key file: %w", err)
	}
	if kf.kek, err = field(lines[2], "kek"); err != nil {
		return kf, err
	}
	if err := checkKEKID(kf.kek); err != nil {
		return kf, fmt.Errorf("key file: %w", err)
	}
	created, err := field(lines[3], "created")
	if err != nil {
		return kf, err
	}
	if kf.created, err = time.Parse(time.RFC3339, created); err != nil {
		return kf, fmt.Errorf("key file: created time: %w", err)
	}
	wrapped, err := field(lines[4], "wrapped")
	if err != nil {
		return kf, err
	}
	if kf.wrapped, err = base64.StdEncoding.Strict().DecodeString(wrapped); err != nil {
		return kf, fmt.Errorf("key file: wrapped key is not base64: %w", err)
	}
	if len(kf.wrapped) == 0 {
		return kf, errors.New("key file: wrapped key is empty")
	}
	// One key file has one spelling (RFC 3339 admits several for a time).
	if !bytes.Equal(encodeKeyFile(kf), data) {
		return kf, errors.New("key file is not in canonical form")
	}
	return kf, nil
}

func checkKEKID(id string) error {
	if id == "" || len(id) > maxKEKIDLen {
		return fmt.Errorf("KEK id %q must be 1 to %d bytes", id, maxKEKIDLen)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c >= 0x7f {
			return fmt.Errorf("KEK id %q must be printable ASCII without spaces", id)
		}
	}
	return nil
}

// wrapPlain is what the KEK wraps: a label, the bucket name and the key, so
// a key file copied to another bucket's name is refused on unwrap.
func wrapPlain(bucket string, key []byte) []byte {
	p := make([]byte, 0, len(wrapLabel)+len(bucket)+1+len(key))
	p = append(p, wrapLabel...)
	p = append(p, bucket...)
	p = append(p, 0)
	return append(p, key...)
}

func unwrapPlain(bucket string, plain []byte) ([]byte, error) {
	rest, ok := bytes.CutPrefix(plain, []byte(wrapLabel))
	if !ok {
		return nil, errors.New("unwrapped bytes lack the bucket-key label")
	}
	rest, ok = bytes.CutPrefix(rest, append([]byte(bucket), 0))
	if !ok {
		return nil, fmt.Errorf("unwrapped key belongs to another bucket, not %s", bucket)
	}
	if len(rest) != bucketKeySize {
		return nil, fmt.Errorf("unwrapped key is %d bytes, want %d", len(rest), bucketKeySize)
	}
	return bytes.Clone(rest), nil
}

func exists(path string) (bool, error) {
	_, err := os.Lstat(path)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	}
	return false, err
}

func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxKeyFileSize {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxKeyFileSize)
	}
	return data, nil
}

// load returns the bucket's key. destroyed is true if the bucket has a
// tombstone (whether or not a key file is still present: an interrupted
// Destroy is still a Destroy). A bucket with neither returns (nil, false, nil).
func (k *keystore) load(bucket string) (key []byte, destroyed bool, err error) {
	_, keyPath, tombPath := k.paths(bucket)
	if dead, err := exists(tombPath); err != nil {
		return nil, false, fmt.Errorf("bucket %s: check tombstone: %w", bucket, err)
	} else if dead {
		return nil, true, nil
	}
	data, err := readLimited(keyPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("bucket %s: read key file: %w", bucket, err)
	}
	kf, err := parseKeyFile(data)
	if err != nil {
		return nil, false, fmt.Errorf("bucket %s: %s: %w", bucket, keyPath, err)
	}
	if kf.bucket != bucket {
		return nil, false, fmt.Errorf("bucket %s: key file %s names bucket %s", bucket, keyPath, kf.bucket)
	}
	if kf.kek != k.id {
		return nil, false, k.wrongKEK(bucket, kf.kek)
	}
	plain, err := k.kek.Unwrap(kf.wrapped)
	if errors.Is(err, kms.ErrWrongKey) {
		return nil, false, fmt.Errorf("%w: bucket %s: key file %s claims KEK %s but does not unwrap with it (altered?): %w", ErrWrongKEK, bucket, keyPath, kf.kek, err)
	}
	if err != nil {
		return nil, false, fmt.Errorf("bucket %s: unwrap key: %w", bucket, err)
	}
	defer clear(plain)
	key, err = unwrapPlain(bucket, plain)
	if err != nil {
		return nil, false, fmt.Errorf("%w: bucket %s: key file %s: %v", ErrWrongKEK, bucket, keyPath, err)
	}
	return key, false, nil
}

func (k *keystore) wrongKEK(bucket, fileKEK string) error {
	return fmt.Errorf("%w: keystore %s: bucket %s was wrapped by KEK %s, but the configured KEK is %s; start with the key file or KMS key that created this keystore",
		ErrWrongKEK, k.dir, bucket, fileKEK, k.id)
}

// create generates, wraps and durably stores a new key for bucket. If
// another writer stored one first, that key is returned instead; the
// caller's key is discarded having never been used.
func (k *keystore) create(bucket string) (key []byte, destroyed bool, err error) {
	classDir, keyPath, _ := k.paths(bucket)
	key = make([]byte, bucketKeySize)
	rand.Read(key) // never fails (crypto/rand, Go ≥ 1.24)
	plain := wrapPlain(bucket, key)
	wrapped, err := k.kek.Wrap(plain)
	clear(plain)
	if err != nil {
		clear(key)
		return nil, false, fmt.Errorf("bucket %s: wrap new key: %w", bucket, err)
	}
	data := encodeKeyFile(keyFile{bucket: bucket, kek: k.id, created: time.Now(), wrapped: wrapped})
	if err := durable.MkdirAll(classDir); err != nil {
		clear(key)
		return nil, false, fmt.Errorf("bucket %s: %w", bucket, err)
	}
	won, err := durable.CreateFile(keyPath, data)
	if err != nil {
		clear(key)
		return nil, false, fmt.Errorf("bucket %s: store new key: %w", bucket, err)
	}
	if won {
		return key, false, nil
	}
	clear(key)
	return k.load(bucket)
}

// destroy writes the tombstone, then removes the key file, then fsyncs the
// directory. The order means a crash at any point leaves a bucket that is
// either untouched or destroyed, never re-keyable.
func (k *keystore) destroy(bucket string) error {
	classDir, keyPath, tombPath := k.paths(bucket)
	if err := durable.MkdirAll(classDir); err != nil {
		return fmt.Errorf("destroy bucket %s: %w", bucket, err)
	}
	tomb := fmt.Appendf(nil, "%s\nbucket: %s\ndestroyed: %s\n", tombstoneHead, bucket, time.Now().UTC().Format(time.RFC3339))
	if _, err := durable.CreateFile(tombPath, tomb); err != nil {
		return fmt.Errorf("destroy bucket %s: write tombstone: %w", bucket, err)
	}
	if err := os.Remove(keyPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("destroy bucket %s: remove key file: %w", bucket, err)
	}
	if err := durable.SyncDir(classDir); err != nil {
		return fmt.Errorf("destroy bucket %s: %w", bucket, err)
	}
	return nil
}

// hasKey reports whether bucket has a key file and no tombstone.
func (k *keystore) hasKey(bucket string) (bool, error) {
	_, keyPath, tombPath := k.paths(bucket)
	dead, err := exists(tombPath)
	if err != nil || dead {
		return false, err
	}
	return exists(keyPath)
}

// scan lists the buckets that have a live key. With repair set (at New) it
// also checks that every key file names the configured KEK, finishes
// interrupted destroys and removes temporary files left by a crash.
// Entries that are not ours (names that are not a class, a day and a known
// suffix) are left alone.
func (k *keystore) scan(repair bool) ([]string, error) {
	classes, err := os.ReadDir(k.dir)
	if err != nil {
		return nil, fmt.Errorf("keystore %s: %w", k.dir, err)
	}
	var live []string
	for _, c := range classes {
		if !c.IsDir() || checkClass(c.Name()) != nil {
			continue
		}
		classDir := filepath.Join(k.dir, c.Name())
		entries, err := os.ReadDir(classDir)
		if err != nil {
			return nil, fmt.Errorf("keystore %s: %w", k.dir, err)
		}
		names := make(map[string]bool, len(entries))
		for _, e := range entries {
			names[e.Name()] = true
		}
		changed := false
		for _, e := range entries {
			name := e.Name()
			if repair && strings.HasPrefix(name, ".") && strings.Contains(name, tempNameMarker) {
				if err := os.Remove(filepath.Join(classDir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return nil, fmt.Errorf("keystore %s: remove leftover %s: %w", k.dir, name, err)
				}
				changed = true
				continue
			}
			date, ok := strings.CutSuffix(name, keySuffix)
			if !ok || !e.Type().IsRegular() {
				continue
			}
			if _, err := parseDay(date); err != nil {
				continue
			}
			bucket := c.Name() + "/" + date
			if names[date+tombstoneSufx] {
				if repair {
					if err := os.Remove(filepath.Join(classDir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
						return nil, fmt.Errorf("keystore %s: finish destroying bucket %s: %w", k.dir, bucket, err)
					}
					changed = true
				}
				continue
			}
			if repair {
				data, err := readLimited(filepath.Join(classDir, name))
				if err != nil {
					return nil, fmt.Errorf("keystore %s: bucket %s: %w", k.dir, bucket, err)
				}
				kf, err := parseKeyFile(data)
				if err != nil {
					return nil, fmt.Errorf("keystore %s: bucket %s: %w", k.dir, bucket, err)
				}
				if kf.kek != k.id {
					return nil, k.wrongKEK(bucket, kf.kek)
				}
			}
			live = append(live, bucket)
		}
		if changed {
			if err := durable.SyncDir(classDir); err != nil {
				return nil, fmt.Errorf("keystore %s: %w", k.dir, err)
			}
		}
	}
	slices.Sort(live)
	return live, nil
}
