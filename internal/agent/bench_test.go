package agent

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
)

// BenchmarkAgentCached measures one credential request answered from the
// cache through ServeHTTP (rate limit, Host check, cache lookup, JSON
// encoding, metrics), without the network or request parsing: requests per
// second on one core and the 99th percentile latency.
func BenchmarkAgentCached(b *testing.B) {
	w := &cacheWorld{srv: newEKSAuthServer(b)}
	c, err := NewCache(CacheConfig{Upstream: newTestUpstream(b, w.srv), MaxSize: 100, MaxRetention: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	h := NewHandler(HandlerConfig{Source: c, AllowedHosts: DefaultBindHosts, RequestRate: 1e12, RequestBurst: 1 << 30, Metrics: NewMetrics()})
	raw, _ := mintToken(b, "pod-0", 24*time.Hour)
	req := func() *httptest.ResponseRecorder {
		return call(h, http.MethodGet, "169.254.170.23", CredentialsPath, raw)
	}
	if rec := req(); rec.Code != 200 {
		b.Fatalf("warm-up: %d %s", rec.Code, rec.Body)
	}
	var lat []time.Duration
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		t0 := time.Now()
		if rec := req(); rec.Code != 200 {
			b.Fatalf("status %d", rec.Code)
		}
		lat = append(lat, time.Since(t0))
	}
	elapsed := time.Since(start)
	slices.Sort(lat)
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(lat[(len(lat)*99)/100].Nanoseconds()), "p99-ns")
	if w.srv.calls.Load() != 1 {
		b.Fatalf("EKS Auth calls = %d, want 1", w.srv.calls.Load())
	}
}

// BenchmarkAgentLoopback is the load loop: the agent served by Run on a
// loopback listener, 4 or 32 keep-alive clients asking for the cached
// credentials of 200 pods over HTTP. It reports requests per second and
// the 50th and 99th percentile latencies as clients see them. The request
// rate limit is lifted (its default, 1000/s with a burst of 500, is the EKS
// agent's). Clients and agent share the machine's cores.
func BenchmarkAgentLoopback(b *testing.B) {
	for _, clients := range []int{4, 32} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) { benchLoopback(b, clients) })
	}
}

func benchLoopback(b *testing.B, clients int) {
	srv := newEKSAuthServer(b)
	up := newTestUpstream(b, srv)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, ServerConfig{Listeners: []net.Listener{ln}, Upstream: up,
			Cache:       CacheConfig{MaxSize: 1000, MaxRetention: time.Hour},
			RequestRate: 1e12, RequestBurst: 1 << 30})
	}()
	defer func() { cancel(); <-done }()
	url := "http://" + ln.Addr().String() + CredentialsPath
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, Proxy: nil}}

	const pods = 200
	tokens := make([]string, pods)
	for i := range tokens {
		tokens[i], _ = mintToken(b, fmt.Sprintf("pod-%d", i), 24*time.Hour)
	}
	fetch := func(token string) error {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Authorization", token)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
	for _, tok := range tokens { // warm the cache
		if err := fetch(tok); err != nil {
			b.Fatal(err)
		}
	}
	var (
		mu  sync.Mutex
		lat []time.Duration
	)
	b.SetParallelism(max(1, clients/runtime.GOMAXPROCS(0))) // × GOMAXPROCS goroutines
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		i := 0
		for pb.Next() {
			t0 := time.Now()
			if err := fetch(tokens[i%pods]); err != nil {
				b.Error(err)
				return
			}
			mine = append(mine, time.Since(t0))
			i += 7
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(lat[(len(lat)*99)/100].Nanoseconds()), "p99-ns")
	if got := srv.calls.Load(); got != pods {
		b.Fatalf("EKS Auth calls = %d, want one per pod (%d)", got, pods)
	}
}
