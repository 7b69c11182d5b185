package engine_test

import (
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/users"
)

func TestVariableBuilders(t *testing.T) {
	alice := &users.User{Name: "alice", Email: "a@example.com", Groups: []string{"vpn"}, Attributes: map[string]string{"dept": "ops"}}
	cases := []struct {
		name string
		val  cty.Value
		path string
		want cty.Value
	}{
		{"user groups", engine.UserValue("alice", alice, nil), "groups", cty.ListVal([]cty.Value{cty.StringVal("vpn")})},
		{"attribute kept", engine.UserValue("alice", alice, []string{"dept"}), "attributes", cty.MapVal(map[string]cty.Value{"dept": cty.StringVal("ops")})},
		{"attribute read but missing is empty", engine.UserValue("alice", alice, []string{"mfa_opt_out"}), "attributes",
			cty.MapVal(map[string]cty.Value{"dept": cty.StringVal("ops"), "mfa_opt_out": cty.StringVal("")})},
		{"no account: name only", engine.UserValue("bob", nil, nil), "email", cty.StringVal("")},
		{"no account: read attributes empty", engine.UserValue("bob", nil, []string{"k"}), "attributes", cty.MapVal(map[string]cty.Value{"k": cty.StringVal("")})},
		{"request without RADIUS", engine.RequestValue(&engine.Request{Protocol: "api"}), "radius",
			cty.ObjectVal(map[string]cty.Value{"nas_identifier": cty.StringVal(""), "nas_ip": cty.StringVal(""), "calling_station_id": cty.StringVal("")})},
		{"request scopes", engine.RequestValue(&engine.Request{OAuth: &engine.OAuthInfo{ClientID: "app", Scopes: []string{"openid"}}}), "oauth",
			cty.ObjectVal(map[string]cty.Value{"client_id": cty.StringVal("app"), "scopes": cty.ListVal([]cty.Value{cty.StringVal("openid")})})},
		{"unwritten state key is null", engine.StateValue(nil, []string{"k"}), "k", cty.NullVal(cty.DynamicPseudoType)},
		{"written state wins", engine.StateValue(map[string]cty.Value{"k": cty.True}, []string{"k"}), "k", cty.True},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.val.GetAttr(tc.path); !got.RawEquals(tc.want) {
				t.Errorf("%s = %#v, want %#v", tc.path, got, tc.want)
			}
		})
	}
}
