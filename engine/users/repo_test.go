package users

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authd/authd/engine/store"
	"github.com/authd/authd/engine/store/boltstore"
	"github.com/authd/authd/engine/store/memstore"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// backends runs fn against a fresh repository on each store.KV.
func backends(t *testing.T, fn func(t *testing.T, r *Repo)) {
	t.Run("mem", func(t *testing.T) { fn(t, NewRepo(memstore.New())) })
	t.Run("bolt", func(t *testing.T) {
		kv, err := boltstore.Open(filepath.Join(t.TempDir(), "authd.db"), boltstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { kv.Close() })
		fn(t, NewRepo(kv))
	})
}

func TestCRUD(t *testing.T) {
	backends(t, func(t *testing.T, r *Repo) {
		in := &User{Realm: "corp", Name: "alice", Email: "alice@example.com", Phone: "+1 555 0100",
			Groups: []string{"staff", "vpn"}, Attributes: map[string]string{"dept": "ops"}}
		if err := r.Create(in); err != nil {
			t.Fatal(err)
		}
		if !in.Created.IsZero() {
			t.Error("Create changed the caller's value")
		}
		if err := r.Create(in); !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), `"alice"`) {
			t.Errorf("second Create: %v", err)
		}
		u, err := r.Get("corp", "alice")
		if err != nil {
			t.Fatal(err)
		}
		if u.Email != in.Email || u.Phone != in.Phone || len(u.Groups) != 2 || u.Attributes["dept"] != "ops" || u.Created.IsZero() || !u.Updated.Equal(u.Created) {
			t.Errorf("Get = %+v", u)
		}
		u.Groups[0] = "changed" // a copy: the store is not affected
		if again, _ := r.Get("corp", "alice"); again.Groups[0] != "staff" {
			t.Error("Get returned shared memory")
		}

		steps := []struct {
			name    string
			fn      func(*User) error
			wantErr string
		}{
			{"change email", func(u *User) error { u.Email = "a@example.org"; return nil }, ""},
			{"fn error aborts", func(u *User) error { u.Email = "lost@example.org"; return errors.New("nope") }, "nope"},
			{"rename refused", func(u *User) error { u.Name = "mallory"; return nil }, "cannot rename"},
			{"realm move refused", func(u *User) error { u.Realm = "other"; return nil }, "cannot rename"},
			{"invalid field refused", func(u *User) error { u.Groups = append(u.Groups, "a;b"); return nil }, "group contains ';'"},
			{"bad hash refused", func(u *User) error { u.PasswordHash = "$1$x$y"; return nil }, "unsupported hash scheme"},
		}
		for _, s := range steps {
			err := r.Update("corp", "alice", s.fn)
			if (err == nil) != (s.wantErr == "") || err != nil && !strings.Contains(err.Error(), s.wantErr) {
				t.Errorf("%s: %v, want %q", s.name, err, s.wantErr)
			}
		}
		u, _ = r.Get("corp", "alice")
		if u.Email != "a@example.org" || u.Name != "alice" || len(u.Groups) != 2 || u.PasswordHash != "" {
			t.Errorf("after updates: %+v", u)
		}
		if !u.Updated.After(u.Created) && !u.Updated.Equal(u.Created) {
			t.Errorf("Updated %v before Created %v", u.Updated, u.Created)
		}

		if err := r.Update("corp", "bob", func(*User) error { return nil }); !errors.Is(err, ErrNotFound) {
			t.Errorf("Update of a missing user: %v", err)
		}
		if _, err := r.Get("other", "alice"); !errors.Is(err, ErrNotFound) {
			t.Errorf("realms are separate: %v", err)
		}
		if err := r.Delete("corp", "alice"); err != nil {
			t.Fatal(err)
		}
		if err := r.Delete("corp", "alice"); !errors.Is(err, ErrNotFound) {
			t.Errorf("second Delete: %v", err)
		}
		if _, err := r.Get("corp", "alice"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get after Delete: %v", err)
		}
	})
}

func TestList(t *testing.T) {
	backends(t, func(t *testing.T, r *Repo) {
		for _, rn := range []string{"corp/zed", "corp/Bob", "corp/alice", "corp2/carol", "cor/dave", "corp/ålex"} {
			realm, name, _ := strings.Cut(rn, "/")
			if err := r.Create(&User{Realm: realm, Name: name}); err != nil {
				t.Fatal(err)
			}
		}
		us, err := r.List("corp")
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, u := range us {
			names = append(names, u.Name)
		}
		if got := strings.Join(names, ","); got != "Bob,alice,zed,ålex" {
			t.Errorf("List(corp) = %s", got)
		}
		if us, _ := r.List("empty"); len(us) != 0 {
			t.Errorf("List(empty) = %v", us)
		}
		if _, err := r.List(""); err == nil {
			t.Error("List of an empty realm name: no error")
		}
	})
}

func TestValidation(t *testing.T) {
	r := NewRepo(memstore.New())
	cases := []struct {
		name string
		u    User
		want string
	}{
		{"empty name", User{Realm: "corp"}, "user name is empty"},
		{"long name", User{Realm: "corp", Name: strings.Repeat("a", 129)}, "user name is longer than 128 bytes"},
		{"name at the limit", User{Realm: "corp", Name: strings.Repeat("a", 128)}, ""},
		{"NUL in name", User{Realm: "corp", Name: "al\x00ice"}, "user name contains a control character"},
		{"newline in name", User{Realm: "corp", Name: "alice\nadmin"}, "user name contains a control character"},
		{"escape in name", User{Realm: "corp", Name: "\x1b[31malice"}, "user name contains a control character"},
		{"C1 control in name", User{Realm: "corp", Name: "ali\u0085ce"}, "user name contains a control character"},
		{"invalid UTF-8", User{Realm: "corp", Name: "ali\xffce"}, "user name is not valid UTF-8"},
		{"padded name", User{Realm: "corp", Name: " alice"}, "user name has leading or trailing spaces"},
		{"unicode name", User{Realm: "corp", Name: "José Ñúñez"}, ""},
		{"email-like name", User{Realm: "corp", Name: "alice@example.com"}, ""},
		{"empty realm", User{Name: "alice"}, "realm is empty"},
		{"NUL in realm", User{Realm: "co\x00rp", Name: "alice"}, "realm contains a control character"},
		{"long realm", User{Realm: strings.Repeat("r", 200), Name: "alice"}, "realm is longer than 128 bytes"},
		{"bad email", User{Realm: "corp", Name: "a", Email: "not an email"}, "email is not an address"},
		{"bad phone", User{Realm: "corp", Name: "a", Phone: "call me"}, "phone may hold only digits"},
		{"short phone", User{Realm: "corp", Name: "a", Phone: "+1"}, "phone has fewer than 3 digits"},
		{"empty group", User{Realm: "corp", Name: "a", Groups: []string{""}}, "group is empty"},
		{"duplicate group", User{Realm: "corp", Name: "a", Groups: []string{"x", "x"}}, "group is listed twice"},
		{"attribute key with =", User{Realm: "corp", Name: "a", Attributes: map[string]string{"a=b": "c"}}, "attribute name contains '='"},
		{"attribute value control", User{Realm: "corp", Name: "a", Attributes: map[string]string{"k": "v\r\n"}}, "attribute value contains a control character"},
		{"plaintext as hash", User{Realm: "corp", Name: "a", PasswordHash: "hunter2"}, "not a $scheme$ password hash"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := r.Create(&c.u)
			if c.want == "" {
				if err != nil {
					t.Fatalf("valid user rejected: %v", err)
				}
				return
			}
			var fe *FieldError
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
			if c.u.PasswordHash == "" && !errors.As(err, &fe) {
				t.Errorf("%T is not a *FieldError", err)
			}
		})
	}
	for _, bad := range []string{"", "a\x00b", strings.Repeat("x", 129)} {
		if _, err := r.Get("corp", bad); err == nil {
			t.Errorf("Get(%q): no error", bad)
		}
		if _, err := r.Get(bad, "alice"); err == nil {
			t.Errorf("Get(realm %q): no error", bad)
		}
	}
}

func TestSetPassword(t *testing.T) {
	cheapArgon(t)
	backends(t, func(t *testing.T, r *Repo) {
		r.Create(&User{Realm: "corp", Name: "alice"})
		if err := r.SetPassword("corp", "alice", "", t0); err == nil {
			t.Error("empty password accepted")
		}
		if err := r.SetPassword("corp", "nobody", "pw", t0); !errors.Is(err, ErrNotFound) {
			t.Errorf("SetPassword of a missing user: %v", err)
		}
		if err := r.SetPassword("corp", "alice", "open sesame", t0); err != nil {
			t.Fatal(err)
		}
		u, _ := r.Get("corp", "alice")
		if !strings.HasPrefix(u.PasswordHash, "$argon2id$") || !u.Updated.Equal(t0) {
			t.Errorf("stored %+v", u)
		}
		if res, err := r.CheckPassword("corp", "alice", "open sesame", nil, t0); res != PasswordOK || err != nil {
			t.Errorf("CheckPassword = %v, %v", res, err)
		}
	})
}

// step is one attempt in a lockout scenario.
type step struct {
	at       time.Duration // after t0
	pw       string        // "" for RecordFailure
	want     CheckResult
	failures int
	locked   bool
}

func runSteps(t *testing.T, r *Repo, policy *Lockout, steps []step) {
	t.Helper()
	for i, s := range steps {
		now := t0.Add(s.at)
		var got CheckResult
		if s.pw == "" {
			locked, err := r.RecordFailure("corp", "alice", policy, now)
			if err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
			got = PasswordWrong
			if locked {
				got = AccountLocked
			}
		} else {
			var err error
			if got, err = r.CheckPassword("corp", "alice", s.pw, policy, now); err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
		}
		u, _ := r.Get("corp", "alice")
		if got != s.want || u.Failures != s.failures || u.Locked(now) != s.locked {
			t.Errorf("step %d (%v, %q): got %v, failures %d, locked %v; want %v, %d, %v",
				i, s.at, s.pw, got, u.Failures, u.Locked(now), s.want, s.failures, s.locked)
		}
	}
}

func TestLockout(t *testing.T) {
	cheapArgon(t)
	policy := &Lockout{MaxFailures: 3, Window: 10 * time.Minute, Duration: 15 * time.Minute}
	m := time.Minute
	cases := []struct {
		name   string
		policy *Lockout
		steps  []step
	}{
		{"success resets the count", policy, []step{
			{0, "bad", PasswordWrong, 1, false},
			{1 * m, "bad", PasswordWrong, 2, false},
			{2 * m, "right", PasswordOK, 0, false},
			{3 * m, "bad", PasswordWrong, 1, false},
		}},
		{"crossing the limit locks for Duration", policy, []step{
			{0, "bad", PasswordWrong, 1, false},
			{1 * m, "bad", PasswordWrong, 2, false},
			{2 * m, "bad", LockedNow, 0, true},
			{3 * m, "right", AccountLocked, 0, true}, // refused while locked, right or not
			{16 * m, "bad", AccountLocked, 0, true},  // and not extended
			{17 * m, "right", PasswordOK, 0, false},  // 2m + 15m: expired
		}},
		{"failures outside the window expire", policy, []step{
			{0, "bad", PasswordWrong, 1, false},
			{5 * m, "bad", PasswordWrong, 2, false},
			{10 * m, "bad", PasswordWrong, 1, false}, // the first failure is 10m old: a new window
			{11 * m, "bad", PasswordWrong, 2, false},
			{19 * m, "bad", LockedNow, 0, true}, // within 10m of the failure at 10m
		}},
		{"an expired lock gives a full allowance", policy, []step{
			{0, "bad", PasswordWrong, 1, false},
			{0, "bad", PasswordWrong, 2, false},
			{0, "bad", LockedNow, 0, true},
			{15 * m, "bad", PasswordWrong, 1, false},
			{15 * m, "bad", PasswordWrong, 2, false},
		}},
		{"other factors count too", policy, []step{
			{0, "bad", PasswordWrong, 1, false},
			{0, "", PasswordWrong, 2, false}, // a wrong OTP code
			{0, "", AccountLocked, 0, true},
			{1 * m, "", AccountLocked, 0, true},
		}},
		{"no policy: nothing counted", nil, []step{
			{0, "bad", PasswordWrong, 0, false},
			{0, "bad", PasswordWrong, 0, false},
			{0, "bad", PasswordWrong, 0, false},
			{0, "bad", PasswordWrong, 0, false},
			{0, "right", PasswordOK, 0, false},
		}},
		{"MaxFailures 0 disables", &Lockout{Window: m, Duration: m}, []step{
			{0, "bad", PasswordWrong, 0, false},
			{0, "", PasswordWrong, 0, false},
		}},
		{"no window: failures never expire", &Lockout{MaxFailures: 2, Duration: m}, []step{
			{0, "bad", PasswordWrong, 1, false},
			{1000 * time.Hour, "bad", LockedNow, 0, true},
		}},
		{"no duration: locked until unlocked", &Lockout{MaxFailures: 1, Window: m}, []step{
			{0, "bad", LockedNow, 0, true},
			{10000 * time.Hour, "right", AccountLocked, 0, true},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			backends(t, func(t *testing.T, r *Repo) {
				r.Create(&User{Realm: "corp", Name: "alice"})
				r.SetPassword("corp", "alice", "right", t0)
				runSteps(t, r, c.policy, c.steps)
			})
		})
	}
}

func TestUnlockAndStaleCounters(t *testing.T) {
	cheapArgon(t)
	backends(t, func(t *testing.T, r *Repo) {
		r.Create(&User{Realm: "corp", Name: "alice"})
		r.SetPassword("corp", "alice", "right", t0)
		forever := &Lockout{MaxFailures: 2}
		runSteps(t, r, forever, []step{
			{0, "bad", PasswordWrong, 1, false},
			{0, "bad", LockedNow, 0, true},
		})
		if err := r.Unlock("corp", "alice"); err != nil {
			t.Fatal(err)
		}
		if err := r.Unlock("corp", "nobody"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Unlock of a missing user: %v", err)
		}
		runSteps(t, r, forever, []step{{0, "bad", PasswordWrong, 1, false}})
		// The policy was removed since: a success still clears the old count.
		runSteps(t, r, nil, []step{{0, "right", PasswordOK, 0, false}})
		u, _ := r.Get("corp", "alice")
		if u.Failures != 0 || !u.FirstFailure.IsZero() || !u.LockedUntil.IsZero() {
			t.Errorf("after success: %+v", u)
		}
	})
}

func TestCheckPasswordUnknownAndOddUsers(t *testing.T) {
	cheapArgon(t)
	policy := &Lockout{MaxFailures: 1, Duration: time.Hour}
	backends(t, func(t *testing.T, r *Repo) {
		r.Create(&User{Realm: "corp", Name: "nopass"}) // imported without a hash
		for _, name := range []string{"nobody", "nopass", "bad\x00name", "", strings.Repeat("n", 500)} {
			res, err := r.CheckPassword("corp", name, "", nil, t0)
			if res != PasswordWrong || err != nil {
				t.Errorf("%q without policy: %v, %v", name, res, err)
			}
		}
		for _, name := range []string{"nobody", "bad\x00name"} {
			if res, err := r.CheckPassword("corp", name, "x", policy, t0); res != PasswordWrong || err != nil {
				t.Errorf("%q with policy: %v, %v", name, res, err)
			}
		}
		if _, err := r.Get("corp", "nobody"); !errors.Is(err, ErrNotFound) {
			t.Error("checking an unknown user created it")
		}
		if res, _ := r.CheckPassword("corp", "nopass", "", policy, t0); res != LockedNow {
			t.Errorf("a user without a password fails like a wrong password (and counts): %v", res)
		}
		if _, err := r.CheckPassword("", "alice", "x", nil, t0); err == nil {
			t.Error("empty realm: no error")
		}
		if _, err := r.RecordFailure("corp", "nobody", policy, t0); !errors.Is(err, ErrNotFound) {
			t.Errorf("RecordFailure of an unknown user: %v", err)
		}
	})
}

func TestUnknownUserCostsAWrongPassword(t *testing.T) {
	// An unknown user is verified against a dummy hash with the production
	// parameters, so it costs what a wrong password costs. Timing itself is
	// measured by BenchmarkCheckPassword, never asserted: CI machines are
	// shared and noisy.
	r := NewRepo(memstore.New())
	got, err := r.DecoyProfile("corp")
	if err != nil || got != "argon2id m=65536,t=3,p=2" {
		t.Fatalf("the decoy of a realm without users is %q (%v), want the default argon2id parameters", got, err)
	}
}

// TestConcurrentFailuresAllCount checks that the read-modify-write of the
// counters is one transaction: parallel wrong passwords are all counted.
func TestConcurrentFailuresAllCount(t *testing.T) {
	cheapArgon(t)
	backends(t, func(t *testing.T, r *Repo) {
		r.Create(&User{Realm: "corp", Name: "alice"})
		r.SetPassword("corp", "alice", "right", t0)
		const n = 12
		policy := &Lockout{MaxFailures: n + 1, Window: time.Hour, Duration: time.Hour}
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if i%2 == 0 {
					r.CheckPassword("corp", "alice", fmt.Sprint("bad", i), policy, t0)
				} else {
					r.RecordFailure("corp", "alice", policy, t0)
				}
			}()
		}
		wg.Wait()
		u, _ := r.Get("corp", "alice")
		if u.Failures != n {
			t.Errorf("%d failures counted, want %d", u.Failures, n)
		}
		if res, _ := r.CheckPassword("corp", "alice", "bad", policy, t0); res != LockedNow {
			t.Errorf("failure %d: %v, want LockedNow", n+1, res)
		}
	})
}

// TestPasswordChangedDuringCheck: the hash verified is the hash whose
// counters are updated; a change in between is noticed.
func TestPasswordChangedDuringCheck(t *testing.T) {
	cheapArgon(t)
	kv := &hookKV{KV: memstore.New()}
	r := NewRepo(kv)
	r.Create(&User{Realm: "corp", Name: "alice"})
	r.SetPassword("corp", "alice", "old", t0)
	newHash, _ := HashPassword("new")
	changed := false
	kv.beforeUpdate = func() {
		if !changed { // an admin runs `authd user passwd` mid-check
			changed = true
			kv.KV.Update(func(tx store.Tx) error {
				u, _ := load(tx, "corp", "alice")
				u.PasswordHash = newHash
				return save(tx, u)
			})
		}
	}
	res, err := r.CheckPassword("corp", "alice", "old", &Lockout{MaxFailures: 5}, t0)
	if res != PasswordWrong || err != nil {
		t.Errorf("old password after a change: %v, %v", res, err)
	}
	if u, _ := r.Get("corp", "alice"); u.Failures != 1 {
		t.Errorf("failures %d, want 1 (counted against the new hash)", u.Failures)
	}
}

type hookKV struct {
	store.KV
	beforeUpdate func()
}

func (h *hookKV) Update(fn func(store.Tx) error) error {
	if h.beforeUpdate != nil {
		h.beforeUpdate()
	}
	return h.KV.Update(fn)
}
