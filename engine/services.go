package engine

import (
	"context"
	"log/slog"

	"github.com/authd/authd/engine/audit"
	"github.com/authd/authd/engine/store"
	"github.com/authd/authd/engine/users"
)

// Services are the shared facilities nodes reach through their Context.
// Front ends and providers fill in theirs (push, SMS) before serving; a node
// whose service is missing fails with a clear error, never a nil panic.
type Services struct {
	KV    store.KV
	Users *users.Repo
	Clock Clock
	Log   *slog.Logger
	// Journeys resolves a journey by name in the current program.
	Journeys func(name string) *Journey
	// SMS holds the configured SMS gateways by sms_gateway name.
	SMS map[string]SMSSender
	// Push sends push approvals and reads their answers.
	Push PushService
	// Federation logs users in at upstream identity providers
	// (federated_login); nil when none is configured.
	Federation FederationService
	// Audit records enrolments, removals and other events in the audit
	// log; never nil once the engine is built (audit.Discard by default).
	// Journey ends are recorded by the engine itself.
	Audit audit.Logger
}

// SMSSender delivers a text message through one sms_gateway. Errors must
// not contain the message body (it holds a code).
type SMSSender interface {
	SendSMS(ctx context.Context, to, body string) error
}
