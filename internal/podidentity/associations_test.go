package podidentity_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/irsa-dev/irsa/internal/awserr"
	"github.com/irsa-dev/irsa/internal/podidentity"
	"github.com/irsa-dev/irsa/internal/store"
)

var (
	idPattern   = regexp.MustCompile(`^a-[a-z0-9]{17}$`)
	uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
)

func TestAssociationLifecycle(t *testing.T) {
	w := newWorld(t)
	ctx := as(acct)
	roleARN := w.role(acct, "app", podTrust())

	a, err := w.svc.CreateAssociation(ctx, &podidentity.CreateInput{ClusterName: "prod", Namespace: "team-a", ServiceAccount: "web",
		RoleARN: roleARN, Tags: map[string]string{"owner": "a", "env": "prod"}})
	if err != nil {
		t.Fatal(err)
	}
	if !idPattern.MatchString(a.ID) {
		t.Errorf("ID %q does not look like a-<17 lower-case letters and digits>", a.ID)
	}
	want := store.PodIdentityAssociation{
		AccountID: acct, ClusterName: "prod", ID: a.ID, ARN: "arn:aws:eks:eu-west-1:111111111111:podidentityassociation/prod/" + a.ID,
		Namespace: "team-a", ServiceAccount: "web", RoleARN: roleARN,
		Tags:      []store.Tag{{Key: "env", Value: "prod"}, {Key: "owner", Value: "a"}},
		CreatedAt: w.now, ModifiedAt: w.now, Version: 1,
	}
	if d := cmp.Diff(want, a); d != "" {
		t.Errorf("CreateAssociation (-want +got):\n%s", d)
	}
	got, err := w.svc.DescribeAssociation(ctx, "prod", a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("DescribeAssociation (-want +got):\n%s", d)
	}

	// A target role gets the association an external ID, which stays while
	// the target changes and goes with it.
	w.now = w.now.Add(time.Minute)
	target := "arn:aws:iam::222222222222:role/target"
	up, err := w.svc.UpdateAssociation(ctx, &podidentity.UpdateInput{ClusterName: "prod", AssociationID: a.ID, TargetRoleARN: &target})
	if err != nil {
		t.Fatal(err)
	}
	if up.TargetRoleARN != target || !uuidPattern.MatchString(up.ExternalID) || !up.ModifiedAt.Equal(w.now) || !up.CreatedAt.Equal(want.CreatedAt) || up.Version != 2 {
		t.Errorf("after setting a target role: %+v", up)
	}
	target2 := "arn:aws:iam::222222222222:role/target2"
	up2, err := w.svc.UpdateAssociation(ctx, &podidentity.UpdateInput{ClusterName: "prod", AssociationID: a.ID, TargetRoleARN: &target2, DisableSessionTags: p(true), Policy: p(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	if up2.ExternalID != up.ExternalID || up2.TargetRoleARN != target2 || !up2.DisableSessionTags || up2.Policy == "" {
		t.Errorf("after changing the target role: %+v (external ID was %s)", up2, up.ExternalID)
	}
	up3, err := w.svc.UpdateAssociation(ctx, &podidentity.UpdateInput{ClusterName: "prod", AssociationID: a.ID, TargetRoleARN: p(""), Policy: p("")})
	if err != nil {
		t.Fatal(err)
	}
	if up3.ExternalID != "" || up3.TargetRoleARN != "" || up3.Policy != "" || !up3.DisableSessionTags {
		t.Errorf("after removing the target role: %+v", up3)
	}

	deleted, err := w.svc.DeleteAssociation(ctx, "prod", a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(up3, deleted); d != "" {
		t.Errorf("DeleteAssociation returned (-want +got):\n%s", d)
	}
	_, err = w.svc.DescribeAssociation(ctx, "prod", a.ID)
	wantErr(t, "Describe after delete", err, awserr.ResourceNotFoundException, "No Pod Identity Association found for id: "+a.ID+".", 404)
	_, err = w.svc.DeleteAssociation(ctx, "prod", a.ID)
	wantErr(t, "Delete twice", err, awserr.ResourceNotFoundException, "", 404)
}

func TestCreateValidation(t *testing.T) {
	w := newWorld(t)
	ctx := as(acct)
	role := "arn:aws:iam::111111111111:role/app"
	base := func() *podidentity.CreateInput {
		return &podidentity.CreateInput{ClusterName: "prod", Namespace: "ns", ServiceAccount: "sa", RoleARN: role}
	}
	long := strings.Repeat("a", 64)
	cases := []struct {
		name    string
		mod     func(*podidentity.CreateInput)
		code    string
		message string
		status  int
	}{
		{"unknown cluster", func(in *podidentity.CreateInput) { in.ClusterName = "dev" }, awserr.ResourceNotFoundException, "No cluster found for name: dev.", 404},
		{"cluster name outside the pattern", func(in *podidentity.CreateInput) { in.ClusterName = "-bad" }, awserr.ResourceNotFoundException, "No cluster found for name: -bad.", 404},
		{"empty namespace", func(in *podidentity.CreateInput) { in.Namespace = "" }, awserr.InvalidParameterException, "Namespace must not be empty.", 400},
		{"upper-case namespace", func(in *podidentity.CreateInput) { in.Namespace = "Team" }, awserr.InvalidParameterException, "", 400},
		{"namespace of 64 characters", func(in *podidentity.CreateInput) { in.Namespace = long }, awserr.InvalidParameterException, "", 400},
		{"service account with a slash", func(in *podidentity.CreateInput) { in.ServiceAccount = "a/b" }, awserr.InvalidParameterException, "", 400},
		{"empty service account", func(in *podidentity.CreateInput) { in.ServiceAccount = "" }, awserr.InvalidParameterException, "ServiceAccount must not be empty.", 400},
		{"user ARN", func(in *podidentity.CreateInput) { in.RoleARN = "arn:aws:iam::111111111111:user/u" }, awserr.InvalidParameterException,
			"RoleArn arn:aws:iam::111111111111:user/u is not a valid IAM role ARN.", 400},
		{"role of another account", func(in *podidentity.CreateInput) { in.RoleARN = "arn:aws:iam::222222222222:role/app" }, awserr.InvalidParameterException,
			"RoleArn arn:aws:iam::222222222222:role/app must be in the account of the cluster, 111111111111.", 400},
		{"target role not a role", func(in *podidentity.CreateInput) { in.TargetRoleARN = p("nope") }, awserr.InvalidParameterException,
			"TargetRoleArn nope is not a valid IAM role ARN.", 400},
		{"target role is the role", func(in *podidentity.CreateInput) { in.TargetRoleARN = p(role) }, awserr.InvalidParameterException,
			"TargetRoleArn must differ from RoleArn.", 400},
		{"policy with session tags", func(in *podidentity.CreateInput) { in.Policy = p(`{}`) }, awserr.InvalidParameterException,
			"A policy can only be set on an association with disableSessionTags set to true.", 400},
		{"policy too long", func(in *podidentity.CreateInput) {
			in.Policy = p(strings.Repeat(" ", 2049))
			in.DisableSessionTags = p(true)
		},
			awserr.InvalidParameterException, "Policy must be at most 2048 characters.", 400},
		{"aws: tag", func(in *podidentity.CreateInput) { in.Tags = map[string]string{"aws:x": "1"} }, awserr.InvalidParameterException,
			"Tag keys starting with aws: are reserved for AWS use.", 400},
		{"client token too long", func(in *podidentity.CreateInput) { in.ClientRequestToken = long + "x" }, awserr.InvalidParameterException,
			"ClientRequestToken must be at most 64 characters.", 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := base()
			tc.mod(in)
			_, err := w.svc.CreateAssociation(ctx, in)
			wantErr(t, "CreateAssociation", err, tc.code, tc.message, tc.status)
		})
	}
	list, err := w.st.ListPodIdentityAssociations(context.Background(), acct, "prod")
	if err != nil || len(list) != 0 {
		t.Errorf("refused creates stored %v (%v)", list, err)
	}
}

func TestCreateIdempotencyAndConflicts(t *testing.T) {
	w := newWorld(t)
	ctx := as(acct)
	in := &podidentity.CreateInput{ClusterName: "prod", Namespace: "ns", ServiceAccount: "sa",
		RoleARN: "arn:aws:iam::111111111111:role/app", ClientRequestToken: "token-1", Tags: map[string]string{"k": "v"}}
	first, err := w.svc.CreateAssociation(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	again, err := w.svc.CreateAssociation(ctx, in)
	if err != nil {
		t.Fatalf("retry with the same token: %v", err)
	}
	if d := cmp.Diff(first, again); d != "" {
		t.Errorf("retry gave another association (-first +retry):\n%s", d)
	}
	changed := *in
	changed.RoleARN = "arn:aws:iam::111111111111:role/other"
	_, err = w.svc.CreateAssociation(ctx, &changed)
	wantErr(t, "same token, other input", err, awserr.InvalidRequestException,
		"The client request token was already used to create an association with different parameters.", 400)
	noToken := *in
	noToken.ClientRequestToken = ""
	_, err = w.svc.CreateAssociation(ctx, &noToken)
	wantErr(t, "second association of a ServiceAccount", err, awserr.ResourceInUseException, "Association already exists: "+first.ID, 409)

	// The same ServiceAccount in another cluster, or another account's
	// cluster of the same name, is another association.
	w.cluster(acct, "dev", "https://oidc.dev.example")
	w.cluster(other, "prod", "https://oidc.other.example")
	if _, err := w.svc.CreateAssociation(ctx, &podidentity.CreateInput{ClusterName: "dev", Namespace: "ns", ServiceAccount: "sa", RoleARN: in.RoleARN}); err != nil {
		t.Errorf("same ServiceAccount in another cluster: %v", err)
	}
	b, err := w.svc.CreateAssociation(as(other), &podidentity.CreateInput{ClusterName: "prod", Namespace: "ns", ServiceAccount: "sa", RoleARN: "arn:aws:iam::222222222222:role/app"})
	if err != nil {
		t.Fatalf("same ServiceAccount in another account: %v", err)
	}
	_, err = w.svc.DescribeAssociation(ctx, "prod", b.ID)
	wantErr(t, "another account's association", err, awserr.ResourceNotFoundException, "", 404)
	_, err = w.svc.DeleteAssociation(ctx, "prod", b.ID)
	wantErr(t, "deleting another account's association", err, awserr.ResourceNotFoundException, "", 404)
}

func TestUpdateValidation(t *testing.T) {
	w := newWorld(t)
	ctx := as(acct)
	a, err := w.svc.CreateAssociation(ctx, &podidentity.CreateInput{ClusterName: "prod", Namespace: "ns", ServiceAccount: "sa", RoleARN: "arn:aws:iam::111111111111:role/app"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = w.svc.UpdateAssociation(ctx, &podidentity.UpdateInput{ClusterName: "prod", AssociationID: a.ID})
	wantErr(t, "nothing to change", err, awserr.InvalidParameterException, "At least one of roleArn, targetRoleArn, policy and disableSessionTags must be given.", 400)
	_, err = w.svc.UpdateAssociation(ctx, &podidentity.UpdateInput{ClusterName: "prod", AssociationID: a.ID, Policy: p(`{}`)})
	wantErr(t, "policy with session tags", err, awserr.InvalidParameterException, "A policy can only be set on an association with disableSessionTags set to true.", 400)
	_, err = w.svc.UpdateAssociation(ctx, &podidentity.UpdateInput{ClusterName: "prod", AssociationID: a.ID, RoleARN: p("arn:aws:iam::222222222222:role/x")})
	wantErr(t, "role of another account", err, awserr.InvalidParameterException, "", 400)
	_, err = w.svc.UpdateAssociation(ctx, &podidentity.UpdateInput{ClusterName: "prod", AssociationID: "a-00000000000000000", RoleARN: p("arn:aws:iam::111111111111:role/x")})
	wantErr(t, "unknown ID", err, awserr.ResourceNotFoundException, "No Pod Identity Association found for id: a-00000000000000000.", 404)
	_, err = w.svc.UpdateAssociation(ctx, &podidentity.UpdateInput{ClusterName: "dev", AssociationID: a.ID, RoleARN: p("arn:aws:iam::111111111111:role/x")})
	wantErr(t, "unknown cluster", err, awserr.ResourceNotFoundException, "No cluster found for name: dev.", 404)
	got, err := w.svc.DescribeAssociation(ctx, "prod", a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(a, got); d != "" {
		t.Errorf("refused updates changed the association (-before +after):\n%s", d)
	}
}

func TestListAssociations(t *testing.T) {
	w := newWorld(t)
	ctx := as(acct)
	for _, ns := range []string{"b", "a"} {
		for _, sa := range []string{"y", "x", "z"} {
			if _, err := w.svc.CreateAssociation(ctx, &podidentity.CreateInput{ClusterName: "prod", Namespace: ns, ServiceAccount: sa, RoleARN: "arn:aws:iam::111111111111:role/app"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	ids := func(as []store.PodIdentityAssociation) []string {
		var out []string
		for _, a := range as {
			out = append(out, a.Namespace+"/"+a.ServiceAccount)
		}
		return out
	}
	out, err := w.svc.ListAssociations(ctx, &podidentity.ListInput{ClusterName: "prod"})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"a/x", "a/y", "a/z", "b/x", "b/y", "b/z"}, ids(out.Associations)); d != "" || out.NextToken != "" {
		t.Errorf("list (-want +got):\n%s next %q", d, out.NextToken)
	}

	// Pages of two, then the filters.
	var paged []string
	var next *string
	pages := 0
	for {
		page, err := w.svc.ListAssociations(ctx, &podidentity.ListInput{ClusterName: "prod", MaxResults: p(int32(2)), NextToken: next})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		paged = append(paged, ids(page.Associations)...)
		if page.NextToken == "" {
			break
		}
		next = &page.NextToken
	}
	if d := cmp.Diff(ids(out.Associations), paged); d != "" || pages != 3 {
		t.Errorf("paged list in %d pages (-want +got):\n%s", pages, d)
	}
	byNS, err := w.svc.ListAssociations(ctx, &podidentity.ListInput{ClusterName: "prod", Namespace: p("b")})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"b/x", "b/y", "b/z"}, ids(byNS.Associations)); d != "" {
		t.Errorf("namespace filter (-want +got):\n%s", d)
	}
	bySA, err := w.svc.ListAssociations(ctx, &podidentity.ListInput{ClusterName: "prod", Namespace: p("a"), ServiceAccount: p("y")})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"a/y"}, ids(bySA.Associations)); d != "" {
		t.Errorf("namespace and service account filter (-want +got):\n%s", d)
	}

	_, err = w.svc.ListAssociations(ctx, &podidentity.ListInput{ClusterName: "prod", MaxResults: p(int32(0))})
	wantErr(t, "maxResults 0", err, awserr.InvalidParameterException, "MaxResults must be between 1 and 100.", 400)
	_, err = w.svc.ListAssociations(ctx, &podidentity.ListInput{ClusterName: "prod", MaxResults: p(int32(101))})
	wantErr(t, "maxResults 101", err, awserr.InvalidParameterException, "MaxResults must be between 1 and 100.", 400)
	_, err = w.svc.ListAssociations(ctx, &podidentity.ListInput{ClusterName: "prod", NextToken: p("!!")})
	wantErr(t, "bad next token", err, awserr.InvalidParameterException, "The nextToken is invalid.", 400)
	_, err = w.svc.ListAssociations(ctx, &podidentity.ListInput{ClusterName: "dev"})
	wantErr(t, "unknown cluster", err, awserr.ResourceNotFoundException, "No cluster found for name: dev.", 404)
	none, err := w.svc.ListAssociations(as(other), &podidentity.ListInput{ClusterName: "prod"})
	if err == nil {
		t.Errorf("another account listed %d associations of a cluster it does not have", len(none.Associations))
	}
}

func TestClusters(t *testing.T) {
	w := newWorld(t)
	w.cluster(acct, "alpha", "https://oidc.alpha.example")
	w.cluster(other, "zeta", "https://oidc.zeta.example")
	c, err := w.svc.DescribeCluster(as(acct), "prod")
	if err != nil {
		t.Fatal(err)
	}
	if c.ARN != prodARN || c.Issuer != issuerURL || c.Name != "prod" {
		t.Errorf("DescribeCluster = %+v", c)
	}
	_, err = w.svc.DescribeCluster(as(acct), "zeta")
	wantErr(t, "another account's cluster", err, awserr.ResourceNotFoundException, "No cluster found for name: zeta.", 404)
	list, err := w.svc.ListClusters(as(acct))
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Name != "alpha" || list[1].Name != "prod" {
		t.Errorf("ListClusters = %+v", list)
	}
	_, err = w.svc.ListClusters(context.Background())
	wantErr(t, "unsigned", err, awserr.AccessDeniedException, "", 403)
}

func TestTags(t *testing.T) {
	w := newWorld(t)
	ctx := as(acct)
	a, err := w.svc.CreateAssociation(ctx, &podidentity.CreateInput{ClusterName: "prod", Namespace: "ns", ServiceAccount: "sa",
		RoleARN: "arn:aws:iam::111111111111:role/app", Tags: map[string]string{"a": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, res := range []string{a.ARN, prodARN} {
		if err := w.svc.TagResource(ctx, res, map[string]string{"b": "2", "a": "one"}); err != nil {
			t.Fatalf("TagResource %s: %v", res, err)
		}
		if err := w.svc.UntagResource(ctx, res, []string{"b", "missing"}); err != nil {
			t.Fatalf("UntagResource %s: %v", res, err)
		}
		tags, err := w.svc.ListTagsForResource(ctx, res)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(map[string]string{"a": "one"}, tags); d != "" {
			t.Errorf("tags of %s (-want +got):\n%s", res, d)
		}
	}
	c, err := w.svc.DescribeCluster(ctx, "prod")
	if err != nil || c.Issuer != issuerURL {
		t.Errorf("tagging the cluster changed it: %+v %v", c, err)
	}

	err = w.svc.TagResource(ctx, "arn:aws:iam::111111111111:role/app", map[string]string{"a": "b"})
	wantErr(t, "IAM ARN", err, awserr.BadRequestException, "", 400)
	err = w.svc.TagResource(ctx, "arn:aws:eks:eu-west-1:111111111111:nodegroup/prod/x/y", map[string]string{"a": "b"})
	wantErr(t, "unsupported resource", err, awserr.BadRequestException, "", 400)
	err = w.svc.TagResource(ctx, "arn:aws:eks:eu-west-1:222222222222:cluster/prod", map[string]string{"a": "b"})
	wantErr(t, "another account", err, awserr.NotFoundException, "Resource arn:aws:eks:eu-west-1:222222222222:cluster/prod was not found.", 404)
	err = w.svc.TagResource(ctx, "arn:aws:eks:eu-west-1:111111111111:podidentityassociation/prod/a-00000000000000000", map[string]string{"a": "b"})
	wantErr(t, "unknown association", err, awserr.NotFoundException, "", 404)
	err = w.svc.TagResource(ctx, a.ARN, map[string]string{"aws:x": "b"})
	wantErr(t, "reserved key", err, awserr.BadRequestException, "Tag keys starting with aws: are reserved for AWS use.", 400)
	err = w.svc.UntagResource(ctx, a.ARN, nil)
	wantErr(t, "no keys", err, awserr.BadRequestException, "", 400)
}

func TestSessionName(t *testing.T) {
	uuid := "0f8fad5b-d9cb-469f-a165-70867728950e"
	if got := podidentity.SessionName("prod", "web-1", uuid); got != "eks-prod-web-1-"+uuid {
		t.Errorf("short: %s", got)
	}
	got := podidentity.SessionName(strings.Repeat("c", 100), "web-1", uuid)
	if len(got) != 64 || !strings.HasSuffix(got, "-"+uuid) || !strings.HasPrefix(got, "eks-ccc") {
		t.Errorf("long: %s (%d)", got, len(got))
	}
}

func FuzzSessionName(f *testing.F) {
	f.Add("prod", "web-1")
	f.Add(strings.Repeat("c", 100), strings.Repeat("p", 253))
	sessionName := regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
	clusterName := regexp.MustCompile(`^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$`)
	podName := regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$`)
	f.Fuzz(func(t *testing.T, cluster, pod string) {
		// Only the names EKS and Kubernetes allow reach SessionName.
		if !clusterName.MatchString(cluster) || !podName.MatchString(pod) {
			t.Skip()
		}
		uuid := "0f8fad5b-d9cb-469f-a165-70867728950e"
		got := podidentity.SessionName(cluster, pod, uuid)
		if !sessionName.MatchString(got) || !strings.HasSuffix(got, "-"+uuid) || !strings.HasPrefix(got, "eks-") {
			t.Errorf("SessionName(%q, %q) = %q", cluster, pod, got)
		}
	})
}
