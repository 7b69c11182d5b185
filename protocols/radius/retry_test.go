package radius

import (
	"context"
	"sync/atomic"
	"testing"

	"layeh.com/radius"

	"github.com/authd/authd/engine"
)

// TestWrongPasswordRetriedIsChallenged: a journey that loops back to its
// credentials after a wrong password gets the password by challenge, not
// the packet's password again, so one wrong password is one failed check
// (and one step towards a lockout). A user name asked again is answered
// from the User-Name.
func TestWrongPasswordRetriedIsChallenged(t *testing.T) {
	var checks atomic.Int64
	// creds takes the request's credentials once per request, as the
	// credentials node does; name asks a user name only.
	creds := funcNode(func(_ context.Context, nc *engine.Context) (engine.Result, error) {
		if !nc.Resumed() {
			if cr := nc.Request.Credentials; cr != nil && nc.Transient("taken") == "" {
				nc.SetTransient("taken", "1")
				nc.SetUser(cr.Username)
				nc.SetTransient("pw", cr.Password)
				return engine.Next("next"), nil
			}
			return engine.Ask(engine.Callback{Type: engine.CallbackName, ID: "username"}, engine.Callback{Type: engine.CallbackPassword, ID: "password", Prompt: "Password again"}), nil
		}
		u, _ := nc.Answer("username")
		p, _ := nc.Answer("password")
		nc.SetUser(u)
		nc.SetTransient("pw", p)
		return engine.Next("next"), nil
	})
	name := funcNode(func(_ context.Context, nc *engine.Context) (engine.Result, error) {
		if !nc.Resumed() {
			return engine.Ask(engine.Callback{Type: engine.CallbackName, ID: "username"}), nil
		}
		u, _ := nc.Answer("username")
		nc.SetUser(u)
		return engine.Next("next"), nil
	})
	counted := funcNode(func(ctx context.Context, nc *engine.Context) (engine.Result, error) {
		checks.Add(1)
		return checkNode(ctx, nc)
	})
	e := newEnv(t, func(c *Config, _ *Options) {
		c.Policies = []Policy{
			{Name: "names", Realm: "corp", Journey: "names", When: expr(t, `request.radius.nas_identifier == "names"`)},
			{Name: "retry", Realm: "corp", Journey: "retry"},
		}
	})
	e.eng.Load(&engine.Program{Revision: "r2", Realms: map[string]*engine.Realm{"corp": {Name: "corp"}}, Journeys: map[string]*engine.Journey{
		"retry": testJourney("retry", "creds",
			cnode("creds", creds, map[engine.Outcome]string{"next": "check"}),
			cnode("check", counted, map[engine.Outcome]string{"success": "success", "failure": "creds"})),
		"names": testJourney("names", "creds",
			cnode("creds", creds, map[engine.Outcome]string{"next": "check"}),
			cnode("check", counted, map[engine.Outcome]string{"success": "success", "failure": "name"}),
			cnode("name", name, map[engine.Outcome]string{"next": "creds"})),
	}})

	r := e.exchange(accessRequest("alice", pw("wrong")))
	if r.Code != radius.CodeAccessChallenge || replyMessage(r) != "Password again" || checks.Load() != 1 {
		t.Fatalf("got %v %q after %d checks, want a password challenge after one", r.Code, replyMessage(r), checks.Load())
	}
	state, _ := r.Lookup(attrState)
	if r := e.exchange(accessRequest("alice", pw("secret"), withState(state))); r.Code != radius.CodeAccessAccept || checks.Load() != 2 {
		t.Fatalf("got %v after %d checks, want Access-Accept after two", r.Code, checks.Load())
	}

	checks.Store(0)
	r = e.exchange(accessRequest("alice", pw("wrong"), nasID("names")))
	if r.Code != radius.CodeAccessChallenge || replyMessage(r) != "Password again" || checks.Load() != 1 {
		t.Fatalf("names: got %v %q after %d checks, want a password challenge after one", r.Code, replyMessage(r), checks.Load())
	}
}
