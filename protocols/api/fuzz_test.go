package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/store/memstore"
	"github.com/authd/authd/protocols/api"
)

// FuzzAuthenticate throws arbitrary bodies at the journey API: a fresh
// start, then the body as an answer to a live session (its id spliced in
// for "$S"). Whatever comes in, the answer is JSON with a documented
// status, a failure never names the user, and nothing panics.
func FuzzAuthenticate(f *testing.F) {
	for _, seed := range []string{
		`{}`, ``, `{"session":"$S"}`,
		`{"session":"$S","callbacks":[{"id":"username","value":"alice"},{"id":"password","value":"secret"}]}`,
		`{"session":"$S","callbacks":[{"value":"alice"},{"value":"x"}]}`,
		`{"session":"$S","callbacks":[{"type":"code","id":"password","value":"1"}]}`,
		`{"session":"$S","callbacks":[{"id":"username"}]}`,
		`{"session":"$S","callbacks":[null]}`,
		`{"session":5}`, `[]`, `{"callbacks":[{}]}`, `{"session":"$S"} trailing`,
		`{"session":"$S","callbacks":[{"id":"username","value":"\u0000"},{"id":"password","value":"\ud800"}]}`,
	} {
		f.Add("corp", "web", []byte(seed))
	}
	f.Add("cörp", "../web", []byte(`{}`))
	e := engine.New(engine.Options{KV: memstore.New()})
	e.Load(program())
	h := api.RequestIDs(api.New(e, nil))
	allowed := map[int]bool{200: true, 400: true, 404: true, 409: true, 410: true}
	f.Fuzz(func(t *testing.T, realm, journey string, body []byte) {
		call := func(path string, body []byte) (int, map[string]any) {
			r := httptest.NewRequest(http.MethodPost, "http://authd"+path, bytes.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			var m map[string]any
			if w.Code/100 == 3 || w.Code == 405 {
				return w.Code, nil // the router cleaning a path such as /./, or GET
			}
			if w.Code != 404 || w.Body.Len() > 0 && w.Body.Bytes()[0] == '{' {
				if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
					t.Fatalf("%s: %d answer is not JSON: %q", path, w.Code, w.Body.Bytes())
				}
			}
			if !allowed[w.Code] {
				t.Fatalf("%s: status %d: %v", path, w.Code, m)
			}
			if m["outcome"] == "failure" && m["user"] != nil {
				t.Fatalf("a failure names the user: %v", m)
			}
			if m["outcome"] == "success" && m["user"] != "alice" {
				t.Fatalf("success for %v", m["user"])
			}
			return w.Code, m
		}
		path := "/api/v1/realms/" + url.PathEscape(realm) + "/journeys/" + url.PathEscape(journey) + "/authenticate"
		call(path, body)
		_, m := call("/api/v1/realms/corp/journeys/web/authenticate", []byte(`{}`))
		s, _ := m["session"].(string)
		call("/api/v1/realms/corp/journeys/web/authenticate", bytes.ReplaceAll(body, []byte("$S"), []byte(s)))
	})
}
