package devices_test

import (
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authd/authd/engine/devices"
	"github.com/authd/authd/engine/store"
	"github.com/authd/authd/engine/store/boltstore"
	"github.com/authd/authd/engine/store/memstore"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// stores runs f on the in-memory store and on bbolt.
func stores(t *testing.T, f func(t *testing.T, s *devices.Store)) {
	t.Run("memstore", func(t *testing.T) { f(t, devices.New(memstore.New())) })
	t.Run("boltstore", func(t *testing.T) {
		st, err := boltstore.Open(filepath.Join(t.TempDir(), "authd.db"), boltstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		f(t, devices.New(store.KV(st)))
	})
}

func enrollment(s *devices.Store, t *testing.T, user, mode string) *devices.Enrollment {
	t.Helper()
	e := &devices.Enrollment{ID: devices.NewID(12), Realm: "corp", User: user, Secret: []byte("s"), Mode: mode,
		Providers: map[string]string{"poll": "poll"}, Created: t0, Expires: t0.Add(time.Minute), State: devices.EnrollPending}
	if err := s.CreateEnrollment(e); err != nil {
		t.Fatal(err)
	}
	return e
}

func ok(*devices.Enrollment) error { return nil }

func enrol(t *testing.T, s *devices.Store, user, mode string) (*devices.Device, []string, error) {
	t.Helper()
	e := enrollment(s, t, user, mode)
	d := &devices.Device{ID: devices.NewID(12), Platform: "poll", Provider: "poll", PublicKey: []byte{1}}
	_, replaced, err := s.CompleteEnrollment(e.ID, t0, ok, d)
	return d, replaced, err
}

func TestEnrollmentModes(t *testing.T) {
	stores(t, func(t *testing.T, s *devices.Store) {
		d1, _, err := enrol(t, s, "alice", devices.SingleDevice)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := enrol(t, s, "alice", devices.SingleDevice); !errors.Is(err, devices.ErrRefused) {
			t.Fatalf("second device under single_device: %v", err)
		}
		// A dead device does not count, and is cleared.
		if err := s.MarkDead(d1.ID, "Unregistered", t0); err != nil {
			t.Fatal(err)
		}
		d2, _, err := enrol(t, s, "alice", devices.SingleDevice)
		if err != nil {
			t.Fatalf("replacing a dead device: %v", err)
		}
		if _, err := s.Device(d1.ID); !errors.Is(err, devices.ErrNotFound) {
			t.Errorf("dead device kept: %v", err)
		}
		d3, replaced, err := enrol(t, s, "alice", devices.OverrideAllowed)
		if err != nil || len(replaced) != 1 || replaced[0] != d2.ID {
			t.Fatalf("override: %v %v", replaced, err)
		}
		if _, _, err := enrol(t, s, "alice", devices.MultipleDevices); err != nil {
			t.Fatal(err)
		}
		ds, _ := s.Devices("corp", "alice")
		if len(ds) != 2 || (ds[0].ID != d3.ID && ds[1].ID != d3.ID) {
			t.Errorf("devices %+v", ds)
		}
		if n, err := s.DeleteDevices("corp", "alice"); n != 2 || err != nil {
			t.Errorf("DeleteDevices: %d %v", n, err)
		}
	})
}

func TestEnrollmentOnce(t *testing.T) {
	stores(t, func(t *testing.T, s *devices.Store) {
		e := enrollment(s, t, "alice", devices.MultipleDevices)
		bad := errors.New("bad proof")
		if _, _, err := s.CompleteEnrollment(e.ID, t0, func(*devices.Enrollment) error { return bad }, &devices.Device{ID: "x"}); !errors.Is(err, bad) {
			t.Fatal(err)
		}
		// A failed proof spends nothing; concurrent uses: exactly one wins.
		var wins atomic.Int32
		var wg sync.WaitGroup
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, _, err := s.CompleteEnrollment(e.ID, t0, ok, &devices.Device{ID: devices.NewID(12)}); err == nil {
					wins.Add(1)
				} else if !errors.Is(err, devices.ErrNotPending) {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Errorf("%d enrolments with one code", wins.Load())
		}
		got, _ := s.Enrollment(e.ID, t0)
		if got.State != devices.EnrollDone || got.Secret != nil {
			t.Errorf("used enrolment %+v", got)
		}
		late := enrollment(s, t, "alice", devices.MultipleDevices)
		if _, _, err := s.CompleteEnrollment(late.ID, t0.Add(time.Hour), ok, &devices.Device{ID: "y"}); !errors.Is(err, devices.ErrExpired) {
			t.Errorf("expired code: %v", err)
		}
		if got, _ := s.Enrollment(late.ID, t0.Add(time.Hour)); got.State != devices.EnrollExpired {
			t.Errorf("state %q", got.State)
		}
	})
}

func newPush(user string, exp time.Time) *devices.Push {
	return &devices.Push{ID: devices.NewID(12), Realm: "corp", User: user, Devices: []string{"d1", "d2"},
		Challenge: "c", Created: t0, Expires: exp, State: devices.StatePending}
}

// alice answers from d1, one of the devices newPush sends to.
var alice = devices.Answerer{Realm: "corp", User: "alice", Device: "d1"}

func TestPushLifecycle(t *testing.T) {
	stores(t, func(t *testing.T, s *devices.Store) {
		exp := t0.Add(time.Minute)
		var ids []string
		for i := 0; i < 3; i++ {
			p := newPush("alice", exp)
			if err := s.CreatePush(p, 3, t0); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, p.ID)
		}
		if err := s.CreatePush(newPush("alice", exp), 3, t0); !errors.Is(err, devices.ErrTooManyPending) {
			t.Fatalf("fourth push: %v", err)
		}
		if err := s.CreatePush(newPush("bob", exp), 3, t0); err != nil {
			t.Fatalf("another user: %v", err)
		}
		// Concurrent answers: exactly one flip.
		var wins atomic.Int32
		var wg sync.WaitGroup
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := s.Decide(ids[0], alice, t0, func(p *devices.Push) error { p.State = devices.StateApproved; return nil })
				if err == nil {
					wins.Add(1)
				} else if !errors.Is(err, devices.ErrNotPending) {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("%d flips", wins.Load())
		}
		if ps, _ := s.Pending("corp", "alice", t0); len(ps) != 2 {
			t.Errorf("%d pending after one answer", len(ps))
		}
		if err := s.CreatePush(newPush("alice", exp), 3, t0); err != nil {
			t.Errorf("a slot freed by an answer: %v", err)
		}
		// Past expiry: Decide stores expired and says so; pending ones stop
		// counting towards the limit.
		if _, err := s.Decide(ids[1], alice, exp, func(*devices.Push) error { t.Error("decided an expired push"); return nil }); !errors.Is(err, devices.ErrExpired) {
			t.Errorf("answer after expiry: %v", err)
		}
		if p, _ := s.Push(ids[2], exp); p.State != devices.StateExpired {
			t.Errorf("state after expiry %q", p.State)
		}
		if err := s.CreatePush(newPush("alice", exp.Add(time.Minute)), 3, exp); err != nil {
			t.Errorf("after expiry: %v", err)
		}
		// Sweep removes what expired before the cutoff.
		n, err := s.Sweep(exp.Add(time.Second))
		if err != nil || n < 5 {
			t.Errorf("swept %d, %v", n, err)
		}
		if _, err := s.Push(ids[0], exp); !errors.Is(err, devices.ErrNotFound) {
			t.Errorf("swept push still there: %v", err)
		}
		if ps, _ := s.Pending("corp", "alice", exp); len(ps) != 1 {
			t.Errorf("%d pending after sweep", len(ps))
		}
	})
}

// TestDecideAnswererFirst: whether the answerer may decide the push is
// checked before whether it is still pending or unexpired, so a device the
// push is not for hears ErrNotAnswerer (what the answer endpoint shows as
// an unknown push) whatever became of it, and decide never runs for it.
func TestDecideAnswererFirst(t *testing.T) {
	exp := t0.Add(time.Minute)
	approve := func(p *devices.Push) error { p.State, p.AnsweredBy = devices.StateApproved, "d1"; return nil }
	cases := []struct {
		name    string
		decided bool      // the push was approved from d1 first
		at      time.Time // when the answer comes
		by      devices.Answerer
		want    error
	}{
		{"another user's device, pending", false, t0, devices.Answerer{Realm: "corp", User: "bob", Device: "d1"}, devices.ErrNotAnswerer},
		{"another user's device, decided", true, t0, devices.Answerer{Realm: "corp", User: "bob", Device: "b1"}, devices.ErrNotAnswerer},
		{"another user's device, expired", false, exp, devices.Answerer{Realm: "corp", User: "bob", Device: "b1"}, devices.ErrNotAnswerer},
		{"same name in another realm", false, t0, devices.Answerer{Realm: "lab", User: "alice", Device: "d1"}, devices.ErrNotAnswerer},
		{"the user's device it did not go to", false, t0, devices.Answerer{Realm: "corp", User: "alice", Device: "d3"}, devices.ErrNotAnswerer},
		{"the user's device it did not go to, decided", true, t0, devices.Answerer{Realm: "corp", User: "alice", Device: "d3"}, devices.ErrNotAnswerer},
		{"the user's device it did not go to, expired", false, exp, devices.Answerer{Realm: "corp", User: "alice", Device: "d3"}, devices.ErrNotAnswerer},
		{"a device it went to, decided", true, t0, alice, devices.ErrNotPending},
		{"a device it went to, expired", false, exp, alice, devices.ErrExpired},
		{"a device it went to, pending", false, t0, devices.Answerer{Realm: "corp", User: "alice", Device: "d2"}, nil},
		{"the user's session", false, t0, devices.Answerer{Realm: "corp", User: "alice"}, nil},
	}
	stores(t, func(t *testing.T, s *devices.Store) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				p := newPush("alice", exp)
				if err := s.CreatePush(p, 0, t0); err != nil {
					t.Fatal(err)
				}
				if c.decided {
					if _, err := s.Decide(p.ID, alice, t0, approve); err != nil {
						t.Fatal(err)
					}
				}
				ran := false
				got, err := s.Decide(p.ID, c.by, c.at, func(p *devices.Push) error { ran = true; p.State = devices.StateDenied; return nil })
				if !errors.Is(err, c.want) && !(c.want == nil && err == nil) {
					t.Fatalf("Decide: %v, want %v", err, c.want)
				}
				if c.want == devices.ErrNotAnswerer && (got != nil || ran) {
					t.Errorf("refused answerer: push %+v returned, decide ran %v", got, ran)
				}
				if c.want == nil && (!ran || got.State != devices.StateDenied) {
					t.Errorf("allowed answerer: decide ran %v, push %+v", ran, got)
				}
			})
		}
	})
}
