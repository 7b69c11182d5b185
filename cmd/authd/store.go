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

// openAdmin finds the configuration (for the store path and the realms),
// then opens the store directly, or, when a running authd holds it, dials
// that server's admin socket. readOnly commands fail on a missing store
// instead of creating one.
func (c *cli) openAdmin(configFlag, dataFlag string, readOnly bool) (*adminTarget, error) {
	src, found, err := c.findConfig(nil, configFlag)
	if err != nil {
		return nil, err
	}
	data := c.dataDir(dataFlag)
	var (
		realms func() []string
		loaded *dsl.Config
	)
	path := storePath(nil, data)
	if found {
		// Admin commands read the configuration for realm names and the
		// store path only: secrets named by env() need not be set.
		cfg, diags, _ := c.loadConfig(src, dsl.Options{})
		if diags.HasErrors() || cfg == nil {
			errs, _ := countDiags(diags)
			return nil, fmt.Errorf("%v (run authd validate)", configErrors(src, max(errs, 1)))
		}
		names := realmNames(cfg)
		realms = func() []string { return append([]string(nil), names...) }
		path = storePath(cfg, data)
		loaded = cfg
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
		return &adminTarget{Caller: cl, remote: true, close: func() { cl.Close() }}, nil
	}
	mux := admin.NewMux()
	(&admin.UserService{Repo: users.NewRepo(st), Realms: realms}).Register(mux)
	registerStoreOps(mux, st)
	registerKeyOps(mux, st, rotateOffline(st, loaded))
	if err := registerAuditOps(mux, st); err != nil {
		st.Close()
		return nil, err
	}
	return &adminTarget{Caller: admin.Local(auditedLocal(mux, st)), close: func() { st.Close() }, unchecked: !found}, nil
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
