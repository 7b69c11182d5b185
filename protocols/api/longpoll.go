package api

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/authd/authd/engine"
)

// MaxLongPoll bounds how long one journey API request may be held waiting
// (?wait=), below authd run's write timeout and a typical proxy's idle
// timeout.
const MaxLongPoll = 30 * time.Second

// longPollWait reads the ?wait= parameter of a resume: a number of seconds
// ("25") or a Go duration ("25s", "1500ms"), capped at MaxLongPoll. Absent
// or zero means no hold.
func longPollWait(r *http.Request) (time.Duration, *Error) {
	v := r.URL.Query().Get("wait")
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		n, nerr := strconv.Atoi(v)
		if nerr != nil {
			return 0, &Error{Error: "invalid_request", Field: "wait", Message: `wait must be seconds ("25") or a duration ("25s")`}
		}
		d = time.Duration(n) * time.Second
	}
	if d < 0 {
		return 0, &Error{Error: "invalid_request", Field: "wait", Message: "wait must not be negative"}
	}
	return min(d, MaxLongPoll), nil
}

// resume resumes session s with the client's answers. When the client
// asked for a long poll (wait > 0), s waits on a wait callback (a push
// answer) and the client keeps waiting (the wait answered "" or not at
// all), the request is held until the engine wakes the session (the
// answer arrived), the wait's own deadline passes, or wait elapses,
// whichever comes first; then it resumes. When the journey suspends on a
// wait again and time is left, it holds again, so one request spans
// several of the node's `seconds` and the client sees only the outcome.
// Waking is event-driven (Engine.WakeChan): no timer tick delays an
// answer.
func (h *Handler) resume(ctx context.Context, s *engine.Session, answers []engine.Callback, req engine.Request, wait time.Duration) (*engine.Response, error) {
	if wait <= 0 || !keepsWaiting(s.Pending, answers) {
		return h.eng.Resume(ctx, s.ID, answers, req)
	}
	deadline := time.Now().Add(wait)
	until := s.Until
	for {
		// Registered before the hold decides anything, so an answer that
		// arrives in between is not missed (the engine remembers a wake
		// nobody held yet).
		woken := h.eng.WakeChan(s.ID)
		hold := time.Until(deadline)
		if !until.IsZero() {
			hold = min(hold, time.Until(until))
		}
		if hold > 0 {
			t := time.NewTimer(hold)
			select {
			case <-woken:
			case <-t.C:
				h.eng.Unhold(s.ID, woken)
				if resp, ok := h.stillWaiting(s.ID, deadline, until); ok {
					return resp, nil
				}
			case <-ctx.Done():
				t.Stop()
				h.eng.Unhold(s.ID, woken)
				return nil, ctx.Err()
			}
			t.Stop()
		} else {
			h.eng.Unhold(s.ID, woken)
		}
		resp, err := h.eng.Resume(ctx, s.ID, answers, req)
		if err != nil || resp.Done || time.Until(deadline) <= 0 || !keepsWaiting(resp.Callbacks, nil) {
			return resp, err
		}
		// Still waiting (the wait's seconds passed with no answer): hold
		// again on the new wait, answering it the same way.
		until, answers = resp.Until, keepWaiting(resp.Callbacks)
	}
}

// stillWaiting answers a hold that ended because the client's own wait
// (deadline) is over while the journey's wait (until) is not: with the
// session's suspension as it stands, read without resuming, so a poll
// that changes nothing writes nothing. ok is false when the journey must
// be resumed instead (its wait is over, or it no longer waits).
func (h *Handler) stillWaiting(id string, deadline, until time.Time) (*engine.Response, bool) {
	now := time.Now()
	if now.Before(deadline) || (!until.IsZero() && !now.Before(until)) {
		return nil, false
	}
	resp, err := h.eng.Suspension(id)
	if err != nil || !keepsWaiting(resp.Callbacks, nil) {
		return nil, false
	}
	return resp, true
}

// keepsWaiting reports whether pending has a wait callback and answers do
// not leave it ("exit") nor answer anything else, so holding the request
// changes nothing but when the client hears the outcome.
func keepsWaiting(pending, answers []engine.Callback) bool {
	hasWait := false
	for _, p := range pending {
		if p.Type == engine.CallbackWait {
			hasWait = true
		} else if p.NeedsAnswer() {
			return false
		}
	}
	if !hasWait {
		return false
	}
	for _, a := range answers {
		if a.Value != nil && *a.Value != "" {
			return false
		}
	}
	return true
}

// keepWaiting answers every callback of pending with nothing: a wait
// with "" (keep waiting), display-only callbacks with no value.
func keepWaiting(pending []engine.Callback) []engine.Callback {
	out := make([]engine.Callback, 0, len(pending))
	for _, p := range pending {
		a := engine.Callback{ID: p.ID, Type: p.Type}
		if p.Type == engine.CallbackWait {
			empty := ""
			a.Value = &empty
		}
		out = append(out, a)
	}
	return out
}
