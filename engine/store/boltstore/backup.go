package boltstore

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
)

// Backup writes a consistent copy of the whole store to w while the store
// stays in use (a read transaction: writers are not blocked), and returns
// the bytes written. The copy is itself a store that Open accepts.
func (s *Store) Backup(w io.Writer) (int64, error) {
	var n int64
	err := s.do(s.db.View, func(btx *bolt.Tx) error {
		var err error
		n, err = btx.WriteTo(w)
		if err != nil {
			return fmt.Errorf("backing up store %s: %w", s.path, err)
		}
		return nil
	})
	return n, err
}

// BackupFile writes a backup to path (mode 0600), replacing it atomically
// via a temporary file in the same directory: a crash never leaves a
// half-written backup under the final name.
func (s *Store) BackupFile(path string) (int64, error) {
	if same(path, s.path) {
		return 0, fmt.Errorf("backup %s: that is the live store itself", path)
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return 0, fmt.Errorf("backup %s: %w", path, err)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return 0, fmt.Errorf("backup %s: %w", path, err)
	}
	n, err := s.Backup(f)
	if err != nil {
		return 0, err
	}
	if err := f.Sync(); err != nil {
		return 0, fmt.Errorf("backup %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return 0, fmt.Errorf("backup %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return 0, fmt.Errorf("backup %s: %w", path, err)
	}
	ok = true
	syncDir(dir)
	return n, nil
}

func same(a, b string) bool {
	sa, err := os.Stat(a)
	if err != nil {
		return false
	}
	sb, err := os.Stat(b)
	return err == nil && os.SameFile(sa, sb)
}

// syncDir makes the rename durable; failure only weakens durability, as on
// systems where directories cannot be synced.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	_ = d.Close()
}
