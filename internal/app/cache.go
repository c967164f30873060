package app

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/irsa-dev/irsa/internal/store"
)

// cachedStore serves the reads on the path of every STS call (a role, the
// OIDC providers of an account) from memory for a short time, and forgets
// an entry as soon as this process writes it. Another replica's writes are
// seen within the TTL, which is how IAM behaves too: its changes are
// eventually consistent.
type cachedStore struct {
	store.Store
	ttl time.Duration
	now func() time.Time

	mu        sync.Mutex
	roles     map[string]cachedRole
	providers map[string]cachedProviders
}

type cachedRole struct {
	role store.Role
	at   time.Time
}

type cachedProviders struct {
	list []store.OIDCProvider
	at   time.Time
}

const maxCached = 10000

func newCachedStore(st store.Store, ttl time.Duration, now func() time.Time) *cachedStore {
	return &cachedStore{Store: st, ttl: ttl, now: now, roles: map[string]cachedRole{}, providers: map[string]cachedProviders{}}
}

func roleKey(accountID, name string) string { return accountID + "/" + strings.ToLower(name) }

func (c *cachedStore) fresh(at time.Time) bool {
	d := c.now().Sub(at)
	return d >= 0 && d < c.ttl
}

func (c *cachedStore) GetRole(ctx context.Context, accountID, name string) (store.Role, error) {
	k := roleKey(accountID, name)
	c.mu.Lock()
	e, ok := c.roles[k]
	c.mu.Unlock()
	if ok && c.fresh(e.at) {
		return e.role, nil
	}
	r, err := c.Store.GetRole(ctx, accountID, name)
	if err != nil {
		return r, err
	}
	c.mu.Lock()
	if len(c.roles) >= maxCached {
		c.roles = map[string]cachedRole{}
	}
	c.roles[k] = cachedRole{role: r, at: c.now()}
	c.mu.Unlock()
	return r, nil
}

func (c *cachedStore) ListOIDCProviders(ctx context.Context, accountID string) ([]store.OIDCProvider, error) {
	c.mu.Lock()
	e, ok := c.providers[accountID]
	c.mu.Unlock()
	if ok && c.fresh(e.at) {
		return e.list, nil
	}
	list, err := c.Store.ListOIDCProviders(ctx, accountID)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.providers) >= maxCached {
		c.providers = map[string]cachedProviders{}
	}
	c.providers[accountID] = cachedProviders{list: list, at: c.now()}
	c.mu.Unlock()
	return list, nil
}

func (c *cachedStore) forgetRole(accountID, name string) {
	c.mu.Lock()
	delete(c.roles, roleKey(accountID, name))
	c.mu.Unlock()
}

func (c *cachedStore) forgetProviders(accountID string) {
	c.mu.Lock()
	delete(c.providers, accountID)
	c.mu.Unlock()
}

func (c *cachedStore) CreateRole(ctx context.Context, r store.Role) error {
	defer c.forgetRole(r.AccountID, r.Name)
	return c.Store.CreateRole(ctx, r)
}

func (c *cachedStore) UpdateRole(ctx context.Context, accountID, name string, fn func(*store.Role) error) (store.Role, error) {
	defer c.forgetRole(accountID, name)
	return c.Store.UpdateRole(ctx, accountID, name, fn)
}

func (c *cachedStore) DeleteRole(ctx context.Context, accountID, name string) error {
	defer c.forgetRole(accountID, name)
	return c.Store.DeleteRole(ctx, accountID, name)
}

func (c *cachedStore) CreateOIDCProvider(ctx context.Context, p store.OIDCProvider) error {
	defer c.forgetProviders(p.AccountID)
	return c.Store.CreateOIDCProvider(ctx, p)
}

func (c *cachedStore) UpdateOIDCProvider(ctx context.Context, arn string, fn func(*store.OIDCProvider) error) (store.OIDCProvider, error) {
	p, err := c.Store.UpdateOIDCProvider(ctx, arn, fn)
	c.forgetAllProviders()
	return p, err
}

func (c *cachedStore) DeleteOIDCProvider(ctx context.Context, arn string) error {
	defer c.forgetAllProviders()
	return c.Store.DeleteOIDCProvider(ctx, arn)
}

func (c *cachedStore) forgetAllProviders() {
	c.mu.Lock()
	c.providers = map[string]cachedProviders{}
	c.mu.Unlock()
}
