// Package logtest captures what a server logs, for tests that assert on
// it (a secret never logged, a panic logged with its request id). The
// servers log from many goroutines while a test reads, so the capture is
// safe for both at once.
package logtest

import (
	"bytes"
	"sync"
)

// Buffer is an io.Writer for a logger that tests may read at any time.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String is everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
