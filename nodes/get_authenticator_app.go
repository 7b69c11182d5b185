package nodes

import (
	"context"
	"net/url"

	"github.com/authd/authd/engine"
)

// GetAuthenticatorAppConfig are the settings of a get_authenticator_app node.
type GetAuthenticatorAppConfig struct {
	// AppleURL is the App Store link of the authenticator app.
	AppleURL string `hcl:"apple_url,optional"`
	// GoogleURL is the Google Play link of the authenticator app.
	GoogleURL string `hcl:"google_url,optional"`
	// Message is the localised text above the links.
	Message map[string]string `hcl:"message,optional"`
}

func init() {
	engine.Register(&engine.NodeType{
		Name:        "get_authenticator_app",
		Summary:     "shows app store links for the authenticator app",
		Config:      func() any { return &GetAuthenticatorAppConfig{} },
		Outcomes:    engine.FixedOutcomes("next"),
		New:         newGetAuthenticatorApp,
		Interactive: true,
		NotOver:     []string{engine.FrontendRADIUS},
		Provides:    providesNothing,
		StateKeys:   noStateKeys,
		Warnings:    getAuthenticatorAppWarnings,
	})
}

func getAuthenticatorAppWarnings(cfg any) []*engine.SettingError {
	c := settingsOr(cfg, func() *GetAuthenticatorAppConfig { return &GetAuthenticatorAppConfig{} })
	if c.AppleURL == "" && c.GoogleURL == "" {
		return []*engine.SettingError{warning("", "no apple_url or google_url: the page shows no link")}
	}
	return nil
}

// checkURL reports a link setting that is not an absolute http(s) URL.
func checkURL(p *problems, setting, s string) {
	if s == "" {
		return
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		p.add(setting, "%q is not an http(s) URL", s)
	}
}

func newGetAuthenticatorApp(cfg any) (engine.Node, error) {
	c, err := settings[GetAuthenticatorAppConfig](cfg)
	if err != nil {
		return nil, err
	}
	var p problems
	checkURL(&p, "apple_url", c.AppleURL)
	checkURL(&p, "google_url", c.GoogleURL)
	checkLocalized("message", c.Message, &p)
	if err := p.err(); err != nil {
		return nil, err
	}
	return &getAuthenticatorApp{apple: c.AppleURL, google: c.GoogleURL, message: c.Message}, nil
}

// getAuthenticatorApp shows where to get the app and continues when the
// user comes back. Links mean nothing over RADIUS. The runtime comes with
// the push registration issue.
type getAuthenticatorApp struct {
	apple, google string
	message       map[string]string
}

// Process implements engine.Node.
func (n *getAuthenticatorApp) Process(context.Context, *engine.Context) (engine.Result, error) {
	return engine.Result{}, errNotAvailable("get_authenticator_app")
}

var _ engine.Node = (*getAuthenticatorApp)(nil)
