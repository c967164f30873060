package agent

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"
	"github.com/aws/smithy-go"
)

// runAgent starts Run on loopback listeners with the real EKS Auth client
// against the test server over the network, and returns the credentials
// URL, the probe and metrics base URLs, and a stop function.
type runningAgent struct {
	credsURL, probeURL, metricsURL string
	srv                            *eksAuthServer
	stop                           func() error
}

func runAgent(t *testing.T) *runningAgent {
	t.Helper()
	srv := newEKSAuthServer(t)
	ts := newHTTPServer(t, srv)
	up, err := NewEKSAuth(EKSAuthConfig{Endpoint: ts.URL, ClusterName: testCluster, Region: testRegion,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: testAccessKey, SecretAccessKey: testSecret}, nil
		})})
	if err != nil {
		t.Fatal(err)
	}
	listen := func() net.Listener {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		return ln
	}
	creds, probe, metrics := listen(), listen(), listen()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, ServerConfig{
			Listeners: []net.Listener{creds}, ProbeListener: probe, MetricsListener: metrics,
			Upstream: up, Cache: CacheConfig{MaxSize: 100, MaxRetention: time.Hour},
			ShutdownTimeout: 5 * time.Second,
			Ready:           func([]net.Addr) { close(ready) },
		})
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("Run: %v", err)
	}
	a := &runningAgent{
		credsURL: "http://" + creds.Addr().String() + CredentialsPath, probeURL: "http://" + probe.Addr().String(),
		metricsURL: "http://" + metrics.Addr().String(), srv: srv,
	}
	stopped := false
	a.stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Second):
			return errors.New("Run did not return after cancel")
		}
	}
	t.Cleanup(func() { _ = a.stop() })
	return a
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestAgentWithSDKContainerProvider is the black-box test: the SDK's own
// container-credentials provider, as a pod runs it, against the agent.
func TestAgentWithSDKContainerProvider(t *testing.T) {
	a := runAgent(t)
	raw, _ := mintToken(t, "pod-0", time.Hour)
	p := endpointcreds.New(a.credsURL, func(o *endpointcreds.Options) { o.AuthorizationToken = raw })
	creds, err := p.Retrieve(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if creds.AccessKeyID != "ASIA0000000000000001" || creds.SecretAccessKey != "secret-1" || creds.SessionToken != "session-1" ||
		creds.AccountID != testAccount || !creds.CanExpire || time.Until(creds.Expires) < 59*time.Minute {
		t.Errorf("SDK credentials %+v", creds)
	}
	again, err := p.Retrieve(t.Context())
	if err != nil || again.AccessKeyID != creds.AccessKeyID || a.srv.calls.Load() != 1 {
		t.Errorf("second retrieval %s, %v after %d EKS Auth calls; want the cached credentials", again.AccessKeyID, err, a.srv.calls.Load())
	}

	// An EKS Auth refusal reaches the SDK with its code.
	a.srv.setFail(func(string) (int, string) { return 400, "AccessDeniedException" })
	other, _ := mintToken(t, "pod-1", time.Hour)
	_, err = endpointcreds.New(a.credsURL, func(o *endpointcreds.Options) { o.AuthorizationToken = other }).Retrieve(t.Context())
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDeniedException" {
		t.Errorf("SDK error %v, want the AccessDeniedException code", err)
	}

	code, body := get(t, a.metricsURL+"/metrics")
	for _, want := range []string{`irsa_agent_requests_total{code="200"} 2`, `irsa_agent_requests_total{code="400"} 1`,
		`irsa_agent_cache_lookups_total{result="hit"} 1`, `irsa_agent_upstream_requests_total{result="AccessDeniedException"} 1`,
		`irsa_agent_cache_entries 1`} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("/metrics (%d) lacks %s", code, want)
		}
	}
	if strings.Contains(body, raw) || strings.Contains(body, "secret-1") {
		t.Error("/metrics shows a token or a secret")
	}
	for _, u := range []string{a.probeURL + "/healthz", a.probeURL + "/readyz", a.metricsURL + "/readyz"} {
		if code, body := get(t, u); code != 200 || body != "ok\n" {
			t.Errorf("%s: %d %q", u, code, body)
		}
	}
	if err := a.stop(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if _, err := http.Get(a.credsURL); err == nil {
		t.Error("the credentials listener still answers after shutdown")
	}
}

func TestProbesFailWhenAListenerIsDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr()
	ln.Close()
	mux := http.NewServeMux()
	newProbes([]net.Addr{addr}).register(mux)
	ts := newHTTPServer(t, mux)
	if code, body := get(t, ts.URL+"/readyz"); code != 503 || !strings.Contains(body, addr.String()) {
		t.Errorf("/readyz with a dead listener: %d %q, want 503 naming it", code, body)
	}
	// A listener that answers something other than 404 is not the agent.
	other := newHTTPServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	mux = http.NewServeMux()
	newProbes([]net.Addr{other.Listener.Addr()}).register(mux)
	ts = newHTTPServer(t, mux)
	if code, _ := get(t, ts.URL+"/healthz"); code != 503 {
		t.Errorf("/healthz against a non-agent: %d, want 503", code)
	}
}

func TestRunConfigErrors(t *testing.T) {
	up := &counting{}
	var ce *ConfigError
	cases := map[string]ServerConfig{
		"no upstream":      {BindHosts: []string{"127.0.0.1"}},
		"no bind hosts":    {Upstream: up},
		"bind host a name": {Upstream: up, BindHosts: []string{"localhost"}},
		"bind everywhere":  {Upstream: up, BindHosts: []string{"0.0.0.0"}},
		"bind everywhere6": {Upstream: up, BindHosts: []string{"::"}},
		"bad port":         {Upstream: up, BindHosts: []string{"127.0.0.1"}, Port: 70000},
		"absent IPv4":      {Upstream: up, BindHosts: []string{"192.0.2.77"}, Port: 0},
	}
	for name, cfg := range cases {
		if err := Run(t.Context(), cfg); !errors.As(err, &ce) {
			t.Errorf("%s: Run = %v, want a *ConfigError", name, err)
		}
	}
	// An absent IPv6 address is skipped when another address binds.
	ctx, cancel := context.WithCancel(t.Context())
	var addrs []net.Addr
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, ServerConfig{Upstream: up, BindHosts: []string{"127.0.0.1", "fd00:ec2::99"}, Port: 0,
			Ready: func(a []net.Addr) { addrs = a; cancel() }})
	}()
	if err := <-done; err != nil || len(addrs) != 1 {
		t.Errorf("Run with an absent IPv6 address: %v, listening on %v; want IPv4 only", err, addrs)
	}
}

// TestRunSharesThePortWithItsSuccessor: a second agent binds the same
// address and port while the first still serves (a rolling update with
// maxSurge), and a plain listener (another program) cannot.
func TestRunSharesThePortWithItsSuccessor(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("SO_REUSEPORT is used on Linux only")
	}
	first, err := listen([]string{"127.0.0.1"}, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer first[0].Close()
	port := first[0].Addr().(*net.TCPAddr).Port
	second, err := listen([]string{"127.0.0.1"}, port, nil)
	if err != nil {
		t.Fatalf("a second agent could not bind port %d: %v", port, err)
	}
	second[0].Close()
	if ln, err := net.Listen("tcp", first[0].Addr().String()); err == nil {
		ln.Close()
		t.Fatal("a listener without SO_REUSEPORT bound the agent's port")
	}
}
