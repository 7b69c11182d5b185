package oauth

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/authd/authd/engine/store"
)

// Buckets of the browser side.
const (
	// bucketAuthz holds authorizations waiting for their journey, keyed by
	// an opaque id that appears in the login page URLs.
	bucketAuthz = "oauth_authz"
	// bucketSSO holds single sign-on sessions, keyed by the hash of the
	// cookie value (the store never holds the cookie itself).
	bucketSSO = "oauth_sso"
)

// Cookies. On an https issuer the names carry the __Host- prefix, which
// browsers accept only on a Secure cookie with Path=/ and no Domain: a
// sibling subdomain (or a plain-http page of the same host) can then
// neither plant a session or browser binding of its choice nor shadow
// authd's with a cookie of a more specific path. Plain-http issuers
// (loopback development) cannot use the prefix, which requires Secure, so
// they keep the bare names. Only the name in force is ever read: a bare
// authd_sso is no session on an https issuer.
const (
	cookieSSO     = "authd_sso"
	cookieBrowser = "authd_browser"
	hostPrefix    = "__Host-"
)

// cookieNames are the names and paths of the provider's cookies for its
// issuer's scheme.
type cookieNames struct {
	sso, browser string
	// browserPath is /oauth2/ where it can be (only the provider's pages
	// need the binding), / where the prefix demands it.
	browserPath string
}

func cookieNamesFor(secure bool) cookieNames {
	if secure {
		return cookieNames{sso: hostPrefix + cookieSSO, browser: hostPrefix + cookieBrowser, browserPath: "/"}
	}
	return cookieNames{sso: cookieSSO, browser: cookieBrowser, browserPath: "/oauth2/"}
}

// authz is an authorization request waiting for its journey.
type authz struct {
	ID string `json:"-"`
	// Query is the authorization request's parameters, replayed through
	// fosite once the journey succeeds.
	Query    string `json:"query"`
	ClientID string `json:"client_id"`
	// Session is the engine session running the journey.
	Session string `json:"session"`
	// Browser is the hash of the browser cookie the login started in; the
	// pages answer no other browser.
	Browser     string    `json:"browser"`
	RequestedAt time.Time `json:"requested_at"`
	Expires     time.Time `json:"expires"`
}

// ssoSession is a browser's single sign-on session.
type ssoSession struct {
	Realm    string    `json:"realm"`
	User     string    `json:"user"`
	AuthTime time.Time `json:"auth_time"`
	// Started is when the session began (its first journey): an ID token
	// issued before it belongs to an earlier session, which a logout hint
	// must not end this one with. Zero in sessions stored before it was
	// recorded.
	Started time.Time `json:"started,omitzero"`
	// Journeys are the journeys the browser passed; a relying party whose
	// journey is not among them runs it (a password-only login does not
	// satisfy a relying party that asks for a push).
	Journeys []string  `json:"journeys"`
	Expires  time.Time `json:"expires"`
}

func (s *ssoSession) satisfies(realm, journey string, now time.Time) bool {
	return s != nil && s.Realm == realm && now.Before(s.Expires) && slices.Contains(s.Journeys, journey)
}

// expiring is any record with an expiry, for sweepBucket.
type expiring struct {
	Expires time.Time `json:"expires"`
}

func sweepBucket(kv store.KV, bucket string, now time.Time) (int, error) {
	var dead [][]byte
	err := kv.View(func(tx store.Tx) error {
		return tx.ForEach(bucket, nil, func(k, v []byte) error {
			var e expiring
			if json.Unmarshal(v, &e) != nil || !now.Before(e.Expires) {
				dead = append(dead, append([]byte(nil), k...))
			}
			return nil
		})
	})
	if err != nil || len(dead) == 0 {
		return 0, err
	}
	err = kv.Update(func(tx store.Tx) error {
		for _, k := range dead {
			if err := tx.Delete(bucket, k); err != nil {
				return err
			}
		}
		return nil
	})
	return len(dead), err
}

func putJSON(kv store.KV, bucket, key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return kv.Batch(func(tx store.Tx) error { return tx.Put(bucket, []byte(key), raw) })
}

func getJSON(kv store.KV, bucket, key string, v any) (bool, error) {
	var raw []byte
	err := kv.View(func(tx store.Tx) error {
		if b := tx.Get(bucket, []byte(key)); b != nil {
			raw = append([]byte(nil), b...)
		}
		return nil
	})
	if err != nil || raw == nil {
		return false, err
	}
	return true, json.Unmarshal(raw, v)
}

func deleteKey(kv store.KV, bucket, key string) error {
	return kv.Batch(func(tx store.Tx) error { return tx.Delete(bucket, []byte(key)) })
}

var errNoAuthz = errors.New("no such authorization")

func (p *Provider) loadAuthz(id string, now time.Time) (*authz, error) {
	if id == "" || len(id) > 64 {
		return nil, errNoAuthz
	}
	a := new(authz)
	ok, err := getJSON(p.kv, bucketAuthz, id, a)
	if err != nil {
		return nil, err
	}
	if !ok || !now.Before(a.Expires) {
		return nil, errNoAuthz
	}
	a.ID = id
	return a, nil
}

func (p *Provider) saveAuthz(a *authz) error { return putJSON(p.kv, bucketAuthz, a.ID, a) }

func (p *Provider) dropAuthz(a *authz) {
	if err := deleteKey(p.kv, bucketAuthz, a.ID); err != nil {
		p.log.Error("deleting a finished authorization", "err", err)
	}
}

// ---- SSO ----

func hashCookie(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// sso returns the browser's SSO session and its key, or nil.
func (p *Provider) sso(r *http.Request, now time.Time) (*ssoSession, string) {
	ck, err := r.Cookie(p.cookies.sso)
	if err != nil || ck.Value == "" || len(ck.Value) > 128 {
		return nil, ""
	}
	key := hashCookie(ck.Value)
	s := new(ssoSession)
	ok, err := getJSON(p.kv, bucketSSO, key, s)
	if err != nil {
		p.log.Error("reading an SSO session", "err", err)
		return nil, ""
	}
	if !ok || !now.Before(s.Expires) {
		return nil, ""
	}
	return s, key
}

// remember records a successful journey in the browser's SSO session,
// starting a new one (new cookie) when the user or realm changed.
func (p *Provider) remember(w http.ResponseWriter, r *http.Request, realm, user, journey string, now time.Time) {
	s, key := p.sso(r, now)
	ttl := p.ssoTTL(realm)
	if s == nil || s.Realm != realm || s.User != user {
		value := randomID(32)
		key = hashCookie(value)
		s = &ssoSession{Realm: realm, User: user, Started: now.Truncate(time.Second)}
		http.SetCookie(w, &http.Cookie{
			Name: p.cookies.sso, Value: value, Path: "/", MaxAge: int(ttl / time.Second),
			HttpOnly: true, Secure: p.secure, SameSite: http.SameSiteLaxMode,
		})
		if old, err := r.Cookie(p.cookies.sso); err == nil && old.Value != "" {
			_ = deleteKey(p.kv, bucketSSO, hashCookie(old.Value))
		}
	}
	s.AuthTime = now.Truncate(time.Second)
	if !slices.Contains(s.Journeys, journey) {
		s.Journeys = append(s.Journeys, journey)
	}
	s.Expires = now.Add(ttl)
	if err := putJSON(p.kv, bucketSSO, key, s); err != nil {
		p.log.Error("storing an SSO session", "err", err)
	}
}

// forget ends the browser's SSO session.
func (p *Provider) forget(w http.ResponseWriter, r *http.Request) {
	if ck, err := r.Cookie(p.cookies.sso); err == nil && ck.Value != "" {
		if err := deleteKey(p.kv, bucketSSO, hashCookie(ck.Value)); err != nil {
			p.log.Error("deleting an SSO session", "err", err)
		}
	}
	http.SetCookie(w, &http.Cookie{
		Name: p.cookies.sso, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: p.secure, SameSite: http.SameSiteLaxMode,
	})
}

// ---- browser binding and CSRF ----

// browserID returns the browser's binding cookie, setting a new one when
// there is none. Login pages and CSRF tokens are bound to it.
func (p *Provider) browserID(w http.ResponseWriter, r *http.Request) string {
	if v := p.existingBrowserID(r); v != "" {
		return v
	}
	v := randomID(32)
	http.SetCookie(w, &http.Cookie{
		Name: p.cookies.browser, Value: v, Path: p.cookies.browserPath,
		HttpOnly: true, Secure: p.secure, SameSite: http.SameSiteLaxMode,
	})
	return v
}

// existingBrowserID returns the binding cookie without setting one.
func (p *Provider) existingBrowserID(r *http.Request) string {
	if ck, err := r.Cookie(p.cookies.browser); err == nil && len(ck.Value) >= 32 && len(ck.Value) <= 64 {
		return ck.Value
	}
	return ""
}

// csrfToken binds a form to the browser and to what it acts on (an
// authorization id, "logout").
func (p *Provider) csrfToken(browser, purpose string) string {
	h := hmac.New(sha256.New, p.macKey)
	h.Write([]byte("csrf\x00" + browser + "\x00" + purpose))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

func (p *Provider) csrfOK(r *http.Request, purpose string) bool {
	b := p.existingBrowserID(r)
	if b == "" {
		return false
	}
	want := p.csrfToken(b, purpose)
	got := r.PostFormValue("csrf")
	return subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}
