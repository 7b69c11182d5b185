// Package engine runs compiled journeys: graphs of typed nodes joined by
// outcome edges. It knows nothing of HCL files or of the protocols that
// carry a login; dsl compiles configuration into a Program, protocols
// translate requests into Start and Resume calls, and nodes register the
// node types a journey may use.
//
// A node either ends with an Outcome, which the engine follows along the
// journey's edges, or suspends the session with Callbacks that a front end
// renders and answers. Suspended sessions live in the store, so they survive
// a restart and can be resumed by any front end that holds their id.
package engine
