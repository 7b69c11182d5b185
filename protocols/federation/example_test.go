package federation_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/authd/authd/engine/users"
	"github.com/authd/authd/protocols/push/authenticator"
)

var reNumber = regexp.MustCompile(`<p class="number"[^>]*><strong>(\d+)</strong>`)

// exampleSource reads an examples/federation file with its fixed
// addresses moved to where this test serves.
func exampleSource(t *testing.T, name string, r *strings.Replacer) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "examples", "federation", name))
	if err != nil {
		t.Fatal(err)
	}
	return r.Replace(string(b))
}

// TestExampleFederation serves examples/federation and its upstream/ as
// two authd instances and runs the web app's login: the upstream's
// password page, the callback, the email match, then the push with number
// matching approved by the software authenticator.
func TestExampleFederation(t *testing.T) {
	upLn, upURL := listen(t, "127.0.0.1")
	downLn, downURL := listen(t, "127.0.0.2")
	r := strings.NewReplacer("http://localhost:9100", upURL, "http://127.0.0.1:9000", downURL,
		"http://127.0.0.1:8080/callback", downURL+appPath)
	up := serve(t, upLn, upURL, exampleSource(t, "upstream/authd.hcl", r), false)
	down := serve(t, downLn, downURL, exampleSource(t, "authd.hcl", r), true)

	hash, _ := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err := up.Users.Create(&users.User{Realm: "staff", Name: "alice", Email: "alice@example.com",
		PasswordHash: string(hash), Attributes: map[string]string{"email_verified": "true"}}); err != nil {
		t.Fatal(err)
	}
	if err := down.Users.Create(&users.User{Realm: "corp", Name: "alice", Email: "alice@example.com"}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	auth, acct := down.enrolDevice(t, "corp", "alice")

	b := newBrowser(t)
	wait := b.signIn(b.authorize(down, "webapp"), "alice")
	num, meta := reNumber.FindStringSubmatch(wait.body), reMeta.FindStringSubmatch(wait.body)
	if num == nil || meta == nil || wait.status != http.StatusOK {
		t.Fatalf("no number-matching wait page after the upstream login: %d %s\n%s", wait.status, wait.url, wait.body)
	}
	shown, _ := strconv.Atoi(num[1])
	pending, err := auth.Pending(ctx, acct, 0)
	if err != nil || len(pending) != 1 || pending[0].Type != "challenge" {
		t.Fatalf("pending pushes: %v %+v", err, pending)
	}
	if _, err := auth.Respond(ctx, acct, pending[0], authenticator.Answer{Approve: true, Number: shown}); err != nil {
		t.Fatalf("approve with %d: %v", shown, err)
	}
	p := b.get(down.URL + unescape(meta[1]))
	for i := 0; p.url.Path != appPath && i < 30; i++ {
		mm := reMeta.FindStringSubmatch(p.body)
		if mm == nil {
			t.Fatalf("neither the app nor a wait page: %d %s\n%s", p.status, p.url, p.body)
		}
		p = b.get(down.URL + unescape(mm[1]))
	}
	if code, errCode := appResult(t, p); code == "" {
		t.Fatalf("after the push: error %q", errCode)
	}
	u, err := down.Users.Get("corp", "alice")
	if err != nil || u.Attributes["federation.upstream"] != upURL+" alice" {
		t.Fatalf("alice's link: %v %v", err, u)
	}
}
