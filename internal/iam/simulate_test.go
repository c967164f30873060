package iam

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func pos(line, col int) *Position { return &Position{Line: line, Column: col} }

func TestStatementSpans(t *testing.T) {
	cases := []struct {
		name string
		doc  string
		want []span
	}{
		{
			// The document of AWS's recorded SimulatePrincipalPolicy
			// answer, whose statement AWS places at 1:41–1:113.
			"recorded by AWS",
			`{"Version": "2012-10-17", "Statement": {"Sid": "", "Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}}`,
			[]span{{Position{1, 41}, Position{1, 113}}},
		},
		{
			"array over lines",
			"{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\"Effect\": \"Allow\", \"Action\": \"s3:*\", \"Resource\": \"*\",\n     \"Condition\": {\"StringEquals\": {\"a:b\": [\"x\"]}}},\n    {\"Effect\": \"Deny\", \"Action\": \"s3:DeleteObject\", \"Resource\": \"*\"}\n  ]\n}",
			[]span{{Position{4, 6}, Position{5, 52}}, {Position{6, 6}, Position{6, 69}}},
		},
		{
			"members before Statement and characters beyond ASCII",
			`{"Id":"é","Meta":{"a":[1,{"b":2}]},"Statement":[{"Sid":"ü","Effect":"Allow","Action":"*","Resource":"*"}]}`,
			[]span{{Position{1, 50}, Position{1, 105}}},
		},
		{"not an object", `[]`, nil},
		{"not JSON", `{"Statement":[{`, nil},
		{"statement not an object", `{"Statement":"x"}`, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if diff := cmp.Diff(c.want, statementSpans(c.doc)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestSimulateCustomPolicy(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	allowPut := `{"Version": "2012-10-17", "Statement": {"Sid": "", "Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}}`
	deny := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"},{"Effect":"Deny","Action":"s3:DeleteObject","Resource":"*"}]}`
	out, err := s.SimulateCustomPolicy(ctx, acct, &SimulateCustomPolicyInput{
		PolicyInputList: []string{allowPut, deny},
		ActionNames:     []string{"s3:PutObject", "s3:DeleteObject", "ec2:RunInstances"},
		ResourceArns:    []string{"arn:aws:s3:::bucket"},
	})
	must(t, err)
	put := []Statement{
		{SourcePolicyId: "PolicyInputList.1", SourcePolicyType: "IAM Policy", StartPosition: pos(1, 41), EndPosition: pos(1, 113)},
		{SourcePolicyId: "PolicyInputList.2", SourcePolicyType: "IAM Policy", StartPosition: pos(1, 39), EndPosition: pos(1, 87)},
	}
	del := []Statement{{SourcePolicyId: "PolicyInputList.2", SourcePolicyType: "IAM Policy", StartPosition: pos(1, 89), EndPosition: pos(1, 147)}}
	result := func(action, decision string, st []Statement) EvaluationResult {
		return EvaluationResult{
			EvalActionName: action, EvalResourceName: "arn:aws:s3:::bucket", EvalDecision: decision,
			MatchedStatements: st, MissingContextValues: []string{}, AllowedByOrganizations: true,
			ResourceSpecificResults: []ResourceSpecificResult{{
				EvalResourceName: "arn:aws:s3:::bucket", EvalResourceDecision: decision,
				MatchedStatements: st, MissingContextValues: []string{},
			}},
		}
	}
	want := &SimulatePolicyOutput{EvaluationResults: []EvaluationResult{
		result("s3:PutObject", "allowed", put),
		result("s3:DeleteObject", "explicitDeny", del),
		result("ec2:RunInstances", "implicitDeny", []Statement{}),
	}}
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	// Without ResourceArns the resource is "*" and there are no
	// resource-specific results; pages hold MaxItems results.
	page, err := s.SimulateCustomPolicy(ctx, acct, &SimulateCustomPolicyInput{
		PolicyInputList: []string{allowPut},
		ActionNames:     []string{"s3:PutObject", "s3:GetObject", "s3:ListBucket"},
		MaxItems:        ptr(int32(2)),
	})
	must(t, err)
	if len(page.EvaluationResults) != 2 || !page.IsTruncated || page.EvaluationResults[0].EvalResourceName != "*" || page.EvaluationResults[0].ResourceSpecificResults != nil {
		t.Fatalf("first page: %+v", page)
	}
	page, err = s.SimulateCustomPolicy(ctx, acct, &SimulateCustomPolicyInput{
		PolicyInputList: []string{allowPut},
		ActionNames:     []string{"s3:PutObject", "s3:GetObject", "s3:ListBucket"},
		Marker:          ptr(page.Marker),
	})
	must(t, err)
	if len(page.EvaluationResults) != 1 || page.IsTruncated || page.EvaluationResults[0].EvalActionName != "s3:ListBucket" {
		t.Errorf("second page: %+v", page)
	}
}

func TestSimulateContext(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	doc := `{"Version":"2012-10-17","Statement":[
 {"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/${aws:username}/*",
  "Condition":{"StringEquals":{"aws:PrincipalTag/team":"a"},"ForAnyValue:StringEquals":{"aws:TagKeys":["x"]}}},
 {"Effect":"Allow","Action":"ec2:*","Resource":"*","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}}]}`
	run := func(entries []ContextEntry) EvaluationResult {
		t.Helper()
		out, err := s.SimulateCustomPolicy(ctx, acct, &SimulateCustomPolicyInput{
			PolicyInputList: []string{doc},
			ActionNames:     []string{"s3:GetObject"},
			ResourceArns:    []string{"arn:aws:s3:::bucket/alice/file"},
			ContextEntries:  entries,
		})
		must(t, err)
		return out.EvaluationResults[0]
	}
	r := run(nil)
	if r.EvalDecision != "implicitDeny" {
		t.Errorf("decision without context: %s", r.EvalDecision)
	}
	// Only the statement that applies to s3:GetObject counts.
	if diff := cmp.Diff([]string{"aws:PrincipalTag/team", "aws:TagKeys", "aws:username"}, r.MissingContextValues); diff != "" {
		t.Errorf("missing context values (-want +got):\n%s", diff)
	}
	r = run([]ContextEntry{
		{ContextKeyName: ptr("aws:username"), ContextKeyValues: []string{"alice"}, ContextKeyType: ptr("string")},
		{ContextKeyName: ptr("aws:principaltag/team"), ContextKeyValues: []string{"a"}},
		{ContextKeyName: ptr("aws:TagKeys"), ContextKeyValues: []string{"x"}, ContextKeyType: ptr("stringList")},
	})
	if r.EvalDecision != "allowed" || len(r.MissingContextValues) != 0 || len(r.MatchedStatements) != 1 {
		t.Errorf("with context: %+v", r)
	}
	if st := r.MatchedStatements[0]; *st.StartPosition != (Position{2, 3}) || *st.EndPosition != (Position{3, 111}) {
		t.Errorf("statement at %v–%v", *st.StartPosition, *st.EndPosition)
	}
	r = run([]ContextEntry{
		{ContextKeyName: ptr("aws:username"), ContextKeyValues: []string{"bob"}},
		{ContextKeyName: ptr("aws:PrincipalTag/team"), ContextKeyValues: []string{"a"}},
		{ContextKeyName: ptr("aws:TagKeys"), ContextKeyValues: []string{"x"}, ContextKeyType: ptr("stringList")},
	})
	if r.EvalDecision != "implicitDeny" {
		t.Errorf("another user's prefix: %s", r.EvalDecision)
	}
}

func TestSimulateBoundaryAndResourcePolicy(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	all := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`
	bnd := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`
	out, err := s.SimulateCustomPolicy(ctx, acct, &SimulateCustomPolicyInput{
		PolicyInputList:                    []string{all},
		PermissionsBoundaryPolicyInputList: []string{bnd},
		ActionNames:                        []string{"s3:GetObject", "s3:PutObject"},
	})
	must(t, err)
	for i, want := range []struct {
		decision string
		bnd      bool
	}{{"allowed", true}, {"implicitDeny", false}} {
		r := out.EvaluationResults[i]
		if r.EvalDecision != want.decision || r.PermissionsBoundaryDecisionDetail == nil || *r.PermissionsBoundaryDecisionDetail != want.bnd {
			t.Errorf("%s: %s, boundary %v; want %s, %v", r.EvalActionName, r.EvalDecision, r.PermissionsBoundaryDecisionDetail, want.decision, want.bnd)
		}
	}
	if got := out.EvaluationResults[0].MatchedStatements; len(got) != 1 || got[0].SourcePolicyId != "PolicyInputList.1" {
		t.Errorf("matched statements of an allow within the boundary: %+v", got)
	}

	caller := "arn:aws:iam::000000000000:role/reader"
	resPolicy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:role/reader"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/*"}]}`
	out, err = s.SimulateCustomPolicy(ctx, acct, &SimulateCustomPolicyInput{
		PolicyInputList: []string{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:*","Resource":"*"}]}`},
		ActionNames:     []string{"s3:GetObject"},
		ResourceArns:    []string{"arn:aws:s3:::bucket/key"},
		ResourcePolicy:  ptr(resPolicy),
		CallerArn:       ptr(caller),
		ResourceOwner:   ptr("000000000000"),
	})
	must(t, err)
	r := out.EvaluationResults[0]
	want := []Statement{{SourcePolicyId: "ResourcePolicy", SourcePolicyType: "Resource Policy", StartPosition: pos(1, 39), EndPosition: pos(1, 175)}}
	if r.EvalDecision != "allowed" || !cmp.Equal(want, r.MatchedStatements) {
		t.Errorf("resource policy: %s %+v", r.EvalDecision, r.MatchedStatements)
	}

	// A trust policy: role ARNs and sts: actions.
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::000000000000:oidc-provider/oidc.example.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"oidc.example.com:sub":"system:serviceaccount:prod:app"}}}]}`
	for _, c := range []struct{ sub, want string }{{"system:serviceaccount:prod:app", "allowed"}, {"system:serviceaccount:dev:app", "implicitDeny"}} {
		out, err = s.SimulateCustomPolicy(ctx, acct, &SimulateCustomPolicyInput{
			PolicyInputList: []string{},
			ActionNames:     []string{"sts:AssumeRoleWithWebIdentity"},
			ResourceArns:    []string{"arn:aws:iam::000000000000:role/app"},
			ResourcePolicy:  ptr(trust),
			CallerArn:       ptr("arn:aws:iam::000000000000:oidc-provider/oidc.example.com"),
			ContextEntries:  []ContextEntry{{ContextKeyName: ptr("oidc.example.com:sub"), ContextKeyValues: []string{c.sub}}},
		})
		must(t, err)
		if got := out.EvaluationResults[0].EvalDecision; got != c.want {
			t.Errorf("trust policy, sub %s: %s, want %s", c.sub, got, c.want)
		}
	}

	cases := []struct {
		name string
		in   SimulateCustomPolicyInput
		want string
	}{
		{"malformed input policy", SimulateCustomPolicyInput{PolicyInputList: []string{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*"}]}`}, ActionNames: []string{"s3:GetObject"}},
			"InvalidInput: Policy statement must contain resources."},
		{"malformed boundary", SimulateCustomPolicyInput{PolicyInputList: []string{all}, PermissionsBoundaryPolicyInputList: []string{"{"}, ActionNames: []string{"s3:GetObject"}},
			"InvalidInput: Syntax errors in policy."},
		{"two boundaries", SimulateCustomPolicyInput{PolicyInputList: []string{all}, PermissionsBoundaryPolicyInputList: []string{bnd, bnd}, ActionNames: []string{"s3:GetObject"}},
			"InvalidInput: Only one permissions boundary policy can be given in PermissionsBoundaryPolicyInputList."},
		{"malformed resource policy", SimulateCustomPolicyInput{PolicyInputList: []string{all}, ResourcePolicy: ptr(all), ActionNames: []string{"s3:GetObject"}},
			"InvalidInput: Missing required field Principal"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.SimulateCustomPolicy(ctx, acct, &c.in)
			wantErr(t, err, c.want)
		})
	}
}

func TestSimulatePrincipalPolicy(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	createRole(t, s, "r")
	must(t, s.PutRolePolicy(ctx, acct, &PutRolePolicyInput{RoleName: ptr("r"), PolicyName: ptr("inline-read"), PolicyDocument: ptr(s3Read)}))
	managed := createPolicy(t, s, "managed-write", `{"Version": "2012-10-17", "Statement": {"Sid": "", "Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}}`)
	must(t, s.AttachRolePolicy(ctx, acct, &RolePolicyARNInput{RoleName: ptr("r"), PolicyArn: ptr(managed)}))

	in := &SimulatePrincipalPolicyInput{
		PolicySourceArn: ptr("arn:aws:iam::000000000000:role/r"),
		ActionNames:     []string{"s3:PutObject", "s3:GetObjectVersion", "s3:GetObject"},
		ResourceArns:    []string{"arn:aws:s3:::bucket/k"},
	}
	out, err := s.SimulatePrincipalPolicy(ctx, acct, in)
	must(t, err)
	type brief struct {
		Action, Decision string
		Matched          []Statement
	}
	var got []brief
	for _, r := range out.EvaluationResults {
		got = append(got, brief{r.EvalActionName, r.EvalDecision, r.MatchedStatements})
		if r.PermissionsBoundaryDecisionDetail != nil {
			t.Errorf("%s: boundary detail without a boundary", r.EvalActionName)
		}
	}
	want := []brief{
		{"s3:PutObject", "allowed", []Statement{{SourcePolicyId: "managed-write", SourcePolicyType: "IAM Policy", StartPosition: pos(1, 41), EndPosition: pos(1, 113)}}},
		{"s3:GetObjectVersion", "implicitDeny", []Statement{}},
		{"s3:GetObject", "allowed", []Statement{{SourcePolicyId: "inline-read", SourcePolicyType: "IAM Policy", StartPosition: pos(1, 39), EndPosition: pos(1, 115)}}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	// The role's boundary takes part, and a boundary given in the request
	// replaces it.
	bnd := createPolicy(t, s, "bnd", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`)
	must(t, s.PutRolePermissionsBoundary(ctx, acct, &PutRolePermissionsBoundaryInput{RoleName: ptr("r"), PermissionsBoundary: ptr(bnd)}))
	out, err = s.SimulatePrincipalPolicy(ctx, acct, in)
	must(t, err)
	if d := out.EvaluationResults[0]; d.EvalDecision != "implicitDeny" || d.PermissionsBoundaryDecisionDetail == nil || *d.PermissionsBoundaryDecisionDetail {
		t.Errorf("PutObject outside the role's boundary: %+v", d)
	}
	in.PermissionsBoundaryPolicyInputList = []string{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:Put*","Resource":"*"}]}`}
	out, err = s.SimulatePrincipalPolicy(ctx, acct, in)
	must(t, err)
	if d := out.EvaluationResults[0]; d.EvalDecision != "allowed" {
		t.Errorf("PutObject within the given boundary: %s", d.EvalDecision)
	}
	if d := out.EvaluationResults[2]; d.EvalDecision != "implicitDeny" {
		t.Errorf("GetObject outside the given boundary: %s", d.EvalDecision)
	}

	// Extra policies join the role's.
	in.PermissionsBoundaryPolicyInputList = nil
	in.PolicyInputList = []string{`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:GetObject","Resource":"*"}]}`}
	out, err = s.SimulatePrincipalPolicy(ctx, acct, in)
	must(t, err)
	if d := out.EvaluationResults[2]; d.EvalDecision != "explicitDeny" || len(d.MatchedStatements) != 1 || d.MatchedStatements[0].SourcePolicyId != "PolicyInputList.1" {
		t.Errorf("GetObject with a denying input policy: %+v", d)
	}

	for _, c := range []struct{ src, want string }{
		{"arn:aws:iam::000000000000:role/nope", "NoSuchEntity: The role with name nope cannot be found."},
		{"arn:aws:iam::111111111111:role/r", "NoSuchEntity: The role with name r cannot be found."},
		{"arn:aws:iam::000000000000:user/alice", "NoSuchEntity: The user with name alice cannot be found."},
		{"arn:aws:iam::000000000000:group/admins", "NoSuchEntity: The group with name admins cannot be found."},
		{"arn:aws:s3:::bucket-name-long", "InvalidInput: Invalid ARN: arn:aws:s3:::bucket-name-long is not the ARN of a user, group or role."},
		{"not-an-arn-but-long-enough", "InvalidInput: Invalid ARN: not-an-arn-but-long-enough is not the ARN of a user, group or role."},
	} {
		_, err := s.SimulatePrincipalPolicy(ctx, acct, &SimulatePrincipalPolicyInput{PolicySourceArn: ptr(c.src), ActionNames: []string{"s3:GetObject"}})
		wantErr(t, err, c.want)
	}
}

// TestSimulateResourceOwner: resources are the caller's account's unless
// ResourceOwner says otherwise, so identity policies alone decide.
func TestSimulateResourceOwner(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	allow := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sqs:SendMessage","Resource":"*"}]}`
	queue := "arn:aws:sqs:us-east-1:999999999999:q"
	for _, c := range []struct {
		name, owner, caller, want string
	}{
		{"owner defaults to the simulating account", "", "", "allowed"},
		{"owner defaults to the caller's account", "", "arn:aws:iam::999999999999:role/x", "allowed"},
		{"another owner needs a resource policy", "arn:aws:iam::123456789012:root", "arn:aws:iam::999999999999:role/x", "implicitDeny"},
		{"owner as an account ID", "999999999999", "arn:aws:iam::999999999999:role/x", "allowed"},
	} {
		in := &SimulateCustomPolicyInput{PolicyInputList: []string{allow}, ActionNames: []string{"sqs:SendMessage"}, ResourceArns: []string{queue}}
		if c.owner != "" {
			in.ResourceOwner = ptr(c.owner)
		}
		if c.caller != "" {
			in.CallerArn = ptr(c.caller)
		}
		out, err := s.SimulateCustomPolicy(ctx, acct, in)
		must(t, err)
		if got := out.EvaluationResults[0].EvalDecision; got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}
