package main

import (
	"fmt"
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
	return c.subcommand("device", "authd device COMMAND -realm R [flags] NAME", "", deviceSubcommands, args)
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
	if err := c.deviceCall(f, "device.list", admin.UserRef{Realm: f.realm, Name: pos[0]}, &list); err != nil {
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
	if err := c.deviceCall(f, "device.delete", admin.DeviceDeleteArgs{Realm: f.realm, Name: pos[0], ID: *id}, &res); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "deleted %s of %s in realm %s\n", plural(res.Deleted, "device"), pos[0], f.realm)
	return nil
}

// deviceCall runs one device op: in-process on the store when no server
// holds it, else through the running server's admin socket. Neither op
// makes a store: where there is none, there are no devices.
func (c *cli) deviceCall(f *userFlags, op string, in, out any) error {
	t, err := c.openAdminWith(f.config, f.data, true, func(m *admin.Mux, st *boltstore.Store, _ *dsl.Config, realms func() []string) error {
		svc := &admin.DeviceService{Devices: devices.New(st), Realms: realms, Frontend: "cli"}
		if l, err := audit.New(st, audit.Options{}); err == nil {
			svc.Audit = l
		}
		svc.Register(m)
		return nil
	})
	if err != nil {
		return err
	}
	defer t.close()
	c.warnUnchecked(t, f.realm)
	return t.Call(op, in, out)
}

// The running server serves the device ops on its admin socket.
func init() {
	adminHooks = append(adminHooks, func(h *serverHandles, m *admin.Mux) {
		(&admin.DeviceService{Devices: devices.New(h.KV), Realms: h.Realms, Audit: h.Audit, Frontend: "admin"}).Register(m)
	})
}
