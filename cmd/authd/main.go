// Command authd is the declarative authentication journey server and its
// tools: it checks, formats and draws configurations, serves journeys, and
// manages the users of a store, directly or through a running server's
// admin socket. The command line follows the project's CLI contract
// (spec/cli.md); `authd COMMAND -h` documents each command.
//
// Exit codes: 0 success, 1 a user error (one line on stderr saying why),
// 2 a usage error (bad flags or arguments). A panic is turned into a
// one-line internal error; no stack trace reaches the terminal.
//
// Decisions the contract leaves open, and why:
//
//   - Flags may follow positional arguments (`authd user add bob -realm
//     corp`), because people type them in that order; "--" ends flags.
//   - `authd validate` prints diagnostics and its summary line to stdout
//     (it is the command's output, and CI pipes it); other commands print
//     errors to stderr. validate does not require env() variables to be
//     set (CI rarely has secrets); `authd run` does.
//   - Admin commands (user, backup) first try to open the store with a
//     300 ms lock timeout; when a running authd holds it they talk to that
//     server through DATA/admin.sock, so both paths run the same code
//     (protocols/admin's UserService) with the same messages. Read-only
//     commands (user list, backup) never create a store.
//   - Realm names are checked against the configuration that is found
//     (-config, $AUTHD_CONFIG, *.hcl in .), with a "did you mean"; through
//     the socket, the server checks against what it serves. With no
//     configuration at all, realms are not checked and a warning says so,
//     so users can be loaded before the configuration is written.
//   - Passwords come from the first line of stdin (-password-stdin) or a
//     terminal prompt asked twice without echo; never from argv. Realm and
//     user are checked before the prompt, so nobody types a password only
//     to learn the realm was misspelt.
//   - `authd run -listen ADDR` overrides server.http.listen, so the quick
//     start (which listens on 127.0.0.1:9000) can run beside another
//     service and tests can use port 0.
//   - The quick start creates the user "demo" with a random 20-character
//     password when its realm has no user, once every listener is bound,
//     and prints the banner (URL, user, password, curl commands) only
//     then: the password is shown once and never logged. Later starts
//     print how to set a new one (authd user passwd).
//   - Reload (SIGHUP, `authd reload`, -watch) swaps journeys and RADIUS
//     clients/policies atomically; a configuration with errors is refused
//     and the running one stays. Listener and store changes need a
//     restart (a warning says so). -watch polls file sizes and times every
//     second and reloads once they are stable, which works on every file
//     system, ConfigMaps included, without a notification dependency.
//   - server.store.encryption_key is accepted but the store is not yet
//     encrypted; authd run warns at start.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/authd/authd/protocols/admin"
)

// cli holds the process's streams and environment, so commands never reach
// for globals and tests could run them in-process.
type cli struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
}

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(c *cli, args []string) error
	subs    subcommands // a group's commands (authd user add), for usage hints
}

// commands is the command table; `authd help` lists it in this order.
var commands = []command{
	{"run", "serve journeys (with no configuration, the embedded quick start)", (*cli).cmdRun, nil},
	{"validate", "check a configuration", (*cli).cmdValidate, nil},
	{"fmt", "format configuration files canonically", (*cli).cmdFmt, nil},
	{"graph", "draw a journey (mermaid or dot)", (*cli).cmdGraph, nil},
	{"test", "run the journey scenarios of a configuration", (*cli).cmdTest, nil},
	{"diff", "show what changed in meaning between two configurations", (*cli).cmdDiff, nil},
	{"user", "manage the users of a realm (add, list, passwd, delete, unlock, import)", (*cli).cmdUser, userSubcommands},
	{"otp", "manage users' TOTP/HOTP tokens (enroll, list, delete)", (*cli).cmdOTP, otpSubcommands},
	{"device", "manage users' push devices (list, delete)", (*cli).cmdDevice, deviceSubcommands},
	{"authenticator", "a software push authenticator (enroll, pending, approve, deny, code)", (*cli).cmdAuthenticator, authenticatorSubcommands},
	{"recovery-codes", "give a user fresh recovery codes (generate, status)", (*cli).cmdRecoveryCodes, recoverySubcommands},
	{"reload", "ask the running server to reload its configuration", (*cli).cmdReload, nil},
	{"backup", "write a consistent copy of the store", (*cli).cmdBackup, nil},
	{"audit", "print (or -follow) the audit log", (*cli).cmdAudit, nil},
	{"keys", "list or rotate the OAuth/OIDC signing keys", (*cli).cmdKeys, keysSubcommands},
	{"version", "print the version, commit and Go version", (*cli).cmdVersion, nil},
}

func main() {
	c := &cli{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	os.Exit(c.main(os.Args[1:]))
}

// main runs one command line and returns the exit code. A panic becomes a
// one-line internal error instead of a stack trace.
func (c *cli) main(args []string) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(c.stderr, "authd: internal error: %v (this is a bug; please report it)\n", r)
			code = 1
		}
	}()
	if len(args) == 0 {
		c.usage(c.stderr)
		return 2
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help", "help":
		if name == "help" && len(args) > 1 {
			return c.main([]string{args[1], "-h"})
		}
		c.usage(c.stdout)
		return 0
	case "-version", "--version", "-v":
		name = "version"
	}
	for _, cmd := range commands {
		if cmd.name == name {
			// A usage error's hint names the command it is about:
			// authd user add -h, not authd user -h.
			about := cmd.name
			if len(args) > 1 && slices.ContainsFunc(cmd.subs, func(s subcommand) bool { return s.name == args[1] }) {
				about += " " + args[1]
			}
			return c.exit(about, cmd.run(c, args[1:]))
		}
	}
	names := make([]string, len(commands))
	for i, cmd := range commands {
		names[i] = cmd.name
	}
	msg := fmt.Sprintf("unknown command %q", name)
	if strings.HasPrefix(name, "-") {
		msg = fmt.Sprintf("flag %s must follow a command", name)
	} else if best := admin.DidYouMean(name, names); best != "" {
		msg += fmt.Sprintf("; did you mean %q?", best)
	}
	fmt.Fprintf(c.stderr, "authd: %s\nRun 'authd help' for the list of commands.\n", msg)
	return 2
}

func (c *cli) usage(w io.Writer) {
	fmt.Fprint(w, "authd: a declarative authentication journey server\n\nUsage:\n  authd COMMAND [flags] [arguments]\n\nCommands:\n")
	width := 0
	for _, cmd := range commands {
		width = max(width, len(cmd.name))
	}
	for _, cmd := range commands {
		fmt.Fprintf(w, "  %-*s  %s\n", width, cmd.name, cmd.summary)
	}
	fmt.Fprint(w, `
Every command takes -h. The configuration is found with -config DIR, else
$AUTHD_CONFIG, else the current directory when it holds *.hcl files; the
store lives in -data DIR, else $AUTHD_DATA, else ./data.
`)
}

// Errors that decide the exit code.
type (
	// usageError is a bad command line: exit 2, with a hint to -h.
	usageError struct{ msg string }
	// exitError exits with code after its message (if any) was printed.
	exitError struct{ code int }
)

func (e *usageError) Error() string { return e.msg }
func (e *exitError) Error() string  { return fmt.Sprintf("exit status %d", e.code) }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// errHelp reports that -h was served: exit 0.
var errHelp = errors.New("help requested")

// exit maps a command's error to an exit code, printing a one-line cause.
func (c *cli) exit(name string, err error) int {
	var (
		ue *usageError
		ee *exitError
	)
	switch {
	case err == nil, errors.Is(err, errHelp):
		return 0
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &ue):
		fmt.Fprintf(c.stderr, "authd %s: %s\nRun 'authd %s -h' for usage.\n", name, ue.msg, name)
		return 2
	default:
		fmt.Fprintf(c.stderr, "authd: %s\n", oneLine(err.Error()))
		return 1
	}
}

// printJSON prints v as indented JSON, the -format json of list commands.
func (c *cli) printJSON(v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "%s\n", b)
	return nil
}

// oneLine folds a multi-line message onto one line.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	parts := strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' })
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return strings.Join(parts, "; ")
}

// flagSet returns a FlagSet whose -h prints synopsis and help to stdout.
func (c *cli) flagSet(name, synopsis, help string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		fmt.Fprintf(c.stdout, "Usage: %s\n\n%s\n", synopsis, strings.TrimSpace(help))
		var b strings.Builder
		fs.SetOutput(&b)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
		if b.Len() > 0 {
			fmt.Fprintf(c.stdout, "\nFlags:\n%s", b.String())
		}
	}
	return fs
}

// parse parses flags anywhere on the command line (`authd user add bob
// -realm corp` works as well as the canonical order); "--" ends flags. It
// returns the positional arguments.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	// The flag package calls Usage itself on -h and on every bad flag;
	// help is printed here, once, for -h alone: a bad flag gets the
	// one-line error on stderr, not the whole help on stdout.
	help := fs.Usage
	fs.Usage = func() {}
	defer func() { fs.Usage = help }()
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				help()
				return nil, errHelp
			}
			return nil, usagef("%v", err)
		}
		rest := fs.Args()
		// flag stops at "--" (consumed) or at the first non-flag.
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// stringList is a repeatable string flag (-group a -group b).
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// oneOf checks an enumerated flag value.
func oneOf(flagName, v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	sort.Strings(allowed)
	return usagef("-%s must be one of %s, not %q", flagName, strings.Join(allowed, ", "), v)
}

// subcommand is one command of a group such as `authd user`.
type subcommand struct {
	name, summary string
	run           func(c *cli, args []string) error
}

// subcommands are the commands of a group, in the order help lists them.
type subcommands []subcommand

// subcommand dispatches `authd GROUP COMMAND`, printing the group's help
// (synopsis, then intro when there is one) for -h or no command.
func (c *cli) subcommand(group, synopsis, intro string, subs subcommands, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
		w := c.stdout
		if len(args) == 0 {
			w = c.stderr
		}
		fmt.Fprintf(w, "Usage: %s\n\n", synopsis)
		if intro != "" {
			fmt.Fprintf(w, "%s\n\n", strings.TrimSpace(intro))
		}
		fmt.Fprint(w, "Commands:\n")
		width := 0
		for _, s := range subs {
			width = max(width, len(s.name))
		}
		for _, s := range subs {
			fmt.Fprintf(w, "  %-*s  %s\n", width, s.name, s.summary)
		}
		fmt.Fprintf(w, "\nRun 'authd %s COMMAND -h' for the flags of each.\n", group)
		if len(args) == 0 {
			return &exitError{code: 2}
		}
		return nil
	}
	names := make([]string, len(subs))
	for i, s := range subs {
		if s.name == args[0] {
			return s.run(c, args[1:])
		}
		names[i] = s.name
	}
	msg := fmt.Sprintf("unknown %s command %q", group, args[0])
	if best := admin.DidYouMean(args[0], names); best != "" {
		msg += fmt.Sprintf("; did you mean %q?", best)
	}
	return usagef("%s", msg)
}
