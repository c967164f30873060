//go:build unix

package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

// agentProc is a running `irsa agent`.
type agentProc struct {
	URL     string // http://127.0.0.1:PORT/v1/credentials
	cmd     *exec.Cmd
	out     *syncBuffer
	exited  chan struct{}
	stopped sync.Once
}

// startAgent starts `irsa agent` for cluster on a free loopback port,
// talking to irsa at endpoint with the root key, and waits until it
// answers.
func startAgent(t *testing.T, srv *server, cluster string, extra ...string) *agentProc {
	t.Helper()
	addr, err := freeLoopbackAddr()
	if err != nil {
		t.Fatal(err)
	}
	host, port, _ := strings.Cut(addr, ":")
	args := append([]string{"agent", "--cluster-name", cluster, "--bind-hosts", host, "--port", port,
		"--probe-port", "0", "--metrics-port", "0", "--endpoint", srv.URL, "--log-level", "debug"}, extra...)
	a := &agentProc{URL: "http://" + addr + "/v1/credentials", out: &syncBuffer{}, exited: make(chan struct{})}
	a.cmd = exec.Command(irsaBin, args...)
	a.cmd.Env = append(cleanEnv(), "AWS_SHARED_CREDENTIALS_FILE="+srv.rootCredentialsFile(), "AWS_CONFIG_FILE=/dev/null", "AWS_REGION=us-east-1")
	a.cmd.Stdout, a.cmd.Stderr = a.out, a.out
	a.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = a.cmd.Wait(); close(a.exited) }()
	t.Cleanup(func() {
		a.stop()
		out := a.out.String()
		for _, f := range srv.Secrets.FindIn(map[string]string{"irsa agent": out}) {
			t.Error(f)
		}
		if t.Failed() {
			t.Logf("irsa agent output:\n%s", out)
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		// Without a token the agent answers 400: it is up.
		resp, err := http.Get(a.URL)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusBadRequest {
				return a
			}
		}
		select {
		case <-a.exited:
			t.Fatalf("irsa agent exited:\n%s", a.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("irsa agent did not answer on %s: %v\n%s", a.URL, err, a.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (a *agentProc) stop() {
	a.stopped.Do(func() {
		_ = syscall.Kill(-a.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-a.exited:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-a.cmd.Process.Pid, syscall.SIGKILL)
			<-a.exited
		}
	})
}

// containerCreds is the agent's answer to SDKs.
type containerCreds struct {
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string
	Token           string
	AccountID       string `json:"AccountId"`
	Expiration      time.Time
}

// fetch asks the agent for the credentials of tokenFile as an SDK does:
// the file's content as the Authorization header.
func (a *agentProc) fetch(t *testing.T, tokenFile string) (int, string, containerCreds) {
	t.Helper()
	tok, err := os.ReadFile(tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodGet, a.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", strings.TrimSpace(string(tok)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", a.URL, err)
	}
	body, err := readAllLimited(resp, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	var c containerCreds
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal([]byte(body), &c); err != nil {
			t.Fatalf("agent answered 200 with %q: %v", body, err)
		}
	}
	return resp.StatusCode, body, c
}

// podEnv is exactly the environment the webhook injects in Pod Identity
// mode, with the agent's loopback URL and irsa as STS.
func podEnv(t *testing.T, srv *server, a *agentProc, tokenFile string) []string {
	return clientEnv(t,
		"AWS_CONTAINER_CREDENTIALS_FULL_URI="+a.URL,
		"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE="+tokenFile,
		"AWS_ENDPOINT_URL_STS="+srv.URL,
		"AWS_REGION=us-east-1",
		"AWS_DEFAULT_REGION=us-east-1",
		"AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null")
}

// rootAWSConfig is a client configuration with the root key of srv.
func rootAWSConfig(t *testing.T, srv *server) aws.Config {
	t.Helper()
	shared, err := config.LoadSharedConfigProfile(context.Background(), "default", func(o *config.LoadSharedConfigOptions) {
		o.CredentialsFiles = []string{srv.rootCredentialsFile()}
		o.ConfigFiles = []string{}
	})
	if err != nil {
		t.Fatal(err)
	}
	return aws.Config{Region: "us-east-1", Credentials: credentials.StaticCredentialsProvider{Value: shared.Credentials}, BaseEndpoint: aws.String(srv.URL)}
}

// TestPodIdentityAgent runs the whole EKS Pod Identity chain with real
// clients: the quickstart's cluster and association (irsa up --config),
// `irsa agent` on loopback, and aws-sdk-go-v2's and boto3's container
// credentials providers with exactly the webhook's environment.
func TestPodIdentityAgent(t *testing.T) {
	srv := startServer(t, serverOptions{})
	ctx := context.Background()
	iamc := iam.NewFromConfig(rootAWSConfig(t, srv))
	dir := t.TempDir()

	// The session name is eks-CLUSTER-POD-UUID, 64 characters at most:
	// "eks-quickstart-s3-reader-7d9f" is cut to fit the UUID.
	// A second role for chaining, which a Pod Identity session of
	// production may assume and one of staging may not: its permission is
	// conditioned on the session tag kubernetes-namespace.
	mustIAM(t, "create role next", func() error {
		_, err := iamc.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("next"),
			AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + accountID + `:root"},"Action":"sts:AssumeRole"}]}`)})
		return err
	})
	chainPolicy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::` + accountID + `:role/next","Condition":{"StringEquals":{"aws:PrincipalTag/kubernetes-namespace":"production"}}}]}`
	// A role any namespace of the cluster may use, for the staging pod.
	mustIAM(t, "create role any-namespace", func() error {
		_, err := iamc.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("any-namespace"), MaxSessionDuration: aws.Int32(21600),
			AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession"],"Condition":{"StringEquals":{"aws:RequestTag/eks-cluster-name":"quickstart"}}}]}`)})
		return err
	})
	for _, role := range []string{"s3-reader-pod-identity", "any-namespace"} {
		mustIAM(t, "put chain policy on "+role, func() error {
			_, err := iamc.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String("chain"), PolicyDocument: aws.String(chainPolicy)})
			return err
		})
	}
	env := rootEnv(t, srv)
	for _, a := range [][]string{
		// staging/app may use any-namespace; staging/s3-reader is bound to
		// the production role, whose trust policy names production only.
		{"staging", "app", "any-namespace"},
		{"staging", "s3-reader", "s3-reader-pod-identity"},
	} {
		if out, errs, code := runProcess(t, "", env, "aws", "eks", "create-pod-identity-association", "--cluster-name", "quickstart",
			"--namespace", a[0], "--service-account", a[1], "--role-arn", "arn:aws:iam::"+accountID+":role/"+a[2]); code != 0 {
			t.Fatalf("aws eks create-pod-identity-association %v: exit %d\n%s%s", a, code, out, errs)
		}
	}

	agent := startAgent(t, srv, "quickstart")
	prodToken := podToken(t, srv, dir, "production", "production", "s3-reader", "s3-reader-7d9f")
	sessionRE := regexp.MustCompile(`^arn:aws:sts::` + accountID + `:assumed-role/s3-reader-pod-identity/eks-quickstart-s3-reader-7d-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

	t.Run("sdk container providers", func(t *testing.T) {
		for _, c := range []stsClient{goClient, boto3Client} {
			t.Run(c.name, func(t *testing.T) {
				c.require(t)
				id := c.whoami(t, podEnv(t, srv, agent, prodToken))
				if id.Error != nil {
					t.Fatalf("%s: %+v", c.name, id.Error)
				}
				srv.Secrets.Add(id.SecretAccessKey, c.name+"'s secret key")
				srv.Secrets.Add(id.SessionToken, c.name+"'s session token")
				if !sessionRE.MatchString(id.Arn) || id.Account != accountID || !strings.HasPrefix(id.AccessKeyID, "ASIA") {
					t.Errorf("%s: GetCallerIdentity = %s %s %s, want the association's role with an eks-quickstart-s3-reader-7d-UUID session", c.name, id.Arn, id.Account, id.AccessKeyID)
				}
			})
		}
	})

	t.Run("agent answers", func(t *testing.T) {
		code, body, creds := agent.fetch(t, prodToken)
		if code != 200 || creds.AccountID != accountID || !strings.HasPrefix(creds.AccessKeyID, "ASIA") || creds.SecretAccessKey == "" || creds.Token == "" {
			t.Fatalf("agent: %d %s", code, redactJSON(body))
		}
		srv.Secrets.Add(creds.SecretAccessKey, "agent secret key")
		srv.Secrets.Add(creds.Token, "agent session token")
		if left := time.Until(creds.Expiration); left < 5*time.Hour || left > 6*time.Hour+time.Minute {
			t.Errorf("credentials expire in %v, want the 6 hours EKS Pod Identity gives (the role allows them)", left)
		}
		// A second request is served from the cache: the same key.
		if _, _, again := agent.fetch(t, prodToken); again.AccessKeyID != creds.AccessKeyID {
			t.Errorf("second request got %s, want the cached %s", again.AccessKeyID, creds.AccessKeyID)
		}
	})

	t.Run("no association", func(t *testing.T) {
		tok := podToken(t, srv, dir, "dev", "dev", "app", "app-0")
		code, body, _ := agent.fetch(t, tok)
		if code != http.StatusBadRequest || !strings.Contains(body, "AccessDeniedException") {
			t.Errorf("agent for a service account without an association: %d %q, want 400 AccessDeniedException", code, body)
		}
		id := goClient.whoami(t, podEnv(t, srv, agent, tok))
		if id.Error == nil {
			t.Errorf("aws-sdk-go-v2 got credentials for a service account without an association: %s", id.Arn)
		}
	})

	t.Run("session tags", func(t *testing.T) {
		// Trust: staging/s3-reader is associated with the production role,
		// whose trust policy requires aws:RequestTag/kubernetes-namespace
		// production.
		tok := podToken(t, srv, dir, "staging-s3", "staging", "s3-reader", "s3-reader-0")
		if code, body, _ := agent.fetch(t, tok); code != http.StatusBadRequest || !strings.Contains(body, "AccessDeniedException") {
			t.Errorf("staging pod on the production role: %d %q, want 400 AccessDeniedException", code, body)
		}
		// Permissions: the production session may chain into next (its
		// aws:PrincipalTag/kubernetes-namespace is production), the
		// staging session of any-namespace may not.
		chain := func(tokenFile string) error {
			_, _, c := agent.fetch(t, tokenFile)
			if c.AccessKeyID == "" {
				return errors.New("no credentials from the agent")
			}
			srv.Secrets.Add(c.SecretAccessKey, "chained secret")
			srv.Secrets.Add(c.Token, "chained session token")
			cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
				Credentials: credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, c.Token)}
			_, err := sts.NewFromConfig(cfg).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + accountID + ":role/next"), RoleSessionName: aws.String("chained")})
			return err
		}
		if err := chain(prodToken); err != nil {
			t.Errorf("production session assuming next: %v", err)
		}
		// The refusal is in the trail with the pod's identity, and the
		// cross-namespace alert rule sees it (the caller of EKS Auth is
		// the agent; additionalEventData names the pod).
		out, errs, code := runProcess(t, "", clientEnv(t), irsaBin, "audit", "alerts", "--data-dir", srv.DataDir, "--output", "json")
		var alerts []struct {
			Rule, RoleArn, Subject string
		}
		if err := json.Unmarshal([]byte(out), &alerts); err != nil || code != 3 {
			t.Fatalf("irsa audit alerts: exit %d, %v\n%s%s", code, err, out, errs)
		}
		found := false
		for _, a := range alerts {
			found = found || a.Rule == "cross-namespace" && a.RoleArn == "arn:aws:iam::"+accountID+":role/s3-reader-pod-identity" && a.Subject == "system:serviceaccount:staging:s3-reader"
		}
		if !found {
			t.Errorf("no cross-namespace alert for staging/s3-reader on s3-reader-pod-identity: %s", out)
		}
		staging := podToken(t, srv, dir, "staging-app", "staging", "app", "app-1")
		var ae smithy.APIError
		if err := chain(staging); !errors.As(err, &ae) || ae.ErrorCode() != "AccessDenied" {
			t.Errorf("staging session assuming next: %v, want AccessDenied (aws:PrincipalTag/kubernetes-namespace is staging)", err)
		}
	})

	t.Run("single flight", func(t *testing.T) {
		tok := podToken(t, srv, dir, "burst", "production", "s3-reader", "burst-0")
		before := countEvents(t, srv, "AssumeRoleForPodIdentity")
		var wg sync.WaitGroup
		keys := make([]string, 100)
		for i := range keys {
			wg.Add(1)
			go func() {
				defer wg.Done()
				code, _, c := agent.fetch(t, tok)
				if code == 200 {
					keys[i] = c.AccessKeyID
				}
			}()
		}
		wg.Wait()
		for i, k := range keys {
			if k == "" || k != keys[0] {
				t.Fatalf("request %d got %q, request 0 %q: want one set of credentials for all", i, k, keys[0])
			}
		}
		if n := countEvents(t, srv, "AssumeRoleForPodIdentity") - before; n != 1 {
			t.Errorf("100 concurrent requests for one token made %d EKS Auth calls, want 1", n)
		}
	})

	t.Run("outage", func(t *testing.T) {
		_, _, cached := agent.fetch(t, prodToken)
		addr := strings.TrimPrefix(srv.URL, "http://")
		fresh := podToken(t, srv, dir, "fresh", "production", "s3-reader", "fresh-0")
		srv.Stop(t)
		code, body, during := agent.fetch(t, prodToken)
		if code != 200 || during.AccessKeyID != cached.AccessKeyID {
			t.Errorf("with irsa stopped, the cached token got %d %s, want the cached credentials %s", code, redactJSON(body), cached.AccessKeyID)
		}
		if code, body, _ := agent.fetch(t, fresh); code < 500 {
			t.Errorf("with irsa stopped, a new token got %d %q, want a 5xx", code, body)
		}
		back := startServer(t, serverOptions{DataDir: srv.DataDir, Addr: addr})
		back.Secrets = srv.Secrets
		if code, body, c := agent.fetch(t, fresh); code != 200 || c.AccessKeyID == "" {
			t.Errorf("after irsa came back, a new token got %d %s", code, redactJSON(body))
		}
	})
}

// podToken mints a Pod Identity token (audience pods.eks.amazonaws.com)
// into a file exactly as the kubelet writes a projected token: without a
// trailing newline, which botocore refuses in a header.
func podToken(t *testing.T, srv *server, dir, name, namespace, serviceAccount, pod string) string {
	t.Helper()
	path := srv.token(t, dir, name, "--audience", "pods.eks.amazonaws.com", "--namespace", namespace, "--service-account", serviceAccount, "--pod", pod)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(strings.TrimSpace(string(raw))), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// mustIAM runs an IAM call and fails the test on its error.
func mustIAM(t *testing.T, what string, call func() error) {
	t.Helper()
	if err := call(); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// countEvents counts the audit events named name.
func countEvents(t *testing.T, srv *server, name string) int {
	t.Helper()
	trail, _ := srv.auditTrail(t)
	return strings.Count(trail, `"eventName":"`+name+`"`)
}

// redactJSON hides the secret fields of a container-credentials answer in
// a failure message.
func redactJSON(body string) string {
	var m map[string]any
	if json.Unmarshal([]byte(body), &m) != nil {
		return body
	}
	for _, k := range []string{"SecretAccessKey", "Token"} {
		if _, ok := m[k]; ok {
			m[k] = "<redacted>"
		}
	}
	b, _ := json.Marshal(m)
	return string(b)
}
