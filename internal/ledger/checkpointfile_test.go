package ledger

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// framesFile returns a history of n framed fake notes and the offset of
// each frame.
func framesFile(n int) ([]byte, []int64) {
	tab := crc32.MakeTable(crc32.Castagnoli)
	var b []byte
	var offs []int64
	for i := range n {
		offs = append(offs, int64(len(b)))
		b = appendFrame(b, []byte(fmt.Sprintf("note %d\n\n— sig %d\n", i, i)), tab)
	}
	return b, offs
}

func scan(data []byte) ([]StoredCheckpoint, error) {
	var out []StoredCheckpoint
	err := ScanCheckpoints("test", bytes.NewReader(data), func(c StoredCheckpoint) error {
		out = append(out, c)
		return nil
	})
	return out, err
}

func TestScanCheckpoints_ReadsEveryFrame(t *testing.T) {
	data, offs := framesFile(5)
	got, err := scan(data)
	if err != nil || len(got) != 5 {
		t.Fatalf("scan = %d entries, %v", len(got), err)
	}
	for i, c := range got {
		if c.Offset != offs[i] || !strings.HasPrefix(string(c.Note), fmt.Sprintf("note %d\n", i)) {
			t.Fatalf("entry %d = offset %d %q", i, c.Offset, c.Note)
		}
	}
}

func TestScanCheckpoints_TornTailIsTorn(t *testing.T) {
	data, offs := framesFile(3)
	last := offs[2]
	type variant struct {
		name string
		data []byte
	}
	var vs []variant
	for cut := last + 1; cut < int64(len(data)); cut++ {
		vs = append(vs, variant{fmt.Sprintf("cut at %d", cut), data[:cut]})
	}
	zeroed := bytes.Clone(data)
	clear(zeroed[last:])
	vs = append(vs, variant{"zero-filled last frame", zeroed})
	garbage := bytes.Clone(data)
	for i := last; i < int64(len(garbage)); i++ {
		garbage[i] = byte(i*131 + 7)
	}
	vs = append(vs, variant{"garbage last frame", garbage})
	payloadZeros := bytes.Clone(data)
	clear(payloadZeros[last+frameHeaderSize+3:])
	vs = append(vs, variant{"payload half zeros", payloadZeros})
	vs = append(vs, variant{"trailing zeros after last frame", append(bytes.Clone(data), make([]byte, 100)...)})

	for _, v := range vs {
		t.Run(v.name, func(t *testing.T) {
			got, err := scan(v.data)
			var ce *CorruptCheckpointError
			if !errors.As(err, &ce) || !ce.Torn {
				t.Fatalf("err = %v, want a torn-tail error", err)
			}
			wantOff := last
			if v.name == "trailing zeros after last frame" {
				wantOff = int64(len(data))
			}
			if ce.Offset != wantOff || len(got) != int(len(offs)-1) && wantOff == last {
				t.Fatalf("torn at offset %d after %d entries, want offset %d", ce.Offset, len(got), wantOff)
			}
		})
	}
}

// A flipped byte anywhere in an entry that valid entries follow is
// corruption, never a torn tail, and names that entry's offset.
func TestScanCheckpoints_FlippedByteBeforeTailIsCorruptWithOffset(t *testing.T) {
	data, offs := framesFile(3)
	for i := offs[1]; i < offs[2]; i++ {
		for _, mask := range []byte{0x01, 0x80, 0xff} {
			bad := bytes.Clone(data)
			bad[i] ^= mask
			got, err := scan(bad)
			var ce *CorruptCheckpointError
			if !errors.As(err, &ce) {
				t.Fatalf("flip byte %d by %#x: err = %v, want corruption", i, mask, err)
			}
			if ce.Torn || ce.Offset != offs[1] || len(got) != 1 {
				t.Fatalf("flip byte %d by %#x: %v after %d entries; want corrupt entry at offset %d", i, mask, err, len(got), offs[1])
			}
		}
	}
}

func TestScanCheckpoints_TailLongerThanOneFrameIsCorrupt(t *testing.T) {
	data, offs := framesFile(2)
	bad := append(bytes.Clone(data[:offs[1]]), bytes.Repeat([]byte{0xAB}, maxFrameSize+10)...)
	_, err := scan(bad)
	var ce *CorruptCheckpointError
	if !errors.As(err, &ce) || ce.Torn {
		t.Fatalf("err = %v, want corruption", err)
	}
}

func TestReadCheckpoints_NamesOffsetAndRepairsNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), CheckpointsFile)
	data, offs := framesFile(4)
	data[offs[2]+frameHeaderSize] ^= 0x20
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := ReadCheckpoints(path)
	var ce *CorruptCheckpointError
	if !errors.As(err, &ce) || ce.Offset != offs[2] || ce.Path != path || len(got) != 2 {
		t.Fatalf("ReadCheckpoints = %d entries, %v; want 2 and corruption at %d", len(got), err, offs[2])
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("offset %d", offs[2])) {
		t.Fatalf("error %q does not name the offset", err)
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(after, data) {
		t.Fatal("ReadCheckpoints changed the file")
	}
	// Stopping the iterator early is fine.
	for range Checkpoints(path) {
		break
	}
	if _, err := ReadCheckpoints(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("ReadCheckpoints of a missing file succeeded")
	}
}

func TestOpen_TruncatesTornCheckpointTail(t *testing.T) {
	dir := t.TempDir()
	key := mustKey(t, "")
	history(t, dir, key, "a", 3, 6)
	path := filepath.Join(dir, CheckpointsFile)
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// A crash in the middle of the third append.
	third := signedTestCheckpoint(t, key, 9)
	torn := appendFrame(bytes.Clone(good), third, crc32.MakeTable(crc32.Castagnoli))
	torn = torn[:len(good)+frameHeaderSize+len(third)/2]
	if err := os.WriteFile(path, torn, 0o600); err != nil {
		t.Fatal(err)
	}
	l := mustOpen(t, dir, key)
	if after, _ := os.ReadFile(path); !bytes.Equal(after, good) {
		t.Fatalf("history is %d bytes after Open, want the %d good bytes", len(after), len(good))
	}
	if cp := mustVerify(t, l.Latest(), key.vkey); cp.Size != 6 {
		t.Fatalf("latest size %d, want 6", cp.Size)
	}
	mustAppend(t, l, "a", 0, 9)
	mustStart(t, l)
	mustCheckpoint(t, l)
	stored, err := ReadCheckpoints(path)
	if err != nil || len(stored) != 3 {
		t.Fatalf("history after new checkpoint = %d entries, %v", len(stored), err)
	}
}

func TestOpen_CorruptEarlierCheckpointFailsNamingOffset(t *testing.T) {
	dir := t.TempDir()
	key := mustKey(t, "")
	history(t, dir, key, "a", 3, 6, 9)
	path := filepath.Join(dir, CheckpointsFile)
	stored, err := ReadCheckpoints(path)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	data[stored[1].Offset+frameHeaderSize+5] ^= 0x04
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Open(Options{Dir: dir, SignerKey: key.skey, Logger: quietLogger()})
	want := fmt.Sprintf("corrupt entry at offset %d", stored[1].Offset)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Open = %v, want %q", err, want)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, data) {
		t.Fatal("Open modified a corrupt history")
	}
}

func TestOpen_LatestCheckpointWithBadSignatureFails(t *testing.T) {
	dir := t.TempDir()
	key := mustKey(t, "")
	history(t, dir, key, "a", 3)
	path := filepath.Join(dir, CheckpointsFile)
	// A well-framed entry whose note was signed by someone else.
	stranger := signedTestCheckpoint(t, mustKey(t, ""), 5)
	data, _ := os.ReadFile(path)
	off := len(data)
	data = appendFrame(data, stranger, crc32.MakeTable(crc32.Castagnoli))
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Open(Options{Dir: dir, SignerKey: key.skey, Logger: quietLogger()})
	want := fmt.Sprintf("latest entry at offset %d is not signed by key", off)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Open = %v, want %q", err, want)
	}
}

func TestOpen_HistoryWithShrinkingSizeFails(t *testing.T) {
	dir := t.TempDir()
	key := mustKey(t, "")
	history(t, dir, key, "a", 5)
	path := filepath.Join(dir, CheckpointsFile)
	data, _ := os.ReadFile(path)
	off := len(data)
	data = appendFrame(data, signedTestCheckpoint(t, key, 4), crc32.MakeTable(crc32.Castagnoli))
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Open(Options{Dir: dir, SignerKey: key.skey, Logger: quietLogger()})
	want := fmt.Sprintf("offset %d commits to size 4, smaller than 5", off)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Open = %v, want %q", err, want)
	}
}
