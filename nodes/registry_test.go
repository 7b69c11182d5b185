package nodes_test

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/authd/authd/engine"
)

// TestRegistry checks every built-in type is registered completely, with
// the interactivity, front-end limits and facts journeys rely on.
func TestRegistry(t *testing.T) {
	interactive := []string{"credentials", "username", "password", "message", "choice", "otp_or_push", "otp_verify",
		"push_wait", "push_registration", "otp_registration", "mfa_registration_options",
		"get_authenticator_app", "recovery_code_display", "recovery_code_collector", "sms_otp_verify",
		"federated_login"}
	notRadius := []string{"push_registration", "get_authenticator_app", "federated_login", "otp_registration"}
	needUser := []string{"password_check", "otp_or_push", "otp_verify", "otp_registration", "push_sender",
		"push_registration", "mfa_registration_options", "opt_out_mfa", "recovery_code_display",
		"recovery_code_collector", "sms_otp_sender", "sms_otp_verify"}
	needPush := []string{"push_wait", "push_result_verifier"}
	all := []string{"credentials", "username", "password", "password_check", "condition", "set_state",
		"message", "choice", "retry_limit", "inner_journey", "device_profile", "otp_or_push", "otp_verify",
		"otp_registration", "push_sender", "push_wait", "push_result_verifier", "push_registration",
		"mfa_registration_options", "get_authenticator_app", "opt_out_mfa", "recovery_code_display",
		"recovery_code_collector", "sms_otp_sender", "sms_otp_verify", "federated_login"}
	for _, name := range all {
		t.Run(name, func(t *testing.T) {
			nt := nodeType(t, name)
			if nt.Summary == "" || nt.Config == nil || nt.Provides == nil || nt.StateKeys == nil {
				t.Fatalf("incomplete registration: %+v", nt)
			}
			cfg := nt.Config()
			if cfg == nil {
				t.Fatal("Config returned nil")
			}
			if len(nt.Outcomes(cfg)) == 0 && name != "choice" { // choice needs options
				t.Error("no outcomes with default settings")
			}
			if got, want := nt.Interactive, slices.Contains(interactive, name); got != want {
				t.Errorf("Interactive = %v, want %v", got, want)
			}
			if got, want := slices.Contains(nt.NotOver, engine.FrontendRADIUS), slices.Contains(notRadius, name); got != want {
				t.Errorf("NotOver radius = %v, want %v", got, want)
			}
			if got, want := slices.Contains(nt.Requires, engine.FactUser), slices.Contains(needUser, name); got != want {
				t.Errorf("Requires user = %v, want %v", got, want)
			}
			if got, want := slices.Contains(nt.Requires, engine.FactPushSent), slices.Contains(needPush, name); got != want {
				t.Errorf("Requires push_sent = %v, want %v", got, want)
			}
			// The functions dsl calls must cope with any settings value.
			for _, c := range []any{cfg, nil, struct{}{}} {
				_ = nt.Outcomes(c)
				_ = nt.StateKeys(c)
				for _, o := range nt.Outcomes(cfg) {
					_ = nt.Provides(c, o)
				}
				if nt.Warnings != nil {
					_ = nt.Warnings(c)
				}
			}
			if _, err := nt.New(struct{}{}); err == nil {
				t.Error("New accepted settings of the wrong type")
			}
		})
	}
	if got := len(engine.NodeTypes()); got < len(all) {
		t.Errorf("%d types registered, want at least %d", got, len(all))
	}
}

// TestProvides checks the facts the graph checks rely on.
func TestProvides(t *testing.T) {
	cases := []struct {
		typ     string
		outcome engine.Outcome
		want    engine.Fact
	}{
		{"credentials", "next", engine.FactUser},
		{"username", "next", engine.FactUser},
		{"federated_login", "success", engine.FactUser},
		{"push_sender", "sent", engine.FactPushSent},
	}
	for _, c := range cases {
		nt := nodeType(t, c.typ)
		if got := nt.Provides(nt.Config(), c.outcome); !slices.Contains(got, c.want) {
			t.Errorf("%s on %s provides %v, want %s", c.typ, c.outcome, got, c.want)
		}
	}
	nt := nodeType(t, "push_sender")
	if got := nt.Provides(nt.Config(), "not_registered"); len(got) != 0 {
		t.Errorf("push_sender on not_registered provides %v", got)
	}
	nt = nodeType(t, "password")
	if got := nt.Provides(nt.Config(), "next"); len(got) != 0 {
		t.Errorf("password provides %v", got)
	}
}

// TestCatalogue keeps the package documentation's catalogue in step with
// the registry.
func TestCatalogue(t *testing.T) {
	doc, err := os.ReadFile("nodes.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, nt := range engine.NodeTypes() {
		if !strings.Contains(string(doc), "//\t"+nt.Name+" ") {
			t.Errorf("nodes.go's catalogue does not list %s", nt.Name)
		}
	}
}
