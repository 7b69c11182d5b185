package storage_test

import (
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
	clk := &clock{t: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)}
	s := storage.New(kv, storage.Options{
		Clients: func(_ context.Context, id string) (fosite.Client, error) {
			if id == testClient.ID {
				return testClient, nil
			}
			return nil, fosite.ErrNotFound
		},
		NewSession:   func() fosite.Session { return &fosite.DefaultSession{} },
		Now:          clk.now,
		RefreshGrace: 5 * time.Second,
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

func mustZero(t *testing.T, what string, n int) {
	t.Helper()
	if n != 0 {
		t.Errorf("%s: %d, want 0", what, n)
	}
}
