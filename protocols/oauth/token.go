package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/ory/fosite"

	"github.com/authd/authd/engine"
	"github.com/authd/authd/protocols/oauth/storage"
)

// token is /oauth2/token: fosite runs the grants; authd adds the grant of
// scopes for client credentials and password (fosite grants none), the
// password grant's journey, and invalid_grant for codes and refresh tokens
// that lost a race.
func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	st := &reqState{req: r, session: NewSession()}
	ctx := withState(r.Context(), st)
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err == nil {
		// fosite answers invalid_request here; RFC 6749 §5.2 says this.
		switch gt := r.PostForm.Get("grant_type"); gt {
		case GrantPassword:
			if p.passwordGrantLimited(ctx, w, r, st) {
				return
			}
		case "", GrantAuthorizationCode, GrantRefreshToken, GrantClientCredentials:
		default:
			p.tokenError(ctx, w, fosite.NewAccessRequest(st.session), fosite.ErrUnsupportedGrantType.WithHintf("The grant type %q is not supported.", gt))
			return
		}
	}
	ar, err := p.f.NewAccessRequest(ctx, r, st.session)
	if err != nil {
		if st.grantErr != nil {
			err = st.grantErr
		}
		p.tokenError(ctx, w, ar, err)
		return
	}
	c := ar.GetClient().(*client)
	switch {
	case ar.GetGrantTypes().ExactOne(GrantClientCredentials):
		ar.SetID(newGrantID())
		for _, s := range ar.GetRequestedScopes() {
			ar.GrantScope(s)
		}
		for _, a := range ar.GetRequestedAudience() {
			ar.GrantAudience(a)
		}
		st.session.SetSubject(c.GetID())
	case ar.GetGrantTypes().ExactOne(GrantPassword):
		ar.SetID(newGrantID())
		for _, s := range ar.GetRequestedScopes() {
			ar.GrantScope(s)
		}
		if err := p.fillPasswordSession(st, ar); err != nil {
			p.tokenError(ctx, w, ar, err)
			return
		}
	case ar.GetGrantTypes().ExactOne(GrantAuthorizationCode):
		// Belt and braces for a code issued before a configuration change
		// made PKCE required for this client.
		if c.pkceRequired() && ar.GetRequestForm().Get("code_verifier") == "" {
			p.tokenError(ctx, w, ar, fosite.ErrInvalidGrant.WithHint("This client must send code_verifier (PKCE)."))
			return
		}
		if !p.grantUserOK(ctx, w, ar) {
			return
		}
	case ar.GetGrantTypes().ExactOne(GrantRefreshToken):
		if !p.grantUserOK(ctx, w, ar) {
			return
		}
	}
	resp, err := p.f.NewAccessResponse(ctx, ar)
	if err != nil {
		if errors.Is(err, storage.ErrConflict) || errors.Is(err, fosite.ErrInvalidatedAuthorizeCode) {
			// Another request used the same code (or refresh token, past
			// its grace window) between fosite's reads and our write:
			// treat it as reuse and revoke what the grant produced.
			if rerr := p.store.RevokeGrant(context.WithoutCancel(ctx), ar.GetID()); rerr != nil {
				p.log.Error("revoking a reused grant", "err", rerr)
			}
			err = fosite.ErrInvalidGrant.WithHint("The authorization code or refresh token was already used.")
		}
		p.tokenError(ctx, w, ar, err)
		return
	}
	if !c.grants.Has(GrantRefreshToken) {
		// fosite's password grant hands out a refresh token whatever the
		// client's grants; the store kept none, so do not show one.
		if ext, ok := resp.(*fosite.AccessResponse); ok {
			delete(ext.Extra, "refresh_token")
		}
	}
	p.f.WriteAccessResponse(ctx, w, ar, resp)
}

// grantUserOK checks, before a code or refresh token is exchanged, that
// the grant's user still exists as the user who signed in, has not
// changed the password since, and is not locked (see grantUser): fosite's handlers only look at the stored grant,
// so without this a deleted user's refresh token kept minting tokens for
// its name — and for whoever was created with that name next. A refused
// grant is revoked, access tokens included: invalid_grant tells the client
// the grant is dead, and one that worked again after an unlock or for the
// new user would contradict it. It answers the request itself when not OK.
// The password grant needs no such check: it runs the journey, which finds
// the user (or not) afresh.
func (p *Provider) grantUserOK(ctx context.Context, w http.ResponseWriter, ar fosite.AccessRequester) bool {
	s, _ := ar.GetSession().(*Session)
	if s == nil || s.User == "" {
		return true
	}
	_, err := p.grantUser(s.Realm, s.User, s.AuthTime, time.Now(), true)
	if err == nil {
		return true
	}
	if !userGone(err) {
		p.tokenError(ctx, w, ar, fosite.ErrServerError.WithWrap(err).WithDebug(err.Error()))
		return false
	}
	// A locked account only pauses its grants: anyone who knows a user
	// name can lock it by failing passwords, and must not thereby end the
	// user's sign-ins in every application. Gone, re-created or with a new
	// password, the grant is over.
	if !errors.Is(err, errUserLocked) {
		if rerr := p.store.RevokeGrant(context.WithoutCancel(ctx), ar.GetID()); rerr != nil {
			p.log.Error("revoking the grant of a user who is gone", "err", rerr)
		}
	}
	p.log.Info("grant refused", "client", ar.GetClient().GetID(), "user", s.User, "reason", err.Error())
	hint := "The user of this grant no longer exists."
	switch {
	case errors.Is(err, errUserLocked):
		hint = "The user's account is locked."
	case errors.Is(err, errPasswordChanged):
		hint = "The user's password changed since the sign-in."
	}
	p.tokenError(ctx, w, ar, fosite.ErrInvalidGrant.WithHint(hint))
	return false
}

// passwordGrantLimited applies the per-user limit to a password grant
// before anything runs: the realm is the one of the client the request
// names (not yet authenticated; an unknown client is fosite's to refuse).
func (p *Provider) passwordGrantLimited(ctx context.Context, w http.ResponseWriter, r *http.Request, st *reqState) bool {
	if p.userLim.Load() == nil {
		return false
	}
	id := r.PostForm.Get("client_id")
	if u, _, ok := r.BasicAuth(); ok {
		if dec, err := url.QueryUnescape(u); err == nil {
			id = dec
		}
	}
	c := p.clients.Load().byID[id]
	if c == nil {
		return false
	}
	wait, limited := p.userLimited(w, c.cfg.Realm, r.PostForm.Get("username"))
	if limited {
		p.f.WriteAccessError(ctx, w, fosite.NewAccessRequest(st.session), &fosite.RFC6749Error{
			ErrorField:       "temporarily_unavailable",
			DescriptionField: "Too many sign-in attempts for this user.",
			HintField:        fmt.Sprintf("Retry in %s.", wait.Round(time.Second)),
			CodeField:        http.StatusTooManyRequests,
		})
	}
	return limited
}

func (p *Provider) tokenError(ctx context.Context, w http.ResponseWriter, ar fosite.AccessRequester, err error) {
	rfc := fosite.ErrorToRFC6749Error(err)
	if rfc.ErrorField == fosite.ErrServerError.ErrorField {
		p.log.Error("token endpoint", "err", rfc.WithExposeDebug(true).GetDescription())
	}
	p.f.WriteAccessError(ctx, w, ar, err)
}

// authenticateOwner is the password grant's check: it runs the relying
// party's journey without a browser, answering name and password callbacks
// with the request's credentials. A journey that asks for anything more
// (a code, a push) fails with invalid_grant and says so.
func (p *Provider) authenticateOwner(ctx context.Context, name, password string) (string, error) {
	st := stateFrom(ctx)
	if st == nil || st.client == nil {
		return "", fosite.ErrNotFound
	}
	c := st.client
	if c.cfg.Journey == "" {
		st.grantErr = fosite.ErrUnauthorizedClient.WithHint("This client has no journey to sign users in with.")
		return "", fosite.ErrNotFound
	}
	req := p.engineRequest(st.req, c, nil)
	req.Credentials = &engine.Credentials{Username: name, Password: password}
	resp, err := p.eng.Start(ctx, c.cfg.Realm, c.cfg.Journey, req)
	answered := false
	for err == nil && !resp.Done {
		var asked []string
		onlyCredentials := true
		for _, cb := range resp.Callbacks {
			switch cb.Type {
			case engine.CallbackName, engine.CallbackPassword:
			case engine.CallbackText:
				continue
			default:
				onlyCredentials = false
			}
			asked = append(asked, cb.Type)
		}
		if !onlyCredentials {
			st.grantErr = fosite.ErrInvalidGrant.WithHintf(
				"This sign-in needs more than a user name and password (it asked for %s), which the password grant cannot provide; use the authorization code flow in a browser.",
				strings.Join(slices.Compact(asked), ", "))
			return "", fosite.ErrNotFound
		}
		if answered {
			// Asked again: the credentials were wrong.
			return "", fosite.ErrNotFound
		}
		answered = true
		answers := make([]engine.Callback, 0, len(resp.Callbacks))
		for _, cb := range resp.Callbacks {
			v := name
			if cb.Type == engine.CallbackPassword {
				v = password
			} else if cb.Type != engine.CallbackName {
				continue
			}
			answers = append(answers, engine.Callback{ID: cb.ID, Value: &v})
		}
		resp, err = p.eng.Resume(ctx, resp.Session, answers, req)
	}
	if err != nil {
		return "", err
	}
	if resp.Outcome != engine.Success || resp.User == "" {
		return "", fosite.ErrNotFound
	}
	st.session.User = resp.User
	st.session.AuthTime = time.Now().UTC().Truncate(time.Second)
	return resp.User, nil
}

// fillPasswordSession completes the session of a password grant once
// fosite accepted the request (scopes known).
func (p *Provider) fillPasswordSession(st *reqState, ar fosite.AccessRequester) error {
	c := st.client
	g := grantInfo{user: st.session.User, authTime: st.session.AuthTime, requestedAt: st.session.AuthTime}
	full, err := p.newUserSession(c, g, ar.GetGrantedScopes(), p.engineRequest(st.req, c, ar.GetRequestedScopes()))
	if err != nil {
		return fosite.ErrInvalidGrant.WithHint("The user cannot sign in to this application.")
	}
	// fosite already recorded the token expiries in the session it holds.
	full.DefaultSession.ExpiresAt = st.session.DefaultSession.ExpiresAt
	*st.session = *full
	return nil
}
