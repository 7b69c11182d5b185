package oauth

import (
	"sort"
	"time"

	"github.com/authd/authd/engine/store"
)

// KeyInfo is what an operator may see of a signing key: never the key
// itself, only enough to match it with a token's kid and to know when a
// rotated-out key leaves the JWKS.
type KeyInfo struct {
	KID     string    `json:"kid"`
	Alg     string    `json:"alg"`
	Created time.Time `json:"created"`
	// Retired is when a rotation replaced the key; zero while it signs.
	Retired time.Time `json:"retired,omitzero"`
	// PublishUntil is when a retired key leaves the JWKS; zero with
	// Retired set means it stays (a token it signed never expires).
	PublishUntil time.Time `json:"publish_until,omitzero"`
}

// Signing reports whether the key signs new tokens.
func (k KeyInfo) Signing() bool { return k.Retired.IsZero() }

// ListKeys returns the stored signing keys, the signing ones first, then
// newest first, for `authd keys list`. A store no provider ever ran on has
// none. It needs no store key: only the private keys are sealed, not what
// it reports.
func ListKeys(kv store.KV) ([]KeyInfo, error) {
	recs, err := readKeys(kv)
	if err != nil {
		return nil, err
	}
	out := make([]KeyInfo, 0, len(recs.keys))
	for _, k := range recs.keys {
		out = append(out, KeyInfo{KID: k.KID, Alg: k.Alg, Created: k.Created, Retired: k.Retired, PublishUntil: k.PublishUntil})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Signing() != out[j].Signing() {
			return out[i].Signing()
		}
		if !out[i].Created.Equal(out[j].Created) {
			return out[i].Created.After(out[j].Created)
		}
		return out[i].Alg < out[j].Alg
	})
	return out, nil
}
