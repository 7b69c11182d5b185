package push

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/sideshow/apns2"
	"github.com/sideshow/apns2/payload"
	"github.com/sideshow/apns2/token"
	"golang.org/x/net/http2"

	"github.com/authd/authd/dsl"
	"github.com/authd/authd/engine/devices"
	"github.com/authd/authd/protocols/push/wire"
)

// apnsProvider sends through Apple's HTTP/2 provider API with token (.p8)
// authentication, the bundle id as topic.
type apnsProvider struct {
	client *apns2.Client
	topic  string
}

// APNs texts: the alert is generic on purpose (Apple reads it); the app
// fetches the real message with a signed request.
const (
	apnsAlertTitle = "Sign-in request"
	apnsAlertBody  = "Open to approve or deny."
	apnsCategory   = "AUTHD_PUSH"
)

func newAPNs(c *dsl.APNSSettings, o options) (provider, error) {
	raw, err := os.ReadFile(c.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("key_file: %w", errors.Unwrap(err))
	}
	key, err := token.AuthKeyFromBytes(raw)
	if err != nil {
		return nil, fmt.Errorf("key_file %s is not an APNs .p8 key: %v", c.KeyFile, err)
	}
	client := apns2.NewTokenClient(&token.Token{AuthKey: key, KeyID: c.KeyID, TeamID: c.TeamID})
	if c.Environment == "sandbox" {
		client.Development()
	} else {
		client.Production()
	}
	if o.apnsHost != "" {
		client.Host = o.apnsHost
	}
	// Apple's API is HTTP/2 only; keep the connection open between pushes
	// (Apple treats rapid reconnects as abuse), and bound each request by
	// its context rather than a client-wide timeout.
	client.HTTPClient = &http.Client{Transport: &http2.Transport{
		TLSClientConfig: o.tlsConfig,
		ReadIdleTimeout: 15 * time.Second,
	}}
	return &apnsProvider{client: client, topic: c.BundleID}, nil
}

func (a *apnsProvider) platform() string { return devices.PlatformAPNs }

func (a *apnsProvider) close() {
	if t, ok := a.client.HTTPClient.Transport.(*http2.Transport); ok {
		t.CloseIdleConnections()
	}
}

func (a *apnsProvider) deliver(ctx context.Context, d *devices.Device, p *devices.Push, n wire.Notification) error {
	if d.PushToken == "" {
		return &goneError{reason: "no device token"}
	}
	pl := payload.NewPayload().AlertTitle(apnsAlertTitle).AlertBody(apnsAlertBody).Sound("default").
		MutableContent().Category(apnsCategory).Custom("authd", n)
	res, err := a.client.PushWithContext(ctx, &apns2.Notification{
		DeviceToken: d.PushToken,
		Topic:       a.topic,
		Payload:     pl,
		Expiration:  p.Expires,
		Priority:    apns2.PriorityHigh,
		PushType:    apns2.PushTypeAlert,
	})
	if err != nil {
		return cleanErr(err)
	}
	switch {
	case res.StatusCode == http.StatusOK:
		return nil
	case res.StatusCode == http.StatusGone, res.Reason == apns2.ReasonUnregistered,
		res.Reason == apns2.ReasonBadDeviceToken, res.Reason == apns2.ReasonDeviceTokenNotForTopic:
		reason := res.Reason
		if reason == "" {
			reason = "Unregistered"
		}
		return &goneError{reason: reason}
	}
	return fmt.Errorf("APNs answered %d %s", res.StatusCode, res.Reason)
}
