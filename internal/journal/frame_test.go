package journal

import (
	"bytes"
	"testing"

	"pgregory.net/rapid"
)

func encodeLog(payloads [][]byte) (log []byte, ends []int) {
	for _, p := range payloads {
		log = appendFrame(log, p)
		ends = append(ends, len(log))
	}
	return log, ends
}

// scanBuf decodes frames from the start of b and classifies what follows,
// as recovery does for one segment body.
func scanBuf(b []byte) (records int, end int, kind tailKind) {
	for end < len(b) {
		_, n, st := decodeFrame(b[end:])
		if st != frameOK {
			break
		}
		records++
		end += n
	}
	kind, _, _ = classifyTail(b[end:])
	return records, end, kind
}

func TestFrame_RoundTrip(t *testing.T) {
	for _, p := range [][]byte{nil, {}, []byte("x"), bytes.Repeat([]byte{0}, 1000), bytes.Repeat([]byte{0xff}, 70000)} {
		b := appendFrame(nil, p)
		data, n, st := decodeFrame(b)
		if st != frameOK || n != len(b) || !bytes.Equal(data, p) {
			t.Fatalf("decode(%d-byte payload) = %v, %d", len(p), st, n)
		}
	}
	if _, _, st := decodeFrame(make([]byte, 64)); st == frameOK {
		t.Fatal("zeros decoded as a frame")
	}
}

func TestSegmentHeader_RoundTripAndRejectsDamage(t *testing.T) {
	h := encodeSegmentHeader(12345)
	if first, reason := decodeSegmentHeader(h[:]); reason != "" || first != 12345 {
		t.Fatalf("decode = %d, %q", first, reason)
	}
	for i := range h {
		d := h
		d[i] ^= 1
		if _, reason := decodeSegmentHeader(d[:]); reason == "" {
			t.Fatalf("flipping byte %d of the header went unnoticed", i)
		}
	}
	if _, reason := decodeSegmentHeader(h[:10]); reason == "" {
		t.Fatal("short header accepted")
	}
	if n, ok := parseSegmentName(segmentName(12345)); !ok || n != 12345 {
		t.Fatalf("parseSegmentName(segmentName) = %d, %v", n, ok)
	}
	for _, bad := range []string{"1.seg", "0000000000000000000a.seg", "00000000000000000000.seq", "99999999999999999999.seg"} {
		if _, ok := parseSegmentName(bad); ok {
			t.Errorf("parseSegmentName(%q) accepted", bad)
		}
	}
}

// A log cut at any byte and padded with zeros (a crash during an append into
// preallocated space) is never reported as corruption, and every frame
// before the cut survives.
func TestRecovery_CutAnywhereIsNeverCorruption(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		payloads := rapid.SliceOfN(rapid.SliceOfN(rapid.Byte(), 0, 200), 1, 20).Draw(t, "payloads")
		log, ends := encodeLog(payloads)
		cut := rapid.IntRange(0, len(log)).Draw(t, "cut")
		pad := rapid.IntRange(0, 300).Draw(t, "pad")
		b := append(bytes.Clone(log[:cut]), make([]byte, pad)...)
		records, _, kind := scanBuf(b)
		if kind == tailCorrupt {
			t.Fatalf("cut at %d of %d classified as corruption", cut, len(log))
		}
		// Zero padding can complete a cut frame exactly when the missing
		// bytes were zeros: that frame is then intact, not corrupt.
		same := cut
		for same < len(b) && same < len(log) && b[same] == log[same] {
			same++
		}
		want := 0
		for _, e := range ends {
			if e <= same {
				want++
			}
		}
		if records != want {
			t.Fatalf("recovered %d records, want %d", records, want)
		}
	})
}

// A bit flipped in any frame but the last is always corruption, never a
// torn tail.
func TestRecovery_BitFlipBeforeTailIsCorruption(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		payloads := rapid.SliceOfN(rapid.SliceOfN(rapid.Byte(), 0, 200), 2, 20).Draw(t, "payloads")
		log, ends := encodeLog(payloads)
		victim := rapid.IntRange(0, len(ends)-2).Draw(t, "victim")
		start := 0
		if victim > 0 {
			start = ends[victim-1]
		}
		pos := rapid.IntRange(start, ends[victim]-1).Draw(t, "pos")
		bit := rapid.IntRange(0, 7).Draw(t, "bit")
		log[pos] ^= 1 << bit
		records, end, kind := scanBuf(log)
		if kind != tailCorrupt || records != victim || end != start {
			t.Fatalf("flip at %d in frame %d: %d records, end %d, kind %v", pos, victim, records, end, kind)
		}
	})
}

func FuzzFrameDecode(f *testing.F) {
	one := appendFrame(nil, []byte("hello"))
	two := appendFrame(bytes.Clone(one), []byte("world!"))
	f.Add([]byte{})
	f.Add(one)
	f.Add(two)
	f.Add(append(bytes.Clone(one), make([]byte, 40)...))
	f.Add(append(bytes.Clone(one), 0xde, 0xad, 0xbe, 0xef))
	f.Add(one[:len(one)-2])
	f.Add(two[3:])
	f.Add(append([]byte{1, 2, 3}, two...))
	f.Add(make([]byte, 32))
	f.Fuzz(func(t *testing.T, b []byte) {
		data, n, st := decodeFrame(b)
		if st == frameOK {
			if n < frameHeaderSize || n > len(b) || !bytes.Equal(appendFrame(nil, data), b[:n]) {
				t.Fatalf("decoded frame does not re-encode to its bytes (n=%d)", n)
			}
		} else if n != 0 || data != nil {
			t.Fatalf("failed decode returned data (status %v)", st)
		}

		kind, garbage, validAt := classifyTail(b)
		firstValid := -1
		for p := 1; p < len(b); p++ {
			if _, _, st := decodeFrame(b[p:]); st == frameOK {
				firstValid = p
				break
			}
		}
		switch kind {
		case tailZero:
			if bytes.ContainsFunc(b, func(r rune) bool { return r != 0 }) {
				t.Fatal("non-zero bytes classified as a zero tail")
			}
		case tailTorn:
			if firstValid >= 0 {
				t.Fatalf("torn tail, but a valid frame starts at %d", firstValid)
			}
			if garbage < 1 || garbage > len(b) || b[garbage-1] == 0 || lastNonZero(b) != garbage-1 {
				t.Fatalf("torn tail length %d wrong", garbage)
			}
		case tailCorrupt:
			if validAt != firstValid {
				t.Fatalf("corruption reports valid frame at %d, first is at %d", validAt, firstValid)
			}
		default:
			t.Fatalf("unknown tail kind %v", kind)
		}
	})
}
