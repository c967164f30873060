package webhook

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func BenchmarkMutatePodIdentity(b *testing.B) {
	pod := benchPod()
	sa := &ServiceAccount{Namespace: "team-a", Name: "app", PodIdentity: true}
	b.ReportAllocs()
	for b.Loop() {
		patch, err := Mutate(benchConfig, pod, sa)
		if err != nil || len(patch) == 0 {
			b.Fatal(patch, err)
		}
	}
}

// BenchmarkHandlerPodIdentity is BenchmarkHandler in the Pod Identity
// mode, the association answered from the cache (the hot path).
func BenchmarkHandlerPodIdentity(b *testing.B) {
	fake := &eksServer{assoc: map[string]bool{"prod/team-a/app": true}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	assoc, err := NewAssociationCache(AssociationCacheConfig{Client: newEKSClient(b, srv), ClusterName: "prod", TTL: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	if found, err := assoc.HasAssociation(context.Background(), "team-a", "app"); err != nil || !found {
		b.Fatal(found, err)
	}
	h := &Handler{Config: benchConfig, Lookup: roleLookup(), Associations: assoc}
	body := reviewBody(b, admissionV1, podRequest(b, benchPod()))
	b.ReportAllocs()
	for b.Loop() {
		if w := post(h, "application/json", body); w.Code != http.StatusOK {
			b.Fatal(w.Code, w.Body)
		}
	}
	if calls := fake.calls.Load(); calls != 1 {
		b.Errorf("%d EKS API calls, want 1", calls)
	}
}
