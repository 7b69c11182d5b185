package push

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	firebase "firebase.google.com/go/v4"
	"firebase.google.com/go/v4/messaging"
	"google.golang.org/api/option"

	"github.com/authd/authd/dsl"
	"github.com/authd/authd/engine/devices"
	"github.com/authd/authd/protocols/push/wire"
)

// fcmProvider sends FCM data messages (HTTP v1 API) with a service
// account.
type fcmProvider struct {
	client *messaging.Client
}

// serviceAccount is the part of a service-account file checked up front,
// so a wrong file fails `authd run` with a clear message.
type serviceAccount struct {
	Type        string `json:"type"`
	ProjectID   string `json:"project_id"`
	ClientEmail string `json:"client_email"`
	PrivateKey  string `json:"private_key"`
	TokenURI    string `json:"token_uri"`
}

func newFCM(c *dsl.FCMSettings, o options) (provider, error) {
	raw, err := os.ReadFile(c.CredentialsFile)
	if err != nil {
		return nil, fmt.Errorf("credentials_file: %w", errors.Unwrap(err))
	}
	var sa serviceAccount
	if err := json.Unmarshal(raw, &sa); err != nil {
		return nil, fmt.Errorf("credentials_file %s is not JSON", c.CredentialsFile)
	}
	if sa.Type != "service_account" || sa.ProjectID == "" || sa.ClientEmail == "" || sa.PrivateKey == "" {
		return nil, fmt.Errorf("credentials_file %s is not a Firebase service-account key (type, project_id, client_email and private_key are required)", c.CredentialsFile)
	}
	ctx := context.Background()
	opts := []option.ClientOption{option.WithCredentialsJSON(raw)}
	if o.fcmEndpoint != "" {
		opts = append(opts, option.WithEndpoint(strings.TrimRight(o.fcmEndpoint, "/")))
	}
	app, err := firebase.NewApp(ctx, &firebase.Config{ProjectID: sa.ProjectID}, opts...)
	if err != nil {
		return nil, fmt.Errorf("firebase: %v", err)
	}
	client, err := app.Messaging(ctx)
	if err != nil {
		return nil, fmt.Errorf("firebase messaging: %v", err)
	}
	return &fcmProvider{client: client}, nil
}

func (f *fcmProvider) platform() string { return devices.PlatformFCM }
func (f *fcmProvider) close()           {}

func (f *fcmProvider) deliver(ctx context.Context, d *devices.Device, p *devices.Push, n wire.Notification) error {
	if d.PushToken == "" {
		return &goneError{reason: "no registration token"}
	}
	ttl := p.Expires.Sub(p.Created)
	_, err := f.client.Send(ctx, &messaging.Message{
		Token: d.PushToken,
		Data:  map[string]string{"mid": n.MessageID, "url": n.URL, "realm": n.Realm},
		Android: &messaging.AndroidConfig{
			Priority: "high",
			TTL:      &ttl,
		},
	})
	switch {
	case err == nil:
		return nil
	case messaging.IsUnregistered(err):
		return &goneError{reason: "UNREGISTERED"}
	case messaging.IsSenderIDMismatch(err):
		return &goneError{reason: "SENDER_ID_MISMATCH"}
	}
	return cleanErr(err)
}
