package api

import (
	"runtime"
	"slices"
	"sync"
	"weak"

	"github.com/authd/authd/dsl"
	"github.com/authd/authd/engine"
)

// A journey an api_client may start is started only by api_clients. Such a
// journey trusts the user name it is given (the application authenticated
// its user already), so anyone starting it through the public
// authenticate endpoint could send pushes or codes to any user, learn who
// exists, and take the success of a careless approval. The journey API
// therefore refuses to start it; a session an api_client started is still
// resumed (and long-polled) there by its id, which only the client knows.
//
// The journey API learns the api_clients from the portal endpoint built
// over the same engine (NewPortal registers its Clients function here),
// so the two cannot disagree and nothing else has to be wired: `authd run`
// builds both over one engine. Clients is read per request, so a reload
// that adds or drops a journey from an api_client applies at once.

// clientSources maps an engine to the Clients functions of the portal
// endpoints built over it. Engines are held weakly, so a test that builds
// many servers does not keep their engines alive.
var clientSources = struct {
	sync.RWMutex
	m map[weak.Pointer[engine.Engine]][]func() map[string]*dsl.APIClient
}{m: map[weak.Pointer[engine.Engine]][]func() map[string]*dsl.APIClient{}}

// registerClients records that clients lists the api_clients of a portal
// endpoint over e.
func registerClients(e *engine.Engine, clients func() map[string]*dsl.APIClient) {
	if e == nil || clients == nil {
		return
	}
	k := weak.Make(e)
	clientSources.Lock()
	defer clientSources.Unlock()
	if _, known := clientSources.m[k]; !known {
		runtime.AddCleanup(e, func(k weak.Pointer[engine.Engine]) {
			clientSources.Lock()
			delete(clientSources.m, k)
			clientSources.Unlock()
		}, k)
	}
	clientSources.m[k] = append(clientSources.m[k], clients)
}

// clientsOnly reports whether some api_client of a portal endpoint over e
// lists journey, which then is started only through that endpoint.
func clientsOnly(e *engine.Engine, journey string) bool {
	clientSources.RLock()
	fs := clientSources.m[weak.Make(e)]
	clientSources.RUnlock()
	for _, f := range fs {
		for _, c := range f() {
			if slices.Contains(c.Journeys, journey) {
				return true
			}
		}
	}
	return false
}
