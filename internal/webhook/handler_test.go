package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

const testRole = "arn:aws:iam::111122223333:role/app"

// fakeLookup serves ServiceAccounts from a map keyed "namespace/name" and
// records the keys asked for.
type fakeLookup struct {
	mu    sync.Mutex
	sas   map[string]*ServiceAccount
	err   error
	asked []string
}

func (f *fakeLookup) ServiceAccount(_ context.Context, namespace, name string) (*ServiceAccount, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, namespace+"/"+name)
	if f.err != nil {
		return nil, f.err
	}
	return f.sas[namespace+"/"+name], nil
}

// outcomes records what the handler reports to its Metrics.
type outcomes struct {
	mu  sync.Mutex
	got []string
}

func (o *outcomes) ObserveMutation(outcome string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.got = append(o.got, outcome)
}

func roleLookup() *fakeLookup {
	return &fakeLookup{sas: map[string]*ServiceAccount{
		"team-a/app":     {Namespace: "team-a", Name: "app", Annotations: map[string]string{"eks.amazonaws.com/role-arn": testRole}},
		"team-a/default": {Namespace: "team-a", Name: "default", Annotations: map[string]string{"eks.amazonaws.com/role-arn": testRole}},
		"team-a/plain":   {Namespace: "team-a", Name: "plain"},
	}}
}

func testPod(sa string) *corev1.Pod {
	return &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{GenerateName: "app-", Namespace: "team-a"},
		Spec: corev1.PodSpec{
			ServiceAccountName: sa,
			Containers:         []corev1.Container{{Name: "app", Image: "busybox"}},
		},
	}
}

func podRequest(t testing.TB, pod *corev1.Pod) *admissionv1.AdmissionRequest {
	t.Helper()
	raw, err := json.Marshal(pod)
	if err != nil {
		t.Fatal(err)
	}
	return &admissionv1.AdmissionRequest{
		UID:       "705ab4f5-6393-11e8-b7cc-42010a800002",
		Kind:      metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
		Resource:  metav1.GroupVersionResource{Version: "v1", Resource: "pods"},
		Namespace: "team-a",
		Operation: admissionv1.Create,
		Object:    runtime.RawExtension{Raw: raw},
	}
}

func reviewBody(t testing.TB, apiVersion string, req *admissionv1.AdmissionRequest) []byte {
	t.Helper()
	b, err := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: apiVersion, Kind: "AdmissionReview"},
		Request:  req,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func post(h http.Handler, contentType string, body []byte) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/mutate", bytes.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// decodeResponse parses a 200 answer as an AdmissionReview.
func decodeResponse(t *testing.T, w *httptest.ResponseRecorder) *admissionv1.AdmissionReview {
	t.Helper()
	if w.Code != http.StatusOK {
		t.Fatalf("status %d, body %q; want 200", w.Code, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q; want application/json", ct)
	}
	var review admissionv1.AdmissionReview
	if err := decodeStrict(w.Body.Bytes(), &review); err != nil {
		t.Fatalf("response is not an AdmissionReview: %v\n%s", err, w.Body)
	}
	if review.Response == nil {
		t.Fatalf("no response in %s", w.Body)
	}
	return &review
}

// TestHandlerMutates sends a pod CREATE in both AdmissionReview versions:
// the answer echoes the version, kind and UID, allows the pod and carries
// Mutate's patch; the wire form is kept as a golden file per version.
func TestHandlerMutates(t *testing.T) {
	for _, version := range []string{admissionV1, admissionV1beta1} {
		t.Run(version, func(t *testing.T) {
			lookup, seen := roleLookup(), &outcomes{}
			cfg := &Config{Region: "eu-west-1"}
			h := &Handler{Config: cfg, Lookup: lookup, Metrics: seen}
			pod := testPod("app")
			req := podRequest(t, pod)
			w := post(h, "application/json", reviewBody(t, version, req))
			review := decodeResponse(t, w)

			wantPatch, err := Mutate(cfg, pod, lookup.sas["team-a/app"])
			if err != nil {
				t.Fatal(err)
			}
			wantJSON, err := json.Marshal(wantPatch)
			if err != nil {
				t.Fatal(err)
			}
			jsonPatch := admissionv1.PatchTypeJSONPatch
			want := &admissionv1.AdmissionReview{
				TypeMeta: metav1.TypeMeta{APIVersion: version, Kind: "AdmissionReview"},
				Response: &admissionv1.AdmissionResponse{UID: req.UID, Allowed: true, Patch: wantJSON, PatchType: &jsonPatch},
			}
			if diff := cmp.Diff(want, review); diff != "" {
				t.Errorf("response (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"team-a/app"}, lookup.asked); diff != "" {
				t.Errorf("lookups (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{OutcomeMutated}, seen.got); diff != "" {
				t.Errorf("outcomes (-want +got):\n%s", diff)
			}
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, w.Body.Bytes(), "", "  "); err != nil {
				t.Fatal(err)
			}
			pretty.WriteByte('\n')
			golden(t, filepath.Join("testdata", "response-"+strings.TrimPrefix(version, "admission.k8s.io/")+".json"), pretty.Bytes(), true)
		})
	}
}

// TestHandlerRefuses covers requests answered at the HTTP level: never an
// AdmissionReview with allowed:false, so failurePolicy decides.
func TestHandlerRefuses(t *testing.T) {
	valid := func(t *testing.T) []byte { return reviewBody(t, admissionV1, podRequest(t, testPod("app"))) }
	tests := []struct {
		name        string
		method      string
		contentType string
		body        func(t *testing.T) []byte
		maxBytes    int64
		status      int
		message     string
	}{
		{"GET", http.MethodGet, "application/json", valid, 0, 405, "method GET not allowed"},
		{"text content type", "", "text/plain", valid, 0, 415, `Content-Type "text/plain" not supported`},
		{"no content type", "", "", valid, 0, 415, "not supported; want application/json"},
		{"yaml content type", "", "application/yaml", valid, 0, 415, "not supported"},
		{"too large", "", "application/json", valid, 100, 413, "larger than 100 bytes"},
		{"empty body", "", "application/json", func(*testing.T) []byte { return nil }, 0, 400, "empty request body"},
		{"malformed JSON", "", "application/json", func(*testing.T) []byte { return []byte(`{"apiVersion":`) }, 0, 400, "malformed AdmissionReview"},
		{"not an object", "", "application/json", func(*testing.T) []byte { return []byte(`[1,2]`) }, 0, 400, "malformed AdmissionReview"},
		{"no apiVersion", "", "application/json", func(*testing.T) []byte { return []byte(`{"kind":"AdmissionReview","request":{"uid":"x"}}`) }, 0, 400, "no apiVersion"},
		{"unknown apiVersion", "", "application/json", func(t *testing.T) []byte {
			return reviewBody(t, "admission.k8s.io/v2", podRequest(t, testPod("app")))
		}, 0, 400, `unsupported AdmissionReview apiVersion "admission.k8s.io/v2"`},
		{"wrong kind", "", "application/json", func(*testing.T) []byte {
			return []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"Pod","request":{"uid":"x"}}`)
		}, 0, 400, `kind is "Pod"`},
		{"no request", "", "application/json", func(*testing.T) []byte {
			return []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`)
		}, 0, 400, "has no request"},
		{"no uid", "", "application/json", func(t *testing.T) []byte {
			req := podRequest(t, testPod("app"))
			req.UID = ""
			return reviewBody(t, admissionV1, req)
		}, 0, 400, "has no uid"},
		{"no object", "", "application/json", func(t *testing.T) []byte {
			req := podRequest(t, testPod("app"))
			req.Object.Raw = nil
			return reviewBody(t, admissionV1, req)
		}, 0, 400, "has no object"},
		{"object not a pod", "", "application/json", func(t *testing.T) []byte {
			req := podRequest(t, testPod("app"))
			req.Object.Raw = []byte(`{"spec":{"containers":"app"}}`)
			return reviewBody(t, admissionV1, req)
		}, 0, 400, "request object is not a Pod"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			lookup, seen := roleLookup(), &outcomes{}
			h := &Handler{Lookup: lookup, Metrics: seen, MaxRequestBytes: tt.maxBytes,
				Logger: slog.New(slog.NewTextHandler(&logs, nil))}
			method := tt.method
			if method == "" {
				method = http.MethodPost
			}
			r := httptest.NewRequest(method, "/mutate", bytes.NewReader(tt.body(t)))
			if tt.contentType != "" {
				r.Header.Set("Content-Type", tt.contentType)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.status {
				t.Errorf("status %d; want %d (body %q)", w.Code, tt.status, w.Body)
			}
			if !strings.Contains(w.Body.String(), tt.message) {
				t.Errorf("body %q lacks %q", w.Body, tt.message)
			}
			if strings.Contains(w.Body.String(), `"allowed"`) {
				t.Errorf("refusal answered with an AdmissionReview: %s", w.Body)
			}
			if diff := cmp.Diff([]string{OutcomeInvalid}, seen.got); diff != "" {
				t.Errorf("outcomes (-want +got):\n%s", diff)
			}
			if len(lookup.asked) != 0 {
				t.Errorf("refused request looked up %v", lookup.asked)
			}
			if !strings.Contains(logs.String(), "admission request refused") {
				t.Errorf("no log line for the refusal: %q", logs.String())
			}
		})
	}
}

// TestHandlerAllowsWithoutPatch covers every request that is allowed as it
// is, with the outcome reported and the warnings given.
func TestHandlerAllowsWithoutPatch(t *testing.T) {
	mutated := testPod("app")
	mutated.Spec.Volumes = []corev1.Volume{{Name: VolumeName, VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
		Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Audience: DefaultTokenAudience, Path: TokenFile}}},
	}}}}
	mutated.Spec.Containers[0].Env = []corev1.EnvVar{{Name: EnvRoleARN, Value: testRole}, {Name: EnvWebIdentityToken, Value: DefaultMountPath + "/token"}}
	mutated.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: VolumeName, MountPath: DefaultMountPath, ReadOnly: true}}

	tests := []struct {
		name     string
		change   func(*admissionv1.AdmissionRequest)
		pod      *corev1.Pod
		outcome  string
		asked    []string
		warnings []string
	}{
		{"update", func(r *admissionv1.AdmissionRequest) { r.Operation = admissionv1.Update }, testPod("app"), OutcomeIgnored, nil, nil},
		{"delete", func(r *admissionv1.AdmissionRequest) { r.Operation = admissionv1.Delete }, testPod("app"), OutcomeIgnored, nil, nil},
		{"not a pod", func(r *admissionv1.AdmissionRequest) {
			r.Kind = metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
			r.Resource = metav1.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
		}, testPod("app"), OutcomeIgnored, nil, nil},
		{"pod subresource", func(r *admissionv1.AdmissionRequest) { r.SubResource = "ephemeralcontainers" }, testPod("app"), OutcomeIgnored, nil, nil},
		{"service account missing", nil, testPod("ghost"), OutcomeSANotFound, []string{"team-a/ghost"},
			[]string{"service account team-a/ghost not found; pod not mutated by the irsa webhook"}},
		{"no role", nil, testPod("plain"), OutcomeNoRole, []string{"team-a/plain"}, nil},
		{"already mutated", nil, mutated, OutcomeUnchanged, []string{"team-a/app"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lookup, seen := roleLookup(), &outcomes{}
			h := &Handler{Lookup: lookup, Metrics: seen}
			req := podRequest(t, tt.pod)
			if tt.change != nil {
				tt.change(req)
			}
			review := decodeResponse(t, post(h, "application/json", reviewBody(t, admissionV1, req)))
			want := &admissionv1.AdmissionResponse{UID: req.UID, Allowed: true, Warnings: tt.warnings}
			if diff := cmp.Diff(want, review.Response); diff != "" {
				t.Errorf("response (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.asked, lookup.asked); diff != "" {
				t.Errorf("lookups (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{tt.outcome}, seen.got); diff != "" {
				t.Errorf("outcomes (-want +got):\n%s", diff)
			}
		})
	}
}

// TestHandlerLookupError: a failed ServiceAccount lookup is an HTTP 500,
// so the API server applies the webhook's failurePolicy, and an error log
// line names the pod and the cause.
func TestHandlerLookupError(t *testing.T) {
	var logs bytes.Buffer
	lookup := &fakeLookup{err: errors.New("apiserver unavailable")}
	seen := &outcomes{}
	h := &Handler{Lookup: lookup, Metrics: seen, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	w := post(h, "application/json", reviewBody(t, admissionV1, podRequest(t, testPod("app"))))
	if w.Code != http.StatusInternalServerError {
		t.Errorf("status %d; want 500", w.Code)
	}
	if want := "looking up service account team-a/app: apiserver unavailable"; !strings.Contains(w.Body.String(), want) {
		t.Errorf("body %q lacks %q", w.Body, want)
	}
	if diff := cmp.Diff([]string{OutcomeLookupError}, seen.got); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	for _, want := range []string{"level=ERROR", "service account lookup failed", "serviceAccount=app", "namespace=team-a", "apiserver unavailable"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log %q lacks %q", logs.String(), want)
		}
	}
}

// TestHandlerBodyLimitWhileReading: without a Content-Length the limit is
// met while reading the body.
func TestHandlerBodyLimitWhileReading(t *testing.T) {
	h := &Handler{Lookup: roleLookup(), MaxRequestBytes: 100}
	r := httptest.NewRequest(http.MethodPost, "/mutate", bytes.NewReader(reviewBody(t, admissionV1, podRequest(t, testPod("app")))))
	r.Header.Set("Content-Type", "application/json")
	r.ContentLength = -1
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("status %d; want 413", w.Code)
	}
	// The same request, unlimited, is answered.
	h.MaxRequestBytes = 0
	r = httptest.NewRequest(http.MethodPost, "/mutate", bytes.NewReader(reviewBody(t, admissionV1, podRequest(t, testPod("app")))))
	r.Header.Set("Content-Type", "application/json")
	r.ContentLength = -1
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	decodeResponse(t, w)
}

func TestHandlerWithoutLookup(t *testing.T) {
	seen := &outcomes{}
	h := &Handler{Metrics: seen}
	w := post(h, "application/json", reviewBody(t, admissionV1, podRequest(t, testPod("app"))))
	if w.Code != http.StatusInternalServerError {
		t.Errorf("status %d; want 500", w.Code)
	}
	if diff := cmp.Diff([]string{OutcomeError}, seen.got); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
}

// TestHandlerDetails covers the inputs the handler derives: the default
// ServiceAccount name, the namespace from the request, the media type
// parameters, the debug log of a mutation and the warnings of Mutate.
func TestHandlerDetails(t *testing.T) {
	t.Run("default service account", func(t *testing.T) {
		lookup := roleLookup()
		review := decodeResponse(t, post(&Handler{Lookup: lookup}, "application/json", reviewBody(t, admissionV1, podRequest(t, testPod("")))))
		if len(review.Response.Patch) == 0 {
			t.Error("pod without serviceAccountName not mutated with the default ServiceAccount's role")
		}
		if diff := cmp.Diff([]string{"team-a/default"}, lookup.asked); diff != "" {
			t.Errorf("lookups (-want +got):\n%s", diff)
		}
	})
	t.Run("namespace from the request", func(t *testing.T) {
		lookup := roleLookup()
		pod := testPod("app")
		pod.Namespace = ""
		decodeResponse(t, post(&Handler{Lookup: lookup}, "application/json", reviewBody(t, admissionV1, podRequest(t, pod))))
		if diff := cmp.Diff([]string{"team-a/app"}, lookup.asked); diff != "" {
			t.Errorf("lookups (-want +got):\n%s", diff)
		}
	})
	t.Run("content type parameters", func(t *testing.T) {
		review := decodeResponse(t, post(&Handler{Lookup: roleLookup()}, "application/json; charset=utf-8", reviewBody(t, admissionV1, podRequest(t, testPod("app")))))
		if !review.Response.Allowed || len(review.Response.Patch) == 0 {
			t.Errorf("response %+v; want an allowed patch", review.Response)
		}
	})
	t.Run("debug log and warnings", func(t *testing.T) {
		var logs bytes.Buffer
		lookup := roleLookup()
		lookup.sas["team-a/app"].Annotations["eks.amazonaws.com/token-expiration"] = "soon"
		h := &Handler{Lookup: lookup, Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
		review := decodeResponse(t, post(h, "application/json", reviewBody(t, admissionV1, podRequest(t, testPod("app")))))
		wantWarnings := []string{`service account annotation eks.amazonaws.com/token-expiration "soon" is not an integer; using 86400`}
		if diff := cmp.Diff(wantWarnings, review.Response.Warnings); diff != "" {
			t.Errorf("warnings (-want +got):\n%s", diff)
		}
		for _, want := range []string{"level=DEBUG", "pod mutated", "pod=app-", "serviceAccount=app", "operations=2"} {
			if !strings.Contains(logs.String(), want) {
				t.Errorf("log %q lacks %q", logs.String(), want)
			}
		}
	})
	t.Run("outcomes listed", func(t *testing.T) {
		for _, o := range []string{OutcomeMutated, OutcomeUnchanged, OutcomeNoRole, OutcomeSANotFound, OutcomeLookupError, OutcomeIgnored, OutcomeInvalid, OutcomeError} {
			if !slices.Contains(Outcomes(), o) {
				t.Errorf("Outcomes() lacks %q", o)
			}
		}
	})
}
