package config_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/irsa-dev/irsa/internal/config"
	"github.com/irsa-dev/irsa/internal/podidentity"
	"github.com/irsa-dev/irsa/internal/store"
)

const podIdentityFile = `
clusters:
  - name: prod
    issuer: https://irsa.example.com/clusters/prod
  - name: legacy.irsa-only
    issuer: https://irsa.example.com/clusters/legacy
roles:
  - name: api
    trustPolicy: {Version: "2012-10-17", Statement: [{Effect: Allow, Principal: {Service: pods.eks.amazonaws.com}, Action: ["sts:AssumeRole", "sts:TagSession"]}]}
podIdentityAssociations:
  - cluster: prod
    namespace: payments
    serviceAccount: api
    roleArn: arn:aws:iam::{{accountId}}:role/api
    tags: {team: payments}
  - cluster: prod
    namespace: payments
    serviceAccount: reader
    roleArn: arn:aws:iam::{{accountId}}:role/api
    targetRoleArn: arn:aws:iam::222222222222:role/reader
    disableSessionTags: true
    policy: {Version: "2012-10-17", Statement: [{Effect: Allow, Action: "s3:GetObject", Resource: "*"}]}
`

func TestApplyPodIdentity(t *testing.T) {
	svc, st := newIAM(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	pi := &podidentity.Service{Store: st, Roles: st, Now: func() time.Time { return now }, Region: "eu-west-1"}
	vars := config.Vars{AccountID: "000000000000"}
	f, err := config.Parse([]byte(podIdentityFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := config.Apply(ctx, svc, vars, f); err != nil {
		t.Fatal(err)
	}
	rep, err := config.ApplyPodIdentity(ctx, pi, vars, f)
	if err != nil {
		t.Fatal(err)
	}
	if rep != (config.Report{Created: 3}) {
		t.Errorf("first apply: %s, want 3 created", rep)
	}
	c, err := st.GetCluster(ctx, "000000000000", "prod")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(store.Cluster{AccountID: "000000000000", Name: "prod", ARN: "arn:aws:eks:eu-west-1:000000000000:cluster/prod",
		Issuer: "https://irsa.example.com/clusters/prod", CreatedAt: now, Version: 1}, c); d != "" {
		t.Errorf("cluster (-want +got):\n%s", d)
	}
	if cs, err := st.ListClusters(ctx, "000000000000"); err != nil || len(cs) != 1 {
		t.Errorf("clusters %+v, %v: want prod only (legacy.irsa-only is not an EKS name)", cs, err)
	}
	list, err := st.ListPodIdentityAssociations(ctx, "000000000000", "prod")
	if err != nil || len(list) != 2 {
		t.Fatalf("associations %v, %v", list, err)
	}
	api, reader := list[0], list[1]
	if api.ServiceAccount != "api" || api.RoleARN != "arn:aws:iam::000000000000:role/api" || api.DisableSessionTags || api.Policy != "" ||
		!cmp.Equal(api.Tags, []store.Tag{{Key: "team", Value: "payments"}}) {
		t.Errorf("api association %+v", api)
	}
	if reader.TargetRoleARN != "arn:aws:iam::222222222222:role/reader" || reader.ExternalID == "" || !reader.DisableSessionTags ||
		reader.Policy != `{"Statement":[{"Action":"s3:GetObject","Effect":"Allow","Resource":"*"}],"Version":"2012-10-17"}` {
		t.Errorf("reader association %+v", reader)
	}

	// Applying again changes nothing.
	rep, err = config.ApplyPodIdentity(ctx, pi, vars, f)
	if err != nil {
		t.Fatal(err)
	}
	if rep != (config.Report{Unchanged: 3}) {
		t.Errorf("second apply: %s, want 3 unchanged", rep)
	}
	again, _ := st.ListPodIdentityAssociations(ctx, "000000000000", "prod")
	if d := cmp.Diff(list, again); d != "" {
		t.Errorf("a second apply changed the associations (-first +second):\n%s", d)
	}

	// An edited file converges: the new issuer, role and tags; the
	// target role removed (and its external ID with it).
	edited := strings.NewReplacer(
		"https://irsa.example.com/clusters/prod", "https://irsa.example.com/clusters/prod-v2",
		"tags: {team: payments}", "tags: {team: payments, tier: gold}",
		"    targetRoleArn: arn:aws:iam::222222222222:role/reader\n", "",
	).Replace(podIdentityFile)
	f2, err := config.Parse([]byte(edited))
	if err != nil {
		t.Fatal(err)
	}
	rep, err = config.ApplyPodIdentity(ctx, pi, vars, f2)
	if err != nil {
		t.Fatal(err)
	}
	if rep != (config.Report{Updated: 3}) {
		t.Errorf("edited apply: %s, want 3 updated", rep)
	}
	c, _ = st.GetCluster(ctx, "000000000000", "prod")
	if c.Issuer != "https://irsa.example.com/clusters/prod-v2" || !c.CreatedAt.Equal(now) {
		t.Errorf("cluster after edit %+v", c)
	}
	list, _ = st.ListPodIdentityAssociations(ctx, "000000000000", "prod")
	if len(list[0].Tags) != 2 || list[1].TargetRoleARN != "" || list[1].ExternalID != "" || list[1].ID != reader.ID {
		t.Errorf("after edit: %+v", list)
	}
}

func TestApplyPodIdentityReportsEKSErrors(t *testing.T) {
	_, st := newIAM(t)
	pi := &podidentity.Service{Store: st, Region: "eu-west-1"}
	f, err := config.Parse([]byte(`
clusters:
  - name: prod
    issuer: https://irsa.example.com/clusters/prod
podIdentityAssociations:
  - cluster: prod
    namespace: Payments
    serviceAccount: api
    roleArn: arn:aws:iam::000000000000:role/api
`))
	if err != nil {
		t.Fatal(err)
	}
	_, err = config.ApplyPodIdentity(context.Background(), pi, config.Vars{AccountID: "000000000000"}, f)
	if err == nil || !strings.Contains(err.Error(), "pod identity association prod Payments/api") || !strings.Contains(err.Error(), "InvalidParameterException: Namespace Payments is invalid") {
		t.Fatalf("got %v", err)
	}
}

func TestValidatePodIdentityAssociations(t *testing.T) {
	_, err := config.Parse([]byte(`
clusters:
  - name: prod
    issuer: https://irsa.example.com/clusters/prod
  - name: prod.eu
    issuer: https://irsa.example.com/clusters/prod-eu
podIdentityAssociations:
  - cluster: prod.eu
    namespace: a
    serviceAccount: b
    roleArn: arn:aws:iam::000000000000:role/r
  - cluster: staging
    namespace: a
    serviceAccount: b
    roleArn: arn:aws:iam::000000000000:role/r
  - cluster: prod
    namespace: a
  - cluster: prod
    namespace: a
    serviceAccount: b
    roleArn: arn:aws:iam::000000000000:role/r
    policy: {Version: "2012-10-17", Statement: []}
  - cluster: prod
    namespace: a
    serviceAccount: b
    roleArn: arn:aws:iam::000000000000:role/r
    disableSessionTags: true
`))
	for _, want := range []string{
		"podIdentityAssociations[0]: cluster prod.eu cannot serve EKS Pod Identity",
		"podIdentityAssociations[1]: cluster staging is not declared under clusters",
		"podIdentityAssociations[2]: cluster, namespace, serviceAccount and roleArn are required",
		"podIdentityAssociations[3] (a/b): policy needs disableSessionTags: true",
		"podIdentityAssociations[4]: the service account a/b of cluster prod has two associations",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error does not report %q: %v", want, err)
		}
	}
	// jwksUrl is optional; when given it must be https.
	if _, err := config.Parse([]byte("clusters:\n  - name: a\n    issuer: https://x\n")); err != nil {
		t.Errorf("a cluster without jwksUrl: %v", err)
	}
	if _, err := config.Parse([]byte("clusters:\n  - name: a\n    issuer: https://x\n    foo: 1\n")); err == nil {
		t.Errorf("an unknown key was accepted")
	}
	if _, err := config.Parse([]byte("podIdentityAssociations:\n  - cluster: a\n    bogus: 1\n")); err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Errorf("an unknown association key: %v", err)
	}
}
