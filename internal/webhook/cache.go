package webhook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/flowcontrol"
)

// Bounds and defaults of the ServiceAccount cache.
const (
	// DefaultSALookupGracePeriod is how long a lookup that misses the cache
	// waits for the informer before asking the API server directly.
	DefaultSALookupGracePeriod = 2 * time.Second
	// MaxSALookupGracePeriod bounds the wait: the API server gives a webhook
	// at most 30 seconds for its whole answer.
	MaxSALookupGracePeriod = 30 * time.Second
	// DefaultResyncPeriod is the informer's resync period.
	DefaultResyncPeriod = 60 * time.Second

	defaultFetchTimeout = time.Second
	defaultFetchQPS     = 10
	defaultFetchBurst   = 20
)

// ErrFetchLimited is returned (wrapped) when the direct GET of a missing
// ServiceAccount could not be made within its time budget because too many
// other lookups were fetching at the same moment.
var ErrFetchLimited = errors.New("direct ServiceAccount lookups are rate limited")

// SACacheConfig configures NewSACache.
type SACacheConfig struct {
	// Client reaches the API server: list and watch for the informer, get
	// for the direct lookup.
	Client kubernetes.Interface
	// AnnotationPrefix selects the annotations kept: those whose key starts
	// with AnnotationPrefix + "/". Required.
	AnnotationPrefix string
	// ResyncPeriod of the informer; zero disables resyncs.
	ResyncPeriod time.Duration
	// GracePeriod is how long a lookup that misses the cache waits for the
	// informer to deliver the ServiceAccount before one direct GET. Zero
	// skips the wait (the GET is still made); at most MaxSALookupGracePeriod.
	GracePeriod time.Duration
	// FetchTimeout bounds the direct GET, including the wait for the rate
	// limiter. Zero means one second.
	FetchTimeout time.Duration
	// FetchQPS and FetchBurst shape the rate limiter of direct GETs; zero
	// means 10 per second with bursts of 20.
	FetchQPS   float32
	FetchBurst int
	// Metrics, when set, counts misses and fetches.
	Metrics *Metrics
	// Logger; nil discards.
	Logger *slog.Logger
}

// SACache is the SALookup of the server: a shared informer on every
// ServiceAccount of the cluster, stripped to what the mutation reads, with
// a bounded wait and one direct GET for ServiceAccounts the informer has not
// delivered yet (a pod created in the same burst as its ServiceAccount).
type SACache struct {
	client       kubernetes.Interface
	prefix       string // AnnotationPrefix + "/"
	informer     cache.SharedIndexInformer
	grace        time.Duration
	fetchTimeout time.Duration
	limiter      flowcontrol.RateLimiter
	metrics      *Metrics
	log          *slog.Logger

	mu      sync.Mutex
	waiting map[string]*arrival

	// onWait, when set by tests, runs once a lookup has subscribed to the
	// arrival of its key and before it starts waiting.
	onWait func(key string)
}

// arrival is the notification one or more lookups wait on: closed when the
// informer adds or updates the key.
type arrival struct {
	ch   chan struct{}
	refs int
}

// NewSACache builds the cache; Start runs it.
func NewSACache(cfg SACacheConfig) (*SACache, error) {
	if cfg.Client == nil {
		return nil, errors.New("webhook: SACacheConfig.Client is required")
	}
	if cfg.AnnotationPrefix == "" {
		return nil, errors.New("webhook: SACacheConfig.AnnotationPrefix is required")
	}
	if cfg.GracePeriod < 0 || cfg.GracePeriod > MaxSALookupGracePeriod {
		return nil, fmt.Errorf("webhook: the ServiceAccount lookup grace period must be between 0 and %s, got %s", MaxSALookupGracePeriod, cfg.GracePeriod)
	}
	if cfg.ResyncPeriod < 0 {
		return nil, fmt.Errorf("webhook: the resync period must not be negative, got %s", cfg.ResyncPeriod)
	}
	if cfg.FetchTimeout <= 0 {
		cfg.FetchTimeout = defaultFetchTimeout
	}
	if cfg.FetchQPS <= 0 {
		cfg.FetchQPS = defaultFetchQPS
	}
	if cfg.FetchBurst <= 0 {
		cfg.FetchBurst = defaultFetchBurst
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &SACache{
		client:       cfg.Client,
		prefix:       cfg.AnnotationPrefix + "/",
		grace:        cfg.GracePeriod,
		fetchTimeout: cfg.FetchTimeout,
		limiter:      flowcontrol.NewTokenBucketRateLimiter(cfg.FetchQPS, cfg.FetchBurst),
		metrics:      cfg.Metrics,
		log:          log,
		waiting:      map[string]*arrival{},
	}
	c.informer = coreinformers.NewServiceAccountInformer(cfg.Client, metav1.NamespaceAll, cfg.ResyncPeriod, cache.Indexers{})
	if err := c.informer.SetTransform(c.transform); err != nil {
		return nil, fmt.Errorf("webhook: %w", err)
	}
	_, err := c.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.arrived(obj) },
		UpdateFunc: func(_, obj any) { c.arrived(obj) },
	})
	if err != nil {
		return nil, fmt.Errorf("webhook: %w", err)
	}
	return c, nil
}

// Start runs the informer until ctx is done. It returns at once.
func (c *SACache) Start(ctx context.Context) {
	go c.informer.RunWithContext(ctx)
}

// WaitForSync waits until the informer has listed every ServiceAccount once,
// or timeout passes, or ctx is done. Not being synced is not fatal: lookups
// still work through the grace period and the direct GET, and the informer
// keeps trying.
func (c *SACache) WaitForSync(ctx context.Context, timeout time.Duration) error {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	if !cache.WaitFor(ctx, "", c.informer.HasSyncedChecker()) {
		return fmt.Errorf("the ServiceAccount informer did not sync within %s: %w", timeout, ctx.Err())
	}
	return nil
}

// Synced reports whether the informer has listed every ServiceAccount once.
func (c *SACache) Synced() bool { return c.informer.HasSynced() }

// ServiceAccount implements SALookup. A ServiceAccount found in the cache is
// returned at once. On a miss it waits up to the grace period for the
// informer to deliver it, then asks the API server once. It returns nil, nil
// only when the API server said the ServiceAccount does not exist; when the
// answer is unknown (the GET failed, timed out or was rate limited) it
// returns an error.
func (c *SACache) ServiceAccount(ctx context.Context, namespace, name string) (*ServiceAccount, error) {
	if namespace == "" || name == "" {
		return nil, fmt.Errorf("looking up ServiceAccount %q in namespace %q: both names are required", name, namespace)
	}
	key := namespace + "/" + name
	if sa := c.cached(key); sa != nil {
		return sa, nil
	}
	c.metrics.saCacheMiss()
	if c.grace > 0 {
		sa, err := c.await(ctx, key)
		if sa != nil || err != nil {
			return sa, err
		}
	}
	return c.fetch(ctx, namespace, name)
}

// await waits for the informer to deliver key, for at most the grace
// period. It returns nil, nil when the period passes without it.
func (c *SACache) await(ctx context.Context, key string) (*ServiceAccount, error) {
	ch, release := c.subscribe(key)
	defer release()
	// The informer may have delivered between the first look and the
	// subscription; look again now that no arrival can be missed.
	if sa := c.cached(key); sa != nil {
		c.metrics.saWaitResolved()
		return sa, nil
	}
	if c.onWait != nil {
		c.onWait(key)
	}
	t := time.NewTimer(c.grace)
	defer t.Stop()
	select {
	case <-ch:
		if sa := c.cached(key); sa != nil {
			c.metrics.saWaitResolved()
			return sa, nil
		}
		// Added and deleted again before we looked: ask the API server.
		return nil, nil
	case <-t.C:
		return nil, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for ServiceAccount %s: %w", key, ctx.Err())
	}
}

// fetch is the one direct GET of a lookup that the informer could not
// answer.
func (c *SACache) fetch(ctx context.Context, namespace, name string) (*ServiceAccount, error) {
	ctx, cancel := context.WithTimeout(ctx, c.fetchTimeout)
	defer cancel()
	if err := c.limiter.Wait(ctx); err != nil {
		c.metrics.saFetch(fetchLimited)
		return nil, fmt.Errorf("getting ServiceAccount %s/%s: %w (%v)", namespace, name, ErrFetchLimited, err)
	}
	obj, err := c.client.CoreV1().ServiceAccounts(namespace).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		c.metrics.saFetch(fetchNotFound)
		c.log.Debug("ServiceAccount not found", "namespace", namespace, "name", name)
		return nil, nil
	case err != nil:
		c.metrics.saFetch(fetchError)
		return nil, fmt.Errorf("getting ServiceAccount %s/%s: %w", namespace, name, err)
	}
	c.metrics.saFetch(fetchFound)
	c.log.Debug("ServiceAccount fetched directly", "namespace", namespace, "name", name)
	return c.convert(obj), nil
}

// cached returns the ServiceAccount stored under key, or nil.
func (c *SACache) cached(key string) *ServiceAccount {
	obj, ok, err := c.informer.GetStore().GetByKey(key)
	if err != nil || !ok {
		return nil
	}
	sa, ok := obj.(*corev1.ServiceAccount)
	if !ok {
		return nil
	}
	return c.convert(sa)
}

// convert copies what the mutation needs; the annotations are copied so
// that no caller can change the informer's store.
func (c *SACache) convert(sa *corev1.ServiceAccount) *ServiceAccount {
	out := &ServiceAccount{Namespace: sa.Namespace, Name: sa.Name}
	for k, v := range sa.Annotations {
		if strings.HasPrefix(k, c.prefix) {
			if out.Annotations == nil {
				out.Annotations = map[string]string{}
			}
			out.Annotations[k] = v
		}
	}
	return out
}

// transform strips a ServiceAccount to its name, namespace, resource
// version and the annotations under the prefix before the informer stores
// it: clusters have many ServiceAccounts and the rest is never read.
// Anything else (a tombstone) passes unchanged.
func (c *SACache) transform(obj any) (any, error) {
	sa, ok := obj.(*corev1.ServiceAccount)
	if !ok {
		return obj, nil
	}
	var ann map[string]string
	for k, v := range sa.Annotations {
		if strings.HasPrefix(k, c.prefix) {
			if ann == nil {
				ann = map[string]string{}
			}
			ann[k] = v
		}
	}
	return &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{
		Name:            sa.Name,
		Namespace:       sa.Namespace,
		ResourceVersion: sa.ResourceVersion,
		Annotations:     ann,
	}}, nil
}

// subscribe registers interest in the arrival of key. release must be
// called when the caller stops waiting.
func (c *SACache) subscribe(key string) (<-chan struct{}, func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a := c.waiting[key]
	if a == nil {
		a = &arrival{ch: make(chan struct{})}
		c.waiting[key] = a
	}
	a.refs++
	return a.ch, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		a.refs--
		if a.refs == 0 && c.waiting[key] == a {
			delete(c.waiting, key)
		}
	}
}

// arrived wakes the lookups waiting for obj. The informer calls it after
// storing obj, so a woken lookup finds it in the store.
func (c *SACache) arrived(obj any) {
	key, err := cache.MetaNamespaceKeyFunc(obj)
	if err != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if a := c.waiting[key]; a != nil {
		close(a.ch)
		delete(c.waiting, key)
	}
}

// waiters reports how many keys have lookups waiting; tests use it.
func (c *SACache) waiters() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.waiting)
}
