package resource

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// maxIntrospectionBytes bounds an introspection answer.
const maxIntrospectionBytes = 1 << 20

// remoteIntrospection is RFC 7662 over HTTP, the resource authenticating
// with client_secret_basic (RFC 6749 2.3.1: id and secret form-encoded).
type remoteIntrospection struct {
	url, clientID, secret string
	http                  *http.Client
	now                   func() time.Time
	// sem holds a slot per call in flight (maxRemoteIntrospections).
	sem chan struct{}
}

func (ri *remoteIntrospection) introspect(ctx context.Context, token string) (*tokenInfo, error) {
	select {
	case ri.sem <- struct{}{}:
		defer func() { <-ri.sem }()
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %v", errUnavailable, ctx.Err())
	}
	form := url.Values{"token": {token}, "token_type_hint": {"access_token"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ri.url, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errUnavailable, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if ri.clientID != "" {
		req.SetBasicAuth(url.QueryEscape(ri.clientID), url.QueryEscape(ri.secret))
	}
	resp, err := ri.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: introspection: %v", errUnavailable, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxIntrospectionBytes+1))
	if err != nil || len(body) > maxIntrospectionBytes {
		return nil, fmt.Errorf("%w: introspection answer unreadable or too large", errUnavailable)
	}
	if resp.StatusCode != http.StatusOK {
		// 401 here means authd's own client credentials were refused:
		// an operator's problem, not the client's token.
		return nil, fmt.Errorf("%w: introspection answered %s", errUnavailable, resp.Status)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var claims map[string]any
	if err := dec.Decode(&claims); err != nil {
		return nil, fmt.Errorf("%w: introspection answer is not JSON", errUnavailable)
	}
	normalizeNumbers(claims)
	if active, _ := claims["active"].(bool); !active {
		return nil, invalid("introspection: inactive")
	}
	info := &tokenInfo{claims: claims, audience: stringsOf(claims["aud"]), scopes: scopesOf(claims)}
	info.subject, _ = claims["sub"].(string)
	if info.subject == "" {
		info.subject, _ = claims["username"].(string)
	}
	if exp, ok := claims["exp"].(float64); ok && exp > 0 {
		info.expires = time.Unix(int64(exp), 0)
	}
	if nbf, ok := claims["nbf"].(float64); ok && ri.now().Add(nbfLeeway).Before(time.Unix(int64(nbf), 0)) {
		return nil, invalid("token not valid yet")
	}
	return info, nil
}

// cache keeps positive introspection answers by the SHA-256 of the token
// (the tokens themselves are not kept). It holds at most max entries: a
// full cache first drops what has expired, then arbitrary entries.
type cache struct {
	mu  sync.Mutex
	max int
	m   map[[32]byte]cacheEntry
}

type cacheEntry struct {
	info  *tokenInfo
	until time.Time
}

func newCache(max int) *cache { return &cache{max: max, m: map[[32]byte]cacheEntry{}} }

func cacheKey(token string) [32]byte { return sha256.Sum256([]byte(token)) }

func (c *cache) get(k [32]byte, now time.Time) *tokenInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok {
		return nil
	}
	if !now.Before(e.until) {
		delete(c.m, k)
		return nil
	}
	return e.info
}

func (c *cache) put(k [32]byte, info *tokenInfo, until, now time.Time) {
	if !now.Before(until) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[k]; !ok && len(c.m) >= c.max {
		for key, e := range c.m {
			if !now.Before(e.until) {
				delete(c.m, key)
			}
		}
		for key := range c.m {
			if len(c.m) < c.max {
				break
			}
			delete(c.m, key)
		}
	}
	c.m[k] = cacheEntry{info: info, until: until}
}

func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
