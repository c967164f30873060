package jwks

import (
	"context"
	"crypto/sha1" //nolint:gosec // AWS OIDC thumbprints are SHA-1 fingerprints
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/irsa-dev/irsa/internal/awserr"
	"github.com/irsa-dev/irsa/internal/store"
	"github.com/irsa-dev/irsa/internal/webidentity"
)

// Defaults of Config.
const (
	DefaultMinRefresh = 30 * time.Second
	DefaultMaxStale   = 24 * time.Hour
	DefaultTimeout    = 5 * time.Second
	DefaultMaxAge     = time.Hour
	MinMaxAge         = time.Minute
	MaxMaxAge         = 24 * time.Hour
	MaxBodySize       = 1 << 20
	maxRedirects      = 3
)

// Config configures a Cache.
type Config struct {
	// Client makes the requests. When nil, a client is built with RootCAs;
	// when set, RootCAs is ignored and the client's redirect policy is
	// replaced by the Cache's (its timeout is kept when set).
	Client *http.Client
	// RootCAs verifies providers' certificates; nil means the system pool.
	RootCAs *x509.CertPool
	// InsecureAllowHTTPLoopback allows plain http URLs to localhost and
	// loopback IPs (a local cluster's issuer). Never for other hosts.
	InsecureAllowHTTPLoopback bool
	MinRefresh                time.Duration    // default DefaultMinRefresh
	MaxStale                  time.Duration    // default DefaultMaxStale
	Timeout                   time.Duration    // per request; default DefaultTimeout
	Now                       func() time.Time // default time.Now
	Logger                    *slog.Logger     // refresh failures; default discards
}

// Cache serves external providers' keys. It is safe for concurrent use.
type Cache struct {
	cfg    Config
	client *http.Client

	mu      sync.Mutex
	entries map[string]*entry
}

// entry is the cached key set of one provider URL (and thumbprint list).
type entry struct {
	mu          sync.Mutex
	set         *jose.JSONWebKeySet
	expiresAt   time.Time
	lastAttempt time.Time     // start of the last fetch, successful or not
	lastErr     *awserr.Error // the last fetch's failure; nil after a success
	inflight    *fetchCall
}

// fetchCall is one fetch that concurrent callers share.
type fetchCall struct {
	done    chan struct{}
	err     *awserr.Error
	waiters atomic.Int32 // callers waiting on done (for tests)
}

// New returns a Cache.
func New(cfg Config) *Cache {
	if cfg.MinRefresh <= 0 {
		cfg.MinRefresh = DefaultMinRefresh
	}
	if cfg.MaxStale <= 0 {
		cfg.MaxStale = DefaultMaxStale
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Cache{cfg: cfg, entries: make(map[string]*entry)}
	if cfg.Client != nil {
		client := *cfg.Client
		if client.Timeout == 0 {
			client.Timeout = cfg.Timeout
		}
		c.client = &client
	} else {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{RootCAs: cfg.RootCAs, MinVersion: tls.VersionTLS12}
		c.client = &http.Client{Transport: tr, Timeout: cfg.Timeout}
	}
	c.client.CheckRedirect = c.checkRedirect
	return c
}

var _ webidentity.KeySource = (*Cache)(nil)

func keyUnavailable(cause error) *awserr.Error {
	return &awserr.Error{Code: awserr.InvalidIdentityToken, Message: webidentity.MsgKeyUnavailable, Cause: cause}
}

func unreachable(cause error) *awserr.Error {
	return &awserr.Error{Code: awserr.IDPCommunicationError, Message: webidentity.MsgIDPUnreachable, Cause: cause}
}

func thumbprintMismatch(cause error) *awserr.Error {
	return &awserr.Error{Code: awserr.InvalidIdentityToken, Message: webidentity.MsgThumbprintMismatch, Cause: cause}
}

// Key returns the key kid of provider p, fetching or refreshing the
// provider's key set as needed. kid "" selects the only key of a
// single-key set. Errors are *awserr.Error.
func (c *Cache) Key(ctx context.Context, p *store.OIDCProvider, kid string) (*jose.JSONWebKey, error) {
	if _, err := c.checkURL(p.URL); err != nil {
		return nil, keyUnavailable(fmt.Errorf("provider URL: %w", err))
	}
	e := c.entry(p)
	fetched := false
	for {
		e.mu.Lock()
		now := c.cfg.Now()
		fresh := e.set != nil && now.Before(e.expiresAt)
		usable := e.set != nil && now.Before(e.expiresAt.Add(c.cfg.MaxStale))
		var key *jose.JSONWebKey
		if usable {
			key = lookup(e.set, kid)
		}
		if fresh && key != nil {
			e.mu.Unlock()
			return key, nil
		}
		// The set is missing or expired, or kid is not in it: refresh,
		// unless this caller already did or the provider was fetched
		// less than MinRefresh ago (joining a fetch in flight is free).
		if !fetched && (e.inflight != nil || e.lastAttempt.IsZero() || now.Sub(e.lastAttempt) >= c.cfg.MinRefresh) {
			call := e.inflight
			if call == nil {
				call = &fetchCall{done: make(chan struct{})}
				e.inflight = call
				e.lastAttempt = now
				go c.refresh(context.WithoutCancel(ctx), e, *p, call)
			}
			call.waiters.Add(1)
			e.mu.Unlock()
			select {
			case <-call.done:
			case <-ctx.Done():
				call.waiters.Add(-1)
				return nil, unreachable(ctx.Err())
			}
			call.waiters.Add(-1)
			fetched = true
			continue
		}
		lastErr := e.lastErr
		e.mu.Unlock()
		switch {
		case key != nil:
			// Expired, and the refresh failed or is not due: stale keys
			// are served until MaxStale past the expiry.
			return key, nil
		case lastErr != nil:
			return nil, lastErr
		case usable:
			return nil, keyUnavailable(fmt.Errorf("no key with kid %q in the key set of %s", truncate(kid, 64), p.URL))
		default:
			return nil, unreachable(errors.New("no usable key set"))
		}
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// lookup finds kid in set; kid "" finds the only key of a one-key set. It
// returns a copy.
func lookup(set *jose.JSONWebKeySet, kid string) *jose.JSONWebKey {
	if kid == "" {
		if len(set.Keys) == 1 {
			k := set.Keys[0]
			return &k
		}
		return nil
	}
	for i := range set.Keys {
		if set.Keys[i].KeyID == kid {
			k := set.Keys[i]
			return &k
		}
	}
	return nil
}

// entry returns the cache entry of p. Providers with the same URL share
// it unless their thumbprints differ.
func (c *Cache) entry(p *store.OIDCProvider) *entry {
	tps := make([]string, len(p.Thumbprints))
	for i, t := range p.Thumbprints {
		tps[i] = strings.ToLower(t)
	}
	sort.Strings(tps)
	name := p.URL + "\n" + strings.Join(tps, ",")
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[name]
	if !ok {
		e = &entry{}
		c.entries[name] = e
	}
	return e
}

// refresh fetches p's key set into e and releases the callers of call.
func (c *Cache) refresh(ctx context.Context, e *entry, p store.OIDCProvider, call *fetchCall) {
	set, maxAge, err := c.fetch(ctx, &p)
	e.mu.Lock()
	if err != nil {
		e.lastErr = err
		c.cfg.Logger.Warn("jwks: refreshing keys failed", "provider", p.URL, "code", err.Code, "cause", err.Cause)
	} else {
		e.set = set
		e.expiresAt = c.cfg.Now().Add(maxAge)
		e.lastErr = nil
	}
	e.inflight = nil
	call.err = err
	e.mu.Unlock()
	close(call.done)
}

// fetch reads the discovery document, then the key set.
func (c *Cache) fetch(ctx context.Context, p *store.OIDCProvider) (*jose.JSONWebKeySet, time.Duration, *awserr.Error) {
	discoveryURL := strings.TrimSuffix(p.URL, "/") + "/.well-known/openid-configuration"
	body, _, aerr := c.get(ctx, p, discoveryURL)
	if aerr != nil {
		return nil, 0, aerr
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, 0, keyUnavailable(fmt.Errorf("discovery document: %w", err))
	}
	var issuer, jwksURI string
	if err := json.Unmarshal(doc["issuer"], &issuer); err != nil || issuer != p.URL {
		return nil, 0, keyUnavailable(fmt.Errorf("discovery document: issuer %q is not the provider URL %q", truncate(issuer, 256), p.URL))
	}
	if err := json.Unmarshal(doc["jwks_uri"], &jwksURI); err != nil || jwksURI == "" {
		return nil, 0, keyUnavailable(errors.New("discovery document: no jwks_uri"))
	}
	if _, err := c.checkURL(jwksURI); err != nil {
		return nil, 0, keyUnavailable(fmt.Errorf("jwks_uri: %w", err))
	}
	body, header, aerr := c.get(ctx, p, jwksURI)
	if aerr != nil {
		return nil, 0, aerr
	}
	set, err := webidentity.ValidateKeySet(body)
	if err != nil {
		return nil, 0, keyUnavailable(err)
	}
	return set, maxAge(header.Get("Cache-Control")), nil
}

// get fetches u with the request timeout, the body limit and the
// thumbprint check.
func (c *Cache) get(ctx context.Context, p *store.OIDCProvider, u string) ([]byte, http.Header, *awserr.Error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, keyUnavailable(err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, nil, classify(u, err)
	}
	defer resp.Body.Close()
	if len(p.Thumbprints) > 0 {
		if err := checkThumbprints(resp.TLS, p.Thumbprints); err != nil {
			return nil, nil, thumbprintMismatch(fmt.Errorf("%s: %w", u, err))
		}
	}
	switch {
	case resp.StatusCode == http.StatusOK:
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout:
		return nil, nil, unreachable(fmt.Errorf("GET %s: HTTP %d", u, resp.StatusCode))
	default:
		return nil, nil, keyUnavailable(fmt.Errorf("GET %s: HTTP %d", u, resp.StatusCode))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBodySize+1))
	if err != nil {
		return nil, nil, unreachable(fmt.Errorf("GET %s: %w", u, err))
	}
	if len(body) > MaxBodySize {
		return nil, nil, keyUnavailable(fmt.Errorf("GET %s: body larger than %d bytes", u, MaxBodySize))
	}
	return body, resp.Header, nil
}

// errPolicy marks URLs and redirects the Cache refuses to follow.
var errPolicy = errors.New("refused by the URL policy")

// classify maps a failed request: certificate problems and refused URLs
// make the keys unusable (retrying does not help); other failures
// (connection, DNS, timeout) make the provider unreachable.
func classify(u string, err error) *awserr.Error {
	var (
		unknownAuthority x509.UnknownAuthorityError
		hostname         x509.HostnameError
		invalid          x509.CertificateInvalidError
		verification     *tls.CertificateVerificationError
	)
	switch {
	case errors.Is(err, errPolicy), errors.As(err, &unknownAuthority), errors.As(err, &hostname),
		errors.As(err, &invalid), errors.As(err, &verification):
		return keyUnavailable(fmt.Errorf("GET %s: %w", u, err))
	}
	return unreachable(fmt.Errorf("GET %s: %w", u, err))
}

// checkURL applies the URL policy: https with a host and no user
// information, or http to a loopback host when allowed.
func (c *Cache) checkURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errPolicy, err)
	}
	if u.Host == "" || u.User != nil {
		return nil, fmt.Errorf("%w: %q needs a host and no user information", errPolicy, raw)
	}
	switch u.Scheme {
	case "https":
		return u, nil
	case "http":
		if c.cfg.InsecureAllowHTTPLoopback && isLoopback(u.Hostname()) {
			return u, nil
		}
		return nil, fmt.Errorf("%w: %q is not https (plain http is allowed only to loopback hosts, with InsecureAllowHTTPLoopback)", errPolicy, raw)
	}
	return nil, fmt.Errorf("%w: scheme of %q is not https", errPolicy, raw)
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (c *Cache) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return fmt.Errorf("%w: more than %d redirects", errPolicy, maxRedirects)
	}
	if _, err := c.checkURL(req.URL.String()); err != nil {
		return err
	}
	if via[0].URL.Scheme != req.URL.Scheme {
		return fmt.Errorf("%w: redirect from %s to %s", errPolicy, via[0].URL.Scheme, req.URL.Scheme)
	}
	return nil
}

// maxAge reads Cache-Control's max-age, bounded to [MinMaxAge, MaxMaxAge];
// DefaultMaxAge when absent or unreadable.
func maxAge(cacheControl string) time.Duration {
	age := DefaultMaxAge
	for _, d := range strings.Split(cacheControl, ",") {
		name, value, _ := strings.Cut(strings.TrimSpace(d), "=")
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "no-store", "no-cache":
			return MinMaxAge
		case "max-age":
			n, err := strconv.ParseInt(strings.Trim(strings.TrimSpace(value), `"`), 10, 64)
			if err != nil || n < 0 {
				continue
			}
			if n > int64(MaxMaxAge/time.Second) {
				n = int64(MaxMaxAge / time.Second)
			}
			age = time.Duration(n) * time.Second
		}
	}
	return min(max(age, MinMaxAge), MaxMaxAge)
}

// checkThumbprints matches the connection's certificates against the
// configured SHA-1 thumbprints (hex, any case).
func checkThumbprints(cs *tls.ConnectionState, want []string) error {
	if cs == nil {
		return errors.New("not a TLS connection, so no certificate to match the thumbprints")
	}
	got := candidates(cs)
	for _, w := range want {
		for _, g := range got {
			if strings.EqualFold(w, g) {
				return nil
			}
		}
	}
	return fmt.Errorf("certificate thumbprints %v match none of the configured ones", got)
}

// candidates are the thumbprints a configured one may match: the top
// intermediate of each verified chain (the certificate below the root, or
// the only certificate of a chain that is its own root) and the last
// certificate the server sent.
func candidates(cs *tls.ConnectionState) []string {
	var out []string
	add := func(cert *x509.Certificate) {
		sum := sha1.Sum(cert.Raw) //nolint:gosec // AWS OIDC thumbprints are SHA-1 fingerprints
		h := hex.EncodeToString(sum[:])
		for _, o := range out {
			if o == h {
				return
			}
		}
		out = append(out, h)
	}
	for _, chain := range cs.VerifiedChains {
		switch len(chain) {
		case 0:
		case 1:
			add(chain[0])
		default:
			add(chain[len(chain)-2])
		}
	}
	if n := len(cs.PeerCertificates); n > 0 {
		add(cs.PeerCertificates[n-1])
	}
	return out
}
