// Package storage keeps everything fosite stores — authorization codes, PKCE
// and OpenID Connect sessions, access and refresh tokens, client assertion
// ids — in the project's store.KV (bbolt in production), in buckets named
// oauth_*. Nothing lives only in memory, so a restart loses no grant.
//
// fosite reads a code or a refresh token before it opens its write
// transaction, so two requests can both see the same code as active. The
// store closes that race: it implements fosite's storage.Transactional by
// collecting a transaction's writes and applying them in one store
// transaction at Commit, where invalidating a code and rotating a refresh
// token check the active flag and flip it together. The loser of the race
// gets ErrConflict. Tokens are signed and requests are encoded before the
// transaction begins; inside it there is only byte copying.
//
// Parallel refreshes of one refresh token within RefreshGrace of its first
// use all succeed (as Ory Hydra's rotation grace period), so a client
// refreshing from two tabs is not logged out; a use after the grace window
// is reuse, and fosite then revokes the whole grant.
package storage

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/handler/pkce"
	fstorage "github.com/ory/fosite/storage"

	"github.com/authd/authd/engine/store"
)

// Buckets this package owns.
const (
	BucketCodes   = "oauth_codes"
	BucketPKCE    = "oauth_pkce"
	BucketOIDC    = "oauth_oidc"
	BucketAccess  = "oauth_access"
	BucketRefresh = "oauth_refresh"
	BucketJTI     = "oauth_jti"
	// BucketFamily indexes tokens by the request id of their grant
	// (request id, 0, kind, signature), so revoking a grant finds them all.
	BucketFamily = "oauth_family"
	// BucketExpiry indexes records by expiry (8 bytes big-endian unix
	// nanos, kind, key) for Sweep.
	BucketExpiry = "oauth_expiry"
)

// kinds name a record's bucket in the index keys.
const (
	kindCode    byte = 'c'
	kindPKCE    byte = 'p'
	kindOIDC    byte = 'o'
	kindAccess  byte = 'a'
	kindRefresh byte = 'r'
	kindJTI     byte = 'j'
)

func bucketOf(kind byte) string {
	switch kind {
	case kindCode:
		return BucketCodes
	case kindPKCE:
		return BucketPKCE
	case kindOIDC:
		return BucketOIDC
	case kindAccess:
		return BucketAccess
	case kindRefresh:
		return BucketRefresh
	case kindJTI:
		return BucketJTI
	}
	return ""
}

// DefaultRefreshGrace is how long a rotated refresh token still works, for
// clients that refresh from several tabs or retry after a lost response.
const DefaultRefreshGrace = 10 * time.Second

// DefaultReuseWindow is how long a used refresh token that never expires
// is kept for reuse detection before Sweep may drop it.
const DefaultReuseWindow = 30 * 24 * time.Hour

// ErrConflict is returned by Commit when a concurrent request used the
// same authorization code, or the same refresh token after its grace
// window, first. The caller answers invalid_grant.
var ErrConflict = errors.New("the authorization code or refresh token was used by a concurrent request")

// Options configure a Store.
type Options struct {
	// Clients looks a client up by id (fosite.ErrNotFound when unknown).
	Clients func(ctx context.Context, id string) (fosite.Client, error)
	// Authenticate checks a resource owner's credentials for the password
	// grant and returns the subject (fosite.ErrNotFound when they are wrong).
	Authenticate func(ctx context.Context, name, secret string) (string, error)
	// NewSession returns an empty session to decode into when fosite passes
	// none.
	NewSession func() fosite.Session
	// Now is the clock (default time.Now).
	Now func() time.Time
	// RefreshGrace: see DefaultRefreshGrace. Negative disables it.
	RefreshGrace time.Duration
	// CodeLifespan bounds codes whose session carries no expiry (fosite
	// always sets one; this is the fallback for the index).
	CodeLifespan time.Duration
	// AccessLifespan and RefreshLifespan are the token lifetimes of a
	// client that names none of its own (fosite.ClientWithCustomTokenLifespans,
	// where a negative lifetime is never), for tokens whose session carries
	// no expiry: see fallbackExpiry. Defaults 1 h and 30 days; a negative
	// RefreshLifespan is never.
	AccessLifespan  time.Duration
	RefreshLifespan time.Duration
	Log             *slog.Logger
}

// Store implements every fosite storage interface authd composes.
type Store struct {
	kv   store.KV
	opts Options
	// recheck: refresh tokens stored without an expiry are to be given the
	// one their client's lifetime implies at the next Sweep (at start, and
	// after ClientsChanged); see expireUnexpiring.
	recheck atomic.Bool
}

var (
	_ fosite.Storage                                      = (*Store)(nil)
	_ oauth2.CoreStorage                                  = (*Store)(nil)
	_ oauth2.TokenRevocationStorage                       = (*Store)(nil)
	_ oauth2.ResourceOwnerPasswordCredentialsGrantStorage = (*Store)(nil)
	_ pkce.PKCERequestStorage                             = (*Store)(nil)
	_ openid.OpenIDConnectRequestStorage                  = (*Store)(nil)
	_ fstorage.Transactional                              = (*Store)(nil)
)

// New returns a Store on kv.
func New(kv store.KV, opts Options) *Store {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.RefreshGrace == 0 {
		opts.RefreshGrace = DefaultRefreshGrace
	}
	if opts.CodeLifespan <= 0 {
		opts.CodeLifespan = 10 * time.Minute
	}
	if opts.AccessLifespan <= 0 {
		opts.AccessLifespan = time.Hour
	}
	if opts.RefreshLifespan == 0 {
		opts.RefreshLifespan = 30 * 24 * time.Hour
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.NewSession == nil {
		opts.NewSession = func() fosite.Session { return openid.NewDefaultSession() }
	}
	s := &Store{kv: kv, opts: opts}
	s.recheck.Store(true)
	return s
}

// ---- transactions ----

type txKey struct{}

// pending collects the writes of one fosite transaction.
type pending struct {
	ops []op
}

// op is one write, run inside the store transaction at Commit (or at once
// outside a transaction). Ops must be deterministic in the transaction's
// state: store.KV.Batch may run them more than once.
type op func(tx store.Tx, now int64) error

// BeginTX starts collecting writes in the returned context.
func (s *Store) BeginTX(ctx context.Context) (context.Context, error) {
	if p, _ := ctx.Value(txKey{}).(*pending); p != nil {
		return ctx, nil // fosite never nests; keep one transaction if it did
	}
	return context.WithValue(ctx, txKey{}, &pending{}), nil
}

// Commit applies the collected writes in one store transaction; a failed
// check (a code already used) rolls all of them back.
func (s *Store) Commit(ctx context.Context) error {
	p, _ := ctx.Value(txKey{}).(*pending)
	if p == nil {
		return errors.New("storage: commit without a transaction")
	}
	ops := p.ops
	p.ops = nil
	if len(ops) == 0 {
		return nil
	}
	return s.apply(ops)
}

// Rollback drops the collected writes.
func (s *Store) Rollback(ctx context.Context) error {
	if p, _ := ctx.Value(txKey{}).(*pending); p != nil {
		p.ops = nil
	}
	return nil
}

// write runs o in the context's transaction, or alone in a batched one.
func (s *Store) write(ctx context.Context, o op) error {
	if p, _ := ctx.Value(txKey{}).(*pending); p != nil {
		p.ops = append(p.ops, o)
		return nil
	}
	return s.apply([]op{o})
}

// apply runs ops atomically through store.KV.Batch, so the writes of
// concurrent requests share one commit (one fsync) while each request's
// ops stay all-or-nothing: the store's group commit runs a failing function
// (a code already used) again alone and commits the others without it.
func (s *Store) apply(ops []op) error {
	return s.kv.Batch(func(tx store.Tx) error {
		now := s.opts.Now().UnixNano()
		for _, o := range ops {
			if err := o(tx, now); err != nil {
				return err
			}
		}
		return nil
	})
}

// ---- record plumbing ----

func expiryKey(exp int64, kind byte, key string) []byte {
	k := make([]byte, 9, 9+len(key))
	binary.BigEndian.PutUint64(k, uint64(exp))
	k[8] = kind
	return append(k, key...)
}

func familyKey(requestID string, kind byte, key string) []byte {
	k := make([]byte, 0, len(requestID)+2+len(key))
	k = append(k, requestID...)
	k = append(k, 0, kind)
	return append(k, key...)
}

func familyPrefix(requestID string, kind byte) []byte {
	return append(append([]byte(requestID), 0), kind)
}

// newRecord encodes req for kind, outside any transaction.
func (s *Store) newRecord(req fosite.Requester, kind byte, accessSig string) ([]byte, *record, error) {
	body, err := marshalRequest(req)
	if err != nil {
		return nil, nil, fmt.Errorf("storage: encoding request: %w", err)
	}
	r := &record{active: true, requestID: req.GetID(), accessSig: accessSig, body: body}
	r.expires = s.expiryOf(req, kind)
	return r.encode(), r, nil
}

// expiryOf is when the record of req ends (unix nanos; 0: never), for its
// header and the expiry index.
func (s *Store) expiryOf(req fosite.Requester, kind byte) int64 {
	var exp time.Time
	sess := req.GetSession()
	switch kind {
	case kindCode, kindPKCE, kindOIDC:
		if sess != nil {
			exp = sess.GetExpiresAt(fosite.AuthorizeCode)
		}
		if exp.IsZero() {
			exp = req.GetRequestedAt().Add(s.opts.CodeLifespan)
		}
	case kindAccess, kindRefresh:
		tt := tokenType(kind)
		if sess != nil {
			exp = sess.GetExpiresAt(tt)
		}
		if exp.IsZero() {
			exp = s.fallbackExpiry(req.GetClient(), req.GetRequestedAt(), tt)
		}
		if exp.IsZero() {
			return 0 // never expires
		}
		if kind == kindRefresh {
			exp = s.withGrace(exp)
		}
	}
	return exp.UnixNano()
}

// withGrace keeps a refresh token's record past its expiry by the grace
// window, so a parallel refresh that read it just before still finds it.
func (s *Store) withGrace(exp time.Time) time.Time {
	return exp.Add(max(s.opts.RefreshGrace, 0))
}

// tokenType is the token type of an access or refresh token record ("" for
// other kinds).
func tokenType(kind byte) fosite.TokenType {
	switch kind {
	case kindAccess:
		return fosite.AccessToken
	case kindRefresh:
		return fosite.RefreshToken
	}
	return ""
}

// unnamedExpiry is the expiry of a token whose stored session names none
// (zero: never): fallbackExpiry, or the record's own expiry (less the
// grace window for a refresh token) when that is earlier — the lifetime
// the token was stored with, or an earlier build's fallback for access
// tokens — so a token never outlives its record: the sweeper drops the
// record then. Not that of a rotated refresh token: it may be the reuse
// window (DefaultReuseWindow), and a refresh within the grace window
// passes the expiry on to the new token.
func (s *Store) unnamedExpiry(r *record, c fosite.Client, issued time.Time, tt fosite.TokenType) time.Time {
	exp := s.fallbackExpiry(c, issued, tt)
	if r.expires != 0 && r.usedAt == 0 {
		stored := time.Unix(0, r.expires).UTC()
		if tt == fosite.RefreshToken {
			stored = stored.Add(-max(s.opts.RefreshGrace, 0))
		}
		if exp.IsZero() || stored.Before(exp) {
			exp = stored
		}
	}
	return exp
}

// fallbackExpiry is the expiry of an access or refresh token whose session
// names none: its issue time plus the lifetime its client is configured
// with now (Options.AccessLifespan or RefreshLifespan for a client that
// names none); zero when that lifetime is never (negative). fosite always
// sets an expiry unless the lifetime is never, so a token without one
// either never expires or lost its expiry — to a bug (as code exchanges
// before e003541 did), or to a client whose lifetime was never when the
// token was issued and no longer is. Either way, it must end when its
// client's lifetime says.
func (s *Store) fallbackExpiry(c fosite.Client, issued time.Time, tt fosite.TokenType) time.Time {
	def := s.opts.AccessLifespan
	if tt == fosite.RefreshToken {
		def = s.opts.RefreshLifespan
	}
	// The record keeps no grant type (fosite stores sanitized forms);
	// authd's clients have one lifetime per token type.
	d := fosite.GetEffectiveLifespan(c, "", tt, def)
	if d < 0 {
		return time.Time{}
	}
	return issued.Add(d)
}

// put stores a fresh record with its index entries.
func put(tx store.Tx, kind byte, key string, val []byte, r *record) error {
	if err := tx.Put(bucketOf(kind), []byte(key), val); err != nil {
		return err
	}
	if r.expires != 0 {
		if err := tx.Put(BucketExpiry, expiryKey(r.expires, kind, key), nil); err != nil {
			return err
		}
	}
	if (kind == kindAccess || kind == kindRefresh) && r.requestID != "" {
		if err := tx.Put(BucketFamily, familyKey(r.requestID, kind, key), nil); err != nil {
			return err
		}
	}
	return nil
}

// del removes a record and its index entries; a missing record is fine.
func del(tx store.Tx, kind byte, key string) error {
	v := tx.Get(bucketOf(kind), []byte(key))
	if v == nil {
		return nil
	}
	h, err := decodeHeader(v)
	if err == nil {
		if h.expires != 0 {
			if err := tx.Delete(BucketExpiry, expiryKey(h.expires, kind, key)); err != nil {
				return err
			}
		}
		if h.requestID != "" && (kind == kindAccess || kind == kindRefresh) {
			if err := tx.Delete(BucketFamily, familyKey(h.requestID, kind, key)); err != nil {
				return err
			}
		}
	}
	return tx.Delete(bucketOf(kind), []byte(key))
}

// load reads a record outside any transaction.
func (s *Store) load(kind byte, key string) (*record, error) {
	var r *record
	err := s.kv.View(func(tx store.Tx) error {
		v := tx.Get(bucketOf(kind), []byte(key))
		if v == nil {
			return nil
		}
		var err error
		r, err = decodeRecord(v)
		return err
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// hydrate turns a record back into a fosite request, decoding the session
// into session (or a fresh one). For an access or refresh token (tt) whose
// session names no expiry it sets one (see unnamedExpiry), so fosite
// refuses the token after it and introspection shows it.
func (s *Store) hydrate(ctx context.Context, r *record, tt fosite.TokenType, session fosite.Session) (fosite.Requester, error) {
	sr, err := unmarshalRequest(r.body)
	if err != nil {
		return nil, fmt.Errorf("storage: decoding request: %w", err)
	}
	client, err := s.opts.Clients(ctx, sr.ClientID)
	if err != nil {
		// The relying party is gone from the configuration: its grants
		// die with it.
		return nil, fosite.ErrNotFound.WithWrap(err)
	}
	if session == nil {
		session = s.opts.NewSession()
	}
	if len(sr.Session) > 0 {
		if err := decodeSession(sr.Session, session); err != nil {
			return nil, fmt.Errorf("storage: decoding session: %w", err)
		}
	}
	if tt != "" && session.GetExpiresAt(tt).IsZero() {
		if exp := s.unnamedExpiry(r, client, sr.RequestedAt, tt); !exp.IsZero() {
			session.SetExpiresAt(tt, exp)
		}
	}
	form := url.Values{}
	if sr.Form != "" {
		if form, err = url.ParseQuery(sr.Form); err != nil {
			return nil, fmt.Errorf("storage: decoding form: %w", err)
		}
	}
	return &fosite.Request{
		ID:                sr.ID,
		RequestedAt:       sr.RequestedAt,
		Client:            client,
		RequestedScope:    sr.Scopes,
		GrantedScope:      sr.GrantedScopes,
		Form:              form,
		Session:           session,
		RequestedAudience: sr.Audience,
		GrantedAudience:   sr.GrantedAudience,
	}, nil
}

func (s *Store) get(ctx context.Context, kind byte, key string, session fosite.Session) (fosite.Requester, *record, error) {
	r, err := s.load(kind, key)
	if err != nil {
		return nil, nil, err
	}
	if r == nil {
		return nil, nil, fosite.ErrNotFound
	}
	req, err := s.hydrate(ctx, r, tokenType(kind), session)
	if err != nil {
		return nil, nil, err
	}
	return req, r, nil
}

func (s *Store) create(ctx context.Context, kind byte, key, accessSig string, req fosite.Requester) error {
	val, r, err := s.newRecord(req, kind, accessSig)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx store.Tx, _ int64) error { return put(tx, kind, key, val, r) })
}

func (s *Store) remove(ctx context.Context, kind byte, key string) error {
	return s.write(ctx, func(tx store.Tx, _ int64) error { return del(tx, kind, key) })
}

// ---- fosite.ClientManager ----

// GetClient looks the client up in the configuration.
func (s *Store) GetClient(ctx context.Context, id string) (fosite.Client, error) {
	return s.opts.Clients(ctx, id)
}

// ClientAssertionJWTValid reports fosite.ErrJTIKnown for a client assertion
// id seen before and not yet expired.
func (s *Store) ClientAssertionJWTValid(_ context.Context, jti string) error {
	r, err := s.load(kindJTI, hashKey(jti))
	if err != nil {
		return err
	}
	if r != nil && (r.expires == 0 || r.expires > s.opts.Now().UnixNano()) {
		return fosite.ErrJTIKnown
	}
	return nil
}

// SetClientAssertionJWT remembers a client assertion id until exp.
func (s *Store) SetClientAssertionJWT(ctx context.Context, jti string, exp time.Time) error {
	r := &record{active: true, expires: exp.UnixNano()}
	val := r.encode()
	key := hashKey(jti)
	return s.write(ctx, func(tx store.Tx, _ int64) error {
		if err := del(tx, kindJTI, key); err != nil {
			return err
		}
		return put(tx, kindJTI, key, val, r)
	})
}

// ---- authorization codes ----

// CreateAuthorizeCodeSession stores a new, active code.
func (s *Store) CreateAuthorizeCodeSession(ctx context.Context, signature string, req fosite.Requester) error {
	return s.create(ctx, kindCode, signature, "", req)
}

// GetAuthorizeCodeSession returns the code's request; for a used code it
// returns the request too, with fosite.ErrInvalidatedAuthorizeCode, so
// fosite can revoke what the code granted.
func (s *Store) GetAuthorizeCodeSession(ctx context.Context, signature string, session fosite.Session) (fosite.Requester, error) {
	req, r, err := s.get(ctx, kindCode, signature, session)
	if err != nil {
		return nil, err
	}
	if !r.active {
		return req, fosite.ErrInvalidatedAuthorizeCode
	}
	return req, nil
}

// InvalidateAuthorizeCodeSession marks the code used — failing with
// ErrConflict if it already was — and drops its PKCE session, all in the
// caller's transaction.
func (s *Store) InvalidateAuthorizeCodeSession(ctx context.Context, signature string) error {
	key := []byte(signature)
	return s.write(ctx, func(tx store.Tx, now int64) error {
		v := tx.Get(BucketCodes, key)
		if v == nil {
			return fosite.ErrNotFound
		}
		h, err := decodeHeader(v)
		if err != nil {
			return err
		}
		if !h.active {
			return ErrConflict
		}
		if err := tx.Put(BucketCodes, key, withFlags(v, false, now, h.expires)); err != nil {
			return err
		}
		return del(tx, kindPKCE, signature)
	})
}

// ---- PKCE ----

// CreatePKCERequestSession stores the code challenge of a code.
func (s *Store) CreatePKCERequestSession(ctx context.Context, signature string, req fosite.Requester) error {
	return s.create(ctx, kindPKCE, signature, "", req)
}

// GetPKCERequestSession returns the code challenge's request.
func (s *Store) GetPKCERequestSession(ctx context.Context, signature string, session fosite.Session) (fosite.Requester, error) {
	req, _, err := s.get(ctx, kindPKCE, signature, session)
	return req, err
}

// DeletePKCERequestSession does nothing: fosite calls it before it checks
// the verifier, so deleting here would let a second attempt without any
// verifier pass. The PKCE session goes when the code is used (see
// InvalidateAuthorizeCodeSession) or expires.
func (s *Store) DeletePKCERequestSession(context.Context, string) error { return nil }

// ---- OpenID Connect sessions ----

// CreateOpenIDConnectSession stores the OIDC part of an authorization. fosite
// keys it by the code itself, so the store keys it by the code's hash.
func (s *Store) CreateOpenIDConnectSession(ctx context.Context, code string, req fosite.Requester) error {
	return s.create(ctx, kindOIDC, hashKey(code), "", req)
}

// GetOpenIDConnectSession returns the OIDC part of an authorization.
func (s *Store) GetOpenIDConnectSession(ctx context.Context, code string, requester fosite.Requester) (fosite.Requester, error) {
	var sess fosite.Session
	if requester != nil {
		sess = requester.GetSession()
	}
	req, _, err := s.get(ctx, kindOIDC, hashKey(code), sess)
	return req, err
}

// DeleteOpenIDConnectSession removes it once the ID token is issued.
func (s *Store) DeleteOpenIDConnectSession(ctx context.Context, code string) error {
	return s.remove(ctx, kindOIDC, hashKey(code))
}

// ---- access tokens ----

// CreateAccessTokenSession stores an access token by its signature.
func (s *Store) CreateAccessTokenSession(ctx context.Context, signature string, req fosite.Requester) error {
	return s.create(ctx, kindAccess, signature, "", req)
}

// GetAccessTokenSession returns the token's request, or fosite.ErrNotFound
// when it was never issued, revoked or swept.
func (s *Store) GetAccessTokenSession(ctx context.Context, signature string, session fosite.Session) (fosite.Requester, error) {
	req, _, err := s.get(ctx, kindAccess, signature, session)
	return req, err
}

// DeleteAccessTokenSession removes one access token.
func (s *Store) DeleteAccessTokenSession(ctx context.Context, signature string) error {
	return s.remove(ctx, kindAccess, signature)
}

// RevokeAccessToken removes every access token of the grant.
func (s *Store) RevokeAccessToken(ctx context.Context, requestID string) error {
	return s.write(ctx, func(tx store.Tx, _ int64) error { return revokeFamily(tx, requestID, kindAccess) })
}

func revokeFamily(tx store.Tx, requestID string, kind byte) error {
	if requestID == "" {
		return nil
	}
	prefix := familyPrefix(requestID, kind)
	var keys []string
	err := tx.ForEach(BucketFamily, prefix, func(k, _ []byte) error {
		keys = append(keys, string(k[len(prefix):]))
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := del(tx, kind, k); err != nil {
			return err
		}
		// del found no record when the record went first; the index
		// entry must go anyway.
		if err := tx.Delete(BucketFamily, familyKey(requestID, kind, k)); err != nil {
			return err
		}
	}
	return nil
}

// ---- refresh tokens ----

// CreateRefreshTokenSession stores a refresh token, remembering the access
// token issued with it. A client that may not use the refresh_token grant
// gets none stored (fosite's password grant issues one regardless; the
// provider also drops it from the response).
func (s *Store) CreateRefreshTokenSession(ctx context.Context, signature, accessSignature string, req fosite.Requester) error {
	if c := req.GetClient(); c != nil && !c.GetGrantTypes().Has("refresh_token") {
		return nil
	}
	return s.create(ctx, kindRefresh, signature, accessSignature, req)
}

// GetRefreshTokenSession returns the token's request. A rotated token still
// works within the grace window; after it, the request comes back with
// fosite.ErrInactiveToken, which makes fosite revoke the grant.
func (s *Store) GetRefreshTokenSession(ctx context.Context, signature string, session fosite.Session) (fosite.Requester, error) {
	req, r, err := s.get(ctx, kindRefresh, signature, session)
	if err != nil {
		return nil, err
	}
	if !r.active && !s.inGrace(r.usedAt, s.opts.Now().UnixNano()) {
		return req, fosite.ErrInactiveToken
	}
	return req, nil
}

func (s *Store) inGrace(usedAt, now int64) bool {
	return s.opts.RefreshGrace > 0 && usedAt != 0 && now-usedAt <= int64(s.opts.RefreshGrace)
}

// DeleteRefreshTokenSession removes one refresh token.
func (s *Store) DeleteRefreshTokenSession(ctx context.Context, signature string) error {
	return s.remove(ctx, kindRefresh, signature)
}

// RotateRefreshToken marks the presented refresh token used and removes the
// access token issued with it. Within the grace window a second rotation
// of the same token is allowed and changes nothing; after it, ErrConflict.
func (s *Store) RotateRefreshToken(ctx context.Context, _ string, signature string) error {
	key := []byte(signature)
	reuse := int64(DefaultReuseWindow)
	return s.write(ctx, func(tx store.Tx, now int64) error {
		v := tx.Get(BucketRefresh, key)
		if v == nil {
			return fosite.ErrNotFound
		}
		h, err := decodeHeader(v)
		if err != nil {
			return err
		}
		if !h.active {
			if s.inGrace(h.usedAt, now) {
				return nil
			}
			return ErrConflict
		}
		exp := h.expires
		if exp == 0 {
			// A token that never expires is kept for reuse detection for a
			// while, then swept.
			exp = now + reuse
			if err := tx.Put(BucketExpiry, expiryKey(exp, kindRefresh, signature), nil); err != nil {
				return err
			}
		}
		if err := tx.Put(BucketRefresh, key, withFlags(v, false, now, exp)); err != nil {
			return err
		}
		if h.accessSig != "" {
			return del(tx, kindAccess, h.accessSig)
		}
		return nil
	})
}

// RevokeRefreshToken removes every refresh token of the grant.
func (s *Store) RevokeRefreshToken(ctx context.Context, requestID string) error {
	return s.write(ctx, func(tx store.Tx, _ int64) error { return revokeFamily(tx, requestID, kindRefresh) })
}

// RevokeGrant removes every access and refresh token of a grant at once,
// for the provider's own reuse handling.
func (s *Store) RevokeGrant(ctx context.Context, requestID string) error {
	return s.write(ctx, func(tx store.Tx, _ int64) error {
		if err := revokeFamily(tx, requestID, kindAccess); err != nil {
			return err
		}
		return revokeFamily(tx, requestID, kindRefresh)
	})
}

// ---- resource owner password ----

// Authenticate checks a user's credentials for the password grant.
func (s *Store) Authenticate(ctx context.Context, name, secret string) (string, error) {
	if s.opts.Authenticate == nil {
		return "", fosite.ErrNotFound.WithHint("The password grant is not available.")
	}
	return s.opts.Authenticate(ctx, name, secret)
}

// ---- sweeping ----

// Sweep deletes records that expired before now and returns how many went.
// Its first run (and the first after ClientsChanged) also gives refresh
// tokens stored without an expiry the one their client's lifetime implies
// (see expireUnexpiring), so they are swept too once it has passed.
func (s *Store) Sweep(now time.Time) (int, error) {
	if s.recheck.Swap(false) {
		if n, err := s.expireUnexpiring(); err != nil {
			s.recheck.Store(true) // again at the next sweep
			s.opts.Log.Error("giving oauth refresh tokens stored without an expiry one", "err", err)
		} else if n > 0 {
			s.opts.Log.Info("gave oauth refresh tokens stored without an expiry the one their client's lifetime implies", "count", n)
		}
	}
	var keys [][]byte
	limit := now.UnixNano()
	err := s.kv.View(func(tx store.Tx) error {
		return tx.ForEach(BucketExpiry, nil, func(k, _ []byte) error {
			if len(k) < 9 || int64(binary.BigEndian.Uint64(k[:8])) >= limit {
				return store.ErrStop
			}
			keys = append(keys, append([]byte(nil), k...))
			return nil
		})
	})
	if err != nil || len(keys) == 0 {
		return 0, err
	}
	const chunk = 500
	for i := 0; i < len(keys); i += chunk {
		part := keys[i:min(i+chunk, len(keys))]
		if err := s.kv.Update(func(tx store.Tx) error {
			for _, k := range part {
				kind, key := k[8], string(k[9:])
				// The record may have been given a new expiry since (a
				// rotated refresh token): only delete it at its own.
				if v := tx.Get(bucketOf(kind), []byte(key)); v != nil {
					if h, err := decodeHeader(v); err == nil && h.expires == int64(binary.BigEndian.Uint64(k[:8])) {
						if err := del(tx, kind, key); err != nil {
							return err
						}
					}
				}
				if err := tx.Delete(BucketExpiry, k); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return i, err
		}
	}
	return len(keys), nil
}

// ClientsChanged tells the store that the clients' lifetimes may have
// changed (a configuration reload): the next Sweep looks at the refresh
// tokens stored without an expiry again, for a client whose
// refresh_token_ttl is no longer never.
func (s *Store) ClientsChanged() { s.recheck.Store(true) }

// expireUnexpiring gives every refresh token stored without an expiry
// whose client's lifetime is not never the expiry hydrate gives it (issue
// time + lifetime, plus the grace window, see fallbackExpiry), with its
// expiry index entry, and returns how many it changed. Such a token has no
// index entry, so Sweep would never find it: the store holds them when a
// build before e003541 issued them (code exchanges stored tokens without
// expiry) or when their client's lifetime was never then.
//
// It reads every refresh token's header, so Sweep runs it once per process
// and after ClientsChanged, not at every sweep; records it changes are
// found through the index from then on. (Access tokens always got an index
// entry, at issue + Options.AccessLifespan; codes too.)
func (s *Store) expireUnexpiring() (int, error) {
	type candidate struct {
		key      []byte
		clientID string
		issued   time.Time
	}
	var cands []candidate
	err := s.kv.View(func(tx store.Tx) error {
		return tx.ForEach(BucketRefresh, nil, func(k, v []byte) error {
			if h, err := decodeHeader(v); err != nil || h.expires != 0 {
				return nil
			}
			r, err := decodeRecord(v)
			if err != nil {
				return nil
			}
			sr, err := unmarshalRequest(r.body)
			if err != nil {
				return nil
			}
			cands = append(cands, candidate{append([]byte(nil), k...), sr.ClientID, sr.RequestedAt})
			return nil
		})
	})
	if err != nil || len(cands) == 0 {
		return 0, err
	}
	type change struct {
		key []byte
		exp int64
	}
	var changes []change
	for _, c := range cands {
		// A client no longer configured gets the default lifetime: its
		// tokens do not work now, but the client may come back.
		client, err := s.opts.Clients(context.Background(), c.clientID)
		if err != nil {
			client = nil
		}
		if exp := s.fallbackExpiry(client, c.issued, fosite.RefreshToken); !exp.IsZero() {
			changes = append(changes, change{c.key, s.withGrace(exp).UnixNano()})
		}
	}
	n := 0
	const chunk = 500
	for i := 0; i < len(changes); i += chunk {
		part := changes[i:min(i+chunk, len(changes))]
		m := 0
		if err := s.kv.Update(func(tx store.Tx) error {
			m = 0
			for _, c := range part {
				// Rotated, revoked or given an expiry since it was read:
				// leave it.
				v := tx.Get(BucketRefresh, c.key)
				if v == nil {
					continue
				}
				h, err := decodeHeader(v)
				if err != nil || h.expires != 0 {
					continue
				}
				if err := tx.Put(BucketRefresh, c.key, withFlags(v, h.active, h.usedAt, c.exp)); err != nil {
					return err
				}
				if err := tx.Put(BucketExpiry, expiryKey(c.exp, kindRefresh, string(c.key)), nil); err != nil {
					return err
				}
				m++
			}
			return nil
		}); err != nil {
			return n, err
		}
		n += m
	}
	return n, nil
}

// RunSweeper sweeps every interval until ctx ends.
func (s *Store) RunSweeper(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := s.Sweep(s.opts.Now()); err != nil {
				s.opts.Log.Error("sweeping oauth records", "err", err)
			} else if n > 0 {
				s.opts.Log.Debug("swept oauth records", "count", n)
			}
		}
	}
}

// hashKey keys records by a hash of a secret value (a code, a jti), so the
// store never holds the value itself.
func hashKey(s string) string {
	sum := sha256.Sum256([]byte(s))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
