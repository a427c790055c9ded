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
	var key, idem [32]byte
	key[0], idem[0] = 1, 2
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
			p, _, dup, err := d.begin(t.Context(), key)
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
					q, seq, dup, err := d.begin(t.Context(), key)
					if err != nil {
						t.Error(err)
					}
					got <- outcome{q, seq, dup}
					if q != nil { // the new owner stores it
						d.finish(q, key, idem, false, 9, nil)
					}
				})
			}
			time.Sleep(10 * time.Millisecond) // let them wait on p
			d.finish(p, key, idem, false, 7, tc.ownErr)
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
	var idem, k1, k2, k3 [32]byte
	idem[0], k1[0], k2[0], k3[0] = 1, 2, 3, 4
	d := newDedup()
	p1, _, _, _ := d.begin(t.Context(), k1)
	if _, claimed, err := d.claimFirst(t.Context(), idem, p1); err != nil || !claimed {
		t.Fatalf("first claim: %v %v", claimed, err)
	}
	// A second content of the same id while the first is in flight waits,
	// then is a conflict with the first's record.
	p2, _, _, _ := d.begin(t.Context(), k2)
	done := make(chan struct{})
	go func() {
		defer close(done)
		first, claimed, err := d.claimFirst(t.Context(), idem, p2)
		if err != nil || claimed || first != 11 {
			t.Errorf("second claim = %d %v %v, want a conflict with 11", first, claimed, err)
		}
		d.finish(p2, k2, idem, claimed, 12, nil)
	}()
	time.Sleep(10 * time.Millisecond)
	d.finish(p1, k1, idem, true, 11, nil)
	<-done
	// Both pairs are stored; the id's first record stays 11.
	for k, want := range map[[32]byte]uint64{k1: 11, k2: 12} {
		if _, seq, dup, _ := d.begin(t.Context(), k); !dup || seq != want {
			t.Errorf("pair stored as %d (dup %v), want %d", seq, dup, want)
		}
	}
	// A first append that fails leaves the id unclaimed.
	var idem2 [32]byte
	idem2[0] = 9
	p3, _, _, _ := d.begin(t.Context(), k3)
	d.claimFirst(t.Context(), idem2, p3)
	d.finish(p3, k3, idem2, true, 0, errors.New("fsync failed"))
	p4, _, dup, _ := d.begin(t.Context(), k3)
	if dup {
		t.Fatal("a failed append was remembered as stored")
	}
	if _, claimed, _ := d.claimFirst(t.Context(), idem2, p4); !claimed {
		t.Fatal("a failed first append kept its claim")
	}
}

func TestDedup_WaitEndsWithContext(t *testing.T) {
	var key [32]byte
	d := newDedup()
	if _, _, _, err := d.begin(t.Context(), key); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
	defer cancel()
	if _, _, _, err := d.begin(ctx, key); !errors.Is(err, context.DeadlineExceeded) {
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
