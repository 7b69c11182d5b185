package engine_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/store/memstore"
)

// TestSuspensionReadsWithoutRunning: Suspension answers what the last
// suspension said, runs no node and writes nothing; it refuses what
// Resume refuses.
func TestSuspensionReadsWithoutRunning(t *testing.T) {
	e, clk := newEngine(t, memstore.New())
	e.Load(loginProgram("r1"))
	ctx := context.Background()
	resp, err := e.Start(ctx, "corp", "login", engine.Request{})
	if err != nil || resp.Done {
		t.Fatalf("start: %+v %v", resp, err)
	}
	before, _ := e.Session(resp.Session)
	got, err := e.Suspension(resp.Session)
	if err != nil {
		t.Fatal(err)
	}
	if got.Session != resp.Session || got.Node != resp.Node || len(got.Callbacks) != len(resp.Callbacks) || got.Done {
		t.Errorf("Suspension = %+v, want the start's %+v", got, resp)
	}
	if after, _ := e.Session(resp.Session); after.Version != before.Version {
		t.Errorf("Suspension wrote the session: version %d -> %d", before.Version, after.Version)
	}
	// A finished one (bob is refused at the check) and an expired one.
	fin, _ := e.Start(ctx, "corp", "login", engine.Request{})
	if r, err := e.Resume(ctx, fin.Session, []engine.Callback{{ID: "username", Value: str("bob")}}, engine.Request{}); err != nil || !r.Done {
		t.Fatalf("bob: %+v %v", r, err)
	}
	clk.Add(engine.DefaultSessionTimeout + time.Second)
	for _, tc := range []struct {
		name string
		id   string
		want error
	}{
		{"unknown", "nope", engine.ErrSessionNotFound},
		{"empty", "", engine.ErrSessionNotFound},
		{"finished", fin.Session, engine.ErrSessionFinished},
		{"expired", resp.Session, engine.ErrSessionExpired},
	} {
		if _, err := e.Suspension(tc.id); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}
