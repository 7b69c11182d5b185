package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/authd/authd/dsl"
	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/audit"
	"github.com/authd/authd/engine/clientinfo"
	"github.com/authd/authd/engine/store"
	"github.com/authd/authd/protocols/api"
	"github.com/authd/authd/protocols/portal"
)

// portalFront serves the api_clients of the configuration: the start
// endpoint (api.NewPortal) and the delivery of results to their callback
// URLs (portal.Dispatcher). Its clients, and the secure-message composers
// built from their templates and geoip databases, swap in one atomic step
// on a reload, like the other front ends' configuration.
type portalFront struct {
	d   *portal.Dispatcher
	log *slog.Logger
	cur atomic.Pointer[portalClients]

	mu  sync.Mutex // serialises Load
	geo map[string]geoFile
}

// portalClients are one configuration's api_clients and a composer each.
type portalClients struct {
	clients   map[string]*dsl.APIClient
	composers map[string]*clientinfo.Composer
}

// geoFile is a loaded geoip database and the file state it was read in,
// so a reload reads again only a file that changed.
type geoFile struct {
	size int64
	mod  time.Time
	db   *clientinfo.GeoDB
}

// newPortalFront returns the api_client front end over kv; callback
// attempts are audited to auditLog. Load gives it its clients.
func newPortalFront(kv store.KV, auditLog audit.Logger, log *slog.Logger) *portalFront {
	p := &portalFront{log: log.With("component", "portal"), geo: map[string]geoFile{}}
	p.d = portal.New(portal.Options{KV: kv, Audit: auditLog, Log: p.log, Auth: p.callbackAuth})
	p.cur.Store(&portalClients{})
	return p
}

// Load switches to cfg's api_clients. Each geoip database is read once
// per file (clients naming the same path share it) into memory
// (clientinfo.LoadGeoDB), so the one it replaces is merely dropped while
// requests may still use it. A database that cannot be read refuses the
// configuration: at start authd does not start, on a reload the running
// configuration stays. (Failing lookups at run time only drop the
// location from the message, see api.NewPortal.)
func (p *portalFront) Load(cfg *dsl.Config) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	next := &portalClients{clients: map[string]*dsl.APIClient{}, composers: map[string]*clientinfo.Composer{}}
	geo := map[string]geoFile{}
	names := make([]string, 0, len(cfg.APIClients))
	for n := range cfg.APIClients {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		c := cfg.APIClients[n]
		comp := &clientinfo.Composer{Templates: c.MessageTemplates}
		if path := c.GeoIPDatabase; path != "" {
			g, ok := geo[path]
			if !ok {
				var err error
				if g, err = p.loadGeo(path); err != nil {
					return fmt.Errorf("api_client %q: %v", n, err)
				}
				geo[path] = g
			}
			comp.Geo = g.db
		}
		next.clients[n] = c
		next.composers[n] = comp
	}
	p.geo = geo
	p.cur.Store(next)
	return nil
}

// loadGeo returns the database at path, the one already loaded when the
// file is unchanged.
func (p *portalFront) loadGeo(path string) (geoFile, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return geoFile{}, fmt.Errorf("geoip database: %w", err)
	}
	if g, ok := p.geo[path]; ok && g.size == fi.Size() && g.mod.Equal(fi.ModTime()) {
		return g, nil
	}
	db, err := clientinfo.LoadGeoDB(path)
	if err != nil {
		return geoFile{}, err
	}
	return geoFile{size: fi.Size(), mod: fi.ModTime(), db: db}, nil
}

// callbackAuth is the basic auth of a client's callbacks, read at each
// attempt, so a reloaded password applies to the retries too.
func (p *portalFront) callbackAuth(client string) (portal.Auth, bool) {
	c := p.cur.Load().clients[client]
	if c == nil || c.CallbackAuth == nil {
		return portal.Auth{}, false
	}
	return portal.Auth{Username: c.CallbackAuth.Username, Password: c.CallbackAuth.Password.Value()}, true
}

// Clients returns the api_clients being served, as of the last load.
func (p *portalFront) Clients() map[string]*dsl.APIClient { return p.cur.Load().clients }

// Handler is the start endpoint; mount it at api.PortalPattern.
func (p *portalFront) Handler(eng *engine.Engine) http.Handler {
	return api.NewPortal(api.PortalOptions{
		Engine:  eng,
		Log:     p.log,
		Clients: p.Clients,
		Composer: func(c *dsl.APIClient) *clientinfo.Composer {
			// A reload between Clients and Composer: the client's own
			// templates, without a location, rather than another's.
			cur := p.cur.Load()
			if cur.clients[c.Name] == c {
				return cur.composers[c.Name]
			}
			return &clientinfo.Composer{Templates: c.MessageTemplates}
		},
		Started: p.started,
	})
}

// started hands a start with a callback URL to the dispatcher: a journey
// still running is expected, one that ended within the start is delivered.
func (p *portalFront) started(s api.PortalStart) error {
	x := portal.Expectation{Session: s.Session, Realm: s.Realm, Journey: s.Journey, User: s.User, Client: s.Client, CallbackURL: s.CallbackURL}
	if s.Done {
		return p.d.Finished(x, portal.Result{Outcome: s.Outcome, User: s.User, Realm: s.Realm, Journey: s.Journey, Session: s.Session, Reason: s.Reason, Time: s.Time})
	}
	return p.d.Expect(x)
}
