package deploy

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/irsa-dev/irsa/internal/cli"
	"github.com/irsa-dev/irsa/internal/config"
)

const testRoleARN = "arn:aws:iam::000000000000:role/irsa-pod-identity"

var podIdentityRole = []string{"podIdentity.enabled=true", "podIdentity.clusterName=prod", "podIdentity.credentials.roleArn=" + testRoleARN}

// envMap flattens a container's env: plain values, and secretKeyRef and
// fieldRef sources as "secret:NAME/KEY" and "field:PATH".
func envMap(c corev1.Container) map[string]string {
	m := map[string]string{}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			m[e.Name] = e.Value
		case e.ValueFrom.SecretKeyRef != nil:
			m[e.Name] = "secret:" + e.ValueFrom.SecretKeyRef.Name + "/" + e.ValueFrom.SecretKeyRef.Key
		case e.ValueFrom.FieldRef != nil:
			m[e.Name] = "field:" + e.ValueFrom.FieldRef.FieldPath
		}
	}
	return m
}

func TestPodIdentityRendering(t *testing.T) {
	objs := mustRender(t, podIdentityRole)
	for _, want := range []string{"ServiceAccount/irsa-agent", "DaemonSet/irsa-agent"} {
		kind, name, _ := strings.Cut(want, "/")
		if !has(objs, kind, name) {
			t.Errorf("no %s among %s", want, kinds(objs))
		}
	}
	wantCredentialsEnv := map[string]string{
		"AWS_REGION":                  "us-east-1",
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_ROLE_ARN":                testRoleARN,
		"AWS_WEB_IDENTITY_TOKEN_FILE": "/var/run/secrets/eks.amazonaws.com/serviceaccount/token",
		"AWS_ROLE_SESSION_NAME":       "field:metadata.name",
		"AWS_ENDPOINT_URL_STS":        "http://irsa.irsa.svc:4590",
	}
	tokenVolume := corev1.Volume{Name: "aws-iam-token", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
		Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Audience: "sts.amazonaws.com", ExpirationSeconds: ptr(int64(86400)), Path: "token"}}},
	}}}
	tokenMount := corev1.VolumeMount{Name: "aws-iam-token", MountPath: "/var/run/secrets/eks.amazonaws.com/serviceaccount", ReadOnly: true}

	t.Run("agent", func(t *testing.T) {
		ds := typed[appsv1.DaemonSet](t, objs, "DaemonSet", "irsa-agent")
		spec := ds.Spec.Template.Spec
		if !spec.HostNetwork || spec.DNSPolicy != corev1.DNSClusterFirstWithHostNet {
			t.Errorf("hostNetwork %t dnsPolicy %s: the agent listens on the node's link-local addresses and resolves irsa's Service", spec.HostNetwork, spec.DNSPolicy)
		}
		if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
			t.Error("the agent's pods mount a Kubernetes API token they never use")
		}
		if ds.Spec.Template.Labels["eks.amazonaws.com/skip-pod-identity-webhook"] == "" {
			t.Error("the agent's pods are not excluded from the webhook")
		}
		if spec.ServiceAccountName != "irsa-agent" || spec.PriorityClassName != "system-node-critical" {
			t.Errorf("serviceAccountName %q priorityClassName %q", spec.ServiceAccountName, spec.PriorityClassName)
		}
		if spec.NodeSelector["kubernetes.io/os"] != "linux" || len(spec.Tolerations) != 1 || spec.Tolerations[0].Operator != corev1.TolerationOpExists {
			t.Errorf("nodeSelector %v tolerations %+v: every Linux node", spec.NodeSelector, spec.Tolerations)
		}
		if diff := cmp.Diff(ds.Spec.Selector.MatchLabels, map[string]string{
			"app.kubernetes.io/name": "irsa", "app.kubernetes.io/instance": "irsa", "app.kubernetes.io/component": "agent",
		}); diff != "" {
			t.Errorf("selector (-got +want):\n%s", diff)
		}

		if len(spec.InitContainers) != 1 || len(spec.Containers) != 1 {
			t.Fatalf("%d init containers, %d containers", len(spec.InitContainers), len(spec.Containers))
		}
		setup := spec.InitContainers[0]
		if diff := cmp.Diff([]string{"agent", "setup-link", "--bind-hosts=169.254.170.23", "--bind-hosts=[fd00:ec2::23]"}, setup.Args); diff != "" {
			t.Errorf("setup-link args (-want +got):\n%s", diff)
		}
		checkCapabilities(t, "setup-link", setup, "NET_ADMIN")

		c := spec.Containers[0]
		wantArgs := []string{"agent", "--cluster-name=prod", "--endpoint=http://irsa.irsa.svc:4590", "--region=us-east-1",
			"--bind-hosts=169.254.170.23", "--bind-hosts=[fd00:ec2::23]", "--port=80", "--metrics-port=2705", "--log-level=info"}
		if diff := cmp.Diff(wantArgs, c.Args); diff != "" {
			t.Errorf("agent args (-want +got):\n%s", diff)
		}
		checkCapabilities(t, "agent", c, "NET_BIND_SERVICE")
		if diff := cmp.Diff(wantCredentialsEnv, envMap(c)); diff != "" {
			t.Errorf("agent env (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]corev1.VolumeMount{tokenMount}, c.VolumeMounts); diff != "" {
			t.Errorf("agent mounts (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]corev1.Volume{tokenVolume}, spec.Volumes); diff != "" {
			t.Errorf("agent volumes (-want +got):\n%s", diff)
		}
		ports := map[string]int32{}
		for _, p := range c.Ports {
			ports[p.Name] = p.ContainerPort
		}
		if diff := cmp.Diff(map[string]int32{"credentials": 80, "metrics": 2705}, ports); diff != "" {
			t.Errorf("ports (-want +got):\n%s", diff)
		}
		if g := c.LivenessProbe.HTTPGet; g.Path != "/healthz" || g.Port.StrVal != "metrics" {
			t.Errorf("liveness probe %+v", g)
		}
		if g := c.ReadinessProbe.HTTPGet; g.Path != "/readyz" || g.Port.StrVal != "metrics" {
			t.Errorf("readiness probe %+v", g)
		}
		if c.Resources.Requests.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero() {
			t.Errorf("resources %+v", c.Resources)
		}
		if spec.SecurityContext == nil || spec.SecurityContext.SeccompProfile == nil || spec.SecurityContext.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("pod security context %+v", spec.SecurityContext)
		}
	})

	t.Run("webhook", func(t *testing.T) {
		d := typed[appsv1.Deployment](t, objs, "Deployment", "irsa-webhook")
		c := container(t, d)
		for _, want := range []string{"--pod-identity-cluster=prod", "--pod-identity-endpoint=http://irsa.irsa.svc:4590", "--pod-identity-region=us-east-1",
			"--pod-identity-credentials-uri=http://169.254.170.23/v1/credentials", "--pod-identity-cache-ttl=60s", "--pod-identity-negative-cache-ttl=5s"} {
			if !slices.Contains(c.Args, want) {
				t.Errorf("webhook args %q lack %s", c.Args, want)
			}
		}
		if diff := cmp.Diff(wantCredentialsEnv, envMap(c)); diff != "" {
			t.Errorf("webhook env (-want +got):\n%s", diff)
		}
		if !slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return cmp.Equal(m, tokenMount) }) {
			t.Errorf("webhook mounts %+v lack the token", c.VolumeMounts)
		}
		if !slices.ContainsFunc(d.Spec.Template.Spec.Volumes, func(v corev1.Volume) bool { return cmp.Equal(v, tokenVolume) }) {
			t.Errorf("webhook volumes %+v lack the token", d.Spec.Template.Spec.Volumes)
		}
		checkHardened(t, d)
	})

	t.Run("monitoring", func(t *testing.T) {
		objs := mustRender(t, append(slices.Clone(podIdentityRole), "serviceMonitor.enabled=true"))
		pm := crd(t, objs, "PodMonitor", "irsa-agent")["spec"].(map[string]any)
		if got := fmt.Sprint(pm["podMetricsEndpoints"]); !strings.Contains(got, "port:metrics") || !strings.Contains(got, "path:/metrics") {
			t.Errorf("PodMonitor endpoints %s", got)
		}
		if got := fmt.Sprint(pm["selector"]); !strings.Contains(got, "app.kubernetes.io/component:agent") {
			t.Errorf("PodMonitor selector %s", got)
		}
	})
}

// checkCapabilities checks that a container of the agent drops every
// capability but the one it needs, cannot escalate and has a read-only
// root.
func checkCapabilities(t *testing.T, name string, c corev1.Container, want corev1.Capability) {
	t.Helper()
	sc := c.SecurityContext
	switch {
	case sc == nil || sc.Capabilities == nil:
		t.Errorf("%s: no capabilities", name)
	case fmt.Sprint(sc.Capabilities.Drop) != "[ALL]" || fmt.Sprint(sc.Capabilities.Add) != "["+string(want)+"]":
		t.Errorf("%s: capabilities %+v, want only %s", name, sc.Capabilities, want)
	case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
		t.Errorf("%s: privilege escalation allowed", name)
	case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
		t.Errorf("%s: writable root", name)
	case sc.Privileged != nil && *sc.Privileged:
		t.Errorf("%s: privileged", name)
	}
}

func ptr[T any](v T) *T { return &v }

func TestPodIdentityValues(t *testing.T) {
	t.Run("secret credentials", func(t *testing.T) {
		objs := mustRender(t, []string{"podIdentity.enabled=true", "podIdentity.clusterName=prod", "podIdentity.credentials.secretName=irsa-pi",
			"podIdentity.region=eu-west-1"})
		want := map[string]string{
			"AWS_REGION":                "eu-west-1",
			"AWS_EC2_METADATA_DISABLED": "true",
			"AWS_ACCESS_KEY_ID":         "secret:irsa-pi/AWS_ACCESS_KEY_ID",
			"AWS_SECRET_ACCESS_KEY":     "secret:irsa-pi/AWS_SECRET_ACCESS_KEY",
		}
		ds := typed[appsv1.DaemonSet](t, objs, "DaemonSet", "irsa-agent")
		agent := ds.Spec.Template.Spec.Containers[0]
		webhook := container(t, typed[appsv1.Deployment](t, objs, "Deployment", "irsa-webhook"))
		for name, c := range map[string]corev1.Container{"agent": agent, "webhook": webhook} {
			if diff := cmp.Diff(want, envMap(c)); diff != "" {
				t.Errorf("%s env (-want +got):\n%s", name, diff)
			}
			if slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.Name == "aws-iam-token" }) {
				t.Errorf("%s mounts a web identity token with secret credentials", name)
			}
		}
		if len(ds.Spec.Template.Spec.Volumes) != 0 {
			t.Errorf("agent volumes %+v", ds.Spec.Template.Spec.Volumes)
		}
		if !slices.Contains(agent.Args, "--region=eu-west-1") || !slices.Contains(webhook.Args, "--pod-identity-region=eu-west-1") {
			t.Errorf("region not passed: %q %q", agent.Args, webhook.Args)
		}
	})

	t.Run("agent address and port make the credentials URI", func(t *testing.T) {
		objs := mustRender(t, append(slices.Clone(podIdentityRole), "podIdentity.agent.bindHosts={169.254.170.23}", "podIdentity.agent.port=8080"))
		webhook := container(t, typed[appsv1.Deployment](t, objs, "Deployment", "irsa-webhook"))
		if !slices.Contains(webhook.Args, "--pod-identity-credentials-uri=http://169.254.170.23:8080/v1/credentials") {
			t.Errorf("webhook args %q", webhook.Args)
		}
		agent := typed[appsv1.DaemonSet](t, objs, "DaemonSet", "irsa-agent").Spec.Template.Spec.Containers[0]
		if !slices.Contains(agent.Args, "--port=8080") || slices.Contains(agent.Args, "--bind-hosts=[fd00:ec2::23]") {
			t.Errorf("agent args %q", agent.Args)
		}
	})

	t.Run("without the server", func(t *testing.T) {
		objs := mustRender(t, append(slices.Clone(podIdentityRole), "server.enabled=false", "podIdentity.endpoint=https://irsa.example.com",
			"webhook.stsEndpointUrl=https://irsa.example.com"))
		agent := typed[appsv1.DaemonSet](t, objs, "DaemonSet", "irsa-agent").Spec.Template.Spec.Containers[0]
		if !slices.Contains(agent.Args, "--endpoint=https://irsa.example.com") || envMap(agent)["AWS_ENDPOINT_URL_STS"] != "https://irsa.example.com" {
			t.Errorf("agent args %q env %v", agent.Args, envMap(agent))
		}
	})

	t.Run("off by default", func(t *testing.T) {
		objs := mustRender(t, nil)
		for _, o := range objs {
			if strings.Contains(o.Name, "agent") {
				t.Errorf("%s/%s rendered with podIdentity.enabled=false", o.Kind, o.Name)
			}
		}
		webhook := container(t, typed[appsv1.Deployment](t, objs, "Deployment", "irsa-webhook"))
		if slices.ContainsFunc(webhook.Args, func(a string) bool { return strings.HasPrefix(a, "--pod-identity") }) || len(webhook.Env) != 0 {
			t.Errorf("webhook args %q env %+v", webhook.Args, webhook.Env)
		}
	})
}

func TestPodIdentityInvalidValues(t *testing.T) {
	tests := []struct {
		set  []string
		want string
	}{
		{[]string{"podIdentity.enabled=true", "podIdentity.credentials.roleArn=" + testRoleARN}, `podIdentity.clusterName must be an EKS cluster name (the name the associations are created under), got ""`},
		{[]string{"podIdentity.enabled=true", "podIdentity.clusterName=prod cluster", "podIdentity.credentials.roleArn=" + testRoleARN}, `got "prod cluster"`},
		{[]string{"podIdentity.enabled=true", "podIdentity.clusterName=prod"}, "podIdentity.credentials.roleArn or podIdentity.credentials.secretName is required"},
		{append(slices.Clone(podIdentityRole), "podIdentity.credentials.secretName=s"), "podIdentity.credentials: set roleArn or secretName, not both"},
		{append(slices.Clone(podIdentityRole), "server.enabled=false"), "podIdentity.endpoint is required when server.enabled is false"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			_, err := render(t, tt.set)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

func TestPodIdentityLint(t *testing.T) {
	h := helm(t)
	for _, set := range [][]string{
		podIdentityRole,
		{"podIdentity.enabled=true", "podIdentity.clusterName=prod", "podIdentity.credentials.secretName=s", "serviceMonitor.enabled=true", "certManager.enabled=true"},
		append(slices.Clone(podIdentityRole), "webhook.enabled=false"),
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

func TestPodIdentityNotes(t *testing.T) {
	notes := renderNotes(t, podIdentityRole)
	for _, want := range []string{
		"EKS Pod Identity is on for cluster prod",
		"DaemonSet irsa/irsa-agent",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI=http://169.254.170.23/v1/credentials",
		"aws eks create-pod-identity-association --cluster-name prod \\\n    --namespace NAMESPACE --service-account NAME --role-arn arn:aws:iam::000000000000:role/ROLE",
		"sign their calls as " + testRoleARN,
		"ServiceAccounts irsa-webhook and irsa-agent",
	} {
		if !strings.Contains(notes, want) {
			t.Errorf("NOTES lack %q:\n%s", want, notes)
		}
	}
	if notes := renderNotes(t, nil); strings.Contains(notes, "Pod Identity") {
		t.Errorf("NOTES mention Pod Identity when it is off:\n%s", notes)
	}
}

// TestChartFlagsExist checks every flag the chart passes to irsa webhook,
// irsa agent and irsa agent setup-link against the flags those commands
// define, so that the chart and the CLI cannot drift apart.
func TestChartFlagsExist(t *testing.T) {
	objs := mustRender(t, podIdentityRole)
	ds := typed[appsv1.DaemonSet](t, objs, "DaemonSet", "irsa-agent")
	commands := map[string][]string{
		"webhook":          container(t, typed[appsv1.Deployment](t, objs, "Deployment", "irsa-webhook")).Args,
		"agent":            ds.Spec.Template.Spec.Containers[0].Args,
		"agent setup-link": ds.Spec.Template.Spec.InitContainers[0].Args,
		"up":               container(t, typed[appsv1.Deployment](t, objs, "Deployment", "irsa")).Args,
	}
	flagRE := regexp.MustCompile(`^--([a-z0-9-]+)=`)
	for command, args := range commands {
		words := strings.Fields(command)
		if !slices.Equal(args[:len(words)], words) {
			t.Errorf("%s: args %q do not start with the command", command, args)
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		var out bytes.Buffer
		code := cli.Main(ctx, cli.Env{Args: append(slices.Clone(words), "--help"), Stdout: &out, Stderr: &out})
		cancel()
		if code != cli.ExitOK {
			t.Fatalf("irsa %s --help: exit %d\n%s", command, code, out.String())
		}
		for _, a := range args[len(words):] {
			m := flagRE.FindStringSubmatch(a)
			if m == nil {
				t.Errorf("%s: argument %q is not --flag=value", command, a)
				continue
			}
			if !strings.Contains(out.String(), "--"+m[1]+" ") {
				t.Errorf("irsa %s has no flag --%s (the chart passes %q)", command, m[1], a)
			}
		}
	}
}

// TestPodIdentityDocValues runs the values block of docs/pod-identity.md
// (with the issuer it would read from the cluster given instead) and
// renders the chart with the file it writes: the server's declarative
// config parses and declares the cluster, and the agents and the webhook
// use the role the document creates.
func TestPodIdentityDocValues(t *testing.T) {
	root := moduleRoot(t)
	doc, err := os.ReadFile(filepath.Join(root, "docs", "pod-identity.md"))
	if err != nil {
		t.Fatal(err)
	}
	const marker = "<!-- test: cluster-values -->\n```sh\n"
	_, rest, ok := strings.Cut(string(doc), marker)
	if !ok {
		t.Fatal("docs/pod-identity.md has no cluster-values block")
	}
	block, _, ok := strings.Cut(rest, "\n```\n")
	if !ok {
		t.Fatal("the cluster-values block does not end")
	}
	const issuerLine = `ISSUER_URL="$(kubectl get --raw /.well-known/openid-configuration | jq -r .issuer)"`
	if !strings.Contains(block, issuerLine) {
		t.Fatalf("the cluster-values block no longer reads the issuer with %s:\n%s", issuerLine, block)
	}
	block = strings.Replace(block, issuerLine, "ISSUER_URL=https://kubernetes.default.svc.cluster.local", 1)
	dir := t.TempDir()
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", block)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cluster-values block: %v\n%s", err, out)
	}
	objs := mustRender(t, nil, filepath.Join(dir, "pod-identity-values.yaml"))

	cm := typed[corev1.ConfigMap](t, objs, "ConfigMap", "irsa")
	cfg, err := config.Parse([]byte(cm.Data["config.yaml"]))
	if err != nil {
		t.Fatalf("the server config of the document does not parse: %v\n%s", err, cm.Data["config.yaml"])
	}
	if len(cfg.Clusters) != 1 || cfg.Clusters[0].Name != "demo" || cfg.Clusters[0].Issuer != "https://kubernetes.default.svc.cluster.local" {
		t.Errorf("clusters %+v", cfg.Clusters)
	}
	if len(cfg.Roles) != 1 || cfg.Roles[0].Name != "irsa-pod-identity" {
		t.Fatalf("roles %+v", cfg.Roles)
	}
	trust := cfg.Roles[0].TrustPolicy.JSON
	for _, want := range []string{"system:serviceaccount:irsa:irsa-webhook", "system:serviceaccount:irsa:irsa-agent",
		"oidc-provider/kubernetes.default.svc.cluster.local", "{{accountId}}"} {
		if !strings.Contains(trust, want) {
			t.Errorf("trust policy %s lacks %q", trust, want)
		}
	}
	ds := typed[appsv1.DaemonSet](t, objs, "DaemonSet", "irsa-agent")
	agent := ds.Spec.Template.Spec.Containers[0]
	if envMap(agent)["AWS_ROLE_ARN"] != "arn:aws:iam::000000000000:role/irsa-pod-identity" || !slices.Contains(agent.Args, "--cluster-name=demo") {
		t.Errorf("agent args %q env %v", agent.Args, envMap(agent))
	}
	// The ServiceAccounts the trust policy names are the chart's.
	for _, sa := range []string{"irsa-webhook", "irsa-agent"} {
		if !has(objs, "ServiceAccount", sa) {
			t.Errorf("no ServiceAccount %s", sa)
		}
	}
}
