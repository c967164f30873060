package iamapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/irsa-dev/irsa/internal/awserr"
	"github.com/irsa-dev/irsa/internal/awsquery"
	"github.com/irsa-dev/irsa/internal/iam"
	"github.com/irsa-dev/irsa/internal/policy"
	"github.com/irsa-dev/irsa/internal/reqctx"
	"github.com/irsa-dev/irsa/internal/store"
	"github.com/irsa-dev/irsa/internal/store/sqlstore"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const (
	acct      = "000000000000"
	requestID = "c2a5b9f0-0000-4000-8000-000000000001"
)

var t0 = time.Date(2026, time.January, 2, 3, 4, 5, 0, time.UTC)

// counter is a deterministic source of "random" bytes.
type counter struct{ n byte }

func (c *counter) Read(p []byte) (int, error) {
	for i := range p {
		c.n++
		p[i] = c.n
	}
	return len(p), nil
}

type authCall struct{ Action, Resource string }

// fixture is a handler on a fresh SQLite database with a deterministic
// clock and ID source, recording its authorization questions.
type fixture struct {
	h      *Handler
	calls  []authCall
	deny   bool
	denial *policy.Result // what Authorize explains a denial with
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "irsa.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.CreateAccount(ctx, store.Account{ID: acct, CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	now := t0
	f := &fixture{}
	f.h = &Handler{
		Service: &iam.Service{
			Store: st,
			Now: func() time.Time {
				now = now.Add(time.Minute)
				return now
			},
			Rand: &counter{},
		},
		Authorize: func(_ context.Context, action, resource string) (*policy.Result, error) {
			f.calls = append(f.calls, authCall{action, resource})
			if f.deny {
				return f.denial, awserr.Newf(awserr.AccessDenied, "User: arn:aws:sts::000000000000:assumed-role/r/s is not authorized to perform: %s on resource: %s", action, resource)
			}
			return nil, nil
		},
	}
	return f
}

func callerCtx() context.Context {
	return reqctx.With(context.Background(), &reqctx.Info{
		RequestID: requestID,
		Caller:    &reqctx.Caller{Type: "Root", AccountID: acct, ARN: "arn:aws:iam::000000000000:root", UserID: acct},
	})
}

// do sends one form-encoded request through ParseRequest and the handler,
// and renders the answer as the server would: status and body.
func (f *fixture) do(ctx context.Context, t *testing.T, form string) (int, []byte) {
	t.Helper()
	req, err := awsquery.ParseRequest("POST", url.Values{}, "application/x-www-form-urlencoded; charset=utf-8", []byte(form))
	if err != nil {
		t.Fatalf("ParseRequest(%q): %v", form, err)
	}
	res, _, err := f.h.Serve(ctx, req)
	if err != nil {
		e := awserr.As(err)
		if e.Code == awserr.InternalFailure {
			t.Errorf("%s: internal failure: %v", req.Action, e.Cause)
		}
		b, _ := awsquery.MarshalError(awsquery.IAMNamespace, e, requestID, false)
		return e.Status(), b
	}
	b, _, err := awsquery.MarshalResult(req.Action, awsquery.IAMNamespace, requestID, res, false)
	if err != nil {
		t.Fatalf("%s: MarshalResult: %v", req.Action, err)
	}
	return 200, b
}

// q builds a form body from name, value pairs, with Version=2010-05-08.
func q(pairs ...string) string {
	v := url.Values{"Version": {awsquery.IAMVersion}}
	for i := 0; i+1 < len(pairs); i += 2 {
		v.Add(pairs[i], pairs[i+1])
	}
	return v.Encode()
}

const (
	trustDoc  = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::000000000000:oidc-provider/oidc.example.com/id/1"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"oidc.example.com/id/1:sub":"system:serviceaccount:prod:app"}}}]}`
	readDoc   = `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket/*"}]}`
	writeDoc  = `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:PutObject","Resource":"*"}}`
	policyARN = "arn:aws:iam::000000000000:policy/reader"
	provider  = "arn:aws:iam::000000000000:oidc-provider/oidc.example.com/id/1"
	thumb     = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280"
)

var (
	mkProvider = q("Action", "CreateOpenIDConnectProvider", "Url", "https://oidc.example.com/id/1", "ClientIDList.member.1", "sts.amazonaws.com", "ThumbprintList.member.1", thumb, "Tags.member.1.Key", "cluster", "Tags.member.1.Value", "prod")
	mkRole     = q("Action", "CreateRole", "RoleName", "app", "Path", "/team/", "AssumeRolePolicyDocument", trustDoc, "Description", "the app", "Tags.member.1.Key", "team", "Tags.member.1.Value", "a")
	mkRole2    = q("Action", "CreateRole", "RoleName", "batch", "AssumeRolePolicyDocument", trustDoc, "MaxSessionDuration", "7200")
	mkPolicy   = q("Action", "CreatePolicy", "PolicyName", "reader", "PolicyDocument", readDoc, "Description", "reads the bucket", "Tags.member.1.Key", "k", "Tags.member.1.Value", "v")
	mkInline   = q("Action", "PutRolePolicy", "RoleName", "app", "PolicyName", "write", "PolicyDocument", writeDoc)
	mkAttach   = q("Action", "AttachRolePolicy", "RoleName", "app", "PolicyArn", policyARN)
	mkVersion  = q("Action", "CreatePolicyVersion", "PolicyArn", policyARN, "PolicyDocument", writeDoc, "SetAsDefault", "true")
)

// goldenCases are the wire cases: each runs its setup requests, then its
// request, and compares status and body with testdata/NAME.golden.
var goldenCases = []struct {
	name    string
	setup   []string
	request string
}{
	{"CreateOpenIDConnectProvider", nil, mkProvider},
	{"CreateOpenIDConnectProvider_exists", []string{mkProvider}, mkProvider},
	{"CreateOpenIDConnectProvider_http", nil, q("Action", "CreateOpenIDConnectProvider", "Url", "http://127.0.0.1:8080")},
	{"CreateOpenIDConnectProvider_validation", nil, q("Action", "CreateOpenIDConnectProvider", "Url", "https://x.example.com", "ThumbprintList.member.1", "abc")},
	{"GetOpenIDConnectProvider", []string{mkProvider}, q("Action", "GetOpenIDConnectProvider", "OpenIDConnectProviderArn", provider)},
	{"GetOpenIDConnectProvider_missing", nil, q("Action", "GetOpenIDConnectProvider", "OpenIDConnectProviderArn", provider)},
	{"ListOpenIDConnectProviders", []string{mkProvider, q("Action", "CreateOpenIDConnectProvider", "Url", "https://127.0.0.1:6443/")}, q("Action", "ListOpenIDConnectProviders")},
	{"ListOpenIDConnectProviders_empty", nil, q("Action", "ListOpenIDConnectProviders")},
	{"DeleteOpenIDConnectProvider", []string{mkProvider}, q("Action", "DeleteOpenIDConnectProvider", "OpenIDConnectProviderArn", provider)},
	{"DeleteOpenIDConnectProvider_missing", nil, q("Action", "DeleteOpenIDConnectProvider", "OpenIDConnectProviderArn", provider)},
	{"AddClientIDToOpenIDConnectProvider", []string{mkProvider}, q("Action", "AddClientIDToOpenIDConnectProvider", "OpenIDConnectProviderArn", provider, "ClientID", "other")},
	{"RemoveClientIDFromOpenIDConnectProvider", []string{mkProvider}, q("Action", "RemoveClientIDFromOpenIDConnectProvider", "OpenIDConnectProviderArn", provider, "ClientID", "sts.amazonaws.com")},
	{"UpdateOpenIDConnectProviderThumbprint", []string{mkProvider}, q("Action", "UpdateOpenIDConnectProviderThumbprint", "OpenIDConnectProviderArn", provider, "ThumbprintList", "")},
	{"TagOpenIDConnectProvider", []string{mkProvider}, q("Action", "TagOpenIDConnectProvider", "OpenIDConnectProviderArn", provider, "Tags.member.1.Key", "owner", "Tags.member.1.Value", "me")},
	{"UntagOpenIDConnectProvider", []string{mkProvider}, q("Action", "UntagOpenIDConnectProvider", "OpenIDConnectProviderArn", provider, "TagKeys.member.1", "cluster")},
	{"ListOpenIDConnectProviderTags", []string{mkProvider}, q("Action", "ListOpenIDConnectProviderTags", "OpenIDConnectProviderArn", provider)},

	{"CreateRole", nil, mkRole},
	{"CreateRole_exists", []string{mkRole}, mkRole},
	{"CreateRole_validation", nil, q("Action", "CreateRole", "RoleName", "my role", "AssumeRolePolicyDocument", trustDoc, "MaxSessionDuration", "60")},
	{"CreateRole_missing_name", nil, q("Action", "CreateRole", "AssumeRolePolicyDocument", trustDoc)},
	{"CreateRole_invalid_json", nil, q("Action", "CreateRole", "RoleName", "r", "AssumeRolePolicyDocument", "{")},
	{"CreateRole_bad_number", nil, q("Action", "CreateRole", "RoleName", "r", "AssumeRolePolicyDocument", trustDoc, "MaxSessionDuration", "1h")},
	{"GetRole", []string{mkRole}, q("Action", "GetRole", "RoleName", "app")},
	{"GetRole_boundary", []string{mkRole, mkPolicy, q("Action", "PutRolePermissionsBoundary", "RoleName", "app", "PermissionsBoundary", policyARN)}, q("Action", "GetRole", "RoleName", "app")},
	{"GetRole_missing", nil, q("Action", "GetRole", "RoleName", "app")},
	{"ListRoles", []string{mkRole, mkRole2}, q("Action", "ListRoles")},
	{"ListRoles_page", []string{mkRole, mkRole2}, q("Action", "ListRoles", "MaxItems", "1")},
	{"ListRoles_path_prefix", []string{mkRole, mkRole2}, q("Action", "ListRoles", "PathPrefix", "/team/")},
	{"DeleteRole", []string{mkRole}, q("Action", "DeleteRole", "RoleName", "app")},
	{"DeleteRole_conflict", []string{mkRole, mkInline}, q("Action", "DeleteRole", "RoleName", "app")},
	{"UpdateRole", []string{mkRole}, q("Action", "UpdateRole", "RoleName", "app", "MaxSessionDuration", "43200")},
	{"UpdateRoleDescription", []string{mkRole}, q("Action", "UpdateRoleDescription", "RoleName", "app", "Description", "new words")},
	{"UpdateAssumeRolePolicy", []string{mkRole}, q("Action", "UpdateAssumeRolePolicy", "RoleName", "app", "PolicyDocument", trustDoc)},
	{"UpdateAssumeRolePolicy_malformed", []string{mkRole}, q("Action", "UpdateAssumeRolePolicy", "RoleName", "app", "PolicyDocument", readDoc)},
	{"TagRole", []string{mkRole}, q("Action", "TagRole", "RoleName", "app", "Tags.member.1.Key", "env", "Tags.member.1.Value", "prod")},
	{"TagRole_duplicate", []string{mkRole}, q("Action", "TagRole", "RoleName", "app", "Tags.member.1.Key", "env", "Tags.member.2.Key", "ENV")},
	{"UntagRole", []string{mkRole}, q("Action", "UntagRole", "RoleName", "app", "TagKeys.member.1", "team")},
	{"ListRoleTags", []string{mkRole, q("Action", "TagRole", "RoleName", "app", "Tags.member.1.Key", "env", "Tags.member.1.Value", "prod")}, q("Action", "ListRoleTags", "RoleName", "app", "MaxItems", "1")},
	{"PutRolePermissionsBoundary", []string{mkRole, mkPolicy}, q("Action", "PutRolePermissionsBoundary", "RoleName", "app", "PermissionsBoundary", policyARN)},
	{"PutRolePermissionsBoundary_missing", []string{mkRole}, q("Action", "PutRolePermissionsBoundary", "RoleName", "app", "PermissionsBoundary", policyARN)},
	{"DeleteRolePermissionsBoundary", []string{mkRole}, q("Action", "DeleteRolePermissionsBoundary", "RoleName", "app")},

	{"PutRolePolicy", []string{mkRole}, mkInline},
	{"PutRolePolicy_too_large", []string{mkRole}, q("Action", "PutRolePolicy", "RoleName", "app", "PolicyName", "big", "PolicyDocument", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::`+strings.Repeat("b", 10200)+`"}]}`)},
	{"GetRolePolicy", []string{mkRole, mkInline}, q("Action", "GetRolePolicy", "RoleName", "app", "PolicyName", "write")},
	{"GetRolePolicy_missing", []string{mkRole}, q("Action", "GetRolePolicy", "RoleName", "app", "PolicyName", "write")},
	{"DeleteRolePolicy", []string{mkRole, mkInline}, q("Action", "DeleteRolePolicy", "RoleName", "app", "PolicyName", "write")},
	{"ListRolePolicies", []string{mkRole, mkInline}, q("Action", "ListRolePolicies", "RoleName", "app")},

	{"CreatePolicy", nil, mkPolicy},
	{"CreatePolicy_exists", []string{mkPolicy}, mkPolicy},
	{"GetPolicy", []string{mkPolicy}, q("Action", "GetPolicy", "PolicyArn", policyARN)},
	{"GetPolicy_aws_managed", nil, q("Action", "GetPolicy", "PolicyArn", "arn:aws:iam::aws:policy/ReadOnlyAccess")},
	{"DeletePolicy", []string{mkPolicy}, q("Action", "DeletePolicy", "PolicyArn", policyARN)},
	{"DeletePolicy_missing", nil, q("Action", "DeletePolicy", "PolicyArn", "arn:aws:iam::000000000000:policy/non-existent-policy")},
	{"DeletePolicy_attached", []string{mkRole, mkPolicy, mkAttach}, q("Action", "DeletePolicy", "PolicyArn", policyARN)},
	{"ListPolicies", []string{mkPolicy, mkRole, mkAttach}, q("Action", "ListPolicies", "Scope", "Local")},
	{"CreatePolicyVersion", []string{mkPolicy}, mkVersion},
	{"CreatePolicyVersion_limit", []string{mkPolicy, mkVersion, mkVersion, mkVersion, mkVersion}, mkVersion},
	{"GetPolicyVersion", []string{mkPolicy, mkVersion}, q("Action", "GetPolicyVersion", "PolicyArn", policyARN, "VersionId", "v2")},
	{"DeletePolicyVersion", []string{mkPolicy, mkVersion}, q("Action", "DeletePolicyVersion", "PolicyArn", policyARN, "VersionId", "v1")},
	{"DeletePolicyVersion_default", []string{mkPolicy}, q("Action", "DeletePolicyVersion", "PolicyArn", policyARN, "VersionId", "v1")},
	{"ListPolicyVersions", []string{mkPolicy, mkVersion}, q("Action", "ListPolicyVersions", "PolicyArn", policyARN)},
	{"SetDefaultPolicyVersion", []string{mkPolicy, mkVersion}, q("Action", "SetDefaultPolicyVersion", "PolicyArn", policyARN, "VersionId", "v1")},
	{"TagPolicy", []string{mkPolicy}, q("Action", "TagPolicy", "PolicyArn", policyARN, "Tags.member.1.Key", "a", "Tags.member.1.Value", "b")},
	{"UntagPolicy", []string{mkPolicy}, q("Action", "UntagPolicy", "PolicyArn", policyARN, "TagKeys.member.1", "k")},
	{"ListPolicyTags", []string{mkPolicy}, q("Action", "ListPolicyTags", "PolicyArn", policyARN)},

	{"AttachRolePolicy", []string{mkRole, mkPolicy}, mkAttach},
	{"AttachRolePolicy_missing", []string{mkRole}, mkAttach},
	{"AttachRolePolicy_not_an_arn", []string{mkRole}, q("Action", "AttachRolePolicy", "RoleName", "app", "PolicyArn", "longpolicynamebutnoarn")},
	{"DetachRolePolicy", []string{mkRole, mkPolicy, mkAttach}, q("Action", "DetachRolePolicy", "RoleName", "app", "PolicyArn", policyARN)},
	{"DetachRolePolicy_not_attached", []string{mkRole, mkPolicy}, q("Action", "DetachRolePolicy", "RoleName", "app", "PolicyArn", policyARN)},
	{"ListAttachedRolePolicies", []string{mkRole, mkPolicy, mkAttach}, q("Action", "ListAttachedRolePolicies", "RoleName", "app")},
	{"ListEntitiesForPolicy", []string{mkRole, mkPolicy, mkAttach}, q("Action", "ListEntitiesForPolicy", "PolicyArn", policyARN)},

	{"SimulateCustomPolicy", nil, q("Action", "SimulateCustomPolicy",
		"PolicyInputList.member.1", `{"Version": "2012-10-17", "Statement": {"Sid": "", "Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}}`,
		"PermissionsBoundaryPolicyInputList.member.1", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"a"}}}]}`,
		"ActionNames.member.1", "s3:PutObject", "ActionNames.member.2", "s3:GetObjectVersion",
		"ResourceArns.member.1", "arn:aws:s3:::bucket",
		"ContextEntries.member.1.ContextKeyName", "aws:PrincipalTag/team",
		"ContextEntries.member.1.ContextKeyValues.member.1", "a",
		"ContextEntries.member.1.ContextKeyType", "string")},
	{"SimulateCustomPolicy_missing_context", nil, q("Action", "SimulateCustomPolicy",
		"PolicyInputList.member.1", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"a"}}}]}`,
		"ActionNames.member.1", "s3:GetObject")},
	{"SimulatePrincipalPolicy", []string{mkRole, mkPolicy, mkAttach, mkInline}, q("Action", "SimulatePrincipalPolicy",
		"PolicySourceArn", "arn:aws:iam::000000000000:role/team/app",
		"ActionNames.member.1", "s3:PutObject", "ActionNames.member.2", "s3:GetObject", "ActionNames.member.3", "s3:DeleteObject",
		"ResourceArns.member.1", "arn:aws:s3:::bucket/key")},

	{"InvalidAction", nil, q("Action", "CreateUser", "UserName", "u")},
}

func TestGolden(t *testing.T) {
	for _, c := range goldenCases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := callerCtx()
			for _, s := range c.setup {
				if status, body := f.do(ctx, t, s); status != 200 {
					t.Fatalf("setup %s: %d\n%s", s, status, body)
				}
			}
			status, body := f.do(ctx, t, c.request)
			got := []byte(fmt.Sprintf("HTTP %d\n\n%s", status, body))
			path := filepath.Join("testdata", c.name+".golden")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("%s (-want +got):\n%s", path, diff)
			}
		})
	}
}

// TestGoldenFilesHaveCases finds golden files no case writes any more.
func TestGoldenFilesHaveCases(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.golden"))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, c := range goldenCases {
		if names[c.name] {
			t.Errorf("two cases named %s", c.name)
		}
		names[c.name] = true
	}
	for _, f := range files {
		if n := strings.TrimSuffix(filepath.Base(f), ".golden"); !names[n] {
			t.Errorf("%s has no case", f)
		}
	}
}

// TestEveryActionHasGolden checks that the dispatch table serves exactly
// the IAM actions of SPEC.md, and that each has a golden case.
func TestEveryActionHasGolden(t *testing.T) {
	want := []string{
		"AddClientIDToOpenIDConnectProvider", "AttachRolePolicy", "CreateOpenIDConnectProvider", "CreatePolicy",
		"CreatePolicyVersion", "CreateRole", "DeleteOpenIDConnectProvider", "DeletePolicy", "DeletePolicyVersion",
		"DeleteRole", "DeleteRolePermissionsBoundary", "DeleteRolePolicy", "DetachRolePolicy", "GetOpenIDConnectProvider",
		"GetPolicy", "GetPolicyVersion", "GetRole", "GetRolePolicy", "ListAttachedRolePolicies", "ListEntitiesForPolicy",
		"ListOpenIDConnectProviderTags", "ListOpenIDConnectProviders", "ListPolicies", "ListPolicyTags",
		"ListPolicyVersions", "ListRolePolicies", "ListRoleTags", "ListRoles", "PutRolePermissionsBoundary",
		"PutRolePolicy", "RemoveClientIDFromOpenIDConnectProvider", "SetDefaultPolicyVersion", "SimulateCustomPolicy",
		"SimulatePrincipalPolicy", "TagOpenIDConnectProvider", "TagPolicy", "TagRole", "UntagOpenIDConnectProvider",
		"UntagPolicy", "UntagRole", "UpdateAssumeRolePolicy", "UpdateOpenIDConnectProviderThumbprint", "UpdateRole",
		"UpdateRoleDescription",
	}
	got := Actions()
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("actions (-want +got):\n%s", diff)
	}
	covered := map[string]bool{}
	for _, c := range goldenCases {
		covered[strings.SplitN(c.name, "_", 2)[0]] = true
	}
	for _, a := range got {
		if !covered[a] {
			t.Errorf("%s has no golden case", a)
		}
	}
}

func TestAuthorize(t *testing.T) {
	f := newFixture(t)
	ctx := callerCtx()
	for _, s := range []string{mkRole, mkPolicy, mkProvider} {
		if status, body := f.do(ctx, t, s); status != 200 {
			t.Fatalf("setup: %s", body)
		}
	}
	f.calls = nil
	for _, s := range []string{
		q("Action", "GetRole", "RoleName", "APP"),
		q("Action", "GetRole", "RoleName", "nobody"),
		q("Action", "ListRoles"),
		q("Action", "CreateRole", "RoleName", "x", "Path", "/p/", "AssumeRolePolicyDocument", trustDoc),
		q("Action", "AttachRolePolicy", "RoleName", "app", "PolicyArn", policyARN),
		q("Action", "GetPolicy", "PolicyArn", policyARN),
		q("Action", "CreatePolicy", "PolicyName", "w", "PolicyDocument", writeDoc),
		q("Action", "GetOpenIDConnectProvider", "OpenIDConnectProviderArn", provider),
		q("Action", "CreateOpenIDConnectProvider", "Url", "https://127.0.0.1:6443/id"),
		q("Action", "SimulatePrincipalPolicy", "PolicySourceArn", "arn:aws:iam::000000000000:role/team/app", "ActionNames.member.1", "s3:GetObject"),
		q("Action", "SimulateCustomPolicy", "PolicyInputList.member.1", writeDoc, "ActionNames.member.1", "s3:GetObject"),
	} {
		f.do(ctx, t, s)
	}
	want := []authCall{
		{"iam:GetRole", "arn:aws:iam::000000000000:role/team/app"},
		{"iam:GetRole", "arn:aws:iam::000000000000:role/nobody"},
		{"iam:ListRoles", "*"},
		{"iam:CreateRole", "arn:aws:iam::000000000000:role/p/x"},
		{"iam:AttachRolePolicy", "arn:aws:iam::000000000000:role/team/app"},
		{"iam:GetPolicy", policyARN},
		{"iam:CreatePolicy", "arn:aws:iam::000000000000:policy/w"},
		{"iam:GetOpenIDConnectProvider", provider},
		{"iam:CreateOpenIDConnectProvider", "arn:aws:iam::000000000000:oidc-provider/127.0.0.1:6443/id"},
		{"iam:SimulatePrincipalPolicy", "arn:aws:iam::000000000000:role/team/app"},
		{"iam:SimulateCustomPolicy", "*"},
	}
	if diff := cmp.Diff(want, f.calls); diff != "" {
		t.Errorf("authorization calls (-want +got):\n%s", diff)
	}

	// A denial stops the action before the service acts, and Serve hands
	// Authorize's explained decision back for the audit event.
	f.deny = true
	f.denial = &policy.Result{Decision: policy.ExplicitDeny, Explanation: []policy.Reason{{Message: "statement KeepProd denies iam:DeleteRole"}}}
	status, body := f.do(ctx, t, q("Action", "DeleteRole", "RoleName", "app"))
	if status != 403 || !bytes.Contains(body, []byte("<Code>AccessDenied</Code>")) {
		t.Errorf("denied DeleteRole: %d\n%s", status, body)
	}
	req, err := awsquery.ParseRequest("POST", url.Values{}, "application/x-www-form-urlencoded", []byte(q("Action", "DeleteRole", "RoleName", "app")))
	if err != nil {
		t.Fatal(err)
	}
	if _, d, err := f.h.Serve(ctx, req); d != f.denial || awserr.As(err).Code != awserr.AccessDenied {
		t.Errorf("denied DeleteRole: decision %+v, error %v; want the denial's decision", d, err)
	}
	f.deny = false
	if status, body := f.do(ctx, t, q("Action", "GetRole", "RoleName", "app")); status != 200 {
		t.Errorf("role gone after a denied DeleteRole: %s", body)
	}

	// Without Authorize every request is served.
	f.h.Authorize = nil
	if status, body := f.do(ctx, t, q("Action", "GetRole", "RoleName", "app")); status != 200 {
		t.Errorf("without Authorize: %s", body)
	}
}

func TestNoCaller(t *testing.T) {
	f := newFixture(t)
	req, err := awsquery.ParseRequest("POST", url.Values{}, "application/x-www-form-urlencoded", []byte(q("Action", "ListRoles")))
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = f.h.Serve(context.Background(), req)
	var ae *awserr.Error
	if !errors.As(err, &ae) || ae.Code != awserr.MissingAuthenticationToken {
		t.Errorf("got %v, want MissingAuthenticationToken", err)
	}
	if len(f.calls) != 0 {
		t.Errorf("authorized without a caller: %v", f.calls)
	}
}

// TestJSONRendering renders every golden case's result as JSON too, the
// form clients asking for application/json get.
func TestJSONRendering(t *testing.T) {
	for _, c := range goldenCases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := callerCtx()
			for _, s := range c.setup {
				f.do(ctx, t, s)
			}
			req, err := awsquery.ParseRequest("POST", url.Values{}, "application/x-www-form-urlencoded", []byte(c.request))
			if err != nil {
				t.Fatal(err)
			}
			res, _, err := f.h.Serve(ctx, req)
			if err != nil {
				return
			}
			b, ctype, err := awsquery.MarshalResult(req.Action, awsquery.IAMNamespace, requestID, res, true)
			if err != nil || ctype != awsquery.ContentTypeJSON || !json.Valid(b) {
				t.Errorf("JSON rendering: %v, %s\n%s", err, ctype, b)
			}
			if !bytes.HasPrefix(b, []byte(`{"`+req.Action+`Response":`)) {
				t.Errorf("JSON root: %s", b)
			}
		})
	}
}
