package archive

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/onrecord/onrecord"
)

// TestListCache: a roster blob is read once while it is cached; the
// oldest rosters make way when the cache is full; a roster larger than a
// quarter of the cache is decoded but not kept; a failed read is an error
// and is not cached.
func TestListCache(t *testing.T) {
	member := func(i int) onrecord.GroupMember { return onrecord.GroupMember{Address: fmt.Sprintf("+1555%07d", i)} }
	blobs := map[string][]byte{}
	put := func(addr string, n int) *onrecord.Attachment {
		var r []onrecord.GroupMember
		for i := range n {
			r = append(r, member(i))
		}
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		blobs[addr] = b
		return &onrecord.Attachment{Blob: addr}
	}
	reads := map[string]int{}
	c := listCache[onrecord.GroupMember]{max: 1000}
	get := func(ref *onrecord.Attachment, want int) {
		t.Helper()
		r, err := c.get(ref, func() ([]byte, error) {
			reads[ref.Blob]++
			if b, ok := blobs[ref.Blob]; ok {
				return b, nil
			}
			return nil, errors.New("no such blob")
		})
		if err != nil || len(r) != want || (want > 0 && r[want-1] != member(want-1)) {
			t.Fatalf("%s: %d members, %v; want %d", ref.Blob, len(r), err, want)
		}
	}
	a, b, huge := put("a", 5), put("b", 5), put("huge", 20) // 120 bytes each; huge 480 of the 1000
	get(a, 5)
	get(a, 5)
	get(b, 5)
	if reads["a"] != 1 || reads["b"] != 1 {
		t.Fatalf("reads %v; want one each", reads)
	}
	get(huge, 20)
	get(huge, 20)
	if reads["huge"] != 2 {
		t.Fatalf("a roster over a quarter of the cache was read %d times; want every time (2)", reads["huge"])
	}
	var refs []*onrecord.Attachment
	for i := range 8 { // 8 × 120 bytes: a and b make way
		refs = append(refs, put(fmt.Sprint("r", i), 5))
		get(refs[i], 5)
	}
	get(a, 5)
	get(refs[7], 5)
	if reads["a"] != 2 || reads["r7"] != 1 || c.total > 1000 {
		t.Fatalf("reads %v, %d bytes cached; want a evicted, r7 kept, at most 1000", reads, c.total)
	}
	if _, err := c.get(&onrecord.Attachment{Blob: "gone"}, func() ([]byte, error) { return nil, errors.New("no such blob") }); err == nil {
		t.Fatal("a failed read gave a roster")
	}
}

// TestSealAttachments_ListsByEncodedSize: whether recipients go to a blob
// is decided by their size as encoded, not by how many there are.
func TestSealAttachments_ListsByEncodedSize(t *testing.T) {
	a := mustOpen(t, testConfig(t, t.TempDir()), nil)
	parties := func(n int, name string) []onrecord.Party {
		var p []onrecord.Party
		for i := range n {
			p = append(p, onrecord.Party{ID: fmt.Sprint(i), Name: name})
		}
		return p
	}
	for _, tc := range []struct {
		name       string
		recipients []onrecord.Party
		blob       bool
	}{
		{"one", parties(1, "Advisor"), false},
		{"three with long names", parties(3, strings.Repeat("n", 3000)), true},
		{"one whose name encodes six bytes a character", parties(1, strings.Repeat("<", 1400)), true},
		{"the same name's length in letters", parties(1, strings.Repeat("a", 1400)), false},
		{"500 short ones", parties(500, ""), false},
		{"2,000 short ones", parties(2000, ""), true},
	} {
		ev := event(0, "hello")
		ev.Recipients = tc.recipients
		sealed, err := a.sealAttachments(t.Context(), ev)
		if err != nil {
			t.Fatal(err)
		}
		if got := sealed.RecipientsBlob != nil; got != tc.blob || (got && sealed.Recipients != nil) {
			t.Errorf("%s: blob %v (recipients left %d), want %v", tc.name, got, len(sealed.Recipients), tc.blob)
		}
	}
}

// TestJSONMaxLen_NeverLessThanTheEncoding: jsonMaxLen bounds what
// appendJSONString writes, for strings made of every kind of byte it
// treats apart (plain, escaped, multi-byte, invalid, U+2028).
func TestJSONMaxLen_NeverLessThanTheEncoding(t *testing.T) {
	pieces := []string{"a", "Z", " ", "\"", "\\", "<", ">", "&", "\x00", "\x1f", "\x7f", "é", "日", "😀", "\u2028", "\u2029", "\xff", "\xe2\x82", "\xc3"}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20_000 {
		var b strings.Builder
		for range rng.IntN(12) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		s := b.String()
		if got, enc := jsonMaxLen(s), len(appendJSONString(nil, s))-2; got < enc {
			t.Fatalf("jsonMaxLen(%q) = %d, encoded %d", s, got, enc)
		}
	}
}
