package webhook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"golang.org/x/sync/singleflight"
)

// AssociationLookup tells whether a ServiceAccount has an EKS Pod Identity
// association in the webhook's cluster. An error means the answer is
// unknown.
type AssociationLookup interface {
	HasAssociation(ctx context.Context, namespace, serviceAccount string) (bool, error)
}

// AssociationLister is the EKS API call the association cache makes;
// *eks.Client implements it.
type AssociationLister interface {
	ListPodIdentityAssociations(ctx context.Context, in *eks.ListPodIdentityAssociationsInput, opts ...func(*eks.Options)) (*eks.ListPodIdentityAssociationsOutput, error)
}

// Bounds and defaults of the association cache.
const (
	// DefaultAssociationTTL is how long a found association is trusted
	// before it is asked for again.
	DefaultAssociationTTL = 60 * time.Second
	// DefaultAssociationNegativeTTL is how long "no association" is
	// trusted: short, so that a pod created just after its association
	// gets it.
	DefaultAssociationNegativeTTL = 5 * time.Second
	// DefaultAssociationMaxStale is how long past its TTL an answer is
	// still used while the EKS API cannot be reached.
	DefaultAssociationMaxStale = 10 * time.Minute
	// DefaultAssociationTimeout bounds one lookup through the EKS API,
	// retries included; the API server gives the whole admission request
	// at most 30 seconds.
	DefaultAssociationTimeout = 3 * time.Second
	// DefaultAssociationMaxEntries bounds the cache's size.
	DefaultAssociationMaxEntries = 50000

	// maxAssociationPages bounds the pages read for one ServiceAccount;
	// the filter on namespace and ServiceAccount leaves at most one
	// association on EKS.
	maxAssociationPages = 10
)

// Results of association lookups, the values of the result label of
// irsa_webhook_pod_identity_lookups_total.
const (
	piLookupHit      = "hit"       // answered from a fresh cache entry
	piLookupFound    = "found"     // asked the EKS API: an association exists
	piLookupNotFound = "not_found" // asked the EKS API: none
	piLookupStale    = "stale"     // the EKS API failed; an expired answer was used
	piLookupError    = "error"     // the EKS API failed and nothing was cached
)

// AssociationCacheConfig configures NewAssociationCache.
type AssociationCacheConfig struct {
	// Client calls ListPodIdentityAssociations on irsa's (or EKS's) API.
	Client AssociationLister
	// ClusterName is the cluster whose associations count. Required.
	ClusterName string
	// TTL, NegativeTTL, MaxStale, Timeout and MaxEntries: zero means the
	// matching Default constant.
	TTL, NegativeTTL, MaxStale, Timeout time.Duration
	MaxEntries                          int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Metrics, when set, counts lookups by result.
	Metrics *Metrics
	// Logger; nil discards.
	Logger *slog.Logger
}

// AssociationCache is the AssociationLookup of the server: it asks the EKS
// API (ListPodIdentityAssociations filtered on the cluster, namespace and
// ServiceAccount) and remembers the answer, an association for TTL and its
// absence for NegativeTTL. Concurrent lookups of one ServiceAccount share
// one call. When the API fails, an answer up to MaxStale past its expiry is
// used; without one the lookup fails.
type AssociationCache struct {
	client      AssociationLister
	cluster     string
	ttl, negTTL time.Duration
	maxStale    time.Duration
	timeout     time.Duration
	maxEntries  int
	now         func() time.Time
	metrics     *Metrics
	log         *slog.Logger

	group   singleflight.Group
	mu      sync.Mutex
	entries map[string]associationEntry
}

type associationEntry struct {
	found   bool
	expires time.Time
}

// NewAssociationCache checks the configuration and builds the cache.
func NewAssociationCache(cfg AssociationCacheConfig) (*AssociationCache, error) {
	if cfg.Client == nil {
		return nil, errors.New("webhook: AssociationCacheConfig.Client is required")
	}
	if err := checkClusterName(cfg.ClusterName); err != nil {
		return nil, fmt.Errorf("webhook: %w", err)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"TTL", cfg.TTL}, {"negative TTL", cfg.NegativeTTL}, {"maximum staleness", cfg.MaxStale}, {"timeout", cfg.Timeout}} {
		if d.v < 0 {
			return nil, fmt.Errorf("webhook: the association cache's %s must not be negative, got %s", d.name, d.v)
		}
	}
	if cfg.Timeout > MaxSALookupGracePeriod {
		return nil, fmt.Errorf("webhook: the association lookup timeout must be at most %s, got %s", MaxSALookupGracePeriod, cfg.Timeout)
	}
	c := &AssociationCache{
		client:     cfg.Client,
		cluster:    cfg.ClusterName,
		ttl:        orDefault(cfg.TTL, DefaultAssociationTTL),
		negTTL:     orDefault(cfg.NegativeTTL, DefaultAssociationNegativeTTL),
		maxStale:   orDefault(cfg.MaxStale, DefaultAssociationMaxStale),
		timeout:    orDefault(cfg.Timeout, DefaultAssociationTimeout),
		maxEntries: cfg.MaxEntries,
		now:        cfg.Now,
		metrics:    cfg.Metrics,
		log:        cfg.Logger,
		entries:    map[string]associationEntry{},
	}
	if c.maxEntries <= 0 {
		c.maxEntries = DefaultAssociationMaxEntries
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

var clusterNamePattern = regexp.MustCompile(`^[0-9A-Za-z][A-Za-z0-9_-]*$`)

// checkClusterName applies EKS's rule for cluster names.
func checkClusterName(name string) error {
	if name == "" {
		return errors.New("the Pod Identity cluster name is required")
	}
	if len(name) > 100 || !clusterNamePattern.MatchString(name) {
		return fmt.Errorf("cluster name %q is not an EKS cluster name (1 to 100 letters, digits, hyphens and underscores, starting with a letter or digit)", name)
	}
	return nil
}

// Cluster is the cluster whose associations the cache looks up.
func (c *AssociationCache) Cluster() string { return c.cluster }

// HasAssociation implements AssociationLookup.
func (c *AssociationCache) HasAssociation(ctx context.Context, namespace, serviceAccount string) (bool, error) {
	if namespace == "" || serviceAccount == "" {
		return false, fmt.Errorf("looking up the association of ServiceAccount %q in namespace %q: both names are required", serviceAccount, namespace)
	}
	key := namespace + "/" + serviceAccount
	now := c.now()
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		c.metrics.podIdentityLookup(piLookupHit)
		return e.found, nil
	}

	ch := c.group.DoChan(key, func() (any, error) {
		// The call outlives any one request: it is shared, so it is
		// bounded by its own timeout, not by the first caller's context.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.timeout)
		defer cancel()
		found, err := c.list(cctx, namespace, serviceAccount)
		if err != nil {
			return false, err
		}
		c.store(key, found)
		return found, nil
	})
	var res singleflight.Result
	select {
	case res = <-ch:
	case <-ctx.Done():
		return false, fmt.Errorf("looking up the Pod Identity association of %s: %w", key, ctx.Err())
	}
	if res.Err == nil {
		found := res.Val.(bool)
		if found {
			c.metrics.podIdentityLookup(piLookupFound)
		} else {
			c.metrics.podIdentityLookup(piLookupNotFound)
		}
		return found, nil
	}
	if ok && c.now().Before(e.expires.Add(c.maxStale)) {
		c.metrics.podIdentityLookup(piLookupStale)
		c.log.Warn("EKS API unavailable; using an expired Pod Identity association answer", "cluster", c.cluster,
			"namespace", namespace, "serviceAccount", serviceAccount, "association", e.found, "error", res.Err)
		return e.found, nil
	}
	c.metrics.podIdentityLookup(piLookupError)
	return false, fmt.Errorf("looking up the Pod Identity association of %s in cluster %s: %w", key, c.cluster, res.Err)
}

// list asks the EKS API whether the ServiceAccount has an association.
func (c *AssociationCache) list(ctx context.Context, namespace, serviceAccount string) (bool, error) {
	in := &eks.ListPodIdentityAssociationsInput{
		ClusterName:    aws.String(c.cluster),
		Namespace:      aws.String(namespace),
		ServiceAccount: aws.String(serviceAccount),
	}
	for range maxAssociationPages {
		out, err := c.client.ListPodIdentityAssociations(ctx, in)
		if err != nil {
			return false, err
		}
		// The filter is the server's; the match is checked here too.
		for _, a := range out.Associations {
			if aws.ToString(a.Namespace) == namespace && aws.ToString(a.ServiceAccount) == serviceAccount {
				return true, nil
			}
		}
		if aws.ToString(out.NextToken) == "" {
			return false, nil
		}
		in.NextToken = out.NextToken
	}
	return false, fmt.Errorf("ListPodIdentityAssociations returned more than %d pages for one ServiceAccount", maxAssociationPages)
}

func (c *AssociationCache) store(key string, found bool) {
	ttl := c.negTTL
	if found {
		ttl = c.ttl
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, present := c.entries[key]; !present && len(c.entries) >= c.maxEntries {
		// Drop what is past any use, then, if still full, anything: an
		// evicted key is only asked for again.
		for k, e := range c.entries {
			if !now.Before(e.expires.Add(c.maxStale)) {
				delete(c.entries, k)
			}
		}
		for k := range c.entries {
			if len(c.entries) < c.maxEntries {
				break
			}
			delete(c.entries, k)
		}
	}
	c.entries[key] = associationEntry{found: found, expires: now.Add(ttl)}
}

// Check makes one ListPodIdentityAssociations call for the cluster, so that
// a wrong cluster name, endpoint or credentials show at start-up.
func (c *AssociationCache) Check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	_, err := c.client.ListPodIdentityAssociations(ctx, &eks.ListPodIdentityAssociationsInput{
		ClusterName: aws.String(c.cluster),
		MaxResults:  aws.Int32(1),
	})
	if err != nil {
		return fmt.Errorf("listing the Pod Identity associations of cluster %s: %w", c.cluster, err)
	}
	return nil
}

// len reports the number of cached answers; tests use it.
func (c *AssociationCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
