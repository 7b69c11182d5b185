package users

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// argonParams are the cost settings of an argon2id hash.
type argonParams struct {
	memory  uint32 // KiB
	time    uint32 // passes
	threads uint8
	saltLen int
	keyLen  int
}

// defaultArgon is what HashPassword uses. It is RFC 9106's second
// recommended option (64 MiB, 3 passes) with 2 lanes to match the 2-core
// servers authd targets: about 0.1 s of both cores per hash, and with
// hashSlots at most GOMAXPROCS hashes in flight, so a burst of logins
// queues instead of using unbounded memory (2 x 64 MiB on 2 cores).
// A var so the package's tests can lower the cost.
var defaultArgon = argonParams{memory: 64 * 1024, time: 3, threads: 2, saltLen: 16, keyLen: 32}

// Limits on hashes that come from outside (imports, edited stores): a hash
// carries its own cost, so without a cap one crafted line could make every
// login for that name burn gigabytes or minutes.
const (
	maxArgonMemory  = 256 * 1024        // KiB: 4x the default
	maxArgonTime    = 10                // passes
	maxArgonWork    = 4 * 64 * 1024 * 3 // memory x time: 4x the default
	maxArgonThreads = 16
	maxBcryptCost   = 14        // about 1 s; common imports use 10 to 12
	maxSHA512Rounds = 1_000_000 // passlib's default is 656,000; glibc's 5,000
	// MaxPasswordLen bounds what is hashed, so a huge form field cannot cost
	// more than hashing a normal password.
	MaxPasswordLen = 4096
)

// hashSlots bounds concurrent argon2id computations (see defaultArgon):
// each holds its memory (64 MiB by default) while it runs.
var hashSlots = make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))

// cpuSlots bounds concurrent verifications of the hashes that need no
// memory to speak of (sha512-crypt, bcrypt: a few KiB). They have their
// own pool so that they never queue behind argon2id hashes (a RADIUS
// server of imported $6$ users next to web users on argon2id). It is no
// wider than GOMAXPROCS: the work is all CPU, so more hashes in flight
// give no more throughput, only longer waits for everything else (on 2
// cores, sha512-crypt PAP under radclient -p 64 went from about 320/s to
// 245/s with 4 x GOMAXPROCS slots).
var cpuSlots = make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))

func withSlot[T any](f func() T) T { return withSlotOf(hashSlots, f) }

func withSlotOf[T any](slots chan struct{}, f func() T) T {
	slots <- struct{}{}
	defer func() { <-slots }()
	return f()
}

// ErrUnsupportedHash is wrapped by the errors for hashes in schemes authd
// cannot verify, so an import can report them apart from damaged hashes.
var ErrUnsupportedHash = errors.New("unsupported hash scheme")

// hashError describes a bad hash without ever quoting it: hashes are
// secrets too (they can be cracked offline).
func hashError(scheme, format string, args ...any) error {
	return fmt.Errorf("malformed %s hash: %s", scheme, fmt.Sprintf(format, args...))
}

// HashPassword returns an argon2id hash of pw in PHC format
// ($argon2id$v=19$m=65536,t=3,p=2$salt$key) with a fresh 16-byte salt.
func HashPassword(pw string) (string, error) {
	if pw == "" {
		return "", errors.New("empty password")
	}
	if len(pw) > MaxPasswordLen {
		return "", fmt.Errorf("password longer than %d bytes", MaxPasswordLen)
	}
	p := defaultArgon
	salt := make([]byte, p.saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("reading random salt: %w", err)
	}
	key := withSlot(func() []byte {
		return argon2.IDKey([]byte(pw), salt, p.time, p.memory, p.threads, uint32(p.keyLen))
	})
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.memory, p.time, p.threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// VerifyPassword reports whether pw matches hash, which may be argon2id,
// bcrypt ($2a$, $2b$, $2y$) or sha512-crypt ($6$). The comparison is in
// constant time. An error means the hash itself is unusable (malformed,
// unsupported or over the cost limits), never that pw is wrong.
func VerifyPassword(hash, pw string) (bool, error) {
	h, err := parseHash(hash)
	if err != nil {
		return false, err
	}
	if len(pw) > MaxPasswordLen {
		return false, nil
	}
	if onVerify != nil {
		onVerify(h.profile())
	}
	slots := cpuSlots
	if _, ok := h.(*argonHash); ok {
		slots = hashSlots
	}
	return withSlotOf(slots, func() bool { return h.verify(pw) }), nil
}

// CheckHashFormat validates a hash without a password, for imports: the
// scheme is supported, it parses, and its cost is within the limits. The
// error names the scheme but never repeats the hash.
func CheckHashFormat(hash string) error {
	_, err := parseHash(hash)
	return err
}

type parsedHash interface {
	verify(pw string) bool
	profile() string // scheme and cost, as decoy.go compares them
}

// onVerify, when set (by this package's tests only), is told the profile
// of every hash VerifyPassword verifies: it shows which verifier ran
// without timing anything.
var onVerify func(profile string)

func parseHash(hash string) (parsedHash, error) {
	switch {
	case hash == "":
		return nil, errors.New("empty password hash")
	case strings.HasPrefix(hash, "$argon2id$"):
		return parseArgon2id(hash)
	case strings.HasPrefix(hash, "$2a$"), strings.HasPrefix(hash, "$2b$"), strings.HasPrefix(hash, "$2y$"):
		return parseBcrypt(hash)
	case strings.HasPrefix(hash, "$6$"):
		return parseSHA512(hash)
	}
	if s := schemeOf(hash); s != "" {
		return nil, fmt.Errorf("%w %q (supported: $argon2id$, $2a$/$2b$/$2y$ bcrypt, $6$ sha512-crypt)", ErrUnsupportedHash, s)
	}
	return nil, fmt.Errorf("%w: not a $scheme$ password hash (plaintext passwords are not accepted)", ErrUnsupportedHash)
}

// schemeOf returns the "$id$" prefix of a crypt/PHC string, or "" when
// there is no plausible one (so nothing of a secret is echoed).
func schemeOf(hash string) string {
	if !strings.HasPrefix(hash, "$") {
		return ""
	}
	end := strings.IndexByte(hash[1:], '$')
	if end < 1 || end > 20 {
		return ""
	}
	id := hash[1 : end+1]
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return ""
		}
	}
	return "$" + id + "$"
}

// argon2id

type argonHash struct {
	p         argonParams
	salt, key []byte
}

func parseArgon2id(hash string) (parsedHash, error) {
	const scheme = "argon2id"
	parts := strings.Split(hash, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	if len(parts) != 6 {
		return nil, hashError(scheme, "want $argon2id$v=19$m=M,t=T,p=P$salt$key")
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return nil, hashError(scheme, "only version v=%d is supported", argon2.Version)
	}
	var m, t, p uint64
	seen := map[string]bool{}
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || seen[k] {
			return nil, hashError(scheme, "parameters must be m=M,t=T,p=P")
		}
		seen[k] = true
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return nil, hashError(scheme, "parameter values must be decimal numbers")
		}
		switch k {
		case "m":
			m = n
		case "t":
			t = n
		case "p":
			p = n
		default:
			return nil, hashError(scheme, "parameters must be m=M,t=T,p=P")
		}
	}
	switch {
	case len(seen) != 3:
		return nil, hashError(scheme, "parameters must be m=M,t=T,p=P")
	case t < 1 || t > maxArgonTime:
		return nil, hashError(scheme, "t=%d is outside 1..%d", t, maxArgonTime)
	case p < 1 || p > maxArgonThreads:
		return nil, hashError(scheme, "p=%d is outside 1..%d", p, maxArgonThreads)
	case m < 8*p || m > maxArgonMemory:
		return nil, hashError(scheme, "m=%d is outside %d..%d KiB", m, 8*p, maxArgonMemory)
	case m*t > maxArgonWork:
		return nil, hashError(scheme, "cost m*t=%d is over the limit of %d", m*t, maxArgonWork)
	}
	salt, err1 := decodeB64(parts[4])
	key, err2 := decodeB64(parts[5])
	switch {
	case err1 != nil || len(salt) < 8 || len(salt) > 64:
		return nil, hashError(scheme, "the salt must be 8 to 64 bytes of unpadded base64")
	case err2 != nil || len(key) < 16 || len(key) > 128:
		return nil, hashError(scheme, "the key must be 16 to 128 bytes of unpadded base64")
	}
	return &argonHash{p: argonParams{memory: uint32(m), time: uint32(t), threads: uint8(p)}, salt: salt, key: key}, nil
}

func decodeB64(s string) ([]byte, error) {
	return base64.RawStdEncoding.Strict().DecodeString(strings.TrimRight(s, "="))
}

func (h *argonHash) verify(pw string) bool {
	got := argon2.IDKey([]byte(pw), h.salt, h.p.time, h.p.memory, h.p.threads, uint32(len(h.key)))
	return subtle.ConstantTimeCompare(got, h.key) == 1
}

// bcrypt

type bcryptHash []byte

func parseBcrypt(hash string) (parsedHash, error) {
	const scheme = "bcrypt"
	if len(hash) != 60 {
		return nil, hashError(scheme, "want 60 characters, got %d", len(hash))
	}
	cost, err := bcrypt.Cost([]byte(hash))
	if err != nil {
		return nil, hashError(scheme, "cannot read its cost")
	}
	if cost > maxBcryptCost {
		return nil, hashError(scheme, "cost %d is over the limit of %d", cost, maxBcryptCost)
	}
	for _, c := range hash[7:] {
		if !isCryptB64(c) {
			return nil, hashError(scheme, "invalid character in salt or hash")
		}
	}
	return bcryptHash(hash), nil
}

// verify compares in constant time (bcrypt.CompareHashAndPassword uses
// crypto/subtle). Passwords over 72 bytes are cut there, as every bcrypt
// implementation did when the imported hash was made.
func (h bcryptHash) verify(pw string) bool {
	b := []byte(pw)
	if len(b) > 72 {
		b = b[:72]
	}
	return bcrypt.CompareHashAndPassword(h, b) == nil
}

// sha512-crypt

type sha512Hash struct {
	rounds int
	salt   []byte
	sum    []byte // the 86-character checksum
}

func parseSHA512(hash string) (parsedHash, error) {
	const scheme = "sha512-crypt"
	rest := hash[len("$6$"):]
	rounds := sha512CryptDefaultRounds
	if r, ok := strings.CutPrefix(rest, "rounds="); ok {
		n, after, ok := strings.Cut(r, "$")
		var err error
		rounds, err = strconv.Atoi(n)
		switch {
		case !ok || err != nil || n == "" || n[0] == '+' || n[0] == '-':
			return nil, hashError(scheme, "rounds=N must be a number")
		case rounds < 1000 || rounds > maxSHA512Rounds:
			return nil, hashError(scheme, "rounds=%d is outside 1000..%d", rounds, maxSHA512Rounds)
		}
		rest = after
	}
	salt, sum, ok := strings.Cut(rest, "$")
	switch {
	case !ok || strings.Contains(sum, "$"):
		return nil, hashError(scheme, "want $6$[rounds=N$]salt$hash")
	case len(salt) < 1 || len(salt) > 16:
		return nil, hashError(scheme, "the salt must be 1 to 16 characters")
	case len(sum) != 86:
		return nil, hashError(scheme, "the hash must be 86 characters, got %d", len(sum))
	}
	for _, c := range salt {
		if c <= ' ' || c > '~' || c == ':' {
			return nil, hashError(scheme, "invalid character in the salt")
		}
	}
	for _, c := range sum {
		if !isCryptB64(c) {
			return nil, hashError(scheme, "invalid character in the hash")
		}
	}
	return &sha512Hash{rounds: rounds, salt: []byte(salt), sum: []byte(sum)}, nil
}

func (h *sha512Hash) verify(pw string) bool {
	d := sha512CryptSum([]byte(pw), h.salt, h.rounds)
	got := sha512CryptEncode(&d)
	return subtle.ConstantTimeCompare(got[:], h.sum) == 1
}

// isCryptB64 reports whether c is in crypt's base64 alphabet.
func isCryptB64(c rune) bool {
	return c == '.' || c == '/' || c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
}
