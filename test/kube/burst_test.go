//go:build linux

package kube

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// watchDelayProxy stands between a webhook and the API server and holds
// back every watch event for a delay the test sets, so that the webhook's
// informer learns of a new ServiceAccount late, as it does on a busy
// cluster. Lists and GETs pass at once.
type watchDelayProxy struct {
	srv   *httptest.Server
	delay atomic.Int64 // nanoseconds
	// Kubeconfig reaches the API server through the proxy as the admin.
	Kubeconfig string
}

func newWatchDelayProxy(t *testing.T, c *cluster) *watchDelayProxy {
	t.Helper()
	target, err := url.Parse(c.URL)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(c.CAPEM)
	p := &watchDelayProxy{}
	rp := &httputil.ReverseProxy{
		Rewrite:       func(r *httputil.ProxyRequest) { r.SetURL(target) },
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}},
		FlushInterval: -1, // watch events are passed on as they are released
		ModifyResponse: func(resp *http.Response) error {
			if q := resp.Request.URL.Query().Get("watch"); q == "true" || q == "1" {
				resp.Body = newDelayedBody(resp.Request.Context(), resp.Body, func() time.Duration { return time.Duration(p.delay.Load()) })
			}
			return nil
		},
	}
	p.srv = httptest.NewTLSServer(rp)
	t.Cleanup(p.srv.Close)

	kc := clientcmdapi.NewConfig()
	kc.Clusters["proxy"] = &clientcmdapi.Cluster{Server: p.srv.URL, CertificateAuthorityData: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.srv.Certificate().Raw})}
	kc.AuthInfos["admin"] = &clientcmdapi.AuthInfo{Token: c.REST.BearerToken}
	kc.Contexts["proxy"] = &clientcmdapi.Context{Cluster: "proxy", AuthInfo: "admin"}
	kc.CurrentContext = "proxy"
	p.Kubeconfig = filepath.Join(t.TempDir(), "kubeconfig-proxy")
	if err := clientcmd.WriteToFile(*kc, p.Kubeconfig); err != nil {
		t.Fatal(err)
	}
	return p
}

// delayedBody passes on what it reads from src, each chunk no earlier than
// the delay after the chunk arrived: a delay line, so that events arriving
// together are released together. It ends when the request's context
// does (the webhook hung up) or when it is closed.
type delayedBody struct {
	ctx    context.Context
	src    io.ReadCloser
	delay  func() time.Duration
	chunks chan delayedChunk
	done   chan struct{}
	once   sync.Once
	cur    []byte
}

type delayedChunk struct {
	at  time.Time
	b   []byte
	err error
}

func newDelayedBody(ctx context.Context, src io.ReadCloser, delay func() time.Duration) *delayedBody {
	d := &delayedBody{ctx: ctx, src: src, delay: delay, chunks: make(chan delayedChunk, 1024), done: make(chan struct{})}
	go func() {
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			c := delayedChunk{at: time.Now(), b: append([]byte(nil), buf[:n]...), err: err}
			select {
			case d.chunks <- c:
			case <-d.done:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return d
}

func (d *delayedBody) Read(p []byte) (int, error) {
	for len(d.cur) == 0 {
		var c delayedChunk
		select {
		case c = <-d.chunks:
		case <-d.done:
			return 0, io.ErrClosedPipe
		case <-d.ctx.Done():
			return 0, d.ctx.Err()
		}
		select {
		case <-time.After(time.Until(c.at.Add(d.delay()))):
		case <-d.done:
			return 0, io.ErrClosedPipe
		case <-d.ctx.Done():
			return 0, d.ctx.Err()
		}
		if len(c.b) == 0 && c.err != nil {
			return 0, c.err
		}
		d.cur = c.b
	}
	n := copy(p, d.cur)
	d.cur = d.cur[n:]
	return n, nil
}

func (d *delayedBody) Close() error {
	d.once.Do(func() { close(d.done) })
	return d.src.Close()
}

// TestPodCreatedWithItsServiceAccount creates ServiceAccounts and their
// pods in one burst, each pod right after its ServiceAccount, while the
// webhook's informer learns of new ServiceAccounts late (a proxy holds
// back its watch events): within the grace period the webhook waits for
// the informer, beyond it the webhook reads the ServiceAccount from the
// API server, and either way every pod is mutated. (The EKS webhook's
// default, no grace period, leaves them all unmutated.) The metrics show
// which path each burst took.
func TestPodCreatedWithItsServiceAccount(t *testing.T) {
	e := sharedEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	const own = "late-informer"
	proxy := newWatchDelayProxy(t, e.cluster)
	w, err := startWebhook(t.TempDir(), own, proxy.Kubeconfig, e.irsa.URL, "--sa-lookup-grace-period", "2s")
	if err != nil {
		t.Fatal(err)
	}
	const configName = "a-irsa-test-late-informer"
	t.Cleanup(func() {
		if err := e.cluster.Client.AdmissionregistrationV1().MutatingWebhookConfigurations().Delete(context.Background(), configName, metav1.DeleteOptions{}); err != nil {
			t.Errorf("removing %s: %v", configName, err)
		}
		if err := w.proc.stop(10 * time.Second); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", w.proc.name, tail(w.proc.out.String(), 6000))
		}
	})
	if err := registerWebhook(ctx, e.cluster, w, configName, own); err != nil {
		t.Fatal(err)
	}

	const n = 12
	tests := []struct {
		name  string
		delay time.Duration
		// want are the changes of the webhook's lookup metrics over the
		// burst.
		want map[string]float64
	}{
		{
			name:  "informer 1.5s late, within the 2s grace period: the webhook waits for it",
			delay: 1500 * time.Millisecond,
			want: map[string]float64{
				"irsa_webhook_sa_cache_misses_total":    n,
				"irsa_webhook_sa_cache_wait_hits_total": n,
				"irsa_webhook_sa_fetches_total":         0,
			},
		},
		{
			name:  "informer later than the 2s grace period: the webhook reads the ServiceAccount",
			delay: 6 * time.Second,
			want: map[string]float64{
				"irsa_webhook_sa_cache_misses_total":            n,
				"irsa_webhook_sa_cache_wait_hits_total":         0,
				"irsa_webhook_sa_fetches_total":                 n,
				`irsa_webhook_sa_fetches_total{result="found"}`: n,
			},
		},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			proxy.delay.Store(int64(tc.delay))
			ns := fmt.Sprintf("burst-%d", i)
			if err := e.cluster.createNamespace(ctx, ns, map[string]string{ownWebhookLabel: own}); err != nil {
				t.Fatal(err)
			}
			before := webhookMetrics(t, w)
			var wg sync.WaitGroup
			errs := make([]error, n)
			start := time.Now()
			for j := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					name := fmt.Sprintf("app-%d", j)
					if err := createServiceAccount(ctx, e.cluster, ns, name, map[string]string{roleARNAnnotation: roleARN(name)}); err != nil {
						errs[j] = err
						return
					}
					_, errs[j] = e.cluster.Client.CoreV1().Pods(ns).Create(ctx, testPod(name, name), metav1.CreateOptions{})
				}()
			}
			wg.Wait()
			t.Logf("%d ServiceAccounts and their pods created in %v", n, time.Since(start).Round(time.Millisecond))
			for j, err := range errs {
				if err != nil {
					t.Errorf("app-%d: %v", j, err)
				}
			}
			var got, want []string
			for j := range n {
				name := fmt.Sprintf("app-%d", j)
				pod, err := e.cluster.Client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
				if err != nil {
					t.Errorf("reading pod %s/%s back: %v", ns, name, err)
					continue
				}
				got = append(got, name+" "+envValue(pod.Spec.Containers[0].Env, "AWS_ROLE_ARN"))
				want = append(want, name+" "+roleARN(name))
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("AWS_ROLE_ARN of the stored pods (-want +got):\n%s", diff)
			}
			after := webhookMetrics(t, w)
			delta := map[string]float64{}
			for k := range tc.want {
				delta[k] = after[k] - before[k]
			}
			if diff := cmp.Diff(tc.want, delta); diff != "" {
				t.Errorf("ServiceAccount lookups of the webhook during the burst (-want +got):\n%s", diff)
			}
		})
	}
}
