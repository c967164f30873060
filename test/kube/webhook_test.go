//go:build linux

package kube

import (
	"context"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	annotationPrefix   = "eks.amazonaws.com"
	roleARNAnnotation  = annotationPrefix + "/role-arn"
	tokenVolumeName    = "aws-iam-token"
	tokenMountPath     = "/var/run/secrets/eks.amazonaws.com/serviceaccount"
	tokenFile          = tokenMountPath + "/token"
	defaultExpiration  = int64(86400)
	kubeAPIAccess      = "kube-api-access-*" // the ServiceAccount admission plugin's volume, suffix elided
	kubeAPIAccessMount = "/var/run/secrets/kubernetes.io/serviceaccount"
)

func roleARN(name string) string { return "arn:aws:iam::" + accountID + ":role/" + name }

// testPod is a pod of one container running as serviceAccount. Nothing
// schedules or runs it: there is no scheduler or kubelet, and admission is
// what is under test.
func testPod(name, serviceAccount string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{
			ServiceAccountName: serviceAccount,
			Containers:         []corev1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10"}},
		},
	}
}

func envValue(env []corev1.EnvVar, name string) string {
	for _, e := range env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

func podEnvNames(pod *corev1.Pod) []string {
	if pod == nil {
		return nil
	}
	var names []string
	for _, c := range append(append([]corev1.Container{}, pod.Spec.InitContainers...), pod.Spec.Containers...) {
		for _, e := range c.Env {
			names = append(names, c.Name+":"+e.Name)
		}
	}
	return names
}

// podView is what the webhook is responsible for in a stored pod: the
// volumes (the ServiceAccount admission plugin's kube-api-access-XXXXX
// volume reduced to its name pattern) and each container's env and mounts.
type podView struct {
	Volumes        []corev1.Volume
	InitContainers []containerView
	Containers     []containerView
}

type containerView struct {
	Name   string
	Env    []corev1.EnvVar
	Mounts []corev1.VolumeMount
}

var apiAccessName = regexp.MustCompile(`^kube-api-access-[a-z0-9]{5}$`)

func viewPod(pod *corev1.Pod) podView {
	var v podView
	for _, vol := range pod.Spec.Volumes {
		if apiAccessName.MatchString(vol.Name) {
			vol = corev1.Volume{Name: kubeAPIAccess}
		}
		v.Volumes = append(v.Volumes, vol)
	}
	view := func(cs []corev1.Container) []containerView {
		var out []containerView
		for _, c := range cs {
			cv := containerView{Name: c.Name, Env: c.Env}
			for _, m := range c.VolumeMounts {
				if apiAccessName.MatchString(m.Name) {
					m.Name = kubeAPIAccess
				}
				cv.Mounts = append(cv.Mounts, m)
			}
			out = append(out, cv)
		}
		return out
	}
	v.InitContainers = view(pod.Spec.InitContainers)
	v.Containers = view(pod.Spec.Containers)
	return v
}

// Expected pieces of a mutated pod.
func tokenVolume(audience string, expiration int64) corev1.Volume {
	mode := int32(0o644) // the API server's default for projected volumes
	return corev1.Volume{Name: tokenVolumeName, VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
		Sources:     []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Audience: audience, ExpirationSeconds: &expiration, Path: "token"}}},
		DefaultMode: &mode,
	}}}
}

var (
	apiAccessVolume = corev1.Volume{Name: kubeAPIAccess}
	apiAccessMount  = corev1.VolumeMount{Name: kubeAPIAccess, ReadOnly: true, MountPath: kubeAPIAccessMount}
	tokenMount      = corev1.VolumeMount{Name: tokenVolumeName, ReadOnly: true, MountPath: tokenMountPath}
)

// injected is the env the webhook appends, in its documented order
// (internal/webhook/doc.go): region pair, role and token file, then the
// STS endpoint.
func injected(e *env, region, role, tokenPath string) []corev1.EnvVar {
	var out []corev1.EnvVar
	if region != "" {
		out = append(out, corev1.EnvVar{Name: "AWS_DEFAULT_REGION", Value: region}, corev1.EnvVar{Name: "AWS_REGION", Value: region})
	}
	return append(out,
		corev1.EnvVar{Name: "AWS_ROLE_ARN", Value: roleARN(role)},
		corev1.EnvVar{Name: "AWS_WEB_IDENTITY_TOKEN_FILE", Value: tokenPath},
		corev1.EnvVar{Name: "AWS_ENDPOINT_URL_STS", Value: e.irsa.URL},
	)
}

func envs(pairs ...string) []corev1.EnvVar {
	var out []corev1.EnvVar
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, corev1.EnvVar{Name: pairs[i], Value: pairs[i+1]})
	}
	return out
}

// TestWebhookMutatesStoredPods creates ServiceAccounts and pods through
// the real API server, which calls `irsa webhook` over TLS, and compares
// the pods as stored (read back) with what the webhook documents: the
// EKS webhook's env, volume and mount, and irsa's additions (the STS
// endpoint, the per-ServiceAccount region, Windows by node affinity,
// envFrom).
func TestWebhookMutatesStoredPods(t *testing.T) {
	e := sharedEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const ns = "mutation"
	if err := e.cluster.createNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	windowsAffinity := &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
		NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "kubernetes.io/os", Operator: corev1.NodeSelectorOpIn, Values: []string{"windows"}}}}},
	}}}
	windowsTokenFile := `C:\var\run\secrets\eks.amazonaws.com\serviceaccount\token`

	tests := []struct {
		name string
		// saAnnotations of the pod's ServiceAccount (named after the case).
		saAnnotations map[string]string
		// pod changes the test pod (one container "app").
		pod  func(p *corev1.Pod)
		want podView
	}{
		{
			name:          "annotated ServiceAccount: every container, init containers too",
			saAnnotations: map[string]string{roleARNAnnotation: roleARN("app-reader")},
			pod: func(p *corev1.Pod) {
				p.Spec.Containers[0].Env = envs("FOO", "bar")
				p.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "registry.k8s.io/pause:3.10"}}
			},
			want: podView{
				Volumes:        []corev1.Volume{tokenVolume(stsAudience, defaultExpiration), apiAccessVolume},
				InitContainers: []containerView{{Name: "init", Env: injected(e, webhookRegion, "app-reader", tokenFile), Mounts: []corev1.VolumeMount{apiAccessMount, tokenMount}}},
				Containers:     []containerView{{Name: "app", Env: append(envs("FOO", "bar"), injected(e, webhookRegion, "app-reader", tokenFile)...), Mounts: []corev1.VolumeMount{apiAccessMount, tokenMount}}},
			},
		},
		{
			name:          "no role-arn annotation: the pod is left alone",
			saAnnotations: map[string]string{"example.com/owner": "team-a"},
			want: podView{
				Volumes:    []corev1.Volume{apiAccessVolume},
				Containers: []containerView{{Name: "app", Mounts: []corev1.VolumeMount{apiAccessMount}}},
			},
		},
		{
			name: "audience, expiration and region annotations",
			saAnnotations: map[string]string{
				roleARNAnnotation:                            roleARN("app-reader"),
				annotationPrefix + "/audience":               "irsa.example.com",
				annotationPrefix + "/region":                 "eu-west-1",
				annotationPrefix + "/sts-regional-endpoints": "true",
			},
			pod: func(p *corev1.Pod) {
				p.Annotations = map[string]string{annotationPrefix + "/token-expiration": "3600"}
			},
			want: podView{
				Volumes: []corev1.Volume{tokenVolume("irsa.example.com", 3600), apiAccessVolume},
				Containers: []containerView{{Name: "app",
					Env:    append(envs("AWS_STS_REGIONAL_ENDPOINTS", "regional"), injected(e, "eu-west-1", "app-reader", tokenFile)...),
					Mounts: []corev1.VolumeMount{apiAccessMount, tokenMount}}},
			},
		},
		{
			name:          "Windows by required node affinity: the token path is a Windows path, the mount is not",
			saAnnotations: map[string]string{roleARNAnnotation: roleARN("app-reader")},
			pod:           func(p *corev1.Pod) { p.Spec.Affinity = windowsAffinity },
			want: podView{
				Volumes:    []corev1.Volume{tokenVolume(stsAudience, defaultExpiration), apiAccessVolume},
				Containers: []containerView{{Name: "app", Env: injected(e, webhookRegion, "app-reader", windowsTokenFile), Mounts: []corev1.VolumeMount{apiAccessMount, tokenMount}}},
			},
		},
		{
			name:          "envFrom may set the region: the region pair is withheld, the identity is not",
			saAnnotations: map[string]string{roleARNAnnotation: roleARN("app-reader")},
			pod: func(p *corev1.Pod) {
				p.Spec.Containers[0].EnvFrom = []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "app-settings"}}}}
			},
			want: podView{
				Volumes:    []corev1.Volume{tokenVolume(stsAudience, defaultExpiration), apiAccessVolume},
				Containers: []containerView{{Name: "app", Env: injected(e, "", "app-reader", tokenFile), Mounts: []corev1.VolumeMount{apiAccessMount, tokenMount}}},
			},
		},
		{
			name:          "the pod already names a role: its own variables are kept and the rest added",
			saAnnotations: map[string]string{roleARNAnnotation: roleARN("app-reader")},
			pod: func(p *corev1.Pod) {
				p.Spec.Containers[0].Env = envs("AWS_ROLE_ARN", roleARN("own-role"))
			},
			want: podView{
				Volumes: []corev1.Volume{tokenVolume(stsAudience, defaultExpiration), apiAccessVolume},
				Containers: []containerView{{Name: "app",
					Env:    envs("AWS_ROLE_ARN", roleARN("own-role"), "AWS_DEFAULT_REGION", webhookRegion, "AWS_REGION", webhookRegion, "AWS_ENDPOINT_URL_STS", e.irsa.URL),
					Mounts: []corev1.VolumeMount{apiAccessMount, tokenMount}}},
			},
		},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sa := "case-" + strconv.Itoa(i)
			if err := createServiceAccount(ctx, e.cluster, ns, sa, tc.saAnnotations); err != nil {
				t.Fatal(err)
			}
			pod := testPod(sa, sa)
			if tc.pod != nil {
				tc.pod(pod)
			}
			if _, err := e.cluster.Client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
				t.Fatalf("creating pod %s/%s: %v", ns, pod.Name, err)
			}
			stored, err := e.cluster.Client.CoreV1().Pods(ns).Get(ctx, pod.Name, metav1.GetOptions{})
			if err != nil {
				t.Fatalf("reading pod %s/%s back: %v", ns, pod.Name, err)
			}
			if diff := cmp.Diff(tc.want, viewPod(stored)); diff != "" {
				t.Errorf("stored pod %s/%s (-want +got):\n%s", ns, pod.Name, diff)
			}
		})
	}
}

// webhookMetrics reads a webhook's /metrics: each series by its full name
// (name{labels}) and each metric family summed over its labels (name).
func webhookMetrics(t *testing.T, w *webhook) map[string]float64 {
	t.Helper()
	client, err := httpsClient(w.CAPEM)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Get(w.URL + "/metrics")
	if err != nil {
		t.Fatalf("GET %s/metrics: %v", w.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		series := line[:i]
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		values[series] += v
		if j := strings.IndexByte(series, '{'); j >= 0 {
			values[series[:j]] += v
		}
	}
	return values
}
