package iam

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/irsa-dev/irsa/internal/store"
)

func TestCreateRole(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	bnd := createPolicy(t, s, "boundary", s3Read)
	out, err := s.CreateRole(ctx, acct, &CreateRoleInput{
		Path:                     ptr("/team/a/"),
		RoleName:                 ptr("Reader"),
		AssumeRolePolicyDocument: ptr(trustDoc),
		Description:              ptr("reads"),
		MaxSessionDuration:       ptr(int32(7200)),
		PermissionsBoundary:      ptr(bnd),
		Tags:                     []Tag{{Key: "team", Value: "a"}},
	})
	must(t, err)
	want := store.Role{
		AccountID:          acct,
		Name:               "Reader",
		Path:               "/team/a/",
		ARN:                "arn:aws:iam::000000000000:role/team/a/Reader",
		TrustPolicy:        trustDoc,
		Description:        "reads",
		MaxSessionDuration: 7200,
		BoundaryARN:        bnd,
		Tags:               []store.Tag{{Key: "team", Value: "a"}},
	}
	ignore := cmpopts.IgnoreFields(store.Role{}, "ID", "CreatedAt", "Version")
	if diff := cmp.Diff(want, out.Role, ignore); diff != "" {
		t.Errorf("created (-want +got):\n%s", diff)
	}
	if len(out.Role.ID) != 21 || !strings.HasPrefix(out.Role.ID, "AROA") || strings.ToUpper(out.Role.ID) != out.Role.ID {
		t.Errorf("role ID %q is not AROA and 17 upper-case characters", out.Role.ID)
	}
	got, err := s.GetRole(ctx, acct, &RoleNameInput{RoleName: ptr("reader")})
	must(t, err)
	if diff := cmp.Diff(out.Role, got.Role, cmpopts.IgnoreFields(store.Role{}, "Version")); diff != "" {
		t.Errorf("get, name in another case (-created +got):\n%s", diff)
	}

	// Defaults.
	d := createRole(t, s, "plain")
	if d.Path != "/" || d.MaxSessionDuration != 3600 || d.ARN != "arn:aws:iam::000000000000:role/plain" {
		t.Errorf("defaults: path %q, duration %d, ARN %s", d.Path, d.MaxSessionDuration, d.ARN)
	}
	if d.ID == out.Role.ID {
		t.Errorf("two roles share the ID %s", d.ID)
	}

	// The same name in another account is another role.
	_, err = s.CreateRole(ctx, other, &CreateRoleInput{RoleName: ptr("Reader"), AssumeRolePolicyDocument: ptr(trustDoc)})
	must(t, err)
}

func TestCreateRoleErrors(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	createRole(t, s, "taken")
	big := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:PrincipalTag/x":["` + strings.Repeat("v", 2000) + `"]}}}]}`
	cases := []struct {
		name string
		in   CreateRoleInput
		max  int
		want string
	}{
		{"exists", CreateRoleInput{RoleName: ptr("TAKEN"), AssumeRolePolicyDocument: ptr(trustDoc)}, 0,
			"EntityAlreadyExists: Role with name TAKEN already exists."},
		{"invalid json", CreateRoleInput{RoleName: ptr("r"), AssumeRolePolicyDocument: ptr("{")}, 0,
			"MalformedPolicyDocument: This policy contains invalid Json"},
		{"identity policy as trust policy", CreateRoleInput{RoleName: ptr("r"), AssumeRolePolicyDocument: ptr(s3Read)}, 0,
			"MalformedPolicyDocument: Missing required field Principal"},
		{"trust policy over 2048", CreateRoleInput{RoleName: ptr("r"), AssumeRolePolicyDocument: ptr(big)}, 0,
			"LimitExceeded: Cannot exceed quota for ACLSizePerRole: 2048"},
		{"trust policy quota raised to 4096", CreateRoleInput{RoleName: ptr("r4096"), AssumeRolePolicyDocument: ptr(big)}, 4096, ""},
		{"trust quota above 4096 is held to 4096", CreateRoleInput{RoleName: ptr("r"), AssumeRolePolicyDocument: ptr(strings.Replace(big, strings.Repeat("v", 2000), strings.Repeat("v", 4000), 1))}, 10000,
			"LimitExceeded: Cannot exceed quota for ACLSizePerRole: 4096"},
		{"boundary not a policy ARN", CreateRoleInput{RoleName: ptr("r"), AssumeRolePolicyDocument: ptr(trustDoc), PermissionsBoundary: ptr("arn:aws:iam::000000000000:role/x")}, 0,
			"InvalidParameterValue: Value (arn:aws:iam::000000000000:role/x) for parameter PermissionsBoundary is invalid."},
		{"boundary missing", CreateRoleInput{RoleName: ptr("r"), AssumeRolePolicyDocument: ptr(trustDoc), PermissionsBoundary: ptr("arn:aws:iam::000000000000:policy/none")}, 0,
			"NoSuchEntity: Scope ARN: arn:aws:iam::000000000000:policy/none does not exist or is not attachable."},
		{"boundary AWS managed", CreateRoleInput{RoleName: ptr("r"), AssumeRolePolicyDocument: ptr(trustDoc), PermissionsBoundary: ptr("arn:aws:iam::aws:policy/PowerUserAccess")}, 0,
			"NoSuchEntity: Scope ARN: arn:aws:iam::aws:policy/PowerUserAccess does not exist or is not attachable."},
		{"duplicate tags", CreateRoleInput{RoleName: ptr("r"), AssumeRolePolicyDocument: ptr(trustDoc), Tags: []Tag{{Key: "a"}, {Key: "A"}}}, 0,
			"InvalidInput: Duplicate tag keys found. Please note that Tag keys are case insensitive."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s.TrustPolicyMaxSize = c.max
			_, err := s.CreateRole(ctx, acct, &c.in)
			wantErr(t, err, c.want)
		})
	}
	s.TrustPolicyMaxSize = 0
	err := s.UpdateAssumeRolePolicy(ctx, acct, &UpdateAssumeRolePolicyInput{RoleName: ptr("taken"), PolicyDocument: ptr(big)})
	wantErr(t, err, "LimitExceeded: Cannot exceed quota for ACLSizePerRole: 2048")
}

func TestListRoles(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	for _, r := range []struct{ path, name string }{
		{"/", "c"}, {"/", "A"}, {"/team/", "b"}, {"/team/x/", "d"}, {"/other/", "e"},
	} {
		_, err := s.CreateRole(ctx, acct, &CreateRoleInput{Path: ptr(r.path), RoleName: ptr(r.name), AssumeRolePolicyDocument: ptr(trustDoc)})
		must(t, err)
	}
	createRoleIn(t, s, other, "f")
	names := func(rs []store.Role) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.Name)
		}
		return out
	}
	all, err := s.ListRoles(ctx, acct, &ListRolesInput{})
	must(t, err)
	if diff := cmp.Diff([]string{"A", "b", "c", "d", "e"}, names(all.Roles)); diff != "" || all.IsTruncated {
		t.Errorf("all roles (-want +got):\n%s truncated %v", diff, all.IsTruncated)
	}
	team, err := s.ListRoles(ctx, acct, &ListRolesInput{PathPrefix: ptr("/team/")})
	must(t, err)
	if diff := cmp.Diff([]string{"b", "d"}, names(team.Roles)); diff != "" {
		t.Errorf("path prefix (-want +got):\n%s", diff)
	}
	var pages [][]string
	var marker *string
	for {
		p, err := s.ListRoles(ctx, acct, &ListRolesInput{MaxItems: ptr(int32(2)), Marker: marker})
		must(t, err)
		pages = append(pages, names(p.Roles))
		if !p.IsTruncated {
			if p.Marker != "" {
				t.Errorf("last page has marker %q", p.Marker)
			}
			break
		}
		marker = ptr(p.Marker)
	}
	if diff := cmp.Diff([][]string{{"A", "b"}, {"c", "d"}, {"e"}}, pages); diff != "" {
		t.Errorf("pages (-want +got):\n%s", diff)
	}
}

func createRoleIn(t *testing.T, s *Service, account, name string) {
	t.Helper()
	_, err := s.CreateRole(context.Background(), account, &CreateRoleInput{RoleName: ptr(name), AssumeRolePolicyDocument: ptr(trustDoc)})
	must(t, err)
}

func TestUpdateRole(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	createRole(t, s, "r")
	get := func() store.Role {
		t.Helper()
		out, err := s.GetRole(ctx, acct, &RoleNameInput{RoleName: ptr("r")})
		must(t, err)
		return out.Role
	}
	must(t, s.UpdateRole(ctx, acct, &UpdateRoleInput{RoleName: ptr("r"), Description: ptr("first"), MaxSessionDuration: ptr(int32(43200))}))
	if r := get(); r.Description != "first" || r.MaxSessionDuration != 43200 {
		t.Errorf("after UpdateRole: %q %d", r.Description, r.MaxSessionDuration)
	}
	// Absent members are left as they are.
	must(t, s.UpdateRole(ctx, acct, &UpdateRoleInput{RoleName: ptr("r")}))
	if r := get(); r.Description != "first" || r.MaxSessionDuration != 43200 {
		t.Errorf("after empty UpdateRole: %q %d", r.Description, r.MaxSessionDuration)
	}
	out, err := s.UpdateRoleDescription(ctx, acct, &UpdateRoleDescriptionInput{RoleName: ptr("r"), Description: ptr("")})
	must(t, err)
	if out.Role.Description != "" || get().Description != "" {
		t.Errorf("description not cleared")
	}
	newTrust := strings.Replace(trustDoc, "oidc.example.com", "other.example.com", 1)
	must(t, s.UpdateAssumeRolePolicy(ctx, acct, &UpdateAssumeRolePolicyInput{RoleName: ptr("r"), PolicyDocument: ptr(newTrust)}))
	if get().TrustPolicy != newTrust {
		t.Errorf("trust policy not replaced")
	}
	err = s.UpdateAssumeRolePolicy(ctx, acct, &UpdateAssumeRolePolicyInput{RoleName: ptr("r"), PolicyDocument: ptr(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"s3:GetObject"}]}`)})
	wantErr(t, err, "MalformedPolicyDocument: Trust Policy statement actions can only be sts:AssumeRole, sts:AssumeRoleWithSAML,  and sts:AssumeRoleWithWebIdentity")
	if get().TrustPolicy != newTrust {
		t.Errorf("rejected trust policy was stored")
	}

	for name, call := range map[string]func() error{
		"UpdateRole": func() error { return s.UpdateRole(ctx, acct, &UpdateRoleInput{RoleName: ptr("nope")}) },
		"UpdateRoleDescription": func() error {
			_, err := s.UpdateRoleDescription(ctx, acct, &UpdateRoleDescriptionInput{RoleName: ptr("nope"), Description: ptr("")})
			return err
		},
		"UpdateAssumeRolePolicy": func() error {
			return s.UpdateAssumeRolePolicy(ctx, acct, &UpdateAssumeRolePolicyInput{RoleName: ptr("nope"), PolicyDocument: ptr(trustDoc)})
		},
		"GetRole": func() error {
			_, err := s.GetRole(ctx, acct, &RoleNameInput{RoleName: ptr("nope")})
			return err
		},
		"DeleteRole": func() error { return s.DeleteRole(ctx, acct, &RoleNameInput{RoleName: ptr("nope")}) },
		"TagRole": func() error {
			return s.TagRole(ctx, acct, &TagRoleInput{RoleName: ptr("nope"), Tags: []Tag{{Key: "a"}}})
		},
		"UntagRole": func() error {
			return s.UntagRole(ctx, acct, &UntagRoleInput{RoleName: ptr("nope"), TagKeys: []string{"a"}})
		},
		"DeleteRolePermissionsBoundary": func() error { return s.DeleteRolePermissionsBoundary(ctx, acct, &RoleNameInput{RoleName: ptr("nope")}) },
		"ListRoleTags": func() error {
			_, err := s.ListRoleTags(ctx, acct, &ListRoleTagsInput{RoleName: ptr("nope")})
			return err
		},
		"PutRolePermissionsBoundary": func() error {
			return s.PutRolePermissionsBoundary(ctx, acct, &PutRolePermissionsBoundaryInput{RoleName: ptr("nope"), PermissionsBoundary: ptr("arn:aws:iam::000000000000:policy/p")})
		},
		"GetRole in another account": func() error {
			_, err := s.GetRole(ctx, other, &RoleNameInput{RoleName: ptr("r")})
			if err != nil {
				return fmt.Errorf("%w", err)
			}
			return nil
		},
	} {
		t.Run(name, func(t *testing.T) {
			want := "NoSuchEntity: The role with name nope cannot be found."
			if strings.Contains(name, "another account") {
				want = "NoSuchEntity: The role with name r cannot be found."
			}
			wantErr(t, call(), want)
		})
	}
}

func TestRoleTags(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	createRole(t, s, "r")
	must(t, s.TagRole(ctx, acct, &TagRoleInput{RoleName: ptr("r"), Tags: []Tag{{Key: "b", Value: "1"}, {Key: "a", Value: "2"}}}))
	must(t, s.TagRole(ctx, acct, &TagRoleInput{RoleName: ptr("r"), Tags: []Tag{{Key: "B", Value: "3"}}}))
	must(t, s.UntagRole(ctx, acct, &UntagRoleInput{RoleName: ptr("r"), TagKeys: []string{"zzz"}}))
	out, err := s.ListRoleTags(ctx, acct, &ListRoleTagsInput{RoleName: ptr("r")})
	must(t, err)
	if diff := cmp.Diff(&ListTagsOutput{Tags: []store.Tag{{Key: "a", Value: "2"}, {Key: "B", Value: "3"}}}, out); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
	must(t, s.UntagRole(ctx, acct, &UntagRoleInput{RoleName: ptr("r"), TagKeys: []string{"A"}}))
	r, err := s.GetRole(ctx, acct, &RoleNameInput{RoleName: ptr("r")})
	must(t, err)
	if diff := cmp.Diff([]store.Tag{{Key: "B", Value: "3"}}, r.Role.Tags); diff != "" {
		t.Errorf("tags after untag (-want +got):\n%s", diff)
	}
	tags := make([]Tag, 49)
	for i := range tags {
		tags[i] = Tag{Key: fmt.Sprintf("k%d", i)}
	}
	must(t, s.TagRole(ctx, acct, &TagRoleInput{RoleName: ptr("r"), Tags: tags}))
	err = s.TagRole(ctx, acct, &TagRoleInput{RoleName: ptr("r"), Tags: []Tag{{Key: "one-more"}}})
	wantErr(t, err, "LimitExceeded: Cannot exceed quota for TagsPerRole: 50")
}

func TestRolePermissionsBoundary(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	createRole(t, s, "r")
	p := createPolicy(t, s, "bnd", s3Read)
	err := s.PutRolePermissionsBoundary(ctx, acct, &PutRolePermissionsBoundaryInput{RoleName: ptr("r"), PermissionsBoundary: ptr("not-an-arn-but-long-enough")})
	wantErr(t, err, "InvalidParameterValue: Value (not-an-arn-but-long-enough) for parameter PermissionsBoundary is invalid.")
	err = s.PutRolePermissionsBoundary(ctx, acct, &PutRolePermissionsBoundaryInput{RoleName: ptr("r"), PermissionsBoundary: ptr("arn:aws:iam::111111111111:policy/bnd")})
	wantErr(t, err, "NoSuchEntity: Scope ARN: arn:aws:iam::111111111111:policy/bnd does not exist or is not attachable.")
	must(t, s.PutRolePermissionsBoundary(ctx, acct, &PutRolePermissionsBoundaryInput{RoleName: ptr("r"), PermissionsBoundary: ptr(p)}))
	got, err := s.GetPolicy(ctx, acct, &PolicyARNInput{PolicyArn: ptr(p)})
	must(t, err)
	if got.Policy.PermissionsBoundaryUsageCount != 1 || got.Policy.AttachmentCount != 0 {
		t.Errorf("boundary usage %d, attachments %d; want 1, 0", got.Policy.PermissionsBoundaryUsageCount, got.Policy.AttachmentCount)
	}
	wantErr(t, s.DeletePolicy(ctx, acct, &PolicyARNInput{PolicyArn: ptr(p)}), "DeleteConflict: Cannot delete a policy attached to entities.")
	ents, err := s.ListEntitiesForPolicy(ctx, acct, &ListEntitiesForPolicyInput{PolicyArn: ptr(p), PolicyUsageFilter: ptr("PermissionsBoundary")})
	must(t, err)
	if len(ents.PolicyRoles) != 1 || ents.PolicyRoles[0].RoleName != "r" {
		t.Errorf("entities: %+v", ents.PolicyRoles)
	}
	must(t, s.DeleteRolePermissionsBoundary(ctx, acct, &RoleNameInput{RoleName: ptr("r")}))
	r, err := s.GetRole(ctx, acct, &RoleNameInput{RoleName: ptr("r")})
	must(t, err)
	if r.Role.BoundaryARN != "" {
		t.Errorf("boundary still %s", r.Role.BoundaryARN)
	}
	// A role may be deleted with a boundary set; the boundary policy is
	// then free to go.
	must(t, s.PutRolePermissionsBoundary(ctx, acct, &PutRolePermissionsBoundaryInput{RoleName: ptr("r"), PermissionsBoundary: ptr(p)}))
	must(t, s.DeleteRole(ctx, acct, &RoleNameInput{RoleName: ptr("r")}))
	must(t, s.DeletePolicy(ctx, acct, &PolicyARNInput{PolicyArn: ptr(p)}))
}

func TestDeleteRole(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	createRole(t, s, "r")
	p := createPolicy(t, s, "p", s3Read)
	must(t, s.PutRolePolicy(ctx, acct, &PutRolePolicyInput{RoleName: ptr("r"), PolicyName: ptr("inline"), PolicyDocument: ptr(s3Read)}))
	must(t, s.AttachRolePolicy(ctx, acct, &RolePolicyARNInput{RoleName: ptr("r"), PolicyArn: ptr(p)}))
	wantErr(t, s.DeleteRole(ctx, acct, &RoleNameInput{RoleName: ptr("r")}), "DeleteConflict: Cannot delete entity, must detach all policies first.")
	must(t, s.DetachRolePolicy(ctx, acct, &RolePolicyARNInput{RoleName: ptr("r"), PolicyArn: ptr(p)}))
	wantErr(t, s.DeleteRole(ctx, acct, &RoleNameInput{RoleName: ptr("r")}), "DeleteConflict: Cannot delete entity, must delete policies first.")
	must(t, s.DeleteRolePolicy(ctx, acct, &RolePolicyInput{RoleName: ptr("r"), PolicyName: ptr("inline")}))
	must(t, s.DeleteRole(ctx, acct, &RoleNameInput{RoleName: ptr("R")}))
	_, err := s.GetRole(ctx, acct, &RoleNameInput{RoleName: ptr("r")})
	wantErr(t, err, "NoSuchEntity: The role with name r cannot be found.")
}

func TestParseRoleARN(t *testing.T) {
	cases := []struct {
		in   string
		want ParsedRoleARN
		ok   bool
	}{
		{"arn:aws:iam::000000000000:role/s3-reader", ParsedRoleARN{"aws", "000000000000", "/", "s3-reader"}, true},
		{"arn:aws:iam::000000000000:role/team/a/s3-reader", ParsedRoleARN{"aws", "000000000000", "/team/a/", "s3-reader"}, true},
		{"arn:aws-us-gov:iam::123456789012:role/r", ParsedRoleARN{"aws-us-gov", "123456789012", "/", "r"}, true},
		{"arn:aws:iam::000000000000:role/", ParsedRoleARN{}, false},
		{"arn:aws:iam::000000000000:role/team/", ParsedRoleARN{}, false},
		{"arn:aws:iam::000000000000:role//r", ParsedRoleARN{}, false},
		{"arn:aws:iam::000000000000:role/bad name", ParsedRoleARN{}, false},
		{"arn:aws:iam::000000000000:role/" + strings.Repeat("n", 65), ParsedRoleARN{}, false},
		{"arn:aws:iam::000000000000:user/r", ParsedRoleARN{}, false},
		{"arn:aws:iam::00000000000:role/r", ParsedRoleARN{}, false},
		{"arn:aws:iam:us-east-1:000000000000:role/r", ParsedRoleARN{}, false},
		{"arn:aws:sts::000000000000:assumed-role/r/s", ParsedRoleARN{}, false},
		{"arn:AWS:iam::000000000000:role/r", ParsedRoleARN{}, false},
		{"role/r", ParsedRoleARN{}, false},
	}
	for _, c := range cases {
		got, err := ParseRoleARN(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseRoleARN(%q) = %+v, %v; want %+v, ok %v", c.in, got, err, c.want, c.ok)
		}
	}
	if got := RoleARN(acct, "/a/", "r"); got != "arn:aws:iam::000000000000:role/a/r" {
		t.Errorf("RoleARN = %s", got)
	}
}

func TestRoleResourceARN(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	_, err := s.CreateRole(ctx, acct, &CreateRoleInput{Path: ptr("/p/"), RoleName: ptr("r"), AssumeRolePolicyDocument: ptr(trustDoc)})
	must(t, err)
	if got := s.RoleResourceARN(ctx, acct, "R"); got != "arn:aws:iam::000000000000:role/p/r" {
		t.Errorf("existing role: %s", got)
	}
	if got := s.RoleResourceARN(ctx, acct, "new"); got != "arn:aws:iam::000000000000:role/new" {
		t.Errorf("missing role: %s", got)
	}
}
