package boltstore

import (
	"bytes"
	"os"
	"strconv"
)

// The pid file beside the store names the process holding its lock, so
// that a second authd can say who to stop. It is advisory: the lock itself
// is bbolt's flock, which the kernel drops when a holder dies.

func pidPath(path string) string { return path + ".pid" }

func writePID(path string) error {
	p := pidPath(path)
	_ = os.Remove(p) // a stale one may have other permissions
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.WriteString(strconv.Itoa(os.Getpid()) + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// readPID returns the pid in path's pid file, or 0 when there is none, it
// is garbled, or that process is gone (a holder that crashed left it).
func readPID(path string) int {
	b, err := os.ReadFile(pidPath(path))
	if err != nil || len(b) > 32 {
		return 0
	}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(b)))
	if err != nil || pid <= 0 || !processAlive(pid) {
		return 0
	}
	return pid
}

// removePID removes the pid file if it is still ours.
func removePID(path string) {
	p := pidPath(path)
	if b, err := os.ReadFile(p); err == nil && string(bytes.TrimSpace(b)) == strconv.Itoa(os.Getpid()) {
		_ = os.Remove(p)
	}
}
