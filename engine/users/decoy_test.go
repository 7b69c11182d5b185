package users

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authd/authd/engine/store"
	"github.com/authd/authd/engine/store/memstore"
)

const (
	sha5000   = "sha512-crypt rounds=5000"
	sha10000  = "sha512-crypt rounds=10000"
	bcrypt4   = "bcrypt cost=4"
	argonTiny = "argon2id m=64,t=1,p=1" // cheapArgon's parameters
)

func mustHash(t testing.TB, profile, pw string) string {
	t.Helper()
	h, err := hashAs(profile, pw)
	if err != nil {
		t.Fatal(err)
	}
	if got := profileOf(h); got != profile {
		t.Fatalf("hashAs(%q) made a hash of profile %q", profile, got)
	}
	return h
}

// verified records the profiles VerifyPassword verifies while fn runs.
func verified(t *testing.T, fn func()) []string {
	t.Helper()
	var mu sync.Mutex
	var got []string
	onVerify = func(p string) {
		mu.Lock()
		got = append(got, p)
		mu.Unlock()
	}
	defer func() { onVerify = nil }()
	fn()
	return got
}

// TestDecoyFollowsTheRealm checks that an unknown user of a realm is
// verified against a hash of the scheme and cost most of the realm's users
// have: the same verifier runs for "no such user" as for "wrong password",
// so the two cannot be told apart by time (issue 3). No timing is
// asserted; BenchmarkCheckPassword measures it.
func TestDecoyFollowsTheRealm(t *testing.T) {
	cheapArgon(t)
	type user struct{ name, profile string }
	cases := []struct {
		name  string
		users []user
		want  string
	}{
		{"empty realm: default argon2id", nil, argonTiny},
		{"imported sha512-crypt", []user{{"a", sha5000}, {"b", sha5000}}, sha5000},
		{"bcrypt", []user{{"a", bcrypt4}}, bcrypt4},
		{"the most common wins", []user{{"a", sha5000}, {"b", sha5000}, {"c", bcrypt4}, {"d", argonTiny}}, sha5000},
		{"cost counts, not only the scheme", []user{{"a", sha5000}, {"b", sha10000}, {"c", sha10000}}, sha10000},
		{"a tie takes the first profile by name", []user{{"a", sha5000}, {"b", bcrypt4}}, bcrypt4},
		{"users without a password do not count", []user{{"a", ""}, {"b", ""}, {"c", sha5000}}, sha5000},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			kv := memstore.New()
			seed := NewRepo(kv)
			for _, u := range tc.users {
				h := ""
				if u.profile != "" {
					h = mustHash(t, u.profile, "right")
				}
				if err := seed.Create(&User{Realm: "corp", Name: u.name, PasswordHash: h}); err != nil {
					t.Fatal(err)
				}
			}
			// A fresh Repo, as after a restart: the counts come from the store.
			for _, r := range []*Repo{seed, NewRepo(kv)} {
				if got, err := r.DecoyProfile("corp"); err != nil || got != tc.want {
					t.Fatalf("DecoyProfile = %q, %v; want %q", got, err, tc.want)
				}
				got := verified(t, func() {
					if res, err := r.CheckPassword("corp", "nobody", "right", nil, t0); res != PasswordWrong || err != nil {
						t.Fatalf("unknown user: %v, %v", res, err)
					}
				})
				if !slices.Equal(got, []string{tc.want}) {
					t.Errorf("an unknown user was verified with %q, want one verification of %q", got, tc.want)
				}
			}
		})
	}
}

// TestDecoyFollowsWrites checks that the decoy moves with the realm's
// users as this Repo writes them: Create, Import, SetPassword, Update and
// Delete, without another walk of the store.
func TestDecoyFollowsWrites(t *testing.T) {
	cheapArgon(t)
	r := NewRepo(memstore.New())
	want := func(step, profile string) {
		t.Helper()
		if got, err := r.DecoyProfile("corp"); err != nil || got != profile {
			t.Fatalf("after %s: DecoyProfile = %q, %v; want %q", step, got, err, profile)
		}
	}
	want("nothing", argonTiny)
	if err := r.Create(&User{Realm: "corp", Name: "web", PasswordHash: mustHash(t, argonTiny, "pw")}); err != nil {
		t.Fatal(err)
	}
	want("one argon2id user", argonTiny)
	imported := []*User{
		{Name: "i1", PasswordHash: mustHash(t, sha5000, "pw")},
		{Name: "i2", PasswordHash: mustHash(t, sha5000, "pw")},
	}
	if _, err := r.Import("corp", imported, t0); err != nil {
		t.Fatal(err)
	}
	want("importing two $6$ users", sha5000)
	if err := r.SetPassword("corp", "i1", "new", t0); err != nil { // rehashed with argon2id
		t.Fatal(err)
	}
	want("a password change (argon2id 2, $6$ 1)", argonTiny)
	if err := r.Update("corp", "web", func(u *User) error { u.PasswordHash = mustHash(t, sha5000, "pw"); return nil }); err != nil {
		t.Fatal(err)
	}
	want("an update to $6$ ($6$ 2, argon2id 1)", sha5000)
	if err := r.Delete("corp", "web"); err != nil {
		t.Fatal(err)
	}
	if err := r.Delete("corp", "i2"); err != nil {
		t.Fatal(err)
	}
	want("deleting both $6$ users", argonTiny)
	// Other realms keep their own decoy.
	if got, _ := r.DecoyProfile("other"); got != argonTiny {
		t.Errorf("another realm's decoy = %q", got)
	}
}

// TestWrongPasswordAndUnknownUserRunTheSameVerifier is the property the
// decoy exists for, per scheme: the verifications of a wrong password and
// of an unknown user are of the same profile.
func TestWrongPasswordAndUnknownUserRunTheSameVerifier(t *testing.T) {
	cheapArgon(t)
	for _, profile := range []string{sha5000, bcrypt4, argonTiny} {
		t.Run(profile, func(t *testing.T) {
			r := NewRepo(memstore.New())
			if err := r.Create(&User{Realm: "corp", Name: "alice", PasswordHash: mustHash(t, profile, "right")}); err != nil {
				t.Fatal(err)
			}
			wrong := verified(t, func() { r.CheckPassword("corp", "alice", "wrong", nil, t0) })
			unknown := verified(t, func() { r.CheckPassword("corp", "nobody", "wrong", nil, t0) })
			malformed := verified(t, func() { r.CheckPassword("corp", "bad\x00name", "wrong", nil, t0) })
			for _, got := range [][]string{wrong, unknown, malformed} {
				if !slices.Equal(got, []string{profile}) {
					t.Errorf("verified %q, want one verification of %q (wrong %q, unknown %q, malformed name %q)", got, profile, wrong, unknown, malformed)
				}
			}
		})
	}
}

// countingKV counts the write transactions a Repo opens.
type countingKV struct {
	store.KV
	writes atomic.Int64
}

func (c *countingKV) Update(fn func(store.Tx) error) error {
	c.writes.Add(1)
	return c.KV.Update(fn)
}

func (c *countingKV) Batch(fn func(store.Tx) error) error {
	c.writes.Add(1)
	return c.KV.Batch(fn)
}

// TestLockedAccountCostsAWrongPassword: a locked account is refused only
// after the work of any other check (one verification of the same profile,
// the same write transactions as an unknown name), since anyone can lock an
// account and an instant refusal would tell that the name exists. The
// right password changes nothing: the verdict stays AccountLocked and the
// lock is not extended.
func TestLockedAccountCostsAWrongPassword(t *testing.T) {
	cheapArgon(t)
	policy := &Lockout{MaxFailures: 1, Duration: time.Hour}
	for _, profile := range []string{sha5000, bcrypt4, argonTiny, ""} { // "": a user without a password
		for _, p := range []struct {
			name   string
			policy *Lockout
		}{{"policy", policy}, {"no policy", nil}} {
			for _, pw := range []string{"right", "wrong"} {
				t.Run(fmt.Sprintf("%q/%s/%s", profile, p.name, pw), func(t *testing.T) {
					kv := &countingKV{KV: memstore.New()}
					r := NewRepo(kv)
					u := &User{Realm: "corp", Name: "alice"}
					if profile != "" {
						u.PasswordHash = mustHash(t, profile, "right")
					}
					if err := r.Create(u); err != nil {
						t.Fatal(err)
					}
					if locked, err := r.RecordFailure("corp", "alice", policy, t0); !locked || err != nil {
						t.Fatalf("locking alice: %v, %v", locked, err)
					}
					before, _ := r.Get("corp", "alice")
					decoy, err := r.DecoyProfile("corp")
					if err != nil {
						t.Fatal(err)
					}
					want := profile
					if want == "" {
						want = decoy
					}
					now := t0.Add(time.Minute)

					kv.writes.Store(0)
					var res CheckResult
					got := verified(t, func() { res, err = r.CheckPassword("corp", "alice", pw, p.policy, now) })
					lockedWrites := kv.writes.Load()
					if res != AccountLocked || err != nil {
						t.Errorf("CheckPassword = %v, %v; want AccountLocked", res, err)
					}
					if !slices.Equal(got, []string{want}) {
						t.Errorf("a locked account verified %q, want one verification of %q", got, want)
					}
					if after, _ := r.Get("corp", "alice"); !after.LockedUntil.Equal(before.LockedUntil) || after.Failures != before.Failures {
						t.Errorf("the check changed the lock: %v, %d failures; was %v, %d",
							after.LockedUntil, after.Failures, before.LockedUntil, before.Failures)
					}

					kv.writes.Store(0)
					r.CheckPassword("corp", "nobody", pw, p.policy, now)
					if unknownWrites := kv.writes.Load(); lockedWrites != unknownWrites {
						t.Errorf("a locked account opened %d write transactions, an unknown name %d", lockedWrites, unknownWrites)
					}
				})
			}
		}
	}
}

// BenchmarkCheckPassword compares a wrong password with an unknown user,
// per scheme of the realm's users: the pairs must cost the same
// (docs/benchmarks.md, "User store").
func BenchmarkCheckPassword(b *testing.B) {
	for _, profile := range []string{defaultProfile(), "bcrypt cost=10", sha5000} {
		r := NewRepo(memstore.New())
		if err := r.Create(&User{Realm: "corp", Name: "alice", PasswordHash: mustHash(b, profile, "right")}); err != nil {
			b.Fatal(err)
		}
		for _, name := range []string{"alice", "nobody"} {
			what := "wrong-password"
			if name == "nobody" {
				what = "unknown-user"
			}
			b.Run(profile+"/"+what, func(b *testing.B) {
				r.CheckPassword("corp", name, "wrong", nil, t0) // the decoy is made once
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					r.CheckPassword("corp", name, "wrong", nil, t0)
				}
			})
		}
	}
}
