package cli

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// isolateAWS makes the SDK's default configuration come from the
// environment the test sets only.
func isolateAWS(t *testing.T) {
	t.Helper()
	for _, k := range []string{"AWS_PROFILE", "AWS_DEFAULT_REGION", "AWS_SESSION_TOKEN", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"} {
		t.Setenv(k, "")
	}
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", dir+"/config")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", dir+"/credentials")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAAGENTCLITEST0001")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "agent-cli-test-secret")
	t.Setenv("AWS_REGION", "eu-west-1")
}

func TestAgentCommandErrors(t *testing.T) {
	isolateAWS(t)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"agent"}, "--cluster-name is required"},
		{[]string{"agent", "-c", "bad/name", "--endpoint", "http://127.0.0.1:1"}, "cluster name \"bad/name\""},
		{[]string{"agent", "-c", "c", "--bind-hosts", "localhost"}, "--bind-hosts: \"localhost\" is not an IP address"},
		{[]string{"agent", "-c", "c", "--port", "0"}, "--port must be a TCP port"},
		{[]string{"agent", "-c", "c", "--metrics-port", "70000"}, "--metrics-port must be a TCP port"},
		{[]string{"agent", "-c", "c", "--request-timeout", "0s"}, "--request-timeout must be positive"},
		{[]string{"agent", "-c", "c", "--max-service-qps", "0"}, "must be positive"},
		{[]string{"agent", "-c", "c", "--endpoint", "ftp://x"}, "must be an http or https URL"},
		{[]string{"agent", "-c", "c", "--bind-hosts", "192.0.2.77", "--port", "8080", "--probe-port", "0", "--metrics-port", "0", "--endpoint", "http://127.0.0.1:1"}, "run 'irsa agent setup-link' first"},
		{[]string{"agent", "setup-link", "--bind-hosts", "nope"}, "--bind-hosts: \"nope\" is not an IP address"},
		{[]string{"agent", "extra"}, "unknown command"},
	}
	for _, tt := range tests {
		code, _, errs := run(t, nil, tt.args...)
		if code != ExitUsage || !strings.Contains(errs, tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tt.args, code, errs, ExitUsage, tt.want)
		}
	}
	t.Setenv("AWS_REGION", "")
	if code, _, errs := run(t, nil, "agent", "-c", "c"); code != ExitUsage || !strings.Contains(errs, "no region") {
		t.Errorf("without a region: exit %d, %q", code, errs)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestAgentCommandServes runs `irsa agent` against a stand-in EKS Auth
// found through AWS_ENDPOINT_URL_EKS_AUTH, and asks it for credentials.
func TestAgentCommandServes(t *testing.T) {
	isolateAWS(t)
	var gotMu sync.Mutex // the server's handler writes, the test reads
	var gotAuth, gotPath, gotBody string
	eksAuth := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		gotMu.Lock()
		gotAuth, gotPath, gotBody = r.Header.Get("Authorization"), r.URL.Path, string(b)
		gotMu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"subject":{"namespace":"ns","serviceAccount":"sa"},"audience":"pods.eks.amazonaws.com",
			"podIdentityAssociation":{"associationArn":"arn:aws:eks:eu-west-1:111122223333:podidentityassociation/prod/a-1","associationId":"a-1"},
			"assumedRoleUser":{"arn":"arn:aws:sts::111122223333:assumed-role/r/eks-prod-p-1","assumeRoleId":"AROA:eks-prod-p-1"},
			"credentials":{"sessionToken":"tok","secretAccessKey":"sec","accessKeyId":"ASIAEXAMPLE","expiration":` +
			strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10) + `}}`))
	}))
	defer eksAuth.Close()
	port, probe := freePort(t), freePort(t)
	env := map[string]string{"AWS_ENDPOINT_URL_EKS_AUTH": eksAuth.URL, "AWS_ENDPOINT_URL": "http://127.0.0.1:1"}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	// The agent logs while the test reads.
	stderr := &syncBuffer{}
	go func() {
		done <- Main(ctx, Env{Args: []string{"agent", "-c", "prod", "-b", "127.0.0.1", "-p", strconv.Itoa(port),
			"--probe-port", strconv.Itoa(probe), "--metrics-port", "0"}, Stderr: stderr, Getenv: func(k string) string { return env[k] }})
	}()
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	var resp *http.Response
	var err error
	for range 100 {
		if resp, err = http.Get("http://127.0.0.1:" + strconv.Itoa(probe) + "/readyz"); err == nil {
			resp.Body.Close()
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("agent not ready: %v %v\n%s", resp, err, stderr.String())
	}
	token := "eyJhbGciOiJSUzI1NiJ9." + b64json(t, map[string]any{"exp": time.Now().Add(time.Hour).Unix()}) + ".c2ln"
	req, _ := http.NewRequest(http.MethodGet, base+"/v1/credentials", nil)
	req.Header.Set("Authorization", token)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]string
	_ = json.NewDecoder(resp.Body).Decode(&doc)
	resp.Body.Close()
	if resp.StatusCode != 200 || doc["AccessKeyId"] != "ASIAEXAMPLE" || doc["AccountId"] != "111122223333" {
		t.Errorf("credentials: %d %v", resp.StatusCode, doc)
	}
	gotMu.Lock()
	defer gotMu.Unlock()
	if gotPath != "/clusters/prod/assume-role-for-pod-identity" || !strings.Contains(gotAuth, "/eu-west-1/eks-auth/aws4_request") ||
		!strings.Contains(gotAuth, "AKIAAGENTCLITEST0001") || gotBody != `{"token":"`+token+`"}` {
		t.Errorf("EKS Auth request: path %q auth %q body %q", gotPath, gotAuth, gotBody)
	}
	if strings.Contains(stderr.String(), token) || strings.Contains(stderr.String(), "agent-cli-test-secret") {
		t.Error("the agent logged a token or its secret key")
	}
	cancel()
	select {
	case code := <-done:
		if code != ExitOK {
			t.Errorf("exit %d after cancel\n%s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("agent did not stop")
	}
}

func b64json(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
