package radius

import (
	"context"
	"encoding/binary"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"layeh.com/radius"

	"github.com/authd/authd/dsl"
	"github.com/authd/authd/engine"
)

func init() {
	// A node type of our own, so this test needs nothing from nodes/.
	engine.Register(&engine.NodeType{
		Name:     "radiustest_pass",
		Summary:  "passes (radius tests)",
		Outcomes: engine.FixedOutcomes("next"),
		New: func(any) (engine.Node, error) {
			return funcNode(func(_ context.Context, nc *engine.Context) (engine.Result, error) {
				if cr := nc.Request.Credentials; cr != nil {
					nc.SetUser(cr.Username)
				}
				return engine.Next("next"), nil
			}), nil
		},
		Provides: func(any, engine.Outcome) []engine.Fact { return []engine.Fact{engine.FactUser} },
	})
}

const dslSource = `
server {
  radius {
    listen            = "127.0.0.1:0"
    accounting_listen = "127.0.0.1:1813"
  }
}
realm "corp" {
  display_name = "Corp"
}
journey "vpn" {
  realm = realm.corp
  start = node.a
  node "radiustest_pass" "a" { next = success }
}
radius_client "fortigate" {
  address = "127.0.0.1"
  secret  = env("FG_SECRET")
}
radius_client "legacy" {
  address                       = "10.0.0.0/8"
  secret                        = env("FG_SECRET")
  require_message_authenticator = false
  limit_proxy_state             = false
}
radius_policy "vpn" {
  clients = [radius_client.fortigate]
  realm   = realm.corp
  journey = journey.vpn
  when    = request.radius.nas_identifier != "lab"
  reply_attributes = {
    "Session-Timeout"     = 60
    "Fortinet-Group-Name" = [user.name]
  }
}
`

func TestFromDSL(t *testing.T) {
	cfg, diags := dsl.LoadSources(map[string][]byte{"authd.hcl": []byte(dslSource)}, "", dsl.Options{
		LookupEnv: func(k string) (string, bool) { return testSecret, k == "FG_SECRET" },
	})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	rc := FromDSL(cfg)
	if rc.Listen != "127.0.0.1:0" || rc.AccountingListen != "127.0.0.1:1813" || len(rc.Clients) != 2 || len(rc.Policies) != 1 {
		t.Fatalf("FromDSL: %+v", rc)
	}
	fg, legacy := rc.Clients[0], rc.Clients[1]
	if fg.Name != "fortigate" || fg.Network != netip.MustParsePrefix("127.0.0.1/32") || string(fg.Secret) != testSecret ||
		fg.AllowMissingMessageAuthenticator || fg.AllowProxyState {
		t.Errorf("fortigate: %+v", fg)
	}
	if legacy.Network != netip.MustParsePrefix("10.0.0.0/8") || !legacy.AllowMissingMessageAuthenticator || !legacy.AllowProxyState {
		t.Errorf("legacy: %+v", legacy)
	}

	eng := engine.New(engine.Options{KV: newMemKV()})
	eng.Load(cfg.Program)
	srv, err := New(rc, Options{Engine: eng, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(conn)
	defer srv.Shutdown(context.Background())
	e := &env{t: t, eng: eng, srv: srv, addr: conn.LocalAddr().String()}
	r := e.exchange(accessRequest("carol", pw("x")))
	if r.Code != radius.CodeAccessAccept {
		t.Fatalf("got %v", r.Code)
	}
	if v, _ := r.Lookup(27); len(v) != 4 || binary.BigEndian.Uint32(v) != 60 {
		t.Errorf("Session-Timeout %x", v)
	}
	if got := vendorAttrs(r, vendorFortinet, 1); len(got) != 1 || got[0] != "carol" {
		t.Errorf("Fortinet-Group-Name %q", got)
	}
	if r := e.exchange(accessRequest("carol", pw("x"), nasID("lab"))); r.Code != radius.CodeAccessReject {
		t.Errorf("when = false: got %v", r.Code)
	}
}

func TestListenAndServe(t *testing.T) {
	eng := engine.New(engine.Options{KV: newMemKV()})
	eng.Load(testProgram(newPusher()))
	cfg := baseConfig(t)
	cfg.Listen, cfg.AccountingListen = "127.0.0.1:0", "127.0.0.1:0"
	srv, err := New(cfg, Options{Engine: eng, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.ListenAndServe() }()
	time.Sleep(50 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != ErrServerClosed {
			t.Fatalf("ListenAndServe returned %v, want ErrServerClosed", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("ListenAndServe did not return after Shutdown")
	}
}

func TestFromDSLAppendedFactor(t *testing.T) {
	src := dslSource + `
radius_policy "duo" {
  clients         = [radius_client.legacy]
  realm           = realm.corp
  journey         = journey.vpn
  appended_factor = true
}
`
	cfg, diags := dsl.LoadSources(map[string][]byte{"authd.hcl": []byte(src)}, "", dsl.Options{
		LookupEnv: func(k string) (string, bool) { return testSecret, k == "FG_SECRET" },
	})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	rc := FromDSL(cfg)
	if len(rc.Policies) != 2 || rc.Policies[0].Name != "vpn" || rc.Policies[1].Name != "duo" {
		t.Fatalf("policies %+v", rc.Policies)
	}
	if rc.Policies[0].AppendedFactor || !rc.Policies[1].AppendedFactor {
		t.Errorf("AppendedFactor: vpn %v (want the default, false), duo %v (want true)", rc.Policies[0].AppendedFactor, rc.Policies[1].AppendedFactor)
	}
}

// TestReplyAttributesValidated: linking this package in is what makes dsl
// check reply attribute names and values, as authd validate does.
func TestReplyAttributesValidated(t *testing.T) {
	src := strings.Replace(dslSource, `"Session-Timeout"     = 60`, `"Sesion-Timeout" = 60
    "Idle-Timeout" = "soon"`, 1)
	_, diags := dsl.LoadSources(map[string][]byte{"authd.hcl": []byte(src)}, "", dsl.Options{
		LookupEnv: func(k string) (string, bool) { return testSecret, k == "FG_SECRET" },
	})
	var got []string
	for _, d := range diags {
		got = append(got, d.Summary+": "+d.Detail)
	}
	all := strings.Join(got, "\n")
	for _, want := range []string{
		`Unknown RADIUS attribute: radius_policy "vpn" sets "Sesion-Timeout", which none of authd's RADIUS dictionaries defines. Did you mean "Session-Timeout"?`,
		`Invalid reply attribute value: In radius_policy "vpn": attribute "Idle-Timeout" takes a whole number`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("diagnostics lack %q:\n%s", want, all)
		}
	}
}
