package engine_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/store/boltstore"
	"github.com/authd/authd/engine/store/memstore"
)

// BenchmarkSteps measures node steps per second for a journey that never
// suspends: the engine's own overhead per node, no store write.
func BenchmarkSteps(b *testing.B) {
	const n = 10
	nodes := make([]*engine.CompiledNode, n)
	for i := range nodes {
		next := fmt.Sprintf("n%d", i+1)
		if i == n-1 {
			next = "success"
		}
		nodes[i] = node(fmt.Sprintf("n%d", i), pass, map[engine.Outcome]string{"next": next})
	}
	e, _ := newEngine(&testing.T{}, memstore.New())
	e.Load(program("r1", journey("fast", "f1", "n0", nodes...)))
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := e.Start(ctx, "corp", "fast", engine.Request{Protocol: "api"})
		if err != nil || r.Outcome != engine.Success {
			b.Fatal(r, err)
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "steps/s")
}

// BenchmarkSuspendResumeBolt measures sessions per second that suspend once
// (a bbolt write), are resumed (a read and a tombstone write) and finish,
// from many concurrent clients, so bbolt's batching can coalesce commits.
func BenchmarkSuspendResumeBolt(b *testing.B) {
	kv, err := boltstore.Open(filepath.Join(b.TempDir(), "bench.db"), boltstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer kv.Close()
	e, _ := newEngine(&testing.T{}, kv)
	e.Load(program("r1", journey("j", "j1", "ask",
		node("ask", ask, map[engine.Outcome]string{"next": "success"}))))
	ctx := context.Background()
	b.ReportAllocs()
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r, err := e.Start(ctx, "corp", "j", engine.Request{})
			if err != nil {
				b.Error(err)
				return
			}
			r, err = e.Resume(ctx, r.Session, []engine.Callback{{ID: "username", Value: str("alice")}}, engine.Request{})
			if err != nil || r.Outcome != engine.Success {
				b.Error(r, err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sessions/s")
}
