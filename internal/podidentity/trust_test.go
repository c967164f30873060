package podidentity_test

import (
	"strings"
	"testing"

	"github.com/irsa-dev/irsa/internal/awserr"
	"github.com/irsa-dev/irsa/internal/podidentity"
)

// With Roles set, an association's role must exist and trust the pod
// identity service for sts:AssumeRole and, with session tags, for
// sts:TagSession, as EKS checks.
func TestTrustPolicyCheckedOnCreateAndUpdate(t *testing.T) {
	w := newWorld(t)
	w.svc.Roles = w.st
	ctx := as(acct)
	good := w.role(acct, "good", podTrust())
	wildcard := w.role(acct, "wildcard", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":["ec2.amazonaws.com","PODS.eks.amazonaws.com"]},"Action":"sts:*"}]}`)
	split := w.role(acct, "split", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:RequestTag/kubernetes-namespace":"x"}}},
		{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":"sts:Tag*"}]}`)
	noTag := w.role(acct, "notag", strings.ReplaceAll(podTrust(), `["sts:AssumeRole","sts:TagSession"]`, `"sts:AssumeRole"`))
	web := w.role(acct, "web", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111111111111:oidc-provider/x.example"},"Action":"sts:AssumeRoleWithWebIdentity"}]}`)
	denyOnly := w.role(acct, "deny", `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession"]}]}`)

	sa := 0
	create := func(role string, disableTags bool) error {
		sa++
		_, err := w.svc.CreateAssociation(ctx, &podidentity.CreateInput{ClusterName: "prod", Namespace: "ns", ServiceAccount: "sa" + string(rune('a'+sa)),
			RoleARN: role, DisableSessionTags: p(disableTags)})
		return err
	}
	for _, role := range []string{good, wildcard, split} {
		if err := create(role, false); err != nil {
			t.Errorf("%s: %v", role, err)
		}
	}
	if err := create(noTag, true); err != nil {
		t.Errorf("a role without sts:TagSession, tags disabled: %v", err)
	}
	for _, role := range []string{noTag, web, denyOnly} {
		wantErr(t, role, create(role, false), awserr.InvalidParameterException, podidentity.MsgTrustInvalid, 400)
	}
	wantErr(t, "missing role", create("arn:aws:iam::111111111111:role/ghost", false), awserr.InvalidParameterException, "The role with name ghost cannot be found.", 400)
	wantErr(t, "wrong path", create("arn:aws:iam::111111111111:role/team/good", false), awserr.InvalidParameterException, "The role with name good cannot be found.", 400)

	// Update: moving to a role that does not trust EKS, or turning the
	// tags on for a role without sts:TagSession, is refused.
	a, err := w.svc.CreateAssociation(ctx, &podidentity.CreateInput{ClusterName: "prod", Namespace: "ns", ServiceAccount: "upd", RoleARN: noTag, DisableSessionTags: p(true)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = w.svc.UpdateAssociation(ctx, &podidentity.UpdateInput{ClusterName: "prod", AssociationID: a.ID, DisableSessionTags: p(false)})
	wantErr(t, "tags on for a role without sts:TagSession", err, awserr.InvalidParameterException, podidentity.MsgTrustInvalid, 400)
	_, err = w.svc.UpdateAssociation(ctx, &podidentity.UpdateInput{ClusterName: "prod", AssociationID: a.ID, RoleARN: &web})
	wantErr(t, "web identity role", err, awserr.InvalidParameterException, podidentity.MsgTrustInvalid, 400)
	up, err := w.svc.UpdateAssociation(ctx, &podidentity.UpdateInput{ClusterName: "prod", AssociationID: a.ID, RoleARN: &good, DisableSessionTags: p(false)})
	if err != nil || up.RoleARN != good || up.DisableSessionTags {
		t.Errorf("update to a good role: %+v, %v", up, err)
	}
}
