package engine_test

import (
	"context"
	"errors"
	"testing"

	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/store"
	"github.com/authd/authd/engine/store/memstore"
)

// TestJoinSaveCommitsWithTheSessionSave: a write a node joins to its
// request's save is committed in the same transaction (or not at all),
// and its done hears which.
func TestJoinSaveCommitsWithTheSessionSave(t *testing.T) {
	failing := errors.New("joined write refused")
	cases := []struct {
		name string
		// answer is the choice the resumed request gives.
		answer string
		// fnErr is what the joined write returns.
		fnErr       error
		wantOutcome engine.Outcome
		wantErr     bool // the resume fails
		wantStored  bool
		wantDoneErr bool
	}{
		{name: "journey ends: committed with the tombstone", answer: "yes", wantOutcome: engine.Success, wantStored: true},
		{name: "joined write fails: nothing stored, the request fails", answer: "yes", fnErr: failing, wantErr: true, wantDoneErr: true},
		{name: "suspends again: committed with the suspend", answer: "again", wantStored: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			kv := memstore.New()
			e, _ := newEngine(t, kv)
			doneErrs := make(chan error, 4)
			// join asks a choice; on resume it joins a write, then
			// follows the answer ("again" suspends once more).
			join := funcNode(func(ctx context.Context, nc *engine.Context) (engine.Result, error) {
				if !nc.Resumed() {
					return engine.Ask(engine.Callback{Type: engine.CallbackChoice, ID: "choice", Options: []string{"yes", "again"}}), nil
				}
				fn := func(tx store.Tx) error {
					if tc.fnErr != nil {
						return tc.fnErr
					}
					return tx.Put("joined", []byte("k"), []byte("v"))
				}
				done := func(err error) { doneErrs <- err }
				if !engine.JoinSave(ctx, fn, done) {
					t.Error("JoinSave refused a resumed request's context")
				}
				v, _ := nc.Answer("choice")
				return engine.Next(engine.Outcome(v)), nil
			})
			e.Load(program("r1", journey("j", "r1-j", "a",
				node("a", join, map[engine.Outcome]string{"yes": "success", "again": "b"}),
				node("b", pick, map[engine.Outcome]string{"yes": "success", "no": "failure"}),
			)))
			ctx := context.Background()
			resp, err := e.Start(ctx, "corp", "j", engine.Request{})
			if err != nil {
				t.Fatal(err)
			}
			resp, err = e.Resume(ctx, resp.Session, []engine.Callback{{ID: "choice", Value: str(tc.answer)}}, engine.Request{})
			if (err != nil) != tc.wantErr {
				t.Fatalf("resume: %+v %v", resp, err)
			}
			if err == nil && resp.Outcome != tc.wantOutcome {
				t.Errorf("outcome %q, want %q", resp.Outcome, tc.wantOutcome)
			}
			select {
			case derr := <-doneErrs:
				if (derr != nil) != tc.wantDoneErr {
					t.Errorf("done(%v), want an error: %v", derr, tc.wantDoneErr)
				}
			default:
				t.Error("done was not called by the time Resume returned")
			}
			var stored bool
			_ = kv.View(func(tx store.Tx) error { stored = tx.Get("joined", []byte("k")) != nil; return nil })
			if stored != tc.wantStored {
				t.Errorf("joined write stored: %v, want %v", stored, tc.wantStored)
			}
		})
	}
}

func TestJoinSaveOutsideAResumeIsRefused(t *testing.T) {
	called := false
	if engine.JoinSave(context.Background(), func(store.Tx) error { return nil }, func(error) { called = true }) {
		t.Error("JoinSave took a write with no request to commit it")
	}
	if called {
		t.Error("done called for a refused write")
	}
}

func TestWakeHeldTellsWhetherSomeoneHolds(t *testing.T) {
	e, _ := newEngine(t, memstore.New())
	held := e.WakeChan("s1")
	if !e.WakeHeld("s1") {
		t.Error("s1 was held")
	}
	select {
	case <-held:
	default:
		t.Error("the holder was not woken")
	}
	if e.WakeHeld("s2") {
		t.Error("nobody held s2")
	}
	select {
	case <-e.WakeChan("s2"):
	default:
		t.Error("a wake nobody held must still be remembered")
	}
}
