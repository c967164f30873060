package webhook

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
)

// These tests drive the cache's own logic (transform, waiting, the direct
// GET and its limiter) over client-go's fake clientset; the live path
// against a real kube-apiserver is covered by test/kube.

const testPrefix = "eks.amazonaws.com"

func sa(ns, name string, ann map[string]string) *corev1.ServiceAccount {
	return &corev1.ServiceAccount{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: ann,
			Labels: map[string]string{"app": "x"}, UID: types.UID("uid-" + name)},
		Secrets:                      []corev1.ObjectReference{{Name: name + "-token"}},
		AutomountServiceAccountToken: new(bool),
	}
}

// startCache builds and runs a cache over client and waits for its first
// list.
func startCache(t *testing.T, client *fake.Clientset, cfg SACacheConfig) *SACache {
	t.Helper()
	cfg.Client = client
	if cfg.AnnotationPrefix == "" {
		cfg.AnnotationPrefix = testPrefix
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics()
	}
	c, err := NewSACache(cfg)
	if err != nil {
		t.Fatalf("NewSACache: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	c.Start(ctx)
	if err := c.WaitForSync(ctx, 10*time.Second); err != nil {
		t.Fatalf("WaitForSync: %v", err)
	}
	return c
}

// gets counts the direct GETs of ServiceAccounts the client received.
func gets(client *fake.Clientset) int {
	n := 0
	for _, a := range client.Actions() {
		if a.GetVerb() == "get" && a.GetResource().Resource == "serviceaccounts" {
			n++
		}
	}
	return n
}

// blind makes the informer of client see no ServiceAccount ever, while
// direct GETs still reach the fake's objects: a cache that lags behind the
// API server.
func blind(client *fake.Clientset) {
	client.PrependReactor("list", "serviceaccounts", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, &corev1.ServiceAccountList{ListMeta: metav1.ListMeta{ResourceVersion: "1"}}, nil
	})
	client.PrependWatchReactor("serviceaccounts", func(k8stesting.Action) (bool, watch.Interface, error) {
		return true, watch.NewFake(), nil
	})
}

func TestSACacheHit(t *testing.T) {
	client := fake.NewClientset(
		sa("team-a", "app", map[string]string{
			"eks.amazonaws.com/role-arn":          "arn:aws:iam::111122223333:role/app",
			"eks.amazonaws.com/audience":          "sts.amazonaws.com",
			"eks.amazonaws.com.evil/role-arn":     "arn:aws:iam::111122223333:role/evil",
			"kubectl.kubernetes.io/last-applied":  "{}",
			"example.com/eks.amazonaws.com/thing": "x",
		}),
		sa("team-a", "plain", nil),
		sa("team-b", "app", map[string]string{"other.io/x": "y"}),
	)
	m := NewMetrics()
	c := startCache(t, client, SACacheConfig{GracePeriod: 5 * time.Second, Metrics: m})

	tests := []struct {
		ns, name string
		want     *ServiceAccount
	}{
		{"team-a", "app", &ServiceAccount{Namespace: "team-a", Name: "app", Annotations: map[string]string{
			"eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/app",
			"eks.amazonaws.com/audience": "sts.amazonaws.com",
		}}},
		{"team-a", "plain", &ServiceAccount{Namespace: "team-a", Name: "plain"}},
		{"team-b", "app", &ServiceAccount{Namespace: "team-b", Name: "app"}},
	}
	for _, tt := range tests {
		t.Run(tt.ns+"/"+tt.name, func(t *testing.T) {
			start := time.Now()
			got, err := c.ServiceAccount(t.Context(), tt.ns, tt.name)
			if err != nil {
				t.Fatalf("ServiceAccount: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ServiceAccount (-want +got):\n%s", diff)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("a cached ServiceAccount took %s", d)
			}
		})
	}
	if n := gets(client); n != 0 {
		t.Errorf("cached lookups made %d direct GETs, want 0", n)
	}
	if v := testutil.ToFloat64(m.saMisses); v != 0 {
		t.Errorf("misses = %v, want 0", v)
	}
	// The caller's copy is its own.
	got, _ := c.ServiceAccount(t.Context(), "team-a", "app")
	got.Annotations["eks.amazonaws.com/role-arn"] = "changed"
	again, _ := c.ServiceAccount(t.Context(), "team-a", "app")
	if again.Annotations["eks.amazonaws.com/role-arn"] == "changed" {
		t.Error("changing a returned ServiceAccount changed the cache")
	}
}

func TestSACacheStoresStrippedObjects(t *testing.T) {
	in := sa("ns", "app", map[string]string{"eks.amazonaws.com/role-arn": "r", "other/x": "y"})
	in.ResourceVersion = "42"
	in.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}
	client := fake.NewClientset(in)
	c := startCache(t, client, SACacheConfig{})
	obj, ok, err := c.informer.GetStore().GetByKey("ns/app")
	if err != nil || !ok {
		t.Fatalf("store has no ns/app: %v %v", ok, err)
	}
	got := obj.(*corev1.ServiceAccount)
	want := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{
		Namespace: "ns", Name: "app", ResourceVersion: got.ResourceVersion,
		Annotations: map[string]string{"eks.amazonaws.com/role-arn": "r"},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stored object (-want +got):\n%s", diff)
	}
	if got.ResourceVersion == "" {
		t.Error("the stored object lost its resourceVersion")
	}
}

func TestSACacheTransform(t *testing.T) {
	c := &SACache{prefix: testPrefix + "/"}
	in := sa("ns", "app", map[string]string{"eks.amazonaws.com/role-arn": "r", "eks.amazonaws.com.x/y": "z"})
	in.ResourceVersion = "7"
	got, err := c.transform(in)
	if err != nil {
		t.Fatal(err)
	}
	want := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "app", ResourceVersion: "7",
		Annotations: map[string]string{"eks.amazonaws.com/role-arn": "r"}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("transform (-want +got):\n%s", diff)
	}
	// Idempotent: a transformed object transforms to itself.
	again, _ := c.transform(got)
	if diff := cmp.Diff(got, again); diff != "" {
		t.Errorf("second transform (-first +second):\n%s", diff)
	}
	// A tombstone passes unchanged.
	tomb := cache.DeletedFinalStateUnknown{Key: "ns/app", Obj: in}
	out, _ := c.transform(tomb)
	if diff := cmp.Diff(any(tomb), out); diff != "" {
		t.Errorf("tombstone (-want +got):\n%s", diff)
	}
}

// A ServiceAccount created while a lookup waits is answered by the informer,
// well before the grace period and without a GET.
func TestSACacheWaitsForInformer(t *testing.T) {
	client := fake.NewClientset()
	m := NewMetrics()
	c := startCache(t, client, SACacheConfig{GracePeriod: 20 * time.Second, Metrics: m})
	c.onWait = func(string) {
		// The lookup is subscribed: create the ServiceAccount now, as a
		// client creating it just after its pod would.
		_, err := client.CoreV1().ServiceAccounts("ns").Create(context.Background(),
			sa("ns", "late", map[string]string{"eks.amazonaws.com/role-arn": "r"}), metav1.CreateOptions{})
		if err != nil {
			t.Errorf("create: %v", err)
		}
	}
	start := time.Now()
	got, err := c.ServiceAccount(t.Context(), "ns", "late")
	if err != nil {
		t.Fatalf("ServiceAccount: %v", err)
	}
	want := &ServiceAccount{Namespace: "ns", Name: "late", Annotations: map[string]string{"eks.amazonaws.com/role-arn": "r"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ServiceAccount (-want +got):\n%s", diff)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the lookup took %s: it did not wake on the informer's notification", d)
	}
	if n := gets(client); n != 0 {
		t.Errorf("direct GETs = %d, want 0: the informer delivered it", n)
	}
	if v := testutil.ToFloat64(m.saMisses); v != 1 {
		t.Errorf("misses = %v, want 1", v)
	}
	if v := testutil.ToFloat64(m.saWaitHits); v != 1 {
		t.Errorf("wait hits = %v, want 1", v)
	}
	if n := c.waiters(); n != 0 {
		t.Errorf("%d keys still have waiters", n)
	}
}

// Several lookups of the same missing ServiceAccount share one notification
// and all wake.
func TestSACacheConcurrentWaiters(t *testing.T) {
	client := fake.NewClientset()
	c := startCache(t, client, SACacheConfig{GracePeriod: 20 * time.Second})
	const n = 3
	var mu sync.Mutex
	subscribed := 0
	c.onWait = func(string) {
		mu.Lock()
		defer mu.Unlock()
		subscribed++
		if subscribed == n {
			if _, err := client.CoreV1().ServiceAccounts("ns").Create(context.Background(), sa("ns", "shared", nil), metav1.CreateOptions{}); err != nil {
				t.Errorf("create: %v", err)
			}
		}
	}
	start := time.Now()
	var wg sync.WaitGroup
	results := make([]*ServiceAccount, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { results[i], errs[i] = c.ServiceAccount(context.Background(), "ns", "shared") })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || results[i] == nil || results[i].Name != "shared" {
			t.Errorf("lookup %d = %+v, %v; want ns/shared", i, results[i], errs[i])
		}
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the lookups took %s", d)
	}
	if g := gets(client); g != 0 {
		t.Errorf("direct GETs = %d, want 0", g)
	}
	if w := c.waiters(); w != 0 {
		t.Errorf("%d keys still have waiters", w)
	}
}

// When the informer does not deliver within the grace period, one direct
// GET decides.
func TestSACacheFetch(t *testing.T) {
	serverError := apierrors.NewInternalError(errors.New("etcd is down"))
	tests := []struct {
		name      string
		objects   []runtime.Object
		getErr    error
		grace     time.Duration
		want      *ServiceAccount
		wantErr   bool
		wantFetch string
	}{
		{
			name:      "found by GET after the grace period",
			objects:   []runtime.Object{sa("ns", "app", map[string]string{"eks.amazonaws.com/role-arn": "r", "x/y": "z"})},
			grace:     50 * time.Millisecond,
			want:      &ServiceAccount{Namespace: "ns", Name: "app", Annotations: map[string]string{"eks.amazonaws.com/role-arn": "r"}},
			wantFetch: fetchFound,
		},
		{
			name:      "not found by GET",
			grace:     50 * time.Millisecond,
			wantFetch: fetchNotFound,
		},
		{
			name:      "no grace period: GET at once",
			objects:   []runtime.Object{sa("ns", "app", nil)},
			want:      &ServiceAccount{Namespace: "ns", Name: "app"},
			wantFetch: fetchFound,
		},
		{
			name:      "GET fails: the answer is unknown",
			objects:   []runtime.Object{sa("ns", "app", nil)},
			getErr:    serverError,
			grace:     10 * time.Millisecond,
			wantErr:   true,
			wantFetch: fetchError,
		},
		{
			name:      "GET forbidden: an error, not a missing ServiceAccount",
			getErr:    apierrors.NewForbidden(schema.GroupResource{Resource: "serviceaccounts"}, "app", errors.New("RBAC")),
			wantErr:   true,
			wantFetch: fetchError,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := fake.NewClientset(tt.objects...)
			blind(client)
			if tt.getErr != nil {
				client.PrependReactor("get", "serviceaccounts", func(k8stesting.Action) (bool, runtime.Object, error) {
					return true, nil, tt.getErr
				})
			}
			m := NewMetrics()
			c := startCache(t, client, SACacheConfig{GracePeriod: tt.grace, Metrics: m})
			start := time.Now()
			got, err := c.ServiceAccount(t.Context(), "ns", "app")
			elapsed := time.Since(start)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ServiceAccount error = %v, want error %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ServiceAccount (-want +got):\n%s", diff)
			}
			if elapsed < tt.grace {
				t.Errorf("the lookup returned after %s, before the grace period %s", elapsed, tt.grace)
			}
			if n := gets(client); n != 1 {
				t.Errorf("direct GETs = %d, want exactly 1", n)
			}
			if v := testutil.ToFloat64(m.saFetches.WithLabelValues(tt.wantFetch)); v != 1 {
				t.Errorf("fetches{result=%s} = %v, want 1", tt.wantFetch, v)
			}
			if v := testutil.ToFloat64(m.saMisses); v != 1 {
				t.Errorf("misses = %v, want 1", v)
			}
		})
	}
}

func TestSACacheFetchRateLimited(t *testing.T) {
	client := fake.NewClientset()
	blind(client)
	m := NewMetrics()
	// One token, refilled every thousand seconds; the second lookup cannot
	// get one within its fetch timeout.
	c := startCache(t, client, SACacheConfig{FetchQPS: 0.001, FetchBurst: 1, FetchTimeout: 200 * time.Millisecond, Metrics: m})
	if got, err := c.ServiceAccount(t.Context(), "ns", "one"); got != nil || err != nil {
		t.Fatalf("first lookup = %v, %v; want nil, nil (not found)", got, err)
	}
	start := time.Now()
	got, err := c.ServiceAccount(t.Context(), "ns", "two")
	if got != nil || !errors.Is(err, ErrFetchLimited) {
		t.Fatalf("second lookup = %v, %v; want ErrFetchLimited", got, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("a rate-limited lookup took %s", d)
	}
	if n := gets(client); n != 1 {
		t.Errorf("direct GETs = %d, want 1", n)
	}
	if v := testutil.ToFloat64(m.saFetches.WithLabelValues(fetchLimited)); v != 1 {
		t.Errorf("fetches{result=rate_limited} = %v, want 1", v)
	}
}

func TestSACacheContextCanceledWhileWaiting(t *testing.T) {
	client := fake.NewClientset()
	c := startCache(t, client, SACacheConfig{GracePeriod: 20 * time.Second})
	ctx, cancel := context.WithCancel(t.Context())
	c.onWait = func(string) { cancel() }
	start := time.Now()
	got, err := c.ServiceAccount(ctx, "ns", "never")
	if got != nil || !errors.Is(err, context.Canceled) {
		t.Fatalf("ServiceAccount = %v, %v; want context.Canceled", got, err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("a canceled lookup took %s", d)
	}
	if n := gets(client); n != 0 {
		t.Errorf("direct GETs = %d after cancellation, want 0", n)
	}
	if n := c.waiters(); n != 0 {
		t.Errorf("%d keys still have waiters", n)
	}
}

// A deleted ServiceAccount leaves the cache; the lookup then asks the API
// server, which says it is gone.
func TestSACacheDelete(t *testing.T) {
	client := fake.NewClientset(sa("ns", "app", map[string]string{"eks.amazonaws.com/role-arn": "r"}))
	c := startCache(t, client, SACacheConfig{})
	deleted := make(chan struct{})
	if _, err := c.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{DeleteFunc: func(any) { close(deleted) }}); err != nil {
		t.Fatal(err)
	}
	if got, err := c.ServiceAccount(t.Context(), "ns", "app"); got == nil || err != nil {
		t.Fatalf("before delete: %v, %v", got, err)
	}
	if err := client.CoreV1().ServiceAccounts("ns").Delete(t.Context(), "app", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-deleted:
	case <-time.After(10 * time.Second):
		t.Fatal("the informer did not deliver the deletion")
	}
	got, err := c.ServiceAccount(t.Context(), "ns", "app")
	if got != nil || err != nil {
		t.Fatalf("after delete: %v, %v; want nil, nil", got, err)
	}
	if n := gets(client); n != 1 {
		t.Errorf("direct GETs = %d, want 1", n)
	}
}

func TestSACacheSync(t *testing.T) {
	t.Run("list fails: WaitForSync times out with an error", func(t *testing.T) {
		client := fake.NewClientset()
		client.PrependReactor("list", "serviceaccounts", func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "serviceaccounts"}, "", errors.New("no RBAC"))
		})
		c, err := NewSACache(SACacheConfig{Client: client, AnnotationPrefix: testPrefix})
		if err != nil {
			t.Fatal(err)
		}
		c.Start(t.Context())
		start := time.Now()
		err = c.WaitForSync(t.Context(), 200*time.Millisecond)
		if err == nil {
			t.Fatal("WaitForSync = nil, want a timeout error")
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("WaitForSync = %v, want it to wrap context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("WaitForSync took %s with a 200ms timeout", d)
		}
		if c.Synced() {
			t.Error("Synced() = true after a failed list")
		}
	})
	t.Run("list succeeds", func(t *testing.T) {
		client := fake.NewClientset(sa("ns", "a", nil))
		c, err := NewSACache(SACacheConfig{Client: client, AnnotationPrefix: testPrefix})
		if err != nil {
			t.Fatal(err)
		}
		if c.Synced() {
			t.Fatal("Synced() = true before Start")
		}
		c.Start(t.Context())
		if err := c.WaitForSync(t.Context(), 10*time.Second); err != nil {
			t.Fatalf("WaitForSync: %v", err)
		}
		if !c.Synced() {
			t.Error("Synced() = false after WaitForSync")
		}
	})
}

func TestNewSACacheConfigErrors(t *testing.T) {
	client := fake.NewClientset()
	tests := []struct {
		name string
		cfg  SACacheConfig
	}{
		{"no client", SACacheConfig{AnnotationPrefix: testPrefix}},
		{"no prefix", SACacheConfig{Client: client}},
		{"negative grace", SACacheConfig{Client: client, AnnotationPrefix: testPrefix, GracePeriod: -time.Second}},
		{"grace above the maximum", SACacheConfig{Client: client, AnnotationPrefix: testPrefix, GracePeriod: MaxSALookupGracePeriod + time.Millisecond}},
		{"negative resync", SACacheConfig{Client: client, AnnotationPrefix: testPrefix, ResyncPeriod: -time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewSACache(tt.cfg); err == nil {
				t.Error("NewSACache = nil error")
			}
		})
	}
	if _, err := NewSACache(SACacheConfig{Client: client, AnnotationPrefix: testPrefix, GracePeriod: MaxSALookupGracePeriod}); err != nil {
		t.Errorf("the maximum grace period is refused: %v", err)
	}
}

func TestSACacheRejectsEmptyNames(t *testing.T) {
	client := fake.NewClientset()
	c := startCache(t, client, SACacheConfig{})
	for _, k := range [][2]string{{"", "app"}, {"ns", ""}} {
		if _, err := c.ServiceAccount(t.Context(), k[0], k[1]); err == nil {
			t.Errorf("ServiceAccount(%q, %q) = nil error", k[0], k[1])
		}
	}
	if n := gets(client); n != 0 {
		t.Errorf("direct GETs = %d, want 0", n)
	}
}
