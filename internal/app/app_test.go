package app_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/irsa-dev/irsa/internal/app"
	"github.com/irsa-dev/irsa/internal/issuer"
	"github.com/irsa-dev/irsa/internal/sigv4"
)

// clock is a settable clock shared by the server and the test.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

type server struct {
	t     *testing.T
	a     *app.App
	url   string
	clock *clock
	dir   string
}

func newServer(t *testing.T) *server {
	t.Helper()
	return newServerWith(t, func(*app.Config) {})
}

// newServerWith is newServer with a configuration changed by edit.
func newServerWith(t *testing.T, edit func(*app.Config)) *server {
	t.Helper()
	dir := t.TempDir()
	c := &clock{now: time.Now().UTC().Truncate(time.Second)}
	cfg := app.Config{DataDir: dir, Now: c.Now, IssuerURL: "https://oidc.irsa.test/id/APPTEST"}
	edit(&cfg)
	a, err := app.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	return &server{t: t, a: a, url: srv.URL, clock: c, dir: dir}
}

func (s *server) awsConfig(id, secret, token string) aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider(id, secret, token),
		BaseEndpoint: aws.String(s.url),
		// The server's clock drives expiry; the signer uses the test clock.
		Retryer: func() aws.Retryer { return aws.NopRetryer{} },
	}
}

func (s *server) stsClient(id, secret, token string) *awssts.Client {
	return awssts.NewFromConfig(s.awsConfig(id, secret, token))
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	if err == nil {
		return ""
	}
	return "untyped: " + err.Error()
}

func TestFirstStartWritesRootCredentials(t *testing.T) {
	s := newServer(t)
	b := s.a.Bootstrap
	if !b.CreatedRootKey || !strings.HasPrefix(b.RootAccessKeyID, "AKIA") {
		t.Fatalf("bootstrap %+v", b)
	}
	content, err := os.ReadFile(filepath.Join(s.dir, "root-credentials"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(content), "[default]\naws_access_key_id = "+b.RootAccessKeyID+"\naws_secret_access_key = "+b.RootSecretKey+"\n") {
		t.Fatalf("credentials file:\n%s", content)
	}
	info, _ := os.Stat(filepath.Join(s.dir, "root-credentials"))
	if info.Mode().Perm() != 0o600 {
		t.Errorf("credentials file mode %v, want 0600", info.Mode().Perm())
	}
	// A second start finds the same key and creates nothing.
	again, err := app.New(context.Background(), app.Config{DataDir: s.dir, IssuerURL: "https://oidc.irsa.test/id/APPTEST"})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if again.Bootstrap.CreatedRootKey || again.Bootstrap.RootAccessKeyID != b.RootAccessKeyID {
		t.Fatalf("second start %+v", again.Bootstrap)
	}
}

func TestSignedCalls(t *testing.T) {
	s := newServer(t)
	b := s.a.Bootstrap
	ctx := context.Background()
	out, err := s.stsClient(b.RootAccessKeyID, b.RootSecretKey, "").GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.Arn) != "arn:aws:iam::000000000000:root" || aws.ToString(out.Account) != "000000000000" {
		t.Fatalf("root identity %v %v", aws.ToString(out.Arn), aws.ToString(out.Account))
	}

	tests := []struct {
		name, id, secret, token, want string
	}{
		{"unknown key", "AKIAAAAAAAAAAAAAAAAA", b.RootSecretKey, "", "InvalidClientTokenId"},
		{"wrong secret", b.RootAccessKeyID, "wrong-secret-wrong-secret-wrong-secret-", "", "SignatureDoesNotMatch"},
		{"temporary key without token", "ASIAAAAAAAAAAAAAAAAA", "x", "", "InvalidClientTokenId"},
		{"temporary key with a forged token", "ASIAAAAAAAAAAAAAAAAA", "x", "AQJrMWFhYWFhYWFhYWFhYWFh", "InvalidClientTokenId"},
		{"long-term key with a token", b.RootAccessKeyID, b.RootSecretKey, "token", "InvalidClientTokenId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.stsClient(tt.id, tt.secret, tt.token).GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
			if got := apiCode(err); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

// rawQuery posts a form to the server, unsigned or signed by sign.
func (s *server) rawQuery(t *testing.T, form url.Values, sign func(*http.Request, []byte)) (int, string) {
	t.Helper()
	body := []byte(form.Encode())
	req, _ := http.NewRequest(http.MethodPost, s.url+"/", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	if sign != nil {
		sign(req, body)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.Header.Get("x-amzn-RequestId") == "" {
		t.Error("no x-amzn-RequestId header")
	}
	return resp.StatusCode, string(b)
}

func TestQueryProtocolErrors(t *testing.T) {
	s := newServer(t)
	b := s.a.Bootstrap
	tests := []struct {
		name   string
		form   url.Values
		signed bool
		status int
		code   string
	}{
		{"unsigned GetCallerIdentity", url.Values{"Action": {"GetCallerIdentity"}, "Version": {"2011-06-15"}}, false, 403, "<Code>MissingAuthenticationToken</Code>"},
		{"unsigned IAM call", url.Values{"Action": {"ListRoles"}, "Version": {"2010-05-08"}}, false, 403, "<Code>MissingAuthenticationToken</Code>"},
		{"unknown STS action", url.Values{"Action": {"Nope"}, "Version": {"2011-06-15"}}, true, 400, "<Code>InvalidAction</Code>"},
		{"missing version", url.Values{"Action": {"GetCallerIdentity"}}, false, 400, "<Code>MissingParameter</Code>"},
		{"AssumeRoleWithWebIdentity without a token", url.Values{"Action": {"AssumeRoleWithWebIdentity"}, "Version": {"2011-06-15"}, "RoleArn": {"arn:aws:iam::000000000000:role/x"}, "RoleSessionName": {"s"}}, false, 400, "<Code>ValidationError</Code>"},
		{"a garbage token", url.Values{"Action": {"AssumeRoleWithWebIdentity"}, "Version": {"2011-06-15"}, "RoleArn": {"arn:aws:iam::000000000000:role/x"}, "RoleSessionName": {"sess"}, "WebIdentityToken": {"not-a-jwt"}}, false, 400, "<Code>InvalidIdentityToken</Code>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sign func(*http.Request, []byte)
			if tt.signed {
				sign = func(r *http.Request, body []byte) {
					sigv4.Sign(r, body, b.RootAccessKeyID, b.RootSecretKey, "", "us-east-1", "sts", time.Now())
				}
			}
			status, body := s.rawQuery(t, tt.form, sign)
			if status != tt.status || !strings.Contains(body, tt.code) || !strings.Contains(body, "<RequestId>") {
				t.Errorf("status %d body %s; want %d with %s", status, body, tt.status, tt.code)
			}
		})
	}
	// A signature scoped to IAM is refused by STS.
	status, body := s.rawQuery(t, url.Values{"Action": {"GetCallerIdentity"}, "Version": {"2011-06-15"}}, func(r *http.Request, body []byte) {
		sigv4.Sign(r, body, b.RootAccessKeyID, b.RootSecretKey, "", "us-east-1", "iam", time.Now())
	})
	if status != 403 || !strings.Contains(body, "SignatureDoesNotMatch") {
		t.Errorf("IAM-scoped signature on STS: %d %s", status, body)
	}
}

func TestSessionCredentialsWorkAndExpire(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	b := s.a.Bootstrap
	root := s.awsConfig(b.RootAccessKeyID, b.RootSecretKey, "")
	iamc := awsiam.NewFromConfig(root)
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + b.IssuerProviderARN + `"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"oidc.irsa.test/id/APPTEST:sub":"system:serviceaccount:production:app"}}}]}`
	if _, err := iamc.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("app"), AssumeRolePolicyDocument: aws.String(trust)}); err != nil {
		t.Fatal(err)
	}
	tok, err := s.a.Issuer.Mint(ctx, issuer.TokenRequest{Namespace: "production", ServiceAccount: "app"})
	if err != nil {
		t.Fatal(err)
	}
	anon := s.awsConfig("", "", "")
	anon.Credentials = nil
	out, err := awssts.NewFromConfig(anon).AssumeRoleWithWebIdentity(ctx, &awssts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String("arn:aws:iam::000000000000:role/app"), RoleSessionName: aws.String("pod"), WebIdentityToken: aws.String(tok + "\n"), DurationSeconds: aws.Int32(900),
	})
	if err != nil {
		t.Fatal(err)
	}
	c := out.Credentials
	sess := s.stsClient(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))
	id, err := sess.GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(id.Arn) != "arn:aws:sts::000000000000:assumed-role/app/pod" {
		t.Fatalf("session identity %s", aws.ToString(id.Arn))
	}
	// The session has no IAM permissions.
	_, err = awsiam.NewFromConfig(s.awsConfig(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))).ListRoles(ctx, &awsiam.ListRolesInput{})
	if apiCode(err) != "AccessDenied" {
		t.Errorf("a session without permissions listing roles: %s", apiCode(err))
	}
	// Another session's token with this key is refused.
	_, err = s.stsClient(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), "x"+aws.ToString(c.SessionToken)[1:]).GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
	if apiCode(err) != "InvalidClientTokenId" {
		t.Errorf("a tampered session token: %s", apiCode(err))
	}
	// Past its expiry the session is refused with ExpiredToken.
	s.clock.Add(16 * time.Minute)
	_, err = sess.GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
	if apiCode(err) != "ExpiredToken" {
		t.Errorf("an expired session: %s", apiCode(err))
	}
}

func TestIssuerRoutes(t *testing.T) {
	s := newServer(t)
	for _, path := range []string{"/.well-known/openid-configuration", "/id/APPTEST/.well-known/openid-configuration", "/openid/v1/jwks", "/id/APPTEST/openid/v1/jwks", "/healthz", "/readyz", "/metrics"} {
		resp, err := http.Get(s.url + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET %s: %d %s", path, resp.StatusCode, b)
		}
		if strings.HasSuffix(path, "openid-configuration") && !strings.Contains(string(b), `"issuer":"https://oidc.irsa.test/id/APPTEST"`) {
			t.Errorf("discovery %s", b)
		}
		if strings.HasSuffix(path, "jwks") && (resp.Header.Get("Content-Type") != "application/jwk-set+json" || !strings.Contains(string(b), `"kid"`)) {
			t.Errorf("jwks %s %s", resp.Header.Get("Content-Type"), b)
		}
	}
}
