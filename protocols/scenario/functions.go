package scenario

import (
	"fmt"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"

	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/mfa"
)

// answerFunctionNames are the functions scenario answers add to the
// standard ones.
var answerFunctionNames = []string{"otp", "totp", "sms_code", "recovery_code"}

// staticFunctions are the functions of fixtures and expectations: the
// standard library the configuration uses.
func staticFunctions() map[string]function.Function { return engine.Functions() }

func answerFunctionSet() map[string]bool {
	out := map[string]bool{}
	for n := range engine.Functions() {
		out[n] = true
	}
	for _, n := range answerFunctionNames {
		out[n] = true
	}
	return out
}

// answerContext is what an answer expression sees when its step runs: qr,
// and the functions that read the fixtures' second factors at the
// scenario's clock.
func (r *run) answerContext(cbs []engine.Callback) *hcl.EvalContext {
	qr := ""
	for _, cb := range cbs {
		if cb.Type == engine.CallbackQR {
			qr = cb.URI
		}
	}
	fns := engine.Functions()
	str1 := func(name string, impl func(string) (string, error)) function.Function {
		return function.New(&function.Spec{
			Params: []function.Parameter{{Name: name, Type: cty.String}},
			Type:   function.StaticReturnType(cty.String),
			Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
				s, err := impl(args[0].AsString())
				if err != nil {
					return cty.NilVal, err
				}
				return cty.StringVal(s), nil
			},
		})
	}
	fns["otp"] = str1("user", r.otpCode)
	fns["totp"] = str1("uri", func(uri string) (string, error) {
		c, err := mfa.CodeFromURI(uri, r.clock.Now())
		if err != nil {
			return "", fmt.Errorf("totp: %v", err)
		}
		return c, nil
	})
	fns["sms_code"] = str1("user", r.smsCode)
	fns["recovery_code"] = function.New(&function.Spec{
		Params:   []function.Parameter{{Name: "user", Type: cty.String}},
		VarParam: &function.Parameter{Name: "index", Type: cty.Number},
		Type:     function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			idx := -1
			if len(args) > 1 {
				n, _ := args[1].AsBigFloat().Int64()
				idx = int(n)
			}
			s, err := r.recoveryCode(args[0].AsString(), idx)
			if err != nil {
				return cty.NilVal, err
			}
			return cty.StringVal(s), nil
		},
	})
	return &hcl.EvalContext{
		Variables: map[string]cty.Value{"qr": cty.StringVal(qr)},
		Functions: fns,
	}
}

func (r *run) fixtureUser(name string) (*User, error) {
	u := r.factors.users[name]
	if u == nil {
		names := make([]string, 0, len(r.factors.users))
		for n := range r.factors.users {
			names = append(names, n)
		}
		sort.Strings(names)
		return nil, fmt.Errorf("there is no fixture user %q (users: %v)", name, names)
	}
	return u, nil
}

// otpCode is the code the user's authenticator app shows now: the TOTP
// code of the clock's time step, or the next HOTP code (each call presses
// the button once).
func (r *run) otpCode(name string) (string, error) {
	if _, err := r.fixtureUser(name); err != nil {
		return "", err
	}
	r.factors.mu.Lock()
	defer r.factors.mu.Unlock()
	k := r.factors.otp[name]
	if k == nil {
		return "", fmt.Errorf("the fixture user %q has no OTP token (set otp = true)", name)
	}
	c, err := k.Code(r.clock.Now())
	if k.Type == mfa.TypeHOTP {
		k.Counter++
	}
	return c, err
}

func (r *run) smsCode(name string) (string, error) {
	u, err := r.fixtureUser(name)
	if err != nil {
		return "", err
	}
	if u.Phone == "" {
		return "", fmt.Errorf("the fixture user %q has no phone", name)
	}
	c, ok := r.sms.last(u.Phone)
	if !ok {
		return "", fmt.Errorf("no code was texted to %s (%q) yet", u.Phone, name)
	}
	return c, nil
}

// recoveryCode returns the user's recovery code number idx (from 0), or
// with idx < 0 the next one not handed out yet.
func (r *run) recoveryCode(name string, idx int) (string, error) {
	if _, err := r.fixtureUser(name); err != nil {
		return "", err
	}
	r.factors.mu.Lock()
	defer r.factors.mu.Unlock()
	codes := r.factors.recovery[name]
	if len(codes) == 0 {
		return "", fmt.Errorf("the fixture user %q has no recovery codes (set recovery_codes = N)", name)
	}
	if idx < 0 {
		idx = r.factors.used[name]
		r.factors.used[name]++
	}
	if idx >= len(codes) {
		return "", fmt.Errorf("the fixture user %q has only %d recovery codes", name, len(codes))
	}
	return codes[idx], nil
}
