package metrics

import (
	"time"

	"github.com/authd/authd/engine/store"
)

// InstrumentKV wraps kv so every transaction's latency (commit and fsync
// included) lands in authd_store_tx_duration_seconds. Errors that fn
// itself returned are the caller's business and are not counted; the
// others (a failed commit, a full disk) count in authd_store_errors_total.
func InstrumentKV(kv store.KV) store.KV { return &instrumented{kv: kv} }

type instrumented struct{ kv store.KV }

func (k *instrumented) View(fn func(store.Tx) error) error {
	return k.time("view", k.kv.View, fn)
}

func (k *instrumented) Update(fn func(store.Tx) error) error {
	return k.time("update", k.kv.Update, fn)
}

func (k *instrumented) Batch(fn func(store.Tx) error) error {
	return k.time("batch", k.kv.Batch, fn)
}

func (k *instrumented) Close() error { return k.kv.Close() }

// Unwrap returns the wrapped store, for code that needs its concrete type.
func (k *instrumented) Unwrap() store.KV { return k.kv }

func (k *instrumented) time(op string, run func(func(store.Tx) error) error, fn func(store.Tx) error) error {
	var fnErr error
	start := time.Now()
	err := run(func(tx store.Tx) error {
		fnErr = fn(tx)
		return fnErr
	})
	storeTx.WithLabelValues(op).Observe(time.Since(start).Seconds())
	if err != nil && err != fnErr {
		storeErrors.WithLabelValues(op).Inc()
	}
	return err
}
