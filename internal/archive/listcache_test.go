package archive

import (
	"encoding/json"
	"errors"
	"fmt"
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
