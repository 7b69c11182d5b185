package mfa

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestResolveKey(t *testing.T) {
	long := strings.Repeat("k", MinKeyLen)
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	dir := t.TempDir()

	k, src, err := ResolveKey(long, true, env(map[string]string{KeyEnv: long + "env"}), dir)
	if err != nil || string(k) != long || src != SourceConfig {
		t.Errorf("config: %q %s %v", k, src, err)
	}
	// A configured key that is empty (env() unset) is an error, not a fallback.
	if _, _, err := ResolveKey("", true, env(nil), dir); err == nil || !strings.Contains(err.Error(), "encryption_key") {
		t.Errorf("empty configured key: %v", err)
	}
	k, src, err = ResolveKey("", false, env(map[string]string{KeyEnv: long + "env"}), dir)
	if err != nil || string(k) != long+"env" || src != SourceEnv {
		t.Errorf("env: %q %s %v", k, src, err)
	}
	if _, _, err := ResolveKey("", false, env(map[string]string{KeyEnv: "short"}), dir); err == nil || strings.Contains(err.Error(), "short") {
		t.Errorf("short env key: %v", err)
	}

	// The key file is generated once, 0600, and read back after.
	k1, src, err := ResolveKey("", false, env(nil), dir)
	if err != nil || src != SourceGenerated || len(k1) < MinKeyLen {
		t.Fatalf("generated: %s %v", src, err)
	}
	fi, err := os.Stat(filepath.Join(dir, KeyFileName))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode: %v %v", fi.Mode(), err)
	}
	k2, src, err := ResolveKey("", false, env(nil), dir)
	if err != nil || src != SourceFile || string(k2) != string(k1) {
		t.Errorf("read back: %s %v", src, err)
	}
	// A key file others can read is refused.
	os.Chmod(filepath.Join(dir, KeyFileName), 0o644)
	if _, _, err := ResolveKey("", false, env(nil), dir); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("0644 key file: %v", err)
	}
	// A damaged (short) key file is refused.
	os.WriteFile(filepath.Join(dir, KeyFileName), []byte("x\n"), 0o600)
	os.Chmod(filepath.Join(dir, KeyFileName), 0o600)
	if _, _, err := ResolveKey("", false, env(nil), dir); err == nil {
		t.Error("short key file accepted")
	}
	if _, _, err := ResolveKey("", false, env(nil), ""); err == nil {
		t.Error("no source at all accepted")
	}
	// The generated key makes a working repository.
	if _, err := NewRepo(nil, k1); err == nil {
		t.Error("nil store")
	}
}
