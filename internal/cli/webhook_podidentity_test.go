package cli

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestWebhookPodIdentityFlagErrors(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, _ := writeServingPair(t, dir)
	kubeconfig := kubeconfigTo(t, dir, "https://127.0.0.1:1")
	base := []string{"webhook", "--tls-cert", certFile, "--tls-key", keyFile, "--kubeconfig", kubeconfig, "--listen", "127.0.0.1:0"}
	tests := []struct {
		name  string
		extra []string
		want  string
	}{
		{"endpoint without cluster", []string{"--pod-identity-endpoint", "http://127.0.0.1:4590"}, "--pod-identity-endpoint needs --pod-identity-cluster"},
		{"region without cluster", []string{"--pod-identity-region", "eu-west-1"}, "--pod-identity-region needs --pod-identity-cluster"},
		{"bad cluster name", []string{"--pod-identity-cluster", "prod cluster"}, `cluster name "prod cluster" is not an EKS cluster name`},
		{"bad endpoint", []string{"--pod-identity-cluster", "prod", "--pod-identity-endpoint", "irsa:4590"}, `--pod-identity-endpoint "irsa:4590" is not an http or https URL`},
		{"credentials URI the SDKs refuse", []string{"--pod-identity-credentials-uri", "http://agent.example/v1/credentials"}, "AWS SDKs refuse plain http"},
		{"zero TTL", []string{"--pod-identity-cluster", "prod", "--pod-identity-cache-ttl", "0s"}, "--pod-identity-cache-ttl and --pod-identity-negative-cache-ttl must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			var out, errb bytes.Buffer
			code := Main(ctx, Env{Args: withFlags(base, tt.extra...), Stdout: &out, Stderr: &errb})
			if code != ExitUsage {
				t.Errorf("exit %d, want %d; stderr %q", code, ExitUsage, errb.String())
			}
			if !strings.Contains(errb.String(), tt.want) {
				t.Errorf("stderr %q lacks %q", errb.String(), tt.want)
			}
		})
	}
}

// TestWebhookPodIdentityServes starts irsa webhook in the Pod Identity mode
// against a test EKS endpoint given by AWS_ENDPOINT_URL_EKS: the start-up
// check lists the cluster's associations with a request signed for the
// eks service in the region of AWS_REGION, with the SDK's credentials
// from the environment.
func TestWebhookPodIdentityServes(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	eksAPI := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.RequestURI()+" "+r.Header.Get("Authorization"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"associations":[]}`))
	}))
	defer eksAPI.Close()
	// The SDK's default chain reads the process environment.
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))

	dir := t.TempDir()
	certFile, keyFile, _ := writeServingPair(t, dir)
	kubeconfig := kubeconfigTo(t, dir, "https://127.0.0.1:1")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr syncBuffer
	done := make(chan int, 1)
	environ := map[string]string{"AWS_ENDPOINT_URL_EKS": eksAPI.URL, "AWS_ENDPOINT_URL": "http://127.0.0.1:1", "AWS_REGION": "eu-west-1"}
	go func() {
		done <- Main(ctx, Env{
			Args: []string{"webhook", "--listen", "127.0.0.1:0", "--tls-cert", certFile, "--tls-key", keyFile, "--kubeconfig", kubeconfig,
				"--pod-identity-cluster", "prod", "--resync-period", "0"},
			Stderr: &stderr,
			Getenv: func(k string) string { return environ[k] },
		})
	}()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(stderr.String(), "EKS Pod Identity mode on") {
		select {
		case code := <-done:
			t.Fatalf("irsa webhook exited %d early: %s", code, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no start-up check logged: %s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	requests := append([]string(nil), seen...)
	mu.Unlock()
	if len(requests) != 1 {
		t.Fatalf("requests %q, want the one start-up check", requests)
	}
	for _, want := range []string{"GET /clusters/prod/pod-identity-associations?maxResults=1 ", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/", "/eu-west-1/eks/aws4_request"} {
		if !strings.Contains(requests[0], want) {
			t.Errorf("request %q lacks %q", requests[0], want)
		}
	}
	if !strings.Contains(stderr.String(), `credentials_uri=http://169.254.170.23/v1/credentials`) {
		t.Errorf("the mode's settings are not logged: %s", stderr.String())
	}
	cancel()
	select {
	case code := <-done:
		if code != ExitOK {
			t.Errorf("exit %d after cancel; stderr %s", code, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("irsa webhook did not stop after cancel")
	}
}

// TestWebhookPodIdentityDefaults: the endpoint and region of the EKS calls
// come from the flags, else the environment, in the documented order.
func TestWebhookPodIdentityDefaults(t *testing.T) {
	tests := []struct {
		name                     string
		flags                    webhookFlags
		env                      map[string]string
		wantEndpoint, wantRegion string
	}{
		{"nothing set", webhookFlags{}, nil, "", "us-east-1"},
		{"AWS_ENDPOINT_URL", webhookFlags{}, map[string]string{"AWS_ENDPOINT_URL": "http://all:1"}, "http://all:1", "us-east-1"},
		{"AWS_ENDPOINT_URL_EKS wins", webhookFlags{}, map[string]string{"AWS_ENDPOINT_URL": "http://all:1", "AWS_ENDPOINT_URL_EKS": "http://eks:1"}, "http://eks:1", "us-east-1"},
		{"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", webhookFlags{}, map[string]string{"AWS_ENDPOINT_URL_EKS": "http://eks:1", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"}, "", "us-east-1"},
		{"flag wins", webhookFlags{piEndpoint: "https://flag"}, map[string]string{"AWS_ENDPOINT_URL_EKS": "http://eks:1"}, "https://flag", "us-east-1"},
		{"--aws-default-region", webhookFlags{region: "eu-west-3"}, nil, "", "eu-west-3"},
		{"AWS_DEFAULT_REGION", webhookFlags{region: "eu-west-3"}, map[string]string{"AWS_DEFAULT_REGION": "eu-west-2"}, "", "eu-west-2"},
		{"AWS_REGION", webhookFlags{region: "eu-west-3"}, map[string]string{"AWS_DEFAULT_REGION": "eu-west-2", "AWS_REGION": "eu-west-1"}, "", "eu-west-1"},
		{"region flag", webhookFlags{piRegion: "ap-south-1"}, map[string]string{"AWS_REGION": "eu-west-1"}, "", "ap-south-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.flags
			f.piCluster, f.piTTL, f.piNegativeTTL = "prod", time.Minute, time.Second
			if err := f.checkPodIdentity(Env{Getenv: func(k string) string { return tt.env[k] }}); err != nil {
				t.Fatal(err)
			}
			if f.piEndpoint != tt.wantEndpoint || f.piRegion != tt.wantRegion {
				t.Errorf("endpoint %q region %q, want %q %q", f.piEndpoint, f.piRegion, tt.wantEndpoint, tt.wantRegion)
			}
		})
	}
}
