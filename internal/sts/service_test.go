package sts_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/irsa-dev/irsa/internal/iam"
	"github.com/irsa-dev/irsa/internal/policy"
	"github.com/irsa-dev/irsa/internal/reqctx"
	"github.com/irsa-dev/irsa/internal/sts"
)

const podsService = "pods.eks.amazonaws.com"

// podTrust trusts the EKS Pod Identity service principal, for one
// namespace when ns is not empty.
func podTrust(actions, ns string) string {
	cond := ""
	if ns != "" {
		cond = `,"Condition":{"StringEquals":{"aws:RequestTag/kubernetes-namespace":"` + ns + `"}}`
	}
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"` + podsService + `"},"Action":` + actions + cond + `}]}`
}

func podTags(ns string) []sts.Tag {
	return []sts.Tag{{Key: "eks-cluster-name", Value: "prod"}, {Key: "kubernetes-namespace", Value: ns}}
}

func serviceCtx() context.Context {
	return reqctx.With(context.Background(), &reqctx.Info{RequestID: "r", SourceIP: "10.0.0.9"})
}

func TestAssumeRoleForService(t *testing.T) {
	h := newHarness(t)
	h.role("app", podTrust(`["sts:AssumeRole","sts:TagSession"]`, "team-a"))
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`
	out, result, err := h.sts.AssumeRoleForService(serviceCtx(), &sts.ServiceAssumeInput{
		Service: podsService, RoleArn: "arn:aws:iam::000000000000:role/app", RoleSessionName: "eks-prod-pod-1",
		Policy: &doc, Tags: podTags("team-a"), TransitiveTagKeys: []string{"eks-cluster-name", "kubernetes-namespace"},
	})
	if err != nil {
		t.Fatalf("AssumeRoleForService: %s", code(err))
	}
	if result == nil || result.Decision != policy.Allowed {
		t.Fatalf("result %+v, want Allowed", result)
	}
	if out.AssumedRoleUser.ARN != "arn:aws:sts::000000000000:assumed-role/app/eks-prod-pod-1" || !strings.HasSuffix(out.AssumedRoleUser.AssumedRoleID, ":eks-prod-pod-1") {
		t.Errorf("AssumedRoleUser %+v", out.AssumedRoleUser)
	}
	if !out.Credentials.Expiration.Equal(h.now.Add(time.Hour)) {
		t.Errorf("expiration %v, want the default hour", out.Credentials.Expiration)
	}
	if out.PackedPolicySize == nil || *out.PackedPolicySize <= 0 {
		t.Errorf("PackedPolicySize %v, want a share for the tags and policy", out.PackedPolicySize)
	}
	caller, err := h.sts.CallerOf(context.Background(), out.Credentials)
	if err != nil {
		t.Fatalf("CallerOf: %s", code(err))
	}
	if caller.Type != "AssumedRole" || caller.ARN != out.AssumedRoleUser.ARN || caller.AccessKeyID != out.Credentials.AccessKeyID || caller.AccountID != acct {
		t.Errorf("caller %+v", caller)
	}
	sealer, _ := h.keys.Sealer(context.Background())
	sess, err := sealer.Open(out.Credentials.SessionToken)
	if err != nil {
		t.Fatal(err)
	}
	if sess.Service != podsService || sess.Chained || len(sess.Tags) != 2 || sess.Tags[1].Value != "team-a" ||
		len(sess.TransitiveTagKeys) != 2 || len(sess.SessionPolicies) != 1 || sess.SessionPolicies[0] != doc {
		t.Errorf("sealed session %+v", sess)
	}
	id, err := h.sts.GetCallerIdentity(reqctx.With(context.Background(), &reqctx.Info{Caller: caller}))
	if err != nil || id.ARN != out.AssumedRoleUser.ARN {
		t.Errorf("GetCallerIdentity = %+v, %v", id, err)
	}
}

func TestAssumeRoleForServiceRefusals(t *testing.T) {
	h := newHarness(t)
	h.role("app", podTrust(`["sts:AssumeRole","sts:TagSession"]`, "team-a"))
	h.role("notags", podTrust(`"sts:AssumeRole"`, ""))
	h.role("other", strings.ReplaceAll(podTrust(`"sts:AssumeRole"`, ""), podsService, "ec2.amazonaws.com"))
	h.role("web", irsaTrust("system:serviceaccount:ns:sa"))

	cases := []struct {
		name     string
		in       sts.ServiceAssumeInput
		want     string
		decision bool // a policy evaluation explains the refusal
	}{
		{"namespace condition fails", sts.ServiceAssumeInput{RoleArn: "arn:aws:iam::000000000000:role/app", Tags: podTags("team-b")},
			"AccessDenied: pods.eks.amazonaws.com is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::000000000000:role/app", true},
		{"no tags, condition on a tag", sts.ServiceAssumeInput{RoleArn: "arn:aws:iam::000000000000:role/app"},
			"AccessDenied: pods.eks.amazonaws.com is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::000000000000:role/app", true},
		{"tags without sts:TagSession", sts.ServiceAssumeInput{RoleArn: "arn:aws:iam::000000000000:role/notags", Tags: podTags("x")},
			"AccessDenied: pods.eks.amazonaws.com is not authorized to perform: sts:TagSession on resource: arn:aws:iam::000000000000:role/notags", true},
		{"another service trusted", sts.ServiceAssumeInput{RoleArn: "arn:aws:iam::000000000000:role/other"},
			"AccessDenied: pods.eks.amazonaws.com is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::000000000000:role/other", true},
		{"web identity trust only", sts.ServiceAssumeInput{RoleArn: "arn:aws:iam::000000000000:role/web"},
			"AccessDenied: pods.eks.amazonaws.com is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::000000000000:role/web", true},
		{"missing role", sts.ServiceAssumeInput{RoleArn: "arn:aws:iam::000000000000:role/gone"},
			"AccessDenied: pods.eks.amazonaws.com is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::000000000000:role/gone", true},
		{"bad session name", sts.ServiceAssumeInput{RoleArn: "arn:aws:iam::000000000000:role/notags", RoleSessionName: "a b"},
			"ValidationError: 1 validation error detected: Value 'a b' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*", false},
		{"duration beyond the role's maximum", sts.ServiceAssumeInput{RoleArn: "arn:aws:iam::000000000000:role/notags", DurationSeconds: p(int32(7200))},
			"ValidationError: The requested DurationSeconds exceeds the MaxSessionDuration set for this role.", true},
		{"duplicate tag keys", sts.ServiceAssumeInput{RoleArn: "arn:aws:iam::000000000000:role/notags", Tags: []sts.Tag{{Key: "a", Value: "1"}, {Key: "A", Value: "2"}}},
			"InvalidParameterValue: Duplicate tag keys found. Please note that Tag keys are case insensitive.", false},
		{"transitive key not a tag", sts.ServiceAssumeInput{RoleArn: "arn:aws:iam::000000000000:role/notags", TransitiveTagKeys: []string{"x"}},
			"InvalidParameterValue: The transitive tag key x is not one of the session tags of this request.", false},
		{"not a role ARN", sts.ServiceAssumeInput{RoleArn: "arn:aws:iam::000000000000:user/someone"},
			"ValidationError: arn:aws:iam::000000000000:user/someone is invalid", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			in.Service = podsService
			if in.RoleSessionName == "" {
				in.RoleSessionName = "eks-prod-pod-1"
			}
			out, result, err := h.sts.AssumeRoleForService(serviceCtx(), &in)
			if got := code(err); got != tc.want {
				t.Fatalf("error %q\nwant  %q", got, tc.want)
			}
			if out != nil {
				t.Errorf("a refusal came with credentials")
			}
			if tc.decision != (result != nil) {
				t.Errorf("result %+v, want one: %v", result, tc.decision)
			}
			if result != nil && result.Decision == policy.Allowed && !strings.Contains(tc.want, "DurationSeconds") {
				t.Errorf("refused with an Allowed result")
			}
		})
	}
}

func TestAssumeRoleForServiceClampsDuration(t *testing.T) {
	h := newHarness(t)
	h.role("app", podTrust(`"sts:AssumeRole"`, ""))
	in := &sts.ServiceAssumeInput{Service: podsService, RoleArn: "arn:aws:iam::000000000000:role/app", RoleSessionName: "s1", DurationSeconds: p(int32(6 * 3600)), ClampDuration: true}
	out, _, err := h.sts.AssumeRoleForService(serviceCtx(), in)
	if err != nil {
		t.Fatal(code(err))
	}
	if !out.Credentials.Expiration.Equal(h.now.Add(time.Hour)) {
		t.Errorf("expiration %v, want the role's one-hour maximum", out.Credentials.Expiration)
	}
	name, maxDur := "app", int32(12*3600)
	if err := h.iam.UpdateRole(context.Background(), acct, &iam.UpdateRoleInput{RoleName: &name, MaxSessionDuration: &maxDur}); err != nil {
		t.Fatal(code(err))
	}
	out, _, err = h.sts.AssumeRoleForService(serviceCtx(), in)
	if err != nil {
		t.Fatal(code(err))
	}
	if !out.Credentials.Expiration.Equal(h.now.Add(6 * time.Hour)) {
		t.Errorf("expiration %v, want the six hours asked for", out.Credentials.Expiration)
	}
}

// A session a service was given chains into a target role with an
// external ID, its transitive tags following, as EKS Pod Identity's
// targetRoleArn does.
func TestAssumeRoleForServiceThenChain(t *testing.T) {
	h := newHarness(t)
	h.role("app", podTrust(`["sts:AssumeRole","sts:TagSession"]`, ""),
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::000000000000:role/target"}]}`)
	h.role("target", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:role/app"},"Action":["sts:AssumeRole","sts:TagSession"],"Condition":{"StringEquals":{"sts:ExternalId":"ext-1","aws:PrincipalTag/kubernetes-namespace":"ns"}}}]}`)
	first, _, err := h.sts.AssumeRoleForService(serviceCtx(), &sts.ServiceAssumeInput{Service: podsService, RoleArn: "arn:aws:iam::000000000000:role/app",
		RoleSessionName: "eks-prod-pod-1", Tags: podTags("ns"), TransitiveTagKeys: []string{"eks-cluster-name", "kubernetes-namespace"}})
	if err != nil {
		t.Fatal(code(err))
	}
	caller, err := h.sts.CallerOf(context.Background(), first.Credentials)
	if err != nil {
		t.Fatal(code(err))
	}
	ctx := reqctx.With(context.Background(), &reqctx.Info{RequestID: "r", Caller: caller})
	_, _, err = h.sts.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: p("arn:aws:iam::000000000000:role/target"), RoleSessionName: p("eks-prod-pod-1"), ExternalID: p("wrong")})
	if !strings.HasPrefix(code(err), "AccessDenied: User: arn:aws:sts::000000000000:assumed-role/app/eks-prod-pod-1 is not authorized") {
		t.Errorf("wrong external ID: %s", code(err))
	}
	second, _, err := h.sts.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: p("arn:aws:iam::000000000000:role/target"), RoleSessionName: p("eks-prod-pod-1"), ExternalID: p("ext-1")})
	if err != nil {
		t.Fatal(code(err))
	}
	sealer, _ := h.keys.Sealer(context.Background())
	sess, err := sealer.Open(second.Credentials.SessionToken)
	if err != nil {
		t.Fatal(err)
	}
	if !sess.Chained || len(sess.Tags) != 2 || sess.Tags[1].Key != "kubernetes-namespace" || sess.RoleName != "target" {
		t.Errorf("chained session %+v", sess)
	}

	// Credentials this STS did not mint do not open.
	forged := first.Credentials
	forged.AccessKeyID = "ASIAFORGEDFORGEDFORG"
	if _, err := h.sts.CallerOf(context.Background(), forged); !strings.HasPrefix(code(err), "InternalFailure") {
		t.Errorf("CallerOf with another access key: %s", code(err))
	}
}

// The trust policy sees the service's condition keys.
func TestAssumeRoleForServiceConditionKeys(t *testing.T) {
	h := newHarness(t)
	h.role("app", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession"],
		"Condition":{"StringEquals":{"aws:PrincipalServiceName":"pods.eks.amazonaws.com","aws:RequestedRegion":"us-east-1"},"Bool":{"aws:PrincipalIsAWSService":"true"},
		"StringLike":{"sts:RoleSessionName":"eks-prod-*"},"ForAllValues:StringEquals":{"aws:TagKeys":["eks-cluster-name","kubernetes-namespace"]}}}]}`)
	in := &sts.ServiceAssumeInput{Service: podsService, RoleArn: "arn:aws:iam::000000000000:role/app", RoleSessionName: "eks-prod-pod-1", Tags: podTags("ns")}
	if _, _, err := h.sts.AssumeRoleForService(serviceCtx(), in); err != nil {
		t.Fatalf("conditions on the service keys: %s", code(err))
	}
	in.RoleSessionName = "eks-dev-pod-1"
	if _, result, err := h.sts.AssumeRoleForService(serviceCtx(), in); !strings.HasPrefix(code(err), "AccessDenied:") || result == nil || result.Decision == policy.Allowed {
		t.Errorf("another session name: %s", code(err))
	}
	in.RoleSessionName = "eks-prod-pod-1"
	in.Tags = append(in.Tags, sts.Tag{Key: "extra", Value: "x"})
	if _, _, err := h.sts.AssumeRoleForService(serviceCtx(), in); !strings.HasPrefix(code(err), "AccessDenied:") {
		t.Errorf("a tag key outside aws:TagKeys: %s", code(err))
	}
}
