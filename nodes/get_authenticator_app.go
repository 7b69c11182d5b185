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

// getAuthenticatorApp shows where to get the app (a `text` callback with
// the message, then one per link, whose URI field carries the link for
// front ends that draw it as one) and continues when the user comes back.
// Links mean nothing over RADIUS.
type getAuthenticatorApp struct {
	apple, google string
	message       map[string]string
}

const defaultGetAppMessage = "Install the authenticator app on your phone, then come back here."

// Callback ids of get_authenticator_app.
const (
	getAppMessageID = "message"
	getAppAppleID   = "apple_url"
	getAppGoogleID  = "google_url"
	getAppShown     = "shown"
)

// Process implements engine.Node.
func (n *getAuthenticatorApp) Process(_ context.Context, nc *engine.Context) (engine.Result, error) {
	if nc.Resumed() && nc.Data() == getAppShown {
		nc.SetData("")
		return engine.Next("next"), nil
	}
	msg := defaultGetAppMessage
	if len(n.message) > 0 {
		msg = localize(n.message, nc)
	}
	cbs := []engine.Callback{{Type: engine.CallbackText, ID: getAppMessageID, Message: expand(msg, nc)}}
	if n.apple != "" {
		cbs = append(cbs, engine.Callback{Type: engine.CallbackText, ID: getAppAppleID, Message: "App Store: " + n.apple, URI: n.apple})
	}
	if n.google != "" {
		cbs = append(cbs, engine.Callback{Type: engine.CallbackText, ID: getAppGoogleID, Message: "Google Play: " + n.google, URI: n.google})
	}
	nc.SetData(getAppShown)
	return engine.Ask(cbs...), nil
}

var _ engine.Node = (*getAuthenticatorApp)(nil)
