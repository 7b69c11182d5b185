package push_test

import (
	"context"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/metrics"
	"github.com/authd/authd/protocols/push/authenticator"
	"github.com/authd/authd/protocols/push/wire"
)

// metricValue reads one series from authd's registry (the one /metrics
// serves): a counter's value, a gauge's value or a histogram's count. A
// series not (yet) exported reads 0.
func metricValue(t *testing.T, name string, labels map[string]string) float64 {
	t.Helper()
	fams, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatalf("gathering metrics: %v", err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if have[k] != v {
					continue series
				}
			}
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				return m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				return m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				return float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return 0
}

// waitMetric polls until the series reads want or the deadline passes.
func waitMetric(t *testing.T, name string, labels map[string]string, want float64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := metricValue(t, name, labels)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s%v = %v, want %v", name, labels, got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

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
	waitMetric(t, "authd_push_pending", nil, 0)

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
				before[i] = metricValue(t, s.name, s.labels)
			}
			r, p := loginToWait(t, h, a)
			// One push waits: the gauge, read at scrape time, says so.
			waitMetric(t, "authd_push_pending", nil, 1)
			st.answer(t, r.cb(engine.CallbackText).ChallengeNumber, p)
			waitMetric(t, "authd_push_pending", nil, 0)
			for i, s := range st.want {
				if got := metricValue(t, s.name, s.labels); got != before[i]+1 {
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
