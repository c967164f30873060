package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// eksServer answers ListPodIdentityAssociations the way the EKS REST JSON
// API does, from a set of "cluster/namespace/serviceAccount" keys, and
// records the queries it received. The client under test is the real
// aws-sdk-go-v2 EKS client.
type eksServer struct {
	mu      sync.Mutex
	assoc   map[string]bool
	queries []url.Values
	calls   atomic.Int64
	// failWith, when set, is answered instead: HTTP status and error type.
	failStatus int
	failType   string
	// pageSize splits the answer into pages of that many associations.
	pageSize int
	// block, when set, holds every answer until it is closed.
	block chan struct{}
}

func (s *eksServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.calls.Add(1)
	if s.block != nil {
		<-s.block
	}
	if r.Method != http.MethodGet || !strings.HasPrefix(r.URL.Path, "/clusters/") || !strings.HasSuffix(r.URL.Path, "/pod-identity-associations") {
		http.Error(w, "unexpected request "+r.Method+" "+r.URL.Path, http.StatusBadRequest)
		return
	}
	// SigV4 for the eks signing name.
	if auth := r.Header.Get("Authorization"); !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 ") || !strings.Contains(auth, "/eks/aws4_request") {
		http.Error(w, "unsigned request: "+auth, http.StatusForbidden)
		return
	}
	cluster := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/clusters/"), "/pod-identity-associations")
	q := r.URL.Query()
	s.mu.Lock()
	s.queries = append(s.queries, q)
	failStatus, failType := s.failStatus, s.failType
	var matches []map[string]string
	for key := range s.assoc {
		parts := strings.Split(key, "/")
		if parts[0] != cluster {
			continue
		}
		if ns := q.Get("namespace"); ns != "" && ns != parts[1] {
			continue
		}
		if sa := q.Get("serviceAccount"); sa != "" && sa != parts[2] {
			continue
		}
		matches = append(matches, map[string]string{
			"clusterName": parts[0], "namespace": parts[1], "serviceAccount": parts[2],
			"associationArn": "arn:aws:eks:us-east-1:111122223333:podidentityassociation/" + parts[0] + "/a-" + parts[1],
			"associationId":  "a-" + parts[1], "ownerArn": "",
		})
	}
	pageSize := s.pageSize
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if failStatus != 0 {
		w.Header().Set("X-Amzn-ErrorType", failType)
		w.WriteHeader(failStatus)
		_, _ = fmt.Fprintf(w, `{"message":"%s from the test server"}`, failType)
		return
	}
	body := map[string]any{"associations": matches}
	if pageSize > 0 {
		// Empty pages with a token first, then the matches: the client
		// must follow nextToken.
		start := 0
		if t := q.Get("nextToken"); t != "" {
			fmt.Sscanf(t, "page-%d", &start)
		}
		if start < pageSize {
			body = map[string]any{"associations": []any{}, "nextToken": fmt.Sprintf("page-%d", start+1)}
		}
	}
	_ = json.NewEncoder(w).Encode(body)
}

func (s *eksServer) setFailure(status int, errType string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failStatus, s.failType = status, errType
}

func (s *eksServer) setAssociation(key string, present bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if present {
		s.assoc[key] = true
	} else {
		delete(s.assoc, key)
	}
}

// newEKSClient is an aws-sdk-go-v2 EKS client for the test server, without
// retries so that failures are quick.
func newEKSClient(t testing.TB, srv *httptest.Server) *eks.Client {
	t.Helper()
	return eks.New(eks.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(srv.URL),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""),
		RetryMaxAttempts: 1,
		HTTPClient:       srv.Client(),
	})
}

// clock is a settable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func startAssociations(t *testing.T, fake *eksServer, cfg AssociationCacheConfig) (*AssociationCache, *clock) {
	t.Helper()
	if fake.assoc == nil {
		fake.assoc = map[string]bool{}
	}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	clk := &clock{now: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}
	cfg.Client = newEKSClient(t, srv)
	if cfg.ClusterName == "" {
		cfg.ClusterName = "prod"
	}
	cfg.Now = clk.Now
	c, err := NewAssociationCache(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, clk
}

func lookups(m *Metrics, result string) int {
	return int(testutil.ToFloat64(m.piLookups.WithLabelValues(result)))
}

// TestAssociationCacheTTLs: the EKS API is asked once per ServiceAccount,
// with the cluster, namespace and ServiceAccount as filters; a found
// association is remembered for the TTL, its absence for the shorter
// negative TTL.
func TestAssociationCacheTTLs(t *testing.T) {
	fake := &eksServer{assoc: map[string]bool{"prod/team-a/app": true, "staging/team-a/plain": true}}
	m := NewMetrics()
	c, clk := startAssociations(t, fake, AssociationCacheConfig{TTL: time.Minute, NegativeTTL: 5 * time.Second, Metrics: m})
	ctx := context.Background()

	check := func(ns, sa string, want bool) {
		t.Helper()
		got, err := c.HasAssociation(ctx, ns, sa)
		if err != nil || got != want {
			t.Fatalf("HasAssociation(%s, %s) = %t, %v; want %t", ns, sa, got, err, want)
		}
	}
	check("team-a", "app", true)
	check("team-a", "plain", false) // associated in another cluster only
	if got := fake.calls.Load(); got != 2 {
		t.Fatalf("%d calls, want 2", got)
	}
	want := []url.Values{{"namespace": {"team-a"}, "serviceAccount": {"app"}}, {"namespace": {"team-a"}, "serviceAccount": {"plain"}}}
	if diff := cmp.Diff(want, fake.queries); diff != "" {
		t.Errorf("queries (-want +got):\n%s", diff)
	}

	// Within both TTLs: from the cache.
	clk.advance(4 * time.Second)
	check("team-a", "app", true)
	check("team-a", "plain", false)
	if got := fake.calls.Load(); got != 2 {
		t.Fatalf("%d calls within the TTLs, want 2", got)
	}

	// The association of plain is created: seen once the negative TTL
	// has passed, while app is still cached.
	fake.setAssociation("prod/team-a/plain", true)
	clk.advance(2 * time.Second)
	check("team-a", "plain", true)
	check("team-a", "app", true)
	if got := fake.calls.Load(); got != 3 {
		t.Fatalf("%d calls, want 3", got)
	}

	// app's association is deleted: seen after the TTL.
	fake.setAssociation("prod/team-a/app", false)
	clk.advance(55 * time.Second)
	check("team-a", "app", false)
	if got := fake.calls.Load(); got != 4 {
		t.Fatalf("%d calls, want 4", got)
	}
	for result, want := range map[string]int{piLookupHit: 3, piLookupFound: 2, piLookupNotFound: 2, piLookupStale: 0, piLookupError: 0} {
		if got := lookups(m, result); got != want {
			t.Errorf("lookups{result=%s} = %d, want %d", result, got, want)
		}
	}
}

// TestAssociationCacheSharesCalls: 100 concurrent lookups of one
// ServiceAccount make one call.
func TestAssociationCacheSharesCalls(t *testing.T) {
	fake := &eksServer{assoc: map[string]bool{"prod/team-a/app": true}, block: make(chan struct{})}
	c, _ := startAssociations(t, fake, AssociationCacheConfig{})
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for range 100 {
		wg.Go(func() {
			found, err := c.HasAssociation(context.Background(), "team-a", "app")
			if err == nil && !found {
				err = errors.New("not found")
			}
			if err != nil {
				errs <- err
			}
		})
	}
	// Let the call reach the server before it answers.
	deadline := time.Now().Add(10 * time.Second)
	for fake.calls.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	close(fake.block)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := fake.calls.Load(); got != 1 {
		t.Errorf("%d calls for 100 concurrent lookups, want 1", got)
	}
}

// TestAssociationCacheOutage: when the EKS API fails, an expired answer is
// used up to MaxStale past its expiry; after that, or with nothing cached,
// the lookup fails with the API's error.
func TestAssociationCacheOutage(t *testing.T) {
	fake := &eksServer{assoc: map[string]bool{"prod/team-a/app": true}}
	m := NewMetrics()
	c, clk := startAssociations(t, fake, AssociationCacheConfig{TTL: time.Minute, MaxStale: 10 * time.Minute, Metrics: m})
	ctx := context.Background()
	if found, err := c.HasAssociation(ctx, "team-a", "app"); err != nil || !found {
		t.Fatalf("before the outage: %t, %v", found, err)
	}
	fake.setFailure(http.StatusInternalServerError, "ServerException")

	clk.advance(5 * time.Minute)
	if found, err := c.HasAssociation(ctx, "team-a", "app"); err != nil || !found {
		t.Fatalf("stale answer during the outage: %t, %v; want true, nil", found, err)
	}
	_, err := c.HasAssociation(ctx, "team-a", "other")
	if err == nil || !strings.Contains(err.Error(), "ServerException") || !strings.Contains(err.Error(), "team-a/other in cluster prod") {
		t.Fatalf("nothing cached: error %v, want the API's ServerException", err)
	}

	clk.advance(6 * time.Minute) // 11 minutes past the expiry
	if _, err := c.HasAssociation(ctx, "team-a", "app"); err == nil {
		t.Fatal("an answer past MaxStale was used")
	}
	if lookups(m, piLookupStale) != 1 || lookups(m, piLookupError) != 2 {
		t.Errorf("stale %d error %d, want 1 and 2", lookups(m, piLookupStale), lookups(m, piLookupError))
	}

	// The API is back: answered and cached again.
	fake.setFailure(0, "")
	if found, err := c.HasAssociation(ctx, "team-a", "app"); err != nil || !found {
		t.Fatalf("after the outage: %t, %v", found, err)
	}
}

// TestAssociationCachePages: the client follows nextToken.
func TestAssociationCachePages(t *testing.T) {
	fake := &eksServer{assoc: map[string]bool{"prod/team-a/app": true}, pageSize: 3}
	c, _ := startAssociations(t, fake, AssociationCacheConfig{})
	if found, err := c.HasAssociation(context.Background(), "team-a", "app"); err != nil || !found {
		t.Fatalf("%t, %v; want true", found, err)
	}
	if got := fake.calls.Load(); got != 4 {
		t.Errorf("%d calls, want 4 (three empty pages, then the match)", got)
	}
	if got := fake.queries[3].Get("nextToken"); got != "page-3" {
		t.Errorf("last nextToken %q", got)
	}

	endless := &eksServer{assoc: map[string]bool{}, pageSize: 1000}
	c, _ = startAssociations(t, endless, AssociationCacheConfig{})
	if _, err := c.HasAssociation(context.Background(), "team-a", "app"); err == nil || !strings.Contains(err.Error(), "more than 10 pages") {
		t.Errorf("endless pages: %v", err)
	}
}

// TestAssociationCacheBounded: the cache never holds more than MaxEntries
// answers.
func TestAssociationCacheBounded(t *testing.T) {
	fake := &eksServer{}
	c, clk := startAssociations(t, fake, AssociationCacheConfig{MaxEntries: 3, NegativeTTL: time.Second, MaxStale: time.Second})
	for i := range 10 {
		if _, err := c.HasAssociation(context.Background(), "ns", fmt.Sprintf("sa-%d", i)); err != nil {
			t.Fatal(err)
		}
		if n := c.len(); n > 3 {
			t.Fatalf("%d entries after %d lookups, want at most 3", n, i+1)
		}
		clk.advance(time.Second)
	}
}

// TestAssociationCacheCheck: Check reports a wrong cluster or credentials
// with the EKS error; ResourceNotFoundException is what EKS answers for an
// unknown cluster.
func TestAssociationCacheCheck(t *testing.T) {
	fake := &eksServer{}
	c, _ := startAssociations(t, fake, AssociationCacheConfig{})
	if err := c.Check(context.Background()); err != nil {
		t.Fatalf("Check: %v", err)
	}
	if got := fake.queries[0].Get("maxResults"); got != "1" {
		t.Errorf("maxResults %q, want 1", got)
	}
	fake.setFailure(http.StatusNotFound, "ResourceNotFoundException")
	err := c.Check(context.Background())
	if err == nil || !strings.Contains(err.Error(), "ResourceNotFoundException") || !strings.Contains(err.Error(), "cluster prod") {
		t.Fatalf("Check with an unknown cluster: %v", err)
	}
}

// TestAssociationCacheContext: a caller whose context ends stops waiting;
// the shared call goes on and its answer is cached for the next caller.
func TestAssociationCacheContext(t *testing.T) {
	fake := &eksServer{assoc: map[string]bool{"prod/team-a/app": true}, block: make(chan struct{})}
	c, _ := startAssociations(t, fake, AssociationCacheConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := c.HasAssociation(ctx, "team-a", "app")
		done <- err
	}()
	for fake.calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	close(fake.block)
	deadline := time.Now().Add(10 * time.Second)
	for c.len() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if found, err := c.HasAssociation(context.Background(), "team-a", "app"); err != nil || !found {
		t.Fatalf("%t, %v", found, err)
	}
	if got := fake.calls.Load(); got != 1 {
		t.Errorf("%d calls, want 1: the abandoned call's answer is cached", got)
	}
}

func TestNewAssociationCacheErrors(t *testing.T) {
	client := eks.New(eks.Options{Region: "us-east-1"})
	tests := []struct {
		cfg  AssociationCacheConfig
		want string
	}{
		{AssociationCacheConfig{ClusterName: "prod"}, "Client is required"},
		{AssociationCacheConfig{Client: client}, "cluster name is required"},
		{AssociationCacheConfig{Client: client, ClusterName: "-prod"}, "not an EKS cluster name"},
		{AssociationCacheConfig{Client: client, ClusterName: strings.Repeat("a", 101)}, "not an EKS cluster name"},
		{AssociationCacheConfig{Client: client, ClusterName: "prod", TTL: -time.Second}, "TTL must not be negative"},
		{AssociationCacheConfig{Client: client, ClusterName: "prod", Timeout: time.Minute}, "timeout must be at most 30s"},
	}
	for _, tt := range tests {
		_, err := NewAssociationCache(tt.cfg)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: error %v, want %q", tt.cfg, err, tt.want)
		}
	}
	if _, err := NewAssociationCache(AssociationCacheConfig{Client: client, ClusterName: "prod_cluster-1"}); err != nil {
		t.Errorf("valid name: %v", err)
	}
	if _, err := (&AssociationCache{}).HasAssociation(context.Background(), "", "app"); err == nil {
		t.Error("empty namespace: no error")
	}
}
