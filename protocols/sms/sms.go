// Package sms delivers one-time codes by text message: the gateways behind
// the sms_gateway blocks (twilio, webhook, log), each an engine.SMSSender.
//
// A message body holds a code, so no error, log line or panic of this
// package contains it: gateway errors are reported by status and the
// provider's error code, with any echo of the body cut out. The log gateway
// is the one exception by design: it exists to print codes on a developer's
// machine, warns at start-up, and `authd validate -strict` refuses it.
package sms

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/authd/authd/dsl"
	"github.com/authd/authd/engine"
)

// DefaultTimeout bounds one delivery: a journey step waits for it, and a
// RADIUS client gives up after a few seconds.
const DefaultTimeout = 10 * time.Second

// DefaultTwilioBaseURL is Twilio's REST API.
const DefaultTwilioBaseURL = "https://api.twilio.com"

// maxResponse bounds what is read of a gateway's answer.
const maxResponse = 64 << 10

// Options tune FromConfig.
type Options struct {
	// Log receives the log gateway's messages and start-up warnings
	// (default slog.Default()).
	Log *slog.Logger
	// Client is the HTTP client of twilio and webhook gateways (default:
	// DefaultTimeout, no redirects).
	Client *http.Client
	// TwilioBaseURL replaces https://api.twilio.com for every twilio
	// gateway (tests point it at smstest.FakeTwilio; a regional edge such
	// as https://api.dublin.ie1.twilio.com works too).
	TwilioBaseURL string
}

// FromConfig builds the configured sms_gateway blocks by name, for
// engine.Services.SMS. It fails when a gateway cannot work (a twilio
// auth_token whose env() is unset), so a server does not start with a
// gateway that would refuse every code.
func FromConfig(cfg *dsl.Config, o Options) (map[string]engine.SMSSender, error) {
	if cfg == nil {
		return nil, errors.New("sms: no configuration")
	}
	log := o.Log
	if log == nil {
		log = slog.Default()
	}
	client := o.Client
	if client == nil {
		client = NewClient()
	}
	out := make(map[string]engine.SMSSender, len(cfg.SMSGateways))
	for name, g := range cfg.SMSGateways {
		switch {
		case g.Twilio != nil:
			s := g.Twilio
			if s.AccountSID == "" || s.AuthToken.Value() == "" || s.From == "" {
				return nil, fmt.Errorf("sms_gateway %q: account_sid, auth_token and from must not be empty", name)
			}
			base := s.BaseURL // the configuration's base_url wins over the option
			if base == "" {
				base = o.TwilioBaseURL
			}
			out[name] = &Twilio{AccountSID: s.AccountSID, AuthToken: s.AuthToken.Value(), From: s.From, BaseURL: base, Client: client}
		case g.Webhook != nil:
			if g.Webhook.URL == "" {
				return nil, fmt.Errorf("sms_gateway %q: url must not be empty", name)
			}
			h := make(map[string]string, len(g.Webhook.Headers))
			for k, v := range g.Webhook.Headers {
				h[k] = v.Value()
			}
			out[name] = &Webhook{URL: g.Webhook.URL, Headers: h, Client: client}
		case g.Log != nil:
			log.Warn("sms_gateway uses the log gateway: one-time codes are written to this log (development only; authd validate -strict refuses it)", "gateway", name)
			out[name] = &Log{Logger: log.With("sms_gateway", name)}
		default:
			return nil, fmt.Errorf("sms_gateway %q: unknown type %q", name, g.Type)
		}
	}
	return out, nil
}

// NewClient is the HTTP client gateways use by default: DefaultTimeout and
// no redirects, so credentials are never sent on to another address.
func NewClient() *http.Client {
	return &http.Client{
		Timeout: DefaultTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// GatewayError is a delivery the gateway refused. It carries the HTTP
// status and the provider's own code and message (never the body sent).
type GatewayError struct {
	Gateway string // "twilio" or "webhook"
	Status  int
	Code    int    // the provider's error code (Twilio's 21211...), 0 if none
	Message string // the provider's message, cleaned of the body
}

func (e *GatewayError) Error() string {
	s := fmt.Sprintf("sms %s: HTTP %d", e.Gateway, e.Status)
	if e.Code != 0 {
		s += fmt.Sprintf(", error %d", e.Code)
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// clean removes any echo of the body (and of a code in it) from a
// provider's message and bounds its length.
func clean(msg, body string) string {
	msg = strings.TrimSpace(msg)
	if body != "" {
		msg = strings.ReplaceAll(msg, body, "[message]")
	}
	for _, f := range strings.FieldsFunc(body, func(r rune) bool { return r < '0' || r > '9' }) {
		if len(f) >= 4 {
			msg = strings.ReplaceAll(msg, f, "[code]")
		}
	}
	if len(msg) > 200 {
		msg = msg[:200] + "..."
	}
	return msg
}

// sendErr wraps a transport error without the request (url.Error quotes
// the URL, which may carry credentials for a webhook).
func sendErr(gateway string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("sms %s: no answer in time", gateway)
	}
	return fmt.Errorf("sms %s: %v", gateway, err)
}

// Twilio sends through Twilio's Messages API: a form POST to
// /2010-04-01/Accounts/{AccountSid}/Messages.json with HTTP basic auth.
type Twilio struct {
	AccountSID string
	AuthToken  string
	// From is the sender: a phone number, or a Messaging Service SID
	// ("MG...") to let Twilio pick one.
	From string
	// BaseURL defaults to DefaultTwilioBaseURL.
	BaseURL string
	// Client defaults to NewClient().
	Client *http.Client
}

// SendSMS implements engine.SMSSender.
func (t *Twilio) SendSMS(ctx context.Context, to, body string) error {
	base := t.BaseURL
	if base == "" {
		base = DefaultTwilioBaseURL
	}
	form := url.Values{"To": {to}, "Body": {body}}
	if strings.HasPrefix(t.From, "MG") {
		form.Set("MessagingServiceSid", t.From)
	} else {
		form.Set("From", t.From)
	}
	endpoint := strings.TrimRight(base, "/") + "/2010-04-01/Accounts/" + url.PathEscape(t.AccountSID) + "/Messages.json"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("sms twilio: bad base URL: %v", err)
	}
	req.SetBasicAuth(t.AccountSID, t.AuthToken)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := client(t.Client).Do(req)
	if err != nil {
		return sendErr("twilio", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if resp.StatusCode/100 == 2 {
		return nil
	}
	var e struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	_ = json.Unmarshal(raw, &e)
	return &GatewayError{Gateway: "twilio", Status: resp.StatusCode, Code: e.Code, Message: clean(e.Message, body)}
}

// Webhook posts {"to": ..., "body": ...} as JSON to an operator's URL,
// for gateways authd has no driver for. Headers carry credentials (an API
// key); Username/Password add HTTP basic auth.
type Webhook struct {
	URL                string
	Headers            map[string]string
	Username, Password string
	// Client defaults to NewClient().
	Client *http.Client
}

// WebhookMessage is the JSON a webhook gateway posts.
type WebhookMessage struct {
	To   string `json:"to"`
	Body string `json:"body"`
}

// SendSMS implements engine.SMSSender: any 2xx answer is a delivery.
func (w *Webhook) SendSMS(ctx context.Context, to, body string) error {
	b, err := json.Marshal(WebhookMessage{To: to, Body: body})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(b))
	if err != nil {
		return errors.New("sms webhook: bad URL")
	}
	for k, v := range w.Headers {
		req.Header.Set(k, v)
	}
	if w.Username != "" || w.Password != "" {
		req.SetBasicAuth(w.Username, w.Password)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client(w.Client).Do(req)
	if err != nil {
		return sendErr("webhook", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if resp.StatusCode/100 == 2 {
		return nil
	}
	return &GatewayError{Gateway: "webhook", Status: resp.StatusCode, Message: clean(firstLine(string(raw)), body)}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

func client(c *http.Client) *http.Client {
	if c != nil {
		return c
	}
	return NewClient()
}

// Log writes each message to the log instead of sending it: development
// only. It is the single place in authd that logs a code, on purpose.
type Log struct {
	Logger *slog.Logger
}

// SendSMS implements engine.SMSSender.
func (l *Log) SendSMS(_ context.Context, to, body string) error {
	lg := l.Logger
	if lg == nil {
		lg = slog.Default()
	}
	lg.Warn("SMS not sent (log gateway, development only)", "to", to, "body", body)
	return nil
}

var (
	_ engine.SMSSender = (*Twilio)(nil)
	_ engine.SMSSender = (*Webhook)(nil)
	_ engine.SMSSender = (*Log)(nil)
)
