package nodes_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/store/memstore"
	"github.com/authd/authd/engine/users"
	"github.com/authd/authd/nodes"
)

func TestFederatedLoginSettings(t *testing.T) {
	cfg := mustDecode(t, "federated_login", `provider = identity_provider.google`)
	if c := cfg.(*nodes.FederatedLoginConfig); c.MatchOn != "email" || c.CreateUser {
		t.Errorf("defaults %+v", c)
	}
	if name, diags := nodes.FederatedLoginProvider(cfg); diags.HasErrors() || name != "google" {
		t.Fatalf("provider %q %s", name, diags)
	}
	if got := cfg.(interface{ ReferenceSettings() map[string]string }).ReferenceSettings(); got["provider"] != "identity_provider" {
		t.Fatalf("ReferenceSettings %v", got)
	}
	wantOutcomes(t, "federated_login", `provider = identity_provider.google`, "success,failure,no_account")
	build(t, "federated_login", "provider = identity_provider.google\nmatch_on = \"sub\"\ncreate_user = true\n")
	buildErr(t, "federated_login", `provider = journey.google`, "provider")
	buildErr(t, "federated_login", ``, "provider")
	buildErr(t, "federated_login", "provider = identity_provider.google\nmatch_on = \"name\"\n", "match_on")
}

// fakeFederation is an in-memory engine.FederationService; the real one is
// tested end to end against a second authd in protocols/federation.
type fakeFederation struct {
	begun    []*engine.FederationRequest
	beginErr error
	result   *engine.FederatedIdentity
	err      error
}

func (f *fakeFederation) BeginFederation(_ context.Context, r *engine.FederationRequest) (string, error) {
	f.begun = append(f.begun, r)
	if f.beginErr != nil {
		return "", f.beginErr
	}
	return fmt.Sprintf("https://idp.example/authorize?state=s%d", len(f.begun)), nil
}

func (f *fakeFederation) FederationResult(_ context.Context, provider, session string, _ time.Time) (*engine.FederatedIdentity, error) {
	if f.result == nil && f.err == nil {
		return nil, engine.ErrFederationPending
	}
	return f.result, f.err
}

func TestFederatedLoginRuns(t *testing.T) {
	const iss = "https://idp.example"
	yes, no := true, false
	attr := nodes.FederationLinkAttribute("google")
	tests := []struct {
		name       string
		settings   string
		id         *engine.FederatedIdentity
		err        error
		want       engine.Outcome
		wantUser   string
		wantLinked string // user that must hold the link afterwards
	}{
		{name: "email match", id: &engine.FederatedIdentity{Issuer: iss, Subject: "1", Email: "ALICE@example.com", EmailVerified: &yes},
			want: "success", wantUser: "alice", wantLinked: "alice"},
		// A missing email_verified is not a yes: matching on it would let
		// anyone who can set an address upstream take over its local user.
		{name: "email not said verified", id: &engine.FederatedIdentity{Issuer: iss, Subject: "1", Email: "alice@example.com"},
			want: "failure"},
		{name: "email unverified", id: &engine.FederatedIdentity{Issuer: iss, Subject: "1", Email: "alice@example.com", EmailVerified: &no},
			want: "failure"},
		{name: "create_user does not create from an email not said verified", settings: "create_user = true",
			id: &engine.FederatedIdentity{Issuer: iss, Subject: "9", Email: "new@example.com"}, want: "failure"},
		{name: "no email", id: &engine.FederatedIdentity{Issuer: iss, Subject: "1"}, want: "failure"},
		{name: "email of nobody", id: &engine.FederatedIdentity{Issuer: iss, Subject: "1", Email: "zed@example.com", EmailVerified: &yes}, want: "no_account"},
		{name: "email shared by two users", id: &engine.FederatedIdentity{Issuer: iss, Subject: "1", Email: "twin@example.com", EmailVerified: &yes}, want: "failure"},
		{name: "email of a user linked to another subject", id: &engine.FederatedIdentity{Issuer: iss, Subject: "other", Email: "bob@example.com", EmailVerified: &yes}, want: "failure"},
		{name: "sub match", settings: `match_on = "sub"`, id: &engine.FederatedIdentity{Issuer: iss, Subject: "b-7"}, want: "success", wantUser: "bob"},
		{name: "sub of another issuer", settings: `match_on = "sub"`, id: &engine.FederatedIdentity{Issuer: "https://evil.example", Subject: "b-7"}, want: "no_account"},
		{name: "create by email", settings: "create_user = true", id: &engine.FederatedIdentity{Issuer: iss, Subject: "9", Email: "new@example.com", EmailVerified: &yes, Name: "New Person"},
			want: "success", wantUser: "new@example.com", wantLinked: "new@example.com"},
		{name: "create by sub without email", settings: "match_on = \"sub\"\ncreate_user = true", id: &engine.FederatedIdentity{Issuer: iss, Subject: "9"},
			want: "success", wantUser: "google:9", wantLinked: "google:9"},
		{name: "create never takes over a name", settings: "match_on = \"sub\"\ncreate_user = true", id: &engine.FederatedIdentity{Issuer: iss, Subject: "2", Email: "carol@example.com", EmailVerified: &yes},
			want: "failure"},
		{name: "provider refused", err: &engine.FederationError{Reason: "the provider answered access_denied"}, want: "failure"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := build(t, "federated_login", "provider = identity_provider.google\n"+tc.settings+"\n")
			e := newEnv()
			kv := memstore.New()
			e.svc.Users = users.NewRepo(kv)
			for _, u := range []*users.User{
				{Realm: "corp", Name: "alice", Email: "alice@example.com"},
				{Realm: "corp", Name: "bob", Email: "bob@example.com", Attributes: map[string]string{attr: iss + " b-7"}},
				{Realm: "corp", Name: "twin1", Email: "twin@example.com"},
				{Realm: "corp", Name: "twin2", Email: "twin@example.com"},
				{Realm: "corp", Name: "carol@example.com"},
			} {
				if err := e.svc.Users.Create(u); err != nil {
					t.Fatal(err)
				}
			}
			f := &fakeFederation{}
			e.svc.Federation = f
			cbs := wantAsk(t, process(t, n, e.ctx("fed", nil)), engine.CallbackRedirect)
			if cbs[0].URI == "" || len(f.begun) != 1 || f.begun[0].SessionID != "test-session-id" || f.begun[0].Provider != "google" {
				t.Fatalf("redirect %+v, begun %+v", cbs[0], f.begun)
			}
			// Resumed before the browser is back: the same URL again.
			again := wantAsk(t, process(t, n, e.ctx("fed", answer(cbs, map[string]string{"redirect": "x"}))), engine.CallbackRedirect)
			if again[0].URI != cbs[0].URI || len(f.begun) != 1 {
				t.Fatalf("pending resume asked %q (begun %d)", again[0].URI, len(f.begun))
			}
			if tc.id != nil {
				id := *tc.id
				id.Provider = "google"
				f.result = &id
			}
			f.err = tc.err
			nc := e.ctx("fed", answer(cbs, map[string]string{"redirect": "x"}))
			wantOutcome(t, process(t, n, nc), tc.want)
			if nc.UserName() != tc.wantUser {
				t.Errorf("user %q, want %q", nc.UserName(), tc.wantUser)
			}
			if tc.wantLinked != "" {
				u, err := e.svc.Users.Get("corp", tc.wantLinked)
				if err != nil || u.Attributes[attr] != tc.id.Issuer+" "+tc.id.Subject {
					t.Errorf("link of %s: %v %v", tc.wantLinked, err, u)
				}
				if u != nil && u.PasswordHash != "" {
					t.Errorf("%s has a password", u.Name)
				}
			}
		})
	}
}

func TestFederatedLoginProviderDown(t *testing.T) {
	n := build(t, "federated_login", `provider = identity_provider.google`)
	e := newEnv()
	e.svc.Federation = &fakeFederation{beginErr: &engine.FederationError{Reason: "discovery failed"}}
	wantOutcome(t, process(t, n, e.ctx("fed", nil)), "failure")
	e.svc.Federation = &fakeFederation{beginErr: errors.New("store down")}
	if _, err := n.Process(context.Background(), e.ctx("fed", nil)); err == nil {
		t.Fatal("a store fault must be a fault, not an outcome")
	}
}

func TestFederatedLoginWithoutService(t *testing.T) {
	n := build(t, "federated_login", `provider = identity_provider.google`)
	if _, err := n.Process(context.Background(), newEnv().ctx("fed", nil)); err == nil {
		t.Fatal("no federation service: want a fault")
	}
}
