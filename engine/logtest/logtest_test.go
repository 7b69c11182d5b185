package logtest_test

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/authd/authd/engine/logtest"
)

// TestBufferTakesWritesFromManyGoroutines: every line logged while the
// test reads arrives whole (run with -race: reads and writes at once).
func TestBufferTakesWritesFromManyGoroutines(t *testing.T) {
	var b logtest.Buffer
	log := slog.New(slog.NewTextHandler(&b, nil))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 50 {
				log.Info("line", "writer", i, "n", j)
				_ = b.String()
			}
		}()
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 400 {
		t.Fatalf("%d lines, want 400", len(lines))
	}
	for i := range 8 {
		if got := strings.Count(b.String(), fmt.Sprintf("writer=%d ", i)); got != 50 {
			t.Errorf("writer %d: %d lines, want 50", i, got)
		}
	}
}
