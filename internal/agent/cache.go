package agent

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Defaults of CacheConfig, the EKS agent's where it has one.
const (
	DefaultMaxSize         = 2000
	DefaultMaxRetention    = 3 * time.Hour
	DefaultMinRemaining    = 15 * time.Minute
	DefaultRetryDelay      = time.Minute
	DefaultFetchTimeout    = 3 * time.Second
	DefaultServiceQPS      = 20
	DefaultServiceBurst    = 40
	DefaultJanitorInterval = 15 * time.Second
)

// ErrThrottled is returned when the upstream rate limit leaves no room for
// a call within the caller's time.
var ErrThrottled = errors.New("too many requests to EKS Auth from this agent: its rate limit is reached")

// CacheConfig configures a Cache.
type CacheConfig struct {
	// Upstream is called for credentials the cache does not have.
	Upstream Upstream

	// MaxSize is the most tokens cached; the least recently asked for is
	// dropped to make room. MaxRetention is the longest time credentials
	// are kept before they are renewed. Either at zero disables caching:
	// every request calls Upstream (still under the rate limit).
	MaxSize      int
	MaxRetention time.Duration
	// MinRemaining: cached credentials with less validity left (at most a
	// quarter of their lifetime) are handed out only when a renewal fails.
	// An SDK refreshes credentials some minutes before they expire
	// (botocore 15, aws-sdk-go-v2 5): handing out credentials inside that
	// window would make it ask again at once.
	MinRemaining time.Duration
	// RetryDelay is the wait after a failed renewal before the next one,
	// plus a random jitter of up to as much again; stale credentials are
	// served meanwhile.
	RetryDelay time.Duration
	// FetchTimeout bounds one upstream exchange (all its attempts). The
	// exchange is shared by every request for the token and is not
	// canceled when one of them gives up.
	FetchTimeout time.Duration
	// ServiceQPS and ServiceBurst rate-limit calls to Upstream. Renewals in
	// the background use only the upper half of the burst.
	ServiceQPS   float64
	ServiceBurst int
	// JanitorInterval is how often Run renews due entries and drops expired
	// ones.
	JanitorInterval time.Duration

	// Now is the clock; time.Now when nil. Jitter returns a random duration
	// in [0, max); uniform when nil.
	Now    func() time.Time
	Jitter func(limit time.Duration) time.Duration

	Logger  *slog.Logger
	Metrics *Metrics
}

// Cache hands out pod credentials by token, calling Upstream at most once
// at a time per token. It is safe for concurrent use.
type Cache struct {
	cfg      CacheConfig
	disabled bool
	limiter  *rate.Limiter
	log      *slog.Logger

	mu      sync.Mutex
	entries map[string]*entry
}

// entry is one token's state. Fields are guarded by Cache.mu.
type entry struct {
	token      string
	tokenID    string
	tokenExp   time.Time
	creds      *Credentials // nil until a fetch succeeds
	fetched    time.Time
	refreshAt  time.Time
	minRemain  time.Duration
	lastAccess time.Time
	retryAt    time.Time // no renewal before, after a failure
	flight     *flight
}

// flight is one upstream exchange that requests wait on.
type flight struct {
	done  chan struct{}
	creds *Credentials
	err   error
}

// NewCache returns a cache; call Run to renew entries in the background.
func NewCache(cfg CacheConfig) (*Cache, error) {
	if cfg.Upstream == nil {
		return nil, errors.New("agent: CacheConfig.Upstream is required")
	}
	if cfg.MaxSize < 0 || cfg.MaxRetention < 0 || cfg.MinRemaining < 0 || cfg.RetryDelay < 0 || cfg.FetchTimeout < 0 ||
		cfg.ServiceQPS < 0 || cfg.ServiceBurst < 0 || cfg.JanitorInterval < 0 {
		return nil, errors.New("agent: negative cache setting")
	}
	if cfg.MinRemaining == 0 {
		cfg.MinRemaining = DefaultMinRemaining
	}
	if cfg.RetryDelay == 0 {
		cfg.RetryDelay = DefaultRetryDelay
	}
	if cfg.FetchTimeout == 0 {
		cfg.FetchTimeout = DefaultFetchTimeout
	}
	if cfg.ServiceQPS == 0 {
		cfg.ServiceQPS = DefaultServiceQPS
	}
	if cfg.ServiceBurst == 0 {
		cfg.ServiceBurst = max(DefaultServiceBurst, int(cfg.ServiceQPS))
	}
	if cfg.JanitorInterval == 0 {
		cfg.JanitorInterval = DefaultJanitorInterval
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Jitter == nil {
		cfg.Jitter = func(d time.Duration) time.Duration {
			if d <= 0 {
				return 0
			}
			return rand.N(d) //nolint:gosec // retry jitter, not a secret
		}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Cache{
		cfg:      cfg,
		disabled: cfg.MaxSize == 0 || cfg.MaxRetention == 0,
		limiter:  rate.NewLimiter(rate.Limit(cfg.ServiceQPS), cfg.ServiceBurst),
		log:      log,
		entries:  make(map[string]*entry),
	}
	cfg.Metrics.cacheSize(c.Len)
	return c, nil
}

// Len is the number of tokens cached.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// Fresh returns the cached credentials of token when they are neither due
// for renewal nor past the token's expiry, and nil otherwise. It is the
// hit path: no parsing, one map lookup.
func (c *Cache) Fresh(token string) *Credentials {
	if c.disabled {
		return nil
	}
	now := c.cfg.Now()
	c.mu.Lock()
	e := c.entries[token]
	if e == nil || e.creds == nil || !now.Before(e.refreshAt) || !now.Before(e.tokenExp) || !now.Before(e.creds.Expiration) {
		c.mu.Unlock()
		return nil
	}
	e.lastAccess = now
	creds := e.creds
	c.mu.Unlock()
	c.cfg.Metrics.lookup(lookupHit)
	return creds
}

// Credentials returns the credentials for token, whose unverified claims
// are tok: cached ones while they are fresh; otherwise from Upstream,
// shared with every other request for the same token; the cached ones
// again, stale, when Upstream fails with an error that does not condemn the
// token and they have not expired.
func (c *Cache) Credentials(ctx context.Context, token string, tok *Token) (*Credentials, error) {
	if c.disabled {
		return c.direct(ctx, token)
	}
	now := c.cfg.Now()
	c.mu.Lock()
	e := c.entries[token]
	if e != nil && e.creds != nil && !now.Before(e.creds.Expiration) {
		e.creds = nil
		if e.flight == nil {
			c.drop(e, evictExpired)
			e = nil
		}
	}
	if e == nil {
		e = &entry{token: token, tokenID: TokenID(token), tokenExp: tok.Expiry}
		c.insert(e, now)
	}
	e.lastAccess = now
	prev := e.creds
	if prev != nil {
		if now.Before(e.refreshAt) {
			c.mu.Unlock()
			c.cfg.Metrics.lookup(lookupHit)
			return prev, nil
		}
		if prev.Expiration.Sub(now) >= e.minRemain {
			// Due: serve these while the renewal runs.
			if e.flight == nil && !now.Before(e.retryAt) && c.backgroundAllowed() {
				c.start(e, false)
			}
			c.mu.Unlock()
			c.cfg.Metrics.lookup(lookupHit)
			return prev, nil
		}
		if e.flight == nil && now.Before(e.retryAt) {
			// Renewals are failing: serve the old ones until the retry.
			c.mu.Unlock()
			c.cfg.Metrics.lookup(lookupStale)
			return prev, nil
		}
	}
	f := e.flight
	if f == nil {
		f = c.start(e, true)
		if prev == nil {
			c.cfg.Metrics.lookup(lookupMiss)
		} else {
			c.cfg.Metrics.lookup(lookupRenew)
		}
	} else {
		c.cfg.Metrics.lookup(lookupShared)
	}
	c.mu.Unlock()

	select {
	case <-f.done:
	case <-ctx.Done():
		if prev != nil && c.cfg.Now().Before(prev.Expiration) {
			c.cfg.Metrics.lookup(lookupStale)
			return prev, nil
		}
		return nil, ctx.Err()
	}
	if f.err == nil {
		return f.creds, nil
	}
	if !irrecoverable(f.err) && prev != nil && c.cfg.Now().Before(prev.Expiration) {
		c.cfg.Metrics.lookup(lookupStale)
		return prev, nil
	}
	return nil, f.err
}

// direct is the uncached path.
func (c *Cache) direct(ctx context.Context, token string) (*Credentials, error) {
	c.cfg.Metrics.lookup(lookupMiss)
	ctx, cancel := context.WithTimeout(ctx, c.cfg.FetchTimeout)
	defer cancel()
	if err := c.limiter.Wait(ctx); err != nil {
		return nil, ErrThrottled
	}
	return c.call(ctx, token)
}

func (c *Cache) call(ctx context.Context, token string) (*Credentials, error) {
	start := time.Now()
	creds, err := c.cfg.Upstream.AssumeRoleForPodIdentity(ctx, token)
	c.cfg.Metrics.upstream(err, time.Since(start))
	return creds, err
}

// backgroundAllowed takes a limiter token for a renewal nobody waits for,
// only while more than half the burst is left for requests. c.mu is held.
func (c *Cache) backgroundAllowed() bool {
	now := c.cfg.Now()
	if c.limiter.TokensAt(now) < float64(c.cfg.ServiceBurst)/2+1 {
		c.cfg.Metrics.renewal(renewalDeferred)
		return false
	}
	return c.limiter.AllowN(now, 1)
}

// start begins an upstream exchange for e. c.mu is held. A foreground
// exchange waits for the rate limiter within FetchTimeout; a background
// one has its limiter token already.
func (c *Cache) start(e *entry, foreground bool) *flight {
	f := &flight{done: make(chan struct{})}
	e.flight = f
	go c.fetch(e, f, foreground)
	return f
}

func (c *Cache) fetch(e *entry, f *flight, foreground bool) {
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.FetchTimeout)
	defer cancel()
	var (
		creds *Credentials
		err   error
	)
	if foreground {
		if werr := c.limiter.Wait(ctx); werr != nil {
			err = ErrThrottled
		}
	}
	if err == nil {
		creds, err = c.call(ctx, e.token)
	}
	now := c.cfg.Now()

	c.mu.Lock()
	defer c.mu.Unlock()
	e.flight = nil
	f.creds, f.err = creds, err
	close(f.done)
	cached := c.entries[e.token] == e
	switch {
	case err == nil:
		c.store(e, creds, now)
		if !foreground {
			c.cfg.Metrics.renewal(renewalSuccess)
		}
		c.log.Debug("pod credentials fetched", "token", e.tokenID, "namespace", creds.Namespace,
			"service_account", creds.ServiceAccount, "association", creds.AssociationID,
			"expiration", creds.Expiration.Format(time.RFC3339), "background", !foreground)
	case irrecoverable(err):
		had := e.creds != nil
		e.creds = nil
		if cached {
			c.drop(e, evictIrrecoverable)
		}
		if !foreground {
			c.cfg.Metrics.renewal(renewalError)
		}
		// Expected when a pod is deleted or its association removed: info,
		// not error. A refusal a request waits for is logged by the handler.
		if had {
			c.log.Info("EKS Auth refused the token; its cached credentials are dropped", "token", e.tokenID, "error", err)
		} else {
			c.log.Debug("EKS Auth refused the token", "token", e.tokenID, "error", err)
		}
	default:
		e.retryAt = now.Add(c.cfg.RetryDelay + c.cfg.Jitter(c.cfg.RetryDelay))
		if !foreground {
			c.cfg.Metrics.renewal(renewalError)
		}
		if e.creds == nil && cached {
			delete(c.entries, e.token)
		}
		c.log.Warn("cannot get pod credentials from EKS Auth", "token", e.tokenID, "error", err,
			"serving_stale", e.creds != nil, "retry_after", e.retryAt.Sub(now).Round(time.Second).String())
	}
}

// store records new credentials in e. c.mu is held.
func (c *Cache) store(e *entry, creds *Credentials, now time.Time) {
	e.creds = creds
	e.fetched = now
	e.retryAt = time.Time{}
	life := creds.Expiration.Sub(now)
	e.refreshAt = now.Add(min(c.cfg.MaxRetention, life/2))
	e.minRemain = min(c.cfg.MinRemaining, life/4)
	if _, ok := c.entries[e.token]; !ok && len(c.entries) < c.cfg.MaxSize {
		// Dropped meanwhile (capacity) and not asked for since: keep the
		// credentials if there is room.
		c.entries[e.token] = e
	}
}

// insert adds e, making room by dropping expired entries, else the least
// recently asked for idle entry. c.mu is held.
func (c *Cache) insert(e *entry, now time.Time) {
	if len(c.entries) >= c.cfg.MaxSize {
		var lru *entry
		for _, o := range c.entries {
			if o.flight != nil {
				continue
			}
			if o.creds == nil || !now.Before(o.creds.Expiration) {
				c.drop(o, evictExpired)
				continue
			}
			if lru == nil || o.lastAccess.Before(lru.lastAccess) {
				lru = o
			}
		}
		if len(c.entries) >= c.cfg.MaxSize && lru != nil {
			c.drop(lru, evictCapacity)
		}
	}
	c.entries[e.token] = e
}

// drop removes e. c.mu is held.
func (c *Cache) drop(e *entry, reason string) {
	if c.entries[e.token] == e {
		delete(c.entries, e.token)
		c.cfg.Metrics.evict(reason)
	}
}

// Run renews due entries of active tokens and drops expired ones every
// JanitorInterval until ctx is done. A token is active while someone asked
// for it within its credentials' lifetime: an SDK asks at least that often,
// so a longer silence means the pod is gone.
func (c *Cache) Run(ctx context.Context) error {
	if c.disabled {
		<-ctx.Done()
		return nil
	}
	t := time.NewTicker(c.cfg.JanitorInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			c.sweep()
		}
	}
}

// sweep is one pass of Run.
func (c *Cache) sweep() {
	now := c.cfg.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.entries {
		if e.flight != nil {
			continue
		}
		if e.creds == nil || !now.Before(e.creds.Expiration) {
			c.drop(e, evictExpired)
			continue
		}
		life := e.creds.Expiration.Sub(e.fetched)
		if now.Before(e.refreshAt) || now.Before(e.retryAt) || !now.Before(e.tokenExp) || now.Sub(e.lastAccess) >= life {
			continue
		}
		if !c.backgroundAllowed() {
			return
		}
		c.start(e, false)
	}
}
