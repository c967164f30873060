package jwks

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/irsa-dev/irsa/internal/awserr"
	"github.com/irsa-dev/irsa/internal/store"
	"github.com/irsa-dev/irsa/internal/webidentity"
)

// Mirror republishes the key set of a cluster whose service-account issuer
// URL points at irsa itself, as EKS publishes its clusters' issuers: irsa
// fetches the keys from the cluster's API server (which need not be
// reachable from outside) and serves the discovery document and key set at
// the issuer's URL. STS verifies the cluster's tokens with the same keys,
// without a round trip through its own listener.
type Mirror struct {
	// Issuer is the cluster's --service-account-issuer, served by irsa.
	Issuer string
	// JWKSURL is where the keys are read: the API server's
	// https://HOST:PORT/openid/v1/jwks.
	JWKSURL string
	// Client reaches the API server (its CA is configured there).
	Client *http.Client
	// BearerTokenFile, when set, is read at every fetch and sent as
	// "Authorization: Bearer", for API servers that do not serve the key
	// set to anonymous callers.
	BearerTokenFile string
	Now             func() time.Time
	MinRefresh      time.Duration // default DefaultMinRefresh
	MaxStale        time.Duration // default DefaultMaxStale

	mu        sync.Mutex
	set       *jose.JSONWebKeySet
	expiresAt time.Time
	lastFetch time.Time
	lastErr   *awserr.Error
}

func (m *Mirror) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

// KeySet returns the mirrored keys, fetching them when the cached set has
// expired (at most once per MinRefresh; stale keys are kept up to MaxStale
// while the API server cannot be reached).
func (m *Mirror) KeySet(ctx context.Context) (*jose.JSONWebKeySet, error) {
	return m.keySet(ctx, false)
}

func (m *Mirror) keySet(ctx context.Context, force bool) (*jose.JSONWebKeySet, error) {
	minRefresh, maxStale := m.MinRefresh, m.MaxStale
	if minRefresh == 0 {
		minRefresh = DefaultMinRefresh
	}
	if maxStale == 0 {
		maxStale = DefaultMaxStale
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	fresh := m.set != nil && now.Before(m.expiresAt)
	if fresh && !force {
		return m.set, nil
	}
	if !m.lastFetch.IsZero() && now.Sub(m.lastFetch) < minRefresh {
		if m.set != nil && now.Before(m.expiresAt.Add(maxStale)) {
			return m.set, nil
		}
		if m.lastErr != nil {
			return nil, m.lastErr
		}
	}
	m.lastFetch = now
	set, age, err := m.fetch(ctx)
	if err != nil {
		m.lastErr = err
		if m.set != nil && now.Before(m.expiresAt.Add(maxStale)) {
			return m.set, nil
		}
		return nil, err
	}
	m.set, m.expiresAt, m.lastErr = set, now.Add(age), nil
	return set, nil
}

func (m *Mirror) fetch(ctx context.Context) (*jose.JSONWebKeySet, time.Duration, *awserr.Error) {
	ctx, cancel := context.WithTimeout(ctx, DefaultTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.JWKSURL, nil)
	if err != nil {
		return nil, 0, keyUnavailable(err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	if m.BearerTokenFile != "" {
		tok, err := os.ReadFile(m.BearerTokenFile)
		if err != nil {
			return nil, 0, unreachable(fmt.Errorf("reading the bearer token for %s: %w", m.JWKSURL, err))
		}
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	}
	client := m.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, 0, classify(m.JWKSURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
			return nil, 0, unreachable(fmt.Errorf("GET %s: HTTP %d", m.JWKSURL, resp.StatusCode))
		}
		return nil, 0, keyUnavailable(fmt.Errorf("GET %s: HTTP %d", m.JWKSURL, resp.StatusCode))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBodySize+1))
	if err != nil || len(body) > MaxBodySize {
		return nil, 0, keyUnavailable(fmt.Errorf("GET %s: unreadable or larger than %d bytes", m.JWKSURL, MaxBodySize))
	}
	set, verr := webidentity.ValidateKeySet(body)
	if verr != nil {
		return nil, 0, keyUnavailable(verr)
	}
	return set, maxAge(resp.Header.Get("Cache-Control")), nil
}

// Key implements webidentity.KeySource for the mirrored issuer. An unknown
// kid forces a refresh (rate-limited like the cache's).
func (m *Mirror) Key(ctx context.Context, _ *store.OIDCProvider, kid string) (*jose.JSONWebKey, error) {
	set, err := m.keySet(ctx, false)
	if err != nil {
		return nil, err
	}
	if k := lookup(set, kid); k != nil {
		return k, nil
	}
	if set, err = m.keySet(ctx, true); err != nil {
		return nil, err
	}
	if k := lookup(set, kid); k != nil {
		return k, nil
	}
	return nil, keyUnavailable(fmt.Errorf("no key %q in the mirrored key set of %s", truncate(kid, 64), m.Issuer))
}

// DiscoveryPath and JWKSPath are where the mirror is served, below the
// issuer URL's path.
const (
	DiscoveryPath = "/.well-known/openid-configuration"
	JWKSPath      = "/openid/v1/jwks"
)

// ServeHTTP serves the discovery document (jwks_uri below the issuer) and
// the mirrored key set.
func (m *Mirror) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body any
	ctype := "application/json"
	switch {
	case strings.HasSuffix(r.URL.Path, DiscoveryPath):
		set, err := m.KeySet(r.Context())
		if err != nil {
			http.Error(w, "the cluster's keys are unavailable", http.StatusServiceUnavailable)
			return
		}
		algs := []string{}
		seen := map[string]bool{}
		for _, k := range set.Keys {
			if k.Algorithm != "" && !seen[k.Algorithm] {
				seen[k.Algorithm] = true
				algs = append(algs, k.Algorithm)
			}
		}
		body = map[string]any{
			"issuer":                                m.Issuer,
			"jwks_uri":                              strings.TrimSuffix(m.Issuer, "/") + JWKSPath,
			"response_types_supported":              []string{"id_token"},
			"subject_types_supported":               []string{"public"},
			"id_token_signing_alg_values_supported": algs,
		}
	case strings.HasSuffix(r.URL.Path, JWKSPath):
		set, err := m.KeySet(r.Context())
		if err != nil {
			http.Error(w, "the cluster's keys are unavailable", http.StatusServiceUnavailable)
			return
		}
		body, ctype = set, "application/jwk-set+json"
	default:
		http.NotFound(w, r)
		return
	}
	b, err := json.Marshal(body)
	if err != nil {
		http.Error(w, "encoding failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(b)
}
