package main

import (
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/dsl"
	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/mfa"
	"github.com/authd/authd/engine/store/boltstore"
	"github.com/authd/authd/engine/store/memstore"
)

// mfaEnv is a configuration with realm corp (display name Example Corp) and
// users alice and bob in its store.
func mfaEnv(t *testing.T) env {
	t.Helper()
	e := userEnv(t)
	for _, u := range []string{"alice", "bob"} {
		e2 := e
		e2.stdin = "pw-" + u + "\n"
		e2.run(t, "user", "add", "-realm", "corp", "-password-stdin", u).want(t, 0, nil, nil)
	}
	return e
}

// openMFAStore opens the test's store with the key authd made, as the
// server would, to check what the commands wrote.
func openMFAStore(t *testing.T, e env) *mfa.Repo {
	t.Helper()
	data := filepath.Join(e.dir, "data")
	st, err := boltstore.Open(filepath.Join(data, "authd.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	key, src, err := mfa.ResolveKey("", false, func(string) string { return "" }, data)
	if err != nil || src != mfa.SourceFile {
		t.Fatalf("key: %s %v", src, err)
	}
	r, err := mfa.NewRepo(st, key)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestOTPCommands(t *testing.T) {
	e := mfaEnv(t)
	r := e.run(t, "otp", "enroll", "-realm", "corp", "alice")
	r.want(t, 0, []string{"otpauth://totp/Example%20Corp:alice?"}, []string{"enrolled TOTP token", "shown only now"})
	uri := strings.TrimSpace(r.stdout)
	if strings.Count(r.stdout, "\n") != 1 {
		t.Errorf("stdout is more than the URI:\n%s", r.stdout)
	}
	k, err := mfa.ParseURI(uri)
	if err != nil || k.Issuer != "Example Corp" || k.Account != "alice" || k.Digits != 6 {
		t.Fatalf("URI %q: %+v %v", uri, k, err)
	}
	secret := uri[strings.Index(uri, "secret=")+7:]
	secret, _, _ = strings.Cut(secret, "&")
	// The key file was made beside the store, 0600.
	if fi, err := os.Stat(filepath.Join(e.dir, "data", mfa.KeyFileName)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}

	// HOTP, 8 digits, SHA256, with a QR code file.
	qr := filepath.Join(e.dir, "qr.png")
	r = e.run(t, "otp", "enroll", "-realm", "corp", "-type", "hotp", "-digits", "8", "-algorithm", "sha256", "-qr", qr, "bob")
	r.want(t, 0, []string{"otpauth://hotp/"}, []string{"HOTP token"})
	if fi, err := os.Stat(qr); err != nil || fi.Mode().Perm() != 0o600 || fi.Size() < 100 {
		t.Errorf("QR file: %v %v", fi, err)
	}

	// list never shows a secret; json too.
	r = e.run(t, "otp", "list", "-realm", "corp", "alice")
	r.want(t, 0, []string{"totp/30s", "SHA1", "confirmed"}, nil)
	js := e.run(t, "otp", "list", "-realm", "corp", "-format", "json", "alice")
	js.want(t, 0, nil, nil)
	for _, out := range []string{r.stdout, js.stdout} {
		if strings.Contains(out, secret) || strings.Contains(strings.ToLower(out), strings.ToLower(secret)) {
			t.Fatalf("list shows the secret:\n%s", out)
		}
	}
	var toks []OTPTokenInfo
	if err := json.Unmarshal([]byte(js.stdout), &toks); err != nil || len(toks) != 1 || !toks[0].Confirmed {
		t.Fatalf("json list %q: %v", js.stdout, err)
	}
	// The store holds the secret sealed: not in the file in any form.
	db, _ := os.ReadFile(filepath.Join(e.dir, "data", "authd.db"))
	if strings.Contains(string(db), secret) {
		t.Fatal("the secret is in the store file in the clear")
	}

	// Every enrolment by hand is an admin entry of the audit log, on the
	// store as through a server; a secret never is.
	a := e.run(t, "audit", "-kind", "admin")
	a.want(t, 0, []string{"op=otp.enroll", "corp/alice", "corp/bob"}, nil)
	if strings.Contains(a.stdout, "secret=") {
		t.Errorf("the audit log holds a secret:\n%s", a)
	}

	// Errors: unknown user, realm typo, bad flags.
	e.run(t, "otp", "enroll", "-realm", "corp", "carol").oneLineErr(t, `no user "carol" in realm "corp"`)
	e.run(t, "otp", "enroll", "-realm", "crop", "alice").oneLineErr(t, `did you mean "corp"`)
	e.run(t, "otp", "enroll", "-realm", "corp", "-digits", "7", "alice").want(t, 2, nil, []string{"-digits must be 6 or 8"})
	e.run(t, "otp", "enroll", "-realm", "corp", "-type", "motp", "alice").want(t, 2, nil, []string{"-type must be one of"})
	e.run(t, "otp", "enroll", "-realm", "corp", "-period", "1500ms", "alice").want(t, 2, nil, []string{"-period"})
	e.run(t, "otp", "enrol", "-realm", "corp", "alice").want(t, 2, nil, []string{`did you mean "enroll"`})
	e.run(t, "otp").want(t, 2, nil, []string{"Usage: authd otp COMMAND"})
	e.run(t, "otp", "-h").want(t, 0, []string{"enroll", "list", "delete"}, nil)
	e.run(t, "otp", "enroll", "-h").want(t, 0, []string{"shown", "-qr"}, nil)
	e.run(t, "otp", "list", "-realm", "corp").want(t, 2, nil, []string{"a user name is required"})

	// The enrolled token logs in: its code is accepted (and only once).
	repo := openMFAStoreAfter(t, e)
	now := time.Now()
	code, _ := k.Code(now)
	if res, err := repo.Verify("corp", "alice", code, 1, now); res != mfa.Valid || err != nil {
		t.Fatalf("code of the CLI-enrolled token: %v %v", res, err)
	}
	if res, _ := repo.Verify("corp", "alice", code, 1, now); res != mfa.Replayed {
		t.Errorf("replayed: %v", res)
	}
	closeRepoStore()

	// delete one by id, then all.
	e.run(t, "otp", "enroll", "-realm", "corp", "alice").want(t, 0, nil, nil)
	js = e.run(t, "otp", "list", "-realm", "corp", "-format", "json", "alice")
	json.Unmarshal([]byte(js.stdout), &toks)
	if len(toks) != 2 {
		t.Fatalf("%d tokens", len(toks))
	}
	e.run(t, "otp", "delete", "-realm", "corp", "-id", toks[0].ID, "alice").want(t, 0, []string{"deleted 1 OTP token of alice"}, nil)
	e.run(t, "otp", "delete", "-realm", "corp", "-id", toks[0].ID, "alice").oneLineErr(t, "has no OTP token")
	e.run(t, "otp", "delete", "-realm", "corp", "alice").want(t, 0, []string{"deleted 1 OTP token"}, nil)
	e.run(t, "otp", "list", "-realm", "corp", "alice").want(t, 0, []string{"alice has no OTP token"}, nil)
}

// repoStore is the store openMFAStoreAfter opened, closed before the
// next command needs it.
var repoStore *boltstore.Store

func openMFAStoreAfter(t *testing.T, e env) *mfa.Repo {
	t.Helper()
	data := filepath.Join(e.dir, "data")
	st, err := boltstore.Open(filepath.Join(data, "authd.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	repoStore = st
	key, _, err := mfa.ResolveKey("", false, func(string) string { return "" }, data)
	if err != nil {
		t.Fatal(err)
	}
	r, err := mfa.NewRepo(st, key)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func closeRepoStore() {
	if repoStore != nil {
		repoStore.Close()
		repoStore = nil
	}
}

// TestOTPKeySources: the key comes from server.store.encryption_key, then
// $AUTHD_STORE_KEY; a configured key whose env() is unset is an error, and
// another key cannot read what the first sealed.
func TestOTPKeySources(t *testing.T) {
	cfg := strings.Replace(goodConfig, `path = "authd.db"`, "path = \"authd.db\"\n    encryption_key = env(\"MY_STORE_KEY\")", 1)
	e := env{dir: configDir(t, map[string]string{"authd.hcl": cfg})}
	e2 := e
	e2.stdin = "pw\n"
	e2.run(t, "user", "add", "-realm", "corp", "-password-stdin", "alice").want(t, 0, nil, nil)
	e.run(t, "otp", "enroll", "-realm", "corp", "alice").oneLineErr(t, "encryption_key")
	key := strings.Repeat("k", 40)
	e.vars = []string{"MY_STORE_KEY=" + key}
	e.run(t, "otp", "enroll", "-realm", "corp", "alice").want(t, 0, []string{"otpauth://"}, nil)
	if _, err := os.Stat(filepath.Join(e.dir, "data", mfa.KeyFileName)); err == nil {
		t.Error("a key file was made although the configuration names the key")
	}
	// $AUTHD_STORE_KEY without encryption_key.
	e3 := mfaEnv(t)
	e3.vars = []string{"AUTHD_STORE_KEY=short"}
	e3.run(t, "otp", "enroll", "-realm", "corp", "alice").oneLineErr(t, "AUTHD_STORE_KEY")
	e3.vars = []string{"AUTHD_STORE_KEY=" + key}
	e3.run(t, "otp", "enroll", "-realm", "corp", "alice").want(t, 0, nil, nil)
	e3.run(t, "recovery-codes", "generate", "-realm", "corp", "alice").want(t, 0, nil, nil)
	// Listing needs no secret; a code check under another key would fail
	// loudly (engine/mfa tests ErrWrongKey), never silently pass.
	e3.vars = nil
	e3.run(t, "otp", "list", "-realm", "corp", "alice").want(t, 0, []string{"confirmed"}, nil)
}

// TestOTPEnrollOathtool: oathtool computes, from the URI `authd otp
// enroll` printed, a code the store accepts.
func TestOTPEnrollOathtool(t *testing.T) {
	if _, err := exec.LookPath("oathtool"); err != nil {
		t.Skip("oathtool is not installed (Debian package oathtool; .ci/install-tools installs it)")
	}
	e := mfaEnv(t)
	r := e.run(t, "otp", "enroll", "-realm", "corp", "-algorithm", "SHA256", "-digits", "8", "-period", "60s", "alice")
	r.want(t, 0, nil, nil)
	uri := strings.TrimSpace(r.stdout)
	secret := uri[strings.Index(uri, "secret=")+7:]
	secret, _, _ = strings.Cut(secret, "&")
	now := time.Now()
	out, err := exec.Command("oathtool", "--totp=sha256", "-b", "-d", "8", "-s", "60s",
		"-N", "@"+strconv.FormatInt(now.Unix(), 10), secret).Output()
	if err != nil {
		t.Fatal(err)
	}
	repo := openMFAStore(t, e)
	if res, err := repo.Verify("corp", "alice", strings.TrimSpace(string(out)), 1, now); res != mfa.Valid || err != nil {
		t.Errorf("oathtool's code: %v %v", res, err)
	}
}

// TestAttachMFA: what `authd run` calls wires the mfa store and the SMS
// gateways, and refuses a gateway that cannot work.
func TestAttachMFA(t *testing.T) {
	load := func(src string) *dsl.Config {
		cfg, diags := dsl.LoadSources(map[string][]byte{"a.hcl": []byte(src)}, t.TempDir(), dsl.Options{
			LookupEnv: func(string) (string, bool) { return "", false },
		})
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		return cfg
	}
	var logs strings.Builder
	log := slog.New(slog.NewTextHandler(&logs, nil))
	kv := memstore.New()
	eng := engine.New(engine.Options{KV: kv})
	data := t.TempDir()
	repo, err := attachMFA(kv, eng, load("realm \"corp\" { sms_gateway = sms_gateway.dev }\nsms_gateway \"log\" \"dev\" {}\n"),
		func(string) string { return "" }, data, log)
	if err != nil {
		t.Fatal(err)
	}
	defer mfa.Attach(kv, nil)
	if mfa.For(kv) != repo || eng.Services().SMS["dev"] == nil {
		t.Error("not attached")
	}
	if !strings.Contains(logs.String(), "created a store key") || !strings.Contains(logs.String(), "log gateway") {
		t.Errorf("logs: %s", logs.String())
	}
	kv2 := memstore.New()
	_, err = attachMFA(kv2, engine.New(engine.Options{KV: kv2}),
		load("sms_gateway \"twilio\" \"tw\" {\n  account_sid = \"AC1\"\n  auth_token = env(\"NOPE\")\n  from = \"+1\"\n}\n"),
		func(string) string { return "" }, data, log)
	if err == nil || mfa.For(kv2) != nil {
		t.Errorf("twilio without a token: %v", err)
	}
	_, err = attachMFA(kv2, engine.New(engine.Options{KV: kv2}), load(""), func(k string) string {
		if k == mfa.KeyEnv {
			return "short"
		}
		return ""
	}, data, log)
	if err == nil || !strings.Contains(err.Error(), "store key") {
		t.Errorf("short key: %v", err)
	}
}
