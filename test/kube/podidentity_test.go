//go:build linux

package kube

import (
	"context"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Pod Identity as the webhook injects it (SPEC.md).
const (
	podIdentityAudience  = "pods.eks.amazonaws.com"
	podIdentityVolume    = "eks-pod-identity-token"
	podIdentityTokenFile = "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token"
	podIdentityURI       = "http://169.254.170.23/v1/credentials"
)

// TestPodIdentityInCluster is EKS Pod Identity against the real API
// server: the cluster is declared to irsa with its own issuer, a pod
// whose ServiceAccount has an association is mutated for Pod Identity by
// `irsa webhook --pod-identity-cluster`, the token the API server issues
// for that pod's projected volume goes through `irsa agent` and EKS Auth
// to aws-sdk-go-v2's container credentials provider, and a pod of a
// namespace without an association is left alone and refused.
func TestPodIdentityInCluster(t *testing.T) {
	e := sharedEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		t.Fatal(err)
	}
	const cluster, own = "kube", "pi"

	// Declare the cluster (its issuer is the API server's) with irsa apply.
	cfgFile := filepath.Join(dir, "cluster.yaml")
	if err := os.WriteFile(cfgFile, []byte("clusters:\n  - name: "+cluster+"\n    issuer: "+e.cluster.URL+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, errs, err := runCommand(ctx, dir, baseEnv(home), nil, irsaBin, "apply", "--data-dir", e.irsa.DataDir, cfgFile); err != nil {
		t.Fatalf("irsa apply %s: %v\n%s%s", cfgFile, err, out, errs)
	}

	// The role and the association, through IAM and EKS.
	awsCfg := rootConfig(t, e.irsa)
	if _, err := iam.NewFromConfig(awsCfg).CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("pi-app"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession"],"Condition":{"StringEquals":{"aws:RequestTag/eks-cluster-name":"` + cluster + `"}}}]}`)}); err != nil {
		t.Fatalf("CreateRole pi-app: %v", err)
	}
	if _, err := eks.NewFromConfig(awsCfg).CreatePodIdentityAssociation(ctx, &eks.CreatePodIdentityAssociationInput{
		ClusterName: aws.String(cluster), Namespace: aws.String("pi-prod"), ServiceAccount: aws.String("app"), RoleArn: aws.String(roleARN("pi-app")),
	}); err != nil {
		t.Fatalf("CreatePodIdentityAssociation: %v", err)
	}

	// A webhook in Pod Identity mode for the namespaces labeled with own,
	// looking associations up in irsa's EKS API with the root key.
	whEnv := append(baseEnv(home), "AWS_SHARED_CREDENTIALS_FILE="+e.irsa.rootCredentialsFile(), "AWS_CONFIG_FILE=/dev/null", "AWS_REGION=us-east-1")
	w, err := startWebhookEnv(dir, own, e.cluster.Kubeconfig, e.irsa.URL, whEnv,
		"--pod-identity-cluster", cluster, "--pod-identity-endpoint", e.irsa.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("irsa webhook (%s) output:\n%s", own, tail(w.proc.out.String(), 6000))
		}
		if leaks := e.secrets.FindIn(procOutputs(w.proc)); len(leaks) != 0 {
			t.Errorf("secrets in the Pod Identity webhook's output: %q", leaks)
		}
		_ = w.proc.stop(10 * time.Second)
	})
	if err := registerWebhook(ctx, e.cluster, w, webhookConfigName+"-"+own, own); err != nil {
		t.Fatal(err)
	}

	// The node agent, on loopback (a node has it on 169.254.170.23).
	port, err := freeLoopbackPort()
	if err != nil {
		t.Fatal(err)
	}
	agentURL := "http://127.0.0.1:" + strconv.Itoa(port) + "/v1/credentials"
	agent, err := startProc("irsa agent", dir, whEnv, irsaBin, "agent", "--cluster-name", cluster, "--bind-hosts", "127.0.0.1",
		"--port", strconv.Itoa(port), "--probe-port", "0", "--metrics-port", "0", "--endpoint", e.irsa.URL, "--log-level", "debug")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("irsa agent output:\n%s", tail(agent.out.String(), 6000))
		}
		if leaks := e.secrets.FindIn(procOutputs(agent)); len(leaks) != 0 {
			t.Errorf("secrets in the agent's output: %q", leaks)
		}
		_ = agent.stop(10 * time.Second)
	})
	if err := agent.waitHTTP(&http.Client{Timeout: time.Second}, agentURL, 20*time.Second, func(code int, _ string) bool { return code == http.StatusBadRequest }); err != nil {
		t.Fatal(err)
	}

	for _, ns := range []string{"pi-prod", "pi-none"} {
		if err := e.cluster.createNamespace(ctx, ns, map[string]string{ownWebhookLabel: own}); err != nil {
			t.Fatal(err)
		}
		if err := createServiceAccount(ctx, e.cluster, ns, "app", nil); err != nil {
			t.Fatal(err)
		}
		if _, err := e.cluster.Client.CoreV1().Pods(ns).Create(ctx, testPod("app", "app"), metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating pod %s/app: %v", ns, err)
		}
	}

	t.Run("associated", func(t *testing.T) {
		pod, err := e.cluster.Client.CoreV1().Pods("pi-prod").Get(ctx, "app", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		c := pod.Spec.Containers[0]
		if got := envValue(c.Env, "AWS_CONTAINER_CREDENTIALS_FULL_URI"); got != podIdentityURI {
			t.Errorf("AWS_CONTAINER_CREDENTIALS_FULL_URI = %q, want %q (env %v)", got, podIdentityURI, podEnvNames(pod))
		}
		if got := envValue(c.Env, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"); got != podIdentityTokenFile {
			t.Errorf("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE = %q, want %q", got, podIdentityTokenFile)
		}
		if got := envValue(c.Env, "AWS_ROLE_ARN"); got != "" {
			t.Errorf("a Pod Identity pod also got AWS_ROLE_ARN %q", got)
		}
		var vol *corev1.ServiceAccountTokenProjection
		for _, v := range pod.Spec.Volumes {
			if v.Name == podIdentityVolume && v.Projected != nil && len(v.Projected.Sources) == 1 {
				vol = v.Projected.Sources[0].ServiceAccountToken
			}
		}
		mounted := false
		for _, m := range c.VolumeMounts {
			if m.Name == podIdentityVolume && m.ReadOnly && path.Join(m.MountPath, vol.Path) == podIdentityTokenFile {
				mounted = true
			}
		}
		if vol == nil || vol.Audience != podIdentityAudience || !mounted {
			t.Fatalf("pod pi-prod/app: volume %+v mounted=%v, want %s with audience %s mounted read-only at the token file's directory", vol, mounted, podIdentityVolume, podIdentityAudience)
		}

		// The token the kubelet would project for that volume.
		tokenFile := requestToken(t, e, dir, pod, vol)
		env := append(baseEnv(home),
			"AWS_CONTAINER_CREDENTIALS_FULL_URI="+agentURL,
			"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE="+tokenFile,
			"AWS_ENDPOINT_URL_STS="+e.irsa.URL,
			"AWS_REGION=us-east-1")
		id := goWhoami(t, dir, env)
		e.secrets.Add(id.SecretAccessKey, "secret key from the agent")
		e.secrets.Add(id.SessionToken, "session token from the agent")
		if id.Error != nil {
			t.Fatalf("aws-sdk-go-v2 with the agent: %+v", id.Error)
		}
		want := "arn:aws:sts::" + accountID + ":assumed-role/pi-app/eks-" + cluster + "-app-"
		if !strings.HasPrefix(id.Arn, want) || id.Account != accountID || !strings.HasPrefix(id.AccessKeyID, "ASIA") {
			t.Errorf("GetCallerIdentity = %s %s %s, want %s<uuid>", id.Arn, id.Account, id.AccessKeyID, want)
		}
	})

	t.Run("no association", func(t *testing.T) {
		pod, err := e.cluster.Client.CoreV1().Pods("pi-none").Get(ctx, "app", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if names := podEnvNames(pod); len(names) != 0 {
			t.Errorf("pod pi-none/app was given env %v", names)
		}
		for _, v := range pod.Spec.Volumes {
			if v.Name == podIdentityVolume || v.Name == tokenVolumeName {
				t.Errorf("pod pi-none/app was given volume %s", v.Name)
			}
		}
		// Even with a token for the audience, the agent gets no
		// credentials for it.
		tokenFile := requestToken(t, e, dir, pod, &corev1.ServiceAccountTokenProjection{Audience: podIdentityAudience, ExpirationSeconds: aws.Int64(3600), Path: "token"})
		tok, err := os.ReadFile(tokenFile)
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, agentURL, nil)
		req.Header.Set("Authorization", string(tok))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body := make([]byte, 4096)
		n, _ := resp.Body.Read(body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body[:n]), "AccessDeniedException") {
			t.Errorf("agent for pi-none/app: %d %q, want 400 AccessDeniedException", resp.StatusCode, body[:n])
		}
	})
}

// rootConfig is a client configuration with irsa's root key.
func rootConfig(t *testing.T, s *irsaServer) aws.Config {
	t.Helper()
	c := iamClient(t, s).Options()
	return aws.Config{Region: "us-east-1", Credentials: c.Credentials, BaseEndpoint: aws.String(s.URL)}
}

// requestToken asks the API server for the token of pod's ServiceAccount
// that vol projects, bound to the pod, and writes it to a file as the
// kubelet does (no trailing newline).
func requestToken(t *testing.T, e *env, dir string, pod *corev1.Pod, vol *corev1.ServiceAccountTokenProjection) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tr, err := e.cluster.Client.CoreV1().ServiceAccounts(pod.Namespace).CreateToken(ctx, pod.Spec.ServiceAccountName, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{
			Audiences:         []string{vol.Audience},
			ExpirationSeconds: vol.ExpirationSeconds,
			BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("TokenRequest for %s/%s: %v", pod.Namespace, pod.Spec.ServiceAccountName, err)
	}
	e.secrets.AddToken(tr.Status.Token, "Pod Identity token of "+pod.Namespace+"/"+pod.Name)
	file := filepath.Join(dir, pod.Namespace+"-"+pod.Name+"-pod-identity-token")
	if err := os.WriteFile(file, []byte(tr.Status.Token), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}
