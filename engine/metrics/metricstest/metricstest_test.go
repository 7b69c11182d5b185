package metricstest_test

import (
	"testing"

	"github.com/authd/authd/engine/metrics"
	"github.com/authd/authd/engine/metrics/metricstest"
)

func TestValueReadsTheMatchingSeries(t *testing.T) {
	const name = "authd_requests_total"
	frontend := map[string]string{"frontend": "metricstest", "result": "success"}
	failure := map[string]string{"frontend": "metricstest", "result": "failure"}
	// The registry is the process's, so a second run (-count=2) starts
	// from the first one's counts.
	before := metricstest.Value(t, name, frontend)
	failuresBefore := metricstest.Value(t, name, failure)
	metrics.RequestDone("metricstest", "success", 0)
	metrics.RequestDone("metricstest", "success", 0)
	metrics.RequestDone("metricstest", "failure", 0)
	tests := []struct {
		labels map[string]string
		want   float64
	}{
		{frontend, before + 2},
		{failure, failuresBefore + 1},
		{map[string]string{"frontend": "metricstest", "result": "never"}, 0},
		{map[string]string{"frontend": "nobody"}, 0},
	}
	for _, tt := range tests {
		if got := metricstest.Value(t, name, tt.labels); got != tt.want {
			t.Errorf("%s%v = %v, want %v", name, tt.labels, got, tt.want)
		}
	}
	if got := metricstest.Value(t, "authd_no_such_metric", nil); got != 0 {
		t.Errorf("an absent metric reads %v, want 0", got)
	}
	metricstest.Wait(t, name, frontend, before+2)
}
