package iam

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// TestValidation checks the model constraint messages, which AWS answers
// before looking at any entity.
func TestValidation(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	long := strings.Repeat("a", 65)
	thumb := strings.Repeat("a", 40)
	manyTags := make([]Tag, 51)
	for i := range manyTags {
		manyTags[i] = Tag{Key: fmt.Sprintf("k%d", i), Value: "v"}
	}
	cases := []struct {
		name string
		call func() error
		want string
	}{
		{"role name missing", func() error {
			_, err := s.CreateRole(ctx, acct, &CreateRoleInput{AssumeRolePolicyDocument: ptr(trustDoc)})
			return err
		}, "ValidationError: 1 validation error detected: Value null at 'roleName' failed to satisfy constraint: Member must not be null"},
		{"role name pattern", func() error {
			_, err := s.CreateRole(ctx, acct, &CreateRoleInput{RoleName: ptr("my role"), AssumeRolePolicyDocument: ptr(trustDoc)})
			return err
		}, `ValidationError: 1 validation error detected: Value 'my role' at 'roleName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]+`},
		{"role name too long", func() error {
			_, err := s.GetRole(ctx, acct, &RoleNameInput{RoleName: ptr(long)})
			return err
		}, "ValidationError: 1 validation error detected: Value '" + long + "' at 'roleName' failed to satisfy constraint: Member must have length less than or equal to 64"},
		{"role name empty: two violations", func() error {
			_, err := s.GetRole(ctx, acct, &RoleNameInput{RoleName: ptr("")})
			return err
		}, `ValidationError: 2 validation errors detected: Value '' at 'roleName' failed to satisfy constraint: Member must have length greater than or equal to 1; Value '' at 'roleName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]+`},
		{"path pattern and duration", func() error {
			_, err := s.CreateRole(ctx, acct, &CreateRoleInput{RoleName: ptr("r"), Path: ptr("team"), AssumeRolePolicyDocument: ptr(trustDoc), MaxSessionDuration: ptr(int32(100))})
			return err
		}, `ValidationError: 2 validation errors detected: Value 'team' at 'path' failed to satisfy constraint: Member must satisfy regular expression pattern: (\u002F)|(\u002F[\u0021-\u007E]+\u002F); Value '100' at 'maxSessionDuration' failed to satisfy constraint: Member must have value greater than or equal to 3600`},
		{"duration too long", func() error {
			return s.UpdateRole(ctx, acct, &UpdateRoleInput{RoleName: ptr("r"), MaxSessionDuration: ptr(int32(43201))})
		}, "ValidationError: 1 validation error detected: Value '43201' at 'maxSessionDuration' failed to satisfy constraint: Member must have value less than or equal to 43200"},
		{"description too long", func() error {
			return s.UpdateRole(ctx, acct, &UpdateRoleInput{RoleName: ptr("r"), Description: ptr(strings.Repeat("d", 1001))})
		}, "ValidationError: 1 validation error detected: Value '" + strings.Repeat("d", 1001) + "' at 'description' failed to satisfy constraint: Member must have length less than or equal to 1000"},
		{"description characters", func() error {
			_, err := s.UpdateRoleDescription(ctx, acct, &UpdateRoleDescriptionInput{RoleName: ptr("r"), Description: ptr("日本")})
			return err
		}, `ValidationError: 1 validation error detected: Value '日本' at 'description' failed to satisfy constraint: Member must satisfy regular expression pattern: [\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]*`},
		{"update description missing", func() error {
			_, err := s.UpdateRoleDescription(ctx, acct, &UpdateRoleDescriptionInput{RoleName: ptr("r")})
			return err
		}, "ValidationError: 1 validation error detected: Value null at 'description' failed to satisfy constraint: Member must not be null"},
		{"trust document missing", func() error {
			_, err := s.CreateRole(ctx, acct, &CreateRoleInput{RoleName: ptr("r")})
			return err
		}, "ValidationError: 1 validation error detected: Value null at 'assumeRolePolicyDocument' failed to satisfy constraint: Member must not be null"},
		{"trust document empty", func() error {
			return s.UpdateAssumeRolePolicy(ctx, acct, &UpdateAssumeRolePolicyInput{RoleName: ptr("r"), PolicyDocument: ptr("")})
		}, "ValidationError: 1 validation error detected: Value at 'policyDocument' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"too many tags", func() error {
			return s.TagRole(ctx, acct, &TagRoleInput{RoleName: ptr("r"), Tags: manyTags})
		}, "ValidationError: 1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50"},
		{"tags missing", func() error {
			return s.TagRole(ctx, acct, &TagRoleInput{RoleName: ptr("r")})
		}, "ValidationError: 1 validation error detected: Value null at 'tags' failed to satisfy constraint: Member must not be null"},
		{"tag key and value", func() error {
			return s.TagRole(ctx, acct, &TagRoleInput{RoleName: ptr("r"), Tags: []Tag{{Key: "ok", Value: "fine"}, {Key: "bad*key", Value: strings.Repeat("v", 257)}}})
		}, `ValidationError: 2 validation errors detected: Value 'bad*key' at 'tags.2.member.key' failed to satisfy constraint: Member must satisfy regular expression pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]+; Value '` + strings.Repeat("v", 257) + `' at 'tags.2.member.value' failed to satisfy constraint: Member must have length less than or equal to 256`},
		{"duplicate tag keys", func() error {
			return s.TagRole(ctx, acct, &TagRoleInput{RoleName: ptr("r"), Tags: []Tag{{Key: "Team", Value: "a"}, {Key: "team", Value: "b"}}})
		}, "InvalidInput: Duplicate tag keys found. Please note that Tag keys are case insensitive."},
		{"tag keys", func() error {
			return s.UntagRole(ctx, acct, &UntagRoleInput{RoleName: ptr("r"), TagKeys: []string{"ok", ""}})
		}, `ValidationError: 1 validation error detected: Value '[ok, ]' at 'tagKeys' failed to satisfy constraint: Member must satisfy constraint: [Member must have length less than or equal to 128, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]+]`},
		{"tag keys missing", func() error {
			return s.UntagPolicy(ctx, acct, &UntagPolicyInput{PolicyArn: ptr("arn:aws:iam::000000000000:policy/p")})
		}, "ValidationError: 1 validation error detected: Value null at 'tagKeys' failed to satisfy constraint: Member must not be null"},
		{"provider url missing", func() error {
			_, err := s.CreateOpenIDConnectProvider(ctx, acct, &CreateOpenIDConnectProviderInput{})
			return err
		}, "ValidationError: 1 validation error detected: Value null at 'url' failed to satisfy constraint: Member must not be null"},
		{"provider url too long", func() error {
			_, err := s.CreateOpenIDConnectProvider(ctx, acct, &CreateOpenIDConnectProviderInput{Url: ptr("https://" + strings.Repeat("h", 248))})
			return err
		}, "ValidationError: 1 validation error detected: Value 'https://" + strings.Repeat("h", 248) + "' at 'url' failed to satisfy constraint: Member must have length less than or equal to 255"},
		{"client id and thumbprint lengths", func() error {
			_, err := s.CreateOpenIDConnectProvider(ctx, acct, &CreateOpenIDConnectProviderInput{Url: ptr("https://x.example.com"), ClientIDList: []string{"sts.amazonaws.com", ""}, ThumbprintList: []string{thumb, "abc"}})
			return err
		}, "ValidationError: 2 validation errors detected: Value '[sts.amazonaws.com, ]' at 'clientIDList' failed to satisfy constraint: Member must satisfy constraint: [Member must have length less than or equal to 255, Member must have length greater than or equal to 1]; Value '[" + thumb + ", abc]' at 'thumbprintList' failed to satisfy constraint: Member must satisfy constraint: [Member must have length less than or equal to 40, Member must have length greater than or equal to 40]"},
		{"provider arn too short", func() error {
			_, err := s.GetOpenIDConnectProvider(ctx, acct, &ProviderARNInput{OpenIDConnectProviderArn: ptr("arn:aws:iam::1:x")})
			return err
		}, "ValidationError: 1 validation error detected: Value 'arn:aws:iam::1:x' at 'openIDConnectProviderArn' failed to satisfy constraint: Member must have length greater than or equal to 20"},
		{"client id missing", func() error {
			return s.AddClientIDToOpenIDConnectProvider(ctx, acct, &ClientIDInput{OpenIDConnectProviderArn: ptr("arn:aws:iam::000000000000:oidc-provider/x")})
		}, "ValidationError: 1 validation error detected: Value null at 'clientID' failed to satisfy constraint: Member must not be null"},
		{"policy name and arn", func() error {
			_, err := s.GetRolePolicy(ctx, acct, &RolePolicyInput{RoleName: ptr("r"), PolicyName: ptr("a b")})
			return err
		}, `ValidationError: 1 validation error detected: Value 'a b' at 'policyName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]+`},
		{"policy name too long", func() error {
			_, err := s.CreatePolicy(ctx, acct, &CreatePolicyInput{PolicyName: ptr(strings.Repeat("p", 129)), PolicyDocument: ptr(s3Read)})
			return err
		}, "ValidationError: 1 validation error detected: Value '" + strings.Repeat("p", 129) + "' at 'policyName' failed to satisfy constraint: Member must have length less than or equal to 128"},
		{"policy path", func() error {
			_, err := s.CreatePolicy(ctx, acct, &CreatePolicyInput{PolicyName: ptr("p"), Path: ptr("/a b/"), PolicyDocument: ptr(s3Read)})
			return err
		}, `ValidationError: 1 validation error detected: Value '/a b/' at 'path' failed to satisfy constraint: Member must satisfy regular expression pattern: ((/[A-Za-z0-9\.,\+@=_-]+)*)/`},
		{"policy arn too short", func() error {
			_, err := s.GetPolicy(ctx, acct, &PolicyARNInput{PolicyArn: ptr("arn:aws:iam::1:p")})
			return err
		}, "ValidationError: 1 validation error detected: Value 'arn:aws:iam::1:p' at 'policyArn' failed to satisfy constraint: Member must have length greater than or equal to 20"},
		{"version id", func() error {
			_, err := s.GetPolicyVersion(ctx, acct, &PolicyVersionInput{PolicyArn: ptr("arn:aws:iam::000000000000:policy/p"), VersionId: ptr("1")})
			return err
		}, `ValidationError: 1 validation error detected: Value '1' at 'versionId' failed to satisfy constraint: Member must satisfy regular expression pattern: v[1-9][0-9]*(\.[A-Za-z0-9-]*)?`},
		{"version id missing", func() error {
			return s.SetDefaultPolicyVersion(ctx, acct, &PolicyVersionInput{PolicyArn: ptr("arn:aws:iam::000000000000:policy/p")})
		}, "ValidationError: 1 validation error detected: Value null at 'versionId' failed to satisfy constraint: Member must not be null"},
		{"scope and usage filter enums", func() error {
			_, err := s.ListPolicies(ctx, acct, &ListPoliciesInput{Scope: ptr("Mine"), PolicyUsageFilter: ptr("x")})
			return err
		}, "ValidationError: 2 validation errors detected: Value 'Mine' at 'scope' failed to satisfy constraint: Member must satisfy enum value set; Value 'x' at 'policyUsageFilter' failed to satisfy constraint: Member must satisfy enum value set"},
		{"max items and marker", func() error {
			_, err := s.ListRoles(ctx, acct, &ListRolesInput{MaxItems: ptr(int32(0)), Marker: ptr("")})
			return err
		}, `ValidationError: 3 validation errors detected: Value '' at 'marker' failed to satisfy constraint: Member must have length greater than or equal to 1; Value '' at 'marker' failed to satisfy constraint: Member must satisfy regular expression pattern: [\u0020-\u00FF]+; Value '0' at 'maxItems' failed to satisfy constraint: Member must have value greater than or equal to 1`},
		{"max items too many", func() error {
			_, err := s.ListRolePolicies(ctx, acct, &ListRolePoliciesInput{RoleName: ptr("r"), MaxItems: ptr(int32(1001))})
			return err
		}, "ValidationError: 1 validation error detected: Value '1001' at 'maxItems' failed to satisfy constraint: Member must have value less than or equal to 1000"},
		{"path prefix", func() error {
			_, err := s.ListRoles(ctx, acct, &ListRolesInput{PathPrefix: ptr("team")})
			return err
		}, `ValidationError: 1 validation error detected: Value 'team' at 'pathPrefix' failed to satisfy constraint: Member must satisfy regular expression pattern: \u002F[\u0021-\u007F]*`},
		{"marker not made by irsa", func() error {
			_, err := s.ListRoles(ctx, acct, &ListRolesInput{Marker: ptr("not base64!")})
			return err
		}, "InvalidInput: The Marker is not valid."},
		{"boundary arn too short", func() error {
			return s.PutRolePermissionsBoundary(ctx, acct, &PutRolePermissionsBoundaryInput{RoleName: ptr("r"), PermissionsBoundary: ptr("arn")})
		}, "ValidationError: 1 validation error detected: Value 'arn' at 'permissionsBoundary' failed to satisfy constraint: Member must have length greater than or equal to 20"},
		{"simulation actions missing", func() error {
			_, err := s.SimulateCustomPolicy(ctx, acct, &SimulateCustomPolicyInput{})
			return err
		}, "ValidationError: 2 validation errors detected: Value null at 'policyInputList' failed to satisfy constraint: Member must not be null; Value null at 'actionNames' failed to satisfy constraint: Member must not be null"},
		{"simulation context entry", func() error {
			_, err := s.SimulateCustomPolicy(ctx, acct, &SimulateCustomPolicyInput{PolicyInputList: []string{s3Read}, ActionNames: []string{"s3:GetObject"}, ContextEntries: []ContextEntry{{ContextKeyName: ptr("a:b"), ContextKeyType: ptr("text")}}})
			return err
		}, "ValidationError: 2 validation errors detected: Value 'a:b' at 'contextEntries.1.member.contextKeyName' failed to satisfy constraint: Member must have length greater than or equal to 5; Value 'text' at 'contextEntries.1.member.contextKeyType' failed to satisfy constraint: Member must satisfy enum value set"},
		{"simulation source missing", func() error {
			_, err := s.SimulatePrincipalPolicy(ctx, acct, &SimulatePrincipalPolicyInput{ActionNames: []string{"s3:GetObject"}})
			return err
		}, "ValidationError: 1 validation error detected: Value null at 'policySourceArn' failed to satisfy constraint: Member must not be null"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantErr(t, c.call(), c.want)
		})
	}
}

func TestJavaEscapes(t *testing.T) {
	cases := map[string]string{
		`\u002F[\u0021-\u007E]+`: `\x{002F}[\x{0021}-\x{007E}]+`,
		`[\w+=,.@-]+`:            `[\w+=,.@-]+`,
		`\\u`:                    `\\u`,
		`a\u00`:                  `a\u00`,
	}
	for in, want := range cases {
		if got := javaEscapes(in); got != want {
			t.Errorf("javaEscapes(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDocumentCharactersAndLength(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	createRole(t, s, "r")
	huge := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"` + strings.Repeat("x", 131072) + `"}]}`
	cases := []struct {
		name string
		call func() error
		want string
	}{
		{"trust policy character", func() error {
			_, err := s.CreateRole(ctx, acct, &CreateRoleInput{RoleName: ptr("x"), AssumeRolePolicyDocument: ptr("{\"a\":\"\u0100\"}")})
			return err
		}, `ValidationError: 1 validation error detected: Value at 'assumeRolePolicyDocument' failed to satisfy constraint: Member must satisfy regular expression pattern: [\u0009\u000A\u000D\u0020-\u00FF]+`},
		{"update trust policy character", func() error {
			return s.UpdateAssumeRolePolicy(ctx, acct, &UpdateAssumeRolePolicyInput{RoleName: ptr("r"), PolicyDocument: ptr("{\"a\":\"\u0100\"}")})
		}, `ValidationError: 1 validation error detected: Value at 'policyDocument' failed to satisfy constraint: Member must satisfy regular expression pattern: [\u0009\u000A\u000D\u0020-\u00FF]+`},
		{"inline policy character", func() error {
			return s.PutRolePolicy(ctx, acct, &PutRolePolicyInput{RoleName: ptr("r"), PolicyName: ptr("p"), PolicyDocument: ptr("{\"a\":\"\u0100\"}")})
		}, `ValidationError: 1 validation error detected: Value at 'policyDocument' failed to satisfy constraint: Member must satisfy regular expression pattern: [\u0009\u000A\u000D\u0020-\u00FF]+`},
		{"document over the API's length", func() error {
			return s.PutRolePolicy(ctx, acct, &PutRolePolicyInput{RoleName: ptr("r"), PolicyName: ptr("p"), PolicyDocument: ptr(huge)})
		}, "ValidationError: 1 validation error detected: Value at 'policyDocument' failed to satisfy constraint: Member must have length less than or equal to 131072"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { wantErr(t, c.call(), c.want) })
	}
}
