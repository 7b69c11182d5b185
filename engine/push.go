package engine

// PushService is what the push nodes need of the push subsystem (devices,
// providers, pending pushes). The push issue defines its methods; it is an
// interface here so nodes depend on engine alone.
type PushService interface{}
