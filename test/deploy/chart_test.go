package deploy

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/irsa-dev/irsa/internal/config"
)

var update = flag.Bool("update", false, "rewrite deploy/manifests/irsa.yaml with scripts/render-manifests.sh")

const (
	chartDir  = "deploy/helm/irsa"
	manifests = "deploy/manifests/irsa.yaml"
	namespace = "irsa"
)

// moduleRoot is the directory holding go.mod.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
}

var (
	helmOnce sync.Once
	helmPath string
	helmErr  error
)

// helm returns the helm binary scripts/helm.sh provides, building it on
// first use (a few minutes, once per machine).
func helm(t *testing.T) string {
	t.Helper()
	root := moduleRoot(t)
	helmOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
		defer cancel()
		var stdout, stderr bytes.Buffer
		cmd := exec.CommandContext(ctx, filepath.Join(root, "scripts", "helm.sh"))
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			helmErr = fmt.Errorf("scripts/helm.sh: %v\n%s", err, stderr.String())
			return
		}
		helmPath = strings.TrimSpace(stdout.String())
		if _, err := os.Stat(helmPath); err != nil {
			helmErr = fmt.Errorf("scripts/helm.sh printed %q: %v", helmPath, err)
		}
	})
	if helmErr != nil {
		t.Fatalf("helm is needed for the chart's tests and could not be had: %v", helmErr)
	}
	return helmPath
}

// run runs a command in the module root and returns its standard output;
// a failure is returned with standard error.
func run(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = moduleRoot(t)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

func TestManifestsAreUpToDate(t *testing.T) {
	helm(t) // fails clearly when helm cannot be had
	root := moduleRoot(t)
	script := filepath.Join(root, "scripts", "render-manifests.sh")
	if *update {
		if _, err := run(t, script); err != nil {
			t.Fatal(err)
		}
	}
	fresh := filepath.Join(t.TempDir(), "irsa.yaml")
	if _, err := run(t, script, fresh); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(fresh)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(root, manifests))
	if err != nil {
		t.Fatalf("%v (run scripts/render-manifests.sh)", err)
	}
	if !bytes.Equal(got, want) {
		diff := cmp.Diff(strings.Split(string(want), "\n"), strings.Split(string(got), "\n"))
		t.Fatalf("%s is not what the chart renders now; run scripts/render-manifests.sh (or go test ./test/deploy -update).\n(-rendered +committed):\n%s", manifests, diff)
	}

	// Rendering twice gives the same bytes: nothing random or dated.
	again := filepath.Join(t.TempDir(), "irsa.yaml")
	if _, err := run(t, script, again); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(again); !bytes.Equal(b, want) {
		t.Fatal("two renderings of the manifests differ")
	}

	// The plain manifests are the external-certificate mode: no Secret of
	// key material, no caBundle, and a Namespace first so that
	// `kubectl apply -f` works on an empty cluster.
	objs := decodeAll(t, string(got))
	if objs[0].Kind != "Namespace" || objs[0].Name != namespace {
		t.Errorf("first object %s/%s, want Namespace/%s", objs[0].Kind, objs[0].Name, namespace)
	}
	for _, o := range objs {
		if o.Kind == "Secret" {
			t.Errorf("the plain manifests hold Secret %s", o.Name)
		}
	}
	mwc := typed[admissionv1.MutatingWebhookConfiguration](t, objs, "MutatingWebhookConfiguration", "irsa-webhook")
	if cb := mwc.Webhooks[0].ClientConfig.CABundle; len(cb) != 0 {
		t.Errorf("the plain manifests carry a caBundle of %d bytes", len(cb))
	}
}

func TestLint(t *testing.T) {
	h := helm(t)
	for _, set := range [][]string{
		nil,
		{"certManager.enabled=true", "serviceMonitor.enabled=true"},
		{"certManager.enabled=true", "certManager.issuerRef.name=corp-ca", "certManager.issuerRef.kind=ClusterIssuer"},
		{"certificates.mode=external", "createNamespace=true"},
		{"server.persistence.enabled=false", "webhook.podDisruptionBudget.enabled=false"},
		{"server.enabled=false"},
		{"webhook.enabled=false"},
	} {
		args := []string{"lint", "--strict", chartDir, "--namespace", namespace}
		for _, s := range set {
			args = append(args, "--set", s)
		}
		if out, err := run(t, h, args...); err != nil {
			t.Errorf("%v\n%s", err, out)
		}
	}
}

// object is one rendered document.
type object struct {
	Kind, Name string
	Map        map[string]any
	// Typed is the object decoded into its API type, nil for kinds the
	// client-go scheme does not know (cert-manager's, the Prometheus
	// Operator's).
	Typed runtime.Object
}

// strict decodes as kubectl and the API server's strict field validation
// do: an unknown field, a duplicate one or one in the wrong case (a
// misspelled or misplaced key) is an error.
var strict = serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict).UniversalDeserializer()

// decodeAll splits a multi-document YAML stream into objects.
func decodeAll(t *testing.T, stream string) []object {
	t.Helper()
	dec := yaml.NewDecoder(strings.NewReader(stream))
	var out []object
	for {
		var m map[string]any
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("rendered YAML: %v", err)
		}
		if m == nil {
			continue
		}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		meta, _ := m["metadata"].(map[string]any)
		kind, _ := m["kind"].(string)
		name, _ := meta["name"].(string)
		if kind == "" || name == "" {
			t.Fatalf("a document without kind or name: %s", b)
		}
		o := object{Kind: kind, Name: name, Map: m}
		o.Typed, _, err = strict.Decode(b, nil, nil)
		switch {
		case runtime.IsNotRegisteredError(err):
			o.Typed = nil
		case err != nil:
			t.Fatalf("%s %s does not decode strictly: %v", kind, name, err)
		}
		out = append(out, o)
	}
	return out
}

// typed returns the object kind/name as its API type.
func typed[T any](t *testing.T, objs []object, kind, name string) *T {
	t.Helper()
	for _, o := range objs {
		if o.Kind != kind || o.Name != name {
			continue
		}
		v, ok := any(o.Typed).(*T)
		if !ok {
			t.Fatalf("%s %s decoded as %T", kind, name, o.Typed)
		}
		return v
	}
	t.Fatalf("no %s %s among %s", kind, name, kinds(objs))
	return nil
}

func kinds(objs []object) string {
	var s []string
	for _, o := range objs {
		s = append(s, o.Kind+"/"+o.Name)
	}
	return strings.Join(s, ", ")
}

func has(objs []object, kind, name string) bool {
	return slices.ContainsFunc(objs, func(o object) bool { return o.Kind == kind && o.Name == name })
}

// render runs helm template with --set values and value files.
func render(t *testing.T, set []string, files ...string) ([]object, error) {
	t.Helper()
	args := []string{"template", "irsa", chartDir, "--namespace", namespace, "--kube-version", "1.37.2"}
	for _, s := range set {
		args = append(args, "--set", s)
	}
	for _, f := range files {
		args = append(args, "--values", f)
	}
	out, err := run(t, helm(t), args...)
	if err != nil {
		return nil, err
	}
	return decodeAll(t, out), nil
}

func mustRender(t *testing.T, set []string, files ...string) []object {
	t.Helper()
	objs, err := render(t, set, files...)
	if err != nil {
		t.Fatal(err)
	}
	// Every object but the CRDs' is of a Kubernetes API type.
	for _, o := range objs {
		switch o.Kind {
		case "Issuer", "Certificate", "ServiceMonitor", "PodMonitor":
			// CRDs: checked field by field where they matter.
		default:
			if o.Typed == nil {
				t.Errorf("%s %s is of no known API type", o.Kind, o.Name)
			}
		}
	}
	return objs
}

func container(t *testing.T, d *appsv1.Deployment) corev1.Container {
	t.Helper()
	if n := len(d.Spec.Template.Spec.Containers); n != 1 {
		t.Fatalf("deployment %s has %d containers", d.Name, n)
	}
	return d.Spec.Template.Spec.Containers[0]
}

func TestDefaultRendering(t *testing.T) {
	objs := mustRender(t, nil)
	wantObjects := []string{
		"PodDisruptionBudget/irsa-webhook", "ServiceAccount/irsa", "ServiceAccount/irsa-webhook", "Secret/irsa-webhook-tls",
		"ConfigMap/irsa", "PersistentVolumeClaim/irsa-data", "ClusterRole/irsa-webhook", "ClusterRoleBinding/irsa-webhook",
		"Service/irsa", "Service/irsa-webhook", "Deployment/irsa", "Deployment/irsa-webhook", "MutatingWebhookConfiguration/irsa-webhook",
	}
	var got []string
	for _, o := range objs {
		got = append(got, o.Kind+"/"+o.Name)
	}
	if diff := cmp.Diff(wantObjects, got); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}

	t.Run("server", func(t *testing.T) {
		d := typed[appsv1.Deployment](t, objs, "Deployment", "irsa")
		c := container(t, d)
		wantArgs := []string{"up", "--listen=0.0.0.0:4590", "--data-dir=/var/lib/irsa", "--config=/etc/irsa/config.yaml", "--account-id=000000000000", "--region=us-east-1", "--log-level=info"}
		if diff := cmp.Diff(wantArgs, c.Args); diff != "" {
			t.Errorf("args (-want +got):\n%s", diff)
		}
		if *d.Spec.Replicas != 1 || d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
			t.Errorf("replicas %d strategy %s: the embedded store needs one replica, recreated", *d.Spec.Replicas, d.Spec.Strategy.Type)
		}
		if c.LivenessProbe.HTTPGet.Path != "/healthz" || c.ReadinessProbe.HTTPGet.Path != "/readyz" ||
			c.LivenessProbe.HTTPGet.Port.StrVal != "http" || c.Ports[0].Name != "http" || c.Ports[0].ContainerPort != 4590 {
			t.Errorf("probes %+v %+v ports %+v", c.LivenessProbe.HTTPGet, c.ReadinessProbe.HTTPGet, c.Ports)
		}
		checkHardened(t, d)
		mounts := map[string]string{}
		for _, m := range c.VolumeMounts {
			mounts[m.Name] = m.MountPath
		}
		if diff := cmp.Diff(map[string]string{"data": "/var/lib/irsa", "config": "/etc/irsa", "tmp": "/tmp"}, mounts); diff != "" {
			t.Errorf("mounts (-want +got):\n%s", diff)
		}
		for _, v := range d.Spec.Template.Spec.Volumes {
			switch v.Name {
			case "data":
				if v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != "irsa-data" {
					t.Errorf("data volume %+v, want the claim irsa-data", v.VolumeSource)
				}
			case "config":
				if v.ConfigMap == nil || v.ConfigMap.Name != "irsa" {
					t.Errorf("config volume %+v", v.VolumeSource)
				}
			}
		}
		svc := typed[corev1.Service](t, objs, "Service", "irsa")
		if p := svc.Spec.Ports[0]; p.Port != 4590 || p.TargetPort.StrVal != "http" {
			t.Errorf("service port %+v", p)
		}
		if diff := cmp.Diff(d.Spec.Selector.MatchLabels, svc.Spec.Selector); diff != "" {
			t.Errorf("the server Service does not select the server's pods (-deployment +service):\n%s", diff)
		}
		cm := typed[corev1.ConfigMap](t, objs, "ConfigMap", "irsa")
		if _, err := config.Parse([]byte(cm.Data["config.yaml"])); err != nil {
			t.Errorf("the default config.yaml does not parse: %v", err)
		}
	})

	t.Run("webhook", func(t *testing.T) {
		d := typed[appsv1.Deployment](t, objs, "Deployment", "irsa-webhook")
		c := container(t, d)
		wantArgs := []string{"webhook", "--listen=0.0.0.0:8443", "--tls-cert=/etc/webhook/certs/tls.crt", "--tls-key=/etc/webhook/certs/tls.key",
			"--annotation-prefix=eks.amazonaws.com", "--token-audience=sts.amazonaws.com", "--token-expiration=86400",
			"--token-mount-path=/var/run/secrets/eks.amazonaws.com/serviceaccount", "--sts-endpoint-url=http://irsa.irsa.svc:4590", "--sa-lookup-grace-period=2s", "--log-level=info"}
		if diff := cmp.Diff(wantArgs, c.Args); diff != "" {
			t.Errorf("args (-want +got):\n%s", diff)
		}
		if *d.Spec.Replicas != 2 || d.Spec.Strategy.RollingUpdate.MaxUnavailable.IntVal != 0 {
			t.Errorf("replicas %d, rolling update %+v", *d.Spec.Replicas, d.Spec.Strategy.RollingUpdate)
		}
		if g := c.ReadinessProbe.HTTPGet; g.Path != "/readyz" || g.Scheme != corev1.URISchemeHTTPS || g.Port.StrVal != "https" {
			t.Errorf("readiness probe %+v", g)
		}
		if g := c.LivenessProbe.HTTPGet; g.Path != "/healthz" || g.Scheme != corev1.URISchemeHTTPS {
			t.Errorf("liveness probe %+v", g)
		}
		checkHardened(t, d)
		// The certificate files come from the webhook's Secret, mounted
		// whole so that renewals reach the process.
		if len(c.VolumeMounts) != 1 || c.VolumeMounts[0].MountPath != "/etc/webhook/certs" || c.VolumeMounts[0].SubPath != "" {
			t.Errorf("mounts %+v", c.VolumeMounts)
		}
		if v := d.Spec.Template.Spec.Volumes[0]; v.Name != c.VolumeMounts[0].Name || v.Secret == nil || v.Secret.SecretName != "irsa-webhook-tls" {
			t.Errorf("volume %+v", v)
		}
		if d.Spec.Template.Labels["eks.amazonaws.com/skip-pod-identity-webhook"] == "" {
			t.Error("the webhook's own pods are not excluded from it")
		}

		svc := typed[corev1.Service](t, objs, "Service", "irsa-webhook")
		if p := svc.Spec.Ports[0]; p.Port != 443 || p.TargetPort.StrVal != "https" || c.Ports[0].Name != "https" || c.Ports[0].ContainerPort != 8443 {
			t.Errorf("service port %+v, container ports %+v", p, c.Ports)
		}
		if diff := cmp.Diff(d.Spec.Selector.MatchLabels, svc.Spec.Selector); diff != "" {
			t.Errorf("the webhook Service does not select the webhook's pods (-deployment +service):\n%s", diff)
		}
		pdb := typed[policyv1.PodDisruptionBudget](t, objs, "PodDisruptionBudget", "irsa-webhook")
		if diff := cmp.Diff(d.Spec.Selector.MatchLabels, pdb.Spec.Selector.MatchLabels); diff != "" || pdb.Spec.MinAvailable.IntVal != 1 {
			t.Errorf("PDB minAvailable %v, selector (-deployment +pdb):\n%s", pdb.Spec.MinAvailable, diff)
		}

		role := typed[rbacv1.ClusterRole](t, objs, "ClusterRole", "irsa-webhook")
		wantRules := []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"serviceaccounts"}, Verbs: []string{"get", "list", "watch"}}}
		if diff := cmp.Diff(wantRules, role.Rules); diff != "" {
			t.Errorf("rules (-want +got):\n%s", diff)
		}
		binding := typed[rbacv1.ClusterRoleBinding](t, objs, "ClusterRoleBinding", "irsa-webhook")
		wantSubjects := []rbacv1.Subject{{Kind: "ServiceAccount", Name: d.Spec.Template.Spec.ServiceAccountName, Namespace: namespace}}
		if diff := cmp.Diff(wantSubjects, binding.Subjects); diff != "" || binding.RoleRef.Name != role.Name || binding.RoleRef.Kind != "ClusterRole" {
			t.Errorf("binding %+v, subjects (-want +got):\n%s", binding.RoleRef, diff)
		}
	})

	t.Run("admission", func(t *testing.T) {
		mwc := typed[admissionv1.MutatingWebhookConfiguration](t, objs, "MutatingWebhookConfiguration", "irsa-webhook")
		if len(mwc.Webhooks) != 1 {
			t.Fatalf("%d webhooks", len(mwc.Webhooks))
		}
		w := mwc.Webhooks[0]
		ignore, none, ifNeeded, equivalent := admissionv1.Ignore, admissionv1.SideEffectClassNone, admissionv1.IfNeededReinvocationPolicy, admissionv1.Equivalent
		path, port, timeout := "/mutate", int32(443), int32(10)
		namespaced := admissionv1.NamespacedScope
		want := admissionv1.MutatingWebhook{
			Name:                    "pod-identity.irsa.dev",
			AdmissionReviewVersions: []string{"v1", "v1beta1"},
			SideEffects:             &none,
			FailurePolicy:           &ignore,
			TimeoutSeconds:          &timeout,
			ReinvocationPolicy:      &ifNeeded,
			MatchPolicy:             &equivalent,
			ClientConfig: admissionv1.WebhookClientConfig{
				Service:  &admissionv1.ServiceReference{Name: "irsa-webhook", Namespace: namespace, Path: &path, Port: &port},
				CABundle: w.ClientConfig.CABundle, // checked below
			},
			Rules: []admissionv1.RuleWithOperations{{
				Operations: []admissionv1.OperationType{admissionv1.Create},
				Rule:       admissionv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}, Scope: &namespaced},
			}},
			ObjectSelector: w.ObjectSelector, NamespaceSelector: w.NamespaceSelector, // checked below
		}
		if diff := cmp.Diff(want, w); diff != "" {
			t.Errorf("webhook (-want +got):\n%s", diff)
		}
		if got := fmt.Sprint(w.ObjectSelector.MatchExpressions); got != "[{eks.amazonaws.com/skip-pod-identity-webhook DoesNotExist []}]" {
			t.Errorf("objectSelector %s", got)
		}
		if got := fmt.Sprint(w.NamespaceSelector.MatchExpressions); got != "[{kubernetes.io/metadata.name NotIn [irsa]}]" {
			t.Errorf("namespaceSelector %s", got)
		}

		// Helm mode: the Secret holds a CA and a serving certificate for
		// the webhook Service's DNS names, and the caBundle is that CA.
		sec := typed[corev1.Secret](t, objs, "Secret", "irsa-webhook-tls")
		if sec.Type != corev1.SecretTypeTLS {
			t.Errorf("secret type %s", sec.Type)
		}
		if !bytes.Equal(w.ClientConfig.CABundle, sec.Data["ca.crt"]) {
			t.Error("the caBundle is not the Secret's ca.crt")
		}
		verifyServing(t, sec.Data["ca.crt"], sec.Data["tls.crt"], sec.Data["tls.key"])
	})
}

// verifyServing checks that cert, signed by ca, is valid now for every name
// the API server may use for the webhook Service.
func verifyServing(t *testing.T, caPEM, certPEM, keyPEM []byte) {
	t.Helper()
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		t.Fatal("ca.crt holds no certificate")
	}
	block, _ := pem.Decode(certPEM)
	if block == nil {
		t.Fatal("tls.crt holds no PEM block")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"irsa-webhook.irsa.svc", "irsa-webhook.irsa.svc.cluster.local"} {
		if _, err := cert.Verify(x509.VerifyOptions{DNSName: name, Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
			t.Errorf("serving certificate for %s: %v", name, err)
		}
	}
	if k, _ := pem.Decode(keyPEM); k == nil || !strings.HasSuffix(k.Type, "PRIVATE KEY") {
		t.Error("tls.key holds no private key")
	}
}

// checkHardened checks the pod and container security settings every irsa
// pod runs with.
func checkHardened(t *testing.T, d *appsv1.Deployment) {
	t.Helper()
	pod := d.Spec.Template.Spec.SecurityContext
	c := container(t, d)
	sc := c.SecurityContext
	switch {
	case pod == nil || pod.RunAsNonRoot == nil || !*pod.RunAsNonRoot || pod.RunAsUser == nil || *pod.RunAsUser == 0:
		t.Errorf("%s: pod security context %+v, want non-root", d.Name, pod)
	case pod.SeccompProfile == nil || pod.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault:
		t.Errorf("%s: seccomp profile %+v", d.Name, pod.SeccompProfile)
	case sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
		t.Errorf("%s: the root file system is writable", d.Name)
	case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
		t.Errorf("%s: privilege escalation allowed", d.Name)
	case sc.Capabilities == nil || fmt.Sprint(sc.Capabilities.Drop) != "[ALL]":
		t.Errorf("%s: capabilities %+v", d.Name, sc.Capabilities)
	case c.Resources.Requests.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero():
		t.Errorf("%s: resources %+v", d.Name, c.Resources)
	}
}

func TestCertificateModes(t *testing.T) {
	t.Run("cert-manager with the chart's own CA", func(t *testing.T) {
		objs := mustRender(t, []string{"certManager.enabled=true"})
		if has(objs, "Secret", "irsa-webhook-tls") {
			t.Error("a Secret is rendered although cert-manager makes it")
		}
		mwc := typed[admissionv1.MutatingWebhookConfiguration](t, objs, "MutatingWebhookConfiguration", "irsa-webhook")
		if got := mwc.Annotations["cert-manager.io/inject-ca-from"]; got != "irsa/irsa-webhook" {
			t.Errorf("inject-ca-from %q", got)
		}
		if len(mwc.Webhooks[0].ClientConfig.CABundle) != 0 {
			t.Error("a caBundle is rendered although cainjector writes it")
		}
		cert := crd(t, objs, "Certificate", "irsa-webhook")
		wantSpec := map[string]any{
			"secretName":  "irsa-webhook-tls",
			"dnsNames":    []any{"irsa-webhook", "irsa-webhook.irsa", "irsa-webhook.irsa.svc", "irsa-webhook.irsa.svc.cluster.local"},
			"duration":    "2160h",
			"renewBefore": "360h",
			"privateKey":  map[string]any{"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
			"issuerRef":   map[string]any{"name": "irsa-webhook-ca", "kind": "Issuer", "group": "cert-manager.io"},
		}
		if diff := cmp.Diff(wantSpec, cert["spec"]); diff != "" {
			t.Errorf("Certificate spec (-want +got):\n%s", diff)
		}
		// The chain: self-signed Issuer → CA Certificate → CA Issuer.
		ca := crd(t, objs, "Certificate", "irsa-webhook-ca")["spec"].(map[string]any)
		if ca["isCA"] != true || ca["secretName"] != "irsa-webhook-ca" || ca["issuerRef"].(map[string]any)["name"] != "irsa-webhook-selfsigned" {
			t.Errorf("CA certificate %v", ca)
		}
		if _, ok := crd(t, objs, "Issuer", "irsa-webhook-selfsigned")["spec"].(map[string]any)["selfSigned"]; !ok {
			t.Error("the self-signed Issuer is not self-signed")
		}
		if got := crd(t, objs, "Issuer", "irsa-webhook-ca")["spec"]; fmt.Sprint(got) != "map[ca:map[secretName:irsa-webhook-ca]]" {
			t.Errorf("CA Issuer spec %v", got)
		}
	})

	t.Run("cert-manager with the operator's issuer", func(t *testing.T) {
		objs := mustRender(t, []string{"certManager.enabled=true", "certManager.issuerRef.name=corp-ca", "certManager.issuerRef.kind=ClusterIssuer"})
		for _, name := range []string{"irsa-webhook-selfsigned", "irsa-webhook-ca"} {
			if has(objs, "Issuer", name) {
				t.Errorf("Issuer %s rendered with an issuerRef", name)
			}
		}
		ref := crd(t, objs, "Certificate", "irsa-webhook")["spec"].(map[string]any)["issuerRef"]
		if diff := cmp.Diff(map[string]any{"name": "corp-ca", "kind": "ClusterIssuer", "group": "cert-manager.io"}, ref); diff != "" {
			t.Errorf("issuerRef (-want +got):\n%s", diff)
		}
	})

	t.Run("external with a CA bundle", func(t *testing.T) {
		bundle := base64.StdEncoding.EncodeToString([]byte("-----BEGIN CERTIFICATE-----\n...\n"))
		objs := mustRender(t, []string{"certificates.mode=external", "certificates.caBundle=" + bundle})
		if has(objs, "Secret", "irsa-webhook-tls") || has(objs, "Certificate", "irsa-webhook") {
			t.Errorf("external mode renders certificate objects: %s", kinds(objs))
		}
		mwc := typed[admissionv1.MutatingWebhookConfiguration](t, objs, "MutatingWebhookConfiguration", "irsa-webhook")
		if got := base64.StdEncoding.EncodeToString(mwc.Webhooks[0].ClientConfig.CABundle); got != bundle {
			t.Errorf("caBundle %q, want %q", got, bundle)
		}
	})

	t.Run("helm mode generates a new pair each rendering", func(t *testing.T) {
		// What `helm upgrade` keeps is the pair already in the cluster
		// (lookup); without a cluster every rendering is fresh, which is
		// why the plain manifests use the external mode.
		a := typed[corev1.Secret](t, mustRender(t, nil), "Secret", "irsa-webhook-tls")
		b := typed[corev1.Secret](t, mustRender(t, nil), "Secret", "irsa-webhook-tls")
		if bytes.Equal(a.Data["tls.key"], b.Data["tls.key"]) {
			t.Error("two renderings share a private key")
		}
	})
}

// crd returns a rendered object whose type the tests do not import.
func crd(t *testing.T, objs []object, kind, name string) map[string]any {
	t.Helper()
	for _, o := range objs {
		if o.Kind == kind && o.Name == name {
			return o.Map
		}
	}
	t.Fatalf("no %s %s among %s", kind, name, kinds(objs))
	return nil
}

func TestValues(t *testing.T) {
	dir := t.TempDir()
	values := filepath.Join(dir, "values.yaml")
	// A declarative config with irsa's own placeholders, which Helm must
	// pass through untouched, and a trusted CA.
	err := os.WriteFile(values, []byte(`
fullnameOverride: idp
image: {repository: registry.example/irsa, tag: v9.9.9, pullPolicy: Always}
server:
  accountId: "111122223333"
  issuerUrl: https://oidc.example.com/id/PROD
  region: eu-west-1
  rootCredentialsSecret: irsa-root
  trustCA: |
    -----BEGIN CERTIFICATE-----
    MIIB
    -----END CERTIFICATE-----
  persistence: {enabled: false}
  config:
    oidcProviders:
      - url: https://kubernetes.example.com:6443
        clientIds: [sts.amazonaws.com]
    roles:
      - name: s3-reader
        trustPolicy:
          Version: "2012-10-17"
          Statement:
            - Effect: Allow
              Principal: {Federated: "arn:aws:iam::{{accountId}}:oidc-provider/{{issuer}}"}
              Action: sts:AssumeRoleWithWebIdentity
              Condition:
                StringEquals: {"{{issuer}}:sub": "system:serviceaccount:production:s3-reader"}
webhook:
  awsDefaultRegion: eu-west-1
  stsRegionalEndpoint: true
  tokenExpiration: 3600
  admission:
    failurePolicy: Fail
    timeoutSeconds: 5
    excludeReleaseNamespace: false
serviceMonitor: {enabled: true, labels: {release: prom}}
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	objs := mustRender(t, nil, values)

	server := typed[appsv1.Deployment](t, objs, "Deployment", "idp")
	c := container(t, server)
	if c.Image != "registry.example/irsa:v9.9.9" || c.ImagePullPolicy != corev1.PullAlways {
		t.Errorf("image %s %s", c.Image, c.ImagePullPolicy)
	}
	wantArgs := []string{"up", "--listen=0.0.0.0:4590", "--data-dir=/var/lib/irsa", "--config=/etc/irsa/config.yaml", "--account-id=111122223333",
		"--region=eu-west-1", "--log-level=info", "--issuer-url=https://oidc.example.com/id/PROD", "--trust-ca=/etc/irsa/trust-ca.pem"}
	if diff := cmp.Diff(wantArgs, c.Args); diff != "" {
		t.Errorf("server args (-want +got):\n%s", diff)
	}
	if len(c.Env) != 2 || c.Env[0].ValueFrom.SecretKeyRef.Name != "irsa-root" || c.Env[1].Name != "IRSA_ROOT_SECRET_ACCESS_KEY" {
		t.Errorf("env %+v", c.Env)
	}
	if has(objs, "PersistentVolumeClaim", "idp-data") {
		t.Error("a claim is rendered with persistence disabled")
	}
	if v := server.Spec.Template.Spec.Volumes[0]; v.Name != "data" || v.EmptyDir == nil {
		t.Errorf("data volume %+v, want an emptyDir", v)
	}
	cm := typed[corev1.ConfigMap](t, objs, "ConfigMap", "idp")
	doc, err := config.Parse([]byte(cm.Data["config.yaml"]))
	if err != nil {
		t.Fatalf("config.yaml from the values does not parse: %v\n%s", err, cm.Data["config.yaml"])
	}
	if len(doc.Roles) != 1 || len(doc.OIDCProviders) != 1 {
		t.Errorf("config %+v", doc)
	}
	if !strings.Contains(cm.Data["config.yaml"], "'{{issuer}}:sub'") && !strings.Contains(cm.Data["config.yaml"], `"{{issuer}}:sub"`) {
		t.Errorf("irsa's placeholders did not pass through Helm:\n%s", cm.Data["config.yaml"])
	}
	if !strings.HasPrefix(cm.Data["trust-ca.pem"], "-----BEGIN CERTIFICATE-----\nMIIB\n") {
		t.Errorf("trust-ca.pem %q", cm.Data["trust-ca.pem"])
	}
	if server.Spec.Template.Annotations["checksum/config"] == "" {
		t.Error("no config checksum: a changed config would not roll the server")
	}

	hook := container(t, typed[appsv1.Deployment](t, objs, "Deployment", "idp-webhook"))
	for _, want := range []string{"--aws-default-region=eu-west-1", "--sts-regional-endpoint=true", "--token-expiration=3600", "--sts-endpoint-url=http://idp.irsa.svc:4590"} {
		if !slices.Contains(hook.Args, want) {
			t.Errorf("webhook args %q lack %s", hook.Args, want)
		}
	}
	mwc := typed[admissionv1.MutatingWebhookConfiguration](t, objs, "MutatingWebhookConfiguration", "idp-webhook")
	w := mwc.Webhooks[0]
	if *w.FailurePolicy != admissionv1.Fail || *w.TimeoutSeconds != 5 || w.NamespaceSelector != nil {
		t.Errorf("failurePolicy %s timeout %d namespaceSelector %+v", *w.FailurePolicy, *w.TimeoutSeconds, w.NamespaceSelector)
	}
	if w.ClientConfig.Service.Name != "idp-webhook" {
		t.Errorf("service %s", w.ClientConfig.Service.Name)
	}
	for _, name := range []string{"idp", "idp-webhook"} {
		sm := crd(t, objs, "ServiceMonitor", name)
		if sm["metadata"].(map[string]any)["labels"].(map[string]any)["release"] != "prom" {
			t.Errorf("ServiceMonitor %s lacks the extra label", name)
		}
	}
	ep := crd(t, objs, "ServiceMonitor", "idp-webhook")["spec"].(map[string]any)["endpoints"].([]any)[0].(map[string]any)
	if ep["scheme"] != "https" || ep["port"] != "https" || fmt.Sprint(ep["tlsConfig"]) != "map[ca:map[secret:map[key:ca.crt name:idp-webhook-tls]] serverName:idp-webhook.irsa.svc]" {
		t.Errorf("webhook scrape endpoint %v", ep)
	}
}

func TestComponentsAlone(t *testing.T) {
	t.Run("webhook without the server injects no endpoint", func(t *testing.T) {
		objs := mustRender(t, []string{"server.enabled=false"})
		for _, o := range objs {
			if o.Map["metadata"].(map[string]any)["labels"].(map[string]any)["app.kubernetes.io/component"] == "server" {
				t.Errorf("server object %s/%s rendered", o.Kind, o.Name)
			}
		}
		args := container(t, typed[appsv1.Deployment](t, objs, "Deployment", "irsa-webhook")).Args
		if slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--sts-endpoint-url") }) {
			t.Errorf("args %q inject an STS endpoint", args)
		}
	})
	t.Run("an explicit STS endpoint", func(t *testing.T) {
		objs := mustRender(t, []string{"server.enabled=false", "webhook.stsEndpointUrl=https://sts.example.com"})
		args := container(t, typed[appsv1.Deployment](t, objs, "Deployment", "irsa-webhook")).Args
		if !slices.Contains(args, "--sts-endpoint-url=https://sts.example.com") {
			t.Errorf("args %q", args)
		}
	})
	t.Run("server without the webhook", func(t *testing.T) {
		objs := mustRender(t, []string{"webhook.enabled=false"})
		for _, o := range objs {
			if strings.Contains(o.Name, "webhook") {
				t.Errorf("webhook object %s/%s rendered", o.Kind, o.Name)
			}
		}
		if !has(objs, "Deployment", "irsa") {
			t.Error("no server")
		}
	})
}

func TestInvalidValues(t *testing.T) {
	tests := []struct {
		set  []string
		want string
	}{
		{[]string{"certificates.mode=selfsigned"}, `certificates.mode must be helm or external (or set certManager.enabled=true), got "selfsigned"`},
		{[]string{"webhook.admission.failurePolicy=Deny"}, `webhook.admission.failurePolicy must be Ignore or Fail, got "Deny"`},
		{[]string{"webhook.admission.reinvocationPolicy=Always"}, `webhook.admission.reinvocationPolicy must be IfNeeded or Never, got "Always"`},
		{[]string{"webhook.admission.timeoutSeconds=31"}, "webhook.admission.timeoutSeconds must be between 1 and 30, got 31"},
		{[]string{"webhook.tokenExpiration=599"}, "webhook.tokenExpiration must be at least 600 seconds, got 599"},
		{[]string{"server.accountId=12345"}, `server.accountId must be 12 digits, got "12345"`},
	}
	for _, tt := range tests {
		t.Run(tt.set[0], func(t *testing.T) {
			_, err := render(t, tt.set)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

// renderNotes renders NOTES.txt, which `helm template` leaves out, by
// wrapping it in a ConfigMap of a copy of the chart.
func renderNotes(t *testing.T, set []string) string {
	t.Helper()
	root := moduleRoot(t)
	dir := filepath.Join(t.TempDir(), "irsa")
	if err := os.CopyFS(dir, os.DirFS(filepath.Join(root, chartDir))); err != nil {
		t.Fatal(err)
	}
	notes, err := os.ReadFile(filepath.Join(dir, "templates", "NOTES.txt"))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"NOTES.txt":          "",
		"_notes_test.tpl":    `{{- define "irsa.test.notes" -}}` + string(notes) + `{{- end }}`,
		"zz-notes-test.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n  notes: {{ include \"irsa.test.notes\" . | toJson }}\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, "templates", name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{"template", "irsa", dir, "--namespace", namespace, "--show-only", "templates/zz-notes-test.yaml"}
	for _, s := range set {
		args = append(args, "--set", s)
	}
	out, err := run(t, helm(t), args...)
	if err != nil {
		t.Fatal(err)
	}
	cm := typed[corev1.ConfigMap](t, decodeAll(t, out), "ConfigMap", "notes")
	return cm.Data["notes"]
}

func TestNotes(t *testing.T) {
	tests := []struct {
		set           []string
		want, notWant []string
	}{
		{
			set: nil,
			want: []string{
				"http://irsa.irsa.svc:4590",
				"kubectl -n irsa port-forward svc/irsa 4590:4590 &",
				"kubectl -n irsa exec deploy/irsa -- cat /var/lib/irsa/root-credentials > irsa-root-credentials",
				"--clusterrole=system:service-account-issuer-discovery --group=system:unauthenticated",
				"aws iam create-open-id-connect-provider --url \"$ISSUER\" --client-id-list sts.amazonaws.com",
				"kubectl annotate serviceaccount -n NAMESPACE NAME eks.amazonaws.com/role-arn=arn:aws:iam::000000000000:role/ROLE",
				"irsa whoami",
				"Certificates were generated by Helm (Secret irsa/irsa-webhook-tls",
			},
			notWant: []string{"WARNING", "caBundle yet"},
		},
		{
			set:     []string{"certificates.mode=external", "server.rootCredentialsSecret=root", "server.persistence.enabled=false"},
			want:    []string{"kubectl -n irsa create secret generic irsa-webhook-tls", "pods are created WITHOUT credentials", `\"path\":\"/webhooks/0/clientConfig/caBundle\"`, "get secret root -o jsonpath='{.data.IRSA_ROOT_ACCESS_KEY_ID}'", "WARNING: server.persistence.enabled=false"},
			notWant: []string{"root-credentials"},
		},
		{
			set:     []string{"certManager.enabled=true", "server.enabled=false"},
			want:    []string{"Certificates are issued by cert-manager (Certificate irsa/irsa-webhook)", "kubectl annotate serviceaccount"},
			notWant: []string{"port-forward", "4590"},
		},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.set, ","), func(t *testing.T) {
			notes := renderNotes(t, tt.set)
			for _, w := range tt.want {
				if !strings.Contains(notes, w) {
					t.Errorf("NOTES lack %q:\n%s", w, notes)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(notes, w) {
					t.Errorf("NOTES contain %q:\n%s", w, notes)
				}
			}
		})
	}
}
