package nodes_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/store/memstore"
	"github.com/authd/authd/engine/users"
	"github.com/authd/authd/nodes"
)

func TestSMSOTPSenderSettings(t *testing.T) {
	if cfg := mustDecode(t, "sms_otp_sender", ``).(*nodes.SMSOTPSenderConfig); cfg.MaxResends != 3 || cfg.CodeTTL != "5m" || cfg.Message != nil {
		t.Errorf("defaults %+v", cfg)
	}
	wantOutcomes(t, "sms_otp_sender", ``, "sent,no_phone,failure")
	build(t, "sms_otp_sender", "message = { en = \"{code} is your code\", fr = \"Code : {code}\" }\nmax_resends = 0\ncode_ttl = \"10m\"\n")
	buildErr(t, "sms_otp_sender", `message = { en = "your code" }`, "message")
	buildErr(t, "sms_otp_sender", `max_resends = 11`, "max_resends")
	buildErr(t, "sms_otp_sender", `code_ttl = "0"`, "code_ttl")
	buildErr(t, "sms_otp_sender", `code_ttl = "1d"`, "code_ttl")
}

// TestSMSOTPSenderWiring: a realm without a gateway, or a gateway the
// server did not build, is a fault that names it.
func TestSMSOTPSenderWiring(t *testing.T) {
	e := newEnv()
	e.session.User = "alice"
	e.svc.KV = memstore.New()
	e.svc.Users = users.NewRepo(e.svc.KV)
	e.svc.Users.Create(&users.User{Realm: "corp", Name: "alice", Phone: "+15550100"})
	n := build(t, "sms_otp_sender", ``)
	if _, err := n.Process(t.Context(), e.ctx("send", nil)); err == nil || !strings.Contains(err.Error(), "has no sms_gateway") {
		t.Errorf("no gateway: %v", err)
	}
	e.realm.SMSGateway = "tw"
	if _, err := n.Process(t.Context(), e.ctx("send", nil)); err == nil || !strings.Contains(err.Error(), `"tw" is not available`) {
		t.Errorf("gateway not built: %v", err)
	}
}

// TestSMSMessage: the configured text in the request's language, with
// {code} and {{issuer}}; without a message, the code alone.
func TestSMSMessage(t *testing.T) {
	w := newMFAWorld(t)
	w.smsJourney("message = { en = \"{code} is your {{issuer}} code\", fr = \"Code {{issuer}} : {code}\" }", ``)
	fr := engine.Request{Protocol: "api", Locale: "fr-CA,fr;q=0.8"}
	resp, err := w.eng.Start(t.Context(), "corp", "j", fr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.eng.Resume(t.Context(), resp.Session, []engine.Callback{{ID: "username", Value: ptr("alice")}}, fr); err != nil {
		t.Fatal(err)
	}
	msgs := w.tw.Messages()
	code := w.tw.LastCode(alicePhone)
	if len(msgs) != 1 || msgs[0].Body != "Code Example Corp : "+code || msgs[0].From != "+15559999" {
		t.Errorf("messages %+v", msgs)
	}
	w.smsJourney(``, ``)
	w.login("alice")
	if m := w.tw.Messages()[1]; len(m.Body) != 6 || m.Body != w.tw.LastCode(alicePhone) {
		t.Errorf("default message %q, want the code alone", m.Body)
	}
}

// TestSMSSecureMessage: a journey an api_client started carries its secure
// message (where the login comes from): on the line before the code, or
// with the code in its {{code}}.
func TestSMSSecureMessage(t *testing.T) {
	const where = " Device: Windows Chrome, Location: CH, Zurich, Winterthur"
	tests := []struct {
		name, secure, want string // want: %s is the code
	}{
		{"before the text", "Log in to the portal" + where, "Log in to the portal" + where + "\n%s is your code"},
		{"code placeholder", "Your login code is {{code}}." + where, "Your login code is %s." + where},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newMFAWorld(t)
			w.smsJourney("message = { en = \"{code} is your code\" }", ``)
			resp, err := w.eng.Start(t.Context(), "corp", "j", engine.Request{Protocol: "api", Message: tc.secure})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.eng.Resume(t.Context(), resp.Session, []engine.Callback{{ID: "username", Value: ptr("alice")}}, engine.Request{Protocol: "api"}); err != nil {
				t.Fatal(err)
			}
			msgs := w.tw.Messages()
			if want := fmt.Sprintf(tc.want, w.tw.LastCode(alicePhone)); len(msgs) != 1 || msgs[0].Body != want {
				t.Errorf("messages %+v; want the body %q", msgs, want)
			}
		})
	}
}
