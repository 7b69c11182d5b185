package push_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/devices"
	"github.com/authd/authd/engine/store/boltstore"
	"github.com/authd/authd/protocols/push/authenticator"
)

// TestAnswerResumesAHeldLogin: a login held (as by a long poll) when the
// device answers resumes with the answer (committed together with the
// login's own save), one that nobody holds reads it when it comes back;
// either way the push is stored decided, once, with the device's
// last_used, and a second answer is refused.
func TestAnswerResumesAHeldLogin(t *testing.T) {
	cases := []struct {
		name    string
		bolt    bool
		held    bool
		approve bool
		want    string // journey outcome
		state   string // stored push state
	}{
		{name: "held, approved, memory store", held: true, approve: true, want: "success", state: devices.StateApproved},
		{name: "held, denied, memory store", held: true, want: "failure", state: devices.StateDenied},
		{name: "held, approved, bbolt", bolt: true, held: true, approve: true, want: "success", state: devices.StateApproved},
		{name: "not held, approved, bbolt", bolt: true, approve: true, want: "success", state: devices.StateApproved},
		{name: "not held, denied, memory store", want: "failure", state: devices.StateDenied},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := setup{pushType: "tap"}
			if tc.bolt {
				st, err := boltstore.Open(filepath.Join(t.TempDir(), "authd.db"), boltstore.Options{})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { st.Close() })
				s.kv = st
			}
			h := newHarness(t, s)
			a := h.enrol("alice")
			r, p := loginToWait(t, h, a)

			// A held login: like the journey API's long poll, it waits on
			// the engine's wake channel (registered before the answer, so
			// the answer finds it held) and then resumes.
			var got chan *reply
			if tc.held {
				got = make(chan *reply, 1)
				woken := h.eng.WakeChan(r.Session)
				go func() {
					<-woken
					empty := ""
					resp, err := h.eng.Resume(context.Background(), r.Session, []engine.Callback{{ID: "wait", Value: &empty}}, engine.Request{Protocol: "api"})
					if err != nil {
						got <- &reply{Error: err.Error()}
						return
					}
					got <- &reply{Outcome: string(resp.Outcome)}
				}()
			}
			ans := authenticator.Answer{Approve: tc.approve}
			res, err := h.auth.Respond(context.Background(), a, p, ans)
			if err != nil || res.Status != tc.state {
				t.Fatalf("respond: %+v %v", res, err)
			}
			var end *reply
			if tc.held {
				end = <-got
			} else {
				end = h.poll("login", r)
			}
			if end.Outcome != tc.want {
				t.Errorf("login ended %+v, want %s", end, tc.want)
			}
			stored := h.push(p.MessageID)
			if stored.State != tc.state || stored.AnsweredBy != a.DeviceID {
				t.Errorf("stored push %s answered by %q, want %s by %q", stored.State, stored.AnsweredBy, tc.state, a.DeviceID)
			}
			dev, err := devices.New(h.kv).Device(a.DeviceID)
			if err != nil || !dev.LastUsed.Equal(stored.AnsweredAt) {
				t.Errorf("device last_used %v, want the answer's time %v (%v)", dev.LastUsed, stored.AnsweredAt, err)
			}
			if _, err := h.auth.Respond(context.Background(), a, p, ans); serverCode(err) != "already_answered" {
				t.Errorf("second answer: %v, want already_answered", err)
			}
		})
	}
}

// TestAnswerAfterAnAbandonedHold: a holder that stopped holding without
// being woken (a long poll that timed out) leaves its wake channel
// registered; the answer must still reach the client's next hold at once
// rather than after that hold's whole length.
func TestAnswerAfterAnAbandonedHold(t *testing.T) {
	t.Parallel()
	h := newHarness(t, setup{pushType: "tap"})
	a := h.enrol("alice")
	r, p := loginToWait(t, h, a)
	_ = h.eng.WakeChan(r.Session) // a hold that ended without a wake
	if res, err := h.auth.Respond(context.Background(), a, p, authenticator.Answer{Approve: true}); err != nil || res.Status != devices.StateApproved {
		t.Fatalf("respond: %+v %v", res, err)
	}
	// The answer is stored by the time its reply came: the next hold
	// must be released at once.
	select {
	case <-h.eng.WakeChan(r.Session):
	default:
		t.Fatal("the answer's wake was lost to the abandoned hold")
	}
	if end := h.poll("login", r); end.Outcome != "success" {
		t.Errorf("login ended %+v", end)
	}
}
