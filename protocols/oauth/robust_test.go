package oauth_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/authd/authd/protocols/oauth/internal/oauthtest"
)

// TestMalformedRequests throws malformed input at every endpoint: no
// answer may be a 5xx, a panic, or a redirect to a URI that is not
// registered.
func TestMalformedRequests(t *testing.T) {
	fx := start(t)
	long := strings.Repeat("x", 70<<10)
	type req struct {
		method, path, body, auth string
	}
	cases := []req{
		{"GET", "/oauth2/authorize", "", ""},
		{"GET", "/oauth2/authorize?client_id=web&redirect_uri=%zz", "", ""},
		{"GET", "/oauth2/authorize?client_id=web&response_type=code&redirect_uri=javascript:alert(1)", "", ""},
		{"GET", "/oauth2/authorize?client_id=" + long, "", ""},
		{"GET", "/oauth2/authorize?client_id=web&response_type=code&scope=openid&state=aaaaaaaaaaa&redirect_uri=" + url.QueryEscape(fx.Callback) + "&prompt=bogus", "", ""},
		{"GET", "/oauth2/authorize?client_id=web&response_type=code&scope=openid&state=aaaaaaaaaaa&redirect_uri=" + url.QueryEscape(fx.Callback) + "&max_age=-5", "", ""},
		{"GET", "/oauth2/authorize?client_id=web&response_type=code&scope=openid&state=aaaaaaaaaaa&redirect_uri=" + url.QueryEscape(fx.Callback) + "&request=eyJ.eyJ.x", "", ""},
		{"GET", "/oauth2/authorize?client_id=service&response_type=code&scope=openid&state=aaaaaaaaaaa", "", ""},
		{"POST", "/oauth2/token", "", ""},
		{"POST", "/oauth2/token", "grant_type=authorization_code&code=%%%", ""},
		{"POST", "/oauth2/token", "grant_type=authorization_code&code=authd_ac_x.y", "Basic d2ViOg=="},
		{"POST", "/oauth2/token", "grant_type=refresh_token&refresh_token=" + long, "Basic " + basic("web", oauthtest.WebSecret)},
		{"POST", "/oauth2/token", "grant_type=password&username=&password=", "Basic " + basic("cli", oauthtest.CLISecret)},
		{"POST", "/oauth2/token", "grant_type=client_credentials", "Basic !!!"},
		{"POST", "/oauth2/token", "grant_type=client_credentials", "Basic " + basic("%zz", "x")},
		{"POST", "/oauth2/token", "grant_type=client_credentials&client_id=service&client_secret=x", "Basic " + basic("service", oauthtest.ServiceSecret)},
		{"POST", "/oauth2/introspect", "token=" + long, "Basic " + basic("service", oauthtest.ServiceSecret)},
		{"POST", "/oauth2/introspect", "token=a.b.c", "Basic " + basic("service", oauthtest.ServiceSecret)},
		{"POST", "/oauth2/introspect", "token=" + "e30.eyJqdGkiOiJ4In0.x", "Basic " + basic("service", oauthtest.ServiceSecret)},
		{"POST", "/oauth2/revoke", "token=x", ""},
		{"POST", "/oauth2/revoke", "", "Basic " + basic("service", oauthtest.ServiceSecret)},
		{"GET", "/oauth2/userinfo", "", "Bearer " + long[:5000]},
		{"GET", "/oauth2/userinfo", "", "Basic abc"},
		{"POST", "/oauth2/userinfo", "access_token=%%", ""},
		{"GET", "/oauth2/logout?id_token_hint=a.b.c&post_logout_redirect_uri=https://evil.example/", "", ""},
		{"GET", "/oauth2/logout?post_logout_redirect_uri=https://evil.example/&client_id=web", "", ""},
		{"GET", "/oauth2/login", "", ""},
		{"GET", "/oauth2/login?a=" + long[:200], "", ""},
		{"POST", "/oauth2/login?a=nope", "csrf=x", ""},
		{"GET", "/oauth2/login/qr?a=nope&cb=qr", "", ""},
	}
	for _, c := range cases {
		r, _ := http.NewRequest(c.method, fx.URL+c.path, strings.NewReader(c.body))
		if c.body != "" || c.method == "POST" {
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		if c.auth != "" {
			r.Header.Set("Authorization", c.auth)
		}
		b := newBrowser(t, fx)
		resp := b.do(r)
		name := c.method + " " + c.path
		if len(name) > 90 {
			name = name[:90] + "…"
		}
		if resp.status >= 500 {
			t.Errorf("%s: %d\n%s", name, resp.status, resp.body)
		}
		if resp.location != "" && !strings.HasPrefix(resp.location, fx.Callback) && !strings.HasPrefix(resp.location, "/oauth2/") {
			t.Errorf("%s: redirected to %s", name, resp.location)
		}
		if strings.Contains(resp.body, "goroutine ") || strings.Contains(resp.body, ".go:") {
			t.Errorf("%s: the answer shows a stack trace", name)
		}
	}
}

func basic(id, secret string) string {
	r := httptest.NewRequest("GET", "/", nil)
	r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	return strings.TrimPrefix(r.Header.Get("Authorization"), "Basic ")
}

// FuzzTokenEndpoint feeds arbitrary bodies and credentials to the token
// and introspection endpoints: they must never panic or answer 5xx.
func FuzzTokenEndpoint(f *testing.F) {
	fx, err := oauthtest.Start(oauthtest.Options{})
	if err != nil {
		f.Fatal(err)
	}
	defer fx.Close()
	h := fx.Provider.Handler()
	f.Add("grant_type=client_credentials&scope=orders:read", "service", oauthtest.ServiceSecret)
	f.Add("grant_type=refresh_token&refresh_token=authd_rt_a.b", "web", oauthtest.WebSecret)
	f.Add("grant_type=authorization_code&code=authd_ac_a.b&redirect_uri=x&code_verifier=abc", "spa", "")
	f.Add("token=eyJhbGciOiJFUzI1NiJ9.eyJqdGkiOiIxIn0.c2ln&token_type_hint=refresh_token", "service", oauthtest.ServiceSecret)
	f.Fuzz(func(t *testing.T, body, id, secret string) {
		for _, path := range []string{"/oauth2/token", "/oauth2/introspect", "/oauth2/revoke"} {
			r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if id != "" {
				r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code >= 500 {
				t.Fatalf("%s %q: %d %s", path, body, w.Code, w.Body)
			}
		}
	})
}
