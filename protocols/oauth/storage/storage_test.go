package storage_test

import (
	"cmp"
	"context"
	"errors"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ory/fosite"

	"github.com/authd/authd/engine/store"
	"github.com/authd/authd/engine/store/boltstore"
	"github.com/authd/authd/engine/store/memstore"
	"github.com/authd/authd/protocols/oauth/storage"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var testClient = &fosite.DefaultClient{ID: "app", GrantTypes: fosite.Arguments{"authorization_code", "refresh_token"}}

func newStore(t *testing.T, kv store.KV) (*storage.Store, *clock) {
	t.Helper()
	return newStoreClients(t, kv, func(_ context.Context, id string) (fosite.Client, error) {
		if id == testClient.ID {
			return testClient, nil
		}
		return nil, fosite.ErrNotFound
	})
}

const (
	defaultAccess  = 3 * time.Hour
	defaultRefresh = 48 * time.Hour
	grace          = 5 * time.Second
)

func newStoreClients(t *testing.T, kv store.KV, clients func(context.Context, string) (fosite.Client, error)) (*storage.Store, *clock) {
	t.Helper()
	clk := &clock{t: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)}
	s := storage.New(kv, storage.Options{
		Clients:         clients,
		NewSession:      func() fosite.Session { return &fosite.DefaultSession{} },
		Now:             clk.now,
		RefreshGrace:    grace,
		AccessLifespan:  defaultAccess,
		RefreshLifespan: defaultRefresh,
	})
	return s, clk
}

func request(id string, clk *clock, exp time.Duration) *fosite.Request {
	sess := &fosite.DefaultSession{Subject: "alice"}
	now := clk.now()
	for _, tt := range []fosite.TokenType{fosite.AuthorizeCode, fosite.AccessToken, fosite.RefreshToken} {
		sess.SetExpiresAt(tt, now.Add(exp))
	}
	return &fosite.Request{
		ID: id, RequestedAt: now, Client: testClient, Session: sess,
		RequestedScope: fosite.Arguments{"openid"}, GrantedScope: fosite.Arguments{"openid"},
		Form: url.Values{"redirect_uri": {"https://app/cb"}, "password": {"secret!"}, "client_secret": {"s3"}},
	}
}

func stores(t *testing.T) map[string]store.KV {
	bolt, err := boltstore.Open(filepath.Join(t.TempDir(), "db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bolt.Close() })
	return map[string]store.KV{"memstore": memstore.New(), "boltstore": bolt}
}

func TestCodeCheckAndFlipInOneTransaction(t *testing.T) {
	for name, kv := range stores(t) {
		t.Run(name, func(t *testing.T) {
			s, clk := newStore(t, kv)
			ctx := context.Background()
			if err := s.CreateAuthorizeCodeSession(ctx, "code1", request("r1", clk, time.Minute)); err != nil {
				t.Fatal(err)
			}
			if err := s.CreatePKCERequestSession(ctx, "code1", request("r1", clk, time.Minute)); err != nil {
				t.Fatal(err)
			}
			// Two transactions both read the code as active, as fosite does.
			var ctxs []context.Context
			for range 2 {
				if _, err := s.GetAuthorizeCodeSession(ctx, "code1", nil); err != nil {
					t.Fatal(err)
				}
				c, _ := s.BeginTX(ctx)
				if err := s.InvalidateAuthorizeCodeSession(c, "code1"); err != nil {
					t.Fatal(err)
				}
				if err := s.CreateAccessTokenSession(c, "at-"+string(rune('a'+len(ctxs))), request("r1", clk, time.Hour)); err != nil {
					t.Fatal(err)
				}
				ctxs = append(ctxs, c)
			}
			if err := s.Commit(ctxs[0]); err != nil {
				t.Fatal(err)
			}
			if err := s.Commit(ctxs[1]); !errors.Is(err, storage.ErrConflict) {
				t.Fatalf("second commit: %v, want ErrConflict", err)
			}
			if _, err := s.GetAccessTokenSession(ctx, "at-b", nil); !errors.Is(err, fosite.ErrNotFound) {
				t.Errorf("the loser's token was written: %v", err)
			}
			req, err := s.GetAuthorizeCodeSession(ctx, "code1", nil)
			if !errors.Is(err, fosite.ErrInvalidatedAuthorizeCode) || req == nil || req.GetID() != "r1" {
				t.Errorf("used code: %v %v", req, err)
			}
			if _, err := s.GetPKCERequestSession(ctx, "code1", nil); !errors.Is(err, fosite.ErrNotFound) {
				t.Errorf("PKCE session outlived its code: %v", err)
			}
			at, err := s.GetAccessTokenSession(ctx, "at-a", nil)
			if err != nil {
				t.Fatal(err)
			}
			if f := at.GetRequestForm(); f.Get("password") != "" || f.Get("client_secret") != "" || f.Get("redirect_uri") == "" {
				t.Errorf("stored form %v", f)
			}
		})
	}
}

func TestRefreshGraceAndReuse(t *testing.T) {
	s, clk := newStore(t, memstore.New())
	ctx := context.Background()
	if err := s.CreateRefreshTokenSession(ctx, "rt1", "at1", request("fam", clk, time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAccessTokenSession(ctx, "at1", request("fam", clk, time.Hour)); err != nil {
		t.Fatal(err)
	}
	rotate := func() error {
		c, _ := s.BeginTX(ctx)
		if err := s.RotateRefreshToken(c, "fam", "rt1"); err != nil {
			return err
		}
		return s.Commit(c)
	}
	if err := rotate(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetAccessTokenSession(ctx, "at1", nil); !errors.Is(err, fosite.ErrNotFound) {
		t.Error("rotation kept the access token issued with the old refresh token")
	}
	clk.add(3 * time.Second)
	if _, err := s.GetRefreshTokenSession(ctx, "rt1", nil); err != nil {
		t.Fatalf("within the grace window: %v", err)
	}
	if err := rotate(); err != nil {
		t.Fatalf("second rotation within grace: %v", err)
	}
	clk.add(3 * time.Second)
	if req, err := s.GetRefreshTokenSession(ctx, "rt1", nil); !errors.Is(err, fosite.ErrInactiveToken) || req == nil {
		t.Fatalf("after the grace window: %v %v", req, err)
	}
	if err := rotate(); !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("rotation after grace: %v", err)
	}
	// Revoking the family removes every token of the grant.
	if err := s.CreateRefreshTokenSession(ctx, "rt2", "at2", request("fam", clk, time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeGrant(ctx, "fam"); err != nil {
		t.Fatal(err)
	}
	for _, sig := range []string{"rt1", "rt2"} {
		if _, err := s.GetRefreshTokenSession(ctx, sig, nil); !errors.Is(err, fosite.ErrNotFound) {
			t.Errorf("%s after revoking the grant: %v", sig, err)
		}
	}
}

func TestSweepDropsExpiredRecords(t *testing.T) {
	kv := memstore.New()
	s, clk := newStore(t, kv)
	ctx := context.Background()
	for i, ttl := range []time.Duration{time.Minute, time.Hour} {
		id := []string{"short", "long"}[i]
		if err := s.CreateAccessTokenSession(ctx, id, request(id, clk, ttl)); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateAuthorizeCodeSession(ctx, id, request(id, clk, ttl)); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.Sweep(clk.now().Add(2 * time.Minute))
	if err != nil || n != 2 {
		t.Fatalf("swept %d (%v), want 2", n, err)
	}
	if _, err := s.GetAccessTokenSession(ctx, "short", nil); !errors.Is(err, fosite.ErrNotFound) {
		t.Error("expired token survived the sweep")
	}
	if _, err := s.GetAccessTokenSession(ctx, "long", nil); err != nil {
		t.Errorf("live token swept: %v", err)
	}
	// No index entries are left behind for swept records.
	left := 0
	_ = kv.View(func(tx store.Tx) error {
		return tx.ForEach(storage.BucketFamily, nil, func(k, _ []byte) error {
			if strings.HasPrefix(string(k), "short") {
				left++
			}
			return nil
		})
	})
	mustZero(t, "family entries of swept tokens", left)
}

func TestClientRemovedKillsItsTokens(t *testing.T) {
	s, clk := newStore(t, memstore.New())
	ctx := context.Background()
	r := request("r", clk, time.Hour)
	r.Client = &fosite.DefaultClient{ID: "gone"}
	if err := s.CreateAccessTokenSession(ctx, "at", r); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetAccessTokenSession(ctx, "at", nil); !errors.Is(err, fosite.ErrNotFound) {
		t.Errorf("token of a removed client: %v", err)
	}
}

// TestRotatedNeverExpiringRefreshToken: a refresh token that never expires
// is still unexpiring when read within the grace window after its
// rotation (its record then carries the reuse window as its expiry, which
// a parallel refresh would pass on to the new token), and the sweeper
// drops it after the reuse window.
func TestRotatedNeverExpiringRefreshToken(t *testing.T) {
	never := &ttlClient{DefaultClient: testClient, lifespans: map[fosite.TokenType]time.Duration{fosite.RefreshToken: -1}}
	s, clk := newStoreClients(t, memstore.New(), func(context.Context, string) (fosite.Client, error) { return never, nil })
	ctx := context.Background()
	req := request("grant", clk, 0)
	req.Client, req.Session = never, &fosite.DefaultSession{Subject: "alice"}
	if err := s.CreateRefreshTokenSession(ctx, "rt", "", req); err != nil {
		t.Fatal(err)
	}
	c, _ := s.BeginTX(ctx)
	if err := s.RotateRefreshToken(c, "grant", "rt"); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(c); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetRefreshTokenSession(ctx, "rt", nil)
	if err != nil {
		t.Fatalf("within the grace window: %v", err)
	}
	if exp := got.GetSession().GetExpiresAt(fosite.RefreshToken); !exp.IsZero() {
		t.Errorf("refresh token expiry %v, want none", exp)
	}
	if n, err := s.Sweep(clk.now().Add(storage.DefaultReuseWindow + time.Second)); err != nil || n != 1 {
		t.Errorf("swept %d (%v) after the reuse window, want 1", n, err)
	}
}

// ttlClient has its own token lifetimes, as authd's relying parties do
// (negative: never).
type ttlClient struct {
	*fosite.DefaultClient
	lifespans map[fosite.TokenType]time.Duration
}

func (c *ttlClient) GetEffectiveLifespan(_ fosite.GrantType, tt fosite.TokenType, fallback time.Duration) time.Duration {
	return cmp.Or(c.lifespans[tt], fallback)
}

// TestTokenWithoutExpiry: an access or refresh token whose stored session
// names no expiry — as code exchanges stored them before e003541, or a
// token of a client whose lifetime was never — expires at its issue time
// plus its client's lifetime as configured now (the default when the
// client names none), unless that lifetime is never, or earlier at the
// lifetime it was stored with; and the sweeper drops it then, records
// stored by earlier builds (no expiry in the record, no index entry)
// included.
func TestTokenWithoutExpiry(t *testing.T) {
	const never = -1
	lifetimes := func(access, refresh time.Duration) fosite.Client {
		return &ttlClient{DefaultClient: testClient, lifespans: map[fosite.TokenType]time.Duration{fosite.AccessToken: access, fosite.RefreshToken: refresh}}
	}
	for _, tc := range []struct {
		name string
		tt   fosite.TokenType
		// issued is the client when the token is stored, later when it is
		// used; reload: the store has swept once in between and is told
		// the clients changed.
		issued, later fosite.Client
		reload        bool
		want          time.Duration // after issue; never: no expiry
		swept         time.Duration // after issue (refresh tokens: and grace); zero: want
	}{
		{"refresh-client-lifetime", fosite.RefreshToken, lifetimes(time.Hour, 2*time.Hour), nil, false, 2 * time.Hour, 0},
		{"refresh-default-lifetime", fosite.RefreshToken, testClient, nil, false, defaultRefresh, 0},
		{"refresh-never", fosite.RefreshToken, lifetimes(time.Hour, never), nil, false, never, 0},
		// Stored as builds before e003541 left a code exchange's token:
		// no expiry in the record, no index entry.
		{"refresh-stored-without-expiry", fosite.RefreshToken, lifetimes(time.Hour, never), lifetimes(time.Hour, 2*time.Hour), false, 2 * time.Hour, 0},
		{"refresh-lifetime-no-longer-never-on-reload", fosite.RefreshToken, lifetimes(time.Hour, never), lifetimes(time.Hour, 2*time.Hour), true, 2 * time.Hour, 0},
		// A lifetime changed since: the token keeps the one it was
		// stored with, as tokens with an expiry do, or ends earlier.
		{"refresh-lifetime-never-since", fosite.RefreshToken, lifetimes(time.Hour, 2*time.Hour), lifetimes(time.Hour, never), false, 2 * time.Hour, 0},
		{"refresh-lifetime-longer-since", fosite.RefreshToken, lifetimes(time.Hour, 2*time.Hour), lifetimes(time.Hour, 3*time.Hour), false, 2 * time.Hour, 0},
		{"refresh-lifetime-shorter-since", fosite.RefreshToken, lifetimes(time.Hour, 2*time.Hour), lifetimes(time.Hour, time.Hour), false, time.Hour, 2 * time.Hour},
		{"access-client-lifetime", fosite.AccessToken, lifetimes(time.Hour, 2*time.Hour), nil, false, time.Hour, 0},
		{"access-default-lifetime", fosite.AccessToken, testClient, nil, false, defaultAccess, 0},
		{"access-never", fosite.AccessToken, lifetimes(never, 2*time.Hour), nil, false, never, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			current := tc.issued
			s, clk := newStoreClients(t, memstore.New(), func(_ context.Context, id string) (fosite.Client, error) {
				mu.Lock()
				defer mu.Unlock()
				return current, nil
			})
			ctx := context.Background()
			issued := clk.now()
			req := request("grant", clk, 0)
			req.Client = tc.issued
			req.Session = &fosite.DefaultSession{Subject: "alice"} // no expiries
			store := s.CreateAccessTokenSession
			get := s.GetAccessTokenSession
			if tc.tt == fosite.RefreshToken {
				store = func(ctx context.Context, sig string, r fosite.Requester) error {
					return s.CreateRefreshTokenSession(ctx, sig, "", r)
				}
				get = s.GetRefreshTokenSession
			}
			if tc.later != nil && tc.reload {
				if _, err := s.Sweep(issued); err != nil {
					t.Fatal(err)
				}
			}
			if err := store(ctx, "tok", req); err != nil {
				t.Fatal(err)
			}
			if tc.later != nil {
				if tc.reload {
					if _, err := s.Sweep(issued); err != nil {
						t.Fatal(err)
					}
					s.ClientsChanged()
				}
				mu.Lock()
				current = tc.later
				mu.Unlock()
			}

			got, err := get(ctx, "tok", nil)
			if err != nil {
				t.Fatal(err)
			}
			want := time.Time{}
			if tc.want != never {
				want = issued.Add(tc.want)
			}
			if exp := got.GetSession().GetExpiresAt(tc.tt); !exp.Equal(want) {
				t.Errorf("%s expiry %v, want %v (zero: never)", tc.tt, exp, want)
			}

			// The record is kept until its expiry (refresh tokens: and the
			// grace window), then swept.
			end := issued.AddDate(100, 0, 0)
			if tc.want != never {
				end = issued.Add(cmp.Or(tc.swept, tc.want))
				if tc.tt == fosite.RefreshToken {
					end = end.Add(grace)
				}
			}
			if _, err := s.Sweep(end.Add(-time.Second)); err != nil {
				t.Fatal(err)
			}
			if _, err := get(ctx, "tok", nil); err != nil {
				t.Fatalf("swept before its expiry: %v", err)
			}
			if tc.want == never {
				return
			}
			clk.add(end.Sub(issued))
			if n, err := s.Sweep(end.Add(time.Second)); err != nil || n != 1 {
				t.Errorf("swept %d (%v) after its expiry, want 1", n, err)
			}
			if _, err := get(ctx, "tok", nil); !errors.Is(err, fosite.ErrNotFound) {
				t.Errorf("after its expiry and a sweep: %v, want ErrNotFound", err)
			}
		})
	}
}

func mustZero(t *testing.T, what string, n int) {
	t.Helper()
	if n != 0 {
		t.Errorf("%s: %d, want 0", what, n)
	}
}
