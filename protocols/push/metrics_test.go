package push_test

import (
	"context"
	"testing"
	"time"

	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/metrics/metricstest"
	"github.com/authd/authd/protocols/push/authenticator"
	"github.com/authd/authd/protocols/push/wire"
)

// TestPushMetrics drives pushes through the device endpoints and reads
// what authd's registry exports: deliveries by provider and result,
// answers by state, refused answers by reason, and the pending gauge fed
// by Service.Run. It is not parallel, so the package's other tests (all
// parallel) do not move the counters while it reads them.
func TestPushMetrics(t *testing.T) {
	h := newHarness(t, setup{pushType: "challenge"})
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { h.svc.Run(ctx, time.Hour); close(ran) }()
	t.Cleanup(func() { cancel(); <-ran })
	a := h.enrol("alice")
	metricstest.Wait(t, "authd_push_pending", nil, 0)

	type step struct {
		name   string
		answer func(t *testing.T, pushNumber int, p wire.PendingPush)
		// want are the series expected to grow by one.
		want []series
	}
	sent := series{"authd_push_send_duration_seconds", map[string]string{"provider": "poll", "result": "ok"}}
	steps := []step{
		{
			name: "approved with the right number",
			answer: func(t *testing.T, n int, p wire.PendingPush) {
				if _, err := h.auth.Respond(context.Background(), a, p, authenticator.Answer{Approve: true, Number: n}); err != nil {
					t.Fatal(err)
				}
			},
			want: []series{sent, {"authd_push_answer_seconds", map[string]string{"answer": "approved"}}},
		},
		{
			name: "denied",
			answer: func(t *testing.T, _ int, p wire.PendingPush) {
				if _, err := h.auth.Respond(context.Background(), a, p, authenticator.Answer{}); err != nil {
					t.Fatal(err)
				}
			},
			want: []series{sent, {"authd_push_answer_seconds", map[string]string{"answer": "denied"}}},
		},
		{
			name: "answered twice: the replay is refused",
			answer: func(t *testing.T, n int, p wire.PendingPush) {
				ans := authenticator.Answer{Approve: true, Number: n}
				if _, err := h.auth.Respond(context.Background(), a, p, ans); err != nil {
					t.Fatal(err)
				}
				if _, err := h.auth.Respond(context.Background(), a, p, ans); serverCode(err) != "already_answered" {
					t.Fatalf("replay: %v", err)
				}
			},
			want: []series{sent, {"authd_push_answer_seconds", map[string]string{"answer": "approved"}},
				{"authd_push_rejected_answers_total", map[string]string{"reason": "already_answered"}}},
		},
		{
			name: "expired before the answer",
			answer: func(t *testing.T, _ int, p wire.PendingPush) {
				h.clock.Advance(10 * time.Minute)
				if _, err := h.auth.Respond(context.Background(), a, p, authenticator.Answer{Approve: true}); serverCode(err) != "expired" {
					t.Fatalf("late answer: %v", err)
				}
			},
			want: []series{sent, {"authd_push_answer_seconds", map[string]string{"answer": "expired"}},
				{"authd_push_rejected_answers_total", map[string]string{"reason": "expired"}}},
		},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			before := make([]float64, len(st.want))
			for i, s := range st.want {
				before[i] = metricstest.Value(t, s.name, s.labels)
			}
			r, p := loginToWait(t, h, a)
			// One push waits: the gauge, read at scrape time, says so.
			metricstest.Wait(t, "authd_push_pending", nil, 1)
			st.answer(t, r.cb(engine.CallbackText).ChallengeNumber, p)
			metricstest.Wait(t, "authd_push_pending", nil, 0)
			for i, s := range st.want {
				if got := metricstest.Value(t, s.name, s.labels); got != before[i]+1 {
					t.Errorf("%s%v = %v, want %v", s.name, s.labels, got, before[i]+1)
				}
			}
			h.poll("login", r) // ends the login, freeing the user's pending slot
		})
	}
}

type series struct {
	name   string
	labels map[string]string
}
