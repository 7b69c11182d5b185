package users

import (
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// cheapArgon makes argon2id fast for tests that hash many times; the
// parameters travel in the hash, so verification is unaffected.
func cheapArgon(t testing.TB) {
	old := defaultArgon
	defaultArgon = argonParams{memory: 64, time: 1, threads: 1, saltLen: 16, keyLen: 32}
	t.Cleanup(func() { defaultArgon = old })
}

func TestHashPasswordDefaultFormat(t *testing.T) {
	h1, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`^\$argon2id\$v=19\$m=65536,t=3,p=2\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	if !re.MatchString(h1) {
		t.Fatalf("hash %q does not look like the documented PHC string", h1)
	}
	h2, _ := HashPassword("correct horse")
	if h1 == h2 {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
	if ok, err := VerifyPassword(h1, "correct horse"); !ok || err != nil {
		t.Errorf("round trip: %v, %v", ok, err)
	}
	if ok, err := VerifyPassword(h1, "correct horsE"); ok || err != nil {
		t.Errorf("wrong password: %v, %v", ok, err)
	}
}

func TestHashPasswordRejects(t *testing.T) {
	for _, pw := range []string{"", strings.Repeat("x", MaxPasswordLen+1)} {
		if _, err := HashPassword(pw); err == nil {
			t.Errorf("HashPassword of %d bytes: no error", len(pw))
		}
	}
}

// phc builds an argon2id PHC string the way other implementations (libsodium,
// argon2-cffi) emit it, independently of HashPassword.
func phc(pw, salt string, m, t uint32, p uint8) string {
	key := argon2.IDKey([]byte(pw), []byte(salt), t, m, p, 32)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$", m, t, p) +
		b64.EncodeToString([]byte(salt)) + "$" + b64.EncodeToString(key)
}

func TestVerifyPassword(t *testing.T) {
	cheapArgon(t)
	argonHash, err := HashPassword("s3cret")
	if err != nil {
		t.Fatal(err)
	}
	bc, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("L", 72)
	bcLong, _ := bcrypt.GenerateFromPassword([]byte(long), bcrypt.MinCost)
	bcrypt2a := string(bc)
	bcrypt2b := "$2b$" + bcrypt2a[4:]
	bcrypt2y := "$2y$" + bcrypt2a[4:]
	external := phc("s3cret", "0123456789abcdef", 1024, 2, 2)
	padded := external + "=" // some encoders pad; accepted

	// sha512-crypt vectors from Drepper's specification, confirmed with
	// `openssl passwd -6 -salt ...`.
	const (
		sha512Hello   = "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"
		sha512Rounds  = "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v."
		sha512Short   = "$6$rounds=6000$abc$6acz5UMKqZjIczsURGL2tD5S2mOp27ze4pwO5q1XLUnGWYuOfRaiuTPVtjGNAqQOEF/DOtnn3xXKh7bSt2BA5/"
		sha512Unicode = "$6$ab$MpxrX4b2nB2ONj1vFkTxO1WziUU7H5i50b94RpB.4R9rTnXToJEHZjpxG8xZMZoIP0oKonPlfDSUHBVy8G4yg."
	)
	cases := []struct {
		name, hash, pw string
		want           bool
	}{
		{"argon2id ok", argonHash, "s3cret", true},
		{"argon2id wrong", argonHash, "s3creT", false},
		{"argon2id empty password", argonHash, "", false},
		{"argon2id external ok", external, "s3cret", true},
		{"argon2id external wrong", external, "secret", false},
		{"argon2id padded base64", padded, "s3cret", true},
		{"bcrypt $2a$ ok", bcrypt2a, "s3cret", true},
		{"bcrypt $2b$ ok", bcrypt2b, "s3cret", true},
		{"bcrypt $2y$ ok", bcrypt2y, "s3cret", true},
		{"bcrypt wrong", bcrypt2a, "s3cre", false},
		{"bcrypt over 72 bytes is cut", string(bcLong), long + "ignored", true},
		{"bcrypt 71 bytes differ", string(bcLong), long[:71], false},
		{"sha512 Hello world", sha512Hello, "Hello world!", true},
		{"sha512 wrong", sha512Hello, "Hello world", false},
		{"sha512 rounds", sha512Rounds, "Hello world!", true},
		{"sha512 rounds wrong", sha512Rounds, "hello world!", false},
		{"sha512 short salt with rounds", sha512Short, "correct horse", true},
		{"sha512 UTF-8 password", sha512Unicode, "pässwörd", true},
		{"password over the limit", argonHash, strings.Repeat("x", MaxPasswordLen+1), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := VerifyPassword(c.hash, c.pw)
			if err != nil || got != c.want {
				t.Errorf("VerifyPassword = %v, %v; want %v", got, err, c.want)
			}
		})
	}
}

func TestCheckHashFormat(t *testing.T) {
	cheapArgon(t)
	good, _ := HashPassword("x")
	bc, _ := bcrypt.GenerateFromPassword([]byte("x"), bcrypt.MinCost)
	parts := strings.Split(good, "$") // "", argon2id, v=19, params, salt, key
	withParams := func(p string) string { return "$argon2id$v=19$" + p + "$" + parts[4] + "$" + parts[5] }
	sum := strings.Repeat("a", 86)
	cases := []struct {
		name, hash string
		want       string // substring of the error; "" for valid
	}{
		{"argon2id", good, ""},
		{"bcrypt", string(bc), ""},
		{"sha512", "$6$salt$" + sum, ""},
		{"sha512 rounds", "$6$rounds=656000$salt$" + sum, ""},
		{"empty", "", "empty password hash"},
		{"md5-crypt", "$1$ab$e2KlfqG5YBMTjSz7XF.Eu1", `unsupported hash scheme "$1$"`},
		{"sha256-crypt", "$5$salt$" + sum[:43], `unsupported hash scheme "$5$"`},
		{"argon2i", "$argon2i$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG", `unsupported hash scheme "$argon2i$"`},
		{"plaintext", "hunter2", "not a $scheme$ password hash"},
		{"junk after dollar", "$\x00\x01$", "not a $scheme$ password hash"},
		{"argon2 old version", strings.Replace(good, "v=19", "v=16", 1), "only version v=19"},
		{"argon2 no version", "$argon2id$" + strings.Join(parts[3:], "$"), "want $argon2id$v=19"},
		{"argon2 huge memory", withParams("m=4194304,t=3,p=2"), "m=4194304 is outside"},
		{"argon2 huge time", withParams("m=65536,t=1000,p=2"), "t=1000 is outside"},
		{"argon2 zero time", withParams("m=65536,t=0,p=2"), "t=0 is outside"},
		{"argon2 zero threads", withParams("m=65536,t=3,p=0"), "p=0 is outside"},
		{"argon2 many threads", withParams("m=65536,t=3,p=255"), "p=255 is outside"},
		{"argon2 memory below 8p", withParams("m=8,t=1,p=2"), "m=8 is outside"},
		{"argon2 work over the cap", withParams("m=262144,t=10,p=2"), "cost m*t"},
		{"argon2 missing param", withParams("m=65536,t=3"), "parameters must be"},
		{"argon2 repeated param", withParams("m=65536,m=65536,p=2"), "parameters must be"},
		{"argon2 negative", withParams("m=-1,t=3,p=2"), "decimal numbers"},
		{"argon2 overflow", withParams("m=99999999999,t=3,p=2"), "decimal numbers"},
		{"argon2 bad salt", "$argon2id$v=19$m=64,t=1,p=1$!!!$" + parts[5], "salt"},
		{"argon2 short key", "$argon2id$v=19$m=64,t=1,p=1$" + parts[4] + "$AAAA", "key"},
		{"bcrypt too costly", "$2b$31$" + string(bc)[7:], "cost 31 is over"},
		{"bcrypt truncated", string(bc)[:50], "want 60 characters"},
		{"bcrypt bad char", string(bc)[:59] + "!", "invalid character"},
		{"sha512 rounds too high", "$6$rounds=999999999$salt$" + sum, "rounds=999999999 is outside"},
		{"sha512 rounds too low", "$6$rounds=10$salt$" + sum, "rounds=10 is outside"},
		{"sha512 rounds garbage", "$6$rounds=x$salt$" + sum, "must be a number"},
		{"sha512 short sum", "$6$salt$abc", "86 characters"},
		{"sha512 long salt", "$6$saltsaltsaltsaltsalt$" + sum, "1 to 16"},
		{"sha512 extra field", "$6$salt$" + sum + "$x", "want $6$"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := CheckHashFormat(c.hash)
			if c.want == "" {
				if err != nil {
					t.Fatalf("valid hash rejected: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want it to mention %q", err, c.want)
			}
			// The hash's secret parts never show up in the message.
			parts := strings.Split(c.hash, "$")
			for _, part := range parts[max(0, len(parts)-2):] { // salt and key
				if len(part) >= 8 && strings.Contains(err.Error(), part) {
					t.Errorf("error %q repeats part of the hash %q", err, part)
				}
			}
			if _, verr := VerifyPassword(c.hash, "x"); verr == nil {
				t.Error("VerifyPassword accepted a hash CheckHashFormat rejects")
			}
		})
	}
	if err := CheckHashFormat("$1$ab$x"); !errors.Is(err, ErrUnsupportedHash) {
		t.Errorf("unsupported scheme does not wrap ErrUnsupportedHash: %v", err)
	}
}

// FuzzVerifyPassword checks that no hash string makes verification panic.
func FuzzVerifyPassword(f *testing.F) {
	f.Add("$argon2id$v=19$m=64,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Add("$2b$04$" + strings.Repeat("a", 53))
	f.Add("$6$rounds=1000$salt$" + strings.Repeat("a", 86))
	f.Add("$6$")
	f.Fuzz(func(t *testing.T, hash string) {
		_, _ = VerifyPassword(hash, "pw")
	})
}
