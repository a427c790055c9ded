package archive

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
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

func TestKeyedHash_SameFromTheKeyedStateAsFromScratch(t *testing.T) {
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
		for range 2 { // the first call keys the state, the second reuses it
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
