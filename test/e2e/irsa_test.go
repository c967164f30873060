//go:build unix

package e2e

import (
	"context"
	"encoding/json"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/google/go-cmp/cmp"
)

const (
	stsAudience = "sts.amazonaws.com"
	// seedIssuer is the issuer of testdata/seed-example/token.jwt, an EKS
	// issuer whose keys irsa cannot fetch here.
	seedIssuer = "https://oidc.eks.us-west-2.amazonaws.com/id/1234"
	seedSub    = "system:serviceaccount:k8s-namespace:service-account-name"
)

// webCase is one AssumeRoleWithWebIdentity attempt made through a client's
// default credential chain.
type webCase struct {
	name      string
	role      string // role name in the default account
	tokenFile string
	env       []string
	// wantCodes: the error code the client must surface (any of them); none
	// means the call succeeds.
	wantCodes []string
	// wantSession is the exact session name on success; empty means the
	// client generates one.
	wantSession string
}

// TestIRSA runs the whole IRSA loop against one `irsa up`: the IAM setup
// with each client's IAM API, then every web identity case with every
// client, and at the end (in the server's cleanup) the scan of the
// server's output for the secrets the test saw.
func TestIRSA(t *testing.T) {
	begin := time.Now()
	idp := newOIDCServer(t)
	ext := idp.addIssuer(t, "")
	srv := startServer(t, serverOptions{TrustCAs: []string{idp.CAFile}})
	t.Logf("irsa up ready in %v", time.Since(begin).Round(time.Millisecond))

	// The aws-sdk-go-v2 IAM flow registers what the web identity cases
	// need: the external provider with its role, and the seed example's EKS
	// provider with its role. It is not a subtest, so that -run cannot
	// filter it out.
	roleIDs := map[string]string{}
	goIAMFlow(t, srv, ext, roleIDs)
	if t.Failed() {
		t.FailNow()
	}

	cases := webIdentityCases(t, srv, ext, newTokenIssuer(t, idp.srv.URL+"/unregistered"), idp)
	t.Run("clients", func(t *testing.T) {
		for _, c := range stsClients {
			t.Run("web-identity/"+c.name, func(t *testing.T) {
				t.Parallel()
				c.require(t)
				envs := make([][]string, len(cases))
				started := make([]*process, len(cases))
				// A case filtered out by -run never waits for its process:
				// wait here, so that none outlives the test.
				t.Cleanup(func() {
					for _, p := range started {
						if p != nil {
							<-p.done
						}
					}
				})
				for i, tc := range cases {
					envs[i] = clientEnv(t, append(webIdentityEnv(srv, tc.role, tc.tokenFile), tc.env...)...)
					if c.parallelCases {
						started[i] = c.start(envs[i])
					}
				}
				for i, tc := range cases {
					if c.successOnly && len(tc.wantCodes) > 0 {
						continue
					}
					t.Run(tc.name, func(t *testing.T) {
						p := started[i]
						if p == nil {
							p = c.start(envs[i])
						}
						runWebCase(t, c, srv, tc, roleIDs, envs[i], p)
					})
				}
			})
		}
		t.Run("iam/aws-cli", func(t *testing.T) {
			t.Parallel()
			requireAWSCLI(t)
			spec := newIAMSpec(idp.addIssuer(t, "/cli"), "cli-reader", "cli")
			got := cliIAMFlow(t, srv, spec)
			checkIAMFlow(t, spec, got)
			webIdentityLoop(t, srv, spec, awsCLI)
		})
		t.Run("iam/boto3", func(t *testing.T) {
			t.Parallel()
			requireBoto3(t)
			spec := newIAMSpec(idp.addIssuer(t, "/boto3"), "boto3-reader", "boto3")
			got := boto3IAMFlow(t, srv, spec)
			checkIAMFlow(t, spec, got)
			webIdentityLoop(t, srv, spec, boto3Client)
		})
	})
	t.Logf("TestIRSA ran in %v", time.Since(begin).Round(time.Millisecond))
}

// webIdentityCases prepares every token file and returns the cases.
func webIdentityCases(t *testing.T, srv *server, ext, unregistered *tokenIssuer, idp *oidcServer) []webCase {
	t.Helper()
	dir := t.TempDir()
	now := time.Now()
	write := func(name, token, suffix string) string {
		srv.Secrets.AddToken(token, "token "+name)
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(token+suffix), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	sts := []string{stsAudience}

	builtinOK := srv.token(t, dir, "builtin-production", "--namespace", "production", "--service-account", "s3-reader", "--pod", "s3-reader-6f7c9d-abcde")
	builtinStaging := srv.token(t, dir, "builtin-staging", "--namespace", "staging", "--service-account", "s3-reader")
	builtinWrongAud := srv.token(t, dir, "builtin-wrong-audience", "--namespace", "production", "--service-account", "s3-reader", "--audience", "https://kubernetes.default.svc")
	seedLegacy := copyTestdata(t, srv, dir, "legacy-secret-token.jwt")
	seedToken := copyTestdata(t, srv, dir, "token.jwt")

	// Tokens of the external issuer: kubelet writes projected tokens
	// without a trailing newline, `irsa token > file` with one; both kinds
	// are covered.
	extOK := write("external-production", ext.sign(t, ext.projectedClaims("production", "s3-reader", sts, now, now.Add(time.Hour))), "")
	extExpired := write("external-expired", ext.sign(t, ext.projectedClaims("production", "s3-reader", sts, now.Add(-3*time.Hour), now.Add(-2*time.Hour))), "\n")
	extWrongAud := write("external-wrong-audience", ext.sign(t, ext.projectedClaims("production", "s3-reader", []string{"https://kubernetes.default.svc"}, now, now.Add(time.Hour))), "\n")
	extUnknownIssuer := write("unknown-issuer", unregistered.sign(t, unregistered.projectedClaims("production", "s3-reader", sts, now, now.Add(time.Hour))), "\n")
	served := idp.addIssuer(t, "/served-not-registered")
	extServedUnregistered := write("served-unregistered-issuer", served.sign(t, served.projectedClaims("production", "s3-reader", sts, now, now.Add(time.Hour))), "\n")
	extLegacy := write("external-legacy-secret", ext.sign(t, legacyClaims("kubernetes/serviceaccount", "production", "s3-reader")), "\n")
	extLegacyRegisteredIss := write("external-legacy-registered-issuer", ext.sign(t, legacyClaims(ext.URL, "production", "s3-reader")), "\n")

	// Offline, the seed example's EKS issuer does not resolve and irsa
	// cannot fetch its keys: IDPCommunicationError, before any look at exp
	// (the signature comes first). Where the host resolves, the answer
	// depends on what AWS serves there: a 404 makes the keys unusable
	// (InvalidIdentityToken).
	seedWant := []string{"IDPCommunicationError"}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if _, err := net.DefaultResolver.LookupHost(ctx, "oidc.eks.us-west-2.amazonaws.com"); err == nil {
		seedWant = append(seedWant, "InvalidIdentityToken")
		t.Logf("oidc.eks.us-west-2.amazonaws.com resolves: the seed token case also accepts InvalidIdentityToken")
	}

	return []webCase{
		{name: "builtin/production-ok", role: "s3-reader", tokenFile: builtinOK},
		{name: "builtin/production-ok-session-name", role: "s3-reader", tokenFile: builtinOK, env: []string{"AWS_ROLE_SESSION_NAME=e2e-session"}, wantSession: "e2e-session"},
		{name: "builtin/staging-service-account", role: "s3-reader", tokenFile: builtinStaging, wantCodes: []string{"AccessDenied"}},
		{name: "builtin/wrong-audience", role: "s3-reader", tokenFile: builtinWrongAud, wantCodes: []string{"InvalidIdentityToken"}},
		{name: "builtin/bad-session-name", role: "s3-reader", tokenFile: builtinOK, env: []string{"AWS_ROLE_SESSION_NAME=bad name"}, wantCodes: []string{"ValidationError"}},
		{name: "builtin/seed-legacy-secret-token", role: "s3-reader", tokenFile: seedLegacy, wantCodes: []string{"InvalidIdentityToken"}},
		{name: "external/production-ok", role: "ext-reader", tokenFile: extOK},
		{name: "external/expired", role: "ext-reader", tokenFile: extExpired, wantCodes: []string{"ExpiredTokenException"}},
		{name: "external/wrong-audience", role: "ext-reader", tokenFile: extWrongAud, wantCodes: []string{"InvalidIdentityToken"}},
		{name: "external/unknown-issuer", role: "ext-reader", tokenFile: extUnknownIssuer, wantCodes: []string{"InvalidIdentityToken"}},
		{name: "external/served-but-unregistered-issuer", role: "ext-reader", tokenFile: extServedUnregistered, wantCodes: []string{"InvalidIdentityToken"}},
		{name: "external/legacy-secret-style", role: "ext-reader", tokenFile: extLegacy, wantCodes: []string{"InvalidIdentityToken"}},
		{name: "external/legacy-claims-registered-issuer", role: "ext-reader", tokenFile: extLegacyRegisteredIss, wantCodes: []string{"InvalidIdentityToken"}},
		// A valid token of a registered provider the role does not trust.
		{name: "external/token-for-builtin-role", role: "s3-reader", tokenFile: extOK, wantCodes: []string{"AccessDenied"}},
		// SDKs retry IDPCommunicationError; one attempt is enough to see
		// the code.
		{name: "seed/eks-issuer-keys-unreachable", role: "seed-example", tokenFile: seedToken, env: []string{"AWS_MAX_ATTEMPTS=1"}, wantCodes: seedWant},
	}
}

// copyTestdata copies a seed-example token to dir and registers it.
func copyTestdata(t *testing.T, srv *server, dir, name string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "seed-example", name))
	if err != nil {
		t.Fatal(err)
	}
	srv.Secrets.AddToken(strings.TrimSpace(string(raw)), "seed-example "+name)
	path := filepath.Join(dir, "seed-"+name)
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// webIdentityEnv is a pod's environment as the EKS webhook injects it,
// with irsa as the endpoint.
func webIdentityEnv(srv *server, role, tokenFile string) []string {
	return []string{
		"AWS_ROLE_ARN=arn:aws:iam::" + accountID + ":role/" + role,
		"AWS_WEB_IDENTITY_TOKEN_FILE=" + tokenFile,
		"AWS_ENDPOINT_URL_STS=" + srv.URL,
		"AWS_ENDPOINT_URL=" + srv.URL,
		"AWS_REGION=us-east-1",
		"AWS_DEFAULT_REGION=us-east-1",
	}
}

var (
	sessionNamePattern = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
	accessKeyPattern   = regexp.MustCompile(`^ASIA[A-Z0-9]{16}$`)
)

func runWebCase(t *testing.T, c stsClient, srv *server, tc webCase, roleIDs map[string]string, env []string, p *process) {
	t.Helper()
	id := c.parse(t, env, p)
	t.Logf("%s answered in %v", c.name, p.took.Round(time.Millisecond))
	if len(tc.wantCodes) == 0 {
		checkAssumedRole(t, srv, id, tc.role, tc.wantSession, roleIDs[tc.role])
		return
	}
	checkClientError(t, c, id, tc.wantCodes)
}

// checkAssumedRole checks a successful GetCallerIdentity of an assumed
// role session and registers its credentials as secrets.
func checkAssumedRole(t *testing.T, srv *server, id identity, role, wantSession, roleID string) {
	t.Helper()
	if id.Error != nil {
		t.Fatalf("want the assumed role %s, got error %+v", role, *id.Error)
	}
	srv.Secrets.Add(id.SecretAccessKey, "secret access key of a session of "+role)
	srv.Secrets.Add(id.SessionToken, "session token of a session of "+role)
	if id.Account != accountID {
		t.Errorf("Account = %q, want %q", id.Account, accountID)
	}
	prefix := "arn:aws:sts::" + accountID + ":assumed-role/" + role + "/"
	session, ok := strings.CutPrefix(id.Arn, prefix)
	if !ok || !sessionNamePattern.MatchString(session) {
		t.Errorf("Arn = %q, want %s<session name>", id.Arn, prefix)
	}
	if wantSession != "" && session != wantSession {
		t.Errorf("session name = %q, want %q (AWS_ROLE_SESSION_NAME)", session, wantSession)
	}
	if roleID != "" && id.UserID != roleID+":"+session {
		t.Errorf("UserId = %q, want %q", id.UserID, roleID+":"+session)
	}
	if !accessKeyPattern.MatchString(id.AccessKeyID) {
		t.Errorf("AccessKeyId = %q, want ASIA and 16 upper-case letters or digits", id.AccessKeyID)
	}
	if len(id.SecretAccessKey) != 40 {
		t.Errorf("SecretAccessKey has %d characters, want 40", len(id.SecretAccessKey))
	}
	if id.SessionToken == "" {
		t.Errorf("no SessionToken")
	}
}

// modeledNames are the STS exceptions the SDKs model under another name
// than the wire code.
var modeledNames = map[string]string{
	"InvalidIdentityToken":  "InvalidIdentityTokenException",
	"IDPCommunicationError": "IDPCommunicationErrorException",
	"IDPRejectedClaim":      "IDPRejectedClaimException",
	"ExpiredTokenException": "ExpiredTokenException",
}

func checkClientError(t *testing.T, c stsClient, id identity, wantCodes []string) {
	t.Helper()
	if id.Error == nil {
		t.Fatalf("want error %s, got the identity %s", strings.Join(wantCodes, " or "), id.Arn)
	}
	e := id.Error
	matched := false
	for _, want := range wantCodes {
		if e.Code == want {
			matched = true
		}
	}
	if !matched {
		t.Fatalf("error code = %q (%s), want %s", e.Code, e.Message, strings.Join(wantCodes, " or "))
	}
	wantName := e.Code
	if n, ok := modeledNames[e.Code]; ok && c.modelsExceptions {
		wantName = n
	}
	if e.Name != wantName {
		t.Errorf("%s surfaced %s as %q, want %q", c.name, e.Code, e.Name, wantName)
	}
	if c.tellsOperation && e.Operation != "AssumeRoleWithWebIdentity" {
		t.Errorf("failing operation = %q, want AssumeRoleWithWebIdentity (the web identity provider's call)", e.Operation)
	}
	t.Logf("%s: %s", e.Code, e.Message)
}

// iamSpec is what each client's IAM flow registers: an OIDC provider of
// the test's external issuer, a role trusting one of its service accounts,
// an inline policy, and a simulation of two actions.
type iamSpec struct {
	issuer      *tokenIssuer
	ProviderURL string         `json:"providerUrl"`
	ClientIDs   []string       `json:"clientIds"`
	RoleName    string         `json:"roleName"`
	TrustPolicy map[string]any `json:"trustPolicy"`
	PolicyName  string         `json:"policyName"`
	Policy      map[string]any `json:"policy"`
	Simulate    struct {
		Actions  []string `json:"actions"`
		Resource string   `json:"resource"`
	} `json:"simulate"`
	// Namespace and ServiceAccount are the trusted service account.
	Namespace, ServiceAccount string
}

func newIAMSpec(issuer *tokenIssuer, roleName, namespace string) *iamSpec {
	host := strings.TrimPrefix(issuer.URL, "https://")
	s := &iamSpec{
		issuer:         issuer,
		ProviderURL:    issuer.URL,
		ClientIDs:      []string{stsAudience},
		RoleName:       roleName,
		PolicyName:     "read-reports",
		Namespace:      namespace,
		ServiceAccount: "s3-reader",
	}
	s.TrustPolicy = map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{map[string]any{
			"Sid":       "TrustOneServiceAccount",
			"Effect":    "Allow",
			"Principal": map[string]any{"Federated": "arn:aws:iam::" + accountID + ":oidc-provider/" + host},
			"Action":    "sts:AssumeRoleWithWebIdentity",
			"Condition": map[string]any{"StringEquals": map[string]any{
				host + ":sub": "system:serviceaccount:" + namespace + ":s3-reader",
				host + ":aud": stsAudience,
			}},
		}},
	}
	s.Policy = map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{map[string]any{
			"Sid":      "ReadReports",
			"Effect":   "Allow",
			"Action":   "s3:GetObject",
			"Resource": "arn:aws:s3:::e2e-bucket/reports/*",
		}},
	}
	s.Simulate.Actions = []string{"s3:GetObject", "s3:PutObject"}
	s.Simulate.Resource = "arn:aws:s3:::e2e-bucket/reports/q1.csv"
	return s
}

func (s *iamSpec) providerARN() string {
	return "arn:aws:iam::" + accountID + ":oidc-provider/" + strings.TrimPrefix(s.ProviderURL, "https://")
}

func (s *iamSpec) roleARN() string { return "arn:aws:iam::" + accountID + ":role/" + s.RoleName }

// iamFlowResult is what a client's IAM flow observed.
type iamFlowResult struct {
	ProviderARN    string            `json:"providerArn"`
	CreatedRoleARN string            `json:"createdRoleArn"`
	Decisions      map[string]string `json:"decisions"`
	Role           struct {
		Arn                      string
		RoleName                 string
		Path                     string
		MaxSessionDuration       int
		AssumeRolePolicyDocument any
	} `json:"role"`
	PolicyDocument any          `json:"policyDocument"`
	Error          *clientError `json:"error,omitempty"`
}

func checkIAMFlow(t *testing.T, spec *iamSpec, got iamFlowResult) {
	t.Helper()
	if got.Error != nil {
		t.Fatalf("IAM call %s failed: %s: %s", got.Error.Operation, got.Error.Code, got.Error.Message)
	}
	var want iamFlowResult
	want.ProviderARN = spec.providerARN()
	want.CreatedRoleARN = spec.roleARN()
	want.Decisions = map[string]string{"s3:GetObject": "allowed", "s3:PutObject": "implicitDeny"}
	want.Role.Arn, want.Role.RoleName, want.Role.Path, want.Role.MaxSessionDuration = spec.roleARN(), spec.RoleName, "/", 3600
	want.Role.AssumeRolePolicyDocument = jsonValue(t, spec.TrustPolicy)
	want.PolicyDocument = jsonValue(t, spec.Policy)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("IAM flow (-want +got):\n%s", diff)
	}
}

// webIdentityLoop closes the loop on a role a client registered: a valid
// token of the trusted service account assumes it, another service
// account's token is denied.
func webIdentityLoop(t *testing.T, srv *server, spec *iamSpec, c stsClient) {
	t.Helper()
	dir := t.TempDir()
	now := time.Now()
	for _, tc := range []struct {
		namespace string
		wantCode  string
	}{{spec.Namespace, ""}, {spec.Namespace + "-other", "AccessDenied"}} {
		tok := spec.issuer.sign(t, spec.issuer.projectedClaims(tc.namespace, spec.ServiceAccount, []string{stsAudience}, now, now.Add(time.Hour)))
		srv.Secrets.AddToken(tok, "token of "+tc.namespace+" for "+spec.RoleName)
		file := filepath.Join(dir, tc.namespace)
		if err := os.WriteFile(file, []byte(tok+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		id := c.whoami(t, clientEnv(t, webIdentityEnv(srv, spec.RoleName, file)...))
		if tc.wantCode == "" {
			checkAssumedRole(t, srv, id, spec.RoleName, "", "")
			continue
		}
		if id.Error == nil || id.Error.Code != tc.wantCode {
			t.Errorf("namespace %s on %s: want %s, got %+v", tc.namespace, spec.RoleName, tc.wantCode, id)
		}
	}
}

// rootEnv is the environment of an administrator using the root key file.
func rootEnv(t *testing.T, srv *server) []string {
	return clientEnv(t,
		"AWS_SHARED_CREDENTIALS_FILE="+srv.rootCredentialsFile(),
		"AWS_ENDPOINT_URL="+srv.URL,
		"AWS_REGION=us-east-1",
		"AWS_DEFAULT_REGION=us-east-1")
}

// cliIAMFlow runs the spec with `aws iam ...` commands.
func cliIAMFlow(t *testing.T, srv *server, spec *iamSpec) iamFlowResult {
	t.Helper()
	env := rootEnv(t, srv)
	dir := t.TempDir()
	trustFile, policyFile := filepath.Join(dir, "trust.json"), filepath.Join(dir, "policy.json")
	writeJSONFile(t, trustFile, spec.TrustPolicy)
	writeJSONFile(t, policyFile, spec.Policy)
	aws := func(out any, args ...string) {
		t.Helper()
		stdout, stderr, code := runProcess(t, "", env, "aws", append(append([]string{"iam"}, args...), "--output", "json")...)
		if code != 0 {
			t.Fatalf("aws iam %s: exit %d\n%s%s", strings.Join(args, " "), code, stdout, stderr)
		}
		if out != nil {
			if err := json.Unmarshal([]byte(stdout), out); err != nil {
				t.Fatalf("aws iam %s printed %q: %v", args[0], stdout, err)
			}
		}
	}
	var got iamFlowResult
	var provider struct{ OpenIDConnectProviderArn string }
	aws(&provider, append([]string{"create-open-id-connect-provider", "--url", spec.ProviderURL, "--client-id-list"}, spec.ClientIDs...)...)
	got.ProviderARN = provider.OpenIDConnectProviderArn
	var created struct{ Role struct{ Arn string } }
	aws(&created, "create-role", "--role-name", spec.RoleName, "--assume-role-policy-document", "file://"+trustFile)
	got.CreatedRoleARN = created.Role.Arn
	aws(nil, "put-role-policy", "--role-name", spec.RoleName, "--policy-name", spec.PolicyName, "--policy-document", "file://"+policyFile)
	var sim struct {
		EvaluationResults []struct{ EvalActionName, EvalDecision string }
	}
	aws(&sim, append(append([]string{"simulate-principal-policy", "--policy-source-arn", created.Role.Arn, "--action-names"}, spec.Simulate.Actions...), "--resource-arns", spec.Simulate.Resource)...)
	got.Decisions = map[string]string{}
	for _, r := range sim.EvaluationResults {
		got.Decisions[r.EvalActionName] = r.EvalDecision
	}
	var role struct{ Role json.RawMessage }
	aws(&role, "get-role", "--role-name", spec.RoleName)
	if err := json.Unmarshal(role.Role, &got.Role); err != nil {
		t.Fatal(err)
	}
	var inline struct{ PolicyDocument any }
	aws(&inline, "get-role-policy", "--role-name", spec.RoleName, "--policy-name", spec.PolicyName)
	got.PolicyDocument = inline.PolicyDocument
	return got
}

// boto3IAMFlow runs the spec with py/iam_flow.py.
func boto3IAMFlow(t *testing.T, srv *server, spec *iamSpec) iamFlowResult {
	t.Helper()
	specFile := filepath.Join(t.TempDir(), "spec.json")
	writeJSONFile(t, specFile, spec)
	stdout, stderr, _ := runProcess(t, "", rootEnv(t, srv), "python3", filepath.Join(moduleRoot, "test", "e2e", "py", "iam_flow.py"), specFile)
	var got iamFlowResult
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("iam_flow.py printed %q (%v); stderr:\n%s", stdout, err, stderr)
	}
	return got
}

// goIAMFlow is the aws-sdk-go-v2 IAM flow with the root key read from
// root-credentials by the SDK's shared-file loader. It registers the
// external issuer's provider and the ext-reader role (trusting
// production/s3-reader), and the seed example's EKS provider with the
// seed-example role; it records role IDs for the web identity cases.
func goIAMFlow(t *testing.T, srv *server, ext *tokenIssuer, roleIDs map[string]string) {
	t.Helper()
	ctx := context.Background()
	shared, err := config.LoadSharedConfigProfile(ctx, "default", func(o *config.LoadSharedConfigOptions) {
		o.CredentialsFiles = []string{srv.rootCredentialsFile()}
		o.ConfigFiles = []string{}
	})
	if err != nil {
		t.Fatalf("aws-sdk-go-v2 cannot read %s: %v", srv.rootCredentialsFile(), err)
	}
	if !strings.HasPrefix(shared.Credentials.AccessKeyID, "AKIA") || shared.Credentials.SecretAccessKey == "" {
		t.Fatalf("root-credentials holds %q and a secret of %d characters, want an AKIA key", shared.Credentials.AccessKeyID, len(shared.Credentials.SecretAccessKey))
	}
	cfg := aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.StaticCredentialsProvider{Value: shared.Credentials},
		BaseEndpoint: aws.String(srv.URL),
	}
	client := iam.NewFromConfig(cfg)

	// The root key is the account's root.
	who, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity with the root key: %v", err)
	}
	if got, want := aws.ToString(who.Arn), "arn:aws:iam::"+accountID+":root"; got != want {
		t.Errorf("root GetCallerIdentity Arn = %q, want %q", got, want)
	}

	// The quickstart's role exists, applied by --config.
	s3Reader, err := client.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("s3-reader")})
	if err != nil {
		t.Fatalf("GetRole s3-reader (from examples/quickstart.yaml): %v", err)
	}
	roleIDs["s3-reader"] = aws.ToString(s3Reader.Role.RoleId)

	spec := newIAMSpec(ext, "ext-reader", "production")
	var got iamFlowResult
	prov, err := client.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String(spec.ProviderURL), ClientIDList: spec.ClientIDs})
	if err != nil {
		t.Fatalf("CreateOpenIDConnectProvider %s: %v", spec.ProviderURL, err)
	}
	got.ProviderARN = aws.ToString(prov.OpenIDConnectProviderArn)
	created, err := client.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(spec.RoleName), AssumeRolePolicyDocument: aws.String(jsonString(t, spec.TrustPolicy))})
	if err != nil {
		t.Fatalf("CreateRole: %v", err)
	}
	got.CreatedRoleARN = aws.ToString(created.Role.Arn)
	roleIDs[spec.RoleName] = aws.ToString(created.Role.RoleId)
	if _, err := client.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(spec.RoleName), PolicyName: aws.String(spec.PolicyName), PolicyDocument: aws.String(jsonString(t, spec.Policy))}); err != nil {
		t.Fatalf("PutRolePolicy: %v", err)
	}
	sim, err := client.SimulatePrincipalPolicy(ctx, &iam.SimulatePrincipalPolicyInput{PolicySourceArn: created.Role.Arn, ActionNames: spec.Simulate.Actions, ResourceArns: []string{spec.Simulate.Resource}})
	if err != nil {
		t.Fatalf("SimulatePrincipalPolicy: %v", err)
	}
	got.Decisions = map[string]string{}
	for _, r := range sim.EvaluationResults {
		got.Decisions[aws.ToString(r.EvalActionName)] = string(r.EvalDecision)
	}
	role, err := client.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(spec.RoleName)})
	if err != nil {
		t.Fatalf("GetRole: %v", err)
	}
	got.Role.Arn, got.Role.RoleName, got.Role.Path = aws.ToString(role.Role.Arn), aws.ToString(role.Role.RoleName), aws.ToString(role.Role.Path)
	got.Role.MaxSessionDuration = int(aws.ToInt32(role.Role.MaxSessionDuration))
	got.Role.AssumeRolePolicyDocument = decodePolicyDocument(t, aws.ToString(role.Role.AssumeRolePolicyDocument))
	inline, err := client.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(spec.RoleName), PolicyName: aws.String(spec.PolicyName)})
	if err != nil {
		t.Fatalf("GetRolePolicy: %v", err)
	}
	got.PolicyDocument = decodePolicyDocument(t, aws.ToString(inline.PolicyDocument))
	checkIAMFlow(t, spec, got)

	// The seed example's EKS issuer and a role trusting its service account.
	if _, err := client.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String(seedIssuer), ClientIDList: []string{stsAudience}}); err != nil {
		t.Fatalf("CreateOpenIDConnectProvider %s: %v", seedIssuer, err)
	}
	seedHost := strings.TrimPrefix(seedIssuer, "https://")
	seedTrust := map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{map[string]any{
			"Effect":    "Allow",
			"Principal": map[string]any{"Federated": "arn:aws:iam::" + accountID + ":oidc-provider/" + seedHost},
			"Action":    "sts:AssumeRoleWithWebIdentity",
			"Condition": map[string]any{"StringEquals": map[string]any{seedHost + ":sub": seedSub, seedHost + ":aud": stsAudience}},
		}},
	}
	if _, err := client.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("seed-example"), AssumeRolePolicyDocument: aws.String(jsonString(t, seedTrust))}); err != nil {
		t.Fatalf("CreateRole seed-example: %v", err)
	}
}

// decodePolicyDocument undoes IAM's URL encoding of returned documents.
func decodePolicyDocument(t *testing.T, encoded string) any {
	t.Helper()
	doc, err := url.QueryUnescape(encoded)
	if err != nil {
		t.Fatalf("policy document %q is not URL-encoded: %v", encoded, err)
	}
	var v any
	if err := json.Unmarshal([]byte(doc), &v); err != nil {
		t.Fatalf("policy document %q: %v", doc, err)
	}
	return v
}

func jsonString(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// jsonValue is v as encoding/json decodes it into an any.
func jsonValue(t *testing.T, v any) any {
	t.Helper()
	var out any
	if err := json.Unmarshal([]byte(jsonString(t, v)), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func writeJSONFile(t *testing.T, path string, v any) {
	t.Helper()
	if err := os.WriteFile(path, []byte(jsonString(t, v)), 0o600); err != nil {
		t.Fatal(err)
	}
}
