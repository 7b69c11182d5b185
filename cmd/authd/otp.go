package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/authd/authd/dsl"
	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/mfa"
	"github.com/authd/authd/engine/store"
	"github.com/authd/authd/engine/store/boltstore"
	"github.com/authd/authd/engine/users"
	"github.com/authd/authd/protocols/admin"
	"github.com/authd/authd/protocols/sms"
)

// The otp.* and recovery.* admin operations' arguments and results: the
// wire format between the CLI and a running server. Fields only grow.
type (
	// OTPEnrollArgs are the arguments of otp.enroll.
	OTPEnrollArgs struct {
		Realm     string `json:"realm"`
		Name      string `json:"name"`
		Type      string `json:"type,omitempty"`
		Algorithm string `json:"algorithm,omitempty"`
		Digits    int    `json:"digits,omitempty"`
		Period    int    `json:"period,omitempty"` // seconds
	}
	// OTPEnrollResult is the answer of otp.enroll: the only time the URI,
	// and so the secret, leaves the store.
	OTPEnrollResult struct {
		Token OTPTokenInfo `json:"token"`
		URI   string       `json:"uri"`
	}
	// OTPTokenInfo is a token as listed: never its secret.
	OTPTokenInfo struct {
		ID        string     `json:"id"`
		Type      string     `json:"type"`
		Algorithm string     `json:"algorithm"`
		Digits    int        `json:"digits"`
		Period    int        `json:"period,omitempty"`
		Issuer    string     `json:"issuer"`
		Confirmed bool       `json:"confirmed"`
		Counter   uint64     `json:"counter,omitempty"`
		Created   time.Time  `json:"created"`
		LastUsed  *time.Time `json:"last_used,omitempty"`
	}
	// OTPDeleteArgs are the arguments of otp.delete; no ID deletes every
	// token of the user.
	OTPDeleteArgs struct {
		Realm string `json:"realm"`
		Name  string `json:"name"`
		ID    string `json:"id,omitempty"`
	}
	// OTPDeleteResult is the answer of otp.delete.
	OTPDeleteResult struct {
		Deleted int `json:"deleted"`
	}
	// RecoveryGenerateArgs are the arguments of recovery.generate.
	RecoveryGenerateArgs struct {
		Realm string `json:"realm"`
		Name  string `json:"name"`
		Count int    `json:"count,omitempty"`
	}
	// RecoveryGenerateResult is the answer of recovery.generate: the only
	// time the codes exist outside the user's hands.
	RecoveryGenerateResult struct {
		Codes []string `json:"codes"`
	}
	// RecoveryStatusResult is the answer of recovery.status.
	RecoveryStatusResult struct {
		Left    int        `json:"left"`
		Used    int        `json:"used"`
		Created *time.Time `json:"created,omitempty"`
	}
)

// mfaService implements the otp.* and recovery.* admin operations over an
// mfa.Repo, in `authd run` (behind the admin socket) and in the CLI (Local)
// alike.
type mfaService struct {
	Repo  *mfa.Repo
	Users *users.Repo
	// Realms lists the configured realms; nil means "not checked".
	Realms func() []string
	// Issuer returns a realm's display name, which labels tokens in apps.
	Issuer func(realm string) string
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Register adds otp.enroll, otp.list, otp.delete, recovery.generate and
// recovery.status to m.
func (s *mfaService) Register(m *admin.Mux) {
	m.Handle("otp.enroll", admin.Typed(s.enroll))
	m.Handle("otp.list", admin.Typed(s.list))
	m.Handle("otp.delete", admin.Typed(s.delete))
	m.Handle("recovery.generate", admin.Typed(s.generateRecovery))
	m.Handle("recovery.status", admin.Typed(s.recoveryStatus))
}

func (s *mfaService) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now().UTC()
}

// user checks the realm and that the user exists: tokens and codes of a
// user who does not exist would be dead weight found by nobody.
func (s *mfaService) user(realm, name string) error {
	if realm == "" {
		return admin.Errorf(admin.CodeInvalid, "a realm is required (-realm)")
	}
	if s.Realms != nil {
		known := s.Realms()
		found := false
		for _, r := range known {
			found = found || r == realm
		}
		if !found {
			if best := admin.DidYouMean(realm, known); best != "" {
				return admin.Errorf(admin.CodeNotFound, "unknown realm %q; did you mean %q?", realm, best)
			}
			return admin.Errorf(admin.CodeNotFound, "unknown realm %q (the configuration declares %s)", realm, strings.Join(known, ", "))
		}
	}
	if err := admin.CheckUserName(name); err != nil {
		return err
	}
	if _, err := s.Users.Get(realm, name); err != nil {
		if errors.Is(err, users.ErrNotFound) {
			return admin.Errorf(admin.CodeNotFound, "no user %q in realm %q", name, realm)
		}
		return err
	}
	return nil
}

func tokenInfo(t mfa.Token) OTPTokenInfo {
	i := OTPTokenInfo{ID: t.ID, Type: t.Params.Type, Algorithm: t.Params.Algorithm, Digits: t.Params.Digits,
		Period: int(t.Params.Period / time.Second), Issuer: t.Issuer, Confirmed: t.Confirmed, Counter: t.Counter, Created: t.Created}
	if !t.LastUsed.IsZero() {
		lu := t.LastUsed
		i.LastUsed = &lu
	}
	return i
}

func (s *mfaService) enroll(_ context.Context, a OTPEnrollArgs) (OTPEnrollResult, error) {
	if err := s.user(a.Realm, a.Name); err != nil {
		return OTPEnrollResult{}, err
	}
	if a.Period < 0 || a.Period > 3600 {
		return OTPEnrollResult{}, admin.Errorf(admin.CodeInvalid, "period must be 1 to 3600 seconds")
	}
	issuer := a.Realm
	if s.Issuer != nil {
		if d := s.Issuer(a.Realm); d != "" {
			issuer = d
		}
	}
	p := mfa.Params{Type: a.Type, Algorithm: a.Algorithm, Digits: a.Digits, Period: time.Duration(a.Period) * time.Second}
	e, err := s.Repo.Enroll(a.Realm, a.Name, issuer, p, true, s.now())
	if err != nil {
		if strings.HasPrefix(err.Error(), "mfa:") {
			return OTPEnrollResult{}, err
		}
		return OTPEnrollResult{}, admin.Errorf(admin.CodeInvalid, "%v", err)
	}
	return OTPEnrollResult{Token: tokenInfo(e.Token), URI: e.URI}, nil
}

func (s *mfaService) list(_ context.Context, a admin.UserRef) ([]OTPTokenInfo, error) {
	if err := s.user(a.Realm, a.Name); err != nil {
		return nil, err
	}
	ts, err := s.Repo.Tokens(a.Realm, a.Name)
	if err != nil {
		return nil, err
	}
	out := make([]OTPTokenInfo, 0, len(ts))
	for _, t := range ts {
		out = append(out, tokenInfo(t))
	}
	return out, nil
}

func (s *mfaService) delete(_ context.Context, a OTPDeleteArgs) (OTPDeleteResult, error) {
	if a.ID == "" {
		// Tokens of a deleted user can still be removed.
		if err := s.user(a.Realm, a.Name); err != nil && !isNotFoundUser(err) {
			return OTPDeleteResult{}, err
		}
		n, err := s.Repo.DeleteTokens(a.Realm, a.Name)
		return OTPDeleteResult{Deleted: n}, err
	}
	err := s.Repo.DeleteToken(a.Realm, a.Name, a.ID)
	if errors.Is(err, mfa.ErrNoToken) {
		return OTPDeleteResult{}, admin.Errorf(admin.CodeNotFound, "user %q in realm %q has no OTP token %q", a.Name, a.Realm, a.ID)
	}
	if err != nil {
		return OTPDeleteResult{}, err
	}
	return OTPDeleteResult{Deleted: 1}, nil
}

func isNotFoundUser(err error) bool {
	var ae *admin.Error
	return errors.As(err, &ae) && ae.Code == admin.CodeNotFound && strings.HasPrefix(ae.Message, "no user ")
}

func (s *mfaService) generateRecovery(_ context.Context, a RecoveryGenerateArgs) (RecoveryGenerateResult, error) {
	if err := s.user(a.Realm, a.Name); err != nil {
		return RecoveryGenerateResult{}, err
	}
	if a.Count == 0 {
		a.Count = mfa.DefaultRecoveryCodes
	}
	if a.Count < 1 || a.Count > mfa.MaxRecoveryCodes {
		return RecoveryGenerateResult{}, admin.Errorf(admin.CodeInvalid, "-count must be 1 to %d", mfa.MaxRecoveryCodes)
	}
	codes, err := s.Repo.GenerateRecoveryCodes(a.Realm, a.Name, a.Count, s.now())
	if err != nil {
		return RecoveryGenerateResult{}, err
	}
	return RecoveryGenerateResult{Codes: codes}, nil
}

func (s *mfaService) recoveryStatus(_ context.Context, a admin.UserRef) (RecoveryStatusResult, error) {
	if err := s.user(a.Realm, a.Name); err != nil {
		return RecoveryStatusResult{}, err
	}
	st, err := s.Repo.RecoveryCodes(a.Realm, a.Name)
	if err != nil {
		return RecoveryStatusResult{}, err
	}
	r := RecoveryStatusResult{Left: st.Left, Used: st.Used}
	if !st.Created.IsZero() {
		c := st.Created
		r.Created = &c
	}
	return r, nil
}

// newMFARepo opens the store of OTP tokens and recovery codes on kv with
// the store key: server.store.encryption_key, else $AUTHD_STORE_KEY, else
// DATA/store.key (made, mode 0600, on first use). `authd run` attaches the
// result to its store (mfa.Attach) so nodes find it; source names where
// the key came from, for the start-up log.
func newMFARepo(kv store.KV, cfg *dsl.Config, getenv func(string) string, dataDir string) (r *mfa.Repo, source string, err error) {
	configured, set := "", false
	if cfg != nil && cfg.Server.Store.EncryptionKey.IsSet() {
		configured, set = cfg.Server.Store.EncryptionKey.Value(), true
	}
	key, source, err := mfa.ResolveKey(configured, set, getenv, dataDir)
	if err != nil {
		if set && configured == "" {
			err = fmt.Errorf("%w (is the variable its env() names set here?)", err)
		}
		return nil, "", err
	}
	r, err = mfa.NewRepo(kv, key)
	return r, source, err
}

// attachMFA wires second factors into a server, after the store is open
// and the engine built: it resolves the store key and attaches the OTP and
// recovery code store to st (mfa.Attach), where the nodes find it, and
// builds the configured SMS gateways into the engine's services. It logs
// where the key came from, never the key. The returned repository is what
// mfaService needs for the admin socket. SMS gateways are built once: a
// reload that changes an sms_gateway block needs a restart, like the
// listeners (swapping Services.SMS while requests read it would race).
func attachMFA(st store.KV, eng *engine.Engine, cfg *dsl.Config, getenv func(string) string, dataDir string, log *slog.Logger) (*mfa.Repo, error) {
	repo, source, err := newMFARepo(st, cfg, getenv, dataDir)
	if err != nil {
		return nil, fmt.Errorf("store key: %w", err)
	}
	gateways, err := sms.FromConfig(cfg, sms.Options{Log: log.With("component", "sms")})
	if err != nil {
		return nil, err
	}
	mfa.Attach(st, repo)
	eng.Services().SMS = gateways
	if source == mfa.SourceGenerated {
		log.Warn("created a store key for OTP secrets beside the store; for production set server.store.encryption_key or $"+mfa.KeyEnv, "file", filepath.Join(dataDir, mfa.KeyFileName))
	} else {
		log.Info("OTP secrets sealed at rest", "key", source)
	}
	return repo, nil
}

// realmIssuer returns the Issuer function of mfaService for cfg: a realm's
// display name, else its name.
func realmIssuer(cfg func() *dsl.Config) func(string) string {
	return func(realm string) string {
		c := cfg()
		if c == nil || c.Program == nil || c.Program.Realms[realm] == nil {
			return realm
		}
		if d := c.Program.Realms[realm].DisplayName; d != "" {
			return d
		}
		return realm
	}
}

// openMFA opens the admin target of the otp and recovery-codes commands:
// the store directly, with the store key, or, when a running authd holds
// the store, that server's admin socket (where the server's own key
// applies).
func (c *cli) openMFA(f *userFlags, readOnly bool) (*adminTarget, error) {
	data := c.dataDir(f.data)
	t, err := c.openAdminWith(f.config, f.data, readOnly, func(m *admin.Mux, st *boltstore.Store, cfg *dsl.Config, realms func() []string) error {
		repo, _, err := newMFARepo(st, cfg, c.getenv, data)
		if err != nil {
			return err
		}
		(&mfaService{Repo: repo, Users: users.NewRepo(st), Realms: realms, Issuer: realmIssuer(func() *dsl.Config { return cfg })}).Register(m)
		return nil
	})
	if err != nil {
		return nil, err
	}
	c.warnUnchecked(t, f.realm)
	return t, nil
}

// mfaCall opens the target, runs one op and closes it.
func (c *cli) mfaCall(f *userFlags, readOnly bool, op string, in, out any) error {
	t, err := c.openMFA(f, readOnly)
	if err != nil {
		return err
	}
	defer t.close()
	return t.Call(op, in, out)
}

const otpHelpCommon = `
The store is found like authd run finds it (-data DIR, else $AUTHD_DATA,
else ./data). When a running authd holds the store, the command goes
through its admin socket. Otherwise it opens the store itself, with the
store key: server.store.encryption_key, else $AUTHD_STORE_KEY, else
DATA/store.key (created, mode 0600, when none exists), the same key the
server uses.`

var otpSubcommands = subcommands{
	{"enroll", "give a user a TOTP/HOTP token and print its otpauth:// URI once", (*cli).cmdOTPEnroll},
	{"list", "list a user's tokens (never their secrets)", (*cli).cmdOTPList},
	{"delete", "delete a user's tokens (all, or one with -id)", (*cli).cmdOTPDelete},
}

// cmdOTP is `authd otp`: administrators' handling of OTP tokens.
func (c *cli) cmdOTP(args []string) error {
	return c.subcommand("otp", "authd otp COMMAND [flags] NAME", "", otpSubcommands, args)
}

// mfaFlagSet is userFlagSet for the otp and recovery-codes groups.
func (c *cli) mfaFlagSet(group, name, synopsis, help string) (*userFlags, *flag.FlagSet) {
	fs := c.flagSet(group+" "+name, synopsis, help+"\n"+otpHelpCommon)
	f := &userFlags{}
	fs.StringVar(&f.realm, "realm", "", "the `realm` (required)")
	fs.StringVar(&f.config, "config", "", "configuration `dir`ectory (default $AUTHD_CONFIG, else . when it holds *.hcl)")
	fs.StringVar(&f.data, "data", "", "data `dir`ectory holding the store (default $AUTHD_DATA, else ./data)")
	return f, fs
}

func (c *cli) cmdOTPEnroll(args []string) error {
	f, fs := c.mfaFlagSet("otp", "enroll", "authd otp enroll -realm R [-type totp|hotp] [-algorithm SHA1|SHA256|SHA512] [-digits 6|8] [-period 30s] [-qr FILE.png] NAME", `
Gives a user a new OTP token, usable at once, and prints its otpauth:// URI
on stdout: the only time the secret is shown. Hand it to the user (or the
QR code written by -qr) and keep no copy; afterwards the secret never
leaves the store. Tokens are labelled with the realm's display_name.

The realm's enrollment_mode does not apply here: an administrator decides.
Delete the old token first (authd otp delete) to replace it.`)
	typ := fs.String("type", "totp", "token `type`: totp (RFC 6238) or hotp (RFC 4226)")
	alg := fs.String("algorithm", "SHA1", "HMAC `algorithm`: SHA1, SHA256 or SHA512 (many apps know only SHA1)")
	digits := fs.Int("digits", 6, "code length: 6 or 8")
	period := fs.Duration("period", 30*time.Second, "TOTP time `step`")
	qr := fs.String("qr", "", "also write the QR code as a PNG `file` (mode 0600; it holds the secret)")
	pos, err := parseUser(fs, f, args, 1)
	if err != nil {
		return err
	}
	if err := oneOf("type", *typ, "totp", "hotp"); err != nil {
		return err
	}
	if err := oneOf("algorithm", strings.ToUpper(*alg), "SHA1", "SHA256", "SHA512"); err != nil {
		return err
	}
	if *digits != 6 && *digits != 8 {
		return usagef("-digits must be 6 or 8, not %d", *digits)
	}
	if *period < time.Second || *period > time.Hour || *period%time.Second != 0 {
		return usagef("-period must be whole seconds from 1s to 1h, not %s", *period)
	}
	var res OTPEnrollResult
	err = c.mfaCall(f, false, "otp.enroll", OTPEnrollArgs{Realm: f.realm, Name: pos[0], Type: *typ,
		Algorithm: strings.ToUpper(*alg), Digits: *digits, Period: int(*period / time.Second)}, &res)
	if err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, res.URI)
	if *qr != "" {
		png, err := mfa.QRCodePNG(res.URI, 320)
		if err == nil {
			err = os.WriteFile(*qr, png, 0o600)
		}
		if err != nil {
			return fmt.Errorf("the token was enrolled (id %s) and its URI printed, but the QR code was not written: %v", res.Token.ID, err)
		}
	}
	fmt.Fprintf(c.stderr, "enrolled %s token %s for %s in realm %s (%s, %d digits%s).\nThe URI above holds the secret and is shown only now.\n",
		strings.ToUpper(res.Token.Type), res.Token.ID, pos[0], f.realm, res.Token.Algorithm, res.Token.Digits, periodNote(res.Token))
	return nil
}

func periodNote(t OTPTokenInfo) string {
	if t.Type == mfa.TypeTOTP {
		return fmt.Sprintf(", %ds", t.Period)
	}
	return ""
}

func (c *cli) cmdOTPList(args []string) error {
	f, fs := c.mfaFlagSet("otp", "list", "authd otp list -realm R [-format table|json] NAME", `
Lists a user's OTP tokens: id, type, algorithm, digits, whether confirmed
(a token enrolled by otp_registration counts only once the user typed one
code), when it was made and last used. Secrets are never shown.`)
	format := fs.String("format", "table", "output `format`: table or json")
	pos, err := parseUser(fs, f, args, 1)
	if err != nil {
		return err
	}
	if err := oneOf("format", *format, "table", "json"); err != nil {
		return err
	}
	var ts []OTPTokenInfo
	if err := c.mfaCall(f, true, "otp.list", admin.UserRef{Realm: f.realm, Name: pos[0]}, &ts); err != nil {
		return err
	}
	if *format == "json" {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		if ts == nil {
			ts = []OTPTokenInfo{}
		}
		return enc.Encode(ts)
	}
	if len(ts) == 0 {
		fmt.Fprintf(c.stdout, "%s has no OTP token in realm %s\n", pos[0], f.realm)
		return nil
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTYPE\tALGORITHM\tDIGITS\tSTATUS\tCREATED\tLAST USED")
	for _, t := range ts {
		status := "confirmed"
		if !t.Confirmed {
			status = "pending"
		}
		last := "-"
		if t.LastUsed != nil {
			last = t.LastUsed.Local().Format(time.DateTime)
		}
		typ := t.Type
		if t.Type == mfa.TypeTOTP {
			typ += fmt.Sprintf("/%ds", t.Period)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", t.ID, typ, t.Algorithm, t.Digits, status, t.Created.Local().Format(time.DateTime), last)
	}
	return tw.Flush()
}

func (c *cli) cmdOTPDelete(args []string) error {
	f, fs := c.mfaFlagSet("otp", "delete", "authd otp delete -realm R [-id ID] NAME", `
Deletes a user's OTP tokens: every one, or the one -id names (see authd otp
list). The user then has to enrol again (otp_registration, or authd otp
enroll) before a code can log them in.`)
	id := fs.String("id", "", "delete only the token with this `id`")
	pos, err := parseUser(fs, f, args, 1)
	if err != nil {
		return err
	}
	var res OTPDeleteResult
	if err := c.mfaCall(f, false, "otp.delete", OTPDeleteArgs{Realm: f.realm, Name: pos[0], ID: *id}, &res); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "deleted %s of %s in realm %s\n", plural(res.Deleted, "OTP token"), pos[0], f.realm)
	return nil
}
