package users

import "crypto/sha512"

// sha512-crypt (Ulrich Drepper, "Unix crypt using SHA-256 and SHA-512",
// the $6$ of glibc and libxcrypt), written here rather than taken from a
// library because verifying an imported $6$ hash is the whole cost of a
// RADIUS PAP login: this version hashes each round's input in one call
// into a buffer made once per verification, so the 5,000 rounds allocate
// nothing, where a general-purpose implementation allocates a hash state
// and a digest per round and runs about a third slower than libcrypt.

// sha512CryptDefaultRounds is the rounds of a $6$ hash without rounds=N.
const sha512CryptDefaultRounds = 5000

// sha512CryptSum returns the 64-byte digest of key under salt (at most 16
// bytes, as the stored hash carries it) after rounds rounds: steps 1 to 21
// of the specification. Its buffers are made once per call; the rounds
// allocate nothing.
func sha512CryptSum(key, salt []byte, rounds int) [64]byte {
	kl, sl := len(key), len(salt)

	// B = H(key salt key)
	in := make([]byte, 0, 2*kl+sl+64)
	in = append(append(append(in, key...), salt...), key...)
	b := sha512.Sum512(in)

	// A = H(key salt, B for each byte of key, then B or key for each bit
	// of the key's length, lowest first)
	in = append(append(in[:0], key...), salt...)
	n := kl
	for ; n > 64; n -= 64 {
		in = append(in, b[:]...)
	}
	in = append(in, b[:n]...)
	for n = kl; n > 0; n >>= 1 {
		if n&1 != 0 {
			in = append(in, b[:]...)
		} else {
			in = append(in, key...)
		}
	}
	a := sha512.Sum512(in)

	// P: the digest of key repeated len(key) times, itself repeated to
	// len(key) bytes. S: the digest of salt repeated 16+A[0] times, cut
	// to len(salt) bytes.
	// Streamed: key repeated len(key) times is up to 16 MiB.
	h := sha512.New()
	for range kl {
		h.Write(key)
	}
	var dp, ds [64]byte
	h.Sum(dp[:0])
	p := make([]byte, kl)
	for i := 0; i < kl; i += 64 {
		copy(p[i:], dp[:])
	}
	h.Reset()
	for range 16 + int(a[0]) {
		h.Write(salt)
	}
	h.Sum(ds[:0])
	s := ds[:sl]

	// The rounds: C = H((P or A) [S] [P] (A or P)); A = C.
	round := make([]byte, 0, 2*kl+sl+64)
	for i := range rounds {
		in := round
		if i&1 != 0 {
			in = append(in, p...)
		} else {
			in = append(in, a[:]...)
		}
		if i%3 != 0 {
			in = append(in, s...)
		}
		if i%7 != 0 {
			in = append(in, p...)
		}
		if i&1 != 0 {
			in = append(in, a[:]...)
		} else {
			in = append(in, p...)
		}
		a = sha512.Sum512(in)
	}
	return a
}

// sha512CryptEncode writes the digest as the 86 characters of a $6$
// hash's checksum: crypt's base64, in the byte order the specification
// fixes (groups of three bytes 21 apart, rotated).
func sha512CryptEncode(d *[64]byte) [86]byte {
	const alphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	var out [86]byte
	o := 0
	put := func(w uint32, n int) {
		for range n {
			out[o] = alphabet[w&0x3f]
			o++
			w >>= 6
		}
	}
	for k := range 21 {
		x, y, z := d[k], d[k+21], d[k+42]
		switch k % 3 {
		case 1:
			x, y, z = y, z, x
		case 2:
			x, y, z = z, x, y
		}
		put(uint32(x)<<16|uint32(y)<<8|uint32(z), 4)
	}
	put(uint32(d[63]), 2)
	return out
}
