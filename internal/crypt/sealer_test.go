package crypt

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onrecord/onrecord/record"
)

func TestSeal_RoundTripForSealedKinds(t *testing.T) {
	s, _, _ := newTestSealer(t)
	for _, kind := range []record.Kind{record.KindEvent, record.KindHold} {
		for _, size := range []int{0, 1, 15, 16, 17, 512, 1536, 70000} {
			t.Run(fmt.Sprintf("%s/%d", kind, size), func(t *testing.T) {
				plain := bytes.Repeat([]byte{byte(size)}, size)
				env := mustSeal(t, s, kind, day0, "general", plain)
				if env.Kind != kind || env.Bucket != "general/2025-03-14" || env.Time != day0.UnixNano() {
					t.Fatalf("envelope header = %s %q %d, want %s general/2025-03-14 %d", env.Kind, env.Bucket, env.Time, kind, day0.UnixNano())
				}
				if len(env.Ciphertext) != size+Overhead {
					t.Fatalf("ciphertext is %d bytes, want %d", len(env.Ciphertext), size+Overhead)
				}
				// Through the canonical encoding, as the journal stores it.
				enc, err := env.MarshalBinary()
				if err != nil {
					t.Fatal(err)
				}
				dec, err := record.Unmarshal(enc)
				if err != nil {
					t.Fatal(err)
				}
				got, err := s.Open(dec)
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				if !bytes.Equal(got, plain) {
					t.Fatal("Open(Seal(x)) != x")
				}
			})
		}
	}
}

func TestSeal_RefusesUnsealedKindsAndBadInput(t *testing.T) {
	s, dir, _ := newTestSealer(t)
	for _, tc := range []struct {
		name  string
		kind  record.Kind
		at    time.Time
		class string
		plain []byte
	}{
		{"disposal kind", record.KindDisposal, day0, "general", nil},
		{"zero kind", 0, day0, "general", nil},
		{"unknown kind", 99, day0, "general", nil},
		{"empty class", record.KindEvent, day0, "", nil},
		{"class with slash", record.KindEvent, day0, "a/b", nil},
		{"class with dots", record.KindEvent, day0, "..", nil},
		{"upper-case class", record.KindEvent, day0, "General", nil},
		{"time before 1678", record.KindEvent, time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC), "general", nil},
		{"time after 2262", record.KindEvent, time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC), "general", nil},
		{"plaintext too large", record.KindEvent, day0, "general", make([]byte, MaxPlaintext+1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if env, err := s.Seal(tc.kind, randomID(), tc.at, tc.class, tc.plain); err == nil {
				t.Fatalf("Seal accepted it and returned bucket %q", env.Bucket)
			}
		})
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("refused seals left %d entries in the keystore", len(entries))
	}
}

func TestSeal_SameInputTwiceGivesDifferentCiphertexts(t *testing.T) {
	s, _, _ := newTestSealer(t)
	id := randomID()
	a, err := s.Seal(record.KindEvent, id, day0, "general", []byte("same"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Seal(record.KindEvent, id, day0, "general", []byte("same"))
	if err != nil {
		t.Fatal(err)
	}
	if a.Nonce == b.Nonce || bytes.Equal(a.Ciphertext, b.Ciphertext) {
		t.Fatal("two seals of the same record reused a nonce")
	}
}

func TestOpen_WrongKeyIsRefusedByCommitment(t *testing.T) {
	s1, _, _ := newTestSealer(t)
	s2, _, _ := newTestSealer(t)
	env := mustSeal(t, s1, record.KindEvent, day0, "general", []byte("for s1 only"))
	// s2 has its own key for the same bucket.
	mustSeal(t, s2, record.KindEvent, day0, "general", []byte("s2's record"))

	if _, err := s2.Open(env); !errors.Is(err, ErrKeyCommitment) {
		t.Fatalf("Open with another keystore's key: got %v, want ErrKeyCommitment", err)
	}
	if _, err := s2.RecordKey(env); !errors.Is(err, ErrKeyCommitment) {
		t.Fatalf("RecordKey for a foreign envelope: got %v, want ErrKeyCommitment", err)
	}

	// The commitment is checked before decryption: with the ciphertext
	// also broken, the error is still the commitment, not ErrDecrypt.
	broken := *env
	broken.Ciphertext = bytes.Clone(env.Ciphertext)
	broken.Ciphertext[0] ^= 1
	if _, err := s2.Open(&broken); !errors.Is(err, ErrKeyCommitment) {
		t.Fatalf("Open with wrong key and broken ciphertext: got %v, want ErrKeyCommitment first", err)
	}

	// The right key with an altered commitment is refused the same way.
	for i := range env.KeyCommitment {
		bad := *env
		bad.KeyCommitment[i] ^= 0x80
		if _, err := s1.Open(&bad); !errors.Is(err, ErrKeyCommitment) {
			t.Fatalf("Open with commitment byte %d flipped: got %v, want ErrKeyCommitment", i, err)
		}
	}
}

func TestOpen_AlteredEnvelopeIsRefused(t *testing.T) {
	s, _, _ := newTestSealer(t)
	env := mustSeal(t, s, record.KindEvent, day0, "general", []byte("the original text of the message"))
	// A second live bucket so that moving the envelope there reaches a key.
	mustSeal(t, s, record.KindEvent, day0, "other", nil)
	rk, err := s.RecordKey(env)
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		edit func(e *record.Envelope)
		// wantSealer is what Sealer.Open says: header fields that select
		// the key (bucket, id) fail at the commitment or key lookup.
		wantSealer error
		// wantDisclosed is what OpenWithRecordKey with the original
		// record key says: the key is fixed, so any header change is an
		// AEAD failure.
		wantDisclosed error
	}{
		{"ciphertext bit", func(e *record.Envelope) { e.Ciphertext[3] ^= 1 }, ErrDecrypt, ErrDecrypt},
		{"tag bit", func(e *record.Envelope) { e.Ciphertext[len(e.Ciphertext)-1] ^= 1 }, ErrDecrypt, ErrDecrypt},
		{"truncated", func(e *record.Envelope) { e.Ciphertext = e.Ciphertext[:len(e.Ciphertext)-1] }, ErrDecrypt, ErrDecrypt},
		{"too short for a tag", func(e *record.Envelope) { e.Ciphertext = e.Ciphertext[:5] }, ErrDecrypt, ErrDecrypt},
		{"extended", func(e *record.Envelope) { e.Ciphertext = append(e.Ciphertext, 0) }, ErrDecrypt, ErrDecrypt},
		{"nonce", func(e *record.Envelope) { e.Nonce[0] ^= 1 }, ErrDecrypt, ErrDecrypt},
		{"kind", func(e *record.Envelope) { e.Kind = record.KindHold }, ErrDecrypt, ErrDecrypt},
		{"time, same day", func(e *record.Envelope) { e.Time++ }, ErrDecrypt, ErrDecrypt},
		{"time, other day", func(e *record.Envelope) { e.Time += int64(24 * time.Hour) }, ErrDecrypt, ErrDecrypt},
		{"id", func(e *record.Envelope) { e.ID[15] ^= 1 }, ErrKeyCommitment, ErrDecrypt},
		{"bucket, other live bucket", func(e *record.Envelope) { e.Bucket = "other/2025-03-14" }, ErrKeyCommitment, ErrDecrypt},
		{"bucket, unknown bucket", func(e *record.Envelope) { e.Bucket = "general/2025-03-15" }, ErrKeyMissing, ErrDecrypt},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := *env
			bad.Ciphertext = bytes.Clone(env.Ciphertext)
			tc.edit(&bad)
			if got, err := s.Open(&bad); !errors.Is(err, tc.wantSealer) {
				t.Errorf("Sealer.Open: got %q, %v; want %v", got, err, tc.wantSealer)
			}
			if got, err := OpenWithRecordKey(&bad, rk); !errors.Is(err, tc.wantDisclosed) {
				t.Errorf("OpenWithRecordKey: got %q, %v; want %v", got, err, tc.wantDisclosed)
			}
		})
	}
	if _, err := s.Open(env); err != nil {
		t.Fatalf("the untouched envelope no longer opens: %v", err)
	}
}

func TestOpen_RefusesMalformedEnvelopes(t *testing.T) {
	s, dir, _ := newTestSealer(t)
	env := mustSeal(t, s, record.KindEvent, day0, "general", []byte("x"))
	for _, tc := range []struct {
		name string
		env  *record.Envelope
	}{
		{"nil", nil},
		{"disposal kind", &record.Envelope{Kind: record.KindDisposal, Bucket: env.Bucket}},
		{"empty bucket", &record.Envelope{Kind: record.KindEvent}},
		{"path traversal", &record.Envelope{Kind: record.KindEvent, Bucket: "../../etc/2025-01-01"}},
		{"traversal in day", &record.Envelope{Kind: record.KindEvent, Bucket: "general/../../x"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := s.Open(tc.env); err == nil {
				t.Fatal("Open accepted a malformed envelope")
			}
			if _, err := s.RecordKey(tc.env); err == nil {
				t.Fatal("RecordKey accepted a malformed envelope")
			}
		})
	}
	if _, err := OpenWithRecordKey(env, make([]byte, 31)); err == nil {
		t.Fatal("OpenWithRecordKey accepted a 31-byte key")
	}
	if _, err := OpenWithRecordKey(nil, make([]byte, 32)); err == nil {
		t.Fatal("OpenWithRecordKey accepted a nil envelope")
	}
	// Nothing was created by the failed lookups.
	if _, err := os.Stat(filepath.Join(dir, "..", "..", "etc")); err == nil {
		t.Fatal("a malformed bucket name created a directory outside the keystore")
	}
}

func TestOpenWithRecordKey_DisclosesOneRecordOnly(t *testing.T) {
	s, _, _ := newTestSealer(t)
	disclosed := mustSeal(t, s, record.KindEvent, day0, "general", []byte("subpoenaed message"))
	neighbour := mustSeal(t, s, record.KindEvent, day0.Add(time.Second), "general", []byte("unrelated message"))
	rk, err := s.RecordKey(disclosed)
	if err != nil {
		t.Fatal(err)
	}
	if len(rk) != RecordKeySize {
		t.Fatalf("record key is %d bytes, want %d", len(rk), RecordKeySize)
	}
	got, err := OpenWithRecordKey(disclosed, rk)
	if err != nil || string(got) != "subpoenaed message" {
		t.Fatalf("OpenWithRecordKey(disclosed) = %q, %v", got, err)
	}
	if _, err := OpenWithRecordKey(neighbour, rk); !errors.Is(err, ErrKeyCommitment) {
		t.Fatalf("OpenWithRecordKey(neighbour, disclosed key): got %v, want ErrKeyCommitment", err)
	}
	// The disclosed key is not the bucket key.
	st := s.state(disclosed.Bucket)
	if bytes.Equal(rk, st.key) {
		t.Fatal("RecordKey returned the bucket key")
	}
}

func TestDestroy_OpenAndSealRefuseAfterwards(t *testing.T) {
	s, dir, kek := newTestSealer(t)
	env := mustSeal(t, s, record.KindEvent, day0, "general", []byte("to be shredded"))
	keep := mustSeal(t, s, record.KindEvent, day0.Add(24*time.Hour), "general", []byte("next day"))
	rk, err := s.RecordKey(env)
	if err != nil {
		t.Fatal(err)
	}

	if err := s.Destroy(env.Bucket); err != nil {
		t.Fatalf("Destroy: %v", err)
	}
	if err := s.Destroy(env.Bucket); err != nil {
		t.Fatalf("second Destroy (idempotence): %v", err)
	}

	check := func(t *testing.T, s *Sealer) {
		t.Helper()
		if _, err := s.Open(env); !errors.Is(err, ErrKeyDestroyed) {
			t.Errorf("Open after Destroy: got %v, want ErrKeyDestroyed", err)
		}
		if _, err := s.RecordKey(env); !errors.Is(err, ErrKeyDestroyed) {
			t.Errorf("RecordKey after Destroy: got %v, want ErrKeyDestroyed", err)
		}
		if _, err := s.Seal(record.KindEvent, randomID(), day0, "general", []byte("late")); !errors.Is(err, ErrKeyDestroyed) {
			t.Errorf("Seal into destroyed bucket: got %v, want ErrKeyDestroyed (never re-key)", err)
		}
		if ok, err := s.HasKey(env.Bucket); ok || err != nil {
			t.Errorf("HasKey after Destroy = %v, %v; want false, nil", ok, err)
		}
		buckets, err := s.Buckets()
		if err != nil || len(buckets) != 1 || buckets[0] != keep.Bucket {
			t.Errorf("Buckets after Destroy = %v, %v; want [%s]", buckets, err, keep.Bucket)
		}
		if got, err := s.Open(keep); err != nil || string(got) != "next day" {
			t.Errorf("neighbouring bucket no longer opens: %q, %v", got, err)
		}
	}
	t.Run("same sealer", func(t *testing.T) { check(t, s) })
	t.Run("reopened sealer", func(t *testing.T) {
		s2, err := New(dir, kek)
		if err != nil {
			t.Fatal(err)
		}
		check(t, s2)
	})

	classDir := filepath.Join(dir, "general")
	if _, err := os.Stat(filepath.Join(classDir, "2025-03-14.key")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("key file still present after Destroy: %v", err)
	}
	tomb, err := os.ReadFile(filepath.Join(classDir, "2025-03-14.destroyed"))
	if err != nil {
		t.Fatalf("no tombstone: %v", err)
	}
	if bytes.Contains(tomb, []byte("wrapped")) || len(tomb) > 200 {
		t.Fatalf("tombstone holds more than a note:\n%s", tomb)
	}
	// A disclosed record key still opens its one record: destruction
	// cannot reach keys already handed out, which is why disclosure is
	// per record.
	if _, err := OpenWithRecordKey(env, rk); err != nil {
		t.Fatalf("previously disclosed record key: %v", err)
	}
}

func TestDestroy_NeverKeyedBucketCannotBeKeyedLater(t *testing.T) {
	s, _, _ := newTestSealer(t)
	if err := s.Destroy("general/2025-03-14"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Seal(record.KindEvent, randomID(), day0, "general", nil); !errors.Is(err, ErrKeyDestroyed) {
		t.Fatalf("Seal into a tombstoned bucket: got %v, want ErrKeyDestroyed", err)
	}
	if err := s.Destroy("nope"); !errors.Is(err, ErrBadBucket) {
		t.Fatalf("Destroy of a malformed name: got %v, want ErrBadBucket", err)
	}
}

func TestDestroy_ClearsCachedKeyBytes(t *testing.T) {
	s, _, _ := newTestSealer(t)
	env := mustSeal(t, s, record.KindEvent, day0, "general", []byte("x"))
	st := s.state(env.Bucket)
	cached := st.key
	if err := s.Destroy(env.Bucket); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(cached, make([]byte, bucketKeySize)) {
		t.Fatal("Destroy left the bucket key bytes in memory")
	}
}

func TestNew_KeysSurviveReopen(t *testing.T) {
	s, dir, kek := newTestSealer(t)
	var envs []*record.Envelope
	for i, class := range []string{"general", "general", "comms-7y", "hold-registry"} {
		envs = append(envs, mustSeal(t, s, record.KindEvent, day0.Add(time.Duration(i)*30*time.Hour), class, fmt.Appendf(nil, "record %d", i)))
	}
	s2, err := New(dir, kek)
	if err != nil {
		t.Fatal(err)
	}
	for i, env := range envs {
		got, err := s2.Open(env)
		if err != nil || string(got) != fmt.Sprintf("record %d", i) {
			t.Fatalf("reopened Open(record %d) = %q, %v", i, got, err)
		}
	}
	buckets, err := s2.Buckets()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"comms-7y/2025-03-17", "general/2025-03-14", "general/2025-03-15", "hold-registry/2025-03-18"}
	if fmt.Sprint(buckets) != fmt.Sprint(want) {
		t.Fatalf("Buckets() = %v, want %v", buckets, want)
	}
	// Sealing into an existing bucket after reopen uses the stored key.
	env := mustSeal(t, s2, record.KindEvent, day0, "general", []byte("after reopen"))
	if got, err := s.Open(env); err != nil || string(got) != "after reopen" {
		t.Fatalf("first sealer cannot open what the reopened one sealed: %q, %v", got, err)
	}
}

func TestNew_DifferentKEKFailsClearly(t *testing.T) {
	s, dir, kek := newTestSealer(t)
	mustSeal(t, s, record.KindEvent, day0, "general", []byte("x"))
	other := newTestKEK(t)
	_, err := New(dir, other)
	if !errors.Is(err, ErrWrongKEK) {
		t.Fatalf("New with another KEK: got %v, want ErrWrongKEK", err)
	}
	for _, want := range []string{kek.ID(), other.ID(), "general/2025-03-14"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestOpen_KeyFileRewrittenToClaimAnotherKEKIsRefused(t *testing.T) {
	s, dir, _ := newTestSealer(t)
	env := mustSeal(t, s, record.KindEvent, day0, "general", []byte("x"))
	other := newTestKEK(t)
	path := filepath.Join(dir, "general", "2025-03-14.key")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	kf, err := parseKeyFile(data)
	if err != nil {
		t.Fatal(err)
	}
	kf.kek = other.ID()
	if err := os.WriteFile(path, encodeKeyFile(kf), 0o600); err != nil {
		t.Fatal(err)
	}
	s2, err := New(dir, other)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if _, err := s2.Open(env); !errors.Is(err, ErrWrongKEK) {
		t.Fatalf("Open with a key file that lies about its KEK: got %v, want ErrWrongKEK", err)
	}
}

func TestOpen_KeyFileCopiedToAnotherBucketIsRefused(t *testing.T) {
	s, dir, kek := newTestSealer(t)
	mustSeal(t, s, record.KindEvent, day0, "general", []byte("a"))
	victim := mustSeal(t, s, record.KindEvent, day0.Add(24*time.Hour), "general", []byte("b"))
	// Replace the 15th's key file with the 14th's, relabelled.
	data, err := os.ReadFile(filepath.Join(dir, "general", "2025-03-14.key"))
	if err != nil {
		t.Fatal(err)
	}
	kf, err := parseKeyFile(data)
	if err != nil {
		t.Fatal(err)
	}
	kf.bucket = victim.Bucket
	if err := os.WriteFile(filepath.Join(dir, "general", "2025-03-15.key"), encodeKeyFile(kf), 0o600); err != nil {
		t.Fatal(err)
	}
	s2, err := New(dir, kek)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s2.Open(victim); !errors.Is(err, ErrWrongKEK) || !strings.Contains(err.Error(), "another bucket") {
		t.Fatalf("Open with a key file moved from another bucket: got %v, want ErrWrongKEK naming another bucket", err)
	}
}

func TestOpen_UnknownBucketIsErrKeyMissing(t *testing.T) {
	s, dir, _ := newTestSealer(t)
	other, _, _ := newTestSealer(t)
	env := mustSeal(t, other, record.KindEvent, day0, "general", []byte("x"))
	if _, err := s.Open(env); !errors.Is(err, ErrKeyMissing) {
		t.Fatalf("Open of a bucket this keystore never had: got %v, want ErrKeyMissing", err)
	}
	if ok, err := s.HasKey(env.Bucket); ok || err != nil {
		t.Fatalf("HasKey = %v, %v; want false, nil", ok, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatal("Open of an unknown bucket created files")
	}
}

func TestNew_RecoversFromInterruptedDestroyAndLeftoverTempFiles(t *testing.T) {
	s, dir, kek := newTestSealer(t)
	env := mustSeal(t, s, record.KindEvent, day0, "general", []byte("x"))
	classDir := filepath.Join(dir, "general")
	// A crash after the tombstone was written but before the key file was
	// removed, and a crash in the middle of creating a key file.
	if err := os.WriteFile(filepath.Join(classDir, "2025-03-14.destroyed"), []byte("tombstone\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	leftover := filepath.Join(classDir, ".2025-03-20.key.tmp-12345")
	if err := os.WriteFile(leftover, []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	s2, err := New(dir, kek)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(classDir, "2025-03-14.key")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("New did not finish the interrupted destroy: %v", err)
	}
	if _, err := os.Stat(leftover); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("New left the temporary file: %v", err)
	}
	if _, err := s2.Open(env); !errors.Is(err, ErrKeyDestroyed) {
		t.Fatalf("Open after interrupted destroy: got %v, want ErrKeyDestroyed", err)
	}
}

func TestNew_RejectsCorruptKeyFile(t *testing.T) {
	s, dir, kek := newTestSealer(t)
	mustSeal(t, s, record.KindEvent, day0, "general", []byte("x"))
	path := filepath.Join(dir, "general", "2025-03-14.key")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data[:len(data)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(dir, kek); err == nil || !strings.Contains(err.Error(), "general/2025-03-14") {
		t.Fatalf("New with a truncated key file: got %v, want an error naming the bucket", err)
	}
}

func TestSeal_ConcurrentFirstSealsCreateExactlyOneKey(t *testing.T) {
	kek := newTestKEK(t)
	dir := t.TempDir()
	// Two Sealers on one directory stand in for two processes: the
	// in-memory guard cannot help across them, only the link-not-rename can.
	var sealers [2]*Sealer
	for i := range sealers {
		s, err := New(dir, kek)
		if err != nil {
			t.Fatal(err)
		}
		sealers[i] = s
	}
	const perSealer = 16
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		envs []*record.Envelope
	)
	start := make(chan struct{})
	for i := range 2 * perSealer {
		wg.Go(func() {
			<-start
			env, err := sealers[i%2].Seal(record.KindEvent, randomID(), day0, "general", fmt.Appendf(nil, "r%d", i))
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			envs = append(envs, env)
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	entries, err := os.ReadDir(filepath.Join(dir, "general"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) != 1 || names[0] != "2025-03-14.key" {
		t.Fatalf("keystore holds %v after concurrent first seals, want exactly [2025-03-14.key]", names)
	}
	for _, s := range sealers {
		for _, env := range envs {
			if _, err := s.Open(env); err != nil {
				t.Fatalf("an envelope sealed during the race does not open: %v", err)
			}
		}
	}
}

func TestSeal_ConcurrentSealOpenDestroyIsRaceFree(t *testing.T) {
	s, _, _ := newTestSealer(t)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 50 {
				at := day0.Add(time.Duration(j%3) * 24 * time.Hour)
				env, err := s.Seal(record.KindEvent, randomID(), at, "general", []byte("x"))
				if errors.Is(err, ErrKeyDestroyed) {
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := s.Open(env); err != nil && !errors.Is(err, ErrKeyDestroyed) {
					t.Errorf("goroutine %d: %v", i, err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		if err := s.Destroy(BucketName("general", day0.Add(24*time.Hour))); err != nil {
			t.Error(err)
		}
	})
	wg.Wait()
}

func TestKeystore_FilesAreOwnerOnly(t *testing.T) {
	s, dir, _ := newTestSealer(t)
	mustSeal(t, s, record.KindEvent, day0, "general", []byte("x"))
	mustSeal(t, s, record.KindEvent, day0.Add(24*time.Hour), "general", []byte("x"))
	if err := s.Destroy(BucketName("general", day0.Add(24*time.Hour))); err != nil {
		t.Fatal(err)
	}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		want := fs.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s has mode %04o, want %04o", path, got, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestKeystore_NoPlaintextOrBucketKeyOnDisk(t *testing.T) {
	s, dir, _ := newTestSealer(t)
	canary := []byte("CANARY-7f3a9c1e-the-plaintext-must-never-reach-disk")
	env := mustSeal(t, s, record.KindEvent, day0, "general", canary)
	bucketKey := bytes.Clone(s.state(env.Bucket).key)
	rk, err := s.RecordKey(env)
	if err != nil {
		t.Fatal(err)
	}
	secrets := map[string][]byte{"plaintext": canary, "bucket key": bucketKey, "record key": rk}
	files := 0
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		for what, secret := range secrets {
			if bytes.Contains(data, secret) {
				t.Errorf("%s contains the %s", path, what)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files == 0 {
		t.Fatal("no files under the keystore: the scan checked nothing")
	}
}

func TestHasKey_ReflectsDisk(t *testing.T) {
	s, dir, kek := newTestSealer(t)
	env := mustSeal(t, s, record.KindEvent, day0, "general", nil)
	s2, err := New(dir, kek)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		bucket string
		want   bool
	}{
		{env.Bucket, true},
		{"general/2025-03-15", false},
		{"other/2025-03-14", false},
	} {
		for name, sealer := range map[string]*Sealer{"warm": s, "cold": s2} {
			if got, err := sealer.HasKey(tc.bucket); got != tc.want || err != nil {
				t.Errorf("%s HasKey(%s) = %v, %v; want %v", name, tc.bucket, got, err, tc.want)
			}
		}
	}
	if _, err := s.HasKey("bad"); !errors.Is(err, ErrBadBucket) {
		t.Errorf("HasKey(bad name): got %v, want ErrBadBucket", err)
	}
}

func TestNew_RejectsBadArguments(t *testing.T) {
	kek := newTestKEK(t)
	if _, err := New("", kek); err == nil {
		t.Error("New with empty dir succeeded")
	}
	if _, err := New(t.TempDir(), nil); err == nil {
		t.Error("New with nil KEK succeeded")
	}
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(file, kek); err == nil {
		t.Error("New on a regular file succeeded")
	}
}
