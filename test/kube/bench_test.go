//go:build linux

package kube

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"testing"
	"time"
)

// BenchmarkWebhookAdmission measures `irsa webhook` as the API server uses
// it: AdmissionReview v1 requests for a pod whose ServiceAccount has a
// role, over TLS, from concurrent clients, against the real binary reading
// ServiceAccounts from the real API server. It reports requests per second
// and the p50 and p99 latencies.
//
//	go test ./test/kube -run '^$' -bench WebhookAdmission -benchtime 20000x
func BenchmarkWebhookAdmission(b *testing.B) {
	e := sharedEnv(b)
	ctx := context.Background()
	if err := e.cluster.createNamespace(ctx, "bench"); err != nil {
		b.Fatal(err)
	}
	if err := createServiceAccount(ctx, e.cluster, "bench", "s3-reader", map[string]string{"eks.amazonaws.com/role-arn": "arn:aws:iam::000000000000:role/s3-reader"}); err != nil {
		b.Fatal(err)
	}
	// A webhook of its own that logs only warnings, as in production.
	w, err := startWebhook(e.dir, "bench", e.cluster.Kubeconfig, e.irsa.URL, "--log-level", "warn")
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = w.proc.stop(10 * time.Second) }()
	client, err := httpsClient(w.CAPEM)
	if err != nil {
		b.Fatal(err)
	}
	client.Transport.(*http.Transport).MaxIdleConnsPerHost = 64
	review := map[string]any{
		"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
		"request": map[string]any{
			"uid": "bench", "kind": map[string]string{"group": "", "version": "v1", "kind": "Pod"},
			"resource":  map[string]string{"group": "", "version": "v1", "resource": "pods"},
			"namespace": "bench", "operation": "CREATE",
			"object": map[string]any{
				"apiVersion": "v1", "kind": "Pod",
				"metadata": map[string]any{"name": "app", "namespace": "bench"},
				"spec":     map[string]any{"serviceAccountName": "s3-reader", "containers": []any{map[string]any{"name": "app", "image": "busybox"}}},
			},
		},
	}
	body, _ := json.Marshal(review)
	call := func() (time.Duration, error) {
		start := time.Now()
		resp, err := client.Post(w.URL+"/mutate", "application/json", bytes.NewReader(body))
		if err != nil {
			return 0, err
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.Contains(out, []byte(`"patch"`)) {
			return 0, fmt.Errorf("status %d: %.200s", resp.StatusCode, out)
		}
		return time.Since(start), nil
	}
	if _, err := call(); err != nil {
		b.Fatal(err)
	}
	var mu sync.Mutex
	var lat []time.Duration
	b.SetParallelism(16)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var local []time.Duration
		for pb.Next() {
			d, err := call()
			if err != nil {
				b.Error(err)
				return
			}
			local = append(local, d)
		}
		mu.Lock()
		lat = append(lat, local...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if len(lat) > 0 {
		b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "req/s")
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	}
}
