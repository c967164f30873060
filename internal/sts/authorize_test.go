package sts_test

import (
	"context"
	"strings"
	"testing"

	"github.com/irsa-dev/irsa/internal/policy"
	"github.com/irsa-dev/irsa/internal/sts"
)

// TestAuthorizeExplain checks that AuthorizeExplain answers exactly as
// Authorize does and adds the explained decision of every denial.
func TestAuthorizeExplain(t *testing.T) {
	h := newHarness(t)
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:root"},"Action":"sts:AssumeRole"}]}`
	h.role("operator", trust, `{"Version":"2012-10-17","Statement":[
		{"Sid":"ReadRoles","Effect":"Allow","Action":["iam:GetRole","iam:DeleteRole"],"Resource":"*"},
		{"Sid":"KeepProd","Effect":"Deny","Action":"iam:DeleteRole","Resource":"arn:aws:iam::000000000000:role/prod-*"}]}`)
	out, _, err := h.sts.AssumeRole(rootCtx(), &sts.AssumeRoleInput{RoleArn: p("arn:aws:iam::000000000000:role/operator"), RoleSessionName: p("ops")})
	if err != nil {
		t.Fatal(code(err))
	}
	sealer, _ := h.keys.Sealer(context.Background())
	sess, err := sealer.Open(out.Credentials.SessionToken)
	if err != nil {
		t.Fatal(err)
	}
	ctx := sessionCtx(sess)

	cases := []struct {
		name, action, resource string
		decision               policy.Decision
		reason                 string // a substring of one reason; "" for an allow
	}{
		{"allowed", "iam:GetRole", "arn:aws:iam::000000000000:role/x", policy.Allowed, ""},
		{"implicit deny", "iam:CreateRole", "arn:aws:iam::000000000000:role/x", policy.ImplicitDeny, "iam:CreateRole"},
		{"explicit deny", "iam:DeleteRole", "arn:aws:iam::000000000000:role/prod-db", policy.ExplicitDeny, "KeepProd"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := h.sts.AuthorizeExplain(ctx, c.action, c.resource)
			plain := h.sts.Authorize(ctx, c.action, c.resource)
			if code(err) != code(plain) {
				t.Errorf("AuthorizeExplain error %q, Authorize error %q", code(err), code(plain))
			}
			if res == nil {
				t.Fatal("no decision")
			}
			if res.Decision != c.decision {
				t.Errorf("decision %v, want %v", res.Decision, c.decision)
			}
			if c.reason == "" {
				if err != nil || len(res.Explanation) != 0 {
					t.Errorf("allow: err %v, explanation %v", err, res.Explanation)
				}
				return
			}
			if !strings.HasPrefix(code(err), "AccessDenied: User: arn:aws:sts::000000000000:assumed-role/operator/ops is not authorized to perform: "+c.action) {
				t.Errorf("error %q", code(err))
			}
			found := false
			for _, r := range res.Explanation {
				if strings.Contains(r.Message, c.reason) || r.Sid == c.reason {
					found = true
				}
			}
			if !found {
				t.Errorf("no reason naming %q in %+v", c.reason, res.Explanation)
			}
		})
	}

	// The root is not evaluated; an unsigned caller is refused.
	if res, err := h.sts.AuthorizeExplain(rootCtx(), "iam:CreateRole", "*"); res != nil || err != nil {
		t.Errorf("root: %+v, %v", res, err)
	}
	if res, err := h.sts.AuthorizeExplain(context.Background(), "iam:GetRole", "*"); res != nil || !strings.HasPrefix(code(err), "MissingAuthenticationToken:") {
		t.Errorf("no caller: %+v, %s", res, code(err))
	}
}
