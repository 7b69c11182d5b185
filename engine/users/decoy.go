package users

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sync"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"

	"github.com/authd/authd/engine/store"
)

// The decoy: what an unknown user's password is checked against.
//
// A wrong password costs one verification of the user's stored hash; an
// unknown user must cost the same, or the time of a reply tells an
// attacker which names exist. One fixed argon2id dummy is not enough once
// a realm holds imported hashes: a $6$ sha512-crypt user fails in about
// 3 ms, an argon2id dummy takes about 90 ms, and "unknown" stands out.
//
// So each realm gets its own decoy, a hash of a fixed password in the
// scheme and cost (the "profile": argon2id m,t,p; bcrypt cost;
// sha512-crypt rounds) that most of the realm's users have. Choice and
// its limits:
//
//   - The most common profile, not the latest: one user created with the
//     default argon2id in a realm of 10,000 imported $6$ users should not
//     flip the decoy (and the timing of every unknown name) to argon2id.
//     Ties go to the profile that sorts first, so the choice is stable.
//   - A realm where users of several profiles are common still leaks
//     something: unknown names look like the majority, and a minority
//     profile is told apart from them. Rehash on login (a future change)
//     would converge a realm on one profile.
//   - A realm with no usable hash (empty, or users without passwords)
//     uses HashPassword's argon2id parameters, as before.
//   - The counts are taken by one walk over the realm's records the first
//     time a realm's decoy is needed (the first unknown name after a
//     start), then kept up to date by this Repo's own writes (Create,
//     Import, Update, SetPassword, Delete). Writes by another Repo on the
//     same store in the same process are not seen until a restart; authd
//     run has one Repo.
//   - A decoy hash is computed once per profile change, at a cost of one
//     hash of that profile, never per check.
type decoys struct {
	mu     sync.Mutex
	realms map[string]*realmDecoy
}

type realmDecoy struct {
	counts  map[string]int // profile -> users
	profile string         // the profile hash was made for
	hash    string
}

// profileOf names the scheme and cost of a stored hash; "" when it cannot
// be verified at all (such users fail with an error, not a verification).
func profileOf(hash string) string {
	if hash == "" {
		return ""
	}
	h, err := parseHash(hash)
	if err != nil {
		return ""
	}
	return h.profile()
}

func (h *argonHash) profile() string {
	return fmt.Sprintf("argon2id m=%d,t=%d,p=%d", h.p.memory, h.p.time, h.p.threads)
}

func (h bcryptHash) profile() string {
	c, _ := bcrypt.Cost(h) // parseBcrypt read it already
	return fmt.Sprintf("bcrypt cost=%d", c)
}

func (h *sha512Hash) profile() string { return fmt.Sprintf("sha512-crypt rounds=%d", h.rounds) }

func defaultProfile() string {
	p := defaultArgon
	return fmt.Sprintf("argon2id m=%d,t=%d,p=%d", p.memory, p.time, p.threads)
}

// decoyPassword is hashed into every decoy; no user can have it matter,
// because a decoy match is never accepted (CheckPassword requires a user).
const decoyPassword = "authd: the password of no user"

// makeDecoy returns a hash of decoyPassword with profile's scheme and cost.
func makeDecoy(profile string) (string, error) { return hashAs(profile, decoyPassword) }

// hashAs hashes password with profile's scheme and cost, with a fresh salt.
func hashAs(profile, password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("reading random salt: %w", err)
	}
	var (
		m, t    uint32
		p       uint8
		cost    int
		rounds  int
		b64     = base64.RawStdEncoding
		pw      = []byte(password)
		scanned int
	)
	if n, _ := fmt.Sscanf(profile, "argon2id m=%d,t=%d,p=%d", &m, &t, &p); n == 3 {
		key := withSlot(func() []byte { return argon2.IDKey(pw, salt, t, m, p, 32) })
		return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
			argon2.Version, m, t, p, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
	}
	if scanned, _ = fmt.Sscanf(profile, "bcrypt cost=%d", &cost); scanned == 1 {
		type res struct {
			h   []byte
			err error
		}
		out := withSlotOf(cpuSlots, func() res {
			h, err := bcrypt.GenerateFromPassword(pw, cost)
			return res{h, err}
		})
		return string(out.h), out.err
	}
	if scanned, _ = fmt.Sscanf(profile, "sha512-crypt rounds=%d", &rounds); scanned == 1 {
		s := make([]byte, 16)
		const alphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		for i, c := range salt {
			s[i] = alphabet[int(c)%len(alphabet)]
		}
		d := withSlotOf(cpuSlots, func() [64]byte { return sha512CryptSum(pw, s, rounds) })
		sum := sha512CryptEncode(&d)
		return fmt.Sprintf("$6$rounds=%d$%s$%s", rounds, s, sum[:]), nil
	}
	return "", fmt.Errorf("users: no decoy for profile %q", profile)
}

// winner is the most common profile of counts ("" when none).
func winner(counts map[string]int) string {
	best, n := "", 0
	for p, c := range counts {
		if c > n || c == n && p < best {
			best, n = p, c
		}
	}
	return best
}

// decoy returns the hash an unknown user of realm is checked against.
func (r *Repo) decoy(realm string) (string, error) {
	r.decoys.mu.Lock()
	defer r.decoys.mu.Unlock()
	if r.decoys.realms == nil {
		r.decoys.realms = map[string]*realmDecoy{}
	}
	d := r.decoys.realms[realm]
	if d == nil {
		counts, err := r.countProfiles(realm)
		if err != nil {
			return "", err
		}
		d = &realmDecoy{counts: counts}
		r.decoys.realms[realm] = d
	}
	want := winner(d.counts)
	if want == "" {
		want = defaultProfile()
	}
	if d.hash == "" || d.profile != want {
		// Held under the lock: a profile change costs one hash, once, and
		// concurrent checks of the realm wait for it rather than each
		// making their own.
		h, err := makeDecoy(want)
		if err != nil {
			return "", err
		}
		d.hash, d.profile = h, want
	}
	return d.hash, nil
}

// countProfiles walks the realm's records once, decoding only the hash.
func (r *Repo) countProfiles(realm string) (map[string]int, error) {
	counts := map[string]int{}
	err := r.kv.View(func(tx store.Tx) error {
		return tx.ForEach(bucket, []byte(realm+"\x00"), func(_, v []byte) error {
			var u struct {
				PasswordHash string `json:"password_hash"`
			}
			if json.Unmarshal(v, &u) != nil {
				return nil // a damaged record is reported where it is read
			}
			if p := profileOf(u.PasswordHash); p != "" {
				counts[p]++
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("realm %q: counting password hash schemes: %w", realm, err)
	}
	return counts, nil
}

// noteHashes records, after a committed write, that a user of realm went
// from hash old to hash new ("" for none). Realms whose counts are not
// taken yet are left alone: their first walk will see the write.
func (r *Repo) noteHashes(realm string, old, new []string) {
	r.decoys.mu.Lock()
	defer r.decoys.mu.Unlock()
	d := r.decoys.realms[realm]
	if d == nil {
		return
	}
	for _, h := range old {
		if p := profileOf(h); p != "" {
			if d.counts[p]--; d.counts[p] <= 0 {
				delete(d.counts, p)
			}
		}
	}
	for _, h := range new {
		if p := profileOf(h); p != "" {
			d.counts[p]++
		}
	}
}

// DecoyProfile names the scheme and cost ("sha512-crypt rounds=5000",
// "argon2id m=65536,t=3,p=2", "bcrypt cost=10") that the password of an
// unknown user in realm is checked against, so an operator (and a test)
// can see that unknown names cost what the realm's real users cost. See
// the package documentation for how it is chosen.
func (r *Repo) DecoyProfile(realm string) (string, error) {
	if err := ValidateRealm(realm); err != nil {
		return "", err
	}
	h, err := r.decoy(realm)
	if err != nil {
		return "", err
	}
	return profileOf(h), nil
}
