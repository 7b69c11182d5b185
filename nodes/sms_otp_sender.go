package nodes

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/mfa"
)

// SMSOTPSenderConfig are the settings of an sms_otp_sender node.
type SMSOTPSenderConfig struct {
	// Message is the localised SMS text; each text must contain {code},
	// and {{user}}/{{issuer}} expand. Without it the SMS is the code alone,
	// which every phone offers to autofill.
	Message map[string]string `hcl:"message,optional"`
	// MaxResends is how many times the code may be sent again (default 3).
	MaxResends int `hcl:"max_resends,optional"`
	// CodeTTL is how long a code is valid (default "5m").
	CodeTTL string `hcl:"code_ttl,optional"`
}

func newSMSOTPSenderConfig() *SMSOTPSenderConfig {
	return &SMSOTPSenderConfig{MaxResends: 3, CodeTTL: "5m"}
}

func init() {
	engine.Register(&engine.NodeType{
		Name:      "sms_otp_sender",
		Summary:   "sends a 6-digit code through the realm's SMS gateway",
		Config:    func() any { return newSMSOTPSenderConfig() },
		Outcomes:  engine.FixedOutcomes("sent", "no_phone", "failure"),
		New:       newSMSOTPSender,
		Requires:  []engine.Fact{engine.FactUser},
		Provides:  providesNothing,
		StateKeys: noStateKeys,
	})
}

func newSMSOTPSender(cfg any) (engine.Node, error) {
	c, err := settings[SMSOTPSenderConfig](cfg)
	if err != nil {
		return nil, err
	}
	var p problems
	checkLocalized("message", c.Message, &p)
	for _, lang := range sortedKeys(c.Message) {
		if !strings.Contains(c.Message[lang], "{code}") {
			p.add("message", "the %s text does not contain {code}", lang)
		}
	}
	checkRange(&p, "max_resends", c.MaxResends, 0, 10)
	ttl, terr := durationSetting("code_ttl", c.CodeTTL, false, 30*time.Second, time.Hour)
	p.addErr(terr)
	if err := p.err(); err != nil {
		return nil, err
	}
	return &smsOTPSender{message: c.Message, maxResends: c.MaxResends, ttl: ttl}, nil
}

// smsOTPSender issues a 6-digit code from crypto/rand, valid for
// code_ttl, and sends it to the user's phone through the realm's
// sms_gateway. It records the code first, and only as a keyed hash
// (mfa.Repo.HashCode, bound to the session), in the session data that
// sms_otp_verify reads; a code reaches the phone but never the store or
// the log.
//
// Each entry sends a new code: the first, then resends (sms_otp_verify's
// resend, or any loop back here) up to max_resends, after which it leaves
// by failure without sending, which also bounds what one session can
// spend on SMS. no_phone: the user has no phone number. failure: the
// gateway refused, the resends are spent, or the account is locked.
type smsOTPSender struct {
	message    map[string]string
	maxResends int
	ttl        time.Duration
}

// smsCodeDigits is the length of an SMS code.
const smsCodeDigits = 6

// smsSendTimeout bounds one delivery, within the step's request.
const smsSendTimeout = 15 * time.Second

// smsDataKey is where the outstanding SMS code lives in the session data,
// shared by sms_otp_sender and sms_otp_verify. The "#" keeps it apart from
// node names, which key the nodes' own data.
const smsDataKey = "#sms_otp"

// smsRecord is the outstanding SMS code of a session.
type smsRecord struct {
	Hash     []byte    `json:"h,omitempty"` // keyed hash of the code; nil once used or void
	Expires  time.Time `json:"e"`
	Sends    int       `json:"s"`           // codes sent in this session
	Attempts int       `json:"a,omitempty"` // wrong answers to the current code
}

func loadSMS(nc *engine.Context) *smsRecord {
	raw := nc.Session.Data[smsDataKey]
	if raw == "" {
		return nil
	}
	r := new(smsRecord)
	if json.Unmarshal([]byte(raw), r) != nil {
		return nil
	}
	return r
}

func saveSMS(nc *engine.Context, r *smsRecord) {
	b, _ := json.Marshal(r) // cannot fail: plain fields
	if nc.Session.Data == nil {
		nc.Session.Data = map[string]string{}
	}
	nc.Session.Data[smsDataKey] = string(b)
}

// Process implements engine.Node.
func (n *smsOTPSender) Process(ctx context.Context, nc *engine.Context) (engine.Result, error) {
	u, res, done, err := mfaUser(nc)
	if done || err != nil {
		return res, err
	}
	phone := normalizePhone(u.Phone)
	if phone == "" {
		return engine.Result{Outcome: "no_phone", Reason: "the user has no phone number"}, nil
	}
	rec := loadSMS(nc)
	if rec == nil {
		rec = &smsRecord{}
	}
	if rec.Sends > n.maxResends {
		rec.Hash = nil
		saveSMS(nc, rec)
		return engine.Result{Outcome: "failure", Reason: fmt.Sprintf("SMS resend limit reached (max_resends = %d)", n.maxResends)}, nil
	}
	gw, err := smsGateway(nc)
	if err != nil {
		return engine.Result{}, err
	}
	repo, err := mfaRepo(nc)
	if err != nil {
		return engine.Result{}, err
	}
	code, err := mfa.NewNumericCode(smsCodeDigits)
	if err != nil {
		return engine.Result{}, err
	}
	// Recorded before it is sent: a retried request never sends a code the
	// session does not know, and the send counts even if it fails.
	rec.Hash = repo.HashCode(nc.Session.ID, code)
	rec.Expires = nc.Now().Add(n.ttl)
	rec.Sends++
	rec.Attempts = 0
	saveSMS(nc, rec)

	body := code
	if len(n.message) > 0 {
		body = strings.ReplaceAll(expand(localize(n.message, nc), nc), "{code}", code)
	}
	if m := nc.Session.Origin.Message; m != "" {
		// An api_client's secure message (protocols/api portal.go): where
		// the login comes from, so the user can tell their own login from
		// someone else's. Its {{code}} (the default SMS messages have one)
		// takes the code; without one the message goes on its own line
		// before the configured text.
		if strings.Contains(m, "{{code}}") {
			body = strings.ReplaceAll(m, "{{code}}", code)
		} else {
			body = m + "\n" + body
		}
	}
	sctx, cancel := context.WithTimeout(ctx, smsSendTimeout)
	defer cancel()
	if err := gw.SendSMS(sctx, phone, body); err != nil {
		rec.Hash = nil
		saveSMS(nc, rec)
		nc.Log().Warn("SMS code not sent", "to", maskPhone(phone), "err", err)
		return engine.Result{Outcome: "failure", Reason: "the SMS gateway did not take the message"}, nil
	}
	nc.Log().Info("SMS code sent", "to", maskPhone(phone), "send", rec.Sends)
	return engine.Result{Outcome: "sent", Reason: "SMS code sent"}, nil
}

// smsGateway is the realm's sms_gateway, or a fault when it is not wired.
func smsGateway(nc *engine.Context) (engine.SMSSender, error) {
	name := ""
	if nc.Realm != nil {
		name = nc.Realm.SMSGateway
	}
	if name == "" {
		return nil, fmt.Errorf("realm %q has no sms_gateway", realmName(nc))
	}
	if nc.Services == nil || nc.Services.SMS[name] == nil {
		return nil, fmt.Errorf("sms_gateway %q is not available: the server configured no such gateway", name)
	}
	return nc.Services.SMS[name], nil
}

// normalizePhone drops the punctuation people write in numbers
// ("+1 (555) 010-0123"), keeping a leading +.
func normalizePhone(s string) string {
	var b strings.Builder
	for i, r := range strings.TrimSpace(s) {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
			b.WriteRune(r)
		}
	}
	if strings.Trim(b.String(), "+") == "" {
		return ""
	}
	return b.String()
}

// maskPhone keeps the last two digits, enough to tell numbers apart in a
// log without recording them.
func maskPhone(p string) string {
	if len(p) <= 2 {
		return "**"
	}
	return strings.Repeat("*", len(p)-2) + p[len(p)-2:]
}

var _ engine.Node = (*smsOTPSender)(nil)
