package oauth_test

import (
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/authd/authd/protocols/oauth/internal/oauthtest"
)

// prompt=consent is accepted (clients asking for offline_access send it,
// OpenID Connect Core §11) and answered as without it, since a relying
// party's registration is its consent; discovery does not advertise it,
// so no client expects a consent screen.
func TestPromptConsent(t *testing.T) {
	fx := start(t)
	_, doc := jsonReq(t, http.MethodGet, fx.URL+"/.well-known/openid-configuration", "", "", nil, nil)
	var prompts []string
	for _, v := range doc["prompt_values_supported"].([]any) {
		prompts = append(prompts, v.(string))
	}
	if slices.Contains(prompts, "consent") || !slices.Contains(prompts, "login") || !slices.Contains(prompts, "none") {
		t.Errorf("prompt_values_supported = %v, want login and none, not consent", prompts)
	}

	b := newBrowser(t, fx)
	code, v := loginCode(t, b, "web", url.Values{"scope": {"openid offline_access"}, "prompt": {"consent"}}, aliceMFA)
	tok := exchange(t, fx, "web", oauthtest.WebSecret, code, v).ok(t)
	if tok.RefreshToken == "" {
		t.Fatal("prompt=consent with offline_access: no refresh token")
	}
	// With an SSO session it needs no step either.
	code, v = loginCode(t, b, "web", url.Values{"scope": {"openid offline_access"}, "prompt": {"consent"}}, nil)
	exchange(t, fx, "web", oauthtest.WebSecret, code, v).ok(t)
}

// RFC 9207: authorization responses, successful or not, name the issuer,
// and discovery says so.
func TestAuthorizationResponseIss(t *testing.T) {
	fx := start(t)
	_, doc := jsonReq(t, http.MethodGet, fx.URL+"/.well-known/openid-configuration", "", "", nil, nil)
	mustEqual(t, "authorization_response_iss_parameter_supported", doc["authorization_response_iss_parameter_supported"], any(true))

	b := newBrowser(t, fx)
	none := b.get(authorizeURL(fx, "portal", url.Values{"prompt": {"none"}}))
	u, err := url.Parse(none.location)
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "error", u.Query().Get("error"), "login_required")
	mustEqual(t, "iss of an error response", u.Query().Get("iss"), fx.URL)
	mustEqual(t, "state of an error response", u.Query().Get("state"), "state-0123456789")

	ok := b.login(authorizeURL(fx, "portal", nil), alicePassword)
	codeFrom(t, fx, ok)
	mustEqual(t, "iss of a code response", ok.Query().Get("iss"), fx.URL)
}
