package oauth

import (
	"encoding/json"
	"errors"
	"sort"
	"time"

	"github.com/ory/fosite"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/users"
)

// standardClaims are issued from the user record for the standard scopes,
// besides the relying party's claim blocks.
var standardClaims = []string{
	"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "at_hash",
	"name", "preferred_username", "email", "phone_number",
}

// reservedClaims cannot be set by a claim block: they carry the token's
// own meaning.
var reservedClaims = map[string]bool{
	"iss": true, "sub": true, "aud": true, "exp": true, "iat": true, "nbf": true, "jti": true,
	"auth_time": true, "nonce": true, "acr": true, "amr": true, "azp": true, "at_hash": true,
	"c_hash": true, "rat": true, "sid": true,
}

// errNoUser means the token's user is gone from the realm.
var errNoUser = errors.New("the user no longer exists")

// userClaims computes the claims the granted scopes allow for a user:
// profile, email and phone from the user record, then the relying party's
// claim blocks. A user the store cannot find yields errNoUser.
func (p *Provider) userClaims(c *client, realm, name string, granted fosite.Arguments, req engine.Request, now time.Time) (map[string]any, error) {
	u, err := p.users(realm, name)
	if errors.Is(err, users.ErrNotFound) {
		return nil, errNoUser
	}
	if err != nil {
		p.log.Warn("loading user for claims", "realm", realm, "err", err)
		u = &users.User{Realm: realm, Name: name}
	}
	out := map[string]any{}
	if granted.Has("profile") {
		out["preferred_username"] = u.Name
		if n := u.Attributes["name"]; n != "" {
			out["name"] = n
		}
		for _, k := range []string{"given_name", "family_name", "locale", "zoneinfo"} {
			if v := u.Attributes[k]; v != "" {
				out[k] = v
			}
		}
	}
	if granted.Has("email") && u.Email != "" {
		out["email"] = u.Email
		if v := u.Attributes["email_verified"]; v == "true" || v == "false" {
			out["email_verified"] = v == "true"
		}
	}
	if granted.Has("phone") && u.Phone != "" {
		out["phone_number"] = u.Phone
	}
	if c == nil || len(c.cfg.Claims) == 0 {
		return out, nil
	}
	ectx := engine.RuntimeEvalContext(engine.UserValue(u.Name, u, nil), engine.RequestValue(&req), cty.EmptyObjectVal, now.UTC().Format(time.RFC3339))
	for _, cl := range c.cfg.Claims {
		if reservedClaims[cl.Name] || cl.Value == nil {
			continue
		}
		scope := cl.Scope
		if scope == "" {
			scope = "openid"
		}
		if !granted.Has(scope) {
			continue
		}
		v, diags := cl.Value.Value(ectx)
		if diags.HasErrors() {
			p.log.Warn("evaluating a claim", "client", c.cfg.ID, "claim", cl.Name, "err", diags.Error())
			continue
		}
		if v.IsNull() || !v.IsWhollyKnown() {
			continue
		}
		raw, err := ctyjson.Marshal(v, v.Type())
		if err != nil {
			p.log.Warn("encoding a claim", "client", c.cfg.ID, "claim", cl.Name, "err", err)
			continue
		}
		out[cl.Name] = json.RawMessage(raw)
	}
	return out, nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
