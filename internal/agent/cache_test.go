package agent

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// counting wraps the real upstream and counts the exchanges the cache
// starts (each may be several HTTP attempts).
type counting struct {
	Upstream
	n atomic.Int64
}

func (c *counting) AssumeRoleForPodIdentity(ctx context.Context, token string) (*Credentials, error) {
	c.n.Add(1)
	return c.Upstream.AssumeRoleForPodIdentity(ctx, token)
}

// cacheWorld is a cache in front of the real client and the test server.
type cacheWorld struct {
	srv   *eksAuthServer
	up    *counting
	cache *Cache
	m     *Metrics
}

func newCacheWorld(t *testing.T, mut func(*CacheConfig)) *cacheWorld {
	t.Helper()
	srv := newEKSAuthServer(t)
	up := &counting{Upstream: newTestUpstream(t, srv)}
	m := NewMetrics()
	cfg := CacheConfig{Upstream: up, MaxSize: 100, MaxRetention: 3 * time.Hour, Metrics: m,
		Jitter: func(time.Duration) time.Duration { return 0 }}
	if mut != nil {
		mut(&cfg)
	}
	c, err := NewCache(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &cacheWorld{srv: srv, up: up, cache: c, m: m}
}

func (w *cacheWorld) get(t *testing.T, raw string, tok *Token) *Credentials {
	t.Helper()
	c, err := w.cache.Credentials(t.Context(), raw, tok)
	if err != nil {
		t.Fatalf("Credentials: %v", err)
	}
	return c
}

func (w *cacheWorld) lookups(result string) float64 {
	return testutil.ToFloat64(w.m.lookups.WithLabelValues(result))
}

func TestCacheSingleFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newCacheWorld(t, nil)
		w.srv.gate = make(chan struct{})
		raw, tok := mintToken(t, "pod-0", 24*time.Hour)

		const n = 100
		var wg sync.WaitGroup
		keys := make([]string, n)
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				c, err := w.cache.Credentials(context.Background(), raw, tok)
				errs[i] = err
				if c != nil {
					keys[i] = c.AccessKeyID
				}
			})
		}
		synctest.Wait() // every request is waiting on the one upstream call
		if got := w.srv.calls.Load(); got != 1 {
			t.Fatalf("upstream calls while %d requests wait = %d, want 1", n, got)
		}
		close(w.srv.gate)
		wg.Wait()
		for i := range n {
			if errs[i] != nil || keys[i] != "ASIA0000000000000001" {
				t.Fatalf("request %d: %q, %v; want the one call's credentials", i, keys[i], errs[i])
			}
		}
		if w.up.n.Load() != 1 || w.lookups(lookupMiss) != 1 || w.lookups(lookupShared) != n-1 {
			t.Errorf("exchanges %d, misses %v, shared %v; want 1, 1, %d", w.up.n.Load(), w.lookups(lookupMiss), w.lookups(lookupShared), n-1)
		}
		if c := w.get(t, raw, tok); c.AccessKeyID != "ASIA0000000000000001" || w.up.n.Load() != 1 || w.lookups(lookupHit) != 1 {
			t.Errorf("next request: %s after %d exchanges; want a cache hit", c.AccessKeyID, w.up.n.Load())
		}
	})
}

func TestCacheWaiterGivingUpDoesNotCancelTheCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newCacheWorld(t, nil)
		w.srv.gate = make(chan struct{})
		raw, tok := mintToken(t, "pod-0", 24*time.Hour)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() {
			_, err := w.cache.Credentials(ctx, raw, tok)
			done <- err
		}()
		synctest.Wait()
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("canceled waiter: %v, want context.Canceled", err)
		}
		close(w.srv.gate)
		synctest.Wait()
		if c := w.get(t, raw, tok); c.AccessKeyID != "ASIA0000000000000001" || w.up.n.Load() != 1 {
			t.Errorf("after the shared call finished: %s, %d exchanges; want its credentials, cached", c.AccessKeyID, w.up.n.Load())
		}
	})
}

func TestCacheRefreshAhead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newCacheWorld(t, nil) // 1 h credentials: due after 30 min
		raw, tok := mintToken(t, "pod-0", 24*time.Hour)
		first := w.get(t, raw, tok)

		time.Sleep(29 * time.Minute)
		if c := w.get(t, raw, tok); c != first || w.up.n.Load() != 1 {
			t.Fatalf("before half-life: %s after %d exchanges; want the cached credentials", c.AccessKeyID, w.up.n.Load())
		}
		time.Sleep(2 * time.Minute)
		// Due: the cached credentials come back at once, the renewal runs
		// behind them.
		if c := w.get(t, raw, tok); c != first {
			t.Fatalf("due entry: got %s, want the cached %s without waiting", c.AccessKeyID, first.AccessKeyID)
		}
		synctest.Wait()
		if w.up.n.Load() != 2 || testutil.ToFloat64(w.m.renewals.WithLabelValues(renewalSuccess)) != 1 {
			t.Fatalf("exchanges %d, renewals %v; want one background renewal", w.up.n.Load(), testutil.ToFloat64(w.m.renewals.WithLabelValues(renewalSuccess)))
		}
		second := w.get(t, raw, tok)
		if second.AccessKeyID != "ASIA0000000000000002" || w.up.n.Load() != 2 {
			t.Fatalf("after the renewal: %s, %d exchanges; want the renewed credentials from the cache", second.AccessKeyID, w.up.n.Load())
		}
		if rem := time.Until(second.Expiration); rem < 59*time.Minute {
			t.Errorf("renewed credentials have %s left, want about an hour", rem)
		}
	})
}

func TestCacheRetentionLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newCacheWorld(t, func(c *CacheConfig) { c.MaxRetention = 10 * time.Minute })
		raw, tok := mintToken(t, "pod-0", 24*time.Hour)
		w.get(t, raw, tok)
		time.Sleep(11 * time.Minute)
		w.get(t, raw, tok)
		synctest.Wait()
		if w.up.n.Load() != 2 {
			t.Errorf("exchanges after the retention limit = %d, want 2", w.up.n.Load())
		}
	})
}

func TestCacheNeverHandsOutNearlyExpiredCredentials(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newCacheWorld(t, nil)
		raw, tok := mintToken(t, "pod-0", 24*time.Hour)
		w.get(t, raw, tok)
		// 10 minutes left is inside the SDKs' refresh window (15 minutes
		// here): the request waits for new credentials.
		time.Sleep(50 * time.Minute)
		c := w.get(t, raw, tok)
		if c.AccessKeyID != "ASIA0000000000000002" || w.lookups(lookupRenew) != 1 {
			t.Fatalf("got %s (renew lookups %v), want new credentials fetched for the request", c.AccessKeyID, w.lookups(lookupRenew))
		}
	})
}

func TestCacheServesStaleThroughOutage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newCacheWorld(t, nil)
		raw, tok := mintToken(t, "pod-0", 24*time.Hour)
		first := w.get(t, raw, tok)

		w.srv.down.Store(true)
		time.Sleep(50 * time.Minute)
		if c := w.get(t, raw, tok); c != first {
			t.Fatalf("during the outage got %s, want the stale %s", c.AccessKeyID, first.AccessKeyID)
		}
		n := w.up.n.Load()
		// Within the retry delay, requests get the stale credentials
		// without knocking on the server again.
		time.Sleep(30 * time.Second)
		if c := w.get(t, raw, tok); c != first || w.up.n.Load() != n {
			t.Fatalf("within the retry delay: %s after %d→%d exchanges; want stale, no call", c.AccessKeyID, n, w.up.n.Load())
		}
		if w.lookups(lookupStale) != 2 {
			t.Errorf("stale lookups = %v, want 2", w.lookups(lookupStale))
		}
		// Once they expire, the outage shows.
		time.Sleep(10 * time.Minute)
		if c, err := w.cache.Credentials(t.Context(), raw, tok); err == nil {
			t.Fatalf("after expiry during the outage: got %s, want an error", c.AccessKeyID)
		} else if irrecoverable(err) {
			t.Fatalf("outage error %v counted as irrecoverable", err)
		}
		w.srv.down.Store(false)
		if c := w.get(t, raw, tok); c == first || c.AccessKeyID == "" {
			t.Fatalf("after the outage: %s, want new credentials", c.AccessKeyID)
		}
	})
}

func TestCacheEvictsOnIrrecoverableErrors(t *testing.T) {
	for _, code := range []string{"AccessDeniedException", "ExpiredTokenException", "InvalidTokenException", "ResourceNotFoundException"} {
		t.Run(code, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := newCacheWorld(t, nil)
				raw, tok := mintToken(t, "pod-0", 24*time.Hour)
				w.get(t, raw, tok)
				status := 400
				if code == "ResourceNotFoundException" {
					status = 404
				}
				w.srv.setFail(func(string) (int, string) { return status, code })
				time.Sleep(31 * time.Minute)
				w.get(t, raw, tok) // due: served, the background renewal is refused
				synctest.Wait()
				if w.cache.Len() != 0 || testutil.ToFloat64(w.m.evictions.WithLabelValues(evictIrrecoverable)) != 1 {
					t.Fatalf("entries %d after %s; want the token evicted", w.cache.Len(), code)
				}
				_, err := w.cache.Credentials(t.Context(), raw, tok)
				var ue *UpstreamError
				if !errors.As(err, &ue) || ue.Code != code || ue.Status != status {
					t.Fatalf("after eviction: %v, want %d %s and no stale credentials", err, status, code)
				}
			})
		})
	}
}

func TestCacheIrrecoverableWhileWaitingIsNotHiddenByStale(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newCacheWorld(t, nil)
		raw, tok := mintToken(t, "pod-0", 24*time.Hour)
		w.get(t, raw, tok)
		w.srv.setFail(func(string) (int, string) { return 400, "AccessDeniedException" })
		time.Sleep(50 * time.Minute) // too close to expiry: the request waits
		if c, err := w.cache.Credentials(t.Context(), raw, tok); !irrecoverable(err) {
			t.Fatalf("got %v, %v; want AccessDeniedException, not the old credentials", c, err)
		}
	})
}

func TestCacheJanitorRenewsActiveAndForgetsIdleTokens(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newCacheWorld(t, nil)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() { _ = w.cache.Run(ctx) }()
		raw, tok := mintToken(t, "pod-0", 24*time.Hour)
		w.get(t, raw, tok)

		// Nobody asks again (the pod is gone). The credentials are renewed
		// once, at half-life, while the last request is younger than their
		// lifetime; then they are left to expire and are dropped.
		time.Sleep(3 * time.Hour)
		if got := w.up.n.Load(); got != 2 {
			t.Errorf("exchanges for an idle token over 3 h = %d, want 2 (the fetch and one renewal)", got)
		}
		if w.cache.Len() != 0 || testutil.ToFloat64(w.m.evictions.WithLabelValues(evictExpired)) != 1 {
			t.Errorf("entries %d after expiry, want the idle token dropped", w.cache.Len())
		}

		// An active token (asked for as an SDK does, 5 minutes before the
		// expiry of what it got) is always a cache hit after the first call.
		raw2, tok2 := mintToken(t, "pod-1", 24*time.Hour)
		c := w.get(t, raw2, tok2)
		base := w.up.n.Load()
		for range 5 {
			time.Sleep(time.Until(c.Expiration) - 5*time.Minute)
			hits := w.lookups(lookupHit)
			c = w.get(t, raw2, tok2)
			if w.lookups(lookupHit) != hits+1 {
				t.Fatalf("an SDK's refresh was not a cache hit (credentials %s)", c.AccessKeyID)
			}
			if rem := time.Until(c.Expiration); rem < 15*time.Minute {
				t.Fatalf("the SDK got credentials with %s left", rem)
			}
		}
		if got := w.up.n.Load() - base; got > 12 {
			t.Errorf("exchanges for an active token = %d, want at most two per hour", got)
		}
	})
}

func TestCacheStopsRenewingAfterTokenExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newCacheWorld(t, nil)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() { _ = w.cache.Run(ctx) }()
		raw, tok := mintToken(t, "pod-0", 20*time.Minute)
		c := w.get(t, raw, tok)
		for range 3 {
			time.Sleep(10 * time.Minute)
			if _, err := w.cache.Credentials(t.Context(), raw, tok); err != nil && time.Now().Before(c.Expiration) {
				t.Fatal(err)
			}
		}
		if got := w.srv.callsFor(raw); got > 2 {
			t.Errorf("calls with a token that expired after 20 min = %d, want at most 2", got)
		}
	})
}

func TestCacheCapacity(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newCacheWorld(t, func(c *CacheConfig) { c.MaxSize = 2 })
		var raws []string
		var toks []*Token
		for i := range 3 {
			raw, tok := mintToken(t, "pod-"+string(rune('a'+i)), 24*time.Hour)
			raws, toks = append(raws, raw), append(toks, tok)
		}
		w.get(t, raws[0], toks[0])
		time.Sleep(time.Second)
		w.get(t, raws[1], toks[1])
		time.Sleep(time.Second)
		w.get(t, raws[0], toks[0]) // 0 is now more recent than 1
		w.get(t, raws[2], toks[2]) // 1 goes
		if w.cache.Len() != 2 || testutil.ToFloat64(w.m.evictions.WithLabelValues(evictCapacity)) != 1 {
			t.Fatalf("entries %d, capacity evictions %v; want 2 and 1", w.cache.Len(), testutil.ToFloat64(w.m.evictions.WithLabelValues(evictCapacity)))
		}
		n := w.up.n.Load()
		w.get(t, raws[0], toks[0])
		if w.up.n.Load() != n {
			t.Error("the recently used token was evicted")
		}
		w.get(t, raws[1], toks[1])
		if w.up.n.Load() != n+1 {
			t.Error("the least recently used token was not evicted")
		}
	})
}

func TestCacheDisabled(t *testing.T) {
	for name, mut := range map[string]func(*CacheConfig){
		"max size 0":  func(c *CacheConfig) { c.MaxSize = 0 },
		"retention 0": func(c *CacheConfig) { c.MaxRetention = 0 },
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := newCacheWorld(t, mut)
				raw, tok := mintToken(t, "pod-0", 24*time.Hour)
				a, b := w.get(t, raw, tok), w.get(t, raw, tok)
				if a.AccessKeyID == b.AccessKeyID || w.up.n.Load() != 2 || w.cache.Len() != 0 {
					t.Errorf("disabled cache: %s, %s after %d exchanges; want two calls", a.AccessKeyID, b.AccessKeyID, w.up.n.Load())
				}
			})
		})
	}
}

func TestCacheRenewalsLeaveHalfTheBurstToRequests(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Burst 4, no refill to speak of: two fetches leave 2 tokens, which
		// background renewals may not use; a new pod's request may.
		w := newCacheWorld(t, func(c *CacheConfig) { c.ServiceQPS = 1e-9; c.ServiceBurst = 4 })
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() { _ = w.cache.Run(ctx) }()
		rawA, tokA := mintToken(t, "pod-a", 24*time.Hour)
		rawB, tokB := mintToken(t, "pod-b", 24*time.Hour)
		w.get(t, rawA, tokA)
		w.get(t, rawB, tokB)
		time.Sleep(31 * time.Minute)
		w.get(t, rawA, tokA)
		synctest.Wait()
		if w.up.n.Load() != 2 || testutil.ToFloat64(w.m.renewals.WithLabelValues(renewalDeferred)) == 0 {
			t.Fatalf("exchanges %d, deferred renewals %v; want renewals deferred", w.up.n.Load(), testutil.ToFloat64(w.m.renewals.WithLabelValues(renewalDeferred)))
		}
		rawC, tokC := mintToken(t, "pod-c", 24*time.Hour)
		if c := w.get(t, rawC, tokC); c == nil || w.up.n.Load() != 3 {
			t.Fatalf("a new pod's request was not served from the reserved half (%d exchanges)", w.up.n.Load())
		}
		// The last two tokens spent; the next new pod is throttled.
		rawD, tokD := mintToken(t, "pod-d", 24*time.Hour)
		w.get(t, rawD, tokD)
		rawE, tokE := mintToken(t, "pod-e", 24*time.Hour)
		if _, err := w.cache.Credentials(t.Context(), rawE, tokE); !errors.Is(err, ErrThrottled) {
			t.Fatalf("with the limiter empty: %v, want ErrThrottled", err)
		}
	})
}

func TestNewCacheRejects(t *testing.T) {
	up := &counting{}
	for name, cfg := range map[string]CacheConfig{
		"no upstream":        {},
		"negative size":      {Upstream: up, MaxSize: -1},
		"negative retention": {Upstream: up, MaxRetention: -time.Second},
		"negative qps":       {Upstream: up, ServiceQPS: -1},
	} {
		if _, err := NewCache(cfg); err == nil {
			t.Errorf("%s: NewCache succeeded", name)
		}
	}
}
