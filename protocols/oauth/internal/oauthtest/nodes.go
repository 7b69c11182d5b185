package oauthtest

import (
	"context"
	"sync"

	"github.com/authd/authd/engine"
)

// Test node types, registered once for every test binary that imports this
// package. They stand in for the MFA nodes whose back ends (OTP enrolment,
// push providers) are other issues' business.
func init() {
	engine.Register(&engine.NodeType{
		Name:        "test_code",
		Summary:     "test: asks a one-time code; 123456 is right",
		Outcomes:    engine.FixedOutcomes("success", "failure"),
		New:         func(any) (engine.Node, error) { return codeNode{}, nil },
		Interactive: true,
		Requires:    []engine.Fact{engine.FactUser},
	})
	engine.Register(&engine.NodeType{
		Name:        "test_push",
		Summary:     "test: a push with number matching, approved by Approve",
		Outcomes:    engine.FixedOutcomes("approved", "denied"),
		New:         func(any) (engine.Node, error) { return pushNode{}, nil },
		Interactive: true,
		Requires:    []engine.Fact{engine.FactUser},
	})
	engine.Register(&engine.NodeType{
		Name:        "test_qr",
		Summary:     "test: shows an enrolment QR code",
		Outcomes:    engine.FixedOutcomes("next"),
		New:         func(any) (engine.Node, error) { return qrNode{}, nil },
		Interactive: true,
		Requires:    []engine.Fact{engine.FactUser},
	})
}

// GoodCode is the code test_code accepts.
const GoodCode = "123456"

// ChallengeNumber is what test_push shows for number matching.
const ChallengeNumber = 42

type codeNode struct{}

func (codeNode) Process(_ context.Context, nc *engine.Context) (engine.Result, error) {
	if !nc.Resumed() {
		return engine.Ask(engine.Callback{Type: engine.CallbackCode, ID: "code", Prompt: "Code from your authenticator"}), nil
	}
	if v, _ := nc.Answer("code"); v == GoodCode {
		return engine.Next("success"), nil
	}
	return engine.Next("failure"), nil
}

// pushes are the pending test pushes: user -> engine session, and the
// approvals waiting to be read.
var pushes = struct {
	sync.Mutex
	pending  map[string]string
	approved map[string]bool
	eng      *engine.Engine
}{pending: map[string]string{}, approved: map[string]bool{}}

// Approve answers the pending test push of user, as a phone would, and
// wakes the login page waiting for it. It reports whether one was pending.
func Approve(user string) bool {
	pushes.Lock()
	sid, ok := pushes.pending[user]
	if ok {
		pushes.approved[sid] = true
	}
	eng := pushes.eng
	pushes.Unlock()
	if ok && eng != nil {
		eng.Wake(sid)
	}
	return ok
}

type pushNode struct{}

func (pushNode) Process(_ context.Context, nc *engine.Context) (engine.Result, error) {
	sid := nc.Session.ID
	ask := engine.Ask(
		engine.Callback{Type: engine.CallbackText, ID: "number", Message: "Open the authenticator app and tap the number shown here.", ChallengeNumber: ChallengeNumber},
		engine.Callback{Type: engine.CallbackWait, ID: "wait", Seconds: 5, Exit: true},
	)
	if !nc.Resumed() {
		pushes.Lock()
		pushes.pending[nc.UserName()] = sid
		pushes.Unlock()
		return ask, nil
	}
	if v, _ := nc.Answer("wait"); v == "exit" {
		return engine.Next("denied"), nil
	}
	pushes.Lock()
	ok := pushes.approved[sid]
	if ok {
		delete(pushes.approved, sid)
		delete(pushes.pending, nc.UserName())
	}
	pushes.Unlock()
	if ok {
		return engine.Next("approved"), nil
	}
	return ask, nil
}

type qrNode struct{}

func (qrNode) Process(_ context.Context, nc *engine.Context) (engine.Result, error) {
	if !nc.Resumed() {
		return engine.Ask(
			engine.Callback{Type: engine.CallbackText, ID: "intro", Message: "Scan the code with the authenticator app, then continue."},
			engine.Callback{Type: engine.CallbackQR, ID: "qr", URI: "otpauth://totp/Example%20Corp:" + nc.UserName() + "?secret=JBSWY3DPEHPK3PXP&issuer=Example%20Corp"},
		), nil
	}
	return engine.Next("next"), nil
}
