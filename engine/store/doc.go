// Package store is the persistence boundary: a small transactional
// key/value interface with bbolt as the embedded default and an in-memory
// implementation for tests and `authd test`. Typed repositories (users,
// sessions, devices, tokens) are written on top of KV, so a clustered backend
// (etcd, with its software transactional memory) can be added by
// implementing KV alone, without touching nodes or front ends.
package store
