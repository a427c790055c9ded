package archive

import (
	"encoding/json"
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
	byKey map[string][]T
	order []string // oldest first, for eviction
	size  map[string]int64
	total int64
}

// get returns the list blob ref holds, from the cache or by calling read
// (which checks it against the record's digest) and decoding it.
func (c *listCache[T]) get(ref *onrecord.Attachment, read func() ([]byte, error)) ([]T, error) {
	c.mu.Lock()
	r, ok := c.byKey[ref.Blob]
	c.mu.Unlock()
	if ok {
		return r, nil
	}
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
		c.byKey, c.size = make(map[string][]T), make(map[string]int64)
	}
	if _, ok := c.byKey[ref.Blob]; ok {
		return r, nil // put by a concurrent reader
	}
	for c.total+n > limit && len(c.order) > 0 {
		old := c.order[0]
		c.order = c.order[1:]
		c.total -= c.size[old]
		delete(c.byKey, old)
		delete(c.size, old)
	}
	c.byKey[ref.Blob], c.size[ref.Blob] = r, n
	c.order = append(c.order, ref.Blob)
	c.total += n
	return r, nil
}
