package audit

import "strings"

// Step is one node a journey passed and the outcome it ended with.
type Step struct {
	Node    string `json:"node"`
	Type    string `json:"type"`
	Outcome string `json:"outcome"`
}

// factors names what a node type's success proves, for reasons such as
// "authentication with password+push successful". Node types not listed
// prove nothing by themselves (they ask, branch or wait).
var factors = map[string]struct{ label, ok string }{
	"password_check":          {"password", "success"},
	"otp_verify":              {"OTP", "success"},
	"push_result_verifier":    {"push", "success"},
	"sms_otp_verify":          {"SMS code", "success"},
	"recovery_code_collector": {"recovery code", "true"},
	"federated_login":         {"federated login", "success"},
}

// choosers are node types whose outcome is the user's choice.
var choosers = map[string]bool{
	"otp_or_push":              true,
	"choice":                   true,
	"mfa_registration_options": true,
}

// enrolments are node types whose named outcome enrols something. Push
// devices are missing on purpose: the push service records their
// enrolment itself, with the device, platform and provider, when the
// device calls in.
var enrolments = map[string]struct{ what, ok string }{
	"otp_registration":      {"OTP token", "success"},
	"recovery_code_display": {"recovery codes", "next"},
	"opt_out_mfa":           {"MFA opt-out", "next"},
}

// Describe phrases a journey's end for the audit log from the steps it
// took: the factors that succeeded and the choices the user made, e.g.
// "authentication with push successful (chosen push)", or on failure the
// node where it ended and the final node's reason, e.g. "authentication
// failed at verify_push (push denied; chosen push)".
func Describe(outcome string, steps []Step, finalReason string) string {
	var proved, chosen []string
	seen := map[string]bool{}
	for _, s := range steps {
		if f, ok := factors[s.Type]; ok && s.Outcome == f.ok && !seen[f.label] {
			seen[f.label] = true
			proved = append(proved, f.label)
		}
		if choosers[s.Type] && s.Outcome != "" {
			chosen = append(chosen, "chosen "+s.Outcome)
		}
	}
	switch outcome {
	case "success":
		var b strings.Builder
		b.WriteString("authentication")
		if len(proved) > 0 {
			b.WriteString(" with " + strings.Join(proved, "+"))
		}
		b.WriteString(" successful")
		if len(chosen) > 0 {
			b.WriteString(" (" + strings.Join(chosen, ", ") + ")")
		}
		return b.String()
	default:
		var b strings.Builder
		b.WriteString("authentication failed")
		if n := len(steps); n > 0 {
			b.WriteString(" at " + steps[n-1].Node)
		}
		var detail []string
		if finalReason != "" {
			detail = append(detail, finalReason)
		}
		detail = append(detail, chosen...)
		if len(detail) > 0 {
			b.WriteString(" (" + strings.Join(detail, "; ") + ")")
		}
		return b.String()
	}
}

// Enrolments returns what the steps enrolled ("push device", "OTP token",
// ...), so a journey's end can add one enrolment entry each.
func Enrolments(steps []Step) []string {
	var out []string
	for _, s := range steps {
		if e, ok := enrolments[s.Type]; ok && s.Outcome == e.ok {
			out = append(out, e.what)
		}
	}
	return out
}
