package oauth_test

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/authd/authd/protocols/oauth"
	"github.com/authd/authd/protocols/oauth/internal/oauthtest"
)

func start(t *testing.T, mutate ...func(*oauth.Config)) *oauthtest.Fixture {
	t.Helper()
	o := oauthtest.Options{}
	if len(mutate) > 0 {
		o.Mutate = func(c *oauth.Config) {
			for _, m := range mutate {
				m(c)
			}
		}
	}
	fx, err := oauthtest.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fx.Close)
	return fx
}

// browser is a cookie-keeping client that does not follow redirects, so
// tests see every hop.
type browser struct {
	t  *testing.T
	c  *http.Client
	fx *oauthtest.Fixture
}

func newBrowser(t *testing.T, fx *oauthtest.Fixture) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, fx: fx, c: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

type response struct {
	status   int
	location string
	body     string
	header   http.Header
}

func (b *browser) do(req *http.Request) *response {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return &response{status: resp.StatusCode, location: resp.Header.Get("Location"), body: string(body), header: resp.Header}
}

func (b *browser) get(u string) *response {
	b.t.Helper()
	if strings.HasPrefix(u, "/") {
		u = b.fx.URL + u
	}
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	return b.do(req)
}

func (b *browser) post(u string, form url.Values) *response {
	b.t.Helper()
	if strings.HasPrefix(u, "/") {
		u = b.fx.URL + u
	}
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

var (
	reAction = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
	reCSRF   = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	reInput  = regexp.MustCompile(`<input id="[^"]+" name="(cb_[^"]+)" type="(text|password)"`)
	reRadio  = regexp.MustCompile(`<input type="radio" [^>]*name="(cb_[^"]+)"`)
	reButton = regexp.MustCompile(`<button type="submit" name="(cb_[^"]+)"`)
)

// form reads a login page's form: where it posts, its CSRF token and the
// names of its fields in order.
func form(t *testing.T, body string) (action string, vals url.Values, fields []string) {
	t.Helper()
	m := reAction.FindStringSubmatch(body)
	c := reCSRF.FindStringSubmatch(body)
	if m == nil || c == nil {
		t.Fatalf("no form on the page:\n%s", body)
	}
	vals = url.Values{"csrf": {html(c[1])}}
	for _, f := range reInput.FindAllStringSubmatch(body, -1) {
		fields = append(fields, html(f[1]))
	}
	if r := reRadio.FindStringSubmatch(body); r != nil {
		fields = append(fields, html(r[1]))
	} else if r := reButton.FindStringSubmatch(body); r != nil {
		fields = append(fields, html(r[1]))
	}
	return html(m[1]), vals, fields
}

func html(s string) string {
	return strings.NewReplacer("&amp;", "&", "&#43;", "+", "&#34;", `"`, "&#39;", "'", "&lt;", "<", "&gt;", ">").Replace(s)
}

// pkcePair returns a verifier and its S256 challenge.
func pkcePair() (string, string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	v := base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(v))
	return v, base64.RawURLEncoding.EncodeToString(sum[:])
}

// authorizeURL builds an authorization request.
func authorizeURL(fx *oauthtest.Fixture, clientID string, extra url.Values) string {
	q := url.Values{
		"client_id":     {clientID},
		"response_type": {"code"},
		"redirect_uri":  {fx.Callback},
		"scope":         {"openid profile email"},
		"state":         {"state-0123456789"},
		"nonce":         {"nonce-0123456789"},
	}
	for k, v := range extra {
		if len(v) == 1 && v[0] == "" {
			q.Del(k)
			continue
		}
		q[k] = v
	}
	return "/oauth2/authorize?" + q.Encode()
}

// answers are what a scripted user types on successive pages: field name
// suffix -> value (e.g. "username", "password", "method", "code").
type answers []map[string]string

// login runs an authorization through the pages with the given answers
// and returns the final redirect to the relying party.
func (b *browser) login(start string, steps answers) *url.URL {
	b.t.Helper()
	r := b.get(start)
	for i := 0; ; i++ {
		if r.status != http.StatusSeeOther && r.status != http.StatusFound {
			b.t.Fatalf("step %d: status %d, want a redirect:\n%s", i, r.status, r.body)
		}
		u, err := url.Parse(r.location)
		if err != nil {
			b.t.Fatal(err)
		}
		if !strings.HasPrefix(r.location, "/oauth2/login") {
			return u
		}
		page := b.get(r.location)
		if page.status != http.StatusOK {
			b.t.Fatalf("login page: %d\n%s", page.status, page.body)
		}
		if i >= len(steps) {
			b.t.Fatalf("the journey asks more than the script answers:\n%s", page.body)
		}
		action, vals, fields := form(b.t, page.body)
		for _, f := range fields {
			for k, v := range steps[i] {
				if strings.HasSuffix(f, "_"+k) || f == k {
					vals.Set(f, v)
				}
			}
		}
		for k, v := range steps[i] {
			if k == "action" {
				vals.Set("action", v)
			}
		}
		r = b.post(action, vals)
	}
}

// codeFrom checks a redirect to the callback and returns its code.
func codeFrom(t *testing.T, fx *oauthtest.Fixture, u *url.URL) string {
	t.Helper()
	if got := u.Scheme + "://" + u.Host + u.Path; got != fx.Callback {
		t.Fatalf("redirected to %s, want %s", u, fx.Callback)
	}
	q := u.Query()
	if e := q.Get("error"); e != "" {
		t.Fatalf("error %s: %s", e, q.Get("error_description"))
	}
	if q.Get("state") != "state-0123456789" {
		t.Fatalf("state %q", q.Get("state"))
	}
	return q.Get("code")
}

// tokenResp is a token endpoint answer, success or error.
type tokenResp struct {
	Status       int    `json:"-"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	Scope        string `json:"scope"`
	Error        string `json:"error"`
	Description  string `json:"error_description"`
}

// tokenReq posts to the token endpoint, authenticating with basic auth
// when secret is set (and id is a confidential client).
func tokenReq(t *testing.T, fx *oauthtest.Fixture, id, secret string, form url.Values) *tokenResp {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, fx.URL+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if secret != "" {
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	} else if id != "" && form.Get("client_id") == "" {
		form.Set("client_id", id)
		req, _ = http.NewRequest(http.MethodPost, fx.URL+"/oauth2/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := &tokenResp{Status: resp.StatusCode}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatalf("token response: %v", err)
	}
	return out
}

func (r *tokenResp) ok(t *testing.T) *tokenResp {
	t.Helper()
	if r.Status != http.StatusOK || r.AccessToken == "" {
		t.Fatalf("token request failed: %d %s: %s", r.Status, r.Error, r.Description)
	}
	return r
}

func (r *tokenResp) fails(t *testing.T, status int, code string) *tokenResp {
	t.Helper()
	if r.Status != status || r.Error != code {
		t.Fatalf("got %d %q (%s), want %d %q", r.Status, r.Error, r.Description, status, code)
	}
	return r
}

// jsonReq sends a form (with basic auth when id is set) and decodes JSON.
func jsonReq(t *testing.T, method, u, id, secret string, form url.Values, header map[string]string) (int, map[string]any) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, u, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if id != "" {
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: %d %s", method, u, resp.StatusCode, raw)
		}
	}
	return resp.StatusCode, out
}

// claimsOf decodes a JWT's payload without checking it (tests that care
// about the signature check it separately).
func claimsOf(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func mustEqual[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

var _ = fmt.Sprint

// httpGet serves one GET through h and returns the body.
func httpGet(t *testing.T, h http.Handler, path string) string {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s: %d", path, rec.Code)
	}
	return rec.Body.String()
}
