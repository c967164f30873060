package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// running is a Run in the background.
type running struct {
	base    string // https://127.0.0.1:PORT
	client  *http.Client
	metrics *Metrics
	stop    func() error // cancels and returns Run's result
}

// writePair writes c as tls.crt and tls.key in a new directory.
func writePair(t *testing.T, c testCert) (certFile, keyFile string) {
	t.Helper()
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	writeFile(t, certFile, c.certPEM)
	writeFile(t, keyFile, c.keyPEM)
	return certFile, keyFile
}

// startRun runs the server on a loopback listener with cfg, completed
// with a fresh certificate and metrics. The listener exists before Run
// starts, so requests wait for it instead of failing.
func startRun(t *testing.T, cfg ServerConfig) *running {
	t.Helper()
	cert := newTestCert(t, "webhook", 10)
	if cfg.TLSCertFile == "" {
		cfg.TLSCertFile, cfg.TLSKeyFile = writePair(t, cert)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listener = ln
	cfg.Metrics = NewMetrics()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- Run(ctx, cfg) }()
	pool := x509.NewCertPool()
	pool.AddCert(cert.cert)
	r := &running{
		base:    "https://" + ln.Addr().String(),
		client:  &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}},
		metrics: cfg.Metrics,
	}
	stopped := false
	r.stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-errc:
			return err
		case <-time.After(20 * time.Second):
			t.Fatal("Run did not return after cancel")
			return nil
		}
	}
	t.Cleanup(func() {
		if err := r.stop(); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return r
}

func (r *running) do(t *testing.T, method, path, contentType string, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, r.base+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// waitReady polls /readyz until it answers 200.
func (r *running) waitReady(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, _ := r.do(t, http.MethodGet, "/readyz", "", nil)
		if code == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz still answers %d", code)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func podReview(t *testing.T, apiVersion, namespace, saName string) []byte {
	t.Helper()
	pod := corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: namespace},
		Spec: corev1.PodSpec{
			ServiceAccountName: saName,
			Containers:         []corev1.Container{{Name: "app", Image: "busybox"}},
		},
	}
	raw, err := json.Marshal(pod)
	if err != nil {
		t.Fatal(err)
	}
	review := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: apiVersion, Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID:       "req-1",
			Kind:      metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
			Resource:  metav1.GroupVersionResource{Version: "v1", Resource: "pods"},
			Namespace: namespace,
			Operation: admissionv1.Create,
			Object:    runtime.RawExtension{Raw: raw},
		},
	}
	b, err := json.Marshal(review)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRunServesRoutes(t *testing.T) {
	client := fake.NewClientset(sa("ns", "app", map[string]string{
		"eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/app",
	}))
	r := startRun(t, ServerConfig{
		Client:              client,
		Webhook:             Config{STSEndpointURL: "https://irsa.example:4590"},
		SALookupGracePeriod: DefaultSALookupGracePeriod,
	})
	r.waitReady(t)

	tests := []struct {
		name, method, path, contentType string
		body                            []byte
		wantCode                        int
		wantBody                        []string // substrings
	}{
		{"healthz", http.MethodGet, "/healthz", "", nil, 200, []string{"ok"}},
		{"readyz", http.MethodGet, "/readyz", "", nil, 200, []string{"ok"}},
		{"healthz refuses POST", http.MethodPost, "/healthz", "", nil, 405, nil},
		{"unknown path", http.MethodGet, "/nope", "", nil, 404, nil},
		{"mutate v1", http.MethodPost, "/mutate", "application/json", podReview(t, "admission.k8s.io/v1", "ns", "app"), 200,
			[]string{`"apiVersion":"admission.k8s.io/v1"`, `"uid":"req-1"`, `"allowed":true`, `"patchType":"JSONPatch"`}},
		{"mutate v1beta1", http.MethodPost, "/mutate", "application/json", podReview(t, "admission.k8s.io/v1beta1", "ns", "app"), 200,
			[]string{`"apiVersion":"admission.k8s.io/v1beta1"`, `"allowed":true`, `"patchType":"JSONPatch"`}},
		{"mutate, ServiceAccount without role", http.MethodPost, "/mutate", "application/json", podReview(t, "admission.k8s.io/v1", "ns", "missing"), 200,
			[]string{`"allowed":true`}},
		{"mutate wrong content type", http.MethodPost, "/mutate", "text/plain", []byte("{}"), 415, nil},
		{"mutate malformed", http.MethodPost, "/mutate", "application/json", []byte("{"), 400, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := r.do(t, tt.method, tt.path, tt.contentType, tt.body)
			if code != tt.wantCode {
				t.Fatalf("%s %s = %d %q, want %d", tt.method, tt.path, code, body, tt.wantCode)
			}
			for _, s := range tt.wantBody {
				if !strings.Contains(body, s) {
					t.Errorf("body %q lacks %q", body, s)
				}
			}
		})
	}

	// The patch of the v1 review carries the role and the STS endpoint.
	_, body := r.do(t, http.MethodPost, "/mutate", "application/json", podReview(t, "admission.k8s.io/v1", "ns", "app"))
	var review admissionv1.AdmissionReview
	if err := json.Unmarshal([]byte(body), &review); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"arn:aws:iam::111122223333:role/app", "AWS_ENDPOINT_URL_STS", "aws-iam-token"} {
		if !bytes.Contains(review.Response.Patch, []byte(s)) {
			t.Errorf("patch %s lacks %q", review.Response.Patch, s)
		}
	}

	// /metrics exposes the server's own counters.
	code, metrics := r.do(t, http.MethodGet, "/metrics", "", nil)
	if code != 200 {
		t.Fatalf("/metrics = %d", code)
	}
	for _, s := range []string{
		`irsa_webhook_requests_total{code="200",path="/healthz"} 1`,
		`irsa_webhook_requests_total{code="415",path="/mutate"} 1`,
		`irsa_webhook_mutations_total{outcome="mutated"} 3`,
		`irsa_webhook_mutations_total{outcome="sa_not_found"} 1`,
		`irsa_webhook_sa_cache_misses_total 1`,
		`irsa_webhook_sa_fetches_total{result="not_found"} 1`,
		`irsa_webhook_request_duration_seconds_bucket{code="200",path="/mutate",le="`,
		`irsa_webhook_tls_certificate_expiry_timestamp_seconds `,
		`go_goroutines `,
	} {
		if !strings.Contains(metrics, s) {
			t.Errorf("/metrics lacks %q", s)
		}
	}
	if v := testutil.ToFloat64(r.metrics.mutations.WithLabelValues(OutcomeInvalid)); v != 2 {
		t.Errorf("mutations{invalid} = %v, want 2", v)
	}

	if err := r.stop(); err != nil {
		t.Fatalf("Run returned %v after cancel, want nil", err)
	}
	if _, err := r.client.Get(r.base + "/healthz"); err == nil {
		t.Error("the server still answers after Run returned")
	}
}

// Until the informer has listed the ServiceAccounts, /readyz says so while
// /healthz and /mutate work.
func TestRunNotReadyUntilSynced(t *testing.T) {
	client := fake.NewClientset(sa("ns", "app", map[string]string{"eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/app"}))
	client.PrependReactor("list", "serviceaccounts", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "serviceaccounts"}, "", errors.New("no RBAC yet"))
	})
	r := startRun(t, ServerConfig{Client: client, CacheSyncTimeout: 100 * time.Millisecond})
	if code, body := r.do(t, http.MethodGet, "/readyz", "", nil); code != http.StatusServiceUnavailable || !strings.Contains(body, "not synced") {
		t.Errorf("/readyz = %d %q, want 503 not synced", code, body)
	}
	if code, _ := r.do(t, http.MethodGet, "/healthz", "", nil); code != http.StatusOK {
		t.Errorf("/healthz = %d, want 200", code)
	}
	// With no grace period the lookup goes straight to the API server.
	code, body := r.do(t, http.MethodPost, "/mutate", "application/json", podReview(t, "admission.k8s.io/v1", "ns", "app"))
	if code != http.StatusOK || !strings.Contains(body, `"patchType":"JSONPatch"`) {
		t.Errorf("/mutate before sync = %d %q, want a patch", code, body)
	}
	// The sync timeout is logged, not fatal: Run still serves.
	time.Sleep(200 * time.Millisecond)
	if code, _ := r.do(t, http.MethodGet, "/healthz", "", nil); code != http.StatusOK {
		t.Errorf("/healthz after the sync timeout = %d, want 200", code)
	}
}

// The certificate served by Run follows the files.
func TestRunReloadsCertificate(t *testing.T) {
	a, b := newTestCert(t, "cert-a", 1), newTestCert(t, "cert-b", 2)
	certFile, keyFile := writePair(t, a)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() {
		errc <- Run(ctx, ServerConfig{Listener: ln, Client: fake.NewClientset(), TLSCertFile: certFile, TLSKeyFile: keyFile,
			CertReloadInterval: 10 * time.Millisecond})
	}()
	addr := ln.Addr().String()
	if got := presented(t, addr, a, b); got != 1 {
		t.Fatalf("presented serial %d, want 1", got)
	}
	writeFile(t, certFile, b.certPEM)
	writeFile(t, keyFile, b.keyPEM)
	deadline := time.Now().Add(10 * time.Second)
	for presented(t, addr, a, b) != 2 {
		if time.Now().After(deadline) {
			t.Fatal("Run kept presenting cert A after the files changed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

const testKubeconfig = `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: https://127.0.0.1:1
    insecure-skip-tls-verify: true
users:
- name: u
  user:
    token: t
contexts:
- name: x
  context: {cluster: c, user: u}
current-context: x
`

// A usable kubeconfig, from the flag or from KUBECONFIG, starts the server
// even when the API server cannot be reached yet (it is then not ready).
func TestRunKubeconfig(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(good, []byte(testKubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cfg  ServerConfig
	}{
		{"--kubeconfig", ServerConfig{Kubeconfig: good}},
		{"KUBECONFIG list", ServerConfig{KubeconfigEnv: filepath.Join(dir, "absent") + string(os.PathListSeparator) + good}},
		{"--kubeconfig wins over KUBECONFIG", ServerConfig{Kubeconfig: good, KubeconfigEnv: filepath.Join(dir, "absent")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := startRun(t, tt.cfg)
			if code, _ := r.do(t, http.MethodGet, "/healthz", "", nil); code != http.StatusOK {
				t.Errorf("/healthz = %d", code)
			}
			if code, _ := r.do(t, http.MethodGet, "/readyz", "", nil); code != http.StatusServiceUnavailable {
				t.Errorf("/readyz = %d with an unreachable API server, want 503", code)
			}
			if err := r.stop(); err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
}

func TestRunConfigErrors(t *testing.T) {
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	t.Setenv("KUBERNETES_SERVICE_PORT", "")
	cert := newTestCert(t, "webhook", 1)
	certFile, keyFile := writePair(t, cert)
	other := newTestCert(t, "other", 2)
	_, otherKey := writePair(t, other)
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage")
	if err := os.WriteFile(garbage, []byte("clusters: [this is not: a kubeconfig"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("apiVersion: v1\nkind: Config\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	fc := fake.NewClientset()

	tests := []struct {
		name string
		cfg  ServerConfig
		want string
	}{
		{"no certificate", ServerConfig{Client: fc}, "both required"},
		{"missing certificate file", ServerConfig{Client: fc, TLSCertFile: filepath.Join(dir, "nope.crt"), TLSKeyFile: keyFile}, "reading the TLS certificate"},
		{"mismatched key", ServerConfig{Client: fc, TLSCertFile: certFile, TLSKeyFile: otherKey}, "loading the TLS pair"},
		{"missing kubeconfig", ServerConfig{TLSCertFile: certFile, TLSKeyFile: keyFile, Kubeconfig: filepath.Join(dir, "nope")}, "cannot use the kubeconfig"},
		{"unparsable kubeconfig", ServerConfig{TLSCertFile: certFile, TLSKeyFile: keyFile, Kubeconfig: garbage}, "cannot use the kubeconfig"},
		{"kubeconfig without a cluster", ServerConfig{TLSCertFile: certFile, TLSKeyFile: keyFile, Kubeconfig: empty}, "defines no cluster"},
		{"KUBECONFIG of absent files", ServerConfig{TLSCertFile: certFile, TLSKeyFile: keyFile, KubeconfigEnv: filepath.Join(dir, "nope")}, "none of its files exists"},
		{"KUBECONFIG without a cluster", ServerConfig{TLSCertFile: certFile, TLSKeyFile: keyFile, KubeconfigEnv: empty}, "KUBECONFIG=" + empty + ": it defines no cluster"},
		{"not in a cluster", ServerConfig{TLSCertFile: certFile, TLSKeyFile: keyFile}, "in-cluster configuration is unavailable"},
		{"relative mount path", ServerConfig{Client: fc, TLSCertFile: certFile, TLSKeyFile: keyFile, Webhook: Config{MountPath: "var/run"}}, "not absolute"},
		{"bad annotation prefix", ServerConfig{Client: fc, TLSCertFile: certFile, TLSKeyFile: keyFile, Webhook: Config{AnnotationPrefix: "Not/A/Domain"}}, "annotation prefix"},
		{"grace period too long", ServerConfig{Client: fc, TLSCertFile: certFile, TLSKeyFile: keyFile, SALookupGracePeriod: time.Minute}, "grace period"},
		{"address in use", ServerConfig{Client: fc, TLSCertFile: certFile, TLSKeyFile: keyFile, Listen: busy.Addr().String()}, "cannot listen"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := Run(ctx, tt.cfg)
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("Run = %v (%T), want a *ConfigError", err, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Run = %q, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestNewMux(t *testing.T) {
	// The routes, without TLS or Kubernetes: each path reaches its handler
	// and is counted under its own label.
	m := NewMetrics()
	var synced atomic.Bool
	mutate := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	mux := newMux(mutate, synced.Load, m)
	srv := &http.Server{Handler: mux}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	get := func(method, path string) int {
		req, _ := http.NewRequest(method, "http://"+ln.Addr().String()+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	got := map[string]int{
		"POST /mutate":  get(http.MethodPost, "/mutate"),
		"GET /healthz":  get(http.MethodGet, "/healthz"),
		"GET /readyz 1": get(http.MethodGet, "/readyz"),
	}
	synced.Store(true)
	got["GET /readyz 2"] = get(http.MethodGet, "/readyz")
	got["GET /metrics"] = get(http.MethodGet, "/metrics")
	want := map[string]int{"POST /mutate": 418, "GET /healthz": 200, "GET /readyz 1": 503, "GET /readyz 2": 200, "GET /metrics": 200}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("status codes (-want +got):\n%s", diff)
	}
	if v := testutil.ToFloat64(m.requests.WithLabelValues("/mutate", "418")); v != 1 {
		t.Errorf("requests{/mutate,418} = %v, want 1", v)
	}
	if v := testutil.ToFloat64(m.requests.WithLabelValues("/readyz", "503")); v != 1 {
		t.Errorf("requests{/readyz,503} = %v, want 1", v)
	}
}
