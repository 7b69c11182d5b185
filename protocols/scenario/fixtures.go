package scenario

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"regexp"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/mfa"
	"github.com/authd/authd/engine/users"
)

// Clock is the scenario's clock: it stands still until a step advances it,
// so a run is the same whenever and however fast it happens.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// Now reads the clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

var _ engine.Clock = (*Clock)(nil)

// hasher makes the password hashes of fixture users. A real argon2id hash
// costs about 0.1 s to make and as much to verify, so a thousand logins
// would take minutes. Fixture hashes are argon2id at the smallest cost the
// format allows (8 KiB, one pass), made once per distinct password per
// run: the production verifier checks them unchanged (the cost is part of
// the hash), and they exist only in the run's in-memory store, never in a
// real one: nothing in authd's serving path makes or is given such a hash.
type hasher struct {
	mu     sync.Mutex
	salt   []byte
	hashes map[string]string
}

func newHasher() *hasher {
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	return &hasher{salt: salt, hashes: map[string]string{}}
}

// Fixture hash cost: the minimum users.VerifyPassword accepts.
const (
	fixtureArgonMemory  = 8 // KiB
	fixtureArgonTime    = 1
	fixtureArgonThreads = 1
)

func (h *hasher) hash(pw string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if s, ok := h.hashes[pw]; ok {
		return s
	}
	key := argon2.IDKey([]byte(pw), h.salt, fixtureArgonTime, fixtureArgonMemory, fixtureArgonThreads, 32)
	b64 := base64.RawStdEncoding
	s := fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, fixtureArgonMemory, fixtureArgonTime,
		fixtureArgonThreads, b64.EncodeToString(h.salt), b64.EncodeToString(key))
	h.hashes[pw] = s
	return s
}

// smsBox is the SMS gateway of every realm: it keeps the texts so a
// scenario can read the code it was sent (sms_code("alice")).
type smsBox struct {
	mu   sync.Mutex
	msgs map[string][]string // phone -> bodies
}

// SendSMS records the text.
func (b *smsBox) SendSMS(_ context.Context, to, body string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.msgs == nil {
		b.msgs = map[string][]string{}
	}
	b.msgs[to] = append(b.msgs[to], body)
	return nil
}

var codeRE = regexp.MustCompile(`\d{4,10}`)

// last returns the last code texted to phone.
func (b *smsBox) last(phone string) (string, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	msgs := b.msgs[phone]
	if len(msgs) == 0 {
		return "", false
	}
	codes := codeRE.FindAllString(msgs[len(msgs)-1], -1)
	if len(codes) == 0 {
		return "", false
	}
	return codes[len(codes)-1], true
}

var _ engine.SMSSender = (*smsBox)(nil)

// factors are the second factors of the fixture users of one scenario.
type factors struct {
	mu       sync.Mutex
	users    map[string]*User
	otp      map[string]*mfa.URIKey // user -> the token as the app holds it
	recovery map[string][]string
	used     map[string]int // recovery codes handed out by recovery_code(user)
}

// createUsers writes the fixture users of s into the scenario's store.
func (r *run) createUsers() error {
	f := &factors{users: map[string]*User{}, otp: map[string]*mfa.URIKey{}, recovery: map[string][]string{}, used: map[string]int{}}
	r.factors = f
	now := r.clock.Now()
	repo := r.eng.Services().Users
	for _, u := range r.suite.Users {
		f.users[u.Name] = u
		rec := &users.User{
			Realm: u.Realm, Name: u.Name, Email: u.Email, Phone: u.Phone,
			Groups: u.Groups, Attributes: u.Attributes, Created: now, Updated: now,
		}
		if u.Password != "" {
			rec.PasswordHash = r.hasher.hash(u.Password)
		}
		if u.Locked {
			rec.LockedUntil = now.Add(24 * time.Hour)
		}
		if err := repo.Create(rec); err != nil {
			return fmt.Errorf("user %q: %w", u.Name, err)
		}
		if u.OTP != "" {
			en, err := r.mfa.Enroll(u.Realm, u.Name, "authd test", mfa.Params{Type: u.OTP}, true, now)
			if err != nil {
				return fmt.Errorf("user %q: enrolling an OTP token: %w", u.Name, err)
			}
			k, err := mfa.ParseURI(en.URI)
			if err != nil {
				return fmt.Errorf("user %q: %w", u.Name, err)
			}
			f.otp[u.Name] = k
		}
		if u.PushDevice {
			if err := r.phones.Enroll(u.Realm, u.Name, now); err != nil {
				return fmt.Errorf("user %q: enrolling a push device: %w", u.Name, err)
			}
		}
		if u.RecoveryCodes > 0 {
			codes, err := r.mfa.GenerateRecoveryCodes(u.Realm, u.Name, u.RecoveryCodes, now)
			if err != nil {
				return fmt.Errorf("user %q: %w", u.Name, err)
			}
			f.recovery[u.Name] = codes
		}
	}
	return nil
}
