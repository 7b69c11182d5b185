package push_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/authd/authd/protocols/push/authenticator"
)

// FuzzDeviceEndpoints throws arbitrary bodies and tokens at the device
// endpoints: no input may crash the handler or get a 5xx.
func FuzzDeviceEndpoints(f *testing.F) {
	h := newHarness(f, setup{pushType: "tap"})
	a := h.enrol("alice")
	h.login("login", "alice")
	ps, _ := h.auth.Pending(context.Background(), a, 0)
	if len(ps) == 1 {
		tok, _ := h.auth.AnswerToken(a, ps[0], authenticator.Answer{Approve: false})
		f.Add(0, `{"answer":"`+tok+`"}`)
		f.Add(2, "Bearer "+tok)
	}
	f.Add(0, `{"answer":"a.b.c"}`)
	f.Add(1, `{"request":"eyJhbGciOiJFUzI1NiJ9.e30.AAAA"}`)
	f.Add(1, `{"request":1}`)
	f.Add(2, "Bearer x.y.z")
	handler := h.svc.Handler()
	f.Fuzz(func(t *testing.T, which int, in string) {
		var req *http.Request
		switch ((which % 3) + 3) % 3 {
		case 0:
			req = httptest.NewRequest("POST", "/api/v1/push/respond", strings.NewReader(in))
		case 1:
			req = httptest.NewRequest("POST", "/api/v1/push/enroll", strings.NewReader(in))
		default:
			req = httptest.NewRequest("GET", "/api/v1/push/pending", nil)
			req.Header.Set("Authorization", in)
		}
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %q: %d %s", req.URL.Path, in, rec.Code, rec.Body)
		}
	})
}
