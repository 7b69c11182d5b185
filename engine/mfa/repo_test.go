package mfa

import (
	"bytes"
	"encoding/base32"
	"errors"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authd/authd/engine/store"
	"github.com/authd/authd/engine/store/memstore"
)

var (
	testKey   = []byte("0123456789abcdef0123456789abcdef")
	otherKey  = []byte("fedcba9876543210fedcba9876543210")
	t0        = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	step30    = 30 * time.Second
	aliceRepo = func(t *testing.T) (*Repo, store.KV) {
		t.Helper()
		kv := memstore.New()
		r, err := NewRepo(kv, testKey)
		if err != nil {
			t.Fatal(err)
		}
		return r, kv
	}
)

// enrolled enrols a confirmed token and returns the app's view of it.
func enrolled(t *testing.T, r *Repo, user string, p Params) (*URIKey, Token) {
	t.Helper()
	e, err := r.Enroll("corp", user, "Example Corp", p, true, t0)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ParseURI(e.URI)
	if err != nil {
		t.Fatal(err)
	}
	return k, e.Token
}

func mustCode(t *testing.T, k *URIKey, at time.Time) string {
	t.Helper()
	c, err := k.Code(at)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNewRepo(t *testing.T) {
	if _, err := NewRepo(memstore.New(), []byte("short")); err == nil {
		t.Error("short key accepted")
	}
	if _, err := NewRepo(nil, testKey); err == nil {
		t.Error("nil store accepted")
	}
}

func TestVerifyTOTP(t *testing.T) {
	r, _ := aliceRepo(t)
	if res, err := r.Verify("corp", "alice", "123456", 1, t0); res != NotEnrolled || err != nil {
		t.Fatalf("no token: %v %v", res, err)
	}
	k, tok := enrolled(t, r, "alice", Params{})
	if tok.Params.Digits != 6 || tok.Params.Period != step30 || !tok.Confirmed {
		t.Errorf("token %+v", tok)
	}
	now := t0.Add(time.Hour)

	// Wrong codes and non-codes are invalid.
	for _, bad := range []string{"000000x", "", "12345", "1234567"} {
		if res, _ := r.Verify("corp", "alice", bad, 1, now); res != Invalid {
			t.Errorf("%q: %v", bad, res)
		}
	}
	// The code of the current step passes once; the same code again is a
	// replay, and so is the previous step's code (an earlier step).
	code := mustCode(t, k, now)
	if res, err := r.Verify("corp", "alice", code[:3]+" "+code[3:], 1, now); res != Valid || err != nil {
		t.Fatalf("current code: %v %v", res, err)
	}
	if res, _ := r.Verify("corp", "alice", code, 1, now); res != Replayed {
		t.Errorf("same code again: %v", res)
	}
	if res, _ := r.Verify("corp", "alice", mustCode(t, k, now.Add(-step30)), 1, now); res != Replayed {
		t.Errorf("previous step after the current one: %v", res)
	}
	// The next step is fine (drift +1); two steps ahead is outside window 1.
	if res, _ := r.Verify("corp", "alice", mustCode(t, k, now.Add(2*step30)), 1, now); res != Invalid {
		t.Errorf("+2 steps with window 1: %v", res)
	}
	if res, _ := r.Verify("corp", "alice", mustCode(t, k, now.Add(step30)), 1, now); res != Valid {
		t.Errorf("+1 step: %v", res)
	}
	// Later: -1 step drift is accepted, -2 is not.
	later := now.Add(10 * step30)
	if res, _ := r.Verify("corp", "alice", mustCode(t, k, later.Add(-2*step30)), 1, later); res != Invalid {
		t.Errorf("-2 steps with window 1: %v", res)
	}
	if res, _ := r.Verify("corp", "alice", mustCode(t, k, later.Add(-step30)), 1, later); res != Valid {
		t.Errorf("-1 step: %v", res)
	}
	// Window 0 takes only the current step; window 2 takes -2.
	later = later.Add(10 * step30)
	if res, _ := r.Verify("corp", "alice", mustCode(t, k, later.Add(-step30)), 0, later); res != Invalid {
		t.Errorf("-1 step with window 0: %v", res)
	}
	if res, _ := r.Verify("corp", "alice", mustCode(t, k, later.Add(-2*step30)), 2, later); res != Valid {
		t.Errorf("-2 steps with window 2: %v", res)
	}
	if _, err := r.Verify("corp", "alice", "123456", 11, later); err == nil {
		t.Error("window 11 accepted")
	}
	ts, _ := r.Tokens("corp", "alice")
	if len(ts) != 1 || ts[0].LastStep != later.Unix()/30-2 || !ts[0].LastUsed.Equal(later) {
		t.Errorf("recorded %+v", ts)
	}
	// Another user's codes are not alice's.
	kb, _ := enrolled(t, r, "bob", Params{})
	if res, _ := r.Verify("corp", "alice", mustCode(t, kb, later.Add(time.Hour)), 1, later.Add(time.Hour)); res == Valid {
		t.Error("bob's code opened alice's account")
	}
}

func TestVerifyHOTP(t *testing.T) {
	r, _ := aliceRepo(t)
	k, _ := enrolled(t, r, "alice", Params{Type: "hotp", Digits: 8, Algorithm: "SHA512"})
	at := func(c uint64) string {
		s, err := k.CodeAt(c)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if res, _ := r.Verify("corp", "alice", at(0), 1, t0); res != Valid {
		t.Fatalf("counter 0: %v", res)
	}
	if res, _ := r.Verify("corp", "alice", at(0), 1, t0); res != Replayed {
		t.Errorf("counter 0 again: %v", res)
	}
	// One press skipped is inside the look-ahead of 1; two are not.
	if res, _ := r.Verify("corp", "alice", at(2), 1, t0); res != Valid {
		t.Errorf("counter 2 after 0: %v", res)
	}
	if res, _ := r.Verify("corp", "alice", at(1), 1, t0); res == Valid {
		t.Errorf("counter 1 after 2: %v", res)
	}
	if res, _ := r.Verify("corp", "alice", at(5), 1, t0); res != Invalid {
		t.Errorf("counter 5 after 2 with window 1: %v", res)
	}
	if res, _ := r.Verify("corp", "alice", at(5), 2, t0); res != Valid {
		t.Errorf("counter 5 after 2 with window 2: %v", res)
	}
	ts, _ := r.Tokens("corp", "alice")
	if ts[0].Counter != 6 {
		t.Errorf("counter %d, want 6", ts[0].Counter)
	}
}

// TestVerifyConcurrent: of many requests racing with one code, one wins.
func TestVerifyConcurrent(t *testing.T) {
	r, _ := aliceRepo(t)
	k, _ := enrolled(t, r, "alice", Params{})
	code := mustCode(t, k, t0)
	var wg sync.WaitGroup
	var mu sync.Mutex
	valid := 0
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := r.Verify("corp", "alice", code, 1, t0)
			if err != nil {
				t.Error(err)
			}
			if res == Valid {
				mu.Lock()
				valid++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if valid != 1 {
		t.Errorf("%d requests passed with one code", valid)
	}
}

func TestEnrollConfirm(t *testing.T) {
	r, _ := aliceRepo(t)
	e, err := r.Enroll("corp", "alice", "Example Corp", Params{}, false, t0)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := ParseURI(e.URI)
	if k.Issuer != "Example Corp" || k.Account != "alice" {
		t.Errorf("URI labels %q %q", k.Issuer, k.Account)
	}
	// A pending token does not count.
	if res, _ := r.Verify("corp", "alice", mustCode(t, k, t0), 1, t0); res != NotEnrolled {
		t.Errorf("pending token verified: %v", res)
	}
	if ok, _ := r.HasToken("corp", "alice"); ok {
		t.Error("HasToken with a pending token")
	}
	// Its URI can be shown again while pending.
	if uri, err := r.URI("corp", "alice", e.Token.ID); err != nil || uri != e.URI {
		t.Errorf("URI again: %v", err)
	}
	if res, err := r.Confirm("corp", "alice", e.Token.ID, "000000", 1, RefuseIfEnrolled, t0); res != Invalid || err != nil {
		t.Errorf("wrong confirmation: %v %v", res, err)
	}
	code := mustCode(t, k, t0)
	if res, err := r.Confirm("corp", "alice", e.Token.ID, code, 1, RefuseIfEnrolled, t0); res != Valid || err != nil {
		t.Fatalf("confirmation: %v %v", res, err)
	}
	// The confirming code is used up; the URI is gone for good.
	if res, _ := r.Verify("corp", "alice", code, 1, t0); res != Replayed {
		t.Errorf("confirming code reused: %v", res)
	}
	if _, err := r.URI("corp", "alice", e.Token.ID); err == nil {
		t.Error("URI of a confirmed token returned")
	}
	if _, err := r.Confirm("corp", "alice", e.Token.ID, code, 1, RefuseIfEnrolled, t0); !errors.Is(err, ErrNoToken) {
		t.Errorf("confirming twice: %v", err)
	}
	if ok, _ := r.HasToken("corp", "alice"); !ok {
		t.Error("HasToken after confirmation")
	}

	// single_device: a second token is refused at confirmation.
	e2, _ := r.Enroll("corp", "alice", "X", Params{}, false, t0)
	k2, _ := ParseURI(e2.URI)
	if _, err := r.Confirm("corp", "alice", e2.Token.ID, mustCode(t, k2, t0), 1, RefuseIfEnrolled, t0); !errors.Is(err, ErrEnrolled) {
		t.Errorf("second token, single_device: %v", err)
	}
	// multiple_devices keeps both; override_allowed replaces.
	if res, _ := r.Confirm("corp", "alice", e2.Token.ID, mustCode(t, k2, t0), 1, KeepOthers, t0); res != Valid {
		t.Errorf("second token, multiple_devices: %v", res)
	}
	if ts, _ := r.Tokens("corp", "alice"); len(ts) != 2 {
		t.Errorf("%d tokens after multiple_devices", len(ts))
	}
	e3, _ := r.Enroll("corp", "alice", "X", Params{}, false, t0)
	k3, _ := ParseURI(e3.URI)
	if res, _ := r.Confirm("corp", "alice", e3.Token.ID, mustCode(t, k3, t0), 1, ReplaceOthers, t0); res != Valid {
		t.Errorf("third token, override_allowed: %v", res)
	}
	if ts, _ := r.Tokens("corp", "alice"); len(ts) != 1 || ts[0].ID != e3.Token.ID {
		t.Errorf("tokens after override: %+v", ts)
	}

	// An abandoned enrolment expires and is cleaned by the next one.
	e4, _ := r.Enroll("corp", "alice", "X", Params{}, false, t0)
	k4, _ := ParseURI(e4.URI)
	late := t0.Add(PendingTTL + time.Minute)
	if _, err := r.Confirm("corp", "alice", e4.Token.ID, mustCode(t, k4, late), 1, KeepOthers, late); !errors.Is(err, ErrNoToken) {
		t.Errorf("expired enrolment: %v", err)
	}
	r.Enroll("corp", "alice", "X", Params{}, false, late)
	for _, tk := range mustTokens(t, r, "alice") {
		if tk.ID == e4.Token.ID {
			t.Error("expired pending token kept")
		}
	}
	if ReplaceFor("multiple_devices") != KeepOthers || ReplaceFor("override_allowed") != ReplaceOthers || ReplaceFor("") != RefuseIfEnrolled {
		t.Error("ReplaceFor")
	}
}

func mustTokens(t *testing.T, r *Repo, user string) []Token {
	t.Helper()
	ts, err := r.Tokens("corp", user)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

// TestSecretsAtRest: the store holds no secret in any readable form, a
// record moved to another user does not decrypt, and another key is named.
func TestSecretsAtRest(t *testing.T) {
	r, kv := aliceRepo(t)
	e, err := r.Enroll("corp", "alice", "Example Corp", Params{}, true, t0)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := ParseURI(e.URI)
	raw := k.secret
	b32s := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(raw)
	var rec []byte
	kv.View(func(tx store.Tx) error {
		return tx.ForEach(bucketOTP, nil, func(_, v []byte) error {
			rec = append([]byte(nil), v...)
			return nil
		})
	})
	if len(rec) == 0 {
		t.Fatal("no record")
	}
	if bytes.Contains(rec, raw) || bytes.Contains(rec, []byte(b32s)) || bytes.Contains(bytes.ToLower(rec), []byte(strings.ToLower(b32s))) {
		t.Fatal("the secret is stored in the clear")
	}
	// The record copied onto bob fails to open.
	kv.Update(func(tx store.Tx) error { return tx.Put(bucketOTP, tokenKey("corp", "bob", e.Token.ID), rec) })
	if _, err := r.Verify("corp", "bob", mustCode(t, k, t0), 1, t0); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Errorf("copied record: %v", err)
	}
	// Another key: a clear error naming the cause.
	r2, _ := NewRepo(kv, otherKey)
	if _, err := r2.Verify("corp", "alice", mustCode(t, k, t0), 1, t0); !errors.Is(err, ErrWrongKey) {
		t.Errorf("other key: %v", err)
	}
	// Damaged JSON is reported without quoting it.
	kv.Update(func(tx store.Tx) error { return tx.Put(bucketOTP, tokenKey("corp", "carol", "x"), []byte("{")) })
	if _, err := r.Tokens("corp", "carol"); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Errorf("damaged record: %v", err)
	}
}

func TestDelete(t *testing.T) {
	r, _ := aliceRepo(t)
	_, tok := enrolled(t, r, "alice", Params{})
	enrolled(t, r, "alice", Params{})
	r.GenerateRecoveryCodes("corp", "alice", 3, t0)
	if err := r.DeleteToken("corp", "alice", "nope"); !errors.Is(err, ErrNoToken) {
		t.Errorf("delete unknown: %v", err)
	}
	if err := r.DeleteToken("corp", "alice", tok.ID); err != nil {
		t.Fatal(err)
	}
	if n, err := r.DeleteTokens("corp", "alice"); n != 1 || err != nil {
		t.Errorf("DeleteTokens = %d %v", n, err)
	}
	if err := r.DeleteUser("corp", "alice"); err != nil {
		t.Fatal(err)
	}
	if st, _ := r.RecoveryCodes("corp", "alice"); st.Left != 0 {
		t.Errorf("recovery codes after DeleteUser: %+v", st)
	}
	if _, err := r.Tokens("", "alice"); err == nil {
		t.Error("empty realm accepted")
	}
	if _, err := r.Tokens("corp", "a\x00b"); err == nil {
		t.Error("NUL in a name accepted")
	}
}

func TestRecoveryCodes(t *testing.T) {
	r, kv := aliceRepo(t)
	if ok, err := r.UseRecoveryCode("corp", "alice", "0000-0000-0000-0000"); ok || err != nil {
		t.Errorf("no codes: %v %v", ok, err)
	}
	codes, err := r.GenerateRecoveryCodes("corp", "alice", DefaultRecoveryCodes, t0)
	if err != nil || len(codes) != 10 {
		t.Fatalf("%d codes, %v", len(codes), err)
	}
	seen := map[string]bool{}
	for _, c := range codes {
		if len(c) != 19 || strings.Count(c, "-") != 3 || seen[c] {
			t.Errorf("code %q", c)
		}
		seen[c] = true
		// No code is stored in any form a reader of the store could use.
		kv.View(func(tx store.Tx) error {
			if b := tx.Get(bucketRecovery, recoveryKey("corp", "alice")); bytes.Contains(b, []byte(c)) || bytes.Contains(b, []byte(strings.ReplaceAll(c, "-", ""))) {
				t.Error("a recovery code is stored in the clear")
			}
			return nil
		})
	}
	// Typed in upper case without dashes, and with O for 0 / I for 1.
	typed := strings.ToUpper(strings.ReplaceAll(codes[0], "-", ""))
	typed = strings.NewReplacer("0", "O", "1", "I").Replace(typed)
	if ok, err := r.UseRecoveryCode("corp", "alice", typed); !ok || err != nil {
		t.Fatalf("first code: %v %v", ok, err)
	}
	if ok, _ := r.UseRecoveryCode("corp", "alice", codes[0]); ok {
		t.Error("a recovery code worked twice")
	}
	for _, bad := range []string{"", "abc", codes[1] + "x", "uuuu-uuuu-uuuu-uuuu"} {
		if ok, _ := r.UseRecoveryCode("corp", "alice", bad); ok {
			t.Errorf("%q accepted", bad)
		}
	}
	if ok, _ := r.UseRecoveryCode("corp", "bob", codes[1]); ok {
		t.Error("alice's code worked for bob")
	}
	st, _ := r.RecoveryCodes("corp", "alice")
	if st.Left != 9 || st.Used != 1 || !st.Created.Equal(t0) {
		t.Errorf("status %+v", st)
	}
	// A new set replaces the old one.
	fresh, _ := r.GenerateRecoveryCodes("corp", "alice", 2, t0)
	if ok, _ := r.UseRecoveryCode("corp", "alice", codes[1]); ok {
		t.Error("an old code survived regeneration")
	}
	if ok, _ := r.UseRecoveryCode("corp", "alice", fresh[1]); !ok {
		t.Error("a new code failed")
	}
	// Concurrent use of one code: it works once.
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ok, _ := r.UseRecoveryCode("corp", "alice", fresh[0]); ok {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Errorf("one code used %d times", wins)
	}
	for _, n := range []int{0, 51} {
		if _, err := r.GenerateRecoveryCodes("corp", "alice", n, t0); err == nil {
			t.Errorf("%d codes accepted", n)
		}
	}
	// Under another key the codes are refused with a clear error.
	codes, _ = r.GenerateRecoveryCodes("corp", "alice", 1, t0)
	r2, _ := NewRepo(kv, otherKey)
	if _, err := r2.UseRecoveryCode("corp", "alice", codes[0]); err == nil || !strings.Contains(err.Error(), "another store key") {
		t.Errorf("other key: %v", err)
	}
}

func TestHashCode(t *testing.T) {
	r, _ := aliceRepo(t)
	h := r.HashCode("session-1", "123456")
	if bytes.Contains(h, []byte("123456")) || len(h) != 32 {
		t.Errorf("hash %x", h)
	}
	if !r.CheckCode(h, "session-1", "123 456") || r.CheckCode(h, "session-1", "123457") || r.CheckCode(h, "session-2", "123456") || r.CheckCode(nil, "session-1", "123456") || r.CheckCode(h, "session-1", "") {
		t.Error("CheckCode")
	}
	r2, _ := NewRepo(memstore.New(), otherKey)
	if r2.CheckCode(h, "session-1", "123456") {
		t.Error("the hash does not depend on the key")
	}
}

func TestAttach(t *testing.T) {
	r, kv := aliceRepo(t)
	if For(kv) != nil || For(nil) != nil {
		t.Fatal("attached before Attach")
	}
	Attach(kv, r)
	if For(kv) != r {
		t.Error("For after Attach")
	}
	Attach(kv, nil)
	if For(kv) != nil {
		t.Error("For after detaching")
	}
}

// TestOathtool: codes computed by oathtool (the reference implementation
// from oath-toolkit) for an enrolled token are accepted.
func TestOathtool(t *testing.T) {
	if _, err := exec.LookPath("oathtool"); err != nil {
		t.Skip("oathtool is not installed (Debian package oathtool; .ci/install-tools installs it)")
	}
	r, _ := aliceRepo(t)
	for _, p := range []Params{{}, {Algorithm: "SHA256", Digits: 8}, {Algorithm: "SHA512", Period: 60 * time.Second}} {
		k, _ := enrolled(t, r, "alice-"+p.Algorithm, p)
		secret := base32.StdEncoding.EncodeToString(k.secret)
		now := t0.Add(time.Duration(len(p.Algorithm)) * time.Hour)
		mode := "sha1"
		if p.Algorithm != "" {
			mode = strings.ToLower(p.Algorithm)
		}
		out, err := exec.Command("oathtool", "--totp="+mode, "-b", "-d", strconv.Itoa(k.Digits),
			"-s", strconv.Itoa(int(k.Period/time.Second))+"s", "-N", "@"+strconv.FormatInt(now.Unix(), 10), secret).Output()
		if err != nil {
			t.Fatalf("oathtool: %v", err)
		}
		code := strings.TrimSpace(string(out))
		if res, err := r.Verify("corp", "alice-"+p.Algorithm, code, 1, now); res != Valid || err != nil {
			t.Errorf("%+v: oathtool's code %s: %v %v", p, code, res, err)
		}
	}
	// HOTP: oathtool's counter 0 and 1 codes, in order, then the replay.
	k, _ := enrolled(t, r, "hal", Params{Type: TypeHOTP})
	secret := base32.StdEncoding.EncodeToString(k.secret)
	out, err := exec.Command("oathtool", "--hotp", "-b", "-c", "0", "-w", "1", secret).Output()
	if err != nil {
		t.Fatal(err)
	}
	codes := strings.Fields(string(out))
	if len(codes) != 2 {
		t.Fatalf("oathtool output %q", out)
	}
	for _, c := range codes {
		if res, _ := r.Verify("corp", "hal", c, 1, t0); res != Valid {
			t.Errorf("oathtool HOTP code: %v", res)
		}
	}
	if res, _ := r.Verify("corp", "hal", codes[0], 1, t0); res == Valid {
		t.Error("HOTP code replayed")
	}
}
