package boltstore

import (
	"fmt"
	"strconv"
)

// LockedError means another process (or another Open in this one) holds the
// store's file lock. bbolt allows a single writer per file, so a second
// authd must stop rather than wait; PID lets the operator find the holder.
type LockedError struct {
	Path string
	PID  int // 0 when unknown
}

// Error names the file and the holder, the two things the operator needs.
func (e *LockedError) Error() string {
	pid := "pid unknown"
	if e.PID > 0 {
		pid = "pid " + strconv.Itoa(e.PID)
	}
	return fmt.Sprintf("store %s is locked by another authd (%s)", e.Path, pid)
}

// CorruptError means the file is damaged (truncated, overwritten) or is not
// a bbolt database at all. Nothing was written to it; the operator should
// restore a backup or move the file aside.
type CorruptError struct {
	Path string
	Err  error // what bbolt or the check found; never holds stored values
}

// Error names the file and says what to do about it.
func (e *CorruptError) Error() string {
	return fmt.Sprintf("store %s is damaged or not an authd store (%v); restore a backup or move the file aside", e.Path, e.Err)
}

// Unwrap exposes bbolt's own error (such as bbolt errors.ErrInvalid).
func (e *CorruptError) Unwrap() error { return e.Err }

// SchemaError means the store's schema version is not one this build can
// use: written by a newer authd (downgrades would lose data), an older one
// that a read-only open cannot migrate, or no version at all (a bbolt file
// of some other program).
type SchemaError struct {
	Path      string
	Found     int // 0: no schema version stored
	Supported int
	ReadOnly  bool
}

// Error explains which way the versions differ, since the fixes differ.
func (e *SchemaError) Error() string {
	switch {
	case e.Found == 0:
		return fmt.Sprintf("store %s is a bbolt file without an authd schema version (is it another program's database?)", e.Path)
	case e.Found > e.Supported:
		return fmt.Sprintf("store %s was created by a newer authd (schema %d); this build supports up to %d", e.Path, e.Found, e.Supported)
	default:
		return fmt.Sprintf("store %s has schema %d and needs an upgrade to %d, which a read-only open cannot do; open it once read-write (authd run)", e.Path, e.Found, e.Supported)
	}
}
