package nodes

import (
	"context"
	"strings"
	"time"

	"github.com/authd/authd/engine"
)

// SMSOTPSenderConfig are the settings of an sms_otp_sender node.
type SMSOTPSenderConfig struct {
	// Message is the localised SMS text; each text must contain {code},
	// and {{user}}/{{issuer}} expand. Default: { en = "Your {{issuer}} code is {code}" }.
	Message map[string]string `hcl:"message,optional"`
	// MaxResends is how many times the code may be sent again (default 3).
	MaxResends int `hcl:"max_resends,optional"`
	// CodeTTL is how long a code is valid (default "5m").
	CodeTTL string `hcl:"code_ttl,optional"`
}

const defaultSMSMessage = "Your {{issuer}} code is {code}"

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
	msg := c.Message
	if len(msg) == 0 {
		msg = map[string]string{"en": defaultSMSMessage}
	}
	return &smsOTPSender{message: msg, maxResends: c.MaxResends, ttl: ttl}, nil
}

// smsOTPSender issues a 6-digit code valid for code_ttl, records it
// (hashed) in the session before sending, and sends it to the user's phone
// through the realm's sms_gateway: sent, no_phone when the user has no
// phone number, failure when the gateway refused or max_resends is spent.
// The runtime comes with the SMS issue.
type smsOTPSender struct {
	message    map[string]string
	maxResends int
	ttl        time.Duration
}

// Process implements engine.Node.
func (n *smsOTPSender) Process(context.Context, *engine.Context) (engine.Result, error) {
	return engine.Result{}, errNotAvailable("sms_otp_sender")
}

var _ engine.Node = (*smsOTPSender)(nil)
