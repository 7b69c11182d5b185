package oauth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v3"
	"golang.org/x/crypto/cryptobyte"
	casn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/authd/authd/engine/store"
)

// bucketKeys holds the signing keys and the HMAC secret of opaque tokens.
// With a Sealer (authd run always gives one) the private keys (PKCS#8) and
// the secret are sealed under the store key, like OTP secrets, so a copy of
// the store or of a backup without the key cannot forge tokens; the
// metadata (kid, algorithm, times) stays readable for `authd keys list`.
// Neither is ever printed or logged.
const bucketKeys = "oauth_keys"

const (
	keyPrefix = "key/"
	// hmacKey holds the HMAC secret in clear: what builds before sealing
	// wrote, and what a provider without a Sealer still writes.
	hmacKey = "hmac"
	// hmacSealedKey holds the sealed HMAC secret (a sealedSecret). It is a
	// key of its own, not a new format under hmacKey, because the clear
	// secret is raw random bytes that no format marker could be told apart
	// from.
	hmacSealedKey = "hmac_sealed"
	algRS256      = "RS256"
	algES256      = "ES256"
	rsaBits       = 2048
	hmacSecLen    = 32
)

// Sealer seals secrets under the store key: *mfa.Repo, whose key
// (server.store.encryption_key, $AUTHD_STORE_KEY or DATA/store.key) seals
// the OTP secrets too. purpose binds a sealed value to its record. KeyID
// names the key without revealing it, so that a store sealed under another
// key is reported as such rather than as damaged.
type Sealer interface {
	Seal(purpose string, plain []byte) ([]byte, error)
	Open(purpose string, sealed []byte) ([]byte, error)
	KeyID() string
}

// ErrWrongStoreKey means the signing keys or the HMAC secret were sealed
// under another store key than the one given: the key changed, or the
// store came from another installation.
var ErrWrongStoreKey = errors.New("sealed with another store key")

// errNoSealer is returned when sealed keys are read without a store key.
var errNoSealer = errors.New("the OAuth keys are sealed with the store key, but no store key was given")

// storedKey is one signing key as the store keeps it: PKCS8 in clear (a
// store from before sealing, or a provider without a Sealer), or Sealed
// with the id of the store key that sealed it.
type storedKey struct {
	KID       string    `json:"kid"`
	Alg       string    `json:"alg"`
	PKCS8     []byte    `json:"pkcs8,omitempty"`
	Sealed    []byte    `json:"sealed,omitempty"`
	SealKeyID string    `json:"seal_key_id,omitempty"`
	Created   time.Time `json:"created"`
	// Retired is when a rotation replaced the key; zero while it signs.
	Retired time.Time `json:"retired,omitzero"`
	// PublishUntil is when a retired key leaves the JWKS: the moment the
	// last token it signed expires. Zero with Retired set means never
	// (some relying party issues JWTs that never expire).
	PublishUntil time.Time `json:"publish_until,omitzero"`
}

// sealedSecret is the HMAC secret as hmacSealedKey keeps it.
type sealedSecret struct {
	Sealed []byte `json:"sealed"`
	KeyID  string `json:"key_id"`
}

func keyPurpose(kid string) string { return bucketKeys + "/" + keyPrefix + kid }

const hmacPurpose = bucketKeys + "/" + hmacKey

// seal replaces a clear PKCS8 with its sealed form; without a Sealer, or
// when already sealed, it leaves sk alone.
func (sk *storedKey) seal(s Sealer) error {
	if s == nil || sk.PKCS8 == nil {
		return nil
	}
	sealed, err := s.Seal(keyPurpose(sk.KID), sk.PKCS8)
	if err != nil {
		return fmt.Errorf("oauth: sealing signing key %s: %w", sk.KID, err)
	}
	sk.Sealed, sk.SealKeyID, sk.PKCS8 = sealed, s.KeyID(), nil
	return nil
}

// pkcs8 returns the private key's DER, opening it if sealed.
func (sk *storedKey) pkcs8(s Sealer) ([]byte, error) {
	if sk.Sealed == nil {
		return sk.PKCS8, nil
	}
	return openSealed(s, keyPurpose(sk.KID), sk.Sealed, sk.SealKeyID, "signing key "+sk.KID)
}

func openSealed(s Sealer, purpose string, sealed []byte, keyID, what string) ([]byte, error) {
	if s == nil {
		return nil, fmt.Errorf("oauth: %s: %w", what, errNoSealer)
	}
	if keyID != "" && keyID != s.KeyID() {
		return nil, fmt.Errorf("oauth: %s was %w (key id %s, this key's id %s): start with the store key it was sealed with (server.store.encryption_key, $AUTHD_STORE_KEY or DATA/store.key)", what, ErrWrongStoreKey, keyID, s.KeyID())
	}
	plain, err := s.Open(purpose, sealed)
	if err != nil {
		return nil, fmt.Errorf("oauth: %s cannot be unsealed (damaged, or sealed with another store key): %w", what, err)
	}
	return plain, nil
}

// keyRecords is the oauth_keys bucket as read, nothing opened yet.
type keyRecords struct {
	keys        []*storedKey
	plainSecret []byte        // hmacKey
	sealed      *sealedSecret // hmacSealedKey
}

// unsealed reports whether a record holds a secret in clear.
func (r *keyRecords) unsealed() bool {
	if r.plainSecret != nil {
		return true
	}
	for _, k := range r.keys {
		if k.PKCS8 != nil {
			return true
		}
	}
	return false
}

// secret returns the HMAC secret, nil if none is stored. The sealed one
// wins over a clear one left beside it.
func (r *keyRecords) secret(s Sealer) ([]byte, error) {
	var secret []byte
	switch {
	case r.sealed != nil:
		var err error
		if secret, err = openSealed(s, hmacPurpose, r.sealed.Sealed, r.sealed.KeyID, "the HMAC secret of opaque tokens"); err != nil {
			return nil, err
		}
	case r.plainSecret != nil:
		secret = r.plainSecret
	default:
		return nil, nil
	}
	if len(secret) < hmacSecLen {
		return nil, errors.New("oauth: the stored HMAC secret is too short")
	}
	return secret, nil
}

// sealStored seals, in the transaction tx, every record still in clear:
// the keys of a store written before sealing. One transaction does it all,
// so a crash leaves either the old clear records or the sealed ones, never
// a key lost between the two.
func sealStored(tx store.Tx, s Sealer) error {
	all, err := keysIn(tx)
	if err != nil {
		return err
	}
	for _, r := range all {
		if r.sk.PKCS8 == nil {
			continue
		}
		if err := r.sk.seal(s); err != nil {
			return err
		}
		raw, err := json.Marshal(r.sk)
		if err != nil {
			return err
		}
		if err := tx.Put(bucketKeys, r.k, raw); err != nil {
			return err
		}
	}
	plain := tx.Get(bucketKeys, []byte(hmacKey))
	if plain == nil {
		return nil
	}
	if tx.Get(bucketKeys, []byte(hmacSealedKey)) == nil {
		if err := putSealedSecret(tx, s, plain); err != nil {
			return err
		}
	}
	return tx.Delete(bucketKeys, []byte(hmacKey))
}

// keyRec is a stored signing key with its store key, read in a write
// transaction to be rewritten.
type keyRec struct {
	k  []byte
	sk *storedKey
}

// keysIn reads the signing keys in tx, copied out of the transaction's
// memory so they can be rewritten after the iteration.
func keysIn(tx store.Tx) ([]keyRec, error) {
	var out []keyRec
	err := tx.ForEach(bucketKeys, []byte(keyPrefix), func(k, v []byte) error {
		sk := new(storedKey)
		if err := json.Unmarshal(v, sk); err != nil {
			return fmt.Errorf("oauth: a stored signing key is unreadable: %w", err)
		}
		out = append(out, keyRec{append([]byte(nil), k...), sk})
		return nil
	})
	return out, err
}

func putSealedSecret(tx store.Tx, s Sealer, secret []byte) error {
	sealed, err := s.Seal(hmacPurpose, secret)
	if err != nil {
		return fmt.Errorf("oauth: sealing the HMAC secret: %w", err)
	}
	raw, err := json.Marshal(sealedSecret{Sealed: sealed, KeyID: s.KeyID()})
	if err != nil {
		return err
	}
	return tx.Put(bucketKeys, []byte(hmacSealedKey), raw)
}

// signingKey is a loaded key.
type signingKey struct {
	kid     string
	alg     string
	priv    crypto.Signer
	created time.Time
	retired time.Time
	until   time.Time
}

// keyring is the provider's view of the keys: the current key per
// algorithm and every key still published.
type keyring struct {
	mu      sync.RWMutex
	current map[string]*signingKey // by alg
	byKID   map[string]*signingKey
	jwks    []byte
}

func (k *keyring) signer(alg string) *signingKey {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.current[alg]
}

func (k *keyring) lookup(kid string) *signingKey {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.byKID[kid]
}

// JWKS returns the published key set as JSON.
func (k *keyring) JWKS() []byte {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.jwks
}

// loadKeys reads the keys, creating the missing ones (RS256 and ES256
// signing keys, the HMAC secret) on first start. Keys are generated
// outside the write transaction. With a Sealer, new keys are sealed before
// they are stored, and keys a store from before sealing holds in clear are
// sealed here, once, at start (see sealStored).
func loadKeys(kv store.KV, s Sealer, now time.Time) (*keyring, []byte, error) {
	recs, err := readKeys(kv)
	if err != nil {
		return nil, nil, err
	}
	if s != nil && recs.unsealed() {
		if err := kv.Update(func(tx store.Tx) error { return sealStored(tx, s) }); err != nil {
			return nil, nil, fmt.Errorf("oauth: sealing the stored keys: %w", err)
		}
		if recs, err = readKeys(kv); err != nil {
			return nil, nil, err
		}
	}
	stored := recs.keys
	secret, err := recs.secret(s)
	if err != nil {
		return nil, nil, err
	}
	var missing []string
	for _, alg := range []string{algRS256, algES256} {
		if currentOf(stored, alg) == nil {
			missing = append(missing, alg)
		}
	}
	if len(missing) > 0 || secret == nil {
		var fresh []*storedKey
		for _, alg := range missing {
			sk, err := generateKey(alg, now)
			if err != nil {
				return nil, nil, err
			}
			if err := sk.seal(s); err != nil {
				return nil, nil, err
			}
			fresh = append(fresh, sk)
		}
		var newSecret []byte
		if secret == nil {
			newSecret = make([]byte, hmacSecLen)
			if _, err := rand.Read(newSecret); err != nil {
				return nil, nil, err
			}
		}
		err := kv.Update(func(tx store.Tx) error {
			for _, sk := range fresh {
				raw, err := json.Marshal(sk)
				if err != nil {
					return err
				}
				if err := tx.Put(bucketKeys, []byte(keyPrefix+sk.KID), raw); err != nil {
					return err
				}
			}
			if newSecret == nil || tx.Get(bucketKeys, []byte(hmacKey)) != nil || tx.Get(bucketKeys, []byte(hmacSealedKey)) != nil {
				return nil
			}
			if s != nil {
				return putSealedSecret(tx, s, newSecret)
			}
			return tx.Put(bucketKeys, []byte(hmacKey), newSecret)
		})
		if err != nil {
			return nil, nil, fmt.Errorf("oauth: storing new keys: %w", err)
		}
		if recs, err = readKeys(kv); err != nil {
			return nil, nil, err
		}
		stored = recs.keys
		if secret, err = recs.secret(s); err != nil {
			return nil, nil, err
		}
	}
	ring, err := buildRing(stored, s, now)
	if err != nil {
		return nil, nil, err
	}
	return ring, secret, nil
}

// readKeys reads the bucket without opening anything, so that ListKeys
// needs no store key.
func readKeys(kv store.KV) (*keyRecords, error) {
	recs := new(keyRecords)
	err := kv.View(func(tx store.Tx) error {
		if v := tx.Get(bucketKeys, []byte(hmacKey)); v != nil {
			recs.plainSecret = append([]byte(nil), v...)
		}
		if v := tx.Get(bucketKeys, []byte(hmacSealedKey)); v != nil {
			recs.sealed = new(sealedSecret)
			if err := json.Unmarshal(v, recs.sealed); err != nil {
				return fmt.Errorf("oauth: the stored HMAC secret is unreadable: %w", err)
			}
		}
		all, err := keysIn(tx)
		for _, r := range all {
			recs.keys = append(recs.keys, r.sk)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return recs, nil
}

func currentOf(keys []*storedKey, alg string) *storedKey {
	var best *storedKey
	for _, k := range keys {
		if k.Alg == alg && k.Retired.IsZero() && (best == nil || k.Created.After(best.Created)) {
			best = k
		}
	}
	return best
}

func generateKey(alg string, now time.Time) (*storedKey, error) {
	var (
		priv crypto.Signer
		err  error
	)
	switch alg {
	case algRS256:
		priv, err = rsa.GenerateKey(rand.Reader, rsaBits)
	case algES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		return nil, fmt.Errorf("oauth: unsupported key algorithm %s", alg)
	}
	if err != nil {
		return nil, fmt.Errorf("oauth: generating a %s key: %w", alg, err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	jwk := jose.JSONWebKey{Key: priv.Public(), Algorithm: alg, Use: "sig"}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, err
	}
	return &storedKey{KID: base64.RawURLEncoding.EncodeToString(tp[:12]), Alg: alg, PKCS8: der, Created: now.UTC()}, nil
}

// buildRing loads the published keys: every key not retired, and retired
// ones until their PublishUntil.
func buildRing(keys []*storedKey, s Sealer, now time.Time) (*keyring, error) {
	ring := &keyring{current: map[string]*signingKey{}, byKID: map[string]*signingKey{}}
	sort.Slice(keys, func(i, j int) bool { return keys[i].Created.Before(keys[j].Created) })
	var set jose.JSONWebKeySet
	for _, sk := range keys {
		if !sk.Retired.IsZero() && !sk.PublishUntil.IsZero() && !now.Before(sk.PublishUntil) {
			continue
		}
		der, err := sk.pkcs8(s)
		if err != nil {
			return nil, err
		}
		p, err := x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			return nil, fmt.Errorf("oauth: signing key %s is unreadable: %w", sk.KID, err)
		}
		signer, ok := p.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("oauth: signing key %s is not a signing key", sk.KID)
		}
		k := &signingKey{kid: sk.KID, alg: sk.Alg, priv: signer, created: sk.Created, retired: sk.Retired, until: sk.PublishUntil}
		ring.byKID[k.kid] = k
		if sk.Retired.IsZero() {
			ring.current[k.alg] = k
		}
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: signer.Public(), KeyID: k.kid, Algorithm: k.alg, Use: "sig"})
	}
	for _, alg := range []string{algRS256, algES256} {
		if ring.current[alg] == nil {
			return nil, fmt.Errorf("oauth: no current %s signing key", alg)
		}
	}
	raw, err := json.Marshal(set)
	if err != nil {
		return nil, err
	}
	ring.jwks = raw
	return ring, nil
}

// RotateKeys replaces the RS256 and ES256 signing keys with new ones. The
// old keys stop signing at once but stay in the JWKS for keep, the longest
// lifetime of a token they may have signed (negative: forever), so tokens
// already issued still verify. Keys whose time is up are deleted. `authd
// keys rotate` calls it; a running provider must then reload (Provider.
// RotateKeys does both). s is the store key's Sealer (as for Config.Sealer):
// the new keys are sealed with it, and so are old ones still in clear. A
// nil s refuses a store whose keys are sealed rather than add clear keys
// beside them.
func RotateKeys(kv store.KV, s Sealer, keep time.Duration, now time.Time) error {
	fresh := make([]*storedKey, 0, 2)
	for _, alg := range []string{algRS256, algES256} {
		sk, err := generateKey(alg, now)
		if err != nil {
			return err
		}
		if err := sk.seal(s); err != nil {
			return err
		}
		fresh = append(fresh, sk)
	}
	newRaw := make([][]byte, len(fresh))
	for i, sk := range fresh {
		raw, err := json.Marshal(sk)
		if err != nil {
			return err
		}
		newRaw[i] = raw
	}
	return kv.Update(func(tx store.Tx) error {
		old, err := keysIn(tx)
		if err != nil {
			return err
		}
		// Keys sealed under another store key are refused, not joined by
		// new keys under this one: the next start could open only half.
		for _, o := range old {
			switch {
			case o.sk.Sealed == nil:
			case s == nil:
				return fmt.Errorf("oauth: rotating: %w", errNoSealer)
			case o.sk.SealKeyID != s.KeyID():
				return fmt.Errorf("oauth: rotating: signing key %s was %w (key id %s, this key's id %s)", o.sk.KID, ErrWrongStoreKey, o.sk.SealKeyID, s.KeyID())
			}
		}
		if s != nil {
			// Keys still in clear are sealed first, then read again
			// sealed, so the retirement below rewrites them as stored.
			if err := sealStored(tx, s); err != nil {
				return err
			}
			if old, err = keysIn(tx); err != nil {
				return err
			}
		}
		for _, o := range old {
			sk := o.sk
			switch {
			case sk.Retired.IsZero():
				sk.Retired = now.UTC()
				if keep >= 0 {
					sk.PublishUntil = now.Add(keep).UTC()
				}
			case !sk.PublishUntil.IsZero() && !now.Before(sk.PublishUntil):
				if err := tx.Delete(bucketKeys, o.k); err != nil {
					return err
				}
				continue
			default:
				continue
			}
			raw, err := json.Marshal(sk)
			if err != nil {
				return err
			}
			if err := tx.Put(bucketKeys, o.k, raw); err != nil {
				return err
			}
		}
		for i, sk := range fresh {
			if err := tx.Put(bucketKeys, []byte(keyPrefix+sk.KID), newRaw[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

// ---- compact JWS ----

// sign returns a compact JWS of claims with header fields alg, kid and typ
// (plus extra), signed by k.
func (k *signingKey) sign(claims any, typ string, extra map[string]any) (string, error) {
	hdr := map[string]any{}
	for name, v := range extra {
		hdr[name] = v
	}
	hdr["alg"] = k.alg
	hdr["kid"] = k.kid
	if typ != "" {
		hdr["typ"] = typ
	}
	hj, err := json.Marshal(hdr)
	if err != nil {
		return "", err
	}
	cj, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	var sb strings.Builder
	sb.Grow(enc.EncodedLen(len(hj)) + enc.EncodedLen(len(cj)) + 350)
	sb.WriteString(enc.EncodeToString(hj))
	sb.WriteByte('.')
	sb.WriteString(enc.EncodeToString(cj))
	digest := sha256.Sum256([]byte(sb.String()))
	var sig []byte
	switch key := k.priv.(type) {
	case *ecdsa.PrivateKey:
		// SignASN1 is the fast path (the big.Int API costs twice as
		// much); JWS wants r||s, so the DER is unpacked.
		der, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
		if err != nil {
			return "", err
		}
		if sig, err = derToRS(der, 32); err != nil {
			return "", err
		}
	case *rsa.PrivateKey:
		sig, err = rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
		if err != nil {
			return "", err
		}
	default:
		return "", fmt.Errorf("oauth: unsupported key type %T", k.priv)
	}
	sb.WriteByte('.')
	sb.WriteString(enc.EncodeToString(sig))
	return sb.String(), nil
}

// verify checks a compact JWS against the published keys and returns its
// header and payload. Expiry is the caller's business.
func (k *keyring) verify(token string) (map[string]any, []byte, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, nil, errors.New("not a compact JWS")
	}
	enc := base64.RawURLEncoding
	hj, err := enc.DecodeString(parts[0])
	if err != nil {
		return nil, nil, errors.New("malformed JWS header")
	}
	var hdr map[string]any
	if err := json.Unmarshal(hj, &hdr); err != nil {
		return nil, nil, errors.New("malformed JWS header")
	}
	kid, _ := hdr["kid"].(string)
	alg, _ := hdr["alg"].(string)
	key := k.lookup(kid)
	if key == nil || key.alg != alg {
		return nil, nil, errors.New("unknown signing key")
	}
	sig, err := enc.DecodeString(parts[2])
	if err != nil {
		return nil, nil, errors.New("malformed JWS signature")
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	switch pub := key.priv.Public().(type) {
	case *ecdsa.PublicKey:
		if len(sig) != 64 || !ecdsa.Verify(pub, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
			return nil, nil, errors.New("bad signature")
		}
	case *rsa.PublicKey:
		if rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig) != nil {
			return nil, nil, errors.New("bad signature")
		}
	default:
		return nil, nil, errors.New("unsupported key")
	}
	payload, err := enc.DecodeString(parts[1])
	if err != nil {
		return nil, nil, errors.New("malformed JWS payload")
	}
	return hdr, payload, nil
}

// derToRS turns an ASN.1 ECDSA signature into the fixed-size r||s of JWS.
func derToRS(der []byte, size int) ([]byte, error) {
	in := cryptobyte.String(der)
	var seq, r, s cryptobyte.String
	if !in.ReadASN1(&seq, casn1.SEQUENCE) || !in.Empty() ||
		!seq.ReadASN1(&r, casn1.INTEGER) || !seq.ReadASN1(&s, casn1.INTEGER) || !seq.Empty() {
		return nil, errors.New("oauth: malformed ECDSA signature")
	}
	out := make([]byte, 2*size)
	for i, part := range [][]byte{r, s} {
		for len(part) > 0 && part[0] == 0 {
			part = part[1:]
		}
		if len(part) > size {
			return nil, errors.New("oauth: malformed ECDSA signature")
		}
		copy(out[(i+1)*size-len(part):(i+1)*size], part)
	}
	return out, nil
}
