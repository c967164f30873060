//go:build linux

package kube

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// iamClient is aws-sdk-go-v2's IAM client with the root key irsa wrote to
// DATA_DIR/root-credentials, read by the SDK's shared-file loader.
func iamClient(t *testing.T, s *irsaServer) *iam.Client {
	t.Helper()
	shared, err := config.LoadSharedConfigProfile(context.Background(), "default", func(o *config.LoadSharedConfigOptions) {
		o.CredentialsFiles = []string{s.rootCredentialsFile()}
		o.ConfigFiles = []string{}
	})
	if err != nil {
		t.Fatalf("reading %s: %v", s.rootCredentialsFile(), err)
	}
	return iam.NewFromConfig(aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.StaticCredentialsProvider{Value: shared.Credentials},
		BaseEndpoint: aws.String(s.URL),
	})
}

// trustPolicy lets the ServiceAccount subject assume a role with a token
// of the cluster's issuer for audience sts.amazonaws.com, as EKS documents
// an IRSA trust policy.
func trustPolicy(issuerURL, subject string) string {
	host := strings.TrimPrefix(issuerURL, "https://")
	doc, _ := json.Marshal(map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{map[string]any{
			"Effect":    "Allow",
			"Principal": map[string]any{"Federated": "arn:aws:iam::" + accountID + ":oidc-provider/" + host},
			"Action":    "sts:AssumeRoleWithWebIdentity",
			"Condition": map[string]any{"StringEquals": map[string]any{host + ":sub": subject, host + ":aud": stsAudience}},
		}},
	})
	return string(doc)
}

// podCredentials is what a pod's SDK gets from the webhook and the kubelet:
// the env of a container of the stored pod, and the token the kubelet
// would project, asked for with the volume's own audience and lifetime
// through the TokenRequest API and bound to the pod.
type podCredentials struct {
	// Env is the container's env, AWS_WEB_IDENTITY_TOKEN_FILE mapped to
	// TokenFile.
	Env []string
	// PodTokenFile is AWS_WEB_IDENTITY_TOKEN_FILE as the pod has it;
	// TokenFile is where the test wrote the token: the same relative path
	// below a local stand-in for the volume's mount path.
	PodTokenFile, TokenFile string
	Token                   string
	Claims                  tokenClaims
}

type tokenClaims struct {
	Issuer     string   `json:"iss"`
	Subject    string   `json:"sub"`
	Audience   []string `json:"aud"`
	Expiry     int64    `json:"exp"`
	IssuedAt   int64    `json:"iat"`
	Kubernetes struct {
		Namespace      string `json:"namespace"`
		ServiceAccount struct {
			Name string `json:"name"`
			UID  string `json:"uid"`
		} `json:"serviceaccount"`
		Pod struct {
			Name string `json:"name"`
			UID  string `json:"uid"`
		} `json:"pod"`
	} `json:"kubernetes.io"`
}

// credentialsOf reads back pod namespace/name, takes its container's env
// and the token volume it was given, requests that token from the API
// server and writes it where the env points (mapped into dir).
func credentialsOf(t *testing.T, e *env, dir, namespace, name string) podCredentials {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pod, err := e.cluster.Client.CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("reading pod %s/%s: %v", namespace, name, err)
	}
	var vol *corev1.ServiceAccountTokenProjection
	for _, v := range pod.Spec.Volumes {
		if v.Name == tokenVolumeName && v.Projected != nil && len(v.Projected.Sources) == 1 {
			vol = v.Projected.Sources[0].ServiceAccountToken
		}
	}
	if vol == nil || vol.ExpirationSeconds == nil {
		t.Fatalf("pod %s/%s has no projected %s volume with a token: %+v", namespace, name, tokenVolumeName, pod.Spec.Volumes)
	}
	c := pod.Spec.Containers[0]
	var mount string
	for _, m := range c.VolumeMounts {
		if m.Name == tokenVolumeName {
			mount = m.MountPath
		}
	}
	var pc podCredentials
	for _, v := range c.Env {
		if v.ValueFrom != nil {
			t.Fatalf("container %s of %s/%s has %s from a reference; the test passes literal values only", c.Name, namespace, name, v.Name)
		}
		if v.Name == "AWS_WEB_IDENTITY_TOKEN_FILE" {
			pc.PodTokenFile = v.Value
			continue
		}
		pc.Env = append(pc.Env, v.Name+"="+v.Value)
	}
	// The env must name the file the kubelet projects: the volume's path
	// below the mount path. The test writes the token at that relative
	// path below a directory of its own, the stand-in for the mount.
	if want := path.Join(mount, vol.Path); pc.PodTokenFile != want {
		t.Fatalf("AWS_WEB_IDENTITY_TOKEN_FILE is %q; the projected token would be at %q", pc.PodTokenFile, want)
	}
	localMount := filepath.Join(dir, namespace+"-"+name, "serviceaccount")
	pc.TokenFile = filepath.Join(localMount, filepath.FromSlash(vol.Path))
	pc.Env = append(pc.Env, "AWS_WEB_IDENTITY_TOKEN_FILE="+pc.TokenFile)

	tr, err := e.cluster.Client.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, pod.Spec.ServiceAccountName, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{
			Audiences:         []string{vol.Audience},
			ExpirationSeconds: vol.ExpirationSeconds,
			BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("TokenRequest for %s/%s bound to pod %s: %v", namespace, pod.Spec.ServiceAccountName, pod.Name, err)
	}
	pc.Token = tr.Status.Token
	e.secrets.AddToken(pc.Token, "service-account token of "+namespace+"/"+pod.Spec.ServiceAccountName)

	// Signed by the cluster: the signature verifies with the public half
	// of the key the test gave kube-apiserver.
	jws, err := jose.ParseSignedCompact(pc.Token, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatalf("the TokenRequest token is not an RS256 JWS: %v", err)
	}
	payload, err := jws.Verify(e.cluster.SAKey)
	if err != nil {
		t.Fatalf("the TokenRequest token does not verify with the cluster's service-account key: %v", err)
	}
	if err := json.Unmarshal(payload, &pc.Claims); err != nil {
		t.Fatalf("token claims: %v", err)
	}
	if err := os.MkdirAll(localMount, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pc.TokenFile, []byte(pc.Token), 0o600); err != nil {
		t.Fatal(err)
	}
	return pc
}

// TestClusterTokenExchange is the end to end: irsa trusts the
// cluster's issuer through its own discovery, and a token the cluster signs
// for a pod's ServiceAccount, used by aws-sdk-go-v2's default chain with
// exactly the env the webhook gave the pod, yields the role; the same
// role's token from another namespace is refused.
func TestClusterTokenExchange(t *testing.T) {
	e := sharedEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	dir := t.TempDir()
	issuer := e.cluster.URL
	host := strings.TrimPrefix(issuer, "https://")

	// The cluster's issuer answers anonymous discovery (the binding the
	// test made), with the API server's URL as issuer.
	code, doc, err := e.cluster.anonymousDiscovery()
	if err != nil || code != 200 {
		t.Fatalf("anonymous GET %s/.well-known/openid-configuration: %d %v", issuer, code, err)
	}
	if doc["issuer"] != issuer {
		t.Fatalf("the cluster's discovery names issuer %v, want %s", doc["issuer"], issuer)
	}

	// Register the issuer and the role in irsa through IAM.
	client := iamClient(t, e.irsa)
	providerARN := "arn:aws:iam::" + accountID + ":oidc-provider/" + host
	prov, err := client.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String(issuer), ClientIDList: []string{stsAudience}})
	var exists *iamtypes.EntityAlreadyExistsException
	switch {
	case errors.As(err, &exists):
		// TestPodIdentityInCluster declared the cluster (which registers
		// its issuer) first; the registration must be the same.
		got, gerr := client.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(providerARN)})
		if gerr != nil || !slices.Contains(got.ClientIDList, stsAudience) {
			t.Fatalf("provider %s exists, but GetOpenIDConnectProvider = %v, %v", providerARN, got, gerr)
		}
	case err != nil:
		t.Fatalf("CreateOpenIDConnectProvider %s: %v", issuer, err)
	case aws.ToString(prov.OpenIDConnectProviderArn) != providerARN:
		t.Errorf("provider ARN = %q, want %q", aws.ToString(prov.OpenIDConnectProviderArn), providerARN)
	}
	const role, sa = "kube-reader", "kube-reader"
	if _, err := client.CreateRole(ctx, &iam.CreateRoleInput{
		RoleName:                 aws.String(role),
		AssumeRolePolicyDocument: aws.String(trustPolicy(issuer, "system:serviceaccount:production:"+sa)),
	}); err != nil {
		t.Fatalf("CreateRole %s: %v", role, err)
	}

	// The same annotated ServiceAccount and a pod in production (trusted)
	// and staging (not trusted).
	for _, ns := range []string{"production", "staging"} {
		if err := e.cluster.createNamespace(ctx, ns); err != nil {
			t.Fatal(err)
		}
		if err := createServiceAccount(ctx, e.cluster, ns, sa, map[string]string{roleARNAnnotation: roleARN(role)}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.cluster.Client.CoreV1().Pods(ns).Create(ctx, testPod("app", sa), metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating pod %s/app: %v", ns, err)
		}
	}

	home := filepath.Join(dir, "home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		namespace string
		// wantArn is the assumed-role ARN's prefix (the session name is
		// the SDK's); wantCode the error code instead.
		wantArn, wantCode string
	}{
		{namespace: "production", wantArn: "arn:aws:sts::" + accountID + ":assumed-role/" + role + "/"},
		{namespace: "staging", wantCode: "AccessDenied"},
	}
	for _, tc := range tests {
		t.Run(tc.namespace, func(t *testing.T) {
			pc := credentialsOf(t, e, dir, tc.namespace, "app")
			t.Logf("pod env %q; AWS_WEB_IDENTITY_TOKEN_FILE %s in the pod is %s here", pc.Env, pc.PodTokenFile, pc.TokenFile)
			wantClaims := map[string]any{
				"iss": issuer, "aud": []string{stsAudience},
				"sub":       "system:serviceaccount:" + tc.namespace + ":" + sa,
				"namespace": tc.namespace, "serviceaccount": sa, "pod": "app",
			}
			gotClaims := map[string]any{
				"iss": pc.Claims.Issuer, "aud": pc.Claims.Audience, "sub": pc.Claims.Subject,
				"namespace": pc.Claims.Kubernetes.Namespace, "serviceaccount": pc.Claims.Kubernetes.ServiceAccount.Name, "pod": pc.Claims.Kubernetes.Pod.Name,
			}
			if diff := cmp.Diff(wantClaims, gotClaims); diff != "" {
				t.Errorf("claims of the cluster's token (-want +got):\n%s", diff)
			}
			if pc.Claims.Expiry <= time.Now().Unix() {
				t.Errorf("the token expired at %d", pc.Claims.Expiry)
			}
			env := append(baseEnv(home), pc.Env...)

			id := goWhoami(t, dir, env)
			e.secrets.Add(id.SecretAccessKey, "secret access key from AssumeRoleWithWebIdentity")
			e.secrets.Add(id.SessionToken, "session token from AssumeRoleWithWebIdentity")
			if tc.wantCode != "" {
				if id.Error == nil || id.Error.Code != tc.wantCode || id.Error.Operation != "AssumeRoleWithWebIdentity" {
					t.Errorf("aws-sdk-go-v2 got %+v (error %+v), want %s from AssumeRoleWithWebIdentity", id, id.Error, tc.wantCode)
				}
			} else {
				if id.Error != nil {
					t.Fatalf("aws-sdk-go-v2 GetCallerIdentity failed: %+v", id.Error)
				}
				if !strings.HasPrefix(id.Arn, tc.wantArn) || id.Account != accountID || !strings.HasPrefix(id.AccessKeyID, "ASIA") {
					t.Errorf("aws-sdk-go-v2 GetCallerIdentity = Arn %q Account %q with key %q; want Arn %s…, account %s, an ASIA key", id.Arn, id.Account, id.AccessKeyID, tc.wantArn, accountID)
				}
			}

			// irsa whoami, as run inside the pod, with the same env.
			wctx, wcancel := context.WithTimeout(ctx, 60*time.Second)
			defer wcancel()
			stdout, stderr, err := runCommand(wctx, dir, env, nil, irsaBin, "whoami", "--output", "json")
			t.Logf("irsa whoami --output json (%v):\n%s%s", err, stdout, stderr)
			sig := pc.Token[strings.LastIndexByte(pc.Token, '.')+1:]
			if strings.Contains(stdout+stderr, sig) {
				t.Errorf("irsa whoami printed the token")
			}
			var report whoamiReport
			if jerr := json.Unmarshal([]byte(stdout), &report); jerr != nil {
				t.Fatalf("irsa whoami --output json printed no report (%v, exit %v):\n%s%s", jerr, err, stdout, stderr)
			}
			if (err == nil) != report.OK {
				t.Errorf("irsa whoami exited with %v, but its report says ok=%v", err, report.OK)
			}
			got := whoamiSummary{OK: report.OK, TokenFile: report.WebIdentityToken.Path, TokenExists: report.WebIdentityToken.Exists, TokenSize: report.WebIdentityToken.SizeBytes,
				Issuer: report.WebIdentityToken.Claims.Issuer, Subject: report.WebIdentityToken.Claims.Subject, Arn: report.CallerIdentity.Arn,
				ErrorOperation: report.STSError.Operation, ErrorCode: report.STSError.Code}
			want := whoamiSummary{OK: tc.wantCode == "", TokenFile: pc.TokenFile, TokenExists: true, TokenSize: int64(len(pc.Token)),
				Issuer: issuer, Subject: "system:serviceaccount:" + tc.namespace + ":" + sa, Arn: got.Arn}
			if tc.wantCode != "" {
				want.ErrorOperation, want.ErrorCode, want.Arn = "AssumeRoleWithWebIdentity", tc.wantCode, ""
			} else if !strings.HasPrefix(got.Arn, tc.wantArn) {
				t.Errorf("irsa whoami: Arn %q, want %s…", got.Arn, tc.wantArn)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("irsa whoami's report (-want +got):\n%s", diff)
			}
		})
	}
	if leaks := e.secrets.FindIn(procOutputs(e.irsa.proc, e.webhook.proc)); len(leaks) != 0 {
		t.Errorf("secrets in the logs: %q", leaks)
	}
}

// whoamiReport is the part of `irsa whoami --output json` the test reads.
type whoamiReport struct {
	WebIdentityToken struct {
		Path      string `json:"path"`
		Exists    bool   `json:"exists"`
		SizeBytes int64  `json:"sizeBytes"`
		Claims    struct {
			Issuer  string `json:"iss"`
			Subject string `json:"sub"`
		} `json:"claims"`
	} `json:"webIdentityToken"`
	CallerIdentity struct {
		Arn string `json:"Arn"`
	} `json:"callerIdentity"`
	STSError struct {
		Operation string `json:"operation"`
		Code      string `json:"code"`
	} `json:"stsError"`
	OK bool `json:"ok"`
}

// whoamiSummary is what the test compares of a whoami report.
type whoamiSummary struct {
	OK                        bool
	TokenFile                 string
	TokenExists               bool
	TokenSize                 int64
	Issuer, Subject           string
	Arn                       string
	ErrorOperation, ErrorCode string
}
