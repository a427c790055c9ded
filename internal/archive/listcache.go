package archive

import (
	"encoding/json"
	"slices"
	"sync"

	"github.com/onrecord/onrecord"
)

// listCacheBytes bounds the lists kept decoded, by their encoded size. A
// group's messages all refer to the roster blob of the membership in
// force (and a member's messages to the group, to one recipients blob),
// so reading a stretch of the archive (an export, a rebuild of the index,
// a verification) would otherwise read and decrypt the same blob once per
// message.
const listCacheBytes = 32 << 20

// listCache holds the latest lists (rosters, recipients) read from their
// blobs, by blob address: an address is a keyed hash of the list, so a
// hit is the same list. Decoded lists are shared by every event they are
// put in; nothing that reads the archive changes one.
type listCache[T any] struct {
	max   int64 // listCacheBytes when 0
	mu    sync.Mutex
	byKey map[string]cachedList[T]
	order []string // oldest first, for eviction
	total int64
}

// cachedList is a decoded list and the size of its encoding.
type cachedList[T any] struct {
	items []T
	size  int64
}

// get returns the list blob ref holds, from the cache or by calling read
// (which checks it against the record's digest) and decoding it.
func (c *listCache[T]) get(ref *onrecord.Attachment, read func() ([]byte, error)) ([]T, error) {
	c.mu.Lock()
	hit, ok := c.byKey[ref.Blob]
	c.mu.Unlock()
	if ok {
		return hit.items, nil
	}
	var r []T
	b, err := read()
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	n, limit := int64(len(b)), c.max
	if limit == 0 {
		limit = listCacheBytes
	}
	if n > limit/4 {
		return r, nil // one list would crowd out the others
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byKey == nil {
		c.byKey = make(map[string]cachedList[T])
	}
	if _, ok := c.byKey[ref.Blob]; ok {
		return r, nil // put by a concurrent reader
	}
	for c.total+n > limit && len(c.order) > 0 {
		old := c.order[0]
		c.order = c.order[1:]
		c.total -= c.byKey[old].size
		delete(c.byKey, old)
	}
	c.byKey[ref.Blob] = cachedList[T]{items: r, size: n}
	c.order = append(c.order, ref.Blob)
	c.total += n
	return r, nil
}

// sealedListsKept is how many lists of each kind listRefs remembers: the
// large groups whose messages are being captured at the same time.
const sealedListsKept = 16

// listRefs remembers the lists (rosters, recipients) last stored as blobs
// and the attachment each was stored as. Every message of a large group
// carries the same roster, and encoding 2,000 members and hashing and
// sealing the result twice over took 0.85 ms of CPU per message
// (BenchmarkAppendGroupMessage); comparing with a list seen before takes a
// few µs, as the members' strings are mostly the very same memory. A list
// is only reused when equal item by item, so a changed roster is stored
// anew; blobs are never deleted, so a remembered one is still durable.
type listRefs[T comparable] struct {
	mu    sync.Mutex
	lists [sealedListsKept][]T
	refs  [sealedListsKept]*onrecord.Attachment
	next  int
}

// find returns the attachment items were stored as, if they were lately.
func (l *listRefs[T]) find(items []T) *onrecord.Attachment {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, kept := range l.lists {
		if len(kept) == len(items) && slices.Equal(kept, items) {
			return l.refs[i]
		}
	}
	return nil
}

// keep remembers that items were stored as ref; it copies items, which
// the caller may change afterwards.
func (l *listRefs[T]) keep(items []T, ref *onrecord.Attachment) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lists[l.next], l.refs[l.next] = slices.Clone(items), ref
	l.next = (l.next + 1) % sealedListsKept
}
