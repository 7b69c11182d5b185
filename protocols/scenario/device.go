package scenario

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/authd/authd/engine"
)

// Device actions: what a simulated phone does with a push (or an
// enrolment) that reaches it.
const (
	DeviceIgnore  = "ignore"  // never answers: the push stays pending until it expires
	DeviceApprove = "approve" // approves; for number matching it picks the right number
	DeviceDeny    = "deny"    // denies
	DevicePick    = "pick"    // approves with the number N ("pick 42"), right or wrong
)

// Device is how the simulated phones answer. The zero value ignores.
type Device struct {
	Action string // one of the Device* constants; "" means ignore
	Number int    // the number picked, for DevicePick
}

// ParseDevice reads "approve", "deny", "ignore" or "pick N".
func ParseDevice(s string) (Device, error) {
	f := strings.Fields(strings.ToLower(s))
	switch {
	case len(f) == 1 && (f[0] == DeviceIgnore || f[0] == DeviceApprove || f[0] == DeviceDeny):
		return Device{Action: f[0]}, nil
	case len(f) == 2 && f[0] == DevicePick:
		n, err := strconv.Atoi(f[1])
		if err == nil && n >= 0 && n < 100 {
			return Device{Action: DevicePick, Number: n}, nil
		}
	}
	return Device{}, fmt.Errorf(`device is "approve", "deny", "ignore" or "pick N" (N from 0 to 99), not %q`, s)
}

// String is the action as a scenario file writes it.
func (d Device) String() string {
	switch d.Action {
	case "":
		return DeviceIgnore
	case DevicePick:
		return fmt.Sprintf("pick %d", d.Number)
	}
	return d.Action
}

// Phones simulates the users' push devices. The push nodes reach it as the
// engine's PushService; the runner enrols fixture devices and tells it how
// the phones behave. It is an interface so the simulation can be swapped
// for protocols/push driven by a software authenticator without touching
// the runner.
type Phones interface {
	engine.PushService
	// Enroll gives the user a live device, as a fixture.
	Enroll(realm, user string, now time.Time) error
	// Behave sets how every phone answers from now on; pushes (and
	// enrolments) still pending are answered at once.
	Behave(d Device, now time.Time)
	// Sent counts the pushes sent so far.
	Sent() int
}

// simPhones is the in-memory Phones: pushes live in a map, answers are
// given the moment a push arrives (or the behaviour changes), so no front
// end ever waits on the wall clock.
type simPhones struct {
	mu       sync.Mutex
	device   Device
	modes    map[string]string // realm -> enrollment_mode
	devices  map[string]int    // realm \0 user -> live devices
	pushes   map[string]*simPush
	enrolls  map[string]*simEnroll
	sent     int
	next     int
	numberOf func(seq int) int
}

type simPush struct {
	realm, user string
	st          engine.PushStatus
}

type simEnroll struct {
	realm, user string
	expires     time.Time
	st          engine.EnrollmentStatus
}

// newPhones returns phones for a program's realms (their enrollment_mode
// decides what a second device does).
func newPhones(p *engine.Program, d Device) *simPhones {
	ph := &simPhones{
		device:  d,
		modes:   map[string]string{},
		devices: map[string]int{},
		pushes:  map[string]*simPush{},
		enrolls: map[string]*simEnroll{},
	}
	if p != nil {
		for n, r := range p.Realms {
			ph.modes[n] = r.EnrollmentMode
		}
	}
	return ph
}

func userKey(realm, user string) string { return realm + "\x00" + user }

func (ph *simPhones) Enroll(realm, user string, _ time.Time) error {
	ph.mu.Lock()
	defer ph.mu.Unlock()
	ph.devices[userKey(realm, user)]++
	return nil
}

func (ph *simPhones) Sent() int {
	ph.mu.Lock()
	defer ph.mu.Unlock()
	return ph.sent
}

func (ph *simPhones) Behave(d Device, now time.Time) {
	ph.mu.Lock()
	defer ph.mu.Unlock()
	ph.device = d
	for _, p := range ph.pushes {
		ph.answerPush(p, now)
	}
	for _, e := range ph.enrolls {
		ph.answerEnroll(e, now)
	}
}

// answerPush applies the behaviour to a pending push that has not expired.
func (ph *simPhones) answerPush(p *simPush, now time.Time) {
	if p.st.State != engine.PushPending || !now.Before(p.st.Expires) {
		return
	}
	switch ph.device.Action {
	case DeviceApprove:
		p.st.State = engine.PushApproved
	case DeviceDeny:
		p.st.State, p.st.Reason = engine.PushDenied, "denied"
	case DevicePick:
		if p.st.ChallengeNumber == 0 || ph.device.Number == p.st.ChallengeNumber {
			p.st.State = engine.PushApproved
		} else {
			p.st.State, p.st.Reason = engine.PushDenied, "wrong_number"
		}
	default:
		return
	}
	p.st.Device = "phone-1"
}

// answerEnroll completes a pending enrolment when the phone "scans" it
// (approve or pick), honouring the realm's enrollment_mode.
func (ph *simPhones) answerEnroll(e *simEnroll, now time.Time) {
	if e.st.State != engine.EnrollmentPending || !now.Before(e.expires) {
		return
	}
	if ph.device.Action != DeviceApprove && ph.device.Action != DevicePick {
		return
	}
	k := userKey(e.realm, e.user)
	switch mode := ph.modes[e.realm]; {
	case ph.devices[k] > 0 && (mode == "" || mode == "single_device"):
		e.st.State, e.st.Reason = engine.EnrollmentRefused, "single_device"
		return
	case ph.devices[k] > 0 && mode == "override_allowed":
		ph.devices[k] = 0
	}
	ph.devices[k]++
	e.st.State, e.st.Device = engine.EnrollmentDone, fmt.Sprintf("phone-%d", ph.devices[k])
}

func (ph *simPhones) HasDevice(_ context.Context, realm, user string) (bool, error) {
	ph.mu.Lock()
	defer ph.mu.Unlock()
	return ph.devices[userKey(realm, user)] > 0, nil
}

func (ph *simPhones) Send(_ context.Context, r *engine.PushRequest) (*engine.PushTicket, error) {
	ph.mu.Lock()
	defer ph.mu.Unlock()
	realm := ""
	if r.Realm != nil {
		realm = r.Realm.Name
	}
	n := ph.devices[userKey(realm, r.User)]
	if n == 0 {
		return nil, &engine.PushError{Reason: engine.PushReasonNotRegistered}
	}
	ph.next++
	ph.sent++
	id := fmt.Sprintf("push-%d", ph.next)
	number := 0
	if r.Type == engine.PushChallenge {
		// Deterministic, two digits, different for each push, so a
		// scenario can "pick" the number it saw in the prompt.
		number = 10 + (ph.next*37)%90
	}
	p := &simPush{realm: realm, user: r.User, st: engine.PushStatus{
		State: engine.PushPending, ChallengeNumber: number, Expires: r.Expires,
	}}
	ph.pushes[id] = p
	ph.answerPush(p, r.Now)
	return &engine.PushTicket{MessageID: id, ChallengeNumber: number, Expires: r.Expires, Devices: n}, nil
}

var errNoPush = &engine.PushError{Reason: engine.PushReasonNotFound, Err: errors.New("no such push")}

func (ph *simPhones) PushStatus(_ context.Context, realm, user, id string, now time.Time) (*engine.PushStatus, error) {
	ph.mu.Lock()
	defer ph.mu.Unlock()
	p := ph.pushes[id]
	if p == nil || p.realm != realm || p.user != user {
		return nil, errNoPush
	}
	if p.st.State == engine.PushPending && !now.Before(p.st.Expires) {
		p.st.State = engine.PushExpired
	}
	st := p.st
	return &st, nil
}

func (ph *simPhones) CancelPush(_ context.Context, realm, user, id string, _ time.Time) error {
	ph.mu.Lock()
	defer ph.mu.Unlock()
	if p := ph.pushes[id]; p != nil && p.realm == realm && p.user == user && p.st.State == engine.PushPending {
		p.st.State, p.st.Reason = engine.PushDenied, "cancelled"
	}
	return nil
}

func (ph *simPhones) BeginEnrollment(_ context.Context, r *engine.EnrollmentRequest) (*engine.EnrollmentTicket, error) {
	ph.mu.Lock()
	defer ph.mu.Unlock()
	realm := ""
	if r.Realm != nil {
		realm = r.Realm.Name
	}
	ph.next++
	id := fmt.Sprintf("enrol-%d", ph.next)
	e := &simEnroll{realm: realm, user: r.User, expires: r.Expires, st: engine.EnrollmentStatus{State: engine.EnrollmentPending}}
	ph.enrolls[id] = e
	ph.answerEnroll(e, r.Now)
	return &engine.EnrollmentTicket{ID: id, URI: "authd://enroll?id=" + id, Expires: r.Expires}, nil
}

func (ph *simPhones) EnrollmentStatus(_ context.Context, realm, user, id string, now time.Time) (*engine.EnrollmentStatus, error) {
	ph.mu.Lock()
	defer ph.mu.Unlock()
	e := ph.enrolls[id]
	if e == nil || e.realm != realm || e.user != user {
		return &engine.EnrollmentStatus{State: engine.EnrollmentNotFound}, nil
	}
	if e.st.State == engine.EnrollmentPending && !now.Before(e.expires) {
		e.st.State = engine.EnrollmentExpired
	}
	st := e.st
	return &st, nil
}

var _ Phones = (*simPhones)(nil)
