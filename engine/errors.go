package engine

import (
	"errors"
	"fmt"
)

var (
	// ErrSessionNotFound means no such session: never issued, swept, or mistyped.
	ErrSessionNotFound = errors.New("unknown session")
	// ErrSessionExpired means the session outlived its journey's session_timeout.
	ErrSessionExpired = errors.New("session expired")
	// ErrSessionFinished means the session already ended; it cannot be replayed.
	ErrSessionFinished = errors.New("session already finished")
	// ErrSessionBusy means another request is advancing the same session.
	ErrSessionBusy = errors.New("session is being processed by another request")
)

// SessionError wraps one of the session errors with the (shortened) id, so
// logs and clients know which session was meant without leaking it whole.
type SessionError struct {
	ID  string
	Err error
}

func (e *SessionError) Error() string { return fmt.Sprintf("session %s…: %v", shortID(e.ID), e.Err) }

// Unwrap lets callers test with errors.Is(err, ErrSessionNotFound).
func (e *SessionError) Unwrap() error { return e.Err }

// NotFoundError is returned when a realm or journey named by a request does
// not exist (or the journey belongs to another realm).
type NotFoundError struct {
	Kind string // "realm" or "journey"
	Name string
}

func (e *NotFoundError) Error() string { return fmt.Sprintf("unknown %s %q", e.Kind, e.Name) }

// AnswerError rejects a client's answers; the session stays where it was.
// Callback names the callback (its id) at fault.
type AnswerError struct {
	Callback string
	Message  string
}

func (e *AnswerError) Error() string {
	if e.Callback == "" {
		return e.Message
	}
	return fmt.Sprintf("callback %q: %s", e.Callback, e.Message)
}
