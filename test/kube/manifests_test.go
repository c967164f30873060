//go:build linux

package kube

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
)

// manifestsFile is the chart rendered as plain manifests.
func manifestsFile() string { return filepath.Join(moduleRoot, "deploy", "manifests", "irsa.yaml") }

// readManifests decodes every object of a multi-document YAML file.
func readManifests(file string) ([]*unstructured.Unstructured, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(raw), 4096)
	var objs []*unstructured.Unstructured
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return objs, nil
			}
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		if len(m) == 0 {
			continue // an empty document (a comment only)
		}
		objs = append(objs, &unstructured.Unstructured{Object: m})
	}
}

// objectKey names an object as kubectl prints it, lower-case kind and
// name (group left out).
func objectKey(o *unstructured.Unstructured) string {
	return strings.ToLower(o.GetKind()) + "/" + o.GetName()
}

// TestManifestsServerDryRun applies deploy/manifests/irsa.yaml (the Helm
// chart rendered) to the real API server with server-side dry run: every
// object passes the API server's validation, defaulting and admission
// (strict field validation: an unknown field is an error), and nothing is
// persisted. The namespaces the file declares are created for real first,
// as a dry run cannot create the namespace its other objects go into.
func TestManifestsServerDryRun(t *testing.T) {
	e := sharedEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	objs, err := readManifests(manifestsFile())
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) == 0 {
		t.Fatalf("%s holds no object", manifestsFile())
	}
	var want []string
	kinds := map[string]bool{}
	for _, o := range objs {
		want = append(want, objectKey(o))
		kinds[o.GetKind()] = true
		if o.GetKind() == "Namespace" {
			if err := e.cluster.createNamespace(ctx, o.GetName()); err != nil {
				t.Fatal(err)
			}
		}
	}
	sort.Strings(want)
	// What the chart must hold, whatever else it renders.
	for _, k := range []string{"Deployment", "Service", "ServiceAccount", "MutatingWebhookConfiguration", "ClusterRole", "ClusterRoleBinding"} {
		if !kinds[k] {
			t.Errorf("%s has no %s", manifestsFile(), k)
		}
	}

	t.Run("client-go", func(t *testing.T) { dryRunApply(ctx, t, e, objs) })

	// The chart with EKS Pod Identity on: the agent's DaemonSet and the
	// webhook's Pod Identity flags pass the API server's validation too.
	t.Run("pod identity", func(t *testing.T) {
		// scripts/helm.sh builds helm once per machine into
		// ~/.cache/irsa (minutes; test/deploy usually did it already), so
		// it runs with the real environment and a generous bound.
		hctx, hcancel := context.WithTimeout(context.Background(), 15*time.Minute)
		defer hcancel()
		helm, stderr, err := runCommand(hctx, moduleRoot, os.Environ(), nil, filepath.Join(moduleRoot, "scripts", "helm.sh"))
		if err != nil {
			t.Fatalf("scripts/helm.sh: %v\n%s", err, stderr)
		}
		out, stderr, err := runCommand(hctx, moduleRoot, baseEnv(t.TempDir()), nil, strings.TrimSpace(helm), "template", "irsa", "deploy/helm/irsa",
			"--namespace", "irsa", "--kube-version", "1.37.2", "--set", "certManager.enabled=false", "--set", "certificates.mode=external",
			"--set", "podIdentity.enabled=true", "--set", "podIdentity.clusterName=kube", "--set", "podIdentity.credentials.secretName=irsa-pod-identity")
		if err != nil {
			t.Fatalf("helm template with podIdentity.enabled: %v\n%s", err, stderr)
		}
		file := filepath.Join(t.TempDir(), "irsa-pod-identity.yaml")
		if err := os.WriteFile(file, []byte(out), 0o600); err != nil {
			t.Fatal(err)
		}
		piObjs, err := readManifests(file)
		if err != nil {
			t.Fatal(err)
		}
		daemonSets := 0
		for _, o := range piObjs {
			if o.GetKind() == "DaemonSet" {
				daemonSets++
			}
		}
		if daemonSets != 1 {
			t.Fatalf("the chart with podIdentity.enabled rendered %d DaemonSets, want the agent's", daemonSets)
		}
		dryRunApply(ctx, t, e, piObjs)
	})

	t.Run("kubectl", func(t *testing.T) {
		if kubectlBin == "" {
			t.Fatal("no kubectl found (PATH, or the google-cloud-cli package's kubectl.1.NN); the client-go subtest covers the API server's side")
		}
		kctx, kcancel := context.WithTimeout(ctx, 30*time.Second)
		defer kcancel()
		env := append(baseEnv(t.TempDir()), "KUBECONFIG="+e.cluster.Kubeconfig)
		stdout, stderr, err := runCommand(kctx, moduleRoot, env, nil, kubectlBin, "apply", "--dry-run=server", "-f", manifestsFile())
		if err != nil {
			t.Fatalf("kubectl apply --dry-run=server -f %s: %v\nstdout:\n%s\nstderr:\n%s", manifestsFile(), err, stdout, stderr)
		}
		// One line per object: "deployment.apps/irsa created (server dry run)".
		line := regexp.MustCompile(`^([a-z0-9]+)(?:\.[a-z0-9.-]+)?/(\S+) (?:created|configured|unchanged) \(server dry run\)$`)
		var got []string
		for _, l := range strings.Split(strings.TrimSpace(stdout), "\n") {
			m := line.FindStringSubmatch(strings.TrimSpace(l))
			if m == nil {
				t.Errorf("unexpected kubectl output line %q", l)
				continue
			}
			got = append(got, m[1]+"/"+m[2])
		}
		sort.Strings(got)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("objects kubectl applied (dry run) (-want +got):\n%s", diff)
		}
		if strings.TrimSpace(stderr) != "" {
			t.Logf("kubectl stderr:\n%s", stderr)
		}
	})

	// A dry run persists nothing: the chart's webhook configuration, which
	// would send every pod to a Service no pod backs, must not exist.
	for _, o := range objs {
		if o.GetKind() != "MutatingWebhookConfiguration" {
			continue
		}
		_, err := e.cluster.Client.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, o.GetName(), metav1.GetOptions{})
		if !apierrors.IsNotFound(err) {
			t.Errorf("after the dry runs, GET mutatingwebhookconfiguration %s = %v, want NotFound", o.GetName(), err)
		}
	}
}

// dryRunApply applies objs to the real API server with server-side apply,
// dry run and strict field validation, and fails the test for each object
// it refuses.
func dryRunApply(ctx context.Context, t *testing.T, e *env, objs []*unstructured.Unstructured) {
	t.Helper()
	dc, err := discovery.NewDiscoveryClientForConfig(e.cluster.REST)
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	dyn, err := dynamic.NewForConfig(e.cluster.REST)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		gvk := o.GroupVersionKind()
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			t.Errorf("%s: the API server does not serve %s: %v", objectKey(o), gvk, err)
			continue
		}
		var ri dynamic.ResourceInterface = dyn.Resource(m.Resource)
		if m.Scope.Name() == meta.RESTScopeNameNamespace {
			ri = dyn.Resource(m.Resource).Namespace(o.GetNamespace())
		}
		body, err := o.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		force := true
		// Server-side apply, dry run, strict field validation.
		_, err = ri.Patch(ctx, o.GetName(), types.ApplyPatchType, body, metav1.PatchOptions{
			FieldManager: "irsa-test", Force: &force, DryRun: []string{metav1.DryRunAll}, FieldValidation: "Strict",
		})
		if err != nil {
			t.Errorf("%s: server-side apply (dry run) refused: %v", objectKey(o), err)
		}
	}
}
