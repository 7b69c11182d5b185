package oauth_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/authd/authd/protocols/oauth/internal/oauthtest"
)

// In-process benchmarks of the handlers (no network), for profiling the
// provider's own cost; make bench-oauth measures over loopback.

func benchPost(b *testing.B, h http.Handler, path, id, secret, body, want string) {
	b.Helper()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), want) {
				b.Fatalf("%d %s", w.Code, w.Body)
			}
		}
	})
}

func BenchmarkClientCredentialsJWT(b *testing.B) {
	fx, err := oauthtest.Start(oauthtest.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer fx.Close()
	benchPost(b, fx.Provider.Handler(), "/oauth2/token", "service", oauthtest.ServiceSecret,
		"grant_type=client_credentials&scope=orders%3Aread", "access_token")
}

func BenchmarkIntrospectJWT(b *testing.B) {
	fx, err := oauthtest.Start(oauthtest.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer fx.Close()
	h := fx.Provider.Handler()
	r := httptest.NewRequest(http.MethodPost, "/oauth2/token", strings.NewReader("grant_type=client_credentials"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.SetBasicAuth("service", oauthtest.ServiceSecret)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	tok := strings.Split(strings.Split(w.Body.String(), `"access_token":"`)[1], `"`)[0]
	benchPost(b, h, "/oauth2/introspect", "service", oauthtest.ServiceSecret, "token="+url.QueryEscape(tok), `"active":true`)
}
