//go:build linux

package kube

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// sidecarLabel marks the pods the test's sidecar injector mutates.
const sidecarLabel = "irsa-test/add-sidecar"

// sidecarInjector is a second mutating webhook, served by the test, that
// adds a container to labeled pods the way a service mesh or a secrets
// agent does. Its configuration's name sorts after irsa's, so the API
// server calls it after irsa.
func sidecarInjector(t *testing.T, e *env) {
	t.Helper()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var review admissionv1.AdmissionReview
		if err := json.NewDecoder(r.Body).Decode(&review); err != nil || review.Request == nil {
			http.Error(w, "bad review", http.StatusBadRequest)
			return
		}
		var pod corev1.Pod
		if err := json.Unmarshal(review.Request.Object.Raw, &pod); err != nil {
			http.Error(w, "bad pod", http.StatusBadRequest)
			return
		}
		resp := &admissionv1.AdmissionResponse{UID: review.Request.UID, Allowed: true}
		has := false
		for _, c := range pod.Spec.Containers {
			has = has || c.Name == "late-sidecar"
		}
		if !has {
			patch, _ := json.Marshal([]map[string]any{{"op": "add", "path": "/spec/containers/-", "value": corev1.Container{Name: "late-sidecar", Image: "registry.k8s.io/pause:3.10"}}})
			pt := admissionv1.PatchTypeJSONPatch
			resp.Patch, resp.PatchType = patch, &pt
		}
		review.Response, review.Request = resp, nil
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(review)
	}))
	t.Cleanup(srv.Close)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	fail := admissionregistrationv1.Fail
	none := admissionregistrationv1.SideEffectClassNone
	url := srv.URL + "/inject"
	const name = "z-irsa-test-sidecar-injector"
	_, err := e.cluster.Client.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(ctx, &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name:                    "sidecar.irsa.test",
			ClientConfig:            admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})},
			AdmissionReviewVersions: []string{"v1"},
			SideEffects:             &none,
			FailurePolicy:           &fail,
			ObjectSelector:          &metav1.LabelSelector{MatchLabels: map[string]string{sidecarLabel: "true"}},
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
				Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
			}},
		}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("registering the sidecar injector: %v", err)
	}
	t.Cleanup(func() {
		if err := e.cluster.Client.AdmissionregistrationV1().MutatingWebhookConfigurations().Delete(context.Background(), name, metav1.DeleteOptions{}); err != nil {
			t.Errorf("removing the sidecar injector: %v", err)
		}
	})
	// Wait until the API server calls it (a dry-run pod in the probe
	// namespace).
	for {
		probe := testPod("sidecar-probe", "default")
		probe.Labels = map[string]string{sidecarLabel: "true"}
		pod, err := e.cluster.Client.CoreV1().Pods("irsa-probe").Create(ctx, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err == nil && len(pod.Spec.Containers) == 2 {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("the API server never called the sidecar injector: %v", err)
		}
		time.Sleep(100 * time.Millisecond) // polling interval, not a correctness wait
	}
}

// TestReinvocationGivesLateContainersCredentials registers a second
// webhook that adds a container after irsa has mutated the pod. With
// reinvocationPolicy IfNeeded the API server calls irsa again, and the late
// container gets the credentials too, while the containers irsa already
// mutated are not given them twice (the EKS webhook, without
// reinvocation, leaves such containers without credentials).
func TestReinvocationGivesLateContainersCredentials(t *testing.T) {
	e := sharedEnv(t)
	sidecarInjector(t, e)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const ns, sa = "reinvocation", "meshed"
	if err := e.cluster.createNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	if err := createServiceAccount(ctx, e.cluster, ns, sa, map[string]string{roleARNAnnotation: roleARN("meshed")}); err != nil {
		t.Fatal(err)
	}
	pod := testPod("meshed", sa)
	pod.Labels = map[string]string{sidecarLabel: "true"}
	if _, err := e.cluster.Client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating the pod: %v", err)
	}
	stored, err := e.cluster.Client.CoreV1().Pods(ns).Get(ctx, pod.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	type credentials struct {
		Container   string
		Env         []corev1.EnvVar // the AWS_* variables, in order
		TokenMounts int
	}
	var got []credentials
	for _, c := range stored.Spec.Containers {
		cr := credentials{Container: c.Name}
		for _, v := range c.Env {
			if len(v.Name) > 4 && v.Name[:4] == "AWS_" {
				cr.Env = append(cr.Env, v)
			}
		}
		for _, m := range c.VolumeMounts {
			if m.Name == tokenVolumeName {
				cr.TokenMounts++
			}
		}
		got = append(got, cr)
	}
	want := []credentials{
		{Container: "app", Env: injected(e, webhookRegion, "meshed", tokenFile), TokenMounts: 1},
		{Container: "late-sidecar", Env: injected(e, webhookRegion, "meshed", tokenFile), TokenMounts: 1},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("credentials of the stored pod's containers (-want +got):\n%s", diff)
	}
	volumes := 0
	for _, v := range stored.Spec.Volumes {
		if v.Name == tokenVolumeName {
			volumes++
		}
	}
	if volumes != 1 {
		t.Errorf("the stored pod has %d volumes named %s, want 1", volumes, tokenVolumeName)
	}
}
