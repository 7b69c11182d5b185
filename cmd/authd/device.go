package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/authd/authd/dsl"
	"github.com/authd/authd/engine/audit"
	"github.com/authd/authd/engine/devices"
	"github.com/authd/authd/engine/store/boltstore"
	"github.com/authd/authd/protocols/admin"
)

var deviceSubcommands = subcommands{
	{"list", "list a user's push devices", (*cli).cmdDeviceList},
	{"delete", "delete a user's push devices (all, or one with -id)", (*cli).cmdDeviceDelete},
}

func (c *cli) cmdDevice(args []string) error {
	return c.subcommand("device", "authd device COMMAND -realm R [flags] NAME", "", args)
}

const deviceHelpCommon = `
Push devices are what users enrol with push_registration (or authd
authenticator enroll). The store is found like authd user finds it (-data,
$AUTHD_DATA, ./data and server.store.path); while authd runs, the command
goes through its admin socket.`

func (c *cli) cmdDeviceList(args []string) error {
	f, fs := c.userFlagSet("list", "authd device list -realm R [-format table|json] NAME", `
Lists a user's push devices: id, name, platform, provider, when enrolled and
last used, and whether the provider reported the device gone. Keys and push
tokens are never shown.`+deviceHelpCommon)
	format := fs.String("format", "table", "output `format`: table or json")
	pos, err := parseUser(fs, f, args, 1)
	if err != nil {
		return err
	}
	if err := oneOf("format", *format, "table", "json"); err != nil {
		return err
	}
	var list admin.DeviceList
	if err := c.deviceCall(f, true, "device.list", admin.UserRef{Realm: f.realm, Name: pos[0]}, &list); err != nil {
		return err
	}
	if *format == "json" {
		return c.printJSON(list.Devices)
	}
	if len(list.Devices) == 0 {
		fmt.Fprintf(c.stdout, "%s has no push device in realm %s\n", pos[0], f.realm)
		return nil
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tPLATFORM\tPROVIDER\tENROLLED\tLAST USED\tSTATUS")
	for _, d := range list.Devices {
		last, status := "-", "active"
		if d.LastUsed != nil {
			last = d.LastUsed.Local().Format(time.DateTime)
		}
		if d.Dead {
			status = "gone (" + sanitize(d.DeadReason) + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.ID, dash(sanitize(d.Name)), d.Platform, d.Provider,
			d.Created.Local().Format(time.DateTime), last, status)
	}
	return tw.Flush()
}

func (c *cli) cmdDeviceDelete(args []string) error {
	f, fs := c.userFlagSet("delete", "authd device delete -realm R [-id ID] NAME", `
Deletes a user's push devices: every one, or the one -id names (see authd
device list). The user must enrol again before push MFA works.`+deviceHelpCommon)
	id := fs.String("id", "", "delete only the device with this `id`")
	pos, err := parseUser(fs, f, args, 1)
	if err != nil {
		return err
	}
	var res admin.DeviceDeleteResult
	if err := c.deviceCall(f, false, "device.delete", admin.DeviceDeleteArgs{Realm: f.realm, Name: pos[0], ID: *id}, &res); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "deleted %s of %s in realm %s\n", plural(res.Deleted, "device"), pos[0], f.realm)
	return nil
}

// deviceCall runs one device op: in-process on the store when no server
// holds it, else through the running server's admin socket.
func (c *cli) deviceCall(f *userFlags, readOnly bool, op string, in, out any) error {
	src, found, err := c.findConfig(nil, f.config)
	if err != nil {
		return err
	}
	data := c.dataDir(f.data)
	path := storePath(nil, data)
	var realms func() []string
	if found {
		cfg, diags, _ := c.loadConfig(src, dsl.Options{})
		if diags.HasErrors() || cfg == nil {
			errs, _ := countDiags(diags)
			return fmt.Errorf("%v (run authd validate)", configErrors(src, max(errs, 1)))
		}
		names := realmNames(cfg)
		realms = func() []string { return append([]string(nil), names...) }
		path = storePath(cfg, data)
	} else {
		fmt.Fprintf(c.stderr, "authd: warning: no configuration found (-config, $AUTHD_CONFIG, *.hcl in .), so realm %q is not checked\n", f.realm)
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		if readOnly {
			return fmt.Errorf("no store at %s (pass -data, or set $AUTHD_DATA, to use another data directory)", path)
		}
		return fmt.Errorf("no store at %s, so there are no devices to delete", path)
	}
	st, err := boltstore.Open(path, boltstore.Options{LockTimeout: cliLockTimeout})
	if err != nil {
		var le *boltstore.LockedError
		if !errors.As(err, &le) {
			return storeError(path, err)
		}
		cl, derr := admin.Dial(filepath.Join(data, admin.SocketName))
		if derr != nil {
			return fmt.Errorf("%v, and its admin socket does not answer (%v)", storeError(path, err), derr)
		}
		defer cl.Close()
		err = cl.Call(op, in, out)
		var ae *admin.Error
		if errors.As(err, &ae) && ae.Code == admin.CodeUnknownOp {
			return fmt.Errorf("the running authd does not serve %s; stop it or upgrade it", op)
		}
		return err
	}
	defer st.Close()
	mux := admin.NewMux()
	svc := &admin.DeviceService{Devices: devices.New(st), Realms: realms, Frontend: "cli"}
	if l, err := audit.New(st, audit.Options{}); err == nil {
		svc.Audit = l
	}
	svc.Register(mux)
	return admin.Local(auditedLocal(mux, st)).Call(op, in, out)
}

// The running server serves the device ops on its admin socket.
func init() {
	adminHooks = append(adminHooks, func(h *serverHandles, m *admin.Mux) {
		(&admin.DeviceService{Devices: devices.New(h.KV), Realms: h.Realms, Audit: h.Audit, Frontend: "admin"}).Register(m)
	})
}
