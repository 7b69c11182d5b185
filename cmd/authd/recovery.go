package main

import (
	"fmt"
	"time"

	"github.com/authd/authd/engine/mfa"
	"github.com/authd/authd/protocols/admin"
)

var recoverySubcommands = subcommands{
	{"generate", "replace a user's recovery codes and print the new ones once", (*cli).cmdRecoveryGenerate},
	{"status", "how many of a user's recovery codes are left", (*cli).cmdRecoveryStatus},
}

// cmdRecoveryCodes is `authd recovery-codes`: fresh codes for a user who
// lost their phone and their old codes, handed over by an administrator.
func (c *cli) cmdRecoveryCodes(args []string) error {
	return c.subcommand("recovery-codes", "authd recovery-codes COMMAND [flags] NAME", "", recoverySubcommands, args)
}

func (c *cli) cmdRecoveryGenerate(args []string) error {
	f, fs := c.mfaFlagSet("recovery-codes", "generate", "authd recovery-codes generate -realm R [-count N] NAME", `
Replaces a user's recovery codes with new ones and prints them, one per
line on stdout: the only time they are shown. The old codes stop working.
Each code works once at a recovery_code_collector node; the store keeps
only keyed hashes of them.`)
	count := fs.Int("count", mfa.DefaultRecoveryCodes, fmt.Sprintf("how many codes (1 to %d)", mfa.MaxRecoveryCodes))
	pos, err := parseUser(fs, f, args, 1)
	if err != nil {
		return err
	}
	if *count < 1 || *count > mfa.MaxRecoveryCodes {
		return usagef("-count must be 1 to %d, not %d", mfa.MaxRecoveryCodes, *count)
	}
	var res RecoveryGenerateResult
	if err := c.mfaCall(f, false, "recovery.generate", RecoveryGenerateArgs{Realm: f.realm, Name: pos[0], Count: *count}, &res); err != nil {
		return err
	}
	for _, code := range res.Codes {
		fmt.Fprintln(c.stdout, code)
	}
	fmt.Fprintf(c.stderr, "generated %s for %s in realm %s; they are shown only now, and the old ones no longer work.\n",
		plural(len(res.Codes), "recovery code"), pos[0], f.realm)
	return nil
}

func (c *cli) cmdRecoveryStatus(args []string) error {
	f, fs := c.mfaFlagSet("recovery-codes", "status", "authd recovery-codes status -realm R NAME", `
Prints how many of a user's recovery codes are left and when they were
made. The codes themselves cannot be shown again.`)
	pos, err := parseUser(fs, f, args, 1)
	if err != nil {
		return err
	}
	var st RecoveryStatusResult
	if err := c.mfaCall(f, true, "recovery.status", admin.UserRef{Realm: f.realm, Name: pos[0]}, &st); err != nil {
		return err
	}
	if st.Created == nil {
		fmt.Fprintf(c.stdout, "%s has no recovery codes in realm %s\n", pos[0], f.realm)
		return nil
	}
	fmt.Fprintf(c.stdout, "%s: %d left, %d used, generated %s\n", pos[0], st.Left, st.Used, st.Created.Local().Format(time.DateTime))
	return nil
}
