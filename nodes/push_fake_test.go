package nodes_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/authd/authd/engine"
)

// fakePush is an in-memory engine.PushService for the push nodes' unit
// tests; the real one is tested end to end in protocols/push.
type fakePush struct {
	mu       sync.Mutex
	devices  map[string]int // user → live devices
	pushes   map[string]*fakePushRec
	enrolls  map[string]*engine.EnrollmentStatus
	sent     []*engine.PushRequest
	cancels  []string
	sendErr  error
	storeErr error
	next     int
}

type fakePushRec struct {
	user string
	st   engine.PushStatus
}

func newFakePush() *fakePush {
	return &fakePush{devices: map[string]int{}, pushes: map[string]*fakePushRec{}, enrolls: map[string]*engine.EnrollmentStatus{}}
}

func (f *fakePush) HasDevice(_ context.Context, realm, user string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.storeErr != nil {
		return false, f.storeErr
	}
	return f.devices[user] > 0, nil
}

func (f *fakePush) Send(_ context.Context, p *engine.PushRequest) (*engine.PushTicket, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, p)
	if f.sendErr != nil {
		return nil, f.sendErr
	}
	f.next++
	id := fmt.Sprintf("m%d", f.next)
	n := 0
	if p.Type == engine.PushChallenge {
		n = 42
	}
	f.pushes[id] = &fakePushRec{user: p.User, st: engine.PushStatus{State: engine.PushPending, ChallengeNumber: n, Expires: p.Expires}}
	return &engine.PushTicket{MessageID: id, ChallengeNumber: n, Expires: p.Expires, Devices: f.devices[p.User]}, nil
}

func (f *fakePush) PushStatus(_ context.Context, realm, user, id string, now time.Time) (*engine.PushStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.pushes[id]
	if p == nil || p.user != user {
		return nil, &engine.PushError{Reason: engine.PushReasonNotFound, Err: errors.New("no such push")}
	}
	st := p.st
	if st.State == engine.PushPending && !now.Before(st.Expires) {
		st.State = engine.PushExpired
	}
	return &st, nil
}

func (f *fakePush) set(id, state, reason string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pushes[id].st.State, f.pushes[id].st.Reason = state, reason
}

func (f *fakePush) CancelPush(_ context.Context, realm, user, id string, now time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cancels = append(f.cancels, id)
	if p := f.pushes[id]; p != nil && p.st.State == engine.PushPending {
		p.st.State, p.st.Reason = engine.PushDenied, "cancelled"
	}
	return nil
}

func (f *fakePush) BeginEnrollment(_ context.Context, e *engine.EnrollmentRequest) (*engine.EnrollmentTicket, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next++
	id := fmt.Sprintf("e%d", f.next)
	f.enrolls[id] = &engine.EnrollmentStatus{State: engine.EnrollmentPending}
	return &engine.EnrollmentTicket{ID: id, URI: "authd://enroll?id=" + id + "&issuer=" + e.Issuer, Expires: e.Expires}, nil
}

func (f *fakePush) EnrollmentStatus(_ context.Context, realm, user, id string, now time.Time) (*engine.EnrollmentStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := f.enrolls[id]
	if st == nil {
		return &engine.EnrollmentStatus{State: engine.EnrollmentNotFound}, nil
	}
	c := *st
	return &c, nil
}

var _ engine.PushService = (*fakePush)(nil)
