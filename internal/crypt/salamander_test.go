package crypt

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/onrecord/onrecord/record"
)

// gf is an element of GF(2^128) in GCM's bit order (NIST SP 800-38D §6.3):
// hi holds bytes 0-7 big-endian, and the most significant bit of byte 0 is
// the coefficient of x^0.
type gf struct{ hi, lo uint64 }

func gfFromBlock(b []byte) gf {
	return gf{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:16])}
}

func (a gf) block() []byte {
	b := make([]byte, 16)
	binary.BigEndian.PutUint64(b[:8], a.hi)
	binary.BigEndian.PutUint64(b[8:], a.lo)
	return b
}

func (a gf) add(b gf) gf { return gf{a.hi ^ b.hi, a.lo ^ b.lo} }

// mul is SP 800-38D Algorithm 1.
func (a gf) mul(b gf) gf {
	var z gf
	v := b
	for i := range 128 {
		var bit uint64
		if i < 64 {
			bit = a.hi >> (63 - i) & 1
		} else {
			bit = a.lo >> (127 - i) & 1
		}
		if bit == 1 {
			z = z.add(v)
		}
		carry := v.lo & 1
		v.lo = v.lo>>1 | v.hi<<63
		v.hi >>= 1
		if carry == 1 {
			v.hi ^= 0xe1 << 56
		}
	}
	return z
}

// inv is a^(2^128-2), the inverse of a non-zero a.
func (a gf) inv() gf {
	result := gf{hi: 1 << 63} // the element 1
	base := a
	// 2^128-2 has every bit set except bit 0.
	for i := range 128 {
		if i > 0 {
			result = result.mul(base)
		}
		base = base.mul(base)
	}
	return result
}

// ghash over padded aad, padded ciphertext and the length block.
func ghash(h gf, aad, ct []byte) gf {
	var y gf
	absorb := func(data []byte) {
		for len(data) > 0 {
			var blk [16]byte
			n := copy(blk[:], data)
			data = data[n:]
			y = y.add(gfFromBlock(blk[:])).mul(h)
		}
	}
	absorb(aad)
	absorb(ct)
	var l [16]byte
	binary.BigEndian.PutUint64(l[:8], uint64(len(aad))*8)
	binary.BigEndian.PutUint64(l[8:], uint64(len(ct))*8)
	return y.add(gfFromBlock(l[:])).mul(h)
}

// salamander builds one 16-byte ciphertext and tag that AES-GCM accepts under
// both k1 and k2 with the same nonce and aad: the tag equations are linear in
// the ciphertext block, so one block is solved for.
func salamander(t *testing.T, k1, k2 []byte, nonce [12]byte, aad []byte) []byte {
	t.Helper()
	var h [2]gf
	var s [2]gf
	for i, k := range [][]byte{k1, k2} {
		blk, err := aes.NewCipher(k)
		if err != nil {
			t.Fatal(err)
		}
		var zero, hb, j0, sb [16]byte
		blk.Encrypt(hb[:], zero[:])
		copy(j0[:], nonce[:])
		j0[15] = 1
		blk.Encrypt(sb[:], j0[:])
		h[i], s[i] = gfFromBlock(hb[:]), gfFromBlock(sb[:])
	}
	zeroCT := make([]byte, 16)
	g1, g2 := ghash(h[0], aad, zeroCT), ghash(h[1], aad, zeroCT)
	// The ciphertext block is the second-to-last GHASH input, so its
	// coefficient is H^2: c·(H1²+H2²) = G1+G2+S1+S2.
	d := h[0].mul(h[0]).add(h[1].mul(h[1]))
	c := g1.add(g2).add(s[0]).add(s[1]).mul(d.inv())
	tag := c.mul(h[0].mul(h[0])).add(g1).add(s[0])
	return append(c.block(), tag.block()...)
}

func TestOpenWithRecordKey_InvisibleSalamanderIsRefused(t *testing.T) {
	s, _, _ := newTestSealer(t)
	honest := mustSeal(t, s, record.KindEvent, day0, "general", []byte("placeholder"))
	rk1, err := s.RecordKey(honest)
	if err != nil {
		t.Fatal(err)
	}
	rk2 := bytes.Repeat([]byte{0x42}, RecordKeySize) // the dishonest second key
	k1, c1 := deriveSealKeys(rk1)
	k2, _ := deriveSealKeys(rk2)

	// An envelope committed to rk1 whose ciphertext is valid GCM under
	// both AEAD keys.
	env := &record.Envelope{Kind: honest.Kind, ID: honest.ID, Time: honest.Time, Bucket: honest.Bucket, KeyCommitment: c1, Nonce: honest.Nonce}
	env.Ciphertext = salamander(t, k1, k2, env.Nonce, env.AAD())

	// Prove the attack is real: plain AES-GCM accepts both keys and yields
	// two different plaintexts.
	var plains [2][]byte
	for i, k := range [][]byte{k1, k2} {
		aead, err := newGCM(k)
		if err != nil {
			t.Fatal(err)
		}
		plains[i], err = aead.Open(nil, env.Nonce[:], env.Ciphertext, env.AAD())
		if err != nil {
			t.Fatalf("test construction broken: GCM rejects the salamander under key %d: %v", i+1, err)
		}
	}
	if bytes.Equal(plains[0], plains[1]) {
		t.Fatal("test construction broken: both keys give the same plaintext")
	}

	// With commitment: the committed key opens it, the second key is refused.
	if got, err := OpenWithRecordKey(env, rk1); err != nil || !bytes.Equal(got, plains[0]) {
		t.Fatalf("committed key: %x, %v; want %x", got, err, plains[0])
	}
	if got, err := OpenWithRecordKey(env, rk2); !errors.Is(err, ErrKeyCommitment) {
		t.Fatalf("second key of a salamander: got %x, %v; want ErrKeyCommitment", got, err)
	}
}

func TestGF_InverseIsInverse(t *testing.T) {
	a := gf{0x0123456789abcdef, 0xfedcba9876543210}
	if got := a.mul(a.inv()); got != (gf{hi: 1 << 63}) {
		t.Fatalf("a·a⁻¹ = %x, want 1", got.block())
	}
	// Cross-check mul against the standard library: GHASH of one block
	// equals the tag minus E_K(J0) for an empty plaintext with that aad.
	key := bytes.Repeat([]byte{1}, 32)
	blk, _ := aes.NewCipher(key)
	aead, _ := cipher.NewGCM(blk)
	nonce := make([]byte, 12)
	aad := []byte("sixteen byte aad")
	tag := aead.Seal(nil, nonce, nil, aad)
	var zero, hb, j0, sb [16]byte
	blk.Encrypt(hb[:], zero[:])
	j0[15] = 1
	blk.Encrypt(sb[:], j0[:])
	if got := ghash(gfFromBlock(hb[:]), aad, nil).add(gfFromBlock(sb[:])); !bytes.Equal(got.block(), tag) {
		t.Fatalf("test GHASH disagrees with crypto/cipher: %x vs %x", got.block(), tag)
	}
}
