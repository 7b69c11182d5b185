package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/authd/authd/protocols/admin"
)

const userHelpCommon = `
The store is found like authd run finds it: -data DIR (else $AUTHD_DATA,
else ./data) and the configuration's server.store.path. When a running
authd holds the store, the command goes through that server's admin socket
(DATA/admin.sock), so it works while authd runs.

The realm must be declared by the configuration (-config, else
$AUTHD_CONFIG, else *.hcl in the current directory); a misspelt realm gets a
"did you mean". When no configuration is found at all, realm names are not
checked (a warning says so), so users can be loaded before the
configuration is written. Through the admin socket, the running server
checks against the configuration it serves.`

const passwordHelp = `
The password is never taken from the command line: with -password-stdin the
first line of stdin is read (without its line ending); otherwise authd asks
twice on the terminal without echo.`

var userSubcommands = subcommands{
	{"add", "add a user", (*cli).cmdUserAdd},
	{"list", "list the users of a realm", (*cli).cmdUserList},
	{"passwd", "set a user's password", (*cli).cmdUserPasswd},
	{"delete", "delete a user", (*cli).cmdUserDelete},
	{"unlock", "clear a user's lockout and failure count", (*cli).cmdUserUnlock},
	{"import", "import users with existing password hashes from a CSV file", (*cli).cmdUserImport},
}

func (c *cli) cmdUser(args []string) error {
	return c.subcommand("user", "authd user COMMAND [flags] [NAME]", "", userSubcommands, args)
}

// userFlags are the flags every user command takes.
type userFlags struct {
	realm, config, data string
}

func (c *cli) userFlagSet(name, synopsis, help string) (*userFlags, *flag.FlagSet) {
	fs := c.flagSet("user "+name, synopsis, help+"\n"+userHelpCommon)
	f := &userFlags{}
	fs.StringVar(&f.realm, "realm", "", "the `realm` (required)")
	fs.StringVar(&f.config, "config", "", "configuration `dir`ectory (default $AUTHD_CONFIG, else . when it holds *.hcl)")
	fs.StringVar(&f.data, "data", "", "data `dir`ectory holding the store (default $AUTHD_DATA, else ./data)")
	return f, fs
}

// parseUser parses a user command line and checks -realm and the number of
// names.
func parseUser(fs *flag.FlagSet, f *userFlags, args []string, names int) ([]string, error) {
	pos, err := parse(fs, args)
	if err != nil {
		return nil, err
	}
	if f.realm == "" {
		return nil, usagef("-realm is required")
	}
	switch {
	case names == 1 && len(pos) == 0:
		return nil, usagef("a user name is required")
	case len(pos) > names:
		if names == 0 {
			return nil, usagef("unexpected argument %q", pos[0])
		}
		return nil, usagef("one name at a time (got %d arguments)", len(pos))
	}
	return pos, nil
}

// open opens the admin target for a user command, warning when realm
// names cannot be checked.
func (c *cli) open(f *userFlags, readOnly bool) (*adminTarget, error) {
	t, err := c.openAdmin(f.config, f.data, readOnly)
	if err != nil {
		return nil, err
	}
	c.warnUnchecked(t, f.realm)
	return t, nil
}

// call opens the admin target, runs one op and closes it.
func (c *cli) call(f *userFlags, readOnly bool, op string, in, out any) error {
	t, err := c.open(f, readOnly)
	if err != nil {
		return err
	}
	defer t.close()
	return t.Call(op, in, out)
}

// withPassword checks realm and user before asking for a password (no one
// should type a password only to learn the realm was misspelt), then reads
// it and runs op with the arguments built from it.
func (c *cli) withPassword(f *userFlags, name string, mustExist, fromStdin bool, op string, args func(pw string) any) error {
	t, err := c.open(f, false)
	if err != nil {
		return err
	}
	defer t.close()
	var look admin.UserLookup
	if err := t.Call("user.get", admin.UserRef{Realm: f.realm, Name: name}, &look); err != nil {
		return err
	}
	switch {
	case mustExist && !look.Found:
		return fmt.Errorf("no user %q in realm %q", name, f.realm)
	case !mustExist && look.Found:
		return fmt.Errorf("user %q already exists in realm %q", name, f.realm)
	}
	pw, err := c.readPassword(fromStdin)
	if err != nil {
		return err
	}
	return t.Call(op, args(pw), nil)
}

func (c *cli) cmdUserAdd(args []string) error {
	f, fs := c.userFlagSet("add", "authd user add -realm R [-group G]... [-email E] [-phone P] [-attr k=v]... [-password-stdin] NAME", `
Adds a user to a realm with a password (stored as an argon2id hash).`+passwordHelp)
	var groups, attrs stringList
	fs.Var(&groups, "group", "add the user to `group` (repeatable)")
	email := fs.String("email", "", "the user's e-mail `address`")
	phone := fs.String("phone", "", "the user's `phone` number (E.164, for SMS codes)")
	fs.Var(&attrs, "attr", "set attribute `key=value` (repeatable)")
	stdin := fs.Bool("password-stdin", false, "read the password from the first line of stdin")
	pos, err := parseUser(fs, f, args, 1)
	if err != nil {
		return err
	}
	attributes := map[string]string{}
	for _, a := range attrs {
		k, v, ok := strings.Cut(a, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return usagef("-attr wants key=value, not %q", a)
		}
		attributes[strings.TrimSpace(k)] = v
	}
	if len(attributes) == 0 {
		attributes = nil
	}
	if err := admin.CheckUserName(pos[0]); err != nil {
		return err
	}
	err = c.withPassword(f, pos[0], false, *stdin, "user.add", func(pw string) any {
		return admin.UserAddArgs{Realm: f.realm, Name: pos[0], Email: *email, Phone: *phone,
			Groups: groups, Attributes: attributes, Password: pw}
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "added user %s to realm %s\n", pos[0], f.realm)
	return nil
}

func (c *cli) cmdUserPasswd(args []string) error {
	f, fs := c.userFlagSet("passwd", "authd user passwd -realm R [-password-stdin] NAME", `
Sets a user's password.`+passwordHelp)
	stdin := fs.Bool("password-stdin", false, "read the password from the first line of stdin")
	pos, err := parseUser(fs, f, args, 1)
	if err != nil {
		return err
	}
	err = c.withPassword(f, pos[0], true, *stdin, "user.passwd", func(pw string) any {
		return admin.UserPasswdArgs{Realm: f.realm, Name: pos[0], Password: pw}
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "password changed for %s in realm %s\n", pos[0], f.realm)
	return nil
}

func (c *cli) cmdUserDelete(args []string) error {
	f, fs := c.userFlagSet("delete", "authd user delete -realm R NAME", `
Deletes a user.`)
	pos, err := parseUser(fs, f, args, 1)
	if err != nil {
		return err
	}
	if err := c.call(f, false, "user.delete", admin.UserRef{Realm: f.realm, Name: pos[0]}, nil); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "deleted user %s from realm %s\n", pos[0], f.realm)
	return nil
}

func (c *cli) cmdUserUnlock(args []string) error {
	f, fs := c.userFlagSet("unlock", "authd user unlock -realm R NAME", `
Clears a user's lockout and failed-attempt count.`)
	pos, err := parseUser(fs, f, args, 1)
	if err != nil {
		return err
	}
	if err := c.call(f, false, "user.unlock", admin.UserRef{Realm: f.realm, Name: pos[0]}, nil); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "unlocked user %s in realm %s\n", pos[0], f.realm)
	return nil
}

func (c *cli) cmdUserList(args []string) error {
	f, fs := c.userFlagSet("list", "authd user list -realm R [-format table|json]", `
Lists the users of a realm: name, e-mail, phone, groups and status (locked,
no password). Password hashes are never shown.`)
	format := fs.String("format", "table", "output `format`: table or json")
	if _, err := parseUser(fs, f, args, 0); err != nil {
		return err
	}
	if err := oneOf("format", *format, "table", "json"); err != nil {
		return err
	}
	var list []admin.UserInfo
	if err := c.call(f, true, "user.list", admin.UserListArgs{Realm: f.realm}, &list); err != nil {
		return err
	}
	if *format == "json" {
		if list == nil {
			list = []admin.UserInfo{}
		}
		return c.printJSON(list)
	}
	if len(list) == 0 {
		fmt.Fprintf(c.stdout, "no users in realm %s\n", f.realm)
		return nil
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tEMAIL\tPHONE\tGROUPS\tSTATUS")
	for _, u := range list {
		status := "active"
		switch {
		case u.Locked && u.LockedUntil != nil:
			status = "locked until " + u.LockedUntil.Local().Format(time.DateTime)
		case u.Locked:
			status = "locked"
		case !u.HasPassword:
			status = "no password"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", sanitize(u.Name), dash(u.Email), dash(u.Phone), dash(strings.Join(u.Groups, ",")), status)
	}
	return tw.Flush()
}

func (c *cli) cmdUserImport(args []string) error {
	f, fs := c.userFlagSet("import", "authd user import -realm R FILE.csv", `
Imports users with existing password hashes from a CSV file ("-" reads
stdin), so a migration needs no password resets. Accepted hashes: argon2id
($argon2id$), bcrypt ($2a$, $2b$, $2y$) and sha512-crypt ($6$); a user logs in
with the old hash and keeps it until the password changes.

The first line names the columns, in any order: name (required),
password_hash, email, phone, groups (separated by ";") and attributes
("key=value;key2=value2"). Plaintext passwords are refused. The whole file
is checked before anything is written, and a user that already exists
stops the import: all users are imported, or none.`)
	pos, err := parseUser(fs, f, args, 1)
	if err != nil {
		return err
	}
	var data []byte
	if pos[0] == "-" {
		data, err = io.ReadAll(io.LimitReader(c.stdin, admin.MaxRequestBytes))
	} else {
		data, err = os.ReadFile(pos[0])
	}
	if err != nil {
		return fmt.Errorf("reading %s: %w", pos[0], errors.Unwrap(err))
	}
	if len(data) >= admin.MaxRequestBytes-1024 {
		return fmt.Errorf("%s is too large (the limit is %d MiB); split it", pos[0], admin.MaxRequestBytes>>20)
	}
	var res admin.ImportResult
	if err := c.call(f, false, "user.import", admin.UserImportArgs{Realm: f.realm, File: pos[0], CSV: data}, &res); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "imported %s into realm %s\n", plural(res.Imported, "user"), f.realm)
	return nil
}

// readPassword reads a password from stdin's first line, or asks twice on
// the terminal without echo.
func (c *cli) readPassword(fromStdin bool) (string, error) {
	if fromStdin {
		line, err := bufio.NewReader(io.LimitReader(c.stdin, 4096)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("reading the password from stdin: %w", err)
		}
		pw := strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		if pw == "" {
			return "", errors.New("no password on stdin (-password-stdin reads its first line)")
		}
		return pw, nil
	}
	f, ok := c.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return "", errors.New("no terminal to ask the password on: pipe it in with -password-stdin")
	}
	fd := int(f.Fd())
	fmt.Fprint(c.stderr, "Password: ")
	a, err := term.ReadPassword(fd)
	fmt.Fprintln(c.stderr)
	if err != nil {
		return "", fmt.Errorf("reading the password: %w", err)
	}
	if len(a) == 0 {
		return "", errors.New("the password is empty")
	}
	fmt.Fprint(c.stderr, "Repeat password: ")
	b, err := term.ReadPassword(fd)
	fmt.Fprintln(c.stderr)
	if err != nil {
		return "", fmt.Errorf("reading the password: %w", err)
	}
	if string(a) != string(b) {
		return "", errors.New("the passwords do not match")
	}
	return string(a), nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return sanitize(s)
}

// sanitize keeps a table cell on one line and free of terminal escapes.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}
