package oauth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/protocols/oauth"
	"github.com/authd/authd/protocols/oauth/internal/oauthtest"
)

// suiteDir is the Node suite, relative to this package.
var suiteDir = filepath.Join("..", "..", "testdata", "oidc-client")

// needTool stops a test that needs an outside tool which is missing: it
// fails under CI (env CI set: .ci/install-tools installs the tools, so a
// missing one is a broken CI image, not a reason to pass) and skips
// elsewhere.
func needTool(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("%s (CI is set, so this fails instead of skipping; .ci/install-tools installs it)", why)
	}
	t.Skipf("%s — `make tools` (.ci/install-tools) installs it; skipping outside CI", why)
}

// nodeSuite prepares the Node suite: without node or npm it fails in CI
// and skips elsewhere (make test installs them through .ci/install-tools);
// it runs npm ci when the dependencies are missing.
func nodeSuite(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		needTool(t, "node is not installed (Debian package nodejs), needed by the openid-client suite")
	}
	if _, err := os.Stat(filepath.Join(suiteDir, "node_modules", "openid-client")); err != nil {
		npm, err := exec.LookPath("npm")
		if err != nil {
			needTool(t, "npm is not installed (Debian package npm), needed to install the openid-client suite")
		}
		cmd := exec.Command(npm, "ci", "--no-audit", "--no-fund")
		cmd.Dir = suiteDir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm ci in %s: %v\n%s", suiteDir, err, out)
		}
	}
	return node
}

var summary = regexp.MustCompile(`(?m)^(\d+) passed, (\d+) failed$`)

// runNode runs a script of the suite against fx and checks its summary.
func runNode(t *testing.T, fx *oauthtest.Fixture, node, script string, extraEnv ...string) string {
	t.Helper()
	secrets, _ := json.Marshal(map[string]string{
		"web": oauthtest.WebSecret, "portal": oauthtest.WebSecret, "service": oauthtest.ServiceSecret,
		"cli": oauthtest.CLISecret, "cli-mfa": oauthtest.CLISecret, "rs": oauthtest.RSSecret,
	})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script)
	cmd.Dir = suiteDir
	cmd.Env = append(os.Environ(),
		"AUTHD_ISSUER="+fx.URL,
		"AUTHD_CALLBACK="+fx.Callback,
		"AUTHD_SECRETS="+string(secrets),
		"AUTHD_USER="+oauthtest.Alice,
		"AUTHD_PASSWORD="+oauthtest.AlicePassword,
		"AUTHD_CODE="+oauthtest.GoodCode,
		"AUTHD_GRACE_MS=0",
	)
	cmd.Env = append(cmd.Env, extraEnv...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	t.Logf("%s:\n%s", script, out.String())
	// The whole output is kept, so `make test` can show each suite's
	// closing "N passed, N failed" line (go test hides a passing test's
	// log) and a failure can be read after the run.
	if dir, aerr := filepath.Abs(filepath.Join("..", "..", "test-artifacts", "node-suites")); aerr == nil {
		if os.MkdirAll(dir, 0o755) == nil {
			_ = os.WriteFile(filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_")+"-"+strings.TrimSuffix(script, ".mjs")+".log"), out.Bytes(), 0o644)
		}
	}
	m := summary.FindAllStringSubmatch(out.String(), -1)
	if err != nil || len(m) == 0 || m[len(m)-1][2] != "0" || m[len(m)-1][1] == "0" {
		t.Fatalf("%s failed: %v", script, err)
	}
	return out.String()
}

// TestOpenIDClientSuite runs openid-client (Node) against the provider:
// discovery, authorization code + PKCE with the login driven over HTTP,
// ID token validation against the JWKS, userinfo, refresh, introspection,
// revocation, the password grant, client credentials and logout.
func TestOpenIDClientSuite(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode")
	}
	node := nodeSuite(t)
	// No grace window: a reused refresh token is reuse at once, so the
	// suite checks reuse detection without waiting on the clock (the grace
	// window has its Go tests: refresh-10-parallel).
	fx := start(t, func(c *oauth.Config) { c.RefreshGrace = -1 })
	runNode(t, fx, node, "suite.mjs")
}

// TestBrowserLogin logs in through the pages with Chromium (playwright-core)
// and keeps a screenshot of every page under test-artifacts/oidc-browser.
// The fixture's relying parties cover the credential, choice, code, QR,
// logout and error pages; the push login runs against examples/oidc served
// as authd run serves it (the real push service and its "poll" provider),
// with the device enrolled and the push approved by the `authd
// authenticator` command built from this tree, using the number the page
// shows — no test-only endpoint.
func TestBrowserLogin(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode")
	}
	if runtime.GOOS != "linux" {
		t.Skip("the browser test drives the Debian chromium package: Linux only")
	}
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		for _, c := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"} {
			if _, err := os.Stat(c); err == nil {
				chromium = c
				break
			}
		}
	}
	if chromium == "" {
		needTool(t, "chromium is not installed (Debian package chromium), needed by the browser test")
	}
	node := nodeSuite(t)
	bin := buildAuthd(t)
	fx := start(t)
	ex := startExample(t)
	artifacts, err := filepath.Abs(filepath.Join("..", "..", "test-artifacts", "oidc-browser"))
	if err != nil {
		t.Fatal(err)
	}
	_ = os.RemoveAll(artifacts)
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	runNode(t, fx, node, "browser.mjs", "CHROMIUM="+chromium, "ARTIFACTS="+artifacts,
		"AUTHD_BIN="+bin,
		"AUTHD_AUTHENTICATOR_STATE="+filepath.Join(t.TempDir(), "authenticator.json"),
		"EXAMPLE_ISSUER="+ex.fx.URL,
		"EXAMPLE_CALLBACK="+exampleWebCallback,
		"EXAMPLE_SECRET="+exampleWebSecret,
		"EXAMPLE_PASSWORD="+exampleAlicePassword,
	)
	shots, _ := filepath.Glob(filepath.Join(artifacts, "*.png"))
	if len(shots) < 8 {
		t.Fatalf("%d screenshots in %s, want one per page", len(shots), artifacts)
	}
	t.Logf("screenshots: %s", artifacts)
}

// buildAuthd builds the authd command of this tree, for the software
// authenticator the browser test approves its push with.
func buildAuthd(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "authd")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/authd/authd/cmd/authd")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build cmd/authd: %v\n%s", err, out)
	}
	return bin
}
