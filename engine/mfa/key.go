package mfa

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// KeyEnv is the environment variable read for the store key when the
// configuration sets no server.store.encryption_key. It lets a container
// get the key from its secret store without a configuration change.
const KeyEnv = "AUTHD_STORE_KEY"

// KeyFileName is the key file in the data directory used when neither the
// configuration nor the environment gives a key.
const KeyFileName = "store.key"

// MinKeyLen is the shortest key material accepted, in bytes. A key is any
// string of at least this length (`openssl rand -base64 32` gives 44
// characters); it is stretched with HKDF, never used as is.
const MinKeyLen = 32

// Key sources, as ResolveKey reports them (for the start-up log line).
const (
	SourceConfig    = "server.store.encryption_key"
	SourceEnv       = "$" + KeyEnv
	SourceFile      = "key file"
	SourceGenerated = "generated key file"
)

// ResolveKey finds the master key that seals OTP secrets and keys code
// hashes. The first of these wins:
//
//  1. configured, when the configuration sets server.store.encryption_key
//     (configuredSet): it must then be at least MinKeyLen bytes, so an
//     env() that was unset at start-up is an error, not a silent fallback;
//  2. the environment variable $AUTHD_STORE_KEY (through getenv);
//  3. the file dataDir/store.key, created with a random key (mode 0600) if
//     it does not exist. A key file readable by group or others is refused,
//     as ssh refuses such private keys.
//
// The third keeps a quick start encrypted without setup; it protects a
// copied store file (authd backup copies only the store), not a copied data
// directory. Production should give the key from outside the data directory.
// The source names where the key came from, never the key.
func ResolveKey(configured string, configuredSet bool, getenv func(string) string, dataDir string) (key []byte, source string, err error) {
	if configuredSet {
		if err := checkKey(configured); err != nil {
			return nil, "", fmt.Errorf("server.store.encryption_key: %w", err)
		}
		return []byte(configured), SourceConfig, nil
	}
	if getenv == nil {
		getenv = os.Getenv
	}
	if v := getenv(KeyEnv); v != "" {
		if err := checkKey(v); err != nil {
			return nil, "", fmt.Errorf("$%s: %w", KeyEnv, err)
		}
		return []byte(v), SourceEnv, nil
	}
	if dataDir == "" {
		return nil, "", fmt.Errorf("no store key: set server.store.encryption_key or $%s, or give a data directory for %s", KeyEnv, KeyFileName)
	}
	return keyFile(filepath.Join(dataDir, KeyFileName))
}

func checkKey(k string) error {
	if len(k) < MinKeyLen {
		return fmt.Errorf("the key is %d bytes long; it must be at least %d (generate one with: openssl rand -base64 32)", len(k), MinKeyLen)
	}
	return nil
}

// keyFile reads path, or creates it with a fresh key. O_EXCL settles a race
// between two processes creating it: the loser reads the winner's key.
func keyFile(path string) ([]byte, string, error) {
	for try := 0; try < 3; try++ {
		k, err := readKeyFile(path)
		if err == nil {
			return k, SourceFile, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, "", err
		}
		raw := make([]byte, 32)
		if _, err := rand.Read(raw); err != nil {
			return nil, "", fmt.Errorf("generating the store key: %w", err)
		}
		text := base64.StdEncoding.EncodeToString(raw)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, "", fmt.Errorf("store key: %w", err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return nil, "", fmt.Errorf("creating the store key: %w", err)
		}
		_, werr := f.WriteString(text + "\n")
		if serr := f.Sync(); werr == nil {
			werr = serr
		}
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			os.Remove(path)
			return nil, "", fmt.Errorf("writing the store key %s: %w", path, werr)
		}
		return []byte(text), SourceGenerated, nil
	}
	return nil, "", fmt.Errorf("store key %s: created and removed concurrently; try again", path)
}

func readKeyFile(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("store key %s is accessible by group or others (mode %04o); run: chmod 600 %s", path, fi.Mode().Perm(), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the store key: %w", err)
	}
	k := strings.TrimSpace(string(b))
	if err := checkKey(k); err != nil {
		return nil, fmt.Errorf("store key %s: %w", path, err)
	}
	return []byte(k), nil
}

// keyring holds the keys derived from the master key: one seals secrets,
// one keys code hashes, and id tells records sealed under another master
// key apart from damaged ones.
type keyring struct {
	aead cipher.AEAD
	mac  []byte
	id   string
}

func newKeyring(master []byte) (*keyring, error) {
	if len(master) < MinKeyLen {
		return nil, fmt.Errorf("mfa: the store key must be at least %d bytes", MinKeyLen)
	}
	enc, err := hkdf.Key(sha256.New, master, nil, "authd mfa: secret encryption v1", 32)
	if err != nil {
		return nil, err
	}
	mac, err := hkdf.Key(sha256.New, master, nil, "authd mfa: code hashing v1", 32)
	if err != nil {
		return nil, err
	}
	idk, err := hkdf.Key(sha256.New, master, nil, "authd mfa: key id v1", 4)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(enc)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &keyring{aead: aead, mac: mac, id: hex.EncodeToString(idk)}, nil
}

// seal encrypts plain with a random nonce, bound to aad.
func (k *keyring) seal(plain, aad []byte) ([]byte, error) {
	nonce := make([]byte, k.aead.NonceSize(), k.aead.NonceSize()+len(plain)+k.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return k.aead.Seal(nonce, nonce, plain, aad), nil
}

// open decrypts what seal made; any tampering, another aad or another key
// fails.
func (k *keyring) open(sealed, aad []byte) ([]byte, error) {
	n := k.aead.NonceSize()
	if len(sealed) < n+k.aead.Overhead() {
		return nil, errors.New("sealed value too short")
	}
	return k.aead.Open(nil, sealed[:n], sealed[n:], aad)
}

// hash is HMAC-SHA256 of the parts, NUL-separated (no part may contain
// NUL: realm and user names cannot, codes are normalised first).
func (k *keyring) hash(parts ...string) []byte {
	m := hmac.New(sha256.New, k.mac)
	for i, p := range parts {
		if i > 0 {
			m.Write([]byte{0})
		}
		m.Write([]byte(p))
	}
	return m.Sum(nil)
}
