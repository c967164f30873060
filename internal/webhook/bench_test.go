package webhook

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// benchPod is a typical workload pod: an init container, an application
// container with a few variables and mounts, and a sidecar.
func benchPod() *corev1.Pod {
	c := func(name string) corev1.Container {
		return corev1.Container{
			Name:         name,
			Image:        "public.ecr.aws/docker/library/busybox:1.37",
			Env:          []corev1.EnvVar{{Name: "LOG_LEVEL", Value: "info"}, {Name: "PORT", Value: "8080"}},
			VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}},
		}
	}
	pod := testPod("app")
	pod.Spec.InitContainers = []corev1.Container{c("setup")}
	pod.Spec.Containers = []corev1.Container{c("app"), c("sidecar")}
	pod.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	return pod
}

var benchConfig = &Config{Region: "eu-west-1", RegionalSTS: true, STSEndpointURL: "https://irsa.example.com"}

func BenchmarkMutate(b *testing.B) {
	pod := benchPod()
	sa := roleLookup().sas["team-a/app"]
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Mutate(benchConfig, pod, sa); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHandler measures one admission request end to end through
// ServeHTTP (decode, lookup, mutate, encode), without TLS or the network:
// requests per second on one core, and the 99th percentile latency.
func BenchmarkHandler(b *testing.B) {
	h := &Handler{Config: benchConfig, Lookup: roleLookup()}
	body := reviewBody(b, admissionV1, podRequest(b, benchPod()))
	var lat []time.Duration
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	start := time.Now()
	for b.Loop() {
		t0 := time.Now()
		r := httptest.NewRequest(http.MethodPost, "/mutate", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
		lat = append(lat, time.Since(t0))
	}
	elapsed := time.Since(start)
	slices.Sort(lat)
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(lat[(len(lat)*99)/100].Nanoseconds()), "p99-ns")
}

// BenchmarkHandlerParallel is BenchmarkHandler from GOMAXPROCS goroutines.
func BenchmarkHandlerParallel(b *testing.B) {
	h := &Handler{Config: benchConfig, Lookup: roleLookup()}
	body := reviewBody(b, admissionV1, podRequest(b, benchPod()))
	b.ReportAllocs()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := httptest.NewRequest(http.MethodPost, "/mutate", bytes.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusOK {
				b.Errorf("status %d", w.Code)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}
