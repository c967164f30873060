package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/irsa-dev/irsa/internal/app"
	"github.com/irsa-dev/irsa/internal/issuer"
)

// whoamiServer is a real irsa (STS, IAM, issuer) in process, with the role
// production/app may assume.
type whoamiServer struct {
	a   *app.App
	url string
	dir string
}

const (
	whoamiIssuer = "https://oidc.irsa.test/id/WHOAMI"
	whoamiRole   = "arn:aws:iam::000000000000:role/app"
)

func newWhoamiServer(t *testing.T) *whoamiServer {
	t.Helper()
	dir := t.TempDir()
	a, err := app.New(context.Background(), app.Config{DataDir: filepath.Join(dir, "data"), IssuerURL: whoamiIssuer})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	b := a.Bootstrap
	iamc := awsiam.NewFromConfig(aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider(b.RootAccessKeyID, b.RootSecretKey, ""),
		BaseEndpoint: aws.String(srv.URL),
	})
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + b.IssuerProviderARN +
		`"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"oidc.irsa.test/id/WHOAMI:sub":"system:serviceaccount:production:app","oidc.irsa.test/id/WHOAMI:aud":"sts.amazonaws.com"}}}]}`
	if _, err := iamc.CreateRole(context.Background(), &awsiam.CreateRoleInput{RoleName: aws.String("app"), AssumeRolePolicyDocument: aws.String(trust)}); err != nil {
		t.Fatal(err)
	}
	return &whoamiServer{a: a, url: srv.URL, dir: dir}
}

// tokenFile mints a token for namespace/sa and writes it, with the trailing
// newline a kubelet does not write but files often have, to a file.
func (s *whoamiServer) tokenFile(t *testing.T, namespace, sa string) (path, token string) {
	t.Helper()
	token, err := s.a.Issuer.Mint(context.Background(), issuer.TokenRequest{Namespace: namespace, ServiceAccount: sa, PodName: "app-0", ExpiresIn: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, token
}

// setAWSEnv gives the process exactly the AWS environment vars names (the
// AWS SDK reads the process environment), with no shared files, no IMDS
// and every other AWS variable empty.
func setAWSEnv(t *testing.T, vars map[string]string) {
	t.Helper()
	none := filepath.Join(t.TempDir(), "none")
	for _, name := range append(whoamiEnvVars, "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_DEFAULT_PROFILE") {
		t.Setenv(name, "")
	}
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", none)
	t.Setenv("AWS_CONFIG_FILE", none)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_MAX_ATTEMPTS", "1")
	for k, v := range vars {
		t.Setenv(k, v)
	}
}

// runWhoami runs `irsa whoami args…` in process with the process
// environment.
func runWhoami(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = Main(context.Background(), Env{
		Args:   append([]string{"whoami"}, args...),
		Stdout: &out, Stderr: &errOut,
		Getenv: os.Getenv,
	})
	return out.String(), errOut.String(), code
}

func TestWhoamiAgainstIrsa(t *testing.T) {
	s := newWhoamiServer(t)
	goodFile, goodToken := s.tokenFile(t, "production", "app")
	otherFile, otherToken := s.tokenFile(t, "staging", "app")
	b := s.a.Bootstrap
	podEnv := func(tokenFile string, extra ...string) map[string]string {
		m := map[string]string{
			"AWS_ROLE_ARN":                whoamiRole,
			"AWS_WEB_IDENTITY_TOKEN_FILE": tokenFile,
			"AWS_REGION":                  "us-east-1",
			"AWS_DEFAULT_REGION":          "us-east-1",
			"AWS_ENDPOINT_URL_STS":        s.url,
		}
		for i := 0; i+1 < len(extra); i += 2 {
			m[extra[i]] = extra[i+1]
		}
		return m
	}
	tests := []struct {
		name         string
		env          map[string]string
		wantCode     int
		wantArn      string // prefix of callerIdentity.Arn; "" for none
		wantSTSError *stsError
		wantProblems []string // substrings, one per problem
	}{
		{
			name:     "pod with its role",
			env:      podEnv(goodFile),
			wantCode: 0,
			wantArn:  "arn:aws:sts::000000000000:assumed-role/app/",
		},
		{
			name:         "token of a service account in another namespace",
			env:          podEnv(otherFile),
			wantCode:     1,
			wantSTSError: &stsError{Operation: "AssumeRoleWithWebIdentity", Code: "AccessDenied", Message: "Not authorized to perform sts:AssumeRoleWithWebIdentity"},
		},
		{
			name:         "role that does not trust the token",
			env:          podEnv(goodFile, "AWS_ROLE_ARN", "arn:aws:iam::000000000000:role/nosuch"),
			wantCode:     1,
			wantSTSError: &stsError{Operation: "AssumeRoleWithWebIdentity", Code: "AccessDenied", Message: "Not authorized to perform sts:AssumeRoleWithWebIdentity"},
		},
		{
			name:     "static keys win over the web identity",
			env:      podEnv(goodFile, "AWS_ACCESS_KEY_ID", b.RootAccessKeyID, "AWS_SECRET_ACCESS_KEY", b.RootSecretKey),
			wantCode: 1,
			wantArn:  "arn:aws:iam::000000000000:root",
			wantProblems: []string{
				"AWS_ACCESS_KEY_ID is set: the SDKs use these static keys",
				"STS answers for arn:aws:iam::000000000000:root, not for a session of AWS_ROLE_ARN",
			},
		},
		{
			name:     "token file missing",
			env:      podEnv(filepath.Join(s.dir, "nosuch", "token")),
			wantCode: 1,
			// The SDK fails before it calls STS, with its own words.
			wantSTSError: &stsError{Operation: "GetCallerIdentity", Message: "unable to read file at " + filepath.Join(s.dir, "nosuch", "token")},
			wantProblems: []string{"AWS_WEB_IDENTITY_TOKEN_FILE " + filepath.Join(s.dir, "nosuch", "token") + ": no such file"},
		},
		{
			name:         "no pod credentials at all",
			env:          map[string]string{"AWS_ENDPOINT_URL_STS": s.url},
			wantCode:     1,
			wantSTSError: &stsError{},
			wantProblems: []string{"no pod credentials in the environment"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setAWSEnv(t, tt.env)
			stdout, stderr, code := runWhoami(t, "--output", "json")
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, stdout, stderr)
			}
			for _, tok := range []string{goodToken, otherToken} {
				payload := strings.Split(tok, ".")[1]
				if strings.Contains(stdout+stderr, payload) {
					t.Fatalf("the output contains a token")
				}
			}
			var r whoamiReport
			if err := json.Unmarshal([]byte(stdout), &r); err != nil {
				t.Fatalf("not JSON: %v\n%s", err, stdout)
			}
			if r.OK != (tt.wantCode == 0) {
				t.Errorf("ok %v with exit %d", r.OK, code)
			}
			switch {
			case tt.wantArn == "" && r.CallerIdentity != nil:
				t.Errorf("caller identity %+v, want none", r.CallerIdentity)
			case tt.wantArn != "" && (r.CallerIdentity == nil || !strings.HasPrefix(r.CallerIdentity.Arn, tt.wantArn) || r.CallerIdentity.Account != "000000000000" || r.CallerIdentity.UserID == ""):
				t.Errorf("caller identity %+v, want Arn %s…", r.CallerIdentity, tt.wantArn)
			}
			switch {
			case tt.wantSTSError == nil && r.STSError != nil:
				t.Errorf("STS error %+v, want none", r.STSError)
			case tt.wantSTSError != nil && r.STSError == nil:
				t.Errorf("no STS error, want %+v", tt.wantSTSError)
			case tt.wantSTSError != nil:
				w, g := tt.wantSTSError, r.STSError
				if (w.Operation != "" && g.Operation != w.Operation) || (w.Code != "" && g.Code != w.Code) || g.Message == "" || !strings.Contains(g.Message, w.Message) {
					t.Errorf("STS error %+v, want %+v", g, w)
				}
				if w.Code != "" && !strings.Contains(stderr, "STS failed: "+w.Operation+": "+w.Code+": ") {
					t.Errorf("stderr does not name the operation and code:\n%s", stderr)
				}
			}
			if len(r.Problems) != len(tt.wantProblems) {
				t.Fatalf("problems %q, want %d like %q", r.Problems, len(tt.wantProblems), tt.wantProblems)
			}
			for i, p := range tt.wantProblems {
				if !strings.Contains(r.Problems[i], p) {
					t.Errorf("problem %d: %q, want it to contain %q", i, r.Problems[i], p)
				}
			}
			if code != 0 && !strings.HasPrefix(stderr, "irsa: whoami: ") {
				t.Errorf("stderr %q, want the one-line summary", stderr)
			}
		})
	}

	t.Run("the token's claims and file", func(t *testing.T) {
		setAWSEnv(t, podEnv(goodFile))
		stdout, _, code := runWhoami(t, "-o", "json")
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, stdout)
		}
		var r whoamiReport
		if err := json.Unmarshal([]byte(stdout), &r); err != nil {
			t.Fatal(err)
		}
		info, err := os.Stat(goodFile)
		if err != nil {
			t.Fatal(err)
		}
		got := r.WebIdentityToken
		if got == nil || got.Claims == nil {
			t.Fatalf("webIdentityToken %+v", got)
		}
		exp, iat := got.Claims.Expiry, got.Claims.IssuedAt
		if d := exp.Sub(iat); d != time.Hour {
			t.Errorf("exp - iat = %v, want 1h", d)
		}
		if time.Since(iat) > time.Minute || time.Since(iat) < -time.Minute {
			t.Errorf("iat %v is not now", iat)
		}
		want := &tokenFileReport{Path: goodFile, Exists: true, SizeBytes: info.Size(), Claims: &tokenClaims{
			Issuer: whoamiIssuer, Subject: "system:serviceaccount:production:app", Audience: []string{"sts.amazonaws.com"},
			Expiry: exp, IssuedAt: iat, Namespace: "production", ServiceAccount: "app", Pod: "app-0",
		}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("webIdentityToken (-want +got):\n%s", diff)
		}
		wantEnv := map[string]*string{}
		for _, name := range whoamiEnvVars {
			wantEnv[name] = nil
		}
		for k, v := range podEnv(goodFile) {
			wantEnv[k] = aws.String(v)
		}
		if diff := cmp.Diff(wantEnv, r.Environment); diff != "" {
			t.Errorf("environment (-want +got):\n%s", diff)
		}
		if r.Region != "us-east-1" || r.RegionDefaulted {
			t.Errorf("region %q defaulted %v", r.Region, r.RegionDefaulted)
		}
	})

	t.Run("text output", func(t *testing.T) {
		setAWSEnv(t, podEnv(goodFile, "AWS_REGION", "", "AWS_DEFAULT_REGION", ""))
		stdout, stderr, code := runWhoami(t)
		if code != 0 {
			t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
		}
		for _, want := range []string{
			"Environment:\n  AWS_ROLE_ARN                             " + whoamiRole + "\n",
			"  AWS_WEB_IDENTITY_TOKEN_FILE              " + goodFile + "\n",
			"  AWS_REGION                               (not set)\n",
			"Web identity token (AWS_WEB_IDENTITY_TOKEN_FILE):\n  file  " + goodFile + ": exists, ",
			"\n  iss   " + whoamiIssuer + "\n  sub   system:serviceaccount:production:app\n  aud   sts.amazonaws.com\n  exp   ",
			"  kubernetes.io  namespace production, service account app, pod app-0\n",
			"Caller identity (sts:GetCallerIdentity, region us-east-1, assumed: no AWS_REGION or AWS_DEFAULT_REGION):\n  Account  000000000000\n  Arn      arn:aws:sts::000000000000:assumed-role/app/",
			"\n  UserId   AROA",
			"OK: the environment is complete and STS answers for it.\n",
		} {
			if !strings.Contains(stdout, want) {
				t.Errorf("output lacks %q:\n%s", want, stdout)
			}
		}
		if !regexp.MustCompile(`\n  exp   \S+ \(in (1h0m0s|59m[0-5]?\ds)\)\n  iat   \S+ \((now|\d+s ago)\)\n`).MatchString(stdout) {
			t.Errorf("exp and iat not shown relative to now:\n%s", stdout)
		}
		if strings.Contains(stdout, strings.Split(goodToken, ".")[1]) {
			t.Error("the output contains the token")
		}
	})

	t.Run("text output of a failure", func(t *testing.T) {
		setAWSEnv(t, podEnv(otherFile))
		stdout, stderr, code := runWhoami(t)
		if code != ExitInvalid {
			t.Fatalf("exit %d, want %d", code, ExitInvalid)
		}
		if want := "  failed: AssumeRoleWithWebIdentity: AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity\n"; !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
		if strings.Contains(stdout, "OK:") {
			t.Errorf("a failure printed OK:\n%s", stdout)
		}
		if want := "irsa: whoami: STS failed: AssumeRoleWithWebIdentity: AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity\n"; stderr != want {
			t.Errorf("stderr %q, want %q", stderr, want)
		}
	})
}

func TestWhoamiUsage(t *testing.T) {
	for _, args := range [][]string{{"--output", "yaml"}, {"--timeout", "0s"}, {"extra"}} {
		_, stderr, code := runCLI(t, "", append([]string{"whoami"}, args...)...)
		if code != ExitUsage || !strings.HasPrefix(stderr, "irsa: ") {
			t.Errorf("whoami %v: exit %d, stderr %q; want %d", args, code, stderr, ExitUsage)
		}
	}
}

// unsignedJWT builds an unsigned compact token around a payload.
func unsignedJWT(payload string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256","kid":"k"}`)) + "." + enc([]byte(payload)) + ".c2lnbmF0dXJl"
}

func TestDecodeClaims(t *testing.T) {
	tests := []struct {
		name, token string
		want        *tokenClaims
		wantErr     string
	}{
		{
			name:  "audience as a string, as kube-apiserver's legacy tokens and some issuers write it",
			token: unsignedJWT(`{"iss":"https://issuer","sub":"system:serviceaccount:a:b","aud":"sts.amazonaws.com","exp":1749839504,"iat":1749753104}`),
			want: &tokenClaims{Issuer: "https://issuer", Subject: "system:serviceaccount:a:b", Audience: []string{"sts.amazonaws.com"},
				Expiry: time.Unix(1749839504, 0).UTC(), IssuedAt: time.Unix(1749753104, 0).UTC()},
		},
		{
			name:  "audience array and kubernetes.io claims",
			token: unsignedJWT(`{"iss":"i","sub":"s","aud":["sts.amazonaws.com","x"],"exp":2000000000.5,"kubernetes.io":{"namespace":"n","serviceaccount":{"name":"sa","uid":"u"}}}`),
			want:  &tokenClaims{Issuer: "i", Subject: "s", Audience: []string{"sts.amazonaws.com", "x"}, Expiry: time.Unix(2000000000, 0).UTC(), Namespace: "n", ServiceAccount: "sa"},
		},
		{
			name:  "legacy secret token without exp or aud",
			token: unsignedJWT(`{"iss":"kubernetes/serviceaccount","sub":"system:serviceaccount:default:x"}`),
			want:  &tokenClaims{Issuer: "kubernetes/serviceaccount", Subject: "system:serviceaccount:default:x"},
		},
		{
			name:  "padded payload",
			token: "e30." + base64.URLEncoding.EncodeToString([]byte(`{"sub":"padded!"}`)) + ".sig",
			want:  &tokenClaims{Subject: "padded!"},
		},
		{name: "two parts", token: "a.b", wantErr: "2 dot-separated parts, want 3 (header.payload.signature)"},
		{name: "JWE has five parts", token: "a.b.c.d.e", wantErr: "5 dot-separated parts"},
		{name: "payload not base64url", token: "a.!!!.c", wantErr: "the payload is not base64url"},
		{name: "payload not JSON", token: unsignedJWT("secret-looking-content"), wantErr: "the payload is not a JSON object of claims"},
		{name: "aud a number", token: unsignedJWT(`{"aud":5}`), wantErr: "the aud claim is neither a string nor an array of strings"},
		{name: "exp a string", token: unsignedJWT(`{"exp":"tomorrow"}`), wantErr: "the payload is not a JSON object of claims"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeClaims(tt.token)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "secret-looking") {
					t.Errorf("the error quotes the token: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("claims (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckEnvironment(t *testing.T) {
	dir := t.TempDir()
	now := time.Unix(1_800_000_000, 0).UTC()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	valid := write("valid", unsignedJWT(`{"iss":"i","sub":"s","aud":"sts.amazonaws.com","exp":1800003600,"iat":1799996400}`)+"\n")
	expired := write("expired", unsignedJWT(`{"iss":"i","sub":"s","aud":"sts.amazonaws.com","exp":1799999999,"iat":1799996400}`))
	empty := write("empty", "\n")
	garbage := write("garbage", "not a token at all")
	unreadable := write("unreadable", "x")
	if err := os.Chmod(unreadable, 0); err != nil {
		t.Fatal(err)
	}
	// Root reads any file: then the permission case is not one.
	_, rootReads := os.ReadFile(unreadable)
	const role = "arn:aws:iam::111122223333:role/app"
	tests := []struct {
		name string
		env  map[string]string
		want []string // problems, by substring
	}{
		{"complete IRSA environment", map[string]string{"AWS_ROLE_ARN": role, "AWS_WEB_IDENTITY_TOKEN_FILE": valid}, nil},
		{"complete Pod Identity environment", map[string]string{"AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://169.254.170.23/v1/credentials", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": valid}, nil},
		{"nothing", nil, []string{"no pod credentials in the environment"}},
		{"role without token file", map[string]string{"AWS_ROLE_ARN": role}, []string{"AWS_ROLE_ARN is set but AWS_WEB_IDENTITY_TOKEN_FILE is not"}},
		{"token file without role", map[string]string{"AWS_WEB_IDENTITY_TOKEN_FILE": valid}, []string{"AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not"}},
		{"not a role ARN", map[string]string{"AWS_ROLE_ARN": "arn:aws:iam::111122223333:user/app", "AWS_WEB_IDENTITY_TOKEN_FILE": valid}, []string{`AWS_ROLE_ARN "arn:aws:iam::111122223333:user/app" is not a role ARN`}},
		{"role name only", map[string]string{"AWS_ROLE_ARN": "app", "AWS_WEB_IDENTITY_TOKEN_FILE": valid}, []string{"is not a role ARN"}},
		{"expired token", map[string]string{"AWS_ROLE_ARN": role, "AWS_WEB_IDENTITY_TOKEN_FILE": expired}, []string{expired + ": the token expired at 2027-01-15T07:59:59Z"}},
		{"empty file", map[string]string{"AWS_ROLE_ARN": role, "AWS_WEB_IDENTITY_TOKEN_FILE": empty}, []string{empty + ": is empty"}},
		{"not a token", map[string]string{"AWS_ROLE_ARN": role, "AWS_WEB_IDENTITY_TOKEN_FILE": garbage}, []string{garbage + ": not a JWT: 1 dot-separated parts"}},
		{"a directory", map[string]string{"AWS_ROLE_ARN": role, "AWS_WEB_IDENTITY_TOKEN_FILE": dir}, []string{dir + ": is a directory"}},
		{"missing file", map[string]string{"AWS_ROLE_ARN": role, "AWS_WEB_IDENTITY_TOKEN_FILE": dir + "/nosuch"}, []string{"nosuch: no such file (is the projected token volume mounted at this path?)"}},
		{"Pod Identity without token file", map[string]string{"AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://169.254.170.23/v1/credentials"}, []string{"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE is not"}},
		{"Pod Identity token missing", map[string]string{"AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://x", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": dir + "/nosuch"}, []string{"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE " + dir + "/nosuch: no such file"}},
		{"static keys", map[string]string{"AWS_ROLE_ARN": role, "AWS_WEB_IDENTITY_TOKEN_FILE": valid, "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE"}, []string{"AWS_ACCESS_KEY_ID is set"}},
	}
	if rootReads != nil {
		tests = append(tests, struct {
			name string
			env  map[string]string
			want []string
		}{"unreadable file", map[string]string{"AWS_ROLE_ARN": role, "AWS_WEB_IDENTITY_TOKEN_FILE": unreadable}, []string{"permission denied (the token file is not readable by this user"}})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := checkEnvironment(func(k string) string { return tt.env[k] }, now)
			if len(r.Problems) != len(tt.want) {
				t.Fatalf("problems %q, want %d like %q", r.Problems, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if !strings.Contains(r.Problems[i], w) {
					t.Errorf("problem %q, want it to contain %q", r.Problems[i], w)
				}
			}
		})
	}
}

func TestDescribeSTSErrorTimeout(t *testing.T) {
	// A context deadline without any AWS error keeps the SDK's text.
	e := describeSTSError(context.DeadlineExceeded)
	if e.Code != "" || !strings.HasPrefix(e.Message, "no answer in time (--timeout): ") {
		t.Errorf("%+v", e)
	}
}
