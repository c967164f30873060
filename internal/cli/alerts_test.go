package cli

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/google/go-cmp/cmp"

	"github.com/irsa-dev/irsa/internal/app"
	"github.com/irsa-dev/irsa/internal/audit"
	"github.com/irsa-dev/irsa/internal/issuer"
)

const (
	alertsIssuer   = "https://oidc.irsa.test/id/ALERTS"
	alertsRole     = "arn:aws:iam::000000000000:role/app"
	alertsProdSub  = "system:serviceaccount:production:app"
	alertsStageSub = "system:serviceaccount:staging:app"
)

// alertsClock is the server's clock, moved by the test.
type alertsClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *alertsClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *alertsClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// alertsServer is a real irsa in process, on a test clock, with the role
// app that only production/app may assume.
type alertsServer struct {
	a     *app.App
	dir   string
	clock *alertsClock
}

func newAlertsServer(t *testing.T, start time.Time) *alertsServer {
	t.Helper()
	dir := t.TempDir()
	c := &alertsClock{now: start}
	a, err := app.New(context.Background(), app.Config{DataDir: dir, Now: c.Now, IssuerURL: alertsIssuer})
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
		Retryer:      func() aws.Retryer { return aws.NopRetryer{} },
	})
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + b.IssuerProviderARN +
		`"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"oidc.irsa.test/id/ALERTS:sub":"` + alertsProdSub + `"}}}]}`
	if _, err := iamc.CreateRole(context.Background(), &awsiam.CreateRoleInput{RoleName: aws.String("app"), AssumeRolePolicyDocument: aws.String(trust)}); err != nil {
		t.Fatal(err)
	}
	return &alertsServer{a: a, dir: dir, clock: c}
}

// token mints a service account token of namespace/app valid for an hour
// from the server's now.
func (s *alertsServer) token(t *testing.T, namespace string) string {
	t.Helper()
	tok, err := s.a.Issuer.Mint(context.Background(), issuer.TokenRequest{Namespace: namespace, ServiceAccount: "app", ExpiresIn: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// assume sends AssumeRoleWithWebIdentity for the role app with tok, through
// the server's handler, as if from ip, and checks the answer's status.
func (s *alertsServer) assume(t *testing.T, tok, ip string, wantStatus int) {
	t.Helper()
	form := url.Values{"Action": {"AssumeRoleWithWebIdentity"}, "Version": {"2011-06-15"}, "RoleArn": {alertsRole},
		"RoleSessionName": {"pod"}, "WebIdentityToken": {tok}}
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	req.RemoteAddr = ip + ":40000"
	rec := httptest.NewRecorder()
	s.a.Handler().ServeHTTP(rec, req)
	if rec.Code != wantStatus {
		t.Fatalf("AssumeRoleWithWebIdentity from %s: status %d, want %d: %s", ip, rec.Code, wantStatus, rec.Body)
	}
}

// normalTraffic is 26 hours of production/app assuming its role 2 to 4
// times an hour from the cluster's network, a fresh token each hour.
func (s *alertsServer) normalTraffic(t *testing.T) {
	t.Helper()
	for h := range 26 {
		tok := s.token(t, "production")
		n := 2 + h%3
		for range n {
			s.clock.advance(time.Hour / time.Duration(n+1))
			s.assume(t, tok, "10.0.1.5", http.StatusOK)
		}
		s.clock.advance(time.Hour / time.Duration(n+1))
	}
}

type alertSummary struct {
	Rule, RoleARN, Subject string
	SourceIPs              []string
	Count                  int
}

func runAlerts(t *testing.T, args ...string) ([]alertSummary, string, int) {
	t.Helper()
	stdout, stderr, code := runCLI(t, "", append([]string{"audit", "alerts", "--output", "json"}, args...)...)
	var alerts []audit.Alert
	if err := json.Unmarshal([]byte(stdout), &alerts); err != nil {
		t.Fatalf("alerts JSON: %v\n%s\nstderr: %s", err, stdout, stderr)
	}
	out := []alertSummary{}
	for _, a := range alerts {
		if a.Message == "" || a.First.IsZero() || a.Last.Before(a.First) || a.Severity == "" {
			t.Errorf("incomplete alert %+v", a)
		}
		out = append(out, alertSummary{a.Rule, a.RoleARN, a.Subject, a.SourceIPs, a.Count})
	}
	return out, stderr, code
}

// The scripted scenario, through the real STS path: a day of normal
// traffic stays quiet; then a staging pod tries the production role, a
// token is used from outside the cluster's network, another from two
// pods' addresses, and the role sees a burst. Each rule fires once.
func TestAuditAlertsScenario(t *testing.T) {
	// The clock starts at the real now (the IAM client signs with it) and
	// runs a day and more ahead; --at evaluates as of the clock.
	s := newAlertsServer(t, time.Now().UTC().Truncate(time.Second))
	s.normalTraffic(t)
	quietAt := s.clock.Now().Add(time.Second).Format(time.RFC3339)
	cidr := []string{"--allowed-cidr", "10.0.0.0/16", "--allowed-cidr", "fd00::/8"}

	got, stderr, code := runAlerts(t, append([]string{"--data-dir", s.dir, "--at", quietAt}, cidr...)...)
	if code != 0 || len(got) != 0 {
		t.Fatalf("normal traffic: exit %d, alerts %+v, stderr %s", code, got, stderr)
	}
	stdout, _, code := runCLI(t, "", append([]string{"audit", "alerts", "--data-dir", s.dir, "--at", quietAt}, cidr...)...)
	if code != 0 || !strings.HasPrefix(stdout, "no alerts (") {
		t.Errorf("normal traffic as a table: exit %d, %q", code, stdout)
	}

	// The incident hour.
	staging := s.token(t, "staging")
	for range 3 {
		s.clock.advance(time.Minute)
		s.assume(t, staging, "10.0.2.7", http.StatusForbidden)
	}
	s.clock.advance(time.Minute)
	s.assume(t, s.token(t, "production"), "203.0.113.50", http.StatusOK)
	replayed := s.token(t, "production")
	s.clock.advance(time.Minute)
	s.assume(t, replayed, "10.0.1.5", http.StatusOK)
	s.clock.advance(time.Minute)
	s.assume(t, replayed, "10.0.3.9", http.StatusOK)
	burst := s.token(t, "production")
	for range 25 {
		s.clock.advance(time.Second)
		s.assume(t, burst, "10.0.1.5", http.StatusOK)
	}
	at := s.clock.Now().Add(time.Second).Format(time.RFC3339)

	got, stderr, code = runAlerts(t, append([]string{"--data-dir", s.dir, "--at", at}, cidr...)...)
	want := []alertSummary{
		{audit.RuleCrossNamespace, alertsRole, alertsStageSub, []string{"10.0.2.7"}, 3},
		{audit.RuleOutsideCIDR, alertsRole, alertsProdSub, []string{"203.0.113.50"}, 1},
		{audit.RuleTokenReplay, alertsRole, alertsProdSub, []string{"10.0.1.5", "10.0.3.9"}, 2},
		{audit.RuleVolume, alertsRole, alertsProdSub + ", " + alertsStageSub, []string{"10.0.1.5", "10.0.2.7", "10.0.3.9", "203.0.113.50"}, 34},
	}
	if code != ExitAlerts || stderr != "" {
		t.Errorf("exit %d, want %d; stderr %q", code, ExitAlerts, stderr)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("alerts (-want +got):\n%s", diff)
	}

	// The table names every rule that fired.
	stdout, _, code = runCLI(t, "", append([]string{"audit", "alerts", "--data-dir", s.dir, "--at", at}, cidr...)...)
	if code != ExitAlerts || !strings.HasPrefix(stdout, "SEVERITY  RULE") {
		t.Errorf("table: exit %d\n%s", code, stdout)
	}
	for _, r := range []string{"HIGH      outside-cidr", "HIGH      token-replay", "MEDIUM    cross-namespace", "MEDIUM    volume-anomaly"} {
		if !strings.Contains(stdout, r) {
			t.Errorf("table lacks %q:\n%s", r, stdout)
		}
	}

	// Without allowed networks the outside rule is off; a higher floor
	// silences the burst.
	got, _, _ = runAlerts(t, "--data-dir", s.dir, "--at", at, "--min-count", "100")
	var rules []string
	for _, a := range got {
		rules = append(rules, a.Rule)
	}
	if diff := cmp.Diff([]string{audit.RuleCrossNamespace, audit.RuleTokenReplay}, rules); diff != "" {
		t.Errorf("rules without --allowed-cidr and with --min-count 100 (-want +got):\n%s", diff)
	}
}

// The alerts read AWS's own CloudTrail records as imported: the sub is
// only userIdentity.userName there.
func TestAuditAlertsImportedRecords(t *testing.T) {
	dir := t.TempDir()
	now := time.Now().UTC().Truncate(time.Second)
	e := &audit.Event{
		EventTime: now.Add(-time.Hour), EventSource: audit.SourceSTS, EventName: "AssumeRoleWithWebIdentity", AWSRegion: "us-east-1",
		SourceIPAddress: "192.0.2.10", ErrorCode: "AccessDenied", ErrorMessage: "Not authorized to perform sts:AssumeRoleWithWebIdentity",
		UserIdentity: &audit.UserIdentity{Type: audit.IdentityWebIdentityUser, UserName: alertsStageSub,
			PrincipalID: "arn:aws:iam::000000000000:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/X:sts.amazonaws.com:" + alertsStageSub},
		RequestParameters: map[string]any{"roleArn": alertsRole, "roleSessionName": "s"},
	}
	appendEvents(t, dir, e)
	got, _, code := runAlerts(t, "--data-dir", dir)
	want := []alertSummary{{audit.RuleCrossNamespace, alertsRole, alertsStageSub, []string{"192.0.2.10"}, 1}}
	if diff := cmp.Diff(want, got); diff != "" || code != ExitAlerts {
		t.Errorf("exit %d, alerts (-want +got):\n%s", code, diff)
	}
	// Out of --since, it does not alert.
	if got, _, code := runAlerts(t, "--data-dir", dir, "--since", "30m"); len(got) != 0 || code != 0 {
		t.Errorf("with --since 30m: exit %d, %+v", code, got)
	}
}

func TestAuditAlertsUsage(t *testing.T) {
	dir := t.TempDir()
	appendEvents(t, dir)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"bad CIDR", []string{"--allowed-cidr", "10.0.0.0/33"}, "--allowed-cidr"},
		{"bad window", []string{"--window", "0s"}, "--window must be positive"},
		{"bad baseline", []string{"--baseline-windows", "0"}, "--baseline-windows must be at least 1"},
		{"bad sigma", []string{"--sigma", "-1"}, "--sigma must be positive"},
		{"bad floor", []string{"--min-count", "0"}, "--min-count must be at least 1"},
		{"bad since", []string{"--since", "-1h"}, "--since must be positive"},
		{"bad at", []string{"--at", "yesterday"}, "--at must be an RFC 3339 time"},
		{"bad output", []string{"--output", "yaml"}, "--output must be table or json"},
		{"no store", []string{"--data-dir", filepath.Join(dir, "nope")}, "no irsa store in"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"audit", "alerts", "--data-dir", dir}, tt.args...)
			_, stderr, code := runCLI(t, "", args...)
			if code != ExitUsage || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, ExitUsage, tt.want)
			}
		})
	}
	// An empty trail has nothing to say, and a single address is a CIDR.
	stdout, stderr, code := runCLI(t, "", "audit", "alerts", "--data-dir", dir, "--allowed-cidr", "10.0.0.1", "--output", "json")
	if code != 0 || stdout != "[]\n" {
		t.Errorf("empty trail: exit %d, %q %q", code, stdout, stderr)
	}
}
