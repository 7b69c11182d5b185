package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/authd/authd/protocols/admin"
)

// dialServer connects to the admin socket of the server using dataDir.
func dialServer(dataDir string) (*admin.Client, error) {
	sock := filepath.Join(dataDir, admin.SocketName)
	if _, err := os.Stat(sock); errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("no running authd uses data directory %s (no %s)", dataDir, sock)
	}
	cl, err := admin.Dial(sock)
	if err != nil {
		return nil, fmt.Errorf("no running authd answers on %s: %v", sock, err)
	}
	return cl, nil
}

// reloadResult is the answer of the reload op.
type reloadResult struct {
	Revision string `json:"revision"`
	Changed  bool   `json:"changed"`
	Warnings int    `json:"warnings,omitempty"`
}

func (c *cli) cmdReload(args []string) error {
	fs := c.flagSet("reload", "authd reload [-data DIR]", `
Asks the authd serving from the data directory to reload its configuration
(as SIGHUP does). New sessions start on the new journeys; sessions already
running finish on the ones they started with. A configuration with errors is
refused and the running one stays; the errors are in the server's log and
summarised here. Changes to the server block (listen addresses, store) need
a restart.`)
	data := fs.String("data", "", "data `dir`ectory of the running server (default $AUTHD_DATA, else ./data)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("takes no arguments")
	}
	cl, err := dialServer(c.dataDir(*data))
	if err != nil {
		return err
	}
	defer cl.Close()
	var res reloadResult
	if err := cl.Call("reload", struct{}{}, &res); err != nil {
		return err
	}
	switch {
	case !res.Changed:
		fmt.Fprintf(c.stdout, "configuration unchanged (revision %s)\n", short(res.Revision))
	default:
		fmt.Fprintf(c.stdout, "configuration reloaded (revision %s)\n", short(res.Revision))
	}
	if res.Warnings > 0 {
		fmt.Fprintf(c.stdout, "%s (see authd validate)\n", plural(res.Warnings, "warning"))
	}
	return nil
}

func short(rev string) string {
	if len(rev) > 12 {
		return rev[:12]
	}
	return rev
}

func (c *cli) cmdBackup(args []string) error {
	fs := c.flagSet("backup", "authd backup [-config DIR] [-data DIR] FILE", `
Writes a consistent copy of the store to FILE (mode 0600), while authd runs
or not: through the running server's admin socket when one holds the store.
FILE must not exist yet.`)
	config := fs.String("config", "", "configuration `dir`ectory, for server.store.path (default $AUTHD_CONFIG, else .)")
	data := fs.String("data", "", "data `dir`ectory holding the store (default $AUTHD_DATA, else ./data)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("one backup file name is required")
	}
	dst, err := filepath.Abs(pos[0])
	if err != nil {
		return err
	}
	if _, err := os.Lstat(dst); err == nil {
		return fmt.Errorf("%s already exists; choose a new file name", pos[0])
	}
	t, err := c.openAdmin(*config, *data, true)
	if err != nil {
		return err
	}
	defer t.close()
	var res backupResult
	if err := t.Call("store.backup", backupArgs{Path: dst}, &res); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "backup written to %s (%d bytes)\n", pos[0], res.Bytes)
	return nil
}
