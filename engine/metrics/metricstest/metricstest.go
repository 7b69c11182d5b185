// Package metricstest reads authd's Prometheus registry the way a scrape
// of /metrics would, so front-end tests can assert what they count
// without each carrying its own copy of the gather-and-match loop.
package metricstest

import (
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/authd/authd/engine/metrics"
)

// Value returns one series of metrics.Registry: a counter's or gauge's
// value, or a histogram's sample count. The first series whose labels
// include every pair of labels matches; a series not (yet) exported
// reads 0, as a counter that never moved.
func Value(t testing.TB, name string, labels map[string]string) float64 {
	t.Helper()
	fams, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatalf("gathering metrics: %v", err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if !hasLabels(m, labels) {
				continue
			}
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				return m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				return m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				return float64(m.GetHistogram().GetSampleCount())
			}
			return 0
		}
	}
	return 0
}

// Wait polls the series until it reads want. The deadline only bounds a
// failing test; it asserts nothing about time.
func Wait(t testing.TB, name string, labels map[string]string, want float64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := Value(t, name, labels)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s%v = %v, want %v", name, labels, got, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	have := make(map[string]string, len(m.GetLabel()))
	for _, l := range m.GetLabel() {
		have[l.GetName()] = l.GetValue()
	}
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}
