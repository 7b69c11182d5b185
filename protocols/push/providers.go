package push

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/authd/authd/dsl"
	"github.com/authd/authd/engine/devices"
	"github.com/authd/authd/protocols/push/wire"
)

// provider delivers a notification to one device.
type provider interface {
	// platform is the device platform the provider serves.
	platform() string
	// deliver sends n to d. A *goneError means the provider no longer
	// knows the device. Errors never contain the device's push token.
	deliver(ctx context.Context, d *devices.Device, p *devices.Push, n wire.Notification) error
	close()
}

// goneError is a provider's "this device no longer exists".
type goneError struct{ reason string }

func (e *goneError) Error() string { return "device unregistered: " + e.reason }

// providerSet is the providers of one configuration, by push_provider name.
type providerSet struct {
	byName map[string]provider
}

func (ps *providerSet) close() {
	for _, p := range ps.byName {
		p.close()
	}
}

func (s *Service) buildProviders(cfg *dsl.Config) (*providerSet, error) {
	ps := &providerSet{byName: map[string]provider{}}
	if cfg == nil {
		return ps, nil
	}
	names := make([]string, 0, len(cfg.PushProviders))
	for n := range cfg.PushProviders {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		pp := cfg.PushProviders[name]
		var (
			p   provider
			err error
		)
		switch {
		case pp.APNS != nil:
			p, err = newAPNs(pp.APNS, s.opts)
		case pp.FCM != nil:
			p, err = newFCM(pp.FCM, s.opts)
		case pp.Poll != nil:
			p = pollProvider{}
		case pp.Webhook != nil:
			p, err = newWebhook(pp.Webhook, s.opts)
		default:
			err = fmt.Errorf("type %q is not supported", pp.Type)
		}
		if err != nil {
			ps.close()
			return nil, fmt.Errorf("push_provider %q: %w", name, err)
		}
		ps.byName[name] = p
	}
	return ps, nil
}

// pollProvider sends nothing: the push waits in the store until the device
// fetches it (GET /api/v1/push/pending), which a waiting fetch learns at
// once.
type pollProvider struct{}

func (pollProvider) platform() string { return devices.PlatformPoll }
func (pollProvider) deliver(context.Context, *devices.Device, *devices.Push, wire.Notification) error {
	return nil
}
func (pollProvider) close() {}

// webhookProvider posts the notification to an operator's URL (a relay to
// a push service of their own). The body is the same minimal notification
// APNs and FCM carry, plus the device's id, platform and push token so the
// relay knows where to deliver.
type webhookProvider struct {
	url     string
	headers map[string]string
	client  *http.Client
}

// WebhookPayload is the JSON body a webhook push_provider receives.
type WebhookPayload struct {
	wire.Notification
	DeviceID  string    `json:"device_id"`
	Platform  string    `json:"platform"`
	PushToken string    `json:"push_token,omitempty"`
	Expires   time.Time `json:"expires"`
}

func newWebhook(w *dsl.WebhookSettings, o options) (provider, error) {
	if w.URL == "" {
		return nil, errors.New("url is empty")
	}
	h := map[string]string{}
	for k, v := range w.Headers {
		h[k] = v.Value()
	}
	return &webhookProvider{url: w.URL, headers: h, client: o.httpClient}, nil
}

func (w *webhookProvider) platform() string { return devices.PlatformWebhook }
func (w *webhookProvider) close()           {}

func (w *webhookProvider) deliver(ctx context.Context, d *devices.Device, p *devices.Push, n wire.Notification) error {
	body, err := json.Marshal(WebhookPayload{Notification: n, DeviceID: d.ID, Platform: d.Platform, PushToken: d.PushToken, Expires: p.Expires})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return errors.New("bad webhook URL")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "authd-push")
	for k, v := range w.headers {
		req.Header.Set(k, v)
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return cleanErr(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode == http.StatusGone:
		return &goneError{reason: "webhook answered 410 Gone"}
	}
	return fmt.Errorf("webhook answered %s", resp.Status)
}

// cleanErr drops the URL from an HTTP client error: for APNs it holds the
// device token, for webhooks perhaps a credential in the query.
func cleanErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if errors.Is(ue.Err, context.DeadlineExceeded) || ue.Timeout() {
			return fmt.Errorf("%s: timed out", strings.ToUpper(ue.Op))
		}
		return fmt.Errorf("%s: %v", strings.ToUpper(ue.Op), ue.Err)
	}
	return err
}
