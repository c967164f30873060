package iam

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/irsa-dev/irsa/internal/store"
)

// docOfSize is an identity policy of exactly n characters without
// whitespace (n ≥ 120), with some whitespace that must not count.
func docOfSize(t *testing.T, n int) string {
	t.Helper()
	head := `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::`
	tail := `"}]}`
	fill := n - nonSpace(head) - nonSpace(tail)
	if fill < 1 {
		t.Fatalf("docOfSize(%d) too small", n)
	}
	doc := head + strings.Repeat("b", fill) + tail
	if nonSpace(doc) != n {
		t.Fatalf("docOfSize: got %d", nonSpace(doc))
	}
	return doc
}

func TestInlinePolicies(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	createRole(t, s, "r")
	must(t, s.PutRolePolicy(ctx, acct, &PutRolePolicyInput{RoleName: ptr("r"), PolicyName: ptr("write"), PolicyDocument: ptr(s3Write)}))
	must(t, s.PutRolePolicy(ctx, acct, &PutRolePolicyInput{RoleName: ptr("r"), PolicyName: ptr("read"), PolicyDocument: ptr(s3Write)}))
	// Replacing keeps one policy of that name.
	must(t, s.PutRolePolicy(ctx, acct, &PutRolePolicyInput{RoleName: ptr("r"), PolicyName: ptr("read"), PolicyDocument: ptr(s3Read)}))
	got, err := s.GetRolePolicy(ctx, acct, &RolePolicyInput{RoleName: ptr("R"), PolicyName: ptr("read")})
	must(t, err)
	if diff := cmp.Diff(&GetRolePolicyOutput{RoleName: "r", PolicyName: "read", PolicyDocument: s3Read}, got); diff != "" {
		t.Errorf("get (-want +got):\n%s", diff)
	}
	list, err := s.ListRolePolicies(ctx, acct, &ListRolePoliciesInput{RoleName: ptr("r")})
	must(t, err)
	if diff := cmp.Diff(&ListRolePoliciesOutput{PolicyNames: []string{"read", "write"}}, list); diff != "" {
		t.Errorf("list (-want +got):\n%s", diff)
	}
	list, err = s.ListRolePolicies(ctx, acct, &ListRolePoliciesInput{RoleName: ptr("r"), MaxItems: ptr(int32(1))})
	must(t, err)
	if len(list.PolicyNames) != 1 || list.PolicyNames[0] != "read" || !list.IsTruncated {
		t.Errorf("first page: %+v", list)
	}
	list, err = s.ListRolePolicies(ctx, acct, &ListRolePoliciesInput{RoleName: ptr("r"), Marker: ptr(list.Marker)})
	must(t, err)
	if diff := cmp.Diff(&ListRolePoliciesOutput{PolicyNames: []string{"write"}}, list); diff != "" {
		t.Errorf("second page (-want +got):\n%s", diff)
	}
	must(t, s.DeleteRolePolicy(ctx, acct, &RolePolicyInput{RoleName: ptr("r"), PolicyName: ptr("write")}))

	cases := []struct {
		name string
		call func() error
		want string
	}{
		{"get deleted", func() error {
			_, err := s.GetRolePolicy(ctx, acct, &RolePolicyInput{RoleName: ptr("r"), PolicyName: ptr("write")})
			return err
		}, "NoSuchEntity: The role policy with name write cannot be found."},
		{"delete deleted", func() error {
			return s.DeleteRolePolicy(ctx, acct, &RolePolicyInput{RoleName: ptr("r"), PolicyName: ptr("write")})
		}, "NoSuchEntity: The role policy with name write cannot be found."},
		{"names are case-sensitive", func() error {
			_, err := s.GetRolePolicy(ctx, acct, &RolePolicyInput{RoleName: ptr("r"), PolicyName: ptr("READ")})
			return err
		}, "NoSuchEntity: The role policy with name READ cannot be found."},
		{"put on missing role", func() error {
			return s.PutRolePolicy(ctx, acct, &PutRolePolicyInput{RoleName: ptr("nope"), PolicyName: ptr("p"), PolicyDocument: ptr(s3Read)})
		}, "NoSuchEntity: The role with name nope cannot be found."},
		{"get on missing role", func() error {
			_, err := s.GetRolePolicy(ctx, acct, &RolePolicyInput{RoleName: ptr("nope"), PolicyName: ptr("p")})
			return err
		}, "NoSuchEntity: The role with name nope cannot be found."},
		{"list on missing role", func() error {
			_, err := s.ListRolePolicies(ctx, acct, &ListRolePoliciesInput{RoleName: ptr("nope")})
			return err
		}, "NoSuchEntity: The role with name nope cannot be found."},
		{"delete on missing role", func() error {
			return s.DeleteRolePolicy(ctx, acct, &RolePolicyInput{RoleName: ptr("nope"), PolicyName: ptr("p")})
		}, "NoSuchEntity: The role with name nope cannot be found."},
		{"malformed", func() error {
			return s.PutRolePolicy(ctx, acct, &PutRolePolicyInput{RoleName: ptr("r"), PolicyName: ptr("p"), PolicyDocument: ptr(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject"}]}`)})
		}, "MalformedPolicyDocument: Policy statement must contain resources."},
		{"not json", func() error {
			return s.PutRolePolicy(ctx, acct, &PutRolePolicyInput{RoleName: ptr("r"), PolicyName: ptr("p"), PolicyDocument: ptr(`nope`)})
		}, "MalformedPolicyDocument: Syntax errors in policy."},
		{"principal in identity policy", func() error {
			return s.PutRolePolicy(ctx, acct, &PutRolePolicyInput{RoleName: ptr("r"), PolicyName: ptr("p"), PolicyDocument: ptr(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}]}`)})
		}, "MalformedPolicyDocument: Policy document should not specify a principal."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { wantErr(t, c.call(), c.want) })
	}
}

func TestInlinePolicySizeLimit(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	createRole(t, s, "Big")
	put := func(name string, size int) error {
		return s.PutRolePolicy(ctx, acct, &PutRolePolicyInput{RoleName: ptr("big"), PolicyName: ptr(name), PolicyDocument: ptr(docOfSize(t, size))})
	}
	// 10,240 characters across the role's inline policies, whitespace not
	// counted.
	must(t, put("a", 6000))
	must(t, put("b", 4240))
	wantErr(t, put("c", 120), "LimitExceeded: Maximum policy size of 10240 bytes exceeded for role Big")
	// Replacing a policy counts its new size, not both.
	must(t, put("b", 4000))
	must(t, put("c", 240))
	wantErr(t, put("a", 6001), "LimitExceeded: Maximum policy size of 10240 bytes exceeded for role Big")
	// One policy alone over the limit gets the same message.
	s2 := newService(t)
	createRole(t, s2, "solo")
	err := s2.PutRolePolicy(ctx, acct, &PutRolePolicyInput{RoleName: ptr("solo"), PolicyName: ptr("p"), PolicyDocument: ptr(docOfSize(t, 10241))})
	wantErr(t, err, "LimitExceeded: Maximum policy size of 10240 bytes exceeded for role solo")
	must(t, s2.PutRolePolicy(ctx, acct, &PutRolePolicyInput{RoleName: ptr("solo"), PolicyName: ptr("p"), PolicyDocument: ptr(docOfSize(t, 10240))}))
}

func TestManagedPolicies(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	out, err := s.CreatePolicy(ctx, acct, &CreatePolicyInput{
		PolicyName:     ptr("Reader"),
		Path:           ptr("/team/"),
		PolicyDocument: ptr(s3Read),
		Description:    ptr("reads objects"),
		Tags:           []Tag{{Key: "k", Value: "v"}},
	})
	must(t, err)
	p := out.Policy
	if p.ARN != "arn:aws:iam::000000000000:policy/team/Reader" || p.DefaultVersion != "v1" || len(p.ID) != 21 || !strings.HasPrefix(p.ID, "ANPA") {
		t.Errorf("created: ARN %s, default %s, ID %s", p.ARN, p.DefaultVersion, p.ID)
	}
	if p.Description != "reads objects" || len(p.Versions) != 1 || p.Versions[0].Document != s3Read || p.AttachmentCount != 0 {
		t.Errorf("created: %+v", p)
	}
	got, err := s.GetPolicy(ctx, acct, &PolicyARNInput{PolicyArn: ptr(p.ARN)})
	must(t, err)
	if got.Policy.Name != "Reader" || got.Policy.ID != p.ID || got.Policy.Path != "/team/" {
		t.Errorf("get: %+v", got.Policy)
	}
	arn := p.ARN

	// Versions.
	v2, err := s.CreatePolicyVersion(ctx, acct, &CreatePolicyVersionInput{PolicyArn: ptr(arn), PolicyDocument: ptr(s3Write)})
	must(t, err)
	if v2.PolicyVersion.VersionId != "v2" || v2.PolicyVersion.IsDefaultVersion || v2.PolicyVersion.Document != s3Write {
		t.Errorf("v2: %+v", v2.PolicyVersion)
	}
	v3, err := s.CreatePolicyVersion(ctx, acct, &CreatePolicyVersionInput{PolicyArn: ptr(arn), PolicyDocument: ptr(s3Read), SetAsDefault: true})
	must(t, err)
	if v3.PolicyVersion.VersionId != "v3" || !v3.PolicyVersion.IsDefaultVersion {
		t.Errorf("v3: %+v", v3.PolicyVersion)
	}
	must(t, s.DeletePolicyVersion(ctx, acct, &PolicyVersionInput{PolicyArn: ptr(arn), VersionId: ptr("v2")}))
	v4, err := s.CreatePolicyVersion(ctx, acct, &CreatePolicyVersionInput{PolicyArn: ptr(arn), PolicyDocument: ptr(s3Write)})
	must(t, err)
	if v4.PolicyVersion.VersionId != "v4" {
		t.Errorf("version numbers are reused: got %s after v3", v4.PolicyVersion.VersionId)
	}
	for range 2 {
		_, err := s.CreatePolicyVersion(ctx, acct, &CreatePolicyVersionInput{PolicyArn: ptr(arn), PolicyDocument: ptr(s3Write)})
		must(t, err)
	}
	_, err = s.CreatePolicyVersion(ctx, acct, &CreatePolicyVersionInput{PolicyArn: ptr(arn), PolicyDocument: ptr(s3Write)})
	wantErr(t, err, "LimitExceeded: A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.")

	vs, err := s.ListPolicyVersions(ctx, acct, &ListPolicyVersionsInput{PolicyArn: ptr(arn)})
	must(t, err)
	var ids []string
	for _, v := range vs.Versions {
		ids = append(ids, fmt.Sprintf("%s:%v", v.VersionId, v.IsDefaultVersion))
	}
	if diff := cmp.Diff([]string{"v6:false", "v5:false", "v4:false", "v3:true", "v1:false"}, ids); diff != "" {
		t.Errorf("versions, newest first (-want +got):\n%s", diff)
	}
	page, err := s.ListPolicyVersions(ctx, acct, &ListPolicyVersionsInput{PolicyArn: ptr(arn), MaxItems: ptr(int32(3))})
	must(t, err)
	page2, err := s.ListPolicyVersions(ctx, acct, &ListPolicyVersionsInput{PolicyArn: ptr(arn), Marker: ptr(page.Marker)})
	must(t, err)
	if len(page.Versions) != 3 || !page.IsTruncated || len(page2.Versions) != 2 || page2.Versions[0].VersionId != "v3" {
		t.Errorf("version pages: %+v then %+v", page, page2)
	}

	must(t, s.SetDefaultPolicyVersion(ctx, acct, &PolicyVersionInput{PolicyArn: ptr(arn), VersionId: ptr("v1")}))
	gv, err := s.GetPolicyVersion(ctx, acct, &PolicyVersionInput{PolicyArn: ptr(arn), VersionId: ptr("v1")})
	must(t, err)
	if !gv.PolicyVersion.IsDefaultVersion || gv.PolicyVersion.Document != s3Read {
		t.Errorf("v1 after SetDefault: %+v", gv.PolicyVersion)
	}
	got, err = s.GetPolicy(ctx, acct, &PolicyARNInput{PolicyArn: ptr(arn)})
	must(t, err)
	if got.Policy.DefaultVersion != "v1" || !got.Policy.UpdatedAt.After(got.Policy.CreatedAt) {
		t.Errorf("policy after SetDefault: default %s, updated %v, created %v", got.Policy.DefaultVersion, got.Policy.UpdatedAt, got.Policy.CreatedAt)
	}

	cases := []struct {
		name string
		call func() error
		want string
	}{
		{"delete default version", func() error {
			return s.DeletePolicyVersion(ctx, acct, &PolicyVersionInput{PolicyArn: ptr(arn), VersionId: ptr("v1")})
		}, "DeleteConflict: Cannot delete the default version of a policy."},
		{"delete missing version", func() error {
			return s.DeletePolicyVersion(ctx, acct, &PolicyVersionInput{PolicyArn: ptr(arn), VersionId: ptr("v2")})
		}, "NoSuchEntity: Policy arn:aws:iam::000000000000:policy/team/Reader version v2 does not exist or is not attachable."},
		{"get missing version", func() error {
			_, err := s.GetPolicyVersion(ctx, acct, &PolicyVersionInput{PolicyArn: ptr(arn), VersionId: ptr("v9")})
			return err
		}, "NoSuchEntity: Policy arn:aws:iam::000000000000:policy/team/Reader version v9 does not exist or is not attachable."},
		{"set missing version", func() error {
			return s.SetDefaultPolicyVersion(ctx, acct, &PolicyVersionInput{PolicyArn: ptr(arn), VersionId: ptr("v2")})
		}, "NoSuchEntity: Policy arn:aws:iam::000000000000:policy/team/Reader version v2 does not exist or is not attachable."},
		{"delete with versions", func() error {
			return s.DeletePolicy(ctx, acct, &PolicyARNInput{PolicyArn: ptr(arn)})
		}, "DeleteConflict: This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy."},
		{"same name, other path", func() error {
			_, err := s.CreatePolicy(ctx, acct, &CreatePolicyInput{PolicyName: ptr("reader"), PolicyDocument: ptr(s3Read)})
			return err
		}, "EntityAlreadyExists: A policy called reader already exists. Duplicate names are not allowed."},
		{"too large", func() error {
			_, err := s.CreatePolicy(ctx, acct, &CreatePolicyInput{PolicyName: ptr("big"), PolicyDocument: ptr(docOfSize(t, 6145))})
			return err
		}, "LimitExceeded: Cannot exceed quota for PolicySize: 6144"},
		{"new version too large", func() error {
			_, err := s.CreatePolicyVersion(ctx, acct, &CreatePolicyVersionInput{PolicyArn: ptr(arn), PolicyDocument: ptr(docOfSize(t, 6145))})
			return err
		}, "LimitExceeded: Cannot exceed quota for PolicySize: 6144"},
		{"malformed", func() error {
			_, err := s.CreatePolicy(ctx, acct, &CreatePolicyInput{PolicyName: ptr("bad"), PolicyDocument: ptr(`{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`)})
			return err
		}, ""},
		{"malformed version", func() error {
			_, err := s.CreatePolicyVersion(ctx, acct, &CreatePolicyVersionInput{PolicyArn: ptr(arn), PolicyDocument: ptr(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Resource":"*"}]}`)})
			return err
		}, "MalformedPolicyDocument: Policy statement must contain actions."},
		{"get missing", func() error {
			_, err := s.GetPolicy(ctx, acct, &PolicyARNInput{PolicyArn: ptr("arn:aws:iam::000000000000:policy/none")})
			return err
		}, "NoSuchEntity: Policy arn:aws:iam::000000000000:policy/none was not found."},
		{"get AWS managed", func() error {
			_, err := s.GetPolicy(ctx, acct, &PolicyARNInput{PolicyArn: ptr("arn:aws:iam::aws:policy/ReadOnlyAccess")})
			return err
		}, "NoSuchEntity: Policy arn:aws:iam::aws:policy/ReadOnlyAccess was not found."},
		{"get from another account", func() error {
			_, err := s.GetPolicy(ctx, other, &PolicyARNInput{PolicyArn: ptr(arn)})
			return err
		}, "NoSuchEntity: Policy arn:aws:iam::000000000000:policy/team/Reader was not found."},
		{"get not an ARN", func() error {
			_, err := s.GetPolicy(ctx, acct, &PolicyARNInput{PolicyArn: ptr("just-a-long-policy-name")})
			return err
		}, "ValidationError: Invalid ARN:  Could not be parsed!"},
		{"delete missing", func() error {
			return s.DeletePolicy(ctx, acct, &PolicyARNInput{PolicyArn: ptr("arn:aws:iam::000000000000:policy/non-existent-policy")})
		}, "NoSuchEntity: Policy arn:aws:iam::000000000000:policy/non-existent-policy was not found."},
		{"versions of missing", func() error {
			_, err := s.ListPolicyVersions(ctx, acct, &ListPolicyVersionsInput{PolicyArn: ptr("arn:aws:iam::000000000000:policy/none")})
			return err
		}, "NoSuchEntity: Policy arn:aws:iam::000000000000:policy/none was not found."},
		{"new version of missing", func() error {
			_, err := s.CreatePolicyVersion(ctx, acct, &CreatePolicyVersionInput{PolicyArn: ptr("arn:aws:iam::000000000000:policy/none"), PolicyDocument: ptr(s3Read)})
			return err
		}, "NoSuchEntity: Policy arn:aws:iam::000000000000:policy/none was not found."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.call()
			if c.name == "malformed" {
				// No Version: the policy package decides the message; the
				// code must be MalformedPolicyDocument.
				if !strings.HasPrefix(awsErr(err), "MalformedPolicyDocument: ") {
					t.Errorf("got %s, want MalformedPolicyDocument", awsErr(err))
				}
				return
			}
			wantErr(t, err, c.want)
		})
	}

	// Delete once only the default version is left.
	for _, v := range []string{"v3", "v4", "v5", "v6"} {
		must(t, s.DeletePolicyVersion(ctx, acct, &PolicyVersionInput{PolicyArn: ptr(arn), VersionId: ptr(v)}))
	}
	must(t, s.DeletePolicy(ctx, acct, &PolicyARNInput{PolicyArn: ptr(arn)}))
	_, err = s.GetPolicy(ctx, acct, &PolicyARNInput{PolicyArn: ptr(arn)})
	wantErr(t, err, "NoSuchEntity: Policy arn:aws:iam::000000000000:policy/team/Reader was not found.")
}

func TestPolicyTags(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	arn := createPolicy(t, s, "p", s3Read)
	must(t, s.TagPolicy(ctx, acct, &TagPolicyInput{PolicyArn: ptr(arn), Tags: []Tag{{Key: "b", Value: "1"}, {Key: "a", Value: "2"}}}))
	must(t, s.UntagPolicy(ctx, acct, &UntagPolicyInput{PolicyArn: ptr(arn), TagKeys: []string{"B"}}))
	out, err := s.ListPolicyTags(ctx, acct, &ListPolicyTagsInput{PolicyArn: ptr(arn)})
	must(t, err)
	if diff := cmp.Diff(&ListTagsOutput{Tags: []store.Tag{{Key: "a", Value: "2"}}}, out); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
	tags := make([]Tag, 50)
	for i := range tags {
		tags[i] = Tag{Key: fmt.Sprintf("t%d", i)}
	}
	wantErr(t, s.TagPolicy(ctx, acct, &TagPolicyInput{PolicyArn: ptr(arn), Tags: tags}), "LimitExceeded: Cannot exceed quota for TagsPerPolicy: 50")
	missing := "arn:aws:iam::000000000000:policy/none"
	wantErr(t, s.TagPolicy(ctx, acct, &TagPolicyInput{PolicyArn: ptr(missing), Tags: []Tag{{Key: "a"}}}), "NoSuchEntity: Policy "+missing+" was not found.")
	wantErr(t, s.UntagPolicy(ctx, acct, &UntagPolicyInput{PolicyArn: ptr(missing), TagKeys: []string{"a"}}), "NoSuchEntity: Policy "+missing+" was not found.")
	_, err = s.ListPolicyTags(ctx, acct, &ListPolicyTagsInput{PolicyArn: ptr(missing)})
	wantErr(t, err, "NoSuchEntity: Policy "+missing+" was not found.")
	_, err = s.CreatePolicy(ctx, acct, &CreatePolicyInput{PolicyName: ptr("q"), PolicyDocument: ptr(s3Read), Tags: []Tag{{Key: "x"}, {Key: "X"}}})
	wantErr(t, err, "InvalidInput: Duplicate tag keys found. Please note that Tag keys are case insensitive.")
}

func TestListPolicies(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	for _, p := range []struct{ path, name string }{{"/", "c"}, {"/", "A"}, {"/team/", "b"}, {"/team/x/", "d"}} {
		_, err := s.CreatePolicy(ctx, acct, &CreatePolicyInput{Path: ptr(p.path), PolicyName: ptr(p.name), PolicyDocument: ptr(s3Read)})
		must(t, err)
	}
	_, err := s.CreatePolicy(ctx, other, &CreatePolicyInput{PolicyName: ptr("elsewhere"), PolicyDocument: ptr(s3Read)})
	must(t, err)
	createRole(t, s, "r1")
	createRole(t, s, "r2")
	must(t, s.AttachRolePolicy(ctx, acct, &RolePolicyARNInput{RoleName: ptr("r1"), PolicyArn: ptr("arn:aws:iam::000000000000:policy/c")}))
	must(t, s.PutRolePermissionsBoundary(ctx, acct, &PutRolePermissionsBoundaryInput{RoleName: ptr("r2"), PermissionsBoundary: ptr("arn:aws:iam::000000000000:policy/team/b")}))

	names := func(in ListPoliciesInput) []string {
		t.Helper()
		out, err := s.ListPolicies(ctx, acct, &in)
		must(t, err)
		names := []string{}
		for _, p := range out.Policies {
			names = append(names, fmt.Sprintf("%s:%d:%d", p.Name, p.AttachmentCount, p.PermissionsBoundaryUsageCount))
		}
		return names
	}
	cases := []struct {
		name string
		in   ListPoliciesInput
		want []string
	}{
		{"all", ListPoliciesInput{}, []string{"A:0:0", "b:0:1", "c:1:0", "d:0:0"}},
		{"local", ListPoliciesInput{Scope: ptr("Local")}, []string{"A:0:0", "b:0:1", "c:1:0", "d:0:0"}},
		{"aws", ListPoliciesInput{Scope: ptr("AWS")}, []string{}},
		{"path prefix", ListPoliciesInput{PathPrefix: ptr("/team/")}, []string{"b:0:1", "d:0:0"}},
		{"only attached", ListPoliciesInput{OnlyAttached: true}, []string{"b:0:1", "c:1:0"}},
		{"only attached permissions policies", ListPoliciesInput{OnlyAttached: true, PolicyUsageFilter: ptr("PermissionsPolicy")}, []string{"c:1:0"}},
		{"boundaries", ListPoliciesInput{PolicyUsageFilter: ptr("PermissionsBoundary")}, []string{"b:0:1"}},
		{"first page", ListPoliciesInput{MaxItems: ptr(int32(3))}, []string{"A:0:0", "b:0:1", "c:1:0"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if diff := cmp.Diff(c.want, names(c.in)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	first, err := s.ListPolicies(ctx, acct, &ListPoliciesInput{MaxItems: ptr(int32(3))})
	must(t, err)
	if diff := cmp.Diff([]string{"d:0:0"}, names(ListPoliciesInput{Marker: ptr(first.Marker)})); diff != "" || !first.IsTruncated {
		t.Errorf("second page (-want +got):\n%s", diff)
	}
}

func TestAttachments(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	createRole(t, s, "r")
	createRole(t, s, "q")
	var arns []string
	for i := range 11 {
		arns = append(arns, createPolicy(t, s, fmt.Sprintf("p%02d", i), s3Read))
	}
	pathed, err := s.CreatePolicy(ctx, acct, &CreatePolicyInput{Path: ptr("/team/"), PolicyName: ptr("pathed"), PolicyDocument: ptr(s3Read)})
	must(t, err)
	attach := func(role, arn string) error {
		return s.AttachRolePolicy(ctx, acct, &RolePolicyARNInput{RoleName: ptr(role), PolicyArn: ptr(arn)})
	}
	must(t, attach("r", pathed.Policy.ARN))
	for _, a := range arns[:9] {
		must(t, attach("r", a))
	}
	// Attaching again does nothing and does not count twice.
	must(t, attach("r", arns[0]))
	wantErr(t, attach("r", arns[9]), "LimitExceeded: Cannot exceed quota for PoliciesPerRole: 10")
	must(t, attach("q", arns[0]))

	p0, err := s.GetPolicy(ctx, acct, &PolicyARNInput{PolicyArn: ptr(arns[0])})
	must(t, err)
	if p0.Policy.AttachmentCount != 2 {
		t.Errorf("AttachmentCount %d, want 2", p0.Policy.AttachmentCount)
	}
	wantErr(t, s.DeletePolicy(ctx, acct, &PolicyARNInput{PolicyArn: ptr(arns[0])}), "DeleteConflict: Cannot delete a policy attached to entities.")

	list, err := s.ListAttachedRolePolicies(ctx, acct, &ListAttachedRolePoliciesInput{RoleName: ptr("r"), MaxItems: ptr(int32(2))})
	must(t, err)
	want := []AttachedPolicy{{PolicyName: "pathed", PolicyArn: "arn:aws:iam::000000000000:policy/team/pathed"}, {PolicyName: "p00", PolicyArn: arns[0]}}
	if diff := cmp.Diff(want, list.AttachedPolicies); diff != "" || !list.IsTruncated {
		t.Errorf("first page (-want +got):\n%s", diff)
	}
	rest, err := s.ListAttachedRolePolicies(ctx, acct, &ListAttachedRolePoliciesInput{RoleName: ptr("r"), Marker: ptr(list.Marker)})
	must(t, err)
	if len(rest.AttachedPolicies) != 8 || rest.IsTruncated || rest.AttachedPolicies[0].PolicyName != "p01" {
		t.Errorf("second page: %+v", rest)
	}
	team, err := s.ListAttachedRolePolicies(ctx, acct, &ListAttachedRolePoliciesInput{RoleName: ptr("r"), PathPrefix: ptr("/team/")})
	must(t, err)
	if diff := cmp.Diff(want[:1], team.AttachedPolicies); diff != "" {
		t.Errorf("path prefix (-want +got):\n%s", diff)
	}

	ents, err := s.ListEntitiesForPolicy(ctx, acct, &ListEntitiesForPolicyInput{PolicyArn: ptr(arns[0])})
	must(t, err)
	var roles []string
	for _, r := range ents.PolicyRoles {
		roles = append(roles, r.RoleName)
		if !strings.HasPrefix(r.RoleId, "AROA") {
			t.Errorf("role ID %q", r.RoleId)
		}
	}
	if diff := cmp.Diff([]string{"q", "r"}, roles); diff != "" || len(ents.PolicyUsers) != 0 || len(ents.PolicyGroups) != 0 {
		t.Errorf("entities (-want +got):\n%s", diff)
	}
	for _, f := range []string{"User", "Group", "LocalManagedPolicy"} {
		ents, err := s.ListEntitiesForPolicy(ctx, acct, &ListEntitiesForPolicyInput{PolicyArn: ptr(arns[0]), EntityFilter: ptr(f)})
		must(t, err)
		if len(ents.PolicyRoles) != 0 {
			t.Errorf("filter %s: roles %v", f, ents.PolicyRoles)
		}
	}
	ents, err = s.ListEntitiesForPolicy(ctx, acct, &ListEntitiesForPolicyInput{PolicyArn: ptr(arns[0]), EntityFilter: ptr("Role"), MaxItems: ptr(int32(1))})
	must(t, err)
	if len(ents.PolicyRoles) != 1 || ents.PolicyRoles[0].RoleName != "q" || !ents.IsTruncated {
		t.Errorf("entities page: %+v", ents)
	}

	must(t, s.DetachRolePolicy(ctx, acct, &RolePolicyARNInput{RoleName: ptr("q"), PolicyArn: ptr(arns[0])}))
	p0, err = s.GetPolicy(ctx, acct, &PolicyARNInput{PolicyArn: ptr(arns[0])})
	must(t, err)
	if p0.Policy.AttachmentCount != 1 {
		t.Errorf("AttachmentCount after detach %d, want 1", p0.Policy.AttachmentCount)
	}

	missing := "arn:aws:iam::000000000000:policy/p01123"
	cases := []struct {
		name string
		call func() error
		want string
	}{
		{"detach not attached", func() error {
			return s.DetachRolePolicy(ctx, acct, &RolePolicyARNInput{RoleName: ptr("q"), PolicyArn: ptr(arns[0])})
		}, "NoSuchEntity: Policy " + arns[0] + " was not found."},
		{"attach missing policy", func() error { return attach("q", missing) },
			"NoSuchEntity: Policy " + missing + " does not exist or is not attachable."},
		{"attach AWS managed policy", func() error { return attach("q", "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess") },
			"NoSuchEntity: Policy arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess does not exist or is not attachable."},
		{"attach another account's policy", func() error { return attach("q", "arn:aws:iam::111111111111:policy/p00") },
			"NoSuchEntity: Policy arn:aws:iam::111111111111:policy/p00 does not exist or is not attachable."},
		{"attach not an ARN", func() error { return attach("q", "longpolicynamebutnoarn") },
			"ValidationError: Invalid ARN:  Could not be parsed!"},
		{"detach not an ARN", func() error {
			return s.DetachRolePolicy(ctx, acct, &RolePolicyARNInput{RoleName: ptr("q"), PolicyArn: ptr("longpolicynamebutnoarn")})
		}, "ValidationError: Invalid ARN:  Could not be parsed!"},
		{"attach to missing role", func() error { return attach("nope", arns[0]) },
			"NoSuchEntity: The role with name nope cannot be found."},
		{"detach from missing role", func() error {
			return s.DetachRolePolicy(ctx, acct, &RolePolicyARNInput{RoleName: ptr("nope"), PolicyArn: ptr(arns[0])})
		}, "NoSuchEntity: The role with name nope cannot be found."},
		{"list for missing role", func() error {
			_, err := s.ListAttachedRolePolicies(ctx, acct, &ListAttachedRolePoliciesInput{RoleName: ptr("nope")})
			return err
		}, "NoSuchEntity: The role with name nope cannot be found."},
		{"entities of missing policy", func() error {
			_, err := s.ListEntitiesForPolicy(ctx, acct, &ListEntitiesForPolicyInput{PolicyArn: ptr(missing)})
			return err
		}, "NoSuchEntity: Policy " + missing + " was not found."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { wantErr(t, c.call(), c.want) })
	}
}

func TestRolePolicies(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	createRole(t, s, "r")
	must(t, s.PutRolePolicy(ctx, acct, &PutRolePolicyInput{RoleName: ptr("r"), PolicyName: ptr("inline"), PolicyDocument: ptr(s3Read)}))
	managed := createPolicy(t, s, "managed", s3Read)
	_, err := s.CreatePolicyVersion(ctx, acct, &CreatePolicyVersionInput{PolicyArn: ptr(managed), PolicyDocument: ptr(s3Write), SetAsDefault: true})
	must(t, err)
	must(t, s.AttachRolePolicy(ctx, acct, &RolePolicyARNInput{RoleName: ptr("r"), PolicyArn: ptr(managed)}))
	bnd := createPolicy(t, s, "bnd", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`)
	must(t, s.PutRolePermissionsBoundary(ctx, acct, &PutRolePermissionsBoundaryInput{RoleName: ptr("r"), PermissionsBoundary: ptr(bnd)}))

	ids, boundary, err := s.RolePolicies(ctx, acct, "R")
	must(t, err)
	var names []string
	for _, p := range ids {
		names = append(names, p.Name)
	}
	if diff := cmp.Diff([]string{"inline", managed}, names); diff != "" {
		t.Errorf("identity policies (-want +got):\n%s", diff)
	}
	if boundary == nil || boundary.Name != bnd {
		t.Fatalf("boundary %+v", boundary)
	}
	// The managed policy is read at its default version (v2: PutObject).
	if got := ids[1].Statements[0].Action; len(got) != 1 || got[0] != "s3:PutObject" {
		t.Errorf("managed policy actions %v, want the default version's", got)
	}
	_, _, err = s.RolePolicies(ctx, acct, "nope")
	wantErr(t, err, "NoSuchEntity: The role with name nope cannot be found.")
	_, _, err = s.RolePolicies(ctx, other, "r")
	wantErr(t, err, "NoSuchEntity: The role with name r cannot be found.")

	createRole(t, s, "bare")
	ids, boundary, err = s.RolePolicies(ctx, acct, "bare")
	must(t, err)
	if len(ids) != 0 || boundary != nil {
		t.Errorf("bare role: %v, %v", ids, boundary)
	}
}

// TestRolePoliciesAfterRaces covers records a concurrent writer left
// behind: an attached policy deleted under a detach is skipped, a missing
// boundary fails closed.
func TestRolePoliciesAfterRaces(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	createRole(t, s, "r")
	attached := createPolicy(t, s, "attached", s3Read)
	bnd := createPolicy(t, s, "bnd", s3Read)
	must(t, s.AttachRolePolicy(ctx, acct, &RolePolicyARNInput{RoleName: ptr("r"), PolicyArn: ptr(attached)}))
	must(t, s.Store.DeletePolicy(ctx, attached))
	ids, boundary, err := s.RolePolicies(ctx, acct, "r")
	must(t, err)
	if len(ids) != 0 || boundary != nil {
		t.Errorf("after the attached policy vanished: %v, %v", ids, boundary)
	}
	must(t, s.PutRolePermissionsBoundary(ctx, acct, &PutRolePermissionsBoundaryInput{RoleName: ptr("r"), PermissionsBoundary: ptr(bnd)}))
	must(t, s.Store.DeletePolicy(ctx, bnd))
	_, _, err = s.RolePolicies(ctx, acct, "r")
	if got := awsErr(err); !strings.HasPrefix(got, "InternalFailure: ") {
		t.Errorf("missing boundary: %s, want InternalFailure", got)
	}
	_, err = s.SimulatePrincipalPolicy(ctx, acct, &SimulatePrincipalPolicyInput{PolicySourceArn: ptr("arn:aws:iam::000000000000:role/r"), ActionNames: []string{"s3:GetObject"}})
	if got := awsErr(err); !strings.HasPrefix(got, "InternalFailure: ") {
		t.Errorf("simulation with a missing boundary: %s, want InternalFailure", got)
	}
}

func TestStoreErr(t *testing.T) {
	cases := []struct {
		err  error
		want string
	}{
		{fmt.Errorf("update: %w", store.ErrConflict), "ConcurrentModification: This resource is being modified by another request. Try again later."},
		{fmt.Errorf("disk full"), "InternalFailure: An internal error occurred; see the server log for this request ID."},
		{fmt.Errorf("wrapped: %w", noSuchRole("x")), "NoSuchEntity: The role with name x cannot be found."},
	}
	for _, c := range cases {
		if got := awsErr(storeErr(c.err)); got != c.want {
			t.Errorf("storeErr(%v) = %s, want %s", c.err, got, c.want)
		}
	}
}
