package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/authd/authd/dsl"
	"github.com/authd/authd/engine/mfa"
	"github.com/authd/authd/engine/store"
	"github.com/authd/authd/engine/store/boltstore"
	"github.com/authd/authd/protocols/admin"
	"github.com/authd/authd/protocols/oauth"
)

var keysSubcommands = subcommands{
	{"list", "list the OAuth/OIDC signing keys (never the keys themselves)", (*cli).cmdKeysList},
	{"rotate", "sign with new keys from now on; the old ones stay published until their tokens expire", (*cli).cmdKeysRotate},
}

// cmdKeys is `authd keys`: the signing keys of ID tokens and JWT access
// tokens, which an operator rotates on a schedule or after a leak.
func (c *cli) cmdKeys(args []string) error {
	return c.subcommand("keys", "authd keys COMMAND [-config DIR] [-data DIR]", `
The OAuth/OIDC provider signs ID tokens and JWT access tokens with an RS256
and an ES256 key it creates in the store on its first start. The store is
found like authd user finds it (-data, $AUTHD_DATA, ./data and
server.store.path); while authd runs, the command goes through its admin
socket, and a rotation takes effect at once.`, keysSubcommands, args)
}

// keyList is the answer of keys.list and keys.rotate.
type keyList struct {
	Keys []oauth.KeyInfo `json:"keys"`
}

func (c *cli) cmdKeysList(args []string) error {
	fs := c.flagSet("keys list", "authd keys list [-format table|json] [-config DIR] [-data DIR]", `
Lists the signing keys: key id (the kid in a token's header), algorithm,
when created, and whether it signs, or was rotated out and until when it
stays in the JWKS. The private keys are never printed.`)
	config := fs.String("config", "", "configuration `dir`ectory, for server.store.path (default $AUTHD_CONFIG, else .)")
	data := fs.String("data", "", "data `dir`ectory holding the store (default $AUTHD_DATA, else ./data)")
	format := fs.String("format", "table", "output `format`: table or json")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	if err := oneOf("format", *format, "table", "json"); err != nil {
		return err
	}
	var res keyList
	if err := c.keysCall(*config, *data, "keys.list", &res); err != nil {
		return err
	}
	return c.printKeys(res.Keys, *format)
}

func (c *cli) cmdKeysRotate(args []string) error {
	fs := c.flagSet("keys rotate", "authd keys rotate [-config DIR] [-data DIR]", `
Creates a new RS256 and a new ES256 signing key; tokens are signed with them
from now on. The old keys stop signing at once but stay in the JWKS until
every token they signed has expired (the ID token lifetime, or the longest
JWT access token lifetime of the relying parties, plus a minute), so
relying parties keep verifying tokens already issued; a later rotation or
the server's sweeper then deletes them. Rotate on a schedule, and at once
if a key may have leaked (a copy of the store or of a backup).

Through a running server's admin socket the server signs with the new keys
at once; otherwise the store is changed and the next start uses them. The
configuration must be found (-config), since the relying parties' token
lifetimes decide how long the old keys stay published.`)
	config := fs.String("config", "", "configuration `dir`ectory (default $AUTHD_CONFIG, else .)")
	data := fs.String("data", "", "data `dir`ectory holding the store (default $AUTHD_DATA, else ./data)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	var res keyList
	if err := c.keysCall(*config, *data, "keys.rotate", &res); err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, "signing keys rotated; new tokens are signed with the first two:")
	return c.printKeys(res.Keys, "table")
}

func (c *cli) printKeys(keys []oauth.KeyInfo, format string) error {
	if format == "json" {
		return c.printJSON(keys)
	}
	if len(keys) == 0 {
		fmt.Fprintln(c.stdout, "no signing keys yet: the OAuth provider creates them when authd first runs with a relying party")
		return nil
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KID\tALG\tCREATED\tSTATUS")
	for _, k := range keys {
		status := "signing"
		switch {
		case k.Signing():
		case k.PublishUntil.IsZero():
			status = "rotated out " + k.Retired.Local().Format(time.DateTime) + ", published for good (a token it signed never expires)"
		default:
			status = "rotated out " + k.Retired.Local().Format(time.DateTime) + ", published until " + k.PublishUntil.Local().Format(time.DateTime)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", k.KID, k.Alg, k.Created.Local().Format(time.DateTime), status)
	}
	return tw.Flush()
}

// keysCall runs one keys op on the store, or through the running server.
// The store must exist: a rotation where no provider ever made keys
// would only make a store.
//
// Offline, a rotation seals the new keys with the store key, resolved as
// authd run resolves it (server.store.encryption_key, $AUTHD_STORE_KEY,
// DATA/store.key); only the rotation needs it, so listing works without.
func (c *cli) keysCall(config, data, op string, out any) error {
	dataDir := c.dataDir(data)
	t, err := c.openAdminWith(config, data, true, func(m *admin.Mux, st *boltstore.Store, cfg *dsl.Config, _ func() []string) error {
		registerKeyOps(m, st, rotateWith(st, cfg, func() (oauth.Sealer, error) {
			repo, _, err := newMFARepo(st, cfg, c.getenv, dataDir)
			if err != nil {
				return nil, fmt.Errorf("store key: %w", err)
			}
			return repo, nil
		}))
		return nil
	})
	if err != nil {
		return err
	}
	defer t.close()
	return t.Call(op, struct{}{}, out)
}

// registerKeyOps adds keys.list and keys.rotate; rotate is the rotation
// itself, which differs between a running server and this process.
func registerKeyOps(m *admin.Mux, kv store.KV, rotate func() error) {
	list := func() (keyList, error) {
		keys, err := oauth.ListKeys(kv)
		return keyList{Keys: keys}, err
	}
	m.Handle("keys.list", admin.Typed(func(context.Context, struct{}) (keyList, error) { return list() }))
	m.Handle("keys.rotate", admin.Typed(func(context.Context, struct{}) (keyList, error) {
		if err := rotate(); err != nil {
			return keyList{}, err
		}
		return list()
	}))
}

// rotateOffline rotates the keys of a store without a provider, keeping
// the old ones published as long as cfg's relying parties need, sealed
// with the store key attached to kv (mfa.Attach: authd run attaches it).
// Where none is attached it refuses rather than store keys in clear.
func rotateOffline(kv store.KV, cfg *dsl.Config) func() error {
	return rotateWith(kv, cfg, func() (oauth.Sealer, error) {
		repo := mfa.For(kv)
		if repo == nil {
			return nil, admin.Errorf(admin.CodeInvalid, "no store key to seal the new signing keys with")
		}
		return repo, nil
	})
}

// rotateWith rotates the keys of kv, sealing them with what sealer gives.
// The configuration is checked first, so that a refused rotation does not
// create a store key file.
func rotateWith(kv store.KV, cfg *dsl.Config, sealer func() (oauth.Sealer, error)) func() error {
	return func() error {
		if cfg == nil {
			return admin.Errorf(admin.CodeInvalid, "no configuration found: how long the old keys stay published depends on the relying parties' token lifetimes; pass -config")
		}
		s, err := sealer()
		if err != nil {
			return err
		}
		return oauth.RotateKeys(kv, s, oauth.KeyRetention(oauth.FromDSL(cfg)), time.Now())
	}
}

// The running server rotates through its provider, which signs with the
// new keys at once; without one (no relying party) the store alone.
func init() {
	adminHooks = append(adminHooks, func(h *serverHandles, m *admin.Mux) {
		registerKeyOps(m, h.KV, func() error {
			if h.OAuth != nil {
				return h.OAuth.RotateKeys()
			}
			return rotateOffline(h.KV, h.Config())()
		})
	})
}
