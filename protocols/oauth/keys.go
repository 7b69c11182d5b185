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
// The private keys are stored as PKCS#8 in the store file (mode 0600) and
// are never printed or logged.
const bucketKeys = "oauth_keys"

const (
	keyPrefix  = "key/"
	hmacKey    = "hmac"
	algRS256   = "RS256"
	algES256   = "ES256"
	rsaBits    = 2048
	hmacSecLen = 32
)

// storedKey is one signing key as the store keeps it.
type storedKey struct {
	KID     string    `json:"kid"`
	Alg     string    `json:"alg"`
	PKCS8   []byte    `json:"pkcs8"`
	Created time.Time `json:"created"`
	// Retired is when a rotation replaced the key; zero while it signs.
	Retired time.Time `json:"retired,omitzero"`
	// PublishUntil is when a retired key leaves the JWKS: the moment the
	// last token it signed expires. Zero with Retired set means never
	// (some relying party issues JWTs that never expire).
	PublishUntil time.Time `json:"publish_until,omitzero"`
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
// outside the write transaction.
func loadKeys(kv store.KV, now time.Time) (*keyring, []byte, error) {
	stored, secret, err := readKeys(kv)
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
			if newSecret != nil && tx.Get(bucketKeys, []byte(hmacKey)) == nil {
				return tx.Put(bucketKeys, []byte(hmacKey), newSecret)
			}
			return nil
		})
		if err != nil {
			return nil, nil, fmt.Errorf("oauth: storing new keys: %w", err)
		}
		if stored, secret, err = readKeys(kv); err != nil {
			return nil, nil, err
		}
	}
	ring, err := buildRing(stored, now)
	if err != nil {
		return nil, nil, err
	}
	return ring, secret, nil
}

func readKeys(kv store.KV) ([]*storedKey, []byte, error) {
	var (
		out    []*storedKey
		secret []byte
	)
	err := kv.View(func(tx store.Tx) error {
		if v := tx.Get(bucketKeys, []byte(hmacKey)); v != nil {
			secret = append([]byte(nil), v...)
		}
		return tx.ForEach(bucketKeys, []byte(keyPrefix), func(_, v []byte) error {
			sk := new(storedKey)
			if err := json.Unmarshal(v, sk); err != nil {
				return fmt.Errorf("oauth: a stored signing key is unreadable: %w", err)
			}
			out = append(out, sk)
			return nil
		})
	})
	if err != nil {
		return nil, nil, err
	}
	if secret != nil && len(secret) < hmacSecLen {
		return nil, nil, errors.New("oauth: the stored HMAC secret is too short")
	}
	return out, secret, nil
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
func buildRing(keys []*storedKey, now time.Time) (*keyring, error) {
	ring := &keyring{current: map[string]*signingKey{}, byKID: map[string]*signingKey{}}
	sort.Slice(keys, func(i, j int) bool { return keys[i].Created.Before(keys[j].Created) })
	var set jose.JSONWebKeySet
	for _, sk := range keys {
		if !sk.Retired.IsZero() && !sk.PublishUntil.IsZero() && !now.Before(sk.PublishUntil) {
			continue
		}
		p, err := x509.ParsePKCS8PrivateKey(sk.PKCS8)
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
// RotateKeys does both).
func RotateKeys(kv store.KV, keep time.Duration, now time.Time) error {
	fresh := make([]*storedKey, 0, 2)
	for _, alg := range []string{algRS256, algES256} {
		sk, err := generateKey(alg, now)
		if err != nil {
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
		type kv2 struct {
			k []byte
			v *storedKey
		}
		var old []kv2
		err := tx.ForEach(bucketKeys, []byte(keyPrefix), func(k, v []byte) error {
			sk := new(storedKey)
			if err := json.Unmarshal(v, sk); err != nil {
				return fmt.Errorf("oauth: a stored signing key is unreadable: %w", err)
			}
			old = append(old, kv2{append([]byte(nil), k...), sk})
			return nil
		})
		if err != nil {
			return err
		}
		for _, o := range old {
			sk := o.v
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
