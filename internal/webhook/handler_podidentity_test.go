package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// fakeAssociations answers from a set of "namespace/name" keys and records
// the keys asked for.
type fakeAssociations struct {
	mu    sync.Mutex
	keys  map[string]bool
	err   error
	asked []string
}

func (f *fakeAssociations) HasAssociation(_ context.Context, namespace, name string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, namespace+"/"+name)
	if f.err != nil {
		return false, f.err
	}
	return f.keys[namespace+"/"+name], nil
}

// TestHandlerPodIdentity drives the Handler in the Pod Identity mode: the
// association decides the mode, the patch is Mutate's for the
// ServiceAccount with PodIdentity set, and a failed association lookup
// falls back to the role-arn annotation when there is one, else is an
// HTTP 500.
func TestHandlerPodIdentity(t *testing.T) {
	lookupFailed := errors.New("ListPodIdentityAssociations: connection refused")
	windows := testPod("both")
	windows.Spec.NodeSelector = map[string]string{"kubernetes.io/os": "windows"}
	tests := []struct {
		name        string
		pod         *corev1.Pod
		assocErr    error
		podIdentity bool // the expected patch is Mutate's with PodIdentity set
		status      int
		outcome     string
		warnings    []string
		asked       []string
	}{
		{name: "association, no role", pod: testPod("assoc"), podIdentity: true, status: 200, outcome: OutcomeMutatedPodIdentity, asked: []string{"team-a/assoc"}},
		{name: "association and role", pod: testPod("both"), podIdentity: true, status: 200, outcome: OutcomeMutatedPodIdentity, asked: []string{"team-a/both"},
			warnings: []string{"service account team-a/both has both an EKS Pod Identity association and annotation eks.amazonaws.com/role-arn; the association is used and the annotation ignored, as on EKS"}},
		{name: "role only", pod: testPod("app"), status: 200, outcome: OutcomeMutated, asked: []string{"team-a/app"}},
		{name: "neither", pod: testPod("plain"), status: 200, outcome: OutcomeNoRole, asked: []string{"team-a/plain"}},
		{name: "windows pod with both", pod: windows, status: 200, outcome: OutcomeMutated, asked: []string{"team-a/both"},
			warnings: []string{"service account team-a/both has an EKS Pod Identity association, which Windows pods cannot use; the role-arn annotation (IRSA) is used"}},
		{name: "lookup fails, role", pod: testPod("both"), assocErr: lookupFailed, status: 200, outcome: OutcomeMutated, asked: []string{"team-a/both"},
			warnings: []string{"the EKS Pod Identity association of service account team-a/both could not be looked up; the role-arn annotation (IRSA) is used"}},
		{name: "lookup fails, no role", pod: testPod("assoc"), assocErr: lookupFailed, status: 500, outcome: OutcomeLookupError, asked: []string{"team-a/assoc"}},
		{name: "service account missing", pod: testPod("ghost"), status: 200, outcome: OutcomeSANotFound,
			warnings: []string{"service account team-a/ghost not found; pod not mutated by the irsa webhook"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sas := roleLookup()
			sas.sas["team-a/assoc"] = &ServiceAccount{Namespace: "team-a", Name: "assoc"}
			sas.sas["team-a/both"] = &ServiceAccount{Namespace: "team-a", Name: "both", Annotations: map[string]string{"eks.amazonaws.com/role-arn": testRole}}
			assoc := &fakeAssociations{keys: map[string]bool{"team-a/assoc": true, "team-a/both": true}, err: tt.assocErr}
			seen := &outcomes{}
			var logs bytes.Buffer
			cfg := &Config{ContainerCredentialsFullURI: "http://169.254.170.23/v1/credentials"}
			h := &Handler{Config: cfg, Lookup: sas, Associations: assoc, Metrics: seen, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
			req := podRequest(t, tt.pod)
			w := post(h, "application/json", reviewBody(t, admissionV1, req))
			if w.Code != tt.status {
				t.Fatalf("status %d %q, want %d", w.Code, w.Body, tt.status)
			}
			if diff := cmp.Diff(tt.asked, assoc.asked); diff != "" {
				t.Errorf("association lookups (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{tt.outcome}, seen.got); diff != "" {
				t.Errorf("outcomes (-want +got):\n%s", diff)
			}
			if tt.status != 200 {
				if !strings.Contains(w.Body.String(), "connection refused") || !strings.Contains(logs.String(), "Pod Identity association lookup failed") {
					t.Errorf("body %q, logs %q", w.Body, logs.String())
				}
				return
			}
			review := decodeResponse(t, w)
			if diff := cmp.Diff(tt.warnings, review.Response.Warnings); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
			sa := sas.sas[tt.pod.Namespace+"/"+tt.pod.Spec.ServiceAccountName]
			if sa == nil {
				if review.Response.Patch != nil {
					t.Errorf("patch %s for a missing ServiceAccount", review.Response.Patch)
				}
				return
			}
			want := *sa
			want.PodIdentity = tt.podIdentity
			patch, err := Mutate(cfg, tt.pod, &want)
			if err != nil {
				t.Fatal(err)
			}
			var wantJSON []byte
			if patch != nil {
				if wantJSON, err = json.Marshal(patch); err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(wantJSON, review.Response.Patch) {
				t.Errorf("patch\n%s\nwant\n%s", review.Response.Patch, wantJSON)
			}
			if tt.podIdentity != bytes.Contains(review.Response.Patch, []byte(EnvContainerCredentialsFullURI)) {
				t.Errorf("patch %s: Pod Identity mode %t expected", review.Response.Patch, tt.podIdentity)
			}
			// The lookup never changes the ServiceAccount it was given.
			if sa.PodIdentity {
				t.Error("the handler wrote to the looked-up ServiceAccount")
			}
		})
	}
}

// TestRunPodIdentity runs the server with the Pod Identity mode on, its
// association cache asking a test EKS API through the real aws-sdk-go-v2
// client: a pod of an associated ServiceAccount gets the container
// credentials, the lookups are counted, and a wrong cluster name is a
// ConfigError.
func TestRunPodIdentity(t *testing.T) {
	fakeEKS := &eksServer{assoc: map[string]bool{"prod/ns/app": true}}
	srv := httptest.NewServer(fakeEKS)
	defer srv.Close()
	client := fake.NewClientset(sa("ns", "app", nil), sa("ns", "irsa", map[string]string{"eks.amazonaws.com/role-arn": testRole}))
	r := startRun(t, ServerConfig{
		Client:      client,
		PodIdentity: &PodIdentityConfig{Client: newEKSClient(t, srv), ClusterName: "prod"},
	})
	r.waitReady(t)

	for range 2 {
		code, body := r.do(t, http.MethodPost, "/mutate", "application/json", podReview(t, "admission.k8s.io/v1", "ns", "app"))
		if code != 200 {
			t.Fatalf("/mutate = %d %q", code, body)
		}
		var review admissionv1.AdmissionReview
		if err := json.Unmarshal([]byte(body), &review); err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{EnvContainerCredentialsFullURI, DefaultContainerCredentialsFullURI, PodIdentityVolumeName, PodIdentityAudience, `"eks.amazonaws.com/pod-identity":"enabled"`} {
			if !bytes.Contains(review.Response.Patch, []byte(s)) {
				t.Errorf("patch %s lacks %q", review.Response.Patch, s)
			}
		}
	}
	code, body := r.do(t, http.MethodPost, "/mutate", "application/json", podReview(t, "admission.k8s.io/v1", "ns", "irsa"))
	if code != 200 || !strings.Contains(body, `"patchType":"JSONPatch"`) {
		t.Fatalf("IRSA pod: %d %q", code, body)
	}
	_, metrics := r.do(t, http.MethodGet, "/metrics", "", nil)
	for _, s := range []string{
		`irsa_webhook_mutations_total{outcome="mutated_pod_identity"} 2`,
		`irsa_webhook_mutations_total{outcome="mutated"} 1`,
		`irsa_webhook_pod_identity_lookups_total{result="found"} 1`,
		`irsa_webhook_pod_identity_lookups_total{result="hit"} 1`,
		`irsa_webhook_pod_identity_lookups_total{result="not_found"} 1`,
	} {
		if !strings.Contains(metrics, s) {
			t.Errorf("/metrics lacks %q", s)
		}
	}

	certFile, keyFile := writePair(t, newTestCert(t, "webhook", 10))
	err := Run(context.Background(), ServerConfig{
		TLSCertFile: certFile, TLSKeyFile: keyFile, Client: client,
		PodIdentity: &PodIdentityConfig{Client: newEKSClient(t, srv), ClusterName: "not a name"},
	})
	var ce *ConfigError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "not an EKS cluster name") {
		t.Errorf("Run with a bad cluster name: %v, want a ConfigError", err)
	}
}

func TestConfigValidateCredentialsURI(t *testing.T) {
	for _, ok := range []string{
		"http://169.254.170.23/v1/credentials", "http://[fd00:ec2::23]/v1/credentials", "http://169.254.170.2/creds",
		"http://127.0.0.1:2703/v1/credentials", "http://[::1]/c", "http://localhost:80/c", "https://agent.example.com/v1/credentials",
	} {
		if err := (&Config{ContainerCredentialsFullURI: ok}).Validate(); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for uri, want := range map[string]string{
		"http://agent.kube-system.svc/v1/credentials": "AWS SDKs refuse plain http",
		"http://10.0.0.1/v1/credentials":              "AWS SDKs refuse plain http",
		"ftp://169.254.170.23/":                       "not an http or https URL",
		"169.254.170.23/v1/credentials":               "not an http or https URL",
		"http://user:pw@169.254.170.23/":              "not an http or https URL",
	} {
		err := (&Config{ContainerCredentialsFullURI: uri}).Validate()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want %q", uri, err, want)
		}
	}
}
