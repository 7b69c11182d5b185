package radius

import (
	"bytes"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

func TestDictionariesLoad(t *testing.T) {
	if _, err := loadDict(); err != nil {
		t.Fatal(err)
	}
	names := KnownAttributes()
	for _, want := range []string{
		"Class", "Session-Timeout", "Filter-Id", "Reply-Message", "Framed-IP-Address", "Idle-Timeout",
		"Acct-Interim-Interval", "Framed-Pool", "Tunnel-Private-Group-Id", "Framed-IPv6-Prefix",
		"Fortinet-Group-Name", "Fortinet-Vdom-Name", "Fortinet-Access-Profile", "Fortinet-FAC-Challenge-Code",
		"MS-Primary-DNS-Server", "Cisco-AVPair", "Juniper-Local-User-Name", "PaloAlto-Admin-Role",
	} {
		found := false
		for _, n := range names {
			if n == want {
				found = true
			}
		}
		if !found {
			t.Errorf("KnownAttributes lacks %s", want)
		}
	}
}

func TestCheckAttribute(t *testing.T) {
	strs := cty.ListVal([]cty.Value{cty.StringVal("a"), cty.StringVal("b")})
	ok := []struct {
		name string
		v    cty.Value
	}{
		{"Session-Timeout", cty.NumberIntVal(28800)},
		{"session-timeout", cty.StringVal("28800")}, // names are case-insensitive, digits are a number
		{"Service-Type", cty.StringVal("Framed-User")},
		{"Fortinet-Group-Name", strs},
		{"Fortinet-Group-Name", cty.UnknownVal(cty.List(cty.String))},
		{"Fortinet-Group-Name", cty.UnknownVal(cty.DynamicPseudoType)},
		{"Fortinet-Group-Name", cty.NullVal(cty.String)},
		{"Class", cty.StringVal("0x0102")},
		{"Framed-IP-Address", cty.StringVal("192.0.2.7")},
		{"Framed-IPv6-Prefix", cty.StringVal("2001:db8::/64")},
		{"Tunnel-Type", cty.StringVal("VLAN")},
		{"Tunnel-Private-Group-Id", cty.StringVal("100")},
		{"Cisco-AVPair", cty.TupleVal([]cty.Value{cty.StringVal("shell:priv-lvl=15")})},
		{"Session-Timeout", cty.UnknownVal(cty.Number)},
		{"Filter-Id", cty.NumberIntVal(5)},
	}
	for _, c := range ok {
		if err := CheckAttribute(c.name, c.v); err != nil {
			t.Errorf("%s = %#v: %v", c.name, c.v, err)
		}
	}
	bad := []struct {
		name string
		v    cty.Value
		want string
	}{
		{"Fortinet-Grup-Name", cty.StringVal("x"), `did you mean "Fortinet-Group-Name"`},
		{"Session-Timeout", cty.StringVal("soon"), "whole number"},
		{"Session-Timeout", cty.NumberFloatVal(1.5), "not a whole number"},
		{"Session-Timeout", cty.NumberIntVal(-1), "out of range"},
		{"Session-Timeout", cty.True, "not a value of type bool"},
		{"Session-Timeout", cty.UnknownVal(cty.List(cty.Bool)), "bool"},
		{"Framed-IP-Address", cty.StringVal("2001:db8::1"), "not IPv4"},
		{"Framed-IP-Address", cty.StringVal("nope"), "not an IP address"},
		{"Fortinet-Group-Name", cty.MapValEmpty(cty.String), "not a map"},
		{"Fortinet-Group-Name", cty.StringVal(strings.Repeat("x", 300)), "longer than"},
		{"Fortinet-Group-Name", cty.ListVal([]cty.Value{cty.ListValEmpty(cty.String)}), "nested"},
		{"State", cty.StringVal("x"), "managed by authd"},
		{"Message-Authenticator", cty.StringVal("x"), "computed by authd"},
		{"Proxy-State", cty.StringVal("x"), "copied from the request"},
		{"Tunnel-Password", cty.StringVal("x"), "encrypted"},
		{"MS-MPPE-Send-Key", cty.StringVal("x"), "encrypted"},
		{"Vendor-Specific", cty.StringVal("x"), "vendor"},
		{"Reply-Message", cty.StringVal(""), "empty"},
	}
	for _, c := range bad {
		err := CheckAttribute(c.name, c.v)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s = %#v: got %v, want an error containing %q", c.name, c.v, err, c.want)
		}
	}
}

func TestEncodeReplyAttributes(t *testing.T) {
	avps, err := encodeReplyAttributes(cty.ObjectVal(map[string]cty.Value{
		"Fortinet-Group-Name":     cty.ListVal([]cty.Value{cty.StringVal("vpn"), cty.StringVal("ops")}),
		"Session-Timeout":         cty.NumberIntVal(3600),
		"Tunnel-Type":             cty.StringVal("VLAN"),
		"Tunnel-Private-Group-Id": cty.StringVal("100"),
		"Framed-IPv6-Prefix":      cty.StringVal("2001:db8:1::/48"),
		"Cisco-AVPair":            cty.StringVal("shell:priv-lvl=15"),
	}))
	if err != nil {
		t.Fatal(err)
	}
	var got [][]byte
	for _, a := range avps {
		got = append(got, append([]byte{byte(a.Type)}, a.Attribute...))
	}
	want := [][]byte{
		// keys in order: Cisco-AVPair, Fortinet-Group-Name x2, Framed-IPv6-Prefix, Session-Timeout, Tunnel-*
		append([]byte{26, 0, 0, 0, 9, 1, 19}, "shell:priv-lvl=15"...),
		append([]byte{26, 0, 0, 0x30, 0x44, 1, 5}, "vpn"...),
		append([]byte{26, 0, 0, 0x30, 0x44, 1, 5}, "ops"...),
		{97, 0, 48, 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
		{27, 0, 0, 0x0e, 0x10},
		append([]byte{81}, "100"...),
		{64, 0, 0, 0, 13},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d attributes, want %d: %x", len(got), len(want), got)
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Errorf("attribute %d: %x, want %x", i, got[i], want[i])
		}
	}
}

func TestReplyMessagesSplit(t *testing.T) {
	long := strings.Repeat("é", 200) // 400 bytes
	parts := replyMessages(long)
	if len(parts) != 2 {
		t.Fatalf("%d parts", len(parts))
	}
	joined := ""
	for _, p := range parts {
		if len(p.Attribute) > 253 {
			t.Errorf("part of %d bytes", len(p.Attribute))
		}
		joined += string(p.Attribute)
	}
	if joined != long {
		t.Error("split changed the text")
	}
}
