package federation

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/store"
)

// ErrBadState is a callback whose state is missing, unknown, already used
// or expired. It touches no session.
var ErrBadState = errors.New("federation: the login state is unknown, used or expired")

// Check lets the front end refuse a callback for a session this browser
// does not drive; it sees the session id and its front end (engine.Frontend*).
type Check func(sessionID, protocol string) error

// Complete handles the provider's answer at CallbackPath (q is its query):
// it consumes the state, runs check, exchanges the code, verifies the ID
// token and its nonce, fetches userinfo, and stores the identity or the
// failure for the session, whose id it returns. An error means nothing was
// stored: ErrBadState, check's own error, or a store fault.
func (s *Service) Complete(ctx context.Context, q url.Values, now time.Time, check Check) (string, error) {
	state := q.Get("state")
	if state == "" || len(state) > 512 {
		return "", ErrBadState
	}
	var rec *stateRecord
	err := s.kv.Update(func(tx store.Tx) error {
		k := stateKey(state)
		v := tx.Get(bucket, k)
		if v == nil {
			return nil
		}
		rec = new(stateRecord)
		if err := json.Unmarshal(v, rec); err != nil {
			return fmt.Errorf("federation: a stored state is damaged: %w", err)
		}
		return tx.Delete(bucket, k) // single use, whatever happens next
	})
	if err != nil {
		return "", err
	}
	if rec == nil || !now.Before(rec.Expires) {
		return "", ErrBadState
	}
	if check != nil {
		if err := check(rec.Session, rec.Protocol); err != nil {
			return "", err
		}
	}
	res := result{Expires: now.Add(StateTTL)}
	id, reason := s.exchange(ctx, rec, q)
	if reason != "" {
		res.Error = reason
		s.log.Info("upstream login failed", "provider", rec.Provider, "reason", reason)
	} else {
		res.Identity = id
	}
	b, err := json.Marshal(res)
	if err != nil {
		return "", err
	}
	if err := s.kv.Update(func(tx store.Tx) error { return tx.Put(bucket, resultKey(rec.Session, rec.Provider), b) }); err != nil {
		return "", fmt.Errorf("federation: storing the login result: %w", err)
	}
	return rec.Session, nil
}

// exchange turns the provider's answer into a verified identity, or says
// why not (a reason safe to log and to keep: no code, token or secret).
func (s *Service) exchange(ctx context.Context, rec *stateRecord, q url.Values) (*engine.FederatedIdentity, string) {
	if e := q.Get("error"); e != "" {
		return nil, "the provider answered " + clip(e)
	}
	code := q.Get("code")
	if code == "" {
		return nil, "the provider sent no code"
	}
	u, err := s.upstream(rec.Provider)
	if err != nil {
		return nil, err.Error()
	}
	ctx = oidc.ClientContext(ctx, s.client)
	var opts []oauth2.AuthCodeOption
	if rec.Verifier != "" {
		opts = append(opts, oauth2.VerifierOption(rec.Verifier))
	}
	tok, err := u.oauth.Exchange(ctx, code, opts...)
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.ErrorCode != "" {
			return nil, "the code exchange was refused: " + clip(re.ErrorCode)
		}
		return nil, "the code exchange failed"
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, "the token response holds no ID token"
	}
	idt, err := u.verifier.Verify(ctx, raw)
	if err != nil {
		return nil, "the ID token did not verify: " + clip(err.Error())
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(rec.Nonce)) != 1 {
		return nil, "the ID token's nonce does not match the login's"
	}
	if idt.AccessTokenHash != "" {
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			return nil, "the ID token's at_hash does not match the access token"
		}
	}
	var c claims
	if err := idt.Claims(&c); err != nil {
		return nil, "the ID token's claims could not be read"
	}
	id := &engine.FederatedIdentity{Provider: rec.Provider, Issuer: idt.Issuer, Subject: idt.Subject}
	c.apply(id)
	if u.provider.UserInfoEndpoint() != "" {
		ui, err := u.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			return nil, "userinfo could not be fetched"
		}
		if ui.Subject != idt.Subject {
			return nil, "userinfo is about another subject than the ID token"
		}
		var uc claims
		if err := ui.Claims(&uc); err != nil {
			return nil, "userinfo could not be read"
		}
		uc.apply(id)
	}
	if id.EmailVerified == nil && id.Email != "" && u.conf.AssumeEmailVerified {
		// The provider never says, and its configuration vouches for it.
		yes := true
		id.EmailVerified = &yes
	}
	return id, ""
}

// claims are the standard claims federated_login maps users with.
type claims struct {
	Email             string        `json:"email"`
	EmailVerified     *flexibleBool `json:"email_verified"`
	Name              string        `json:"name"`
	PreferredUsername string        `json:"preferred_username"`
}

// apply copies the claims that are present over id's.
func (c *claims) apply(id *engine.FederatedIdentity) {
	if c.Email != "" {
		id.Email = c.Email
	}
	if c.EmailVerified != nil {
		v := bool(*c.EmailVerified)
		id.EmailVerified = &v
	}
	if c.Name != "" {
		id.Name = c.Name
	}
	if c.PreferredUsername != "" {
		id.PreferredUsername = c.PreferredUsername
	}
}

// flexibleBool reads true/false and "true"/"false" (some providers send
// email_verified as a string).
type flexibleBool bool

func (b *flexibleBool) UnmarshalJSON(d []byte) error {
	switch strings.Trim(string(d), `"`) {
	case "true":
		*b = true
	case "false":
		*b = false
	default:
		return fmt.Errorf("not a boolean: %s", clip(string(d)))
	}
	return nil
}

// clip bounds text from the provider before it reaches a log line.
func clip(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// Handler serves CallbackPath for sessions of the JSON journey API (the
// OAuth login pages answer it themselves, see protocols/oauth): it
// completes the upstream login and tells the user to return to the
// application, which then answers the redirect callback. A callback for a
// login-page session is refused here: only the browser that started it may
// complete it.
func (s *Service) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", http.MethodGet)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		_, err := s.Complete(r.Context(), r.URL.Query(), time.Now().UTC(), func(_, protocol string) error {
			if protocol == engine.FrontendOAuth {
				return ErrBadState
			}
			return nil
		})
		if err != nil {
			status := http.StatusBadRequest
			if !errors.Is(err, ErrBadState) {
				s.log.Error("completing an upstream login", "err", err)
				status = http.StatusInternalServerError
			}
			Page(w, status, "This sign-in link is not valid", "It was already used, has expired, or belongs to another sign-in. Return to the application and start again.")
			return
		}
		Page(w, http.StatusOK, "Signed in at your identity provider", "Return to the application to continue.")
	})
}

var pageTmpl = template.Must(template.New("p").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.H}}</title></head><body><main><h1>{{.H}}</h1><p>{{.M}}</p></main></body></html>
`))

// Page writes a minimal HTML page (no scripts, not cached, not framed).
func Page(w http.ResponseWriter, status int, heading, msg string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	_ = pageTmpl.Execute(w, struct{ H, M string }{heading, msg})
}
