package oauth

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ory/fosite"
)

// discovery is /.well-known/openid-configuration (OpenID Connect
// Discovery 1.0), built from what the provider really supports.
func (p *Provider) discovery(w http.ResponseWriter, _ *http.Request) {
	set := p.clients.Load()
	doc := map[string]any{
		"issuer":                                         p.issuer,
		"authorization_endpoint":                         p.issuer + "/oauth2/authorize",
		"token_endpoint":                                 p.issuer + "/oauth2/token",
		"userinfo_endpoint":                              p.issuer + "/oauth2/userinfo",
		"jwks_uri":                                       p.issuer + "/oauth2/jwks",
		"introspection_endpoint":                         p.issuer + "/oauth2/introspect",
		"revocation_endpoint":                            p.issuer + "/oauth2/revoke",
		"end_session_endpoint":                           p.issuer + "/oauth2/logout",
		"response_types_supported":                       []string{"code"},
		"response_modes_supported":                       []string{"query"},
		"grant_types_supported":                          []string{GrantAuthorizationCode, GrantRefreshToken, GrantPassword, GrantClientCredentials},
		"subject_types_supported":                        []string{"public"},
		"id_token_signing_alg_values_supported":          []string{algRS256},
		"token_endpoint_auth_methods_supported":          []string{"client_secret_basic", "client_secret_post", "none"},
		"introspection_endpoint_auth_methods_supported":  []string{"client_secret_basic", "client_secret_post"},
		"revocation_endpoint_auth_methods_supported":     []string{"client_secret_basic", "client_secret_post", "none"},
		"code_challenge_methods_supported":               []string{"S256"},
		"scopes_supported":                               set.scopes,
		"claims_supported":                               set.claims,
		"prompt_values_supported":                        advertisedPrompts,
		"authorization_response_iss_parameter_supported": true,
		"claims_parameter_supported":                     false,
		"request_parameter_supported":                    false,
		"request_uri_parameter_supported":                false,
		"frontchannel_logout_supported":                  false,
		"backchannel_logout_supported":                   false,
	}
	w.Header().Set("Cache-Control", "public, max-age=300")
	writeJSON(w, http.StatusOK, doc)
}

// jwks publishes the signing keys, current and retired-but-still-valid.
func (p *Provider) jwks(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(p.ring.Load().JWKS())
}

// userinfo is the OpenID Connect UserInfo endpoint. The access token comes
// in the Authorization header or, for POST, the form body (RFC 6750 §2.2);
// claims are computed afresh from the user record for the granted scopes.
func (p *Provider) userinfo(w http.ResponseWriter, r *http.Request) {
	token := ""
	if h := r.Header.Get("Authorization"); h != "" {
		if !hasPrefixFold(h, "bearer ") {
			bearerError(w, http.StatusUnauthorized, "invalid_request", "Use the Bearer authorization scheme.")
			return
		}
		token = strings.TrimSpace(h[len("bearer "):])
	} else if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err == nil {
			token = r.PostForm.Get("access_token")
		}
	}
	if token == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="authd"`)
		bearerError(w, http.StatusUnauthorized, "invalid_request", "No access token was sent.")
		return
	}
	sess := NewSession()
	tu, ar, err := p.f.IntrospectToken(r.Context(), token, fosite.AccessToken, sess)
	if err != nil || tu != fosite.AccessToken {
		bearerError(w, http.StatusUnauthorized, "invalid_token", "The access token is invalid, expired or revoked.")
		return
	}
	s, _ := ar.GetSession().(*Session)
	if !ar.GetGrantedScopes().Has("openid") || s == nil || s.User == "" {
		bearerError(w, http.StatusForbidden, "insufficient_scope", "The access token was not granted the openid scope for a user.")
		return
	}
	c, _ := ar.GetClient().(*client)
	now := time.Now()
	// A token whose user was deleted (and maybe created again under the
	// same name) is no longer the user's; see grantUser.
	if p.sessionUserGone(s, now) {
		bearerError(w, http.StatusUnauthorized, "invalid_token", "The user of this token no longer exists.")
		return
	}
	claims, err := p.userClaims(c, s.Realm, s.User, ar.GetGrantedScopes(), p.engineRequest(r, c, ar.GetGrantedScopes()), now)
	if errors.Is(err, errNoUser) {
		bearerError(w, http.StatusUnauthorized, "invalid_token", "The user of this token no longer exists.")
		return
	}
	if claims == nil {
		claims = map[string]any{}
	}
	claims["sub"] = s.GetSubject()
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, claims)
}

func bearerError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("WWW-Authenticate", `Bearer error="`+code+`", error_description="`+desc+`"`)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// introspect is RFC 7662. Only a confidential client may ask, and a token
// is reported active only to its own client, to the resource servers named
// for that client, and to the audiences it was issued for; everyone else
// is told {"active": false}, as the RFC advises. A token whose user no
// longer exists is not active either.
func (p *Provider) introspect(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, fosite.ErrInvalidRequest.WithHint("The body could not be read."))
		return
	}
	fc, err := p.authenticateClient(r.Context(), r, r.PostForm)
	if err == nil && fc.IsPublic() {
		err = fosite.ErrInvalidClient.WithHint("A public client cannot use introspection.")
	}
	if err != nil {
		rfc := fosite.ErrorToRFC6749Error(err)
		if rfc.CodeField == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Basic realm="authd"`)
		}
		writeJSON(w, rfc.CodeField, rfc)
		return
	}
	token := r.PostForm.Get("token")
	if token == "" {
		writeJSON(w, http.StatusBadRequest, fosite.ErrInvalidRequest.WithHint("The token parameter is missing."))
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	inactive := map[string]any{"active": false}
	tu, ar, err := p.f.IntrospectToken(r.Context(), token, fosite.TokenUse(r.PostForm.Get("token_type_hint")), NewSession())
	if err != nil {
		writeJSON(w, http.StatusOK, inactive)
		return
	}
	owner, _ := ar.GetClient().(*client)
	caller := fc.GetID()
	if owner == nil || !(owner.mayIntrospect(caller) || slices.Contains(ar.GetGrantedAudience(), caller)) {
		writeJSON(w, http.StatusOK, inactive)
		return
	}
	// As userinfo: the token of a user who is gone (or whose name a new
	// user took) is not active, so a resource server does not act for
	// them. A lock does not end a live token (see grantUser).
	if s, _ := ar.GetSession().(*Session); p.sessionUserGone(s, time.Now()) {
		writeJSON(w, http.StatusOK, inactive)
		return
	}
	out := introspection{
		Active:   true,
		Scope:    strings.Join(ar.GetGrantedScopes(), " "),
		ClientID: owner.GetID(),
		Sub:      ar.GetSession().GetSubject(),
		Username: ar.GetSession().GetUsername(),
		Iat:      ar.GetRequestedAt().Unix(),
		Iss:      p.issuer,
		Aud:      ar.GetGrantedAudience(),
	}
	if tu == fosite.AccessToken {
		out.TokenType = "Bearer"
		out.Exp = unix(ar.GetSession().GetExpiresAt(fosite.AccessToken))
	} else {
		out.TokenType = "refresh_token"
		out.Exp = unix(ar.GetSession().GetExpiresAt(fosite.RefreshToken))
	}
	if s, ok := ar.GetSession().(*Session); ok {
		out.AuthTime = unix(s.AuthTime)
		out.ACR = s.Journey
	}
	writeJSON(w, http.StatusOK, out)
}

// introspection is an active token's RFC 7662 answer.
type introspection struct {
	Active    bool     `json:"active"`
	Scope     string   `json:"scope,omitempty"`
	ClientID  string   `json:"client_id"`
	Sub       string   `json:"sub,omitempty"`
	Username  string   `json:"username,omitempty"`
	TokenType string   `json:"token_type"`
	Exp       int64    `json:"exp,omitempty"`
	Iat       int64    `json:"iat,omitempty"`
	Iss       string   `json:"iss"`
	Aud       []string `json:"aud,omitempty"`
	AuthTime  int64    `json:"auth_time,omitempty"`
	ACR       string   `json:"acr,omitempty"`
}

func unix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// revoke is RFC 7009, through fosite: the client authenticates, may only
// revoke its own tokens, and revoking either token of a grant revokes the
// grant.
func (p *Provider) revoke(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	err := p.f.NewRevocationRequest(ctx, r)
	p.f.WriteRevocationResponse(ctx, w, err)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
