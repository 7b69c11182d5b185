package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/authd/authd/dsl"
	"github.com/authd/authd/engine/store/boltstore"
	"github.com/authd/authd/engine/users"
	"github.com/authd/authd/protocols/admin"
)

// cliLockTimeout is how long an admin command waits for the store's lock
// before it looks for a running server's admin socket instead.
const cliLockTimeout = 300 * time.Millisecond

// openStore opens the bbolt store at path, turning the store's typed
// errors into one-line causes an operator can act on.
func openStore(path string, opts boltstore.Options) (*boltstore.Store, error) {
	st, err := boltstore.Open(path, opts)
	if err != nil {
		return nil, storeError(path, err)
	}
	return st, nil
}

// storeError phrases an error of boltstore.Open for the operator. The
// store's typed errors already name the path and the remedy.
func storeError(path string, err error) error {
	var (
		le *boltstore.LockedError
		ce *boltstore.CorruptError
		se *boltstore.SchemaError
	)
	switch {
	case errors.As(err, &le), errors.As(err, &ce), errors.As(err, &se):
		return errors.New(oneLine(err.Error()))
	case errors.Is(err, os.ErrPermission):
		return fmt.Errorf("store %s: permission denied", path)
	}
	msg := oneLine(err.Error())
	if strings.Contains(msg, path) {
		return errors.New(msg)
	}
	return fmt.Errorf("store %s: %s", path, msg)
}

// adminTarget is where admin commands send their calls: the running
// server's socket, or the store opened by this process.
type adminTarget struct {
	admin.Caller
	remote bool
	close  func()
	// unchecked is set when no configuration was found, so realm names
	// cannot be checked.
	unchecked bool
}

// localOps registers, on a store no server holds, the admin ops a
// command calls; the running server serves the same ops on its socket.
// cfg is nil when no configuration was found, and so is realms (names
// are then not checked).
type localOps func(m *admin.Mux, st *boltstore.Store, cfg *dsl.Config, realms func() []string) error

// openAdmin is openAdminWith for the user, store and audit ops (the keys
// commands open their own: keysCall).
func (c *cli) openAdmin(configFlag, dataFlag string, readOnly bool) (*adminTarget, error) {
	return c.openAdminWith(configFlag, dataFlag, readOnly, func(m *admin.Mux, st *boltstore.Store, _ *dsl.Config, realms func() []string) error {
		(&admin.UserService{Repo: users.NewRepo(st), Realms: realms}).Register(m)
		registerStoreOps(m, st)
		return registerAuditOps(m, st)
	})
}

// openAdminWith finds the configuration (for the store path and the
// realms), then opens the store directly with the ops of register, or,
// when a running authd holds it, dials that server's admin socket. Every
// op that changes something is audited either way. readOnly commands
// fail on a missing store instead of creating one.
func (c *cli) openAdminWith(configFlag, dataFlag string, readOnly bool, register localOps) (*adminTarget, error) {
	src, found, err := c.findConfig(nil, configFlag)
	if err != nil {
		return nil, err
	}
	data := c.dataDir(dataFlag)
	var (
		realms func() []string
		cfg    *dsl.Config
	)
	path := storePath(nil, data)
	if found {
		// Admin commands read the configuration for realm names, the
		// store path and token lifetimes only: secrets named by env()
		// need not be set.
		loaded, diags, _ := c.loadConfig(src, dsl.Options{})
		if diags.HasErrors() || loaded == nil {
			errs, _ := countDiags(diags)
			return nil, fmt.Errorf("%v (run authd validate)", configErrors(src, max(errs, 1)))
		}
		cfg = loaded
		names := realmNames(cfg)
		realms = func() []string { return append([]string(nil), names...) }
		path = storePath(cfg, data)
	}

	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) && readOnly {
		return nil, fmt.Errorf("no store at %s (pass -data, or set $AUTHD_DATA, to use another data directory)", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	st, err := boltstore.Open(path, boltstore.Options{LockTimeout: cliLockTimeout})
	if err != nil {
		var le *boltstore.LockedError
		if !errors.As(err, &le) {
			return nil, storeError(path, err)
		}
		sock := filepath.Join(data, admin.SocketName)
		cl, derr := admin.Dial(sock)
		if derr != nil {
			return nil, fmt.Errorf("%v, and its admin socket does not answer (%v)", storeError(path, err), derr)
		}
		return &adminTarget{Caller: olderServer{cl}, remote: true, close: func() { cl.Close() }}, nil
	}
	mux := admin.NewMux()
	if err := register(mux, st, cfg, realms); err != nil {
		st.Close()
		return nil, err
	}
	return &adminTarget{Caller: admin.Local(auditedLocal(mux, st)), close: func() { st.Close() }, unchecked: !found}, nil
}

// olderServer explains an op a running authd of an older version does
// not serve, instead of "unknown op".
type olderServer struct{ admin.Caller }

func (o olderServer) Call(op string, in, out any) error {
	err := o.Caller.Call(op, in, out)
	var ae *admin.Error
	if errors.As(err, &ae) && ae.Code == admin.CodeUnknownOp {
		return fmt.Errorf("the running authd does not serve %s (an older version?); stop it, or upgrade it", op)
	}
	return err
}

// warnUnchecked says, once the command works on the store itself, that
// realm names cannot be checked; through a server they are.
func (c *cli) warnUnchecked(t *adminTarget, realm string) {
	if t.unchecked {
		fmt.Fprintf(c.stderr, "authd: warning: no configuration found (-config, $AUTHD_CONFIG, *.hcl in .), so realm %q is not checked\n", realm)
	}
}

// registerStoreOps adds the ops that need the store itself.
func registerStoreOps(m *admin.Mux, st *boltstore.Store) {
	m.Handle("store.backup", admin.Typed(func(_ context.Context, a backupArgs) (backupResult, error) {
		if !filepath.IsAbs(a.Path) {
			return backupResult{}, admin.Errorf(admin.CodeInvalid, "backup path %q is not absolute", a.Path)
		}
		n, err := st.BackupFile(a.Path)
		if err != nil {
			return backupResult{}, err
		}
		return backupResult{Bytes: n}, nil
	}))
}

// backupResult is the answer of store.backup.
type backupResult struct {
	Bytes int64 `json:"bytes"`
}

// backupArgs are the arguments of store.backup.
type backupArgs struct {
	Path string `json:"path"`
}
