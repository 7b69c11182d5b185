package sms_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/dsl"
	_ "github.com/authd/authd/nodes"
	"github.com/authd/authd/protocols/sms"
	"github.com/authd/authd/protocols/sms/smstest"
)

func TestTwilio(t *testing.T) {
	f := smstest.NewFakeTwilio("AC123", "tok")
	defer f.Close()
	tw := &sms.Twilio{AccountSID: "AC123", AuthToken: "tok", From: "+15550100", BaseURL: f.URL}
	if err := tw.SendSMS(t.Context(), "+15550123", "Your code is 123456"); err != nil {
		t.Fatal(err)
	}
	msgs := f.Messages()
	if len(msgs) != 1 || msgs[0] != (smstest.Message{To: "+15550123", From: "+15550100", Body: "Your code is 123456"}) {
		t.Errorf("messages %+v", msgs)
	}
	if f.LastCode("+15550123") != "123456" || f.LastCode("+1") != "" {
		t.Error("LastCode")
	}
	// A Messaging Service SID goes as MessagingServiceSid.
	tw.From = "MG0001"
	if err := tw.SendSMS(t.Context(), "+15550123", "x 654321"); err != nil {
		t.Fatal(err)
	}
	if m := f.Messages()[1]; m.MessagingServiceSID != "MG0001" || m.From != "" {
		t.Errorf("messaging service: %+v", m)
	}
}

func TestTwilioErrors(t *testing.T) {
	f := smstest.NewFakeTwilio("AC123", "tok")
	defer f.Close()
	body := "Your code is 987654"
	// Twilio's error (which here echoes the body) is reported without it.
	f.FailNext(400, 21211, "The 'To' number +1555 is not valid: Your code is 987654")
	tw := &sms.Twilio{AccountSID: "AC123", AuthToken: "tok", From: "+15550100", BaseURL: f.URL}
	err := tw.SendSMS(t.Context(), "+1555", body)
	var ge *sms.GatewayError
	if !errors.As(err, &ge) || ge.Status != 400 || ge.Code != 21211 {
		t.Fatalf("error %v", err)
	}
	if strings.Contains(err.Error(), "987654") {
		t.Errorf("error leaks the code: %v", err)
	}
	// Wrong credentials.
	bad := &sms.Twilio{AccountSID: "AC123", AuthToken: "wrong", From: "+15550100", BaseURL: f.URL}
	if err := bad.SendSMS(t.Context(), "+1555", body); !errors.As(err, &ge) || ge.Code != 20003 {
		t.Errorf("bad token: %v", err)
	}
	// An unreachable gateway and a cancelled context fail cleanly.
	down := &sms.Twilio{AccountSID: "AC123", AuthToken: "tok", From: "+1", BaseURL: "http://127.0.0.1:1"}
	if err := down.SendSMS(t.Context(), "+1555", body); err == nil || strings.Contains(err.Error(), "987654") {
		t.Errorf("unreachable: %v", err)
	}
	done := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-done:
		}
	}))
	defer slow.Close()
	defer close(done)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	tw.BaseURL = slow.URL
	if err := tw.SendSMS(ctx, "+1555", body); err == nil || !strings.Contains(err.Error(), "no answer in time") {
		t.Errorf("timeout: %v", err)
	}
	// No redirects are followed (credentials stay where they were sent).
	redir := httptest.NewServer(http.RedirectHandler("http://example.invalid/", http.StatusTemporaryRedirect))
	defer redir.Close()
	tw.BaseURL = redir.URL
	if err := tw.SendSMS(t.Context(), "+1555", body); !errors.As(err, &ge) || ge.Status != http.StatusTemporaryRedirect {
		t.Errorf("redirect: %v", err)
	}
}

func TestWebhook(t *testing.T) {
	var got sms.WebhookMessage
	var hdr http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hdr = r.Header.Clone()
		json.NewDecoder(r.Body).Decode(&got)
		if r.Header.Get("X-Fail") != "" {
			http.Error(w, "quota exceeded for 555111", http.StatusTooManyRequests)
		}
	}))
	defer srv.Close()
	w := &sms.Webhook{URL: srv.URL, Headers: map[string]string{"X-Api-Key": "k1"}, Username: "u", Password: "p"}
	if err := w.SendSMS(t.Context(), "+15550123", "code 555111"); err != nil {
		t.Fatal(err)
	}
	if got.To != "+15550123" || got.Body != "code 555111" || hdr.Get("X-Api-Key") != "k1" || hdr.Get("Content-Type") != "application/json" {
		t.Errorf("posted %+v with %v", got, hdr)
	}
	if u, p, ok := (&http.Request{Header: hdr}).BasicAuth(); !ok || u != "u" || p != "p" {
		t.Error("no basic auth")
	}
	w.Headers["X-Fail"] = "1"
	err := w.SendSMS(t.Context(), "+15550123", "code 555111")
	var ge *sms.GatewayError
	if !errors.As(err, &ge) || ge.Status != 429 || strings.Contains(err.Error(), "555111") {
		t.Errorf("failure: %v", err)
	}
	if err := (&sms.Webhook{URL: "::"}).SendSMS(t.Context(), "+1", "x"); err == nil {
		t.Error("bad URL accepted")
	}
}

func TestLog(t *testing.T) {
	var buf bytes.Buffer
	l := &sms.Log{Logger: slog.New(slog.NewTextHandler(&buf, nil))}
	if err := l.SendSMS(t.Context(), "+15550123", "code 424242"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "424242") || !strings.Contains(buf.String(), "development only") {
		t.Errorf("log: %s", buf.String())
	}
}

const gatewaysHCL = `
realm "corp" { sms_gateway = sms_gateway.tw }
sms_gateway "twilio" "tw" {
  account_sid = "AC123"
  auth_token  = env("TW_TOKEN")
  from        = "+15550100"
}
sms_gateway "webhook" "hook" {
  url     = "https://sms.example.com/send"
  headers = { "X-Api-Key" = env("HOOK_KEY") }
}
sms_gateway "log" "dev" {}
`

func load(t *testing.T, src string, env map[string]string) *dsl.Config {
	t.Helper()
	cfg, diags := dsl.LoadSources(map[string][]byte{"main.hcl": []byte(src)}, t.TempDir(), dsl.Options{
		LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
	})
	if diags.HasErrors() {
		t.Fatalf("load: %s", diags)
	}
	return cfg
}

func TestFromConfig(t *testing.T) {
	f := smstest.NewFakeTwilio("AC123", "secret-token")
	defer f.Close()
	cfg := load(t, gatewaysHCL, map[string]string{"TW_TOKEN": "secret-token", "HOOK_KEY": "hk"})
	var buf bytes.Buffer
	gs, err := sms.FromConfig(cfg, sms.Options{Log: slog.New(slog.NewTextHandler(&buf, nil)), TwilioBaseURL: f.URL})
	if err != nil {
		t.Fatal(err)
	}
	if len(gs) != 3 {
		t.Fatalf("%d gateways", len(gs))
	}
	if err := gs["tw"].SendSMS(t.Context(), "+15550123", "hello 111222"); err != nil {
		t.Fatal(err)
	}
	if len(f.Messages()) != 1 {
		t.Error("twilio gateway did not reach the fake")
	}
	if h, ok := gs["hook"].(*sms.Webhook); !ok || h.Headers["X-Api-Key"] != "hk" || h.URL != "https://sms.example.com/send" {
		t.Errorf("webhook %+v", gs["hook"])
	}
	if _, ok := gs["dev"].(*sms.Log); !ok || !strings.Contains(buf.String(), "development only") {
		t.Errorf("log gateway without a start-up warning: %s", buf.String())
	}
	if strings.Contains(buf.String(), "secret-token") {
		t.Error("a credential reached the log")
	}

	// A twilio token whose env() is unset stops the server from starting.
	cfg = load(t, gatewaysHCL, map[string]string{"HOOK_KEY": "hk"})
	if _, err := sms.FromConfig(cfg, sms.Options{}); err == nil || !strings.Contains(err.Error(), `"tw"`) {
		t.Errorf("unset token: %v", err)
	}
	if _, err := sms.FromConfig(nil, sms.Options{}); err == nil {
		t.Error("nil config accepted")
	}
}
