package sts_test

import (
	"context"
	"crypto/rand"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/irsa-dev/irsa/internal/awserr"
	"github.com/irsa-dev/irsa/internal/iam"
	"github.com/irsa-dev/irsa/internal/issuer"
	"github.com/irsa-dev/irsa/internal/keys"
	"github.com/irsa-dev/irsa/internal/policy"
	"github.com/irsa-dev/irsa/internal/reqctx"
	"github.com/irsa-dev/irsa/internal/session"
	"github.com/irsa-dev/irsa/internal/store"
	"github.com/irsa-dev/irsa/internal/store/sqlstore"
	"github.com/irsa-dev/irsa/internal/sts"
	"github.com/irsa-dev/irsa/internal/webidentity"
)

const (
	acct      = "000000000000"
	issuerURL = "https://oidc.irsa.test/id/ABC"
	host      = "oidc.irsa.test/id/ABC"
	provARN   = "arn:aws:iam::000000000000:oidc-provider/oidc.irsa.test/id/ABC"
	roleARN   = "arn:aws:iam::000000000000:role/s3-reader"
)

// harness is the STS with every real part: SQLite, the key manager, the
// built-in issuer minting tokens, the web identity verifier and IAM.
type harness struct {
	t      *testing.T
	now    time.Time
	st     *sqlstore.Store
	keys   *keys.Manager
	issuer *issuer.Issuer
	iam    *iam.Service
	sts    *sts.Service
}

type builtinKeys struct{ m *keys.Manager }

func (b builtinKeys) Key(ctx context.Context, _ *store.OIDCProvider, kid string) (*jose.JSONWebKey, error) {
	k, err := b.m.Key(ctx, kid)
	if err != nil {
		return nil, awserr.New(awserr.InvalidIdentityToken, "unknown key")
	}
	return k, nil
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "irsa.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h := &harness{t: t, now: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC), st: st}
	clock := func() time.Time { return h.now }
	h.keys = keys.New(keys.Config{Store: st, Now: clock, Algorithm: "ES256"})
	if err := h.keys.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	h.issuer = &issuer.Issuer{URL: issuerURL, Keys: h.keys, Now: clock}
	if err := st.CreateAccount(ctx, store.Account{ID: acct, CreatedAt: h.now}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateOIDCProvider(ctx, store.OIDCProvider{AccountID: acct, ARN: provARN, URL: issuerURL, ClientIDs: []string{"sts.amazonaws.com"}, CreatedAt: h.now}); err != nil {
		t.Fatal(err)
	}
	h.iam = &iam.Service{Store: st, Now: clock, Rand: rand.Reader}
	h.sts = &sts.Service{
		Roles: st, Policies: h.iam, Sealers: h.keys, Now: clock, Region: "us-east-1",
		Verifier: &webidentity.Verifier{Providers: st, Keys: builtinKeys{h.keys}, Now: clock},
	}
	return h
}

func (h *harness) role(name, trust string, inline ...string) {
	h.t.Helper()
	ctx := context.Background()
	if _, err := h.iam.CreateRole(ctx, acct, &iam.CreateRoleInput{RoleName: &name, AssumeRolePolicyDocument: &trust}); err != nil {
		h.t.Fatalf("CreateRole %s: %v", name, err)
	}
	for i, doc := range inline {
		pn := "p" + string(rune('0'+i))
		d := doc
		if err := h.iam.PutRolePolicy(ctx, acct, &iam.PutRolePolicyInput{RoleName: &name, PolicyName: &pn, PolicyDocument: &d}); err != nil {
			h.t.Fatalf("PutRolePolicy: %v", err)
		}
	}
}

func (h *harness) token(ns, sa string, aud ...string) string {
	h.t.Helper()
	tok, err := h.issuer.Mint(context.Background(), issuer.TokenRequest{Namespace: ns, ServiceAccount: sa, Audiences: aud})
	if err != nil {
		h.t.Fatal(err)
	}
	return tok
}

func irsaTrust(sub string) string {
	return `{"Version":"2012-10-17","Statement":[{"Sid":"Irsa","Effect":"Allow","Principal":{"Federated":"` + provARN + `"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"` + host + `:sub":"` + sub + `","` + host + `:aud":"sts.amazonaws.com"}}}]}`
}

func p[T any](v T) *T { return &v }

func code(err error) string {
	var e *awserr.Error
	if errors.As(err, &e) {
		return e.Code + ": " + e.Message
	}
	if err == nil {
		return ""
	}
	return "untyped: " + err.Error()
}

func (h *harness) assumeWeb(token string, mod func(*sts.AssumeRoleWithWebIdentityInput)) (*sts.AssumeRoleWithWebIdentityOutput, *policy.Result, error) {
	in := &sts.AssumeRoleWithWebIdentityInput{RoleArn: p(roleARN), RoleSessionName: p("botocore-session-1"), WebIdentityToken: p(token + "\n")}
	if mod != nil {
		mod(in)
	}
	ctx := reqctx.With(context.Background(), &reqctx.Info{RequestID: "r", SourceIP: "127.0.0.1"})
	return h.sts.AssumeRoleWithWebIdentity(ctx, in)
}

func TestAssumeRoleWithWebIdentity(t *testing.T) {
	h := newHarness(t)
	h.role("s3-reader", irsaTrust("system:serviceaccount:production:s3-reader"))
	out, decision, err := h.assumeWeb(h.token("production", "s3-reader"), nil)
	if err != nil {
		t.Fatalf("allowed call failed: %s", code(err))
	}
	if decision.Decision != policy.Allowed {
		t.Fatalf("decision %s", decision.Decision)
	}
	if !strings.HasPrefix(out.Credentials.AccessKeyID, "ASIA") || len(out.Credentials.AccessKeyID) != 20 {
		t.Errorf("access key %q", out.Credentials.AccessKeyID)
	}
	if got, _ := session.AccountFromAccessKeyID(out.Credentials.AccessKeyID); got != acct {
		t.Errorf("access key encodes account %s", got)
	}
	if !out.Credentials.Expiration.Equal(h.now.Add(time.Hour)) {
		t.Errorf("expiration %v, want one hour from now", out.Credentials.Expiration)
	}
	if out.AssumedRoleUser.ARN != "arn:aws:sts::000000000000:assumed-role/s3-reader/botocore-session-1" {
		t.Errorf("ARN %s", out.AssumedRoleUser.ARN)
	}
	if !strings.HasPrefix(out.AssumedRoleUser.AssumedRoleID, "AROA") || !strings.HasSuffix(out.AssumedRoleUser.AssumedRoleID, ":botocore-session-1") {
		t.Errorf("AssumedRoleId %s", out.AssumedRoleUser.AssumedRoleID)
	}
	if out.Provider != provARN || out.Audience != "sts.amazonaws.com" || out.SubjectFromWebIdentityToken != "system:serviceaccount:production:s3-reader" {
		t.Errorf("provider %q audience %q subject %q", out.Provider, out.Audience, out.SubjectFromWebIdentityToken)
	}
	if out.PackedPolicySize != nil {
		t.Errorf("PackedPolicySize %d without session policies or tags", *out.PackedPolicySize)
	}
	sealer, _ := h.keys.Sealer(context.Background())
	sess, err := sealer.Open(out.Credentials.SessionToken)
	if err != nil {
		t.Fatal(err)
	}
	if sess.SecretAccessKey != out.Credentials.SecretAccessKey || !sess.SameAccessKey(out.Credentials.AccessKeyID) || sess.Subject != "system:serviceaccount:production:s3-reader" || sess.FederatedProvider != provARN {
		t.Errorf("sealed session %+v does not match the credentials", sess)
	}
}

func TestAssumeRoleWithWebIdentityRefusals(t *testing.T) {
	h := newHarness(t)
	h.role("s3-reader", irsaTrust("system:serviceaccount:production:s3-reader"))
	h.role("short", irsaTrust("system:serviceaccount:production:s3-reader"))
	prod := h.token("production", "s3-reader")
	tests := []struct {
		name  string
		token string
		mod   func(*sts.AssumeRoleWithWebIdentityInput)
		want  string
	}{
		{"another namespace", h.token("staging", "s3-reader"), nil, "AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity"},
		{"wrong audience", h.token("production", "s3-reader", "vault"), nil, "InvalidIdentityToken: Incorrect token audience"},
		{"role that does not exist", prod, func(in *sts.AssumeRoleWithWebIdentityInput) {
			in.RoleArn = p("arn:aws:iam::000000000000:role/nope")
		}, "AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity"},
		{"role with another path", prod, func(in *sts.AssumeRoleWithWebIdentityInput) {
			in.RoleArn = p("arn:aws:iam::000000000000:role/team/s3-reader")
		}, "AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity"},
		{"bad session name", prod, func(in *sts.AssumeRoleWithWebIdentityInput) { in.RoleSessionName = p("a b") },
			`ValidationError: 1 validation error detected: Value 'a b' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]*`},
		{"session name too short", prod, func(in *sts.AssumeRoleWithWebIdentityInput) { in.RoleSessionName = p("a") },
			`ValidationError: 1 validation error detected: Value 'a' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2`},
		{"two violations", prod, func(in *sts.AssumeRoleWithWebIdentityInput) {
			in.RoleSessionName = p("a")
			in.DurationSeconds = p(int32(100))
		}, `ValidationError: 2 validation errors detected: Value 'a' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2; Value '100' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900`},
		{"token too short, never echoed", prod, func(in *sts.AssumeRoleWithWebIdentityInput) { in.WebIdentityToken = p("abc") },
			`ValidationError: 1 validation error detected: Value at 'webIdentityToken' failed to satisfy constraint: Member must have length greater than or equal to 4`},
		{"duration above the role's maximum", prod, func(in *sts.AssumeRoleWithWebIdentityInput) { in.DurationSeconds = p(int32(7200)) },
			"ValidationError: The requested DurationSeconds exceeds the MaxSessionDuration set for this role."},
		{"malformed session policy", prod, func(in *sts.AssumeRoleWithWebIdentityInput) {
			in.Policy = p(`{"Version":"2012-10-17","Statement":[{"Effect":"allow","Action":"s3:*","Resource":"*"}]}`)
		},
			"MalformedPolicyDocument: The policy failed legacy parsing"},
		{"session policy that does not exist", prod, func(in *sts.AssumeRoleWithWebIdentityInput) {
			in.PolicyArns = []string{"arn:aws:iam::000000000000:policy/nope"}
		}, "MalformedPolicyDocument: Policy arn:aws:iam::000000000000:policy/nope does not exist or is not attachable."},
		{"malformed role ARN", prod, func(in *sts.AssumeRoleWithWebIdentityInput) { in.RoleArn = p("arn:aws:s3:::bucket/role/s3-reader") },
			"ValidationError: arn:aws:s3:::bucket/role/s3-reader is invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := h.assumeWeb(tt.token, tt.mod)
			if got := code(err); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
	h.now = h.now.Add(2 * time.Hour)
	if _, _, err := h.assumeWeb(prod, nil); !strings.HasPrefix(code(err), "ExpiredTokenException: Token expired: current date/time") {
		t.Errorf("an expired token gave %s", code(err))
	}
}

// The denial explains itself to the operator (never to the caller).
func TestAssumeRoleWithWebIdentityExplainsDenial(t *testing.T) {
	h := newHarness(t)
	h.role("s3-reader", irsaTrust("system:serviceaccount:production:s3-reader"))
	_, decision, _ := h.assumeWeb(h.token("staging", "s3-reader"), nil)
	if decision == nil || decision.Decision != policy.ImplicitDeny {
		t.Fatalf("decision %+v", decision)
	}
	found := false
	for _, r := range decision.Explanation {
		if r.Element == "Condition" && r.Key == host+":sub" && len(r.Actual) == 1 && r.Actual[0] == "system:serviceaccount:staging:s3-reader" {
			found = true
		}
	}
	if !found {
		t.Errorf("explanation does not name the sub condition: %+v", decision.Explanation)
	}
}

func TestSessionPoliciesAndPackedSize(t *testing.T) {
	h := newHarness(t)
	h.role("s3-reader", irsaTrust("system:serviceaccount:production:s3-reader"))
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`
	out, _, err := h.assumeWeb(h.token("production", "s3-reader"), func(in *sts.AssumeRoleWithWebIdentityInput) { in.Policy = &doc })
	if err != nil {
		t.Fatal(code(err))
	}
	if out.PackedPolicySize == nil || *out.PackedPolicySize <= 0 || *out.PackedPolicySize > 100 {
		t.Fatalf("PackedPolicySize %v", out.PackedPolicySize)
	}
	sealer, _ := h.keys.Sealer(context.Background())
	sess, _ := sealer.Open(out.Credentials.SessionToken)
	if len(sess.SessionPolicies) != 1 || sess.SessionPolicies[0] != doc {
		t.Fatalf("session policies %q", sess.SessionPolicies)
	}
}

func rootCtx() context.Context {
	return reqctx.With(context.Background(), &reqctx.Info{RequestID: "r", Caller: &reqctx.Caller{Type: "Root", AccountID: acct, ARN: "arn:aws:iam::000000000000:root", UserID: acct}})
}

func sessionCtx(s *session.Session) context.Context {
	return reqctx.With(context.Background(), &reqctx.Info{RequestID: "r", Caller: &reqctx.Caller{Type: "AssumedRole", AccountID: s.AccountID, ARN: s.ARN("aws"), UserID: s.UserID(), RoleName: s.RoleName, Session: s}})
}

func TestAssumeRoleChainAndAuthorize(t *testing.T) {
	h := newHarness(t)
	accountTrust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:root"},"Action":["sts:AssumeRole","sts:TagSession"],"Condition":{"StringEquals":{"sts:ExternalId":"ext-123"}}}]}`
	h.role("deployer", accountTrust, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sts:AssumeRole","iam:GetRole"],"Resource":"*"}]}`)
	h.role("target", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:role/deployer"},"Action":"sts:AssumeRole"}]}`)

	// The root may assume deployer when the external ID matches.
	_, _, err := h.sts.AssumeRole(rootCtx(), &sts.AssumeRoleInput{RoleArn: p("arn:aws:iam::000000000000:role/deployer"), RoleSessionName: p("s1")})
	if got := code(err); got != "AccessDenied: User: arn:aws:iam::000000000000:root is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::000000000000:role/deployer" {
		t.Fatalf("without the external ID: %s", got)
	}
	out, _, err := h.sts.AssumeRole(rootCtx(), &sts.AssumeRoleInput{RoleArn: p("arn:aws:iam::000000000000:role/deployer"), RoleSessionName: p("s1"), ExternalID: p("ext-123"),
		Tags: []sts.Tag{{Key: "team", Value: "a"}}, TransitiveTagKeys: []string{"team"}, DurationSeconds: p(int32(3600))})
	if err != nil {
		t.Fatal(code(err))
	}
	sealer, _ := h.keys.Sealer(context.Background())
	parent, err := sealer.Open(out.Credentials.SessionToken)
	if err != nil {
		t.Fatal(err)
	}

	// The deployer session chains into target; the transitive tag follows
	// and the duration is capped at one hour.
	_, _, err = h.sts.AssumeRole(sessionCtx(parent), &sts.AssumeRoleInput{RoleArn: p("arn:aws:iam::000000000000:role/target"), RoleSessionName: p("s2"), DurationSeconds: p(int32(7200))})
	if got := code(err); got != "ValidationError: The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining." {
		t.Fatalf("chained 2 h: %s", got)
	}
	chained, _, err := h.sts.AssumeRole(sessionCtx(parent), &sts.AssumeRoleInput{RoleArn: p("arn:aws:iam::000000000000:role/target"), RoleSessionName: p("s2")})
	if err != nil {
		t.Fatal(code(err))
	}
	child, _ := sealer.Open(chained.Credentials.SessionToken)
	if !child.Chained || len(child.Tags) != 1 || child.Tags[0].Key != "team" {
		t.Errorf("chained session %+v", child)
	}
	// Overriding a transitive tag is refused.
	_, _, err = h.sts.AssumeRole(sessionCtx(parent), &sts.AssumeRoleInput{RoleArn: p("arn:aws:iam::000000000000:role/target"), RoleSessionName: p("s3"), Tags: []sts.Tag{{Key: "TEAM", Value: "b"}}})
	if !strings.HasPrefix(code(err), "InvalidParameterValue:") {
		t.Errorf("overriding a transitive tag: %s", code(err))
	}
	// The target session may not assume deployer: deployer trusts the root
	// only with the external ID, and target has no permissions.
	_, _, err = h.sts.AssumeRole(sessionCtx(child), &sts.AssumeRoleInput{RoleArn: p("arn:aws:iam::000000000000:role/deployer"), RoleSessionName: p("s4"), ExternalID: p("ext-123")})
	if !strings.HasPrefix(code(err), "AccessDenied: User: arn:aws:sts::000000000000:assumed-role/target/s2 is not authorized") {
		t.Errorf("target assuming deployer: %s", code(err))
	}

	// Authorize: the deployer session may iam:GetRole, not iam:CreateRole.
	if err := h.sts.Authorize(sessionCtx(parent), "iam:GetRole", "arn:aws:iam::000000000000:role/x"); err != nil {
		t.Errorf("GetRole: %s", code(err))
	}
	err = h.sts.Authorize(sessionCtx(parent), "iam:CreateRole", "arn:aws:iam::000000000000:role/x")
	if got := code(err); got != "AccessDenied: User: arn:aws:sts::000000000000:assumed-role/deployer/s1 is not authorized to perform: iam:CreateRole on resource: arn:aws:iam::000000000000:role/x because no identity-based policy allows the iam:CreateRole action" {
		t.Errorf("CreateRole: %s", got)
	}
	if err := h.sts.Authorize(rootCtx(), "iam:CreateRole", "*"); err != nil {
		t.Errorf("root: %s", code(err))
	}

	id, err := h.sts.GetCallerIdentity(sessionCtx(child))
	if err != nil || id.ARN != "arn:aws:sts::000000000000:assumed-role/target/s2" || id.Account != acct || !strings.HasSuffix(id.UserID, ":s2") {
		t.Errorf("GetCallerIdentity = %+v, %v", id, err)
	}
	if _, err := h.sts.GetCallerIdentity(context.Background()); !strings.HasPrefix(code(err), "MissingAuthenticationToken") {
		t.Errorf("unsigned GetCallerIdentity: %s", code(err))
	}
}

func (h *harness) taggedToken(sub string) string {
	h.t.Helper()
	signer, _, err := h.keys.Signer(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	claims := map[string]any{
		"iss": issuerURL, "sub": sub, "aud": []string{"sts.amazonaws.com"},
		"iat": h.now.Unix(), "exp": h.now.Add(time.Hour).Unix(),
		"https://aws.amazon.com/tags": map[string]any{
			"principal_tags":      map[string][]string{"team": {"payments"}},
			"transitive_tag_keys": []string{"team"},
		},
	}
	tok, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		h.t.Fatal(err)
	}
	return tok
}

func TestSessionTagsFromTheTokenNeedTagSession(t *testing.T) {
	h := newHarness(t)
	sub := "system:serviceaccount:production:s3-reader"
	h.role("s3-reader", irsaTrust(sub))
	tok := h.taggedToken(sub)
	if _, _, err := h.assumeWeb(tok, nil); code(err) != "AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity" {
		t.Fatalf("tags without sts:TagSession in the trust policy: %s", code(err))
	}
	withTag := strings.Replace(irsaTrust(sub), `"Action":"sts:AssumeRoleWithWebIdentity"`, `"Action":["sts:AssumeRoleWithWebIdentity","sts:TagSession"]`, 1)
	h.role("tagged", withTag)
	out, _, err := h.assumeWeb(tok, func(in *sts.AssumeRoleWithWebIdentityInput) { in.RoleArn = p("arn:aws:iam::000000000000:role/tagged") })
	if err != nil {
		t.Fatal(code(err))
	}
	if out.PackedPolicySize == nil {
		t.Error("session tags must report PackedPolicySize")
	}
	sealer, _ := h.keys.Sealer(context.Background())
	sess, _ := sealer.Open(out.Credentials.SessionToken)
	if len(sess.Tags) != 1 || sess.Tags[0] != (session.Tag{Key: "team", Value: "payments"}) || len(sess.TransitiveTagKeys) != 1 {
		t.Errorf("session tags %+v, transitive %v", sess.Tags, sess.TransitiveTagKeys)
	}
}
