// Package admin is authd's local administration channel: a unix socket in
// the data directory through which the CLI manages a running server, so
// `authd user add` works while `authd run` holds the store's file lock.
//
// The socket is created with mode 0600 inside the 0700 data directory, and
// every connection's peer credentials are checked (only the server's own
// uid or root may talk). The protocol is deliberately small: one JSON
// request line per connection, one JSON response line back:
//
//	-> {"op": "user.add", "args": {...}}
//	<- {"result": {...}}            or   {"error": "one-line cause", "code": "not_found"}
//
// Operations are registered by name on a Mux, so new ones (reload,
// device.*) need no change to the transport. The same Mux also runs
// in-process (Local) when no server holds the store, so an admin command
// behaves identically whether it goes through the socket or not.
//
// Secrets (passwords) travel only over the 0600 socket and are never
// logged: the server logs the op name, the peer and the outcome, never the
// arguments.
package admin

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/authd/authd/engine/users"
)

// SocketName is the admin socket's file name inside the data directory.
const SocketName = "admin.sock"

// MaxRequestBytes bounds one request line. It is generous because
// user.import carries a whole CSV file; the socket only admits the
// server's own uid, so this guards against mistakes, not attackers.
const MaxRequestBytes = 32 << 20

// maxResponseBytes bounds what a client accepts back.
const maxResponseBytes = 64 << 20

// Error codes carried next to an error message, so a client can tell
// kinds of failures apart without parsing English.
const (
	CodeInvalid     = "invalid"     // bad arguments
	CodeNotFound    = "not_found"   // no such user, realm, op
	CodeExists      = "exists"      // already there
	CodeUnknownOp   = "unknown_op"  // the server has no such op (older server?)
	CodeUnavailable = "unavailable" // the op exists but cannot run now
	CodeInternal    = "internal"    // the server failed (store error)
	CodeForbidden   = "forbidden"   // peer credentials rejected
	CodeTooLarge    = "too_large"   // request over MaxRequestBytes
)

// Error is an operation's failure as it crosses the socket: a one-line
// message meant for the operator, and a machine-readable code.
type Error struct {
	Code    string `json:"code,omitempty"`
	Message string `json:"error"`
}

func (e *Error) Error() string { return e.Message }

// Errorf builds an *Error with code; handlers return it to choose the code
// a client sees.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// request is the wire form of a call.
type request struct {
	Op   string          `json:"op"`
	Args json.RawMessage `json:"args,omitempty"`
}

// response is the wire form of an answer.
type response struct {
	Result json.RawMessage `json:"result,omitempty"`
	Error  string          `json:"error,omitempty"`
	Code   string          `json:"code,omitempty"`
}

// toError turns any handler error into the *Error sent to the client,
// choosing a code from well-known error values.
func toError(err error) *Error {
	var ae *Error
	if errors.As(err, &ae) {
		return ae
	}
	code := CodeInternal
	var fe *users.FieldError
	switch {
	case errors.As(err, &fe), errors.Is(err, users.ErrUnsupportedHash):
		code = CodeInvalid
	case errors.Is(err, users.ErrNotFound):
		code = CodeNotFound
	case errors.Is(err, users.ErrExists):
		code = CodeExists
	}
	return &Error{Code: code, Message: err.Error()}
}
