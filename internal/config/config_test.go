package config_test

import (
	"context"
	"crypto/rand"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/irsa-dev/irsa/internal/config"
	"github.com/irsa-dev/irsa/internal/iam"
	"github.com/irsa-dev/irsa/internal/podidentity"
	"github.com/irsa-dev/irsa/internal/store"
	"github.com/irsa-dev/irsa/internal/store/sqlstore"
)

func TestParseRejectsUnknownKeysAndReportsEverything(t *testing.T) {
	_, err := config.Parse([]byte("roles:\n  - name: a\n    trustPolicy: '{}'\n    shade: blue\n"))
	if err == nil || !strings.Contains(err.Error(), "shade") {
		t.Fatalf("an unknown key must be an error naming it, got %v", err)
	}
	_, err = config.Parse([]byte(`
oidcProviders:
  - url: ""
policies:
  - name: p
roles:
  - name: r
  - name: R
    trustPolicy: "{}"
    maxSessionDuration: 4294970896
    inlinePolicies:
      - name: x
`))
	if err == nil {
		t.Fatal("an invalid file was accepted")
	}
	for _, want := range []string{
		"oidcProviders[0]: url is required",
		"oidcProviders[0]: clientIds needs at least one client ID",
		"policies[0] (p): document is required",
		"roles[0] (r): trustPolicy is required",
		"roles[1]: role R is declared twice",
		"roles[1] (R): maxSessionDuration must be between 3600 and 43200 seconds, got 4294970896",
		"roles[1].inlinePolicies[0]: name and document are required",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not report %q:\n%v", want, err)
		}
	}
}

func TestDocumentsAsMappingsOrStrings(t *testing.T) {
	f, err := config.Parse([]byte(`
policies:
  - name: a
    document:
      Version: "2012-10-17"
      Statement: [{Effect: Allow, Action: "s3:GetObject", Resource: "*", Condition: {NumericLessThan: {"s3:max-keys": 10}}}]
  - name: b
    document: '{"Version":"2012-10-17","Statement":[]}'
`))
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Policies[0].Document.JSON; !strings.Contains(got, `"s3:max-keys":10`) || !strings.HasPrefix(got, "{") {
		t.Errorf("mapping document became %s", got)
	}
	if got := f.Policies[1].Document.JSON; got != `{"Version":"2012-10-17","Statement":[]}` {
		t.Errorf("string document became %s", got)
	}
}

func newIAM(t *testing.T) (*iam.Service, store.Store) {
	t.Helper()
	st, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "irsa.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.CreateAccount(context.Background(), store.Account{ID: "000000000000", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	return &iam.Service{Store: st, Now: time.Now, Rand: rand.Reader}, st
}

func TestApplyIsIdempotentAndConverges(t *testing.T) {
	svc, st := newIAM(t)
	ctx := context.Background()
	vars := config.Vars{AccountID: "000000000000", Issuer: "oidc.irsa.local/id/X"}
	f, err := config.Load("../../examples/quickstart.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := config.Apply(ctx, svc, vars, f)
	if err != nil {
		t.Fatal(err)
	}
	// The policy, the IRSA and Pod Identity roles, and the OIDC provider of
	// the quickstart cluster's issuer.
	if rep != (config.Report{Created: 4}) {
		t.Fatalf("first apply: %v", rep)
	}
	pi := &podidentity.Service{Store: st, Roles: st, Region: "us-east-1"}
	if rep, err := config.ApplyPodIdentity(ctx, pi, vars, f); err != nil || rep != (config.Report{Created: 2}) {
		t.Fatalf("pod identity apply: %v, %v (want the cluster and its association)", rep, err)
	}
	if a, err := st.FindPodIdentityAssociation(ctx, "000000000000", "quickstart", "production", "s3-reader"); err != nil || a.RoleARN != "arn:aws:iam::000000000000:role/s3-reader-pod-identity" {
		t.Errorf("quickstart association %+v, %v", a, err)
	}
	role, err := st.GetRole(ctx, "000000000000", "s3-reader")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(role.TrustPolicy, `"oidc.irsa.local/id/X:sub"`) || !strings.Contains(role.TrustPolicy, "arn:aws:iam::000000000000:oidc-provider/oidc.irsa.local/id/X") {
		t.Errorf("placeholders not expanded: %s", role.TrustPolicy)
	}
	if len(role.AttachedPolicyARNs) != 1 || role.AttachedPolicyARNs[0] != "arn:aws:iam::000000000000:policy/s3-read-reports" {
		t.Errorf("attached %v", role.AttachedPolicyARNs)
	}
	rep, err = config.Apply(ctx, svc, vars, f)
	if err != nil || rep != (config.Report{Unchanged: 4}) {
		t.Fatalf("second apply: %v, %v", rep, err)
	}
	if rep, err := config.ApplyPodIdentity(ctx, pi, vars, f); err != nil || rep != (config.Report{Unchanged: 2}) {
		t.Fatalf("second pod identity apply: %v, %v", rep, err)
	}

	// Changing the file converges the store: a new policy version, an
	// inline policy added, the attachment removed.
	changed, err := config.Parse([]byte(`
oidcProviders:
  - url: https://issuer.example.com/cluster-a
    clientIds: [sts.amazonaws.com]
policies:
  - name: s3-read-reports
    document: {Version: "2012-10-17", Statement: [{Effect: Allow, Action: "s3:GetObject", Resource: "arn:aws:s3:::example-bucket/*"}]}
roles:
  - name: s3-reader
    description: changed
    trustPolicy: {Version: "2012-10-17", Statement: [{Effect: Allow, Principal: {Federated: "arn:aws:iam::{{accountId}}:oidc-provider/{{issuer}}"}, Action: "sts:AssumeRoleWithWebIdentity"}]}
    inlinePolicies:
      - name: extra
        document: {Version: "2012-10-17", Statement: [{Effect: Allow, Action: "s3:ListBucket", Resource: "*"}]}
`))
	if err != nil {
		t.Fatal(err)
	}
	rep, err = config.Apply(ctx, svc, vars, changed)
	if err != nil {
		t.Fatal(err)
	}
	if rep != (config.Report{Created: 1, Updated: 2}) {
		t.Errorf("converging apply: %v", rep)
	}
	role, _ = st.GetRole(ctx, "000000000000", "s3-reader")
	if role.Description != "changed" || len(role.AttachedPolicyARNs) != 0 || len(role.InlinePolicies) != 1 {
		t.Errorf("role after converging: %+v", role)
	}
	mp, _ := st.GetPolicy(ctx, "arn:aws:iam::000000000000:policy/s3-read-reports")
	if mp.DefaultVersion != "v2" {
		t.Errorf("policy default version %s, want v2", mp.DefaultVersion)
	}
	if _, err := st.GetOIDCProvider(ctx, "arn:aws:iam::000000000000:oidc-provider/issuer.example.com/cluster-a"); err != nil {
		t.Errorf("provider: %v", err)
	}
}

func TestApplyReportsIAMErrors(t *testing.T) {
	svc, _ := newIAM(t)
	f, err := config.Parse([]byte(`
roles:
  - name: bad
    trustPolicy: {Version: "2012-10-17", Statement: [{Effect: Allow, Principal: {Federated: "arn:aws:iam::000000000000:oidc-provider/x"}, Action: "sts:AssumeRoleWithWebIdentity", Resource: "*"}]}
`))
	if err != nil {
		t.Fatal(err)
	}
	_, err = config.Apply(context.Background(), svc, config.Vars{AccountID: "000000000000"}, f)
	if err == nil || !strings.Contains(err.Error(), "role bad") || !strings.Contains(err.Error(), "Has prohibited field Resource") {
		t.Fatalf("got %v", err)
	}
}

func TestClustersRegisterTheirIssuer(t *testing.T) {
	_, err := config.Parse([]byte("clusters:\n  - name: a\n    issuer: http://x\n    jwksUrl: ftp://y\n  - name: a\n    issuer: https://z\n    jwksUrl: https://k/openid/v1/jwks\n"))
	for _, want := range []string{"clusters[0] (a): issuer must be an https:// URL", "clusters[0] (a): jwksUrl must be the API server's", "clusters[1]: cluster a or its issuer is declared twice"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error does not report %q: %v", want, err)
		}
	}
	svc, st := newIAM(t)
	f, err := config.Parse([]byte("clusters:\n  - name: prod\n    issuer: https://irsa.example.com/clusters/prod\n    jwksUrl: https://10.0.0.1:6443/openid/v1/jwks\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := config.Apply(context.Background(), svc, config.Vars{AccountID: "000000000000"}, f); err != nil {
		t.Fatal(err)
	}
	p, err := st.GetOIDCProvider(context.Background(), "arn:aws:iam::000000000000:oidc-provider/irsa.example.com/clusters/prod")
	if err != nil || p.ClientIDs[0] != "sts.amazonaws.com" {
		t.Fatalf("provider %+v, %v", p, err)
	}
}
