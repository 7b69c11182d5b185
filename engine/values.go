package engine

import (
	"github.com/zclconf/go-cty/cty"

	"github.com/authd/authd/engine/users"
)

// The builders of runtime-expression variables. Nodes get them through
// Context.EvalContext; front ends that evaluate expressions outside a node
// (RADIUS policy conditions and reply attributes, OAuth claims) call them
// directly, so `user`, `request` and `state` mean the same everywhere.

// Values that are the same for every request, built once.
var (
	emptyString = cty.StringVal("")
	emptyList   = cty.ListValEmpty(cty.String)
	emptyMap    = cty.MapValEmpty(cty.String)
	emptyOAuth  = cty.ObjectVal(map[string]cty.Value{"client_id": emptyString, "scopes": emptyList})
	emptyRADIUS = cty.ObjectVal(map[string]cty.Value{
		"nas_identifier": emptyString, "nas_ip": emptyString, "calling_station_id": emptyString,
	})
)

func ctyString(s string) cty.Value {
	if s == "" {
		return emptyString
	}
	return cty.StringVal(s)
}

func ctyStrings(ss []string) cty.Value {
	if len(ss) == 0 {
		return emptyList
	}
	vs := make([]cty.Value, len(ss))
	for i, s := range ss {
		vs[i] = cty.StringVal(s)
	}
	return cty.ListVal(vs)
}

// UserValue is the `user` variable for the user called name; u may be nil
// (no such account, or not loaded). attributeKeys are the attributes the
// expressions read (Journey.AttributeKeys): missing ones read as "".
func UserValue(name string, u *users.User, attributeKeys []string) cty.Value {
	email, phone := "", ""
	groups, attrs := emptyList, emptyMap
	var have map[string]string
	if u != nil {
		email, phone, have = u.Email, u.Phone, u.Attributes
		groups = ctyStrings(u.Groups)
	}
	if len(have) > 0 || len(attributeKeys) > 0 {
		m := make(map[string]cty.Value, len(have)+len(attributeKeys))
		for _, k := range attributeKeys {
			m[k] = emptyString
		}
		for k, v := range have {
			m[k] = cty.StringVal(v)
		}
		attrs = cty.MapVal(m)
	}
	return cty.ObjectVal(map[string]cty.Value{
		"name":       ctyString(name),
		"email":      ctyString(email),
		"phone":      ctyString(phone),
		"groups":     groups,
		"attributes": attrs,
	})
}

// RequestValue is the `request` variable for r.
func RequestValue(r *Request) cty.Value {
	rad, oa := emptyRADIUS, emptyOAuth
	if r.RADIUS != nil {
		rad = cty.ObjectVal(map[string]cty.Value{
			"nas_identifier":     ctyString(r.RADIUS.NASIdentifier),
			"nas_ip":             ctyString(r.RADIUS.NASIP),
			"calling_station_id": ctyString(r.RADIUS.CallingStationID),
		})
	}
	if r.OAuth != nil {
		oa = cty.ObjectVal(map[string]cty.Value{
			"client_id": ctyString(r.OAuth.ClientID),
			"scopes":    ctyStrings(r.OAuth.Scopes),
		})
	}
	return cty.ObjectVal(map[string]cty.Value{
		"protocol":   ctyString(r.Protocol),
		"client_ip":  ctyString(r.ClientIP),
		"user_agent": ctyString(r.UserAgent),
		"locale":     ctyString(r.Locale),
		"radius":     rad,
		"oauth":      oa,
	})
}

// StateValue is the `state` variable: the shared state as an object, where
// keys (Journey.StateKeys, the keys some node may write) read as null until
// written.
func StateValue(state map[string]cty.Value, keys []string) cty.Value {
	m := make(map[string]cty.Value, len(keys)+len(state))
	for _, k := range keys {
		m[k] = cty.NullVal(cty.DynamicPseudoType)
	}
	for k, v := range state {
		m[k] = v
	}
	return cty.ObjectVal(m)
}
