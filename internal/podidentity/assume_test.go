package podidentity_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/irsa-dev/irsa/internal/awserr"
	"github.com/irsa-dev/irsa/internal/iam"
	"github.com/irsa-dev/irsa/internal/issuer"
	"github.com/irsa-dev/irsa/internal/keys"
	"github.com/irsa-dev/irsa/internal/podidentity"
	"github.com/irsa-dev/irsa/internal/policy"
	"github.com/irsa-dev/irsa/internal/session"
	"github.com/irsa-dev/irsa/internal/store"
)

var sessionNamePattern = regexp.MustCompile(`^eks-prod-web-7d9f-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func (w *world) associate(ns, sa, role string, mod func(*podidentity.CreateInput)) store.PodIdentityAssociation {
	w.t.Helper()
	in := &podidentity.CreateInput{ClusterName: "prod", Namespace: ns, ServiceAccount: sa, RoleARN: role}
	if mod != nil {
		mod(in)
	}
	a, err := w.svc.CreateAssociation(as(acct), in)
	if err != nil {
		w.t.Fatalf("CreateAssociation: %v", err)
	}
	return a
}

func TestAssumeRoleForPodIdentity(t *testing.T) {
	w := newWorld(t)
	// The trust policy restricts the role to the namespace through the
	// session tag, as EKS's documentation shows.
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession"],
		"Condition":{"StringEquals":{"aws:RequestTag/kubernetes-namespace":"team-a","aws:RequestTag/eks-cluster-arn":"` + prodARN + `","aws:SourceAccount":"111111111111"},
		"ArnLike":{"aws:SourceArn":"arn:aws:eks:*:111111111111:podidentityassociation/prod/*"}}}]}`
	role := w.role(acct, "app", trust)
	a := w.associate("team-a", "web", role, nil)

	out, result, err := w.svc.AssumeRoleForPodIdentity(as(acct), "prod", w.token("team-a", "web", "web-7d9f")+"\n")
	if err != nil {
		t.Fatalf("AssumeRoleForPodIdentity: %v", err)
	}
	if result == nil || result.Decision != policy.Allowed {
		t.Errorf("result %+v", result)
	}
	if out.Namespace != "team-a" || out.ServiceAccount != "web" || out.AssociationARN != a.ARN || out.AssociationID != a.ID {
		t.Errorf("output %+v", out)
	}
	name := strings.TrimPrefix(out.AssumedRoleUser.ARN, "arn:aws:sts::111111111111:assumed-role/app/")
	if !sessionNamePattern.MatchString(name) || !strings.HasSuffix(out.AssumedRoleUser.AssumedRoleID, ":"+name) || !strings.HasPrefix(out.AssumedRoleUser.AssumedRoleID, "AROA") {
		t.Errorf("AssumedRoleUser %+v", out.AssumedRoleUser)
	}
	// The role allows one hour: the six hours EKS gives are lowered to it.
	if !out.Credentials.Expiration.Equal(w.now.Add(time.Hour)) || !strings.HasPrefix(out.Credentials.AccessKeyID, "ASIA") {
		t.Errorf("credentials expire %v, key %s", out.Credentials.Expiration, out.Credentials.AccessKeyID)
	}
	if out.Identity == nil || out.Identity.Subject != "system:serviceaccount:team-a:web" || out.Identity.Kubernetes.PodName != "web-7d9f" {
		t.Errorf("identity %+v", out.Identity)
	}
	sess := w.open(out.Credentials)
	wantTags := []session.Tag{
		{Key: "eks-cluster-arn", Value: prodARN},
		{Key: "eks-cluster-name", Value: "prod"},
		{Key: "kubernetes-namespace", Value: "team-a"},
		{Key: "kubernetes-service-account", Value: "web"},
		{Key: "kubernetes-pod-name", Value: "web-7d9f"},
		{Key: "kubernetes-pod-uid", Value: "0c8f1f5e-6d5b-4d3b-9d43-000000000001"},
	}
	if d := cmp.Diff(wantTags, sess.Tags); d != "" {
		t.Errorf("session tags (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"eks-cluster-arn", "eks-cluster-name", "kubernetes-namespace", "kubernetes-service-account", "kubernetes-pod-name", "kubernetes-pod-uid"}, sess.TransitiveTagKeys); d != "" {
		t.Errorf("transitive keys (-want +got):\n%s", d)
	}
	if sess.Service != podidentity.Audience || sess.Chained || len(sess.SessionPolicies) != 0 {
		t.Errorf("session %+v", sess)
	}

	// A longer role maximum gives the six hours.
	name6, maxDur := "app", int32(12*3600)
	if err := w.iam.UpdateRole(context.Background(), acct, updateMax(name6, maxDur)); err != nil {
		t.Fatal(err)
	}
	out, _, err = w.svc.AssumeRoleForPodIdentity(as(acct), "prod", w.token("team-a", "web", "web-7d9f"))
	if err != nil {
		t.Fatal(err)
	}
	if !out.Credentials.Expiration.Equal(w.now.Add(6 * time.Hour)) {
		t.Errorf("credentials expire %v, want six hours", out.Credentials.Expiration)
	}
}

func TestAssumeRoleForPodIdentityRefusals(t *testing.T) {
	w := newWorld(t)
	w.associate("team-a", "web", w.role(acct, "app", podTrust()), nil)
	// A role that trusts EC2, not EKS.
	ec2 := strings.ReplaceAll(podTrust(), "pods.eks.amazonaws.com", "ec2.amazonaws.com")
	w.associate("team-a", "ec2", w.role(acct, "ec2role", ec2), nil)
	// A role that forgot sts:TagSession.
	noTag := strings.ReplaceAll(podTrust(), `["sts:AssumeRole","sts:TagSession"]`, `"sts:AssumeRole"`)
	w.associate("team-a", "notag", w.role(acct, "notag", noTag), nil)
	// The same role without tags is fine.
	w.associate("team-a", "untagged", "arn:aws:iam::111111111111:role/notag", func(in *podidentity.CreateInput) { in.DisableSessionTags = p(true) })
	// A role pinned to the associations of another cluster.
	pinned := strings.ReplaceAll(podTrust(), `"Action":["sts:AssumeRole","sts:TagSession"]`,
		`"Action":["sts:AssumeRole","sts:TagSession"],"Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:eks:*:111111111111:podidentityassociation/dev/*"}}`)
	w.associate("team-a", "pinned", w.role(acct, "pinned", pinned), nil)
	// A role that does not exist.
	w.associate("team-a", "ghost", "arn:aws:iam::111111111111:role/ghost", nil)
	w.cluster(acct, "dev", "https://oidc.dev.example")

	// A token of another issuer whose keys are not the cluster's, one with
	// the cluster's issuer but signed by a stranger, and an expired one.
	strangerKeys := keys.New(keys.Config{Store: openStore(t), Now: func() time.Time { return w.now }, Algorithm: "ES256"})
	if err := strangerKeys.Ensure(context.Background()); err != nil {
		t.Fatal(err)
	}
	mint := func(url string, k *keys.Manager, req issuer.TokenRequest) string {
		t.Helper()
		tok, err := (&issuer.Issuer{URL: url, Keys: k, Now: func() time.Time { return w.now }}).Mint(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	pod := issuer.TokenRequest{Namespace: "team-a", ServiceAccount: "web", Audiences: []string{podidentity.Audience}, PodName: "web-1"}
	forged := mint(issuerURL, strangerKeys, pod)
	foreign := mint("https://oidc.elsewhere.example", strangerKeys, pod)
	podless := mint(issuerURL, w.keys, issuer.TokenRequest{Namespace: "team-a", ServiceAccount: "web", Audiences: []string{podidentity.Audience}})
	expiring := w.token("team-a", "web", "web-1")

	cases := []struct {
		name     string
		cluster  string
		token    func() string
		code     string
		message  string
		status   int
		identity bool // the refusal names the verified token
		decision bool // with the policy evaluation that refused
	}{
		{"bad cluster name", "-x", func() string { return w.token("team-a", "web", "web-1") }, awserr.InvalidParameterException, "", 400, false, false},
		{"unknown cluster", "staging", func() string { return w.token("team-a", "web", "web-1") }, awserr.ResourceNotFoundException, "No cluster found for name: staging.", 404, false, false},
		{"not a JWT", "prod", func() string { return "not-a-token" }, awserr.InvalidTokenException, podidentity.MsgNotJWT, 400, false, false},
		{"too long", "prod", func() string { return strings.Repeat("a", 10000) + "." + strings.Repeat("b", 10000) + ".c" }, awserr.InvalidParameterException,
			"1 validation error detected: Value at 'token' failed to satisfy constraint: Member must have length less than or equal to 20000", 400, false, false},
		{"STS audience", "prod", func() string { return w.token("team-a", "web", "web-1", "sts.amazonaws.com") }, awserr.InvalidTokenException, "Incorrect token audience", 400, false, false},
		{"token of another issuer", "prod", func() string { return foreign }, awserr.InvalidTokenException, "The token was not issued by the service account issuer of cluster prod.", 400, false, false},
		{"token for another cluster", "dev", func() string { return w.token("team-a", "web", "web-1") }, awserr.InvalidTokenException, "The token was not issued by the service account issuer of cluster dev.", 400, false, false},
		{"forged signature", "prod", func() string { return forged }, awserr.InvalidTokenException, "", 400, false, false},
		{"expired", "prod", func() string { w.now = w.now.Add(25 * time.Hour); return expiring }, awserr.ExpiredTokenException, "", 400, false, false},
		{"not bound to a pod", "prod", func() string { return podless }, awserr.InvalidTokenException, podidentity.MsgNotPodToken, 400, true, false},
		{"no association", "prod", func() string { return w.token("team-a", "nobody", "web-1") }, awserr.AccessDeniedException,
			"No Pod Identity Association found for service account nobody in namespace team-a of cluster prod.", 400, true, false},
		{"role trusts another service", "prod", func() string { return w.token("team-a", "ec2", "web-1") }, awserr.AccessDeniedException, podidentity.MsgRoleDenied, 400, true, true},
		{"role without sts:TagSession", "prod", func() string { return w.token("team-a", "notag", "web-1") }, awserr.AccessDeniedException, podidentity.MsgRoleDenied, 400, true, true},
		{"role pinned to another cluster", "prod", func() string { return w.token("team-a", "pinned", "web-1") }, awserr.AccessDeniedException, podidentity.MsgRoleDenied, 400, true, true},
		{"role does not exist", "prod", func() string { return w.token("team-a", "ghost", "web-1") }, awserr.AccessDeniedException, podidentity.MsgRoleDenied, 400, true, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			saved := w.now
			defer func() { w.now = saved }()
			tok := tc.token()
			out, result, err := w.svc.AssumeRoleForPodIdentity(as(acct), tc.cluster, tok)
			wantErr(t, "AssumeRoleForPodIdentity", err, tc.code, tc.message, tc.status)
			if strings.Contains(err.Error(), tok) {
				t.Errorf("the error echoes the token")
			}
			if got := out != nil && out.Identity != nil; got != tc.identity {
				t.Errorf("refusal names the token: %v, want %v", got, tc.identity)
			}
			if out != nil && out.Credentials.AccessKeyID != "" {
				t.Errorf("a refusal came with credentials")
			}
			if got := result != nil && result.Decision != policy.Allowed; got != tc.decision {
				t.Errorf("result %+v, want a refusing evaluation: %v", result, tc.decision)
			}
		})
	}

	out, _, err := w.svc.AssumeRoleForPodIdentity(as(acct), "prod", w.token("team-a", "untagged", "web-1"))
	if err != nil {
		t.Fatalf("untagged association: %v", err)
	}
	if s := w.open(out.Credentials); len(s.Tags) != 0 || len(s.TransitiveTagKeys) != 0 {
		t.Errorf("disableSessionTags still tagged the session: %+v", s)
	}
	// Another account has no cluster prod.
	_, _, err = w.svc.AssumeRoleForPodIdentity(as(other), "prod", w.token("team-a", "web", "web-1"))
	wantErr(t, "another account", err, awserr.ResourceNotFoundException, "No cluster found for name: prod.", 404)
}

func TestAssumeRoleForPodIdentityPolicy(t *testing.T) {
	w := newWorld(t)
	role := w.role(acct, "app", podTrust())
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`
	w.associate("ns", "sa", role, func(in *podidentity.CreateInput) { in.Policy = &doc; in.DisableSessionTags = p(true) })
	out, _, err := w.svc.AssumeRoleForPodIdentity(as(acct), "prod", w.token("ns", "sa", "web-1"))
	if err != nil {
		t.Fatal(err)
	}
	s := w.open(out.Credentials)
	if d := cmp.Diff([]string{doc}, s.SessionPolicies); d != "" {
		t.Errorf("session policies (-want +got):\n%s", d)
	}
}

// With a target role the association's role is assumed first, then the
// target from that session with the association's external ID; the
// session tags pass on and the policy limits the target session.
func TestAssumeRoleForPodIdentityTargetRole(t *testing.T) {
	w := newWorld(t)
	role := w.role(acct, "app", podTrust(), `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::222222222222:role/*"}]}`)
	a := w.associate("ns", "sa", role, func(in *podidentity.CreateInput) { in.TargetRoleARN = p("arn:aws:iam::222222222222:role/target") })
	if a.ExternalID == "" {
		t.Fatal("no external ID")
	}
	w.role(other, "target", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"`+role+`"},"Action":["sts:AssumeRole","sts:TagSession"],
		"Condition":{"StringEquals":{"sts:ExternalId":"`+a.ExternalID+`","aws:PrincipalTag/kubernetes-namespace":"ns"}}}]}`)
	// Another target that wants a different external ID.
	w.role(other, "strict", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"`+role+`"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"someone-else"}}}]}`)

	out, result, err := w.svc.AssumeRoleForPodIdentity(as(acct), "prod", w.token("ns", "sa", "web-7d9f"))
	if err != nil {
		t.Fatalf("AssumeRoleForPodIdentity: %v", err)
	}
	if result == nil || result.Decision != policy.Allowed {
		t.Errorf("result %+v", result)
	}
	if !strings.HasPrefix(out.AssumedRoleUser.ARN, "arn:aws:sts::222222222222:assumed-role/target/eks-prod-web-7d9f-") {
		t.Errorf("AssumedRoleUser %+v", out.AssumedRoleUser)
	}
	s := w.open(out.Credentials)
	if s.AccountID != other || s.RoleName != "target" || !s.Chained || len(s.Tags) != 6 || !out.Credentials.Expiration.Equal(w.now.Add(time.Hour)) {
		t.Errorf("target session %+v, expires %v", s, out.Credentials.Expiration)
	}

	// The same role as target needs that target's external ID.
	if _, err := w.svc.UpdateAssociation(as(acct), &podidentity.UpdateInput{ClusterName: "prod", AssociationID: a.ID, TargetRoleARN: p("arn:aws:iam::222222222222:role/strict")}); err != nil {
		t.Fatal(err)
	}
	out, result, err = w.svc.AssumeRoleForPodIdentity(as(acct), "prod", w.token("ns", "sa", "web-7d9f"))
	wantErr(t, "target refuses the external ID", err, awserr.AccessDeniedException, podidentity.MsgTargetDenied, 400)
	if out == nil || out.Identity == nil || out.AssociationID != a.ID || result == nil || result.Decision == policy.Allowed {
		t.Errorf("refusal output %+v result %+v", out, result)
	}

	// A policy on a target association limits the target session only.
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*"}]}`
	if _, err := w.svc.UpdateAssociation(as(acct), &podidentity.UpdateInput{ClusterName: "prod", AssociationID: a.ID,
		TargetRoleARN: p("arn:aws:iam::222222222222:role/target"), DisableSessionTags: p(true), Policy: &doc}); err != nil {
		t.Fatal(err)
	}
	// Without the session tag the target's condition on it fails.
	_, _, err = w.svc.AssumeRoleForPodIdentity(as(acct), "prod", w.token("ns", "sa", "web-7d9f"))
	wantErr(t, "target wants a tag the association no longer sends", err, awserr.AccessDeniedException, podidentity.MsgTargetDenied, 400)
}

func updateMax(name string, seconds int32) *iam.UpdateRoleInput {
	return &iam.UpdateRoleInput{RoleName: &name, MaxSessionDuration: &seconds}
}
