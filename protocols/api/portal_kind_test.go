package api

import (
	"testing"

	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/clientinfo"
)

// TestMessageKind: a start without a message gets the default of the
// authentication its journey performs.
func TestMessageKind(t *testing.T) {
	journey := func(types ...string) *engine.Journey {
		j := &engine.Journey{Nodes: map[string]*engine.CompiledNode{}}
		for i, typ := range types {
			j.Nodes[string(rune('a'+i))] = &engine.CompiledNode{Type: typ}
		}
		return j
	}
	p := &engine.Program{Journeys: map[string]*engine.Journey{
		"push": journey("username", "push_sender", "push_wait", "push_result_verifier"),
		"sms":  journey("username", "sms_otp_sender", "sms_otp_verify"),
		"otp":  journey("username", "otp_verify"),
		"both": journey("username", "sms_otp_sender", "push_sender"),
		"none": journey("username"),
	}}
	tests := []struct {
		prog    *engine.Program
		journey string
		want    string
	}{
		{p, "push", clientinfo.KindPush},
		{p, "sms", clientinfo.KindSMS},
		{p, "otp", clientinfo.KindOTP},
		{p, "both", clientinfo.KindPush},
		{p, "none", clientinfo.KindPush},
		{p, "missing", clientinfo.KindPush},
		{nil, "push", clientinfo.KindPush},
	}
	for _, tc := range tests {
		if got := messageKind(tc.prog, tc.journey); got != tc.want {
			t.Errorf("messageKind(%s) = %s; want %s", tc.journey, got, tc.want)
		}
	}
}
