// Package devices keeps push MFA in the store: the devices users enrolled,
// the one-time enrolment codes that let them, and the pushes sent to them
// with their answers.
//
// Everything that decides something is one store transaction, so two
// answers racing for one push, or two enrolments racing under
// single_device, cannot both win: the pending → approved/denied flip of a
// push (Answer), the count of a user's pending pushes against the limit
// (CreatePush) and the enrollment_mode check with the device write
// (CompleteEnrollment).
//
// Layout (one bucket per concern; NUL cannot occur in realm or user names,
// so a user's records are one prefix walk):
//
//	devices        realm \0 user \0 device id  → Device (JSON)
//	device_ids     device id                   → realm \0 user
//	enrollments    enrolment id                → Enrollment (JSON)
//	pushes         message id                  → Push (JSON)
//	push_pending   realm \0 user \0 message id → expiry (8 bytes, unix nanos)
//	push_expiry    expiry (8 bytes) kind id    → nothing (for Sweep)
//
// Nothing here logs, and no error carries a secret, a key or a push token.
package devices

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/authd/authd/engine/store"
)

// Buckets this package owns.
const (
	bucketDevices     = "devices"
	bucketDeviceIDs   = "device_ids"
	bucketEnrollments = "enrollments"
	bucketPushes      = "pushes"
	bucketPending     = "push_pending"
	bucketExpiry      = "push_expiry"
)

// Platforms a device may enrol with; each is served by the realm's
// push_provider of the same type.
const (
	PlatformAPNs    = "apns"
	PlatformFCM     = "fcm"
	PlatformPoll    = "poll"
	PlatformWebhook = "webhook"
)

// Enrolment modes (the realm's enrollment_mode).
const (
	SingleDevice    = "single_device"    // a second device is refused
	OverrideAllowed = "override_allowed" // a new device replaces the old ones
	MultipleDevices = "multiple_devices" // devices add up; a push goes to all
)

// Push states. A push is created pending and flips once, in one
// transaction, to one of the others.
const (
	StatePending  = "pending"
	StateApproved = "approved"
	StateDenied   = "denied"
	StateExpired  = "expired"
	StateFailed   = "failed" // no provider took it; never answerable
)

// Denial reasons.
const (
	ReasonDenied      = "denied"
	ReasonReported    = "reported" // "deny and report": the user says it was not them
	ReasonWrongNumber = "wrong_number"
	ReasonCancelled   = "cancelled"
)

// Enrolment states.
const (
	EnrollPending  = "pending"
	EnrollDone     = "enrolled"
	EnrollRefused  = "refused"
	EnrollExpired  = "expired"
	EnrollAborted  = "aborted"
	enrollKind     = 'e'
	pushKind       = 'p'
	expiryKeyBytes = 8
)

// Errors. They wrap nothing secret, so they can be logged and shown.
var (
	ErrNotFound       = errors.New("not found")
	ErrTooManyPending = errors.New("too many pending pushes")
	ErrRefused        = errors.New("the realm's enrollment_mode allows one device and the user has one")
	ErrNotPending     = errors.New("already answered")
	ErrExpired        = errors.New("expired")
	// ErrNotAnswerer is Decide's word for a push that is not the
	// answerer's to decide (another user's, or one that did not go to the
	// answering device). Callers should tell the answerer no more than
	// they would for ErrNotFound.
	ErrNotAnswerer = errors.New("not the answerer's push")
)

// Device is one enrolled authenticator.
type Device struct {
	ID    string `json:"id"`
	Realm string `json:"realm"`
	User  string `json:"user"`
	// Name is what the device calls itself ("Pixel 8", "authd authenticator").
	Name     string `json:"name,omitempty"`
	Platform string `json:"platform"`
	// Provider is the push_provider that reaches it.
	Provider string `json:"provider"`
	// PushToken is the APNs device token or FCM registration token; it is
	// a credential of sorts (it lets anyone with provider keys reach the
	// phone), so it is never logged.
	PushToken string `json:"push_token,omitempty"`
	AppID     string `json:"app_id,omitempty"`
	// PublicKey is the device's P-256 public key (PKIX, DER); answers and
	// fetches are verified with it.
	PublicKey []byte `json:"public_key"`
	// ServerURL is the public URL the device enrolled with; signed
	// requests may name it as their audience.
	ServerURL string    `json:"server_url,omitempty"`
	Created   time.Time `json:"created"`
	LastUsed  time.Time `json:"last_used,omitempty"`
	// Dead marks a device its provider no longer knows (APNs 410
	// Unregistered, FCM UNREGISTERED): it gets no more pushes.
	Dead       bool      `json:"dead,omitempty"`
	DeadReason string    `json:"dead_reason,omitempty"`
	DeadAt     time.Time `json:"dead_at,omitempty"`
}

// Enrollment is a one-time enrolment code.
type Enrollment struct {
	ID        string `json:"id"`
	Realm     string `json:"realm"`
	User      string `json:"user"`
	SessionID string `json:"session"`
	Issuer    string `json:"issuer,omitempty"`
	// Secret is the one-time secret of the URI; it is wiped when used.
	Secret []byte `json:"secret,omitempty"`
	// Mode is the realm's enrollment_mode when the code was issued.
	Mode string `json:"mode"`
	// Providers maps each platform the realm offers to its push_provider.
	Providers map[string]string `json:"providers"`
	ServerURL string            `json:"server_url"`
	Created   time.Time         `json:"created"`
	Expires   time.Time         `json:"expires"`
	State     string            `json:"state"`
	Reason    string            `json:"reason,omitempty"`
	DeviceID  string            `json:"device,omitempty"`
}

// Push is one push approval request and its answer.
type Push struct {
	ID        string `json:"id"`
	Realm     string `json:"realm"`
	User      string `json:"user"`
	SessionID string `json:"session"`
	// Devices are the devices it went to; only they may answer.
	Devices []string `json:"devices"`
	Type    string   `json:"type"`
	// Challenge is a random value every signed answer must carry.
	Challenge string `json:"challenge"`
	// Numbers are the three numbers shown on the phone for challenge
	// pushes; Number is the right one, shown at login.
	Numbers  []int             `json:"numbers,omitempty"`
	Number   int               `json:"number,omitempty"`
	Message  string            `json:"message"`
	Context  map[string]string `json:"context,omitempty"`
	Custom   json.RawMessage   `json:"custom,omitempty"`
	Issuer   string            `json:"issuer,omitempty"`
	ReplyURL string            `json:"reply_url"`
	Created  time.Time         `json:"created"`
	Expires  time.Time         `json:"expires"`
	State    string            `json:"state"`
	Reason   string            `json:"reason,omitempty"`
	// AnsweredBy is the device whose answer decided it.
	AnsweredBy string    `json:"answered_by,omitempty"`
	AnsweredAt time.Time `json:"answered_at,omitempty"`
	// Suspicious is set by "deny and report".
	Suspicious bool `json:"suspicious,omitempty"`
}

// SentTo reports whether the push went to device id.
func (p *Push) SentTo(id string) bool {
	for _, d := range p.Devices {
		if d == id {
			return true
		}
	}
	return false
}

// Answerer is who decides a push: a user of a realm, and the device
// answering for them. Device is empty when the user's own session decides
// (a login withdrawing its push).
type Answerer struct {
	Realm, User, Device string
}

// DecidableBy reports whether a may decide p: p is a's user's and, when a
// device answers, went to that device. A device the user enrolled after
// the push was sent may not answer it: it was never shown the push.
func (p *Push) DecidableBy(a Answerer) bool {
	return p.Realm == a.Realm && p.User == a.User && (a.Device == "" || p.SentTo(a.Device))
}

// Store is the push repository over a store.KV.
type Store struct{ kv store.KV }

// New returns the repository over kv.
func New(kv store.KV) *Store { return &Store{kv: kv} }

// NewID returns a random, URL-safe identifier of n bytes of entropy.
func NewID(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("devices: no randomness: " + err.Error()) // crypto/rand does not fail on supported systems
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func userPrefix(realm, user string) []byte { return []byte(realm + "\x00" + user + "\x00") }

func deviceKey(realm, user, id string) []byte {
	return append(userPrefix(realm, user), id...)
}

func expiryKey(t time.Time, kind byte, id string) []byte {
	k := make([]byte, expiryKeyBytes, expiryKeyBytes+1+len(id))
	binary.BigEndian.PutUint64(k, uint64(t.UnixNano()))
	k = append(k, kind)
	return append(k, id...)
}

func getJSON[T any](tx store.Tx, bucket string, key []byte) (*T, error) {
	b := tx.Get(bucket, key)
	if b == nil {
		return nil, nil
	}
	v := new(T)
	if err := json.Unmarshal(b, v); err != nil {
		return nil, fmt.Errorf("devices: decoding %s record: %w", bucket, err)
	}
	return v, nil
}

func putJSON(tx store.Tx, bucket string, key []byte, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("devices: encoding %s record: %w", bucket, err)
	}
	return tx.Put(bucket, key, b)
}

// ---- devices ----

// Devices returns every device of the user (dead ones included), oldest
// first.
func (s *Store) Devices(realm, user string) ([]*Device, error) {
	var out []*Device
	err := s.kv.View(func(tx store.Tx) error {
		var err error
		out, err = devicesOf(tx, realm, user)
		return err
	})
	return out, err
}

func devicesOf(tx store.Tx, realm, user string) ([]*Device, error) {
	var out []*Device
	err := tx.ForEach(bucketDevices, userPrefix(realm, user), func(_, v []byte) error {
		d := new(Device)
		if err := json.Unmarshal(v, d); err != nil {
			return fmt.Errorf("devices: decoding a device: %w", err)
		}
		out = append(out, d)
		return nil
	})
	sortDevices(out)
	return out, err
}

func sortDevices(ds []*Device) {
	for i := 1; i < len(ds); i++ {
		for j := i; j > 0 && ds[j].Created.Before(ds[j-1].Created); j-- {
			ds[j], ds[j-1] = ds[j-1], ds[j]
		}
	}
}

// LiveDevices returns the user's devices that can still be reached.
func (s *Store) LiveDevices(realm, user string) ([]*Device, error) {
	all, err := s.Devices(realm, user)
	if err != nil {
		return nil, err
	}
	live := all[:0]
	for _, d := range all {
		if !d.Dead {
			live = append(live, d)
		}
	}
	return live, nil
}

// Device returns the device with id, wherever it belongs.
func (s *Store) Device(id string) (*Device, error) {
	var d *Device
	err := s.kv.View(func(tx store.Tx) error {
		var err error
		d, err = deviceByID(tx, id)
		return err
	})
	if err == nil && d == nil {
		err = ErrNotFound
	}
	return d, err
}

func deviceByID(tx store.Tx, id string) (*Device, error) {
	if id == "" {
		return nil, nil
	}
	owner := tx.Get(bucketDeviceIDs, []byte(id))
	if owner == nil {
		return nil, nil
	}
	realm, user, ok := strings.Cut(string(owner), "\x00")
	if !ok {
		return nil, fmt.Errorf("devices: bad device index entry")
	}
	return getJSON[Device](tx, bucketDevices, deviceKey(realm, user, id))
}

// DeleteDevice removes one device of the user; ErrNotFound when the user
// has no such device.
func (s *Store) DeleteDevice(realm, user, id string) error {
	return s.kv.Update(func(tx store.Tx) error {
		d, err := getJSON[Device](tx, bucketDevices, deviceKey(realm, user, id))
		if err != nil {
			return err
		}
		if d == nil {
			return ErrNotFound
		}
		return deleteDevice(tx, d)
	})
}

// DeleteDevices removes every device of the user and returns how many
// went.
func (s *Store) DeleteDevices(realm, user string) (int, error) {
	n := 0
	err := s.kv.Update(func(tx store.Tx) error {
		n = 0
		ds, err := devicesOf(tx, realm, user)
		if err != nil {
			return err
		}
		for _, d := range ds {
			if err := deleteDevice(tx, d); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

func deleteDevice(tx store.Tx, d *Device) error {
	if err := tx.Delete(bucketDevices, deviceKey(d.Realm, d.User, d.ID)); err != nil {
		return err
	}
	return tx.Delete(bucketDeviceIDs, []byte(d.ID))
}

// MarkDead records that the device's provider no longer knows it. reason
// is the provider's word for it ("Unregistered", "BadDeviceToken").
func (s *Store) MarkDead(id, reason string, now time.Time) error {
	return s.kv.Update(func(tx store.Tx) error {
		d, err := deviceByID(tx, id)
		if err != nil || d == nil {
			return err
		}
		if d.Dead {
			return nil
		}
		d.Dead, d.DeadReason, d.DeadAt = true, reason, now
		return putJSON(tx, bucketDevices, deviceKey(d.Realm, d.User, d.ID), d)
	})
}

// ---- enrolments ----

// CreateEnrollment stores a new enrolment code.
func (s *Store) CreateEnrollment(e *Enrollment) error {
	if e.ID == "" || e.State == "" {
		return errors.New("devices: enrollment without id or state")
	}
	return s.kv.Update(func(tx store.Tx) error {
		if tx.Get(bucketEnrollments, []byte(e.ID)) != nil {
			return errors.New("devices: enrollment id collision")
		}
		if err := putJSON(tx, bucketEnrollments, []byte(e.ID), e); err != nil {
			return err
		}
		return tx.Put(bucketExpiry, expiryKey(e.Expires, enrollKind, e.ID), nil)
	})
}

// Enrollment returns the enrolment with id, its state brought up to date
// with now (a pending code past its expiry reads as expired).
func (s *Store) Enrollment(id string, now time.Time) (*Enrollment, error) {
	var e *Enrollment
	err := s.kv.View(func(tx store.Tx) error {
		var err error
		e, err = getJSON[Enrollment](tx, bucketEnrollments, []byte(id))
		return err
	})
	if err != nil {
		return nil, err
	}
	if e == nil {
		return nil, ErrNotFound
	}
	if e.State == EnrollPending && !now.Before(e.Expires) {
		e.State = EnrollExpired
	}
	return e, nil
}

// CompleteEnrollment enrols dev with the code id, in one transaction:
// check is called with the stored enrolment (pending, unexpired) and
// verifies the device's proof of the secret; then the enrolment's mode
// decides. single_device refuses when the user has a live device (the
// enrolment becomes refused and ErrRefused is returned); override_allowed
// deletes the user's other devices; multiple_devices keeps them. Dead
// devices never count and are cleared. It returns the enrolment as it
// ended and the ids of devices it replaced.
func (s *Store) CompleteEnrollment(id string, now time.Time, check func(*Enrollment) error, dev *Device) (*Enrollment, []string, error) {
	var (
		out      *Enrollment
		replaced []string
		refused  bool
	)
	err := s.kv.Update(func(tx store.Tx) error {
		replaced, refused = nil, false
		e, err := getJSON[Enrollment](tx, bucketEnrollments, []byte(id))
		if err != nil {
			return err
		}
		if e == nil {
			return ErrNotFound
		}
		out = e
		if e.State != EnrollPending {
			return ErrNotPending
		}
		if !now.Before(e.Expires) {
			return ErrExpired
		}
		if err := check(e); err != nil {
			return err
		}
		existing, err := devicesOf(tx, e.Realm, e.User)
		if err != nil {
			return err
		}
		live := 0
		for _, d := range existing {
			if !d.Dead {
				live++
			}
		}
		if e.Mode == SingleDevice && live > 0 {
			e.State, e.Reason, e.Secret = EnrollRefused, "single_device", nil
			// The refusal is stored (the code is spent), so the
			// transaction commits and the caller hears ErrRefused.
			refused = true
			return putJSON(tx, bucketEnrollments, []byte(e.ID), e)
		}
		for _, d := range existing {
			if d.Dead || e.Mode == OverrideAllowed || e.Mode == SingleDevice {
				if err := deleteDevice(tx, d); err != nil {
					return err
				}
				if !d.Dead {
					replaced = append(replaced, d.ID)
				}
			}
		}
		dev.Realm, dev.User, dev.Created = e.Realm, e.User, now
		if tx.Get(bucketDeviceIDs, []byte(dev.ID)) != nil {
			return errors.New("devices: device id collision")
		}
		if err := putJSON(tx, bucketDevices, deviceKey(dev.Realm, dev.User, dev.ID), dev); err != nil {
			return err
		}
		if err := tx.Put(bucketDeviceIDs, []byte(dev.ID), []byte(dev.Realm+"\x00"+dev.User)); err != nil {
			return err
		}
		e.State, e.DeviceID, e.Secret = EnrollDone, dev.ID, nil
		return putJSON(tx, bucketEnrollments, []byte(e.ID), e)
	})
	if err == nil && refused {
		return out, nil, ErrRefused
	}
	return out, replaced, err
}

// AbortEnrollment withdraws a pending code (the user left the page), so it
// can no longer be used.
func (s *Store) AbortEnrollment(id string) error {
	return s.kv.Update(func(tx store.Tx) error {
		e, err := getJSON[Enrollment](tx, bucketEnrollments, []byte(id))
		if err != nil || e == nil || e.State != EnrollPending {
			return err
		}
		e.State, e.Secret = EnrollAborted, nil
		return putJSON(tx, bucketEnrollments, []byte(e.ID), e)
	})
}

// ---- pushes ----

// CreatePush stores a new pending push unless the user already has
// maxPending pushes pending at now (ErrTooManyPending). Pending entries
// past their expiry are dropped from the count as it goes. It goes
// through Batch: sends are many and not latency-critical (a person reads
// the phone), so concurrent ones share a commit.
func (s *Store) CreatePush(p *Push, maxPending int, now time.Time) error {
	if p.ID == "" || p.State != StatePending {
		return errors.New("devices: a new push needs an id and the pending state")
	}
	return s.kv.Batch(func(tx store.Tx) error {
		n := 0
		var stale [][]byte
		err := tx.ForEach(bucketPending, userPrefix(p.Realm, p.User), func(k, v []byte) error {
			if len(v) == 8 && int64(binary.BigEndian.Uint64(v)) <= now.UnixNano() {
				stale = append(stale, append([]byte(nil), k...))
				return nil
			}
			n++
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range stale {
			if err := tx.Delete(bucketPending, k); err != nil {
				return err
			}
		}
		if maxPending > 0 && n >= maxPending {
			return ErrTooManyPending
		}
		if tx.Get(bucketPushes, []byte(p.ID)) != nil {
			return errors.New("devices: message id collision")
		}
		if err := putJSON(tx, bucketPushes, []byte(p.ID), p); err != nil {
			return err
		}
		var exp [8]byte
		binary.BigEndian.PutUint64(exp[:], uint64(p.Expires.UnixNano()))
		if err := tx.Put(bucketPending, deviceKey(p.Realm, p.User, p.ID), exp[:]); err != nil {
			return err
		}
		return tx.Put(bucketExpiry, expiryKey(p.Expires, pushKind, p.ID), nil)
	})
}

// Push returns the push with id as stored, with a pending push past its
// expiry reported as expired.
func (s *Store) Push(id string, now time.Time) (*Push, error) {
	var p *Push
	err := s.kv.View(func(tx store.Tx) error {
		var err error
		p, err = getJSON[Push](tx, bucketPushes, []byte(id))
		return err
	})
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, ErrNotFound
	}
	if p.State == StatePending && !now.Before(p.Expires) {
		p.State = StateExpired
	}
	return p, nil
}

// Decide flips a pending push in one transaction for the answerer by:
// decide is called with the stored push, which is by's to decide (see
// Push.DecidableBy), still pending and unexpired, and sets its new state
// (and reason, answering device...). A push that is not by's gives
// ErrNotAnswerer and a nil push, checked first, so that whoever the push
// is not for never learns whether it was answered or expired. Otherwise a
// push no longer pending gives ErrNotPending, one past its expiry
// ErrExpired (and is stored as expired). decide returning an error aborts
// without a change. The push is returned as it ended. It is a plain
// Update, not a Batch: the answer is what a waiting login resumes on, so
// it must not wait for a batch. DecideIn is the same inside a transaction
// the caller runs.
func (s *Store) Decide(id string, by Answerer, now time.Time, decide func(*Push) error) (*Push, error) {
	var (
		out *Push
		err error
	)
	uerr := s.kv.Update(func(tx store.Tx) error {
		out, err = DecideIn(tx, id, by, now, decide)
		if errors.Is(err, ErrExpired) {
			return nil // stored as expired: commit, report ErrExpired
		}
		return err
	})
	if uerr != nil {
		return out, uerr
	}
	return out, err
}

// DecideIn is Decide's transaction: it flips the pending push id inside
// tx, so a caller can commit the flip together with other writes (the
// waiting session's own save, so the answer and the resumed login share
// one fsync). On ErrExpired the push has been written as expired and the
// caller should commit. When the flip records an answering device
// (AnsweredBy), that device's last_used is set in the same transaction
// (at most once a minute per device, so busy devices cost no extra page
// writes): the answer path makes no separate write for it.
func DecideIn(tx store.Tx, id string, by Answerer, now time.Time, decide func(*Push) error) (*Push, error) {
	p, err := getJSON[Push](tx, bucketPushes, []byte(id))
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, ErrNotFound
	}
	if !p.DecidableBy(by) {
		return nil, ErrNotAnswerer
	}
	if p.State != StatePending {
		return p, ErrNotPending
	}
	if !now.Before(p.Expires) {
		p.State = StateExpired
		if err := savePush(tx, p); err != nil {
			return p, err
		}
		return p, ErrExpired
	}
	if err := decide(p); err != nil {
		return p, err
	}
	if err := savePush(tx, p); err != nil {
		return p, err
	}
	if p.AnsweredBy != "" {
		if err := touchIn(tx, p.AnsweredBy, now); err != nil {
			return p, err
		}
	}
	return p, nil
}

// touchIn sets a device's last_used to now unless it was set less than a
// minute before.
func touchIn(tx store.Tx, id string, now time.Time) error {
	d, err := deviceByID(tx, id)
	if err != nil || d == nil || now.Sub(d.LastUsed) < time.Minute {
		return err
	}
	d.LastUsed = now
	return putJSON(tx, bucketDevices, deviceKey(d.Realm, d.User, d.ID), d)
}

func savePush(tx store.Tx, p *Push) error {
	if err := putJSON(tx, bucketPushes, []byte(p.ID), p); err != nil {
		return err
	}
	if p.State != StatePending {
		return tx.Delete(bucketPending, deviceKey(p.Realm, p.User, p.ID))
	}
	return nil
}

// SetPushState stores a final state decided outside an answer (no
// provider took it, the user cancelled); a push no longer pending is left
// alone.
func (s *Store) SetPushState(id, state, reason string) error {
	return s.kv.Update(func(tx store.Tx) error {
		p, err := getJSON[Push](tx, bucketPushes, []byte(id))
		if err != nil || p == nil || p.State != StatePending {
			return err
		}
		p.State, p.Reason = state, reason
		return savePush(tx, p)
	})
}

// Pending returns the user's pushes still pending at now, oldest first.
func (s *Store) Pending(realm, user string, now time.Time) ([]*Push, error) {
	var out []*Push
	err := s.kv.View(func(tx store.Tx) error {
		out = nil
		return tx.ForEach(bucketPending, userPrefix(realm, user), func(k, v []byte) error {
			if len(v) == 8 && int64(binary.BigEndian.Uint64(v)) <= now.UnixNano() {
				return nil
			}
			id := k[len(userPrefix(realm, user)):]
			p, err := getJSON[Push](tx, bucketPushes, id)
			if err != nil {
				return err
			}
			if p != nil && p.State == StatePending && now.Before(p.Expires) {
				out = append(out, p)
			}
			return nil
		})
	})
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].Created.Before(out[j-1].Created); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out, err
}

// Sweep deletes pushes and enrolment codes that expired before cutoff
// (callers pass now minus a grace period, so a journey can still read a
// push that just expired) and returns how many records went.
func (s *Store) Sweep(cutoff time.Time) (int, error) {
	var keys [][]byte
	err := s.kv.View(func(tx store.Tx) error {
		return tx.ForEach(bucketExpiry, nil, func(k, _ []byte) error {
			if len(k) < expiryKeyBytes+1 || int64(binary.BigEndian.Uint64(k[:expiryKeyBytes])) >= cutoff.UnixNano() {
				return store.ErrStop
			}
			keys = append(keys, append([]byte(nil), k...))
			return nil
		})
	})
	if err != nil || len(keys) == 0 {
		return 0, err
	}
	const chunk = 1000
	for i := 0; i < len(keys); i += chunk {
		part := keys[i:min(i+chunk, len(keys))]
		err := s.kv.Update(func(tx store.Tx) error {
			for _, k := range part {
				kind, id := k[expiryKeyBytes], k[expiryKeyBytes+1:]
				switch kind {
				case pushKind:
					if p, err := getJSON[Push](tx, bucketPushes, id); err == nil && p != nil {
						if err := tx.Delete(bucketPending, deviceKey(p.Realm, p.User, p.ID)); err != nil {
							return err
						}
					}
					if err := tx.Delete(bucketPushes, id); err != nil {
						return err
					}
				case enrollKind:
					if err := tx.Delete(bucketEnrollments, id); err != nil {
						return err
					}
				}
				if err := tx.Delete(bucketExpiry, k); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return i, err
		}
	}
	return len(keys), nil
}

// PendingCount returns how many pushes are pending at now (for the
// authd_push_pending gauge): one walk of the pending index, no decoding.
func (s *Store) PendingCount(now time.Time) (int, error) {
	n := 0
	err := s.kv.View(func(tx store.Tx) error {
		n = 0
		return tx.ForEach(bucketPending, nil, func(_, v []byte) error {
			if len(v) != 8 || int64(binary.BigEndian.Uint64(v)) > now.UnixNano() {
				n++
			}
			return nil
		})
	})
	return n, err
}
