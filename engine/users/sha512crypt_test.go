package users

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/GehirnInc/crypt/sha512_crypt"
)

// sha512CryptVectors are the SHA-512 examples of Drepper's specification
// (with salts cut to 16 characters, as stored hashes carry them, and the
// "rounds too low" example at the 1000 it is raised to) and edge cases of
// key and salt length; every one was also produced by libxcrypt (Perl's
// crypt on Debian).
var sha512CryptVectors = []struct{ pw, hash string }{
	{"Hello world!", "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"},
	{"Hello world!", "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v."},
	{"This is just a test", "$6$rounds=5000$toolongsaltstrin$lQ8jolhgVRVhY4b5pZKaysCLi0QBxGoNeKQzQ3glMhwllF7oGDZxUhx1yxdYcz/e1JSbq3y6JMxxl8audkUEm0"},
	{"a very much longer text to encrypt.  This one even stretches over morethan one line.", "$6$rounds=1400$anotherlongsalts$POfYwTEok97VWcjxIiSOjiykti.o/pQs.wPvMxQ6Fm7I6IoYN3CmLs66x9t0oSwbtEW7o7UmJEiDwGqd8p4ur1"},
	{"we have a short salt string but not a short password", "$6$rounds=77777$short$WuQyW2YR.hBNpjjRhpYD/ifIw05xdfeEyQoMxIXbkvr0gge1a1x3yRULJ5CCaUeOxFmtlcGZelFl5CxtgfiAc0"},
	{"a short string", "$6$rounds=123456$asaltof16chars..$BtCwjqMJGx5hrJhZywWvt0RLE8uZ4oPwcelCjmw2kSYu.Ec6ycULevoBK25fs2xXgMNrCzIMVcgEJAstJeonj1"},
	{"the minimum number is still observed", "$6$rounds=1000$roundstoolow$kUMsbe306n21p9R.FRkW3IGn.S9NPN0x50YhH1xhLsPuWGsUSklZt58jaTfF4ZEQpyUNGc0dqbpBYYBaHHrsX."},
	{"", "$6$saltsalt$qkTgsCrWMTAS9gBGcf9W60sFfH.hU0oTCAOJjhbz5tSp/sU3/xXZK4OFwCtq8lIIdpJ6CatVdOTSHKp97TPkt/"},
	{strings.Repeat("x", 200), "$6$rounds=1001$a$Ivepu2OPEiK/ha9gYMn/lQjApYxPWjGXH3K9ap2H8ho0jISuqsugnioSZIUXO0pHFEHN/m1vnDzOlxVyumNbL1"},
	{strings.Repeat("p", 64), "$6$sixteencharsalt.$Y.15WfbW7hSFcIaheoMAOPyBYUKJIl1kqjgjOldJv80ouFH32hfdat9I2K7yiDTtOMLol8Vw7GLfDGBiXJcFz/"},
	{strings.Repeat("q", 65), "$6$rounds=5001$Z$XpR4GKEkJGx0JxJkexUH0Fn24qvQEbqpwoYHXBOCfVz9gDLuVcTQPIQPRTmniRkfCtOufkdr5PCYJ1IUA29RI0"},
}

func TestSHA512CryptVectors(t *testing.T) {
	for _, v := range sha512CryptVectors {
		h, err := parseSHA512(v.hash)
		if err != nil {
			t.Fatalf("%s: %v", v.hash, err)
		}
		sh := h.(*sha512Hash)
		d := sha512CryptSum([]byte(v.pw), sh.salt, sh.rounds)
		if got := sha512CryptEncode(&d); string(got[:]) != string(sh.sum) {
			t.Errorf("%q under %s:\n got %s\nwant %s", v.pw, v.hash[:strings.LastIndexByte(v.hash, '$')], got[:], sh.sum)
		}
		if ok, err := VerifyPassword(v.hash, v.pw); !ok || err != nil {
			t.Errorf("VerifyPassword(%s, %q) = %v, %v", v.hash, v.pw, ok, err)
		}
		if ok, _ := VerifyPassword(v.hash, v.pw+"x"); ok {
			t.Errorf("VerifyPassword(%s) took a wrong password", v.hash)
		}
	}
}

// TestSHA512CryptAgainstReference compares with an independent
// implementation over random keys (0 to 300 bytes, across the 64-byte
// block edges), salts (1 to 16 characters) and rounds.
func TestSHA512CryptAgainstReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const saltChars = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	n := 200
	if testing.Short() {
		n = 20
	}
	for i := range n {
		key := make([]byte, r.IntN(301))
		for j := range key {
			key[j] = byte(r.IntN(256))
		}
		salt := make([]byte, 1+r.IntN(16))
		for j := range salt {
			salt[j] = saltChars[r.IntN(len(saltChars))]
		}
		rounds := 1000 + r.IntN(200)
		if i%10 == 0 {
			rounds = sha512CryptDefaultRounds
		}
		want, err := sha512_crypt.New().Generate(key, []byte("$6$rounds="+strconv.Itoa(rounds)+"$"+string(salt)))
		if err != nil {
			t.Fatal(err)
		}
		d := sha512CryptSum(key, salt, rounds)
		if got := sha512CryptEncode(&d); string(got[:]) != want[strings.LastIndexByte(want, '$')+1:] {
			t.Fatalf("key %x salt %s rounds %d:\n got %s\nwant %s", key, salt, rounds, got[:], want)
		}
	}
}

func TestSHA512CryptRoundsAllocateNothing(t *testing.T) {
	key, salt := []byte("correct horse"), []byte("saltsalt")
	few := testing.AllocsPerRun(3, func() { sha512CryptSum(key, salt, 1000) })
	many := testing.AllocsPerRun(3, func() { sha512CryptSum(key, salt, 5000) })
	if many != few {
		t.Errorf("%v allocations at 1000 rounds, %v at 5000: the rounds allocate", few, many)
	}
}

// BenchmarkVerifySHA512 is the cost of one PAP login against an imported
// $6$ hash (glibc's default 5000 rounds), ours and the library's.
func BenchmarkVerifySHA512(b *testing.B) {
	const hash = "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"
	b.Run("authd", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if ok, _ := VerifyPassword(hash, "Hello world!"); !ok {
				b.Fatal("no match")
			}
		}
	})
	b.Run("GehirnInc", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := sha512_crypt.New().Generate([]byte("Hello world!"), []byte("$6$saltstring")); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestCheapHashesDoNotQueueBehindArgon: with every argon2id slot taken, a
// sha512-crypt or bcrypt login still goes through.
func TestCheapHashesDoNotQueueBehindArgon(t *testing.T) {
	for range cap(hashSlots) {
		hashSlots <- struct{}{}
	}
	defer func() {
		for range cap(hashSlots) {
			<-hashSlots
		}
	}()
	done := make(chan bool, 1)
	go func() {
		ok, _ := VerifyPassword(sha512CryptVectors[0].hash, sha512CryptVectors[0].pw)
		done <- ok
	}()
	select {
	case ok := <-done:
		if !ok {
			t.Fatal("no match")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a sha512-crypt verification waited for the argon2id slots")
	}
}
