package archive

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestDedup_InFlightAppendIsWaitedFor(t *testing.T) {
	var content, idem [32]byte
	content[0], idem[0] = 1, 2
	for _, tc := range []struct {
		name    string
		ownErr  error // how the first append ends
		wantDup bool  // what the waiters see
	}{
		{"first append succeeds: waiters are its duplicates", nil, true},
		{"first append fails: one waiter takes over", errors.New("disk full"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDedup()
			p, _, dup, err := d.begin(t.Context(), idem, content)
			if err != nil || dup || p == nil {
				t.Fatalf("first begin: %v %v %v", p, dup, err)
			}
			type outcome struct {
				p   *pending
				seq uint64
				dup bool
			}
			got := make(chan outcome, 5)
			var wg sync.WaitGroup
			for range 5 {
				wg.Go(func() {
					q, seq, dup, err := d.begin(t.Context(), idem, content)
					if err != nil {
						t.Error(err)
					}
					got <- outcome{q, seq, dup}
					if q != nil { // the new owner stores it
						d.finish(q, idem, content, false, 9, nil)
					}
				})
			}
			time.Sleep(10 * time.Millisecond) // let them wait on p
			d.finish(p, idem, content, false, 7, tc.ownErr)
			wg.Wait()
			close(got)
			owners := 0
			for o := range got {
				switch {
				case o.p != nil:
					owners++
				case !o.dup:
					t.Errorf("neither owner nor duplicate: %+v", o)
				case tc.wantDup && o.seq != 7, !tc.wantDup && o.seq != 9:
					t.Errorf("duplicate of seq %d", o.seq)
				}
			}
			if want := map[bool]int{true: 0, false: 1}[tc.wantDup]; owners != want {
				t.Fatalf("%d waiters became owners, want %d", owners, want)
			}
		})
	}
}

func TestDedup_FirstClaimAndConflict(t *testing.T) {
	var idem, c1, c2, c3 [32]byte
	idem[0], c1[0], c2[0], c3[0] = 1, 2, 3, 4
	d := newDedup()
	p1, _, _, _ := d.begin(t.Context(), idem, c1)
	if _, claimed, err := d.claimFirst(t.Context(), idem, p1); err != nil || !claimed {
		t.Fatalf("first claim: %v %v", claimed, err)
	}
	// A second content of the same id while the first is in flight waits,
	// then is a conflict with the first's record.
	p2, _, _, _ := d.begin(t.Context(), idem, c2)
	done := make(chan struct{})
	go func() {
		defer close(done)
		first, claimed, err := d.claimFirst(t.Context(), idem, p2)
		if err != nil || claimed || first != 11 {
			t.Errorf("second claim = %d %v %v, want a conflict with 11", first, claimed, err)
		}
		d.finish(p2, idem, c2, claimed, 12, nil)
	}()
	time.Sleep(10 * time.Millisecond)
	d.finish(p1, idem, c1, true, 11, nil)
	<-done
	// Both pairs are stored; the id's first record stays 11.
	for c, want := range map[[32]byte]uint64{c1: 11, c2: 12} {
		if _, seq, dup, _ := d.begin(t.Context(), idem, c); !dup || seq != want {
			t.Errorf("pair stored as %d (dup %v), want %d", seq, dup, want)
		}
	}
	// A first append that fails leaves the id unclaimed.
	var idem2 [32]byte
	idem2[0] = 9
	p3, _, _, _ := d.begin(t.Context(), idem2, c3)
	d.claimFirst(t.Context(), idem2, p3)
	d.finish(p3, idem2, c3, true, 0, errors.New("fsync failed"))
	p4, _, dup, _ := d.begin(t.Context(), idem2, c3)
	if dup {
		t.Fatal("a failed append was remembered as stored")
	}
	if _, claimed, _ := d.claimFirst(t.Context(), idem2, p4); !claimed {
		t.Fatal("a failed first append kept its claim")
	}
}

func TestDedup_WaitEndsWithContext(t *testing.T) {
	var idem, content [32]byte
	d := newDedup()
	if _, _, _, err := d.begin(t.Context(), idem, content); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
	defer cancel()
	if _, _, _, err := d.begin(ctx, idem, content); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the context's", err)
	}
}

func TestKeyedHash_SameFromAReusedHMACAsFromScratch(t *testing.T) {
	a := &Archive{dedupKey: []byte("0123456789abcdef0123456789abcdef")}
	for _, tc := range []struct{ domain, in string }{
		{"idempotency", "wa\x00wamid.1\x00message"},
		{"idempotency", "wa\x00wamid.2\x00message"},
		{"content", ""},
		{"content", `{"channel":"wa"}`},
	} {
		m := hmac.New(sha256.New, a.dedupKey)
		m.Write([]byte(tc.domain + "\x00" + tc.in))
		want := m.Sum(nil)
		for range 2 { // the first call keys an HMAC, the second reuses it
			if got := a.keyedHash(tc.domain, []byte(tc.in)); !bytes.Equal(got[:], want) {
				t.Fatalf("keyedHash(%q, %q) = %x, want %x", tc.domain, tc.in, got, want)
			}
		}
	}
}

func TestDedup_ReplayAndCutHashes(t *testing.T) {
	var idem, c1, c2 [32]byte
	idem[0], c1[0], c2[0] = 1, 2, 3
	d := newDedup()
	// A journal holding an id's first record, a conflicting version, and
	// the first again (kept at its earliest seq).
	d.learn(idem, c1, 1)
	d.learn(idem, c2, 2)
	d.learn(idem, c1, 3)
	d.replayed()
	for c, want := range map[[32]byte]uint64{c1: 1, c2: 2} {
		if _, seq, dup, _ := d.begin(t.Context(), idem, c); !dup || seq != want {
			t.Errorf("after replay: seq %d dup %v, want %d", seq, dup, want)
		}
	}
	// Two ids alike in their first 128 bits (their contents differ: the
	// content hash covers the id): the second is stored as a conflict of
	// the first, never taken for its duplicate.
	other, c3 := idem, c1
	other[31], c3[0] = 0xff, 9
	p, _, dup, _ := d.begin(t.Context(), other, c3)
	if dup {
		t.Fatal("an id that differs after 128 bits was taken for a duplicate")
	}
	if first, claimed, _ := d.claimFirst(t.Context(), other, p); claimed || first != 1 {
		t.Fatalf("claim = %d %v, want a conflict with 1", first, claimed)
	}
	d.finish(p, other, c3, false, 4, nil)
	if _, seq, dup, _ := d.begin(t.Context(), other, c3); !dup || seq != 4 {
		t.Fatalf("its retry: seq %d dup %v, want 4", seq, dup)
	}
}

// dedupModel is what dedup must answer, kept the plain way.
type dedupModel struct {
	first map[[16]byte]firstRecord
	pairs map[[32]byte]uint64
}

func (m *dedupModel) add(idem, content [32]byte, seq uint64) {
	if _, ok := m.first[cut(idem)]; !ok {
		m.first[cut(idem)] = firstRecord{seq: seq, content: cut(content)}
	}
	if _, ok := m.pairs[pairKey(idem, content)]; !ok {
		m.pairs[pairKey(idem, content)] = seq
	}
}

// TestDedup_SortedTableAndMergesAgreeWithAMap replays journals of several
// sizes (ids retried and conflicting), then commits more through the
// ordinary path with merges into new tables starting every few ids, and
// checks after each step that every pair and id is answered as a plain
// map would, and that unknown ones are not found — also while a merge is
// in progress.
func TestDedup_SortedTableAndMergesAgreeWithAMap(t *testing.T) {
	for _, tc := range []struct {
		name              string
		replay, live, ids int
		mergeMin          int
		merges            bool
	}{
		{"empty journal, merges", 0, 300, 100, 16, true},
		{"one record", 1, 50, 10, 4, true},
		{"small journal", 200, 400, 600, 32, true},
		{"journal of several chunks", 3*replayChunkEntries + 17, 100_000, 400_000, 500, true},
		{"no merge", 5000, 100, 3000, defaultMergeMin, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(tc.replay), uint64(tc.live)))
			pick := func() (idem, content [32]byte) {
				i, c := rng.IntN(tc.ids), rng.IntN(3) // three versions per id: retries and conflicts
				binary.BigEndian.PutUint64(idem[:], uint64(i)*0x9e3779b97f4a7c15)
				idem[8] = byte(i)
				content = sha256.Sum256(append(idem[:], byte(c)))
				return idem, content
			}
			d := newDedup()
			d.mergeMin = tc.mergeMin
			m := &dedupModel{first: map[[16]byte]firstRecord{}, pairs: map[[32]byte]uint64{}}
			seq := uint64(0)
			for range tc.replay {
				idem, content := pick()
				d.learn(idem, content, seq)
				m.add(idem, content, seq)
				seq++
			}
			d.replayed()
			check := func(when string) {
				t.Helper()
				d.mu.Lock()
				defer d.mu.Unlock()
				for id, want := range m.first {
					if got, ok := d.firstLocked(id); !ok || got != want {
						t.Fatalf("%s: first record of %x = %+v %v, want %+v", when, id, got, ok, want)
					}
				}
				for i := range 50 { // ids never stored
					var id [16]byte
					id[15], id[14], id[0] = byte(i), 0xee, byte(rng.Uint32())
					if _, ok := d.firstLocked(id); ok {
						t.Fatalf("%s: unknown id %x found", when, id)
					}
				}
			}
			check("after replay")
			for i := range tc.live {
				idem, content := pick()
				p, got, dup, err := d.begin(t.Context(), idem, content)
				if err != nil {
					t.Fatal(err)
				}
				want, stored := m.pairs[pairKey(idem, content)]
				if dup != stored || dup && got != want {
					t.Fatalf("live %d: begin = seq %d dup %v, want seq %d stored %v", i, got, dup, want, stored)
				}
				if dup {
					continue
				}
				firstSeq, claimed, err := d.claimFirst(t.Context(), idem, p)
				if err != nil {
					t.Fatal(err)
				}
				if f, ok := m.first[cut(idem)]; claimed == ok || ok && firstSeq != f.seq {
					t.Fatalf("live %d: claim = %d %v, model's first %+v %v", i, firstSeq, claimed, f, ok)
				}
				d.finish(p, idem, content, claimed, seq, nil)
				m.add(idem, content, seq)
				seq++
				if i%(tc.live/8+1) == 0 {
					check(fmt.Sprintf("live %d", i)) // a merge may be running
				}
			}
			d.mu.Lock()
			merged := d.merged
			d.mu.Unlock()
			if merged != nil {
				<-merged
			}
			check("at the end")
			d.mu.Lock()
			defer d.mu.Unlock()
			if tc.merges != (merged != nil) {
				t.Fatalf("merged %v, want %v", merged != nil, tc.merges)
			}
			if n := d.table.len() + len(d.ids) + len(d.merging); n != len(m.first) {
				t.Fatalf("%d ids kept, want %d", n, len(m.first))
			}
		})
	}
}

func TestSortEntries_SameAsSortingTheWhole(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 2, 9, 1000, 70_000} {
		var chunks [][]firstEntry
		var all []firstEntry
		for len(all) < n {
			c := make([]firstEntry, min(rng.IntN(5000)+1, n-len(all)))
			for i := range c {
				binary.BigEndian.PutUint64(c[i].id[:], rng.Uint64()>>rng.IntN(3)) // some runs crowded
				c[i].id[9] = byte(rng.IntN(2))
				c[i].seq = uint64(rng.IntN(4))
			}
			chunks = append(chunks, c)
			all = append(all, c...)
		}
		slices.SortFunc(all, compareEntries)
		got := sortEntries(chunks)
		if !slices.Equal(got, all) {
			t.Fatalf("n=%d: sortEntries differs from sorting the whole", n)
		}
		tab := newFirstTable(got)
		for _, e := range all {
			if f, ok := tab.find(e.id); !ok || f.seq > e.seq && f.content == e.content {
				t.Fatalf("n=%d: %x not found (%+v %v)", n, e.id, f, ok)
			}
		}
	}
}
