package jwks

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/irsa-dev/irsa/internal/awserr"
	"github.com/irsa-dev/irsa/internal/store"
	"github.com/irsa-dev/irsa/internal/webidentity"
)

var testKeys = sync.OnceValue(func() (k struct {
	rsa1, rsa2, rsa1024 *rsa.PrivateKey
	ec                  *ecdsa.PrivateKey
}) {
	var err error
	for _, p := range []struct {
		dst  **rsa.PrivateKey
		bits int
	}{{&k.rsa1, 2048}, {&k.rsa2, 2048}, {&k.rsa1024, 1024}} {
		if *p.dst, err = rsa.GenerateKey(rand.Reader, p.bits); err != nil {
			panic(err)
		}
	}
	if k.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		panic(err)
	}
	return k
})

func publicJWK(kid string, key any) jose.JSONWebKey {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		return jose.JSONWebKey{Key: &k.PublicKey, KeyID: kid, Algorithm: "RS256", Use: "sig"}
	case *ecdsa.PrivateKey:
		return jose.JSONWebKey{Key: &k.PublicKey, KeyID: kid, Algorithm: "ES256", Use: "sig"}
	}
	panic("key type")
}

func keySet(keys ...jose.JSONWebKey) []byte {
	b, err := json.Marshal(jose.JSONWebKeySet{Keys: keys})
	if err != nil {
		panic(err)
	}
	return b
}

// issuer is a test OIDC provider: discovery and JWKS under /id/X on a real
// (TLS or plain) httptest server, with knobs for failures and counters of
// the requests it served.
type issuer struct {
	srv *httptest.Server
	url string

	mu           sync.Mutex
	jwks         []byte
	cacheControl string
	issuerField  string // the discovery document's issuer (default url)
	jwksURI      string // default url + "/keys"
	status       int    // non-zero: answer every request with it
	discovery    []byte // non-nil: the discovery document served as is
	block        chan struct{}

	discoveryHits, jwksHits atomic.Int32
}

func newIssuer(t *testing.T, useTLS bool, keys ...jose.JSONWebKey) *issuer {
	t.Helper()
	is := &issuer{jwks: keySet(keys...)}
	handler := http.HandlerFunc(is.serve)
	is.srv = httptest.NewUnstartedServer(handler)
	is.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
	if useTLS {
		is.srv.StartTLS()
	} else {
		is.srv.Start()
	}
	t.Cleanup(is.srv.Close)
	is.url = is.srv.URL + "/id/X"
	return is
}

func (is *issuer) set(f func(is *issuer)) {
	is.mu.Lock()
	defer is.mu.Unlock()
	f(is)
}

func (is *issuer) serve(w http.ResponseWriter, r *http.Request) {
	is.mu.Lock()
	block, status := is.block, is.status
	is.mu.Unlock()
	switch r.URL.Path {
	case "/id/X/.well-known/openid-configuration":
		is.discoveryHits.Add(1)
	case "/id/X/keys":
		is.jwksHits.Add(1)
	default:
		http.NotFound(w, r)
		return
	}
	if block != nil {
		<-block
	}
	if status != 0 {
		w.WriteHeader(status)
		return
	}
	is.mu.Lock()
	defer is.mu.Unlock()
	if r.URL.Path == "/id/X/keys" {
		if is.cacheControl != "" {
			w.Header().Set("Cache-Control", is.cacheControl)
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Write(is.jwks)
		return
	}
	if is.discovery != nil {
		w.Write(is.discovery)
		return
	}
	iss, uri := is.issuerField, is.jwksURI
	if iss == "" {
		iss = is.url
	}
	if uri == "" {
		uri = is.url + "/keys"
	}
	json.NewEncoder(w).Encode(map[string]any{
		"issuer": iss, "jwks_uri": uri, "response_types_supported": []string{"id_token"},
		"subject_types_supported": []string{"public"}, "id_token_signing_alg_values_supported": []string{"RS256"},
	})
}

func (is *issuer) provider(thumbprints ...string) *store.OIDCProvider {
	return &store.OIDCProvider{AccountID: "111122223333", URL: is.url, ClientIDs: []string{"sts.amazonaws.com"}, Thumbprints: thumbprints}
}

// clock is a settable Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Unix(1_800_000_000, 0)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func trusting(certs ...*x509.Certificate) *x509.CertPool {
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool
}

func newCache(is *issuer, clk *clock, mod ...func(*Config)) *Cache {
	cfg := Config{Now: clk.Now}
	if is.srv.TLS != nil {
		cfg.RootCAs = trusting(is.srv.Certificate())
	}
	for _, m := range mod {
		m(&cfg)
	}
	return New(cfg)
}

// outcome is what a Key call answered, in a comparable form.
type outcome struct {
	KeyID         string
	Code, Message string
}

func result(k *jose.JSONWebKey, err error) outcome {
	if err != nil {
		var e *awserr.Error
		if !errors.As(err, &e) {
			return outcome{Code: "not an *awserr.Error: " + err.Error()}
		}
		return outcome{Code: e.Code, Message: e.Message}
	}
	return outcome{KeyID: k.KeyID}
}

var (
	unavailable        = outcome{Code: awserr.InvalidIdentityToken, Message: webidentity.MsgKeyUnavailable}
	unreachableOutcome = outcome{Code: awserr.IDPCommunicationError, Message: webidentity.MsgIDPUnreachable}
	mismatch           = outcome{Code: awserr.InvalidIdentityToken, Message: webidentity.MsgThumbprintMismatch}
)

func key(t *testing.T, c *Cache, p *store.OIDCProvider, kid string) outcome {
	t.Helper()
	return result(c.Key(context.Background(), p, kid))
}

func expect(t *testing.T, got, want outcome) {
	t.Helper()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("Key (-want +got):\n%s", diff)
	}
}

func hits(t *testing.T, is *issuer, discovery, jwks int32) {
	t.Helper()
	if d, j := is.discoveryHits.Load(), is.jwksHits.Load(); d != discovery || j != jwks {
		t.Fatalf("issuer served %d discovery and %d JWKS requests, want %d and %d", d, j, discovery, jwks)
	}
}

func TestHappyPath(t *testing.T) {
	k := testKeys()
	is := newIssuer(t, true, publicJWK("k1", k.rsa1), publicJWK("e1", k.ec))
	c := newCache(is, newClock())
	p := is.provider()
	expect(t, key(t, c, p, "k1"), outcome{KeyID: "k1"})
	expect(t, key(t, c, p, "e1"), outcome{KeyID: "e1"})
	hits(t, is, 1, 1)
	got, err := c.Key(context.Background(), p, "k1")
	if err != nil {
		t.Fatal(err)
	}
	if pub, ok := got.Key.(*rsa.PublicKey); !ok || pub.N.Cmp(k.rsa1.N) != 0 {
		t.Fatalf("key %T is not the issuer's public key", got.Key)
	}
	// The returned key is a copy: changing it does not change the cache.
	got.KeyID = "changed"
	expect(t, key(t, c, p, "k1"), outcome{KeyID: "k1"})
	// kid "" with two keys: no key.
	expect(t, key(t, c, p, ""), unavailable)
	hits(t, is, 1, 1)
}

func TestKidlessWithOneKey(t *testing.T) {
	is := newIssuer(t, true, publicJWK("only", testKeys().rsa1))
	c := newCache(is, newClock())
	expect(t, key(t, c, is.provider(), ""), outcome{KeyID: "only"})

	is2 := newIssuer(t, true, jose.JSONWebKey{Key: &testKeys().rsa1.PublicKey})
	c2 := newCache(is2, newClock())
	expect(t, key(t, c2, is2.provider(), ""), outcome{})
	expect(t, key(t, c2, is2.provider(), "k1"), unavailable)
}

func TestCacheControl(t *testing.T) {
	for _, tc := range []struct {
		header string
		ttl    time.Duration
	}{
		{"", time.Hour},
		{"public, max-age=120", 2 * time.Minute},
		{"max-age=\"300\"", 5 * time.Minute},
		{"Max-Age=600, must-revalidate", 10 * time.Minute},
		{"max-age=5", time.Minute},
		{"max-age=0", time.Minute},
		{"no-store", time.Minute},
		{"no-cache, max-age=3600", time.Minute},
		{"max-age=99999999999", 24 * time.Hour},
		{"max-age=-5", time.Hour},
		{"max-age=soon", time.Hour},
	} {
		t.Run(tc.header, func(t *testing.T) {
			is := newIssuer(t, true, publicJWK("k1", testKeys().rsa1))
			is.cacheControl = tc.header
			clk := newClock()
			c := newCache(is, clk)
			p := is.provider()
			expect(t, key(t, c, p, "k1"), outcome{KeyID: "k1"})
			clk.Advance(tc.ttl - time.Second)
			expect(t, key(t, c, p, "k1"), outcome{KeyID: "k1"})
			hits(t, is, 1, 1)
			clk.Advance(time.Second)
			expect(t, key(t, c, p, "k1"), outcome{KeyID: "k1"})
			hits(t, is, 2, 2)
		})
	}
}

func TestUnknownKidRefreshRateLimit(t *testing.T) {
	k := testKeys()
	is := newIssuer(t, true, publicJWK("k1", k.rsa1))
	clk := newClock()
	c := newCache(is, clk)
	p := is.provider()
	expect(t, key(t, c, p, "k1"), outcome{KeyID: "k1"})
	hits(t, is, 1, 1)

	// An unknown kid within MinRefresh of the last fetch: no fetch.
	clk.Advance(10 * time.Second)
	expect(t, key(t, c, p, "k2"), unavailable)
	hits(t, is, 1, 1)
	// At MinRefresh: one refresh; the kid is still unknown.
	clk.Advance(20 * time.Second)
	expect(t, key(t, c, p, "k2"), unavailable)
	hits(t, is, 2, 2)
	// Many unknown kids right after: no more fetches.
	for _, kid := range []string{"k2", "k3", "../../etc/passwd"} {
		expect(t, key(t, c, p, kid), unavailable)
	}
	expect(t, key(t, c, p, ""), outcome{KeyID: "k1"}) // the only key
	hits(t, is, 2, 2)

	// The issuer rotates in k2: found once the next refresh is due.
	is.set(func(is *issuer) { is.jwks = keySet(publicJWK("k1", k.rsa1), publicJWK("k2", k.rsa2)) })
	clk.Advance(29 * time.Second)
	expect(t, key(t, c, p, "k2"), unavailable)
	hits(t, is, 2, 2)
	clk.Advance(time.Second)
	expect(t, key(t, c, p, "k2"), outcome{KeyID: "k2"})
	expect(t, key(t, c, p, "k1"), outcome{KeyID: "k1"})
	hits(t, is, 3, 3)

	t.Run("custom MinRefresh", func(t *testing.T) {
		is := newIssuer(t, true, publicJWK("k1", k.rsa1))
		clk := newClock()
		c := newCache(is, clk, func(c *Config) { c.MinRefresh = 5 * time.Minute })
		p := is.provider()
		expect(t, key(t, c, p, "k1"), outcome{KeyID: "k1"})
		clk.Advance(4 * time.Minute)
		expect(t, key(t, c, p, "x"), unavailable)
		hits(t, is, 1, 1)
		clk.Advance(time.Minute)
		expect(t, key(t, c, p, "x"), unavailable)
		hits(t, is, 2, 2)
	})
}

func TestConcurrentUnknownKidOneFetch(t *testing.T) {
	k := testKeys()
	is := newIssuer(t, true, publicJWK("k1", k.rsa1))
	clk := newClock()
	c := newCache(is, clk)
	p := is.provider()
	expect(t, key(t, c, p, "k1"), outcome{KeyID: "k1"})
	is.set(func(is *issuer) { is.jwks = keySet(publicJWK("k1", k.rsa1), publicJWK("k2", k.rsa2)) })
	clk.Advance(time.Minute)

	const n = 32
	var wg sync.WaitGroup
	results := make([]outcome, n)
	for i := range n {
		wg.Go(func() { results[i] = result(c.Key(context.Background(), p, "k2")) })
	}
	wg.Wait()
	for i, r := range results {
		if r != (outcome{KeyID: "k2"}) {
			t.Errorf("caller %d: %+v", i, r)
		}
	}
	hits(t, is, 2, 2)
}

// TestSingleflight holds the issuer's answer until every caller waits on
// the fetch in flight, with no rate limit, so only sharing can explain a
// single fetch.
func TestSingleflight(t *testing.T) {
	is := newIssuer(t, true, publicJWK("k1", testKeys().rsa1))
	block := make(chan struct{})
	is.block = block
	c := newCache(is, newClock(), func(c *Config) { c.MinRefresh = time.Nanosecond })
	p := is.provider()
	const n = 16
	var wg sync.WaitGroup
	results := make([]outcome, n)
	for i := range n {
		wg.Go(func() { results[i] = result(c.Key(context.Background(), p, "k1")) })
	}
	e := c.entry(p)
	for {
		e.mu.Lock()
		call := e.inflight
		e.mu.Unlock()
		if call != nil && call.waiters.Load() == n {
			break
		}
		time.Sleep(time.Millisecond) // waiting for goroutines to block, not for the clock
	}
	close(block)
	wg.Wait()
	for i, r := range results {
		if r != (outcome{KeyID: "k1"}) {
			t.Errorf("caller %d: %+v", i, r)
		}
	}
	hits(t, is, 1, 1)
}

func TestCallerContextCancelled(t *testing.T) {
	is := newIssuer(t, true, publicJWK("k1", testKeys().rsa1))
	block := make(chan struct{})
	is.block = block
	c := newCache(is, newClock())
	p := is.provider()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	expect(t, result(c.Key(ctx, p, "k1")), unreachableOutcome)
	// The fetch goes on for the others.
	close(block)
	expect(t, key(t, c, p, "k1"), outcome{KeyID: "k1"})
	hits(t, is, 1, 1)
}

func TestStaleWhileDown(t *testing.T) {
	is := newIssuer(t, true, publicJWK("k1", testKeys().rsa1))
	is.cacheControl = "max-age=60"
	clk := newClock()
	c := newCache(is, clk)
	p := is.provider()
	expect(t, key(t, c, p, "k1"), outcome{KeyID: "k1"})

	is.set(func(is *issuer) { is.status = http.StatusServiceUnavailable })
	clk.Advance(2 * time.Minute) // expired: a refresh is attempted and fails
	expect(t, key(t, c, p, "k1"), outcome{KeyID: "k1"})
	hits(t, is, 2, 1)
	expect(t, key(t, c, p, "unknown"), unreachableOutcome)
	hits(t, is, 2, 1)
	clk.Advance(30 * time.Second)
	expect(t, key(t, c, p, "k1"), outcome{KeyID: "k1"})
	hits(t, is, 3, 1)

	// Up to MaxStale past the expiry (60 s after the fetch).
	clk.Advance(DefaultMaxStale - 2*time.Minute - 30*time.Second + 60*time.Second - time.Second)
	expect(t, key(t, c, p, "k1"), outcome{KeyID: "k1"})
	clk.Advance(time.Second)
	expect(t, key(t, c, p, "k1"), unreachableOutcome)

	// Back up: served fresh again.
	is.set(func(is *issuer) { is.status = 0 })
	clk.Advance(DefaultMinRefresh)
	expect(t, key(t, c, p, "k1"), outcome{KeyID: "k1"})
}

func TestStaleWhileUnreachable(t *testing.T) {
	is := newIssuer(t, true, publicJWK("k1", testKeys().rsa1))
	clk := newClock()
	c := newCache(is, clk, func(c *Config) { c.MaxStale = time.Hour })
	p := is.provider()
	expect(t, key(t, c, p, "k1"), outcome{KeyID: "k1"})
	is.srv.Close() // connection refused from now on
	clk.Advance(90 * time.Minute)
	expect(t, key(t, c, p, "k1"), outcome{KeyID: "k1"})
	clk.Advance(30*time.Minute + time.Second)
	expect(t, key(t, c, p, "k1"), unreachableOutcome)
}

func TestUnreachable(t *testing.T) {
	k := testKeys()
	for _, tc := range []struct {
		name   string
		status int
		want   outcome
	}{
		{"500", http.StatusInternalServerError, unreachableOutcome},
		{"503", http.StatusServiceUnavailable, unreachableOutcome},
		{"429", http.StatusTooManyRequests, unreachableOutcome},
		{"408", http.StatusRequestTimeout, unreachableOutcome},
		{"404", http.StatusNotFound, unavailable},
		{"403", http.StatusForbidden, unavailable},
		{"204", http.StatusNoContent, unavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := newIssuer(t, true, publicJWK("k1", k.rsa1))
			is.status = tc.status
			clk := newClock()
			c := newCache(is, clk)
			expect(t, key(t, c, is.provider(), "k1"), tc.want)
			// A failed first fetch is not retried within MinRefresh.
			expect(t, key(t, c, is.provider(), "k1"), tc.want)
			hits(t, is, 1, 0)
		})
	}
	t.Run("connection refused", func(t *testing.T) {
		is := newIssuer(t, true, publicJWK("k1", k.rsa1))
		c := newCache(is, newClock())
		is.srv.Close()
		expect(t, key(t, c, is.provider(), "k1"), unreachableOutcome)
	})
	t.Run("timeout", func(t *testing.T) {
		is := newIssuer(t, true, publicJWK("k1", k.rsa1))
		block := make(chan struct{})
		is.block = block
		defer close(block)
		c := newCache(is, newClock(), func(c *Config) { c.Timeout = 200 * time.Millisecond })
		start := time.Now()
		expect(t, key(t, c, is.provider(), "k1"), unreachableOutcome)
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("gave up after %v", d)
		}
	})
	t.Run("JWKS host unreachable", func(t *testing.T) {
		is := newIssuer(t, true, publicJWK("k1", k.rsa1))
		dead := httptest.NewTLSServer(http.NotFoundHandler())
		dead.Close()
		is.jwksURI = dead.URL + "/keys"
		c := newCache(is, newClock())
		expect(t, key(t, c, is.provider(), "k1"), unreachableOutcome)
	})
}

func TestUntrustedCertificate(t *testing.T) {
	is := newIssuer(t, true, publicJWK("k1", testKeys().rsa1))
	c := New(Config{Now: newClock().Now}) // system roots only
	expect(t, key(t, c, is.provider(), "k1"), unavailable)
	hits(t, is, 0, 0)
}

func TestDiscoveryChecks(t *testing.T) {
	k := testKeys()
	for _, tc := range []struct {
		name string
		set  func(is *issuer)
		want outcome
	}{
		{"issuer with a trailing slash", func(is *issuer) { is.issuerField = is.url + "/" }, unavailable},
		{"issuer of another provider", func(is *issuer) { is.issuerField = "https://other.example.com" }, unavailable},
		{"issuer in upper case", func(is *issuer) { is.issuerField = strings.ToUpper(is.url) }, unavailable},
		{"no jwks_uri", func(is *issuer) { is.discovery = []byte(`{"issuer":"` + is.url + `"}`) }, unavailable},
		{"no issuer", func(is *issuer) { is.discovery = []byte(`{"jwks_uri":"` + is.url + `/keys"}`) }, unavailable},
		{"issuer not a string", func(is *issuer) { is.discovery = []byte(`{"issuer":1,"jwks_uri":"` + is.url + `/keys"}`) }, unavailable},
		{"not JSON", func(is *issuer) { is.discovery = []byte(`<html>`) }, unavailable},
		{"jwks_uri http", func(is *issuer) { is.jwksURI = strings.Replace(is.url, "https:", "http:", 1) + "/keys" }, unavailable},
		{"jwks_uri ftp", func(is *issuer) { is.jwksURI = "ftp://example.com/keys" }, unavailable},
		{"jwks_uri with user info", func(is *issuer) { is.jwksURI = strings.Replace(is.url, "https://", "https://u:p@", 1) + "/keys" }, unavailable},
		{"jwks_uri relative", func(is *issuer) { is.jwksURI = "/id/X/keys" }, unavailable},
		{"JWKS not JSON", func(is *issuer) { is.jwks = []byte("keys") }, unavailable},
		{"JWKS with a private key", func(is *issuer) {
			is.jwks = keySet(jose.JSONWebKey{Key: k.rsa1, KeyID: "k1"})
		}, unavailable},
		{"JWKS with a 1024-bit key", func(is *issuer) { is.jwks = keySet(publicJWK("k1", k.rsa1024)) }, unavailable},
		{"JWKS with a duplicate kid", func(is *issuer) { is.jwks = keySet(publicJWK("k1", k.rsa1), publicJWK("k1", k.rsa2)) }, unavailable},
		{"JWKS with a symmetric key", func(is *issuer) {
			is.jwks = []byte(`{"keys":[{"kty":"oct","k":"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0","kid":"k1"}]}`)
		}, unavailable},
		{"JWKS empty", func(is *issuer) { is.jwks = []byte(`{"keys":[]}`) }, unavailable},
		{"JWKS over 1 MiB", func(is *issuer) {
			is.jwks = []byte(`{"keys":[` + string(mustJSON(publicJWK("k1", k.rsa1))) + `],"pad":"` + strings.Repeat("x", MaxBodySize) + `"}`)
		}, unavailable},
		{"JWKS just under 1 MiB", func(is *issuer) {
			head := `{"keys":[` + string(mustJSON(publicJWK("k1", k.rsa1))) + `],"pad":"`
			is.jwks = []byte(head + strings.Repeat("x", MaxBodySize-len(head)-2) + `"}`)
		}, outcome{KeyID: "k1"}},
		{"discovery over 1 MiB", func(is *issuer) {
			is.discovery = []byte(`{"issuer":"` + is.url + `","jwks_uri":"` + is.url + `/keys","pad":"` + strings.Repeat("x", MaxBodySize) + `"}`)
		}, unavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := newIssuer(t, true, publicJWK("k1", k.rsa1))
			is.set(tc.set)
			c := newCache(is, newClock())
			expect(t, key(t, c, is.provider(), "k1"), tc.want)
		})
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func TestPlainHTTP(t *testing.T) {
	k := testKeys()
	allow := func(c *Config) { c.InsecureAllowHTTPLoopback = true }
	t.Run("refused by default", func(t *testing.T) {
		is := newIssuer(t, false, publicJWK("k1", k.rsa1))
		c := newCache(is, newClock())
		expect(t, key(t, c, is.provider(), "k1"), unavailable)
		hits(t, is, 0, 0)
	})
	t.Run("loopback allowed with the option", func(t *testing.T) {
		is := newIssuer(t, false, publicJWK("k1", k.rsa1))
		c := newCache(is, newClock(), allow)
		expect(t, key(t, c, is.provider(), "k1"), outcome{KeyID: "k1"})
	})
	t.Run("localhost allowed with the option", func(t *testing.T) {
		is := newIssuer(t, false, publicJWK("k1", k.rsa1))
		_, port, _ := net.SplitHostPort(is.srv.Listener.Addr().String())
		is.url = "http://localhost:" + port + "/id/X"
		c := newCache(is, newClock(), allow)
		expect(t, key(t, c, is.provider(), "k1"), outcome{KeyID: "k1"})
	})
	t.Run("thumbprints cannot be checked over http", func(t *testing.T) {
		is := newIssuer(t, false, publicJWK("k1", k.rsa1))
		c := newCache(is, newClock(), allow)
		expect(t, key(t, c, is.provider(strings.Repeat("a", 40)), "k1"), mismatch)
	})
	for _, u := range []string{"http://example.com/id/X", "http://10.0.0.1/id/X", "http://127.0.0.1.example.com/id/X", "ftp://127.0.0.1/id/X", "https:///id/X", "https://user@127.0.0.1/id/X", "::"} {
		t.Run("refused even with the option: "+u, func(t *testing.T) {
			c := New(Config{InsecureAllowHTTPLoopback: true, Now: newClock().Now})
			expect(t, key(t, c, &store.OIDCProvider{URL: u}, "k1"), unavailable)
		})
	}
}

func TestRedirects(t *testing.T) {
	k := testKeys()
	t.Run("https to https followed", func(t *testing.T) {
		is := newIssuer(t, true, publicJWK("k1", k.rsa1))
		mover := httptest.NewUnstartedServer(http.RedirectHandler(is.url+"/keys", http.StatusFound))
		mover.TLS = &tls.Config{Certificates: is.srv.TLS.Certificates}
		mover.StartTLS()
		defer mover.Close()
		is.jwksURI = mover.URL + "/moved"
		c := newCache(is, newClock())
		expect(t, key(t, c, is.provider(), "k1"), outcome{KeyID: "k1"})
	})
	t.Run("https to http refused", func(t *testing.T) {
		plain := newIssuer(t, false, publicJWK("k1", k.rsa1))
		is := newIssuer(t, true, publicJWK("k1", k.rsa1))
		mover := httptest.NewUnstartedServer(http.RedirectHandler(plain.url+"/keys", http.StatusFound))
		mover.TLS = &tls.Config{Certificates: is.srv.TLS.Certificates}
		mover.StartTLS()
		defer mover.Close()
		is.jwksURI = mover.URL + "/moved"
		c := newCache(is, newClock(), func(c *Config) { c.InsecureAllowHTTPLoopback = true })
		expect(t, key(t, c, is.provider(), "k1"), unavailable)
		hits(t, plain, 0, 0)
	})
	t.Run("redirect loop", func(t *testing.T) {
		is := newIssuer(t, true, publicJWK("k1", k.rsa1))
		var loop *httptest.Server
		loop = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, loop.URL+r.URL.Path+"x", http.StatusFound)
		}))
		loop.TLS = &tls.Config{Certificates: is.srv.TLS.Certificates}
		loop.StartTLS()
		defer loop.Close()
		is.jwksURI = loop.URL + "/a"
		c := newCache(is, newClock())
		expect(t, key(t, c, is.provider(), "k1"), unavailable)
	})
}

func sha1Hex(cert *x509.Certificate) string {
	sum := sha1.Sum(cert.Raw)
	return hex.EncodeToString(sum[:])
}

func TestThumbprintsSelfSigned(t *testing.T) {
	// httptest's certificate is its own root: the chain has one
	// certificate, and that is what the thumbprint names.
	is := newIssuer(t, true, publicJWK("k1", testKeys().rsa1))
	tp := sha1Hex(is.srv.Certificate())
	for _, tc := range []struct {
		name string
		tps  []string
		want outcome
	}{
		{"lower case", []string{tp}, outcome{KeyID: "k1"}},
		{"upper case", []string{strings.ToUpper(tp)}, outcome{KeyID: "k1"}},
		{"one of several", []string{strings.Repeat("0", 40), tp}, outcome{KeyID: "k1"}},
		{"mismatch", []string{strings.Repeat("0", 40)}, mismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCache(is, newClock())
			expect(t, key(t, c, is.provider(tc.tps...), "k1"), tc.want)
		})
	}
}

// pki is a root CA, an intermediate CA and a leaf for 127.0.0.1.
type pki struct {
	root, inter, leaf *x509.Certificate
	leafKey           *ecdsa.PrivateKey
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	mk := func(tmpl, parent *x509.Certificate, pub, signer any) *x509.Certificate {
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	genKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	now := time.Now()
	ca := func(serial int64, name string) *x509.Certificate {
		return &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
			IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	}
	rootKey, interKey, leafKey := genKey(), genKey(), genKey()
	root := mk(ca(1, "test root"), ca(1, "test root"), &rootKey.PublicKey, rootKey)
	inter := mk(ca(2, "test intermediate"), root, &interKey.PublicKey, rootKey)
	leaf := mk(&x509.Certificate{SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "127.0.0.1"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}, inter, &leafKey.PublicKey, interKey)
	return &pki{root: root, inter: inter, leaf: leaf, leafKey: leafKey}
}

func TestThumbprintsIntermediate(t *testing.T) {
	pk := newPKI(t)
	for _, tc := range []struct {
		name  string
		chain []*x509.Certificate // as the server sends it
		tp    *x509.Certificate
		want  outcome
	}{
		{"top intermediate", []*x509.Certificate{pk.leaf, pk.inter}, pk.inter, outcome{KeyID: "k1"}},
		{"leaf", []*x509.Certificate{pk.leaf, pk.inter}, pk.leaf, mismatch},
		{"root not sent", []*x509.Certificate{pk.leaf, pk.inter}, pk.root, mismatch},
		{"root sent by the server (AWS's openssl recipe takes the last one)", []*x509.Certificate{pk.leaf, pk.inter, pk.root}, pk.root, outcome{KeyID: "k1"}},
		{"intermediate when the root is sent too", []*x509.Certificate{pk.leaf, pk.inter, pk.root}, pk.inter, outcome{KeyID: "k1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := &issuer{jwks: keySet(publicJWK("k1", testKeys().rsa1))}
			is.srv = httptest.NewUnstartedServer(http.HandlerFunc(is.serve))
			var raw [][]byte
			for _, c := range tc.chain {
				raw = append(raw, c.Raw)
			}
			is.srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: raw, PrivateKey: pk.leafKey}}}
			is.srv.StartTLS()
			defer is.srv.Close()
			is.url = is.srv.URL + "/id/X"
			c := New(Config{RootCAs: trusting(pk.root), Now: newClock().Now})
			expect(t, key(t, c, is.provider(sha1Hex(tc.tp)), "k1"), tc.want)
			// Without thumbprints the chain is trusted through the root.
			c2 := New(Config{RootCAs: trusting(pk.root), Now: newClock().Now})
			expect(t, key(t, c2, is.provider(), "k1"), outcome{KeyID: "k1"})
		})
	}
}

func TestThumbprintsOfTheJWKSHost(t *testing.T) {
	// Discovery and JWKS on different hosts: both must match.
	k := testKeys()
	is := newIssuer(t, true, publicJWK("k1", k.rsa1))
	pk := newPKI(t)
	keys := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(keySet(publicJWK("k1", k.rsa1)))
	}))
	keys.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{pk.leaf.Raw, pk.inter.Raw}, PrivateKey: pk.leafKey}}}
	keys.StartTLS()
	defer keys.Close()
	is.jwksURI = keys.URL + "/keys"
	roots := func(c *Config) { c.RootCAs = trusting(is.srv.Certificate(), pk.root) }
	both := is.provider(sha1Hex(is.srv.Certificate()), sha1Hex(pk.inter))
	expect(t, key(t, newCache(is, newClock(), roots), both, "k1"), outcome{KeyID: "k1"})
	discoveryOnly := is.provider(sha1Hex(is.srv.Certificate()))
	expect(t, key(t, newCache(is, newClock(), roots), discoveryOnly, "k1"), mismatch)
}

func TestProvidersShareEntriesByURLAndThumbprints(t *testing.T) {
	is := newIssuer(t, true, publicJWK("k1", testKeys().rsa1))
	c := newCache(is, newClock())
	a, b := is.provider(), is.provider()
	a.AccountID, b.AccountID = "111111111111", "222222222222"
	expect(t, key(t, c, a, "k1"), outcome{KeyID: "k1"})
	expect(t, key(t, c, b, "k1"), outcome{KeyID: "k1"})
	hits(t, is, 1, 1)
	// Other thumbprints: fetched (and checked) on their own.
	tp := sha1Hex(is.srv.Certificate())
	expect(t, key(t, c, is.provider(strings.ToUpper(tp)), "k1"), outcome{KeyID: "k1"})
	hits(t, is, 2, 2)
	expect(t, key(t, c, is.provider(tp), "k1"), outcome{KeyID: "k1"})
	hits(t, is, 2, 2)
}

func TestCustomClient(t *testing.T) {
	is := newIssuer(t, true, publicJWK("k1", testKeys().rsa1))
	client := is.srv.Client() // trusts the test certificate
	c := New(Config{Client: client, Now: newClock().Now})
	expect(t, key(t, c, is.provider(), "k1"), outcome{KeyID: "k1"})
	if client.CheckRedirect != nil {
		t.Error("New changed the caller's client")
	}
}

func TestMaxAge(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"":                        DefaultMaxAge,
		"max-age=3600":            time.Hour,
		"s-maxage=10, max-age=90": 90 * time.Second,
		"private":                 DefaultMaxAge,
		"NO-STORE":                MinMaxAge,
		"max-age=86401":           MaxMaxAge,
		"max-age=1e3":             DefaultMaxAge,
	} {
		if got := maxAge(in); got != want {
			t.Errorf("maxAge(%q) = %v, want %v", in, got, want)
		}
	}
}
