package scenario

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/authd/authd/dsl"
	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/store"
	"github.com/authd/authd/engine/store/memstore"
	"github.com/authd/authd/protocols/oauth"
)

// oauthSecret replaces a confidential client's secret in a run, for the
// same reason as radiusSecret.
const oauthSecret = "authd-test-client-secret"

// oauthConfig is the provider's configuration for runs: every
// confidential client gets the test secret.
func oauthConfig(c *dsl.Config) oauth.Config {
	cfg := oauth.FromDSL(c)
	for i, cl := range cfg.Clients {
		cp := *cl
		if !cp.Public {
			cp.Secret, cp.SecretHash = oauthSecret, ""
		}
		cfg.Clients[i] = &cp
	}
	return cfg
}

// oauthStore is the store of the OAuth providers of a run, shared by its
// scenarios: it holds the signing keys, made once (an RSA key costs a
// tenth of a second), and codes, tokens and pending logins under random
// keys, which no two scenarios share. Users, sessions and second factors
// stay in each scenario's own store, reached through its engine.
func (rn *Runner) oauthStore() store.KV {
	rn.oauthOnce.Do(func() {
		rn.oauthKV = memstore.New()
		// Make the keys before scenarios race to: the first provider
		// creates them, later ones load them.
		if _, err := oauth.New(engine.New(engine.Options{KV: memstore.New(), Log: rn.log}), rn.oauthKV, nil, rn.oauthCfg, rn.log); err != nil {
			rn.log.Error("preparing the OAuth keys", "err", err)
		}
	})
	return rn.oauthKV
}

// browser is a user agent for the provider's handler: it keeps cookies
// and follows nothing by itself.
type browser struct {
	r       *run
	h       http.Handler
	cookies map[string]*http.Cookie
}

func (b *browser) do(ctx context.Context, method, target string, form url.Values, hdr http.Header) *http.Response {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequestWithContext(ctx, method, target, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	sc := b.r.sc
	if sc.ClientIP != "" {
		req.RemoteAddr = sc.ClientIP + ":50000"
	}
	if sc.UserAgent != "" {
		req.Header.Set("User-Agent", sc.UserAgent)
	}
	if sc.Locale != "" {
		req.Header.Set("Accept-Language", sc.Locale)
	}
	for _, c := range b.cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	rec := httptest.NewRecorder()
	b.h.ServeHTTP(rec, req)
	res := rec.Result()
	for _, c := range res.Cookies() {
		if c.MaxAge < 0 {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c
		}
	}
	return res
}

func readBody(res *http.Response) string {
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

// runOAuth logs in through the real OAuth provider (protocols/oauth), in
// process through its http.Handler, as a browser and a relying party
// would: the authorization code flow with PKCE, one login page per step
// (each answer posted as the page's form), the code exchanged for tokens,
// and the claims read from the ID token and /oauth2/userinfo. A relying
// party without the authorization code grant but with the password grant
// logs in with that instead, in one step.
func (r *run) runOAuth(ctx context.Context) error {
	sc := r.sc
	rp := r.cfg.RelyingParties[sc.Client]
	if rp == nil {
		return fmt.Errorf("there is no relying_party %q", sc.Client)
	}
	p, err := oauth.New(r.eng, r.oauthStore(), r.eng.Services().Users, r.oauthCfg, r.log)
	if err != nil {
		return err
	}
	b := &browser{r: r, h: p.Handler(), cookies: map[string]*http.Cookie{}}
	scopes := sc.Scopes
	if scopes == nil {
		scopes = rp.Scopes
	}
	r.req = engine.Request{Protocol: engine.FrontendOAuth, ClientIP: sc.ClientIP, UserAgent: sc.UserAgent, Locale: sc.Locale,
		OAuth: &engine.OAuthInfo{ClientID: rp.ClientID, Scopes: scopes}}
	if slices.Contains(rp.GrantTypes, oauth.GrantAuthorizationCode) && len(rp.RedirectURIs) > 0 {
		return r.codeFlow(ctx, b, rp, scopes)
	}
	if slices.Contains(rp.GrantTypes, oauth.GrantPassword) {
		return r.passwordGrant(ctx, b, rp, scopes)
	}
	return fmt.Errorf("relying_party %q has neither the authorization_code (with a redirect URI) nor the password grant, so no user can log in at it", rp.Name)
}

var (
	formActionRE = regexp.MustCompile(`<form method="post" action="([^"]*)"`)
	csrfRE       = regexp.MustCompile(`name="csrf" value="([^"]*)"`)
)

func (r *run) codeFlow(ctx context.Context, b *browser, rp *dsl.RelyingParty, scopes []string) error {
	verifier := base64.RawURLEncoding.EncodeToString([]byte("authd-test-pkce-verifier-0123456789abcdef"))
	sum := sha256.Sum256([]byte(verifier))
	redirect := rp.RedirectURIs[0]
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {rp.ClientID},
		"redirect_uri":          {redirect},
		"scope":                 {strings.Join(scopes, " ")},
		"state":                 {"authd-test-state"},
		"nonce":                 {"authd-test-nonce"},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"},
	}
	res := b.do(ctx, http.MethodGet, "/oauth2/authorize?"+q.Encode(), nil, nil)
	var page string
	for _, st := range append(slices.Clone(r.sc.Steps), nil) {
		// Follow redirects: to a login page (a suspension to show) or
		// back to the relying party (the end).
		for res.StatusCode == http.StatusSeeOther || res.StatusCode == http.StatusFound {
			loc, err := res.Location()
			if err != nil {
				return fmt.Errorf("a redirect without a location: %w", err)
			}
			if strings.HasPrefix(loc.String(), redirect) || !strings.HasPrefix(loc.Path, "/oauth2/") {
				return r.codeReturned(ctx, b, rp, redirect, verifier, loc)
			}
			res = b.do(ctx, http.MethodGet, loc.RequestURI(), nil, nil)
		}
		page = readBody(res)
		if res.StatusCode == http.StatusGone {
			r.done, r.outcome, r.reason = true, OutcomeExpired, pageText(page)
			return nil
		}
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("the login page answered %d: %s", res.StatusCode, pageText(page))
		}
		if st == nil {
			break
		}
		_, node, cbs, _ := r.trace.snapshot()
		r.view = viewOf(node, cbs)
		r.checkView(st)
		r.prepare(st)
		ans, ok := r.answers(st, cbs)
		if !ok {
			return nil
		}
		form := url.Values{}
		if m := csrfRE.FindStringSubmatch(page); m != nil {
			form.Set("csrf", html.UnescapeString(m[1]))
		}
		action := ""
		if m := formActionRE.FindStringSubmatch(page); m != nil {
			action = html.UnescapeString(m[1])
		}
		if action == "" {
			return errors.New("the login page has no form to answer")
		}
		for _, cb := range cbs {
			v, ok := ans[cb.ID]
			if !ok {
				continue
			}
			delete(ans, cb.ID)
			if cb.Type == engine.CallbackWait {
				if v == "exit" {
					form.Set("action", "exit")
				} else {
					form.Set("action", "continue")
				}
				continue
			}
			form.Set("cb_"+cb.ID, v)
		}
		if len(ans) > 0 {
			r.failStep(st, "the journey does not ask for %s at node %s (it asks for %s)", keyList(ans), node, callbackIDs(cbs))
			return nil
		}
		if form.Get("action") == "" && hasWait(cbs) {
			form.Set("action", "continue")
		}
		res = b.do(ctx, http.MethodPost, action, form, nil)
		if res.StatusCode == http.StatusBadRequest {
			r.failStep(st, "the answer was refused: %s", pageText(readBody(res)))
			return nil
		}
	}
	// Steps are done and the journey still waits.
	return nil
}

func hasWait(cbs []engine.Callback) bool {
	for _, cb := range cbs {
		if cb.Type == engine.CallbackWait {
			return true
		}
	}
	return false
}

var tagRE = regexp.MustCompile(`(?s)<[^>]*>`)

// pageText is the visible text of an HTML page, on one line, for messages.
func pageText(page string) string {
	t := html.UnescapeString(tagRE.ReplaceAllString(page, " "))
	t = strings.Join(strings.Fields(t), " ")
	if len(t) > 200 {
		t = t[:200] + "…"
	}
	return t
}

// codeReturned handles the redirect back to the relying party: a code is
// exchanged for tokens, an error is the journey's failure.
func (r *run) codeReturned(ctx context.Context, b *browser, rp *dsl.RelyingParty, redirect, verifier string, loc *url.URL) error {
	q := loc.Query()
	if e := q.Get("error"); e != "" {
		r.finish(engine.Failure)
		if r.reason == "" {
			r.reason = e + ": " + q.Get("error_description")
		}
		return nil
	}
	code := q.Get("code")
	if code == "" {
		return fmt.Errorf("the provider redirected to %s without a code", loc.Redacted())
	}
	form := url.Values{
		"grant_type":    {oauth.GrantAuthorizationCode},
		"code":          {code},
		"redirect_uri":  {redirect},
		"code_verifier": {verifier},
		"client_id":     {rp.ClientID},
	}
	if rp.ClientType != "public" {
		form.Set("client_secret", oauthSecret)
	}
	return r.tokens(ctx, b, b.do(ctx, http.MethodPost, "/oauth2/token", form, nil))
}

func (r *run) passwordGrant(ctx context.Context, b *browser, rp *dsl.RelyingParty, scopes []string) error {
	if len(r.sc.Steps) != 1 {
		return fmt.Errorf("relying_party %q logs in with the password grant, which takes one step (username and password)", rp.Name)
	}
	st := r.sc.Steps[0]
	r.prepare(st)
	ans, ok := r.answers(st, nil)
	if !ok {
		return nil
	}
	form := url.Values{
		"grant_type": {oauth.GrantPassword},
		"username":   {ans["username"]},
		"password":   {ans["password"]},
		"scope":      {strings.Join(scopes, " ")},
		"client_id":  {rp.ClientID},
	}
	if rp.ClientType != "public" {
		form.Set("client_secret", oauthSecret)
	}
	return r.tokens(ctx, b, b.do(ctx, http.MethodPost, "/oauth2/token", form, nil))
}

// tokens reads a token response: the journey succeeded when tokens were
// issued; the claims are the ID token's, overlaid with userinfo's.
func (r *run) tokens(ctx context.Context, b *browser, res *http.Response) error {
	var tok struct {
		AccessToken string `json:"access_token"`
		IDToken     string `json:"id_token"`
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	body := readBody(res)
	_ = json.Unmarshal([]byte(body), &tok)
	switch {
	case res.StatusCode == http.StatusOK && tok.AccessToken != "":
		r.finish(engine.Success)
	case tok.Error == "invalid_grant" || tok.Error == "access_denied":
		r.finish(engine.Failure)
		if r.reason == "" {
			r.reason = tok.Error + ": " + tok.Description
		}
		return nil
	default:
		return fmt.Errorf("the token endpoint answered %d %s: %s", res.StatusCode, tok.Error, tok.Description)
	}
	claims := map[string]any{}
	if parts := strings.Split(tok.IDToken, "."); len(parts) == 3 {
		if raw, err := base64.RawURLEncoding.DecodeString(parts[1]); err == nil {
			_ = json.Unmarshal(raw, &claims)
		}
	}
	res = b.do(ctx, http.MethodGet, "/oauth2/userinfo", nil, http.Header{"Authorization": {"Bearer " + tok.AccessToken}})
	body = readBody(res)
	switch res.StatusCode {
	case http.StatusOK:
		var info map[string]any
		if err := json.Unmarshal([]byte(body), &info); err != nil {
			return fmt.Errorf("userinfo: %w", err)
		}
		for k, v := range info {
			claims[k] = v
		}
	case http.StatusForbidden:
		// No openid scope: no claims beyond the token.
	default:
		return fmt.Errorf("userinfo answered %d: %s", res.StatusCode, strings.TrimSpace(body))
	}
	r.claims = claims
	return nil
}
