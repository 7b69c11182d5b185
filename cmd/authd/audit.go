package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/authd/authd/dsl"
	"github.com/authd/authd/engine/audit"
	"github.com/authd/authd/engine/store"
	"github.com/authd/authd/engine/store/boltstore"
	"github.com/authd/authd/protocols/admin"
)

// followPollInterval is how often `authd audit -follow` looks at a store
// no server holds (a server's admin socket answers long polls instead).
const followPollInterval = time.Second

func (c *cli) cmdAudit(args []string) error {
	fs := c.flagSet("audit", "authd audit [-follow] [-user U] [-realm R] [-kind K] [-since DUR] [-format text|json] [-data DIR]", `
Prints the audit log: every journey that ended (user, realm, journey, front
end, client address, the nodes it passed, result and why), enrolments,
device removals, admin actions, reloads, rejected push answers and dropped
RADIUS packets, oldest first.

It reads the store directly when no server holds it, and asks the running
server through its admin socket when one does. With -follow it keeps
printing new entries as they are written until interrupted, and rides out
a restart of the server. -format json prints one JSON object per line.

Entries older than authd run's -audit-retention (default 90 days) are
removed by the server.`)
	config := fs.String("config", "", "configuration `dir`ectory, for server.store.path (default $AUTHD_CONFIG, else .)")
	data := fs.String("data", "", "data `dir`ectory holding the store (default $AUTHD_DATA, else ./data)")
	follow := fs.Bool("follow", false, "keep printing entries as they are written")
	user := fs.String("user", "", "only entries about `user`")
	realm := fs.String("realm", "", "only entries of `realm`")
	kind := fs.String("kind", "", "only entries of `kind`: "+strings.Join(audit.Kinds, ", "))
	since := fs.String("since", "", "only entries of the last `duration` (1h, 30m, 7d)")
	format := fs.String("format", "text", "output `format`: text or json")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	if err := oneOf("format", *format, "text", "json"); err != nil {
		return err
	}
	if *kind != "" {
		if err := oneOf("kind", *kind, slices.Clone(audit.Kinds)...); err != nil {
			return err
		}
	}
	q := admin.AuditQueryArgs{User: *user, Realm: *realm, Kind: *kind}
	if *since != "" {
		d, err := parseRetention(*since)
		if err != nil || d <= 0 {
			return usagef("-since wants a duration such as 1h, 30m or 7d, not %q", *since)
		}
		q.Since = time.Now().Add(-d).UTC().Format(time.RFC3339Nano)
	}
	print := func(es []audit.Entry) error {
		for i := range es {
			if err := writeEntry(c.stdout, &es[i], *format); err != nil {
				return err
			}
		}
		return nil
	}

	// The entries written so far.
	t, err := c.openAdmin(*config, *data, true)
	if err != nil {
		return err
	}
	for {
		var page audit.Page
		if err := t.Call("audit.query", q, &page); err != nil {
			t.close()
			return auditCallError(err)
		}
		if err := print(page.Entries); err != nil {
			t.close()
			return err
		}
		q.After = page.Next
		if !page.More {
			break
		}
	}
	t.close()
	if !*follow {
		return nil
	}

	// The configuration is read once: an edit in progress must not stop
	// a follower.
	path, dataDir, err := c.auditStore(*config, *data)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	for ctx.Err() == nil {
		page, remote, err := followOnce(ctx, path, dataDir, q)
		if err != nil {
			return err
		}
		if page != nil {
			if err := print(page.Entries); err != nil {
				return err
			}
			q.After = page.Next
			if page.More {
				continue
			}
		}
		if !remote {
			select {
			case <-ctx.Done():
			case <-time.After(followPollInterval):
			}
		}
	}
	return nil
}

// auditStore finds the store like the admin commands do: the data
// directory and the configuration's server.store.path.
func (c *cli) auditStore(configFlag, dataFlag string) (path, dataDir string, err error) {
	src, found, err := c.findConfig(nil, configFlag)
	if err != nil {
		return "", "", err
	}
	dataDir = c.dataDir(dataFlag)
	path = storePath(nil, dataDir)
	if found {
		cfg, diags, _ := c.loadConfig(src, dsl.Options{})
		if diags.HasErrors() || cfg == nil {
			errs, _ := countDiags(diags)
			return "", "", fmt.Errorf("%v (run authd validate)", configErrors(src, max(errs, 1)))
		}
		path = storePath(cfg, dataDir)
	}
	return path, dataDir, nil
}

// followOnce reads the entries after q.After: a long poll through the
// running server's socket, or one read of the store when no server holds
// it (opened read-only just for the read, so a server can start
// meanwhile). It returns a nil page without error when interrupted or
// when the server went away mid-poll (the next call looks again).
func followOnce(ctx context.Context, path, dataDir string, q admin.AuditQueryArgs) (*audit.Page, bool, error) {
	st, err := boltstore.Open(path, boltstore.Options{ReadOnly: true, LockTimeout: cliLockTimeout})
	if err == nil {
		defer st.Close()
		aq := audit.Query{After: q.After, User: q.User, Realm: q.Realm, Kind: q.Kind}
		if q.Since != "" {
			aq.Since, _ = time.Parse(time.RFC3339Nano, q.Since)
		}
		p, err := audit.QueryKV(st, aq)
		return p, false, err
	}
	var le *boltstore.LockedError
	if !errors.As(err, &le) {
		if errors.Is(err, os.ErrNotExist) {
			return nil, false, nil // moved away for a restore: wait for it
		}
		return nil, false, storeError(path, err)
	}
	cl, err := admin.Dial(filepath.Join(dataDir, admin.SocketName))
	if err != nil {
		return nil, false, nil // the server is starting or stopping
	}
	q.WaitMS = int(admin.MaxFollowWait / time.Millisecond)
	type answer struct {
		page audit.Page
		err  error
	}
	done := make(chan answer, 1)
	go func() {
		var a answer
		a.err = cl.Call("audit.follow", q, &a.page)
		cl.Close()
		done <- a
	}()
	select {
	case <-ctx.Done():
		return nil, true, nil
	case a := <-done:
		if a.err != nil {
			var ae *admin.Error
			if !errors.As(a.err, &ae) {
				return nil, false, nil // the server went away mid-poll
			}
			return nil, true, auditCallError(a.err)
		}
		return &a.page, true, nil
	}
}

// auditCallError explains an older server without the audit ops.
func auditCallError(err error) error {
	var ae *admin.Error
	if errors.As(err, &ae) && ae.Code == admin.CodeUnknownOp {
		return errors.New("the running authd has no audit log (it is older than this authd); upgrade it")
	}
	return err
}

// writeEntry prints one entry: a JSON line, or a text line an operator
// reads (and greps): time, kind, result, realm/user, then key=value.
func writeEntry(w io.Writer, e *audit.Entry, format string) error {
	if format == "json" {
		b, err := json.Marshal(e)
		if err != nil {
			return err
		}
		_, err = w.Write(append(b, '\n'))
		return err
	}
	var b strings.Builder
	b.WriteString(e.Time.UTC().Format(time.RFC3339))
	b.WriteString(" " + e.Kind + " " + e.Result)
	switch {
	case e.Realm != "" && e.User != "":
		b.WriteString(" " + e.Realm + "/" + e.User)
	case e.Realm != "":
		b.WriteString(" " + e.Realm + "/-")
	case e.User != "":
		b.WriteString(" " + e.User)
	}
	kv := func(k, v string) {
		if v == "" {
			return
		}
		if strings.ContainsAny(v, " \t\"=") || v != strings.TrimSpace(v) {
			v = fmt.Sprintf("%q", v)
		}
		b.WriteString(" " + k + "=" + v)
	}
	kv("journey", e.Journey)
	kv("frontend", e.Frontend)
	kv("client", e.Client)
	kv("reason", e.Reason)
	if len(e.Path) > 0 {
		kv("path", strings.Join(e.Path, ">"))
	}
	kv("actor", e.Actor)
	keys := make([]string, 0, len(e.Detail))
	for k := range e.Detail {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		kv(k, e.Detail[k])
	}
	kv("request_id", e.RequestID)
	kv("session", e.Session)
	b.WriteString(fmt.Sprintf(" seq=%d\n", e.Seq))
	_, err := io.WriteString(w, b.String())
	return err
}

// registerAuditOps adds the audit ops of a store no server holds (the CLI
// opening the store itself): reading only, like the server's.
func registerAuditOps(m *admin.Mux, kv store.KV) error {
	l, err := audit.New(kv, audit.Options{})
	if err != nil {
		return err
	}
	(&admin.AuditService{Log: l}).Register(m)
	return nil
}

// auditedLocal wraps a CLI's in-process admin mux so that what it changes
// in a store no server holds is audited like the server's admin calls
// (frontend "cli", actor: this process's uid). Commands that build their
// own local mux (otp, device) should wrap it the same way:
//
//	admin.Local(auditedLocal(mux, st))
func auditedLocal(m *admin.Mux, kv store.KV) admin.Handler {
	l, err := audit.New(kv, audit.Options{})
	if err != nil {
		return m // an unreadable log must not stop the operator; the entry is lost
	}
	return admin.Audited(m, l, "cli")
}
