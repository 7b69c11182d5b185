package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/authd/authd/engine/mfa"
	"github.com/authd/authd/protocols/push/authenticator"
	"github.com/authd/authd/protocols/push/wire"
)

// defaultAuthenticatorState is the state file under the home directory.
const defaultAuthenticatorState = ".authd-authenticator.json"

var authenticatorSubcommands = subcommands{
	{"enroll", "enrol with an authd://enroll URI (push) or an otpauth:// URI (codes)", (*cli).cmdAuthEnroll},
	{"list", "list the enrolled accounts and OTP tokens", (*cli).cmdAuthList},
	{"pending", "show the pushes waiting for an answer", (*cli).cmdAuthPending},
	{"approve", "approve a pending push (-number N for number matching)", (*cli).cmdAuthApprove},
	{"deny", "deny a pending push (-report: it was not me)", (*cli).cmdAuthDeny},
	{"code", "print the current codes of the OTP tokens", (*cli).cmdAuthCode},
}

func (c *cli) cmdAuthenticator(args []string) error {
	return c.subcommand("authenticator", "authd authenticator COMMAND [-state FILE] [flags]", `
A software authenticator for demos, tests and headless users: it enrols
with push_registration's URI, keeps its P-256 device keys in a local state
file (mode 0600), and answers pushes through the realm's "poll" push
provider, so a push login works on one machine with no outside service.`, authenticatorSubcommands, args)
}

const authStateHelp = `
The state file (-state, default ~/.authd-authenticator.json) holds the
device keys and OTP secrets; it is written with mode 0600 and refused when
others can read it.`

// authFlags are the flags every authenticator command takes.
type authFlags struct {
	state   string
	account string
	timeout time.Duration
}

func (c *cli) authFlagSet(name, synopsis, help string) (*authFlags, *flag.FlagSet) {
	fs := c.flagSet("authenticator "+name, synopsis, help+"\n"+authStateHelp)
	f := &authFlags{}
	fs.StringVar(&f.state, "state", "", "state `file` (default ~/"+defaultAuthenticatorState+")")
	fs.DurationVar(&f.timeout, "timeout", 45*time.Second, "give up on the server after `duration`")
	return f, fs
}

func (c *cli) statePath(f *authFlags) (string, error) {
	if f.state != "" {
		return f.state, nil
	}
	home := c.getenv("HOME")
	if home == "" {
		var err error
		if home, err = os.UserHomeDir(); err != nil {
			return "", errors.New("no home directory: pass -state FILE")
		}
	}
	return filepath.Join(home, defaultAuthenticatorState), nil
}

func (c *cli) loadAuthState(f *authFlags) (*authenticator.State, string, error) {
	path, err := c.statePath(f)
	if err != nil {
		return nil, "", err
	}
	s, err := authenticator.Load(path)
	return s, path, err
}

func authClient(f *authFlags) *authenticator.Client {
	return &authenticator.Client{HTTP: &http.Client{Timeout: f.timeout}}
}

func (c *cli) cmdAuthEnroll(args []string) error {
	f, fs := c.authFlagSet("enroll", "authd authenticator enroll [-state FILE] [-name NAME] URI|-", `
Enrols with an enrolment URI: authd://enroll?... as push_registration shows
it (the authenticator creates a P-256 key pair and registers as a "poll"
device), or otpauth://... as otp_registration shows it (the OTP secret is
kept for 'authd authenticator code'). "-" reads the URI from stdin, which
keeps its one-time secret out of the process list.`)
	name := fs.String("name", "", "the device `name` the server lists (default: authd authenticator on HOST)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("one enrolment URI is required")
	}
	uri := pos[0]
	if uri == "-" {
		line, err := bufio.NewReader(c.stdin).ReadString('\n')
		if err != nil && line == "" {
			return errors.New("no URI on stdin")
		}
		uri = strings.TrimSpace(line)
	}
	st, path, err := c.loadAuthState(f)
	if err != nil {
		return err
	}
	if strings.HasPrefix(uri, "otpauth://") {
		k, err := mfa.ParseURI(uri)
		if err != nil {
			return err
		}
		st.AddOTP(uri, k.Issuer, k.Account, k.Counter)
		if err := st.Save(path); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "added OTP token %s\n", otpLabel(k.Issuer, k.Account))
		return nil
	}
	if *name == "" {
		host, _ := os.Hostname()
		*name = "authd authenticator"
		if host != "" {
			*name += " on " + host
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), f.timeout)
	defer cancel()
	a, err := authClient(f).Enroll(ctx, uri, authenticator.EnrollOptions{Name: *name})
	if err != nil {
		var se *authenticator.ServerError
		if errors.As(err, &se) && (se.Code == "expired" || se.Code == "used") {
			// The code is good for one enrolment within its timeout; the
			// sign-in that showed it makes a new one.
			return fmt.Errorf("enrolment refused: %w; start the registration again at the sign-in for a new code", err)
		}
		return fmt.Errorf("enrolment refused: %w", err)
	}
	st.Add(a)
	if err := st.Save(path); err != nil {
		return fmt.Errorf("enrolled, but the state file could not be written (%v): the server now lists a device this authenticator cannot use; delete it with authd device delete", err)
	}
	fmt.Fprintf(c.stdout, "enrolled %s at %s (device %s)\n", a.Label(), a.Server, a.DeviceID)
	return nil
}

func otpLabel(issuer, account string) string {
	if issuer == "" {
		return account
	}
	return issuer + ":" + account
}

func (c *cli) cmdAuthList(args []string) error {
	f, fs := c.authFlagSet("list", "authd authenticator list [-state FILE]", `
Lists the push accounts (user@realm, server, device id) and OTP tokens.`)
	if _, err := parseNone(fs, args); err != nil {
		return err
	}
	st, path, err := c.loadAuthState(f)
	if err != nil {
		return err
	}
	if len(st.Accounts) == 0 && len(st.OTP) == 0 {
		fmt.Fprintf(c.stdout, "no accounts in %s (enrol with: authd authenticator enroll URI)\n", path)
		return nil
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	if len(st.Accounts) > 0 {
		fmt.Fprintln(tw, "#\tACCOUNT\tSERVER\tDEVICE\tENROLLED")
		for i, a := range st.Accounts {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", i+1, sanitize(a.Label()), sanitize(a.Server), a.DeviceID, a.Enrolled.Local().Format(time.DateTime))
		}
	}
	if len(st.OTP) > 0 {
		if len(st.Accounts) > 0 {
			fmt.Fprintln(tw)
		}
		fmt.Fprintln(tw, "OTP TOKEN\tADDED")
		for _, o := range st.OTP {
			fmt.Fprintf(tw, "%s\t%s\n", sanitize(otpLabel(o.Issuer, o.Account)), o.Added.Local().Format(time.DateTime))
		}
	}
	return tw.Flush()
}

// pendingPush is a push with the account it came to.
type pendingPush struct {
	acct *authenticator.Account
	push wire.PendingPush
}

// selectAccounts picks the accounts -account names ("N" from list, or
// user@realm), or all.
func selectAccounts(st *authenticator.State, sel string) ([]*authenticator.Account, error) {
	if len(st.Accounts) == 0 {
		return nil, errors.New("no push accounts enrolled (authd authenticator enroll URI)")
	}
	if sel == "" {
		return st.Accounts, nil
	}
	for i, a := range st.Accounts {
		if sel == fmt.Sprint(i+1) || sel == a.User+"@"+a.Realm || sel == a.DeviceID {
			return []*authenticator.Account{a}, nil
		}
	}
	return nil, fmt.Errorf("no account %q (see authd authenticator list)", sel)
}

// fetchPending gathers the pending pushes of the accounts; with wait > 0
// and none pending, it waits (server-side) for the first to arrive.
func (c *cli) fetchPending(f *authFlags, accts []*authenticator.Account, wait time.Duration) ([]pendingPush, error) {
	ctx, cancel := context.WithTimeout(context.Background(), f.timeout+wait)
	defer cancel()
	cl := authClient(f)
	cl.HTTP.Timeout = f.timeout + wait
	type res struct {
		acct *authenticator.Account
		ps   []wire.PendingPush
		err  error
	}
	ch := make(chan res, len(accts))
	for _, a := range accts {
		go func() {
			ps, err := cl.Pending(ctx, a, wait)
			ch <- res{a, ps, err}
		}()
	}
	var out []pendingPush
	var errs []error
	for range accts {
		r := <-ch
		if r.err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.acct.Label(), r.err))
			continue
		}
		for _, p := range r.ps {
			out = append(out, pendingPush{r.acct, p})
		}
		if len(out) > 0 && wait > 0 {
			cancel() // the first push ends the wait for the others
		}
	}
	if len(out) == 0 && len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].push.Created.Before(out[j].push.Created) })
	return out, nil
}

func (c *cli) cmdAuthPending(args []string) error {
	f, fs := c.authFlagSet("pending", "authd authenticator pending [-state FILE] [-account A] [-wait DURATION]", `
Shows the pushes waiting for an answer: the message, where the sign-in
comes from, and for number matching the three numbers to choose from.
-wait holds the request until a push arrives (at most 30 s per request).`)
	fs.StringVar(&f.account, "account", "", "only this `account` (its # in list, or user@realm)")
	wait := fs.Duration("wait", 0, "wait up to `duration` for a push to arrive")
	if _, err := parseNone(fs, args); err != nil {
		return err
	}
	st, _, err := c.loadAuthState(f)
	if err != nil {
		return err
	}
	accts, err := selectAccounts(st, f.account)
	if err != nil {
		return err
	}
	ps, err := c.fetchPending(f, accts, min(*wait, 30*time.Second))
	if err != nil {
		return err
	}
	if len(ps) == 0 {
		fmt.Fprintln(c.stdout, "no pending pushes")
		return nil
	}
	for _, p := range ps {
		c.printPush(p)
	}
	return nil
}

func (c *cli) printPush(p pendingPush) {
	fmt.Fprintf(c.stdout, "push %s for %s\n", p.push.MessageID, sanitize(p.acct.Label()))
	fmt.Fprintf(c.stdout, "  %s\n", sanitize(p.push.Message))
	if ctx := p.push.Context; len(ctx) > 0 {
		var parts []string
		for _, k := range []string{"ip", "user_agent", "location", "protocol"} {
			if v := ctx[k]; v != "" {
				parts = append(parts, k+"="+sanitize(v))
			}
		}
		fmt.Fprintf(c.stdout, "  from: %s\n", strings.Join(parts, " "))
	}
	if len(p.push.Numbers) > 0 {
		fmt.Fprintf(c.stdout, "  number matching: choose the number shown at sign-in: %s\n", joinInts(p.push.Numbers))
	}
	if p.push.Type == "biometric" {
		fmt.Fprintln(c.stdout, "  (an app would ask for a biometric check before approving)")
	}
	fmt.Fprintf(c.stdout, "  expires in %s\n", time.Until(p.push.Expires).Round(time.Second))
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, ", ")
}

func (c *cli) cmdAuthApprove(args []string) error {
	return c.answer("approve", args)
}

func (c *cli) cmdAuthDeny(args []string) error {
	return c.answer("deny", args)
}

// answer is approve and deny: find the push (-id, or the only one
// pending), sign the answer and send it.
func (c *cli) answer(verb string, args []string) error {
	synopsis := "authd authenticator approve [-state FILE] [-id MESSAGE] [-number N] [-account A] [-wait DURATION]"
	help := `
Approves a pending push: the only one, or the one -id names. For number
matching (push_type = "challenge") pass -number with the number the sign-in
page shows; a wrong number refuses the sign-in.`
	if verb == "deny" {
		synopsis = "authd authenticator deny [-state FILE] [-id MESSAGE] [-report] [-account A] [-wait DURATION]"
		help = `
Denies a pending push: the only one, or the one -id names. -report also
marks it as "not me" in the server's audit log.`
	}
	f, fs := c.authFlagSet(verb, synopsis, help)
	fs.StringVar(&f.account, "account", "", "only this `account` (its # in list, or user@realm)")
	id := fs.String("id", "", "the `message` id of the push (see pending)")
	wait := fs.Duration("wait", 0, "wait up to `duration` for a push to arrive")
	number, report := new(int), new(bool)
	if verb == "approve" {
		fs.IntVar(number, "number", 0, "the `number` shown at sign-in (number matching)")
	} else {
		fs.BoolVar(report, "report", false, "report the push as not yours")
	}
	if _, err := parseNone(fs, args); err != nil {
		return err
	}
	st, _, err := c.loadAuthState(f)
	if err != nil {
		return err
	}
	accts, err := selectAccounts(st, f.account)
	if err != nil {
		return err
	}
	ps, err := c.fetchPending(f, accts, min(*wait, 30*time.Second))
	if err != nil {
		return err
	}
	var pick *pendingPush
	for i := range ps {
		if *id == "" || ps[i].push.MessageID == *id {
			if pick != nil {
				var ids []string
				for _, p := range ps {
					ids = append(ids, p.push.MessageID)
				}
				return fmt.Errorf("%d pushes are pending (%s): choose one with -id", len(ps), strings.Join(ids, ", "))
			}
			pick = &ps[i]
		}
	}
	switch {
	case pick == nil && *id != "":
		return fmt.Errorf("no pending push %s (answered, withdrawn or expired?)", *id)
	case pick == nil:
		return errors.New("no pending push")
	}
	ans := authenticator.Answer{Approve: verb == "approve", Number: *number, Report: *report}
	if ans.Approve && len(pick.push.Numbers) > 0 && *number == 0 {
		return fmt.Errorf("this push asks for number matching: pass -number with the number shown at sign-in (one of %s)", joinInts(pick.push.Numbers))
	}
	ctx, cancel := context.WithTimeout(context.Background(), f.timeout)
	defer cancel()
	res, err := authClient(f).Respond(ctx, pick.acct, pick.push, ans)
	if err != nil {
		return fmt.Errorf("answer refused: %w", err)
	}
	what := "approved"
	if res.Status != "approved" {
		what = "denied"
		if res.Reason == "reported" {
			what = "denied and reported"
		}
	}
	fmt.Fprintf(c.stdout, "%s the sign-in of %s (push %s)\n", what, sanitize(pick.acct.Label()), res.MessageID)
	return nil
}

func (c *cli) cmdAuthCode(args []string) error {
	f, fs := c.authFlagSet("code", "authd authenticator code [-state FILE]", `
Prints the current code of every OTP token the authenticator holds (added
with authd authenticator enroll otpauth://...), and how long TOTP codes
stay valid. An HOTP token's counter moves on with every code printed.`)
	if _, err := parseNone(fs, args); err != nil {
		return err
	}
	st, path, err := c.loadAuthState(f)
	if err != nil {
		return err
	}
	if len(st.OTP) == 0 {
		fmt.Fprintln(c.stdout, "no OTP tokens (add one with: authd authenticator enroll otpauth://...)")
		return nil
	}
	now := time.Now()
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	changed := false
	for _, o := range st.OTP {
		k, err := mfa.ParseURI(o.URI)
		if err != nil {
			fmt.Fprintf(tw, "%s\t(unreadable: %v)\n", sanitize(otpLabel(o.Issuer, o.Account)), err)
			continue
		}
		var code string
		if k.Type == mfa.TypeHOTP {
			code, err = k.CodeAt(o.Counter)
			o.Counter++
			changed = true
		} else {
			code, err = k.Code(now)
		}
		if err != nil {
			return err
		}
		left := ""
		if r := k.Remaining(now); r > 0 {
			left = fmt.Sprintf("valid for %ds", int(r.Seconds()))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", sanitize(otpLabel(o.Issuer, o.Account)), code, left)
	}
	if changed {
		if err := st.Save(path); err != nil {
			return err
		}
	}
	return tw.Flush()
}

// parseNone parses flags for commands that take no arguments.
func parseNone(fs *flag.FlagSet, args []string) ([]string, error) {
	pos, err := parse(fs, args)
	if err != nil {
		return nil, err
	}
	if len(pos) > 0 {
		return nil, usagef("unexpected argument %q", pos[0])
	}
	return pos, nil
}
