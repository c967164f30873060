package cli

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/irsa-dev/irsa/internal/policy"
)

func TestDetectKind(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want policy.Kind
	}{
		{"no principal", `{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`, policy.KindIdentity},
		{"statement as an object", `{"Statement":{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}}`, policy.KindTrust},
		{"web identity trust", `{"Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::1:oidc-provider/x"},"Action":["sts:AssumeRoleWithWebIdentity","sts:TagSession"]}]}`, policy.KindTrust},
		{"sts prefix in any case", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"STS:AssumeRole"}]}`, policy.KindTrust},
		{"NotPrincipal counts as a principal", `{"Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":"1"},"Action":"sts:AssumeRole"}]}`, policy.KindTrust},
		{"principal and resource", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Resource":"*"}]}`, policy.KindResource},
		{"principal and NotResource", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","NotResource":"x"}]}`, policy.KindResource},
		{"principal and a non-sts action", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":["sts:AssumeRole","s3:GetObject"]}]}`, policy.KindResource},
		{"principal and NotAction", `{"Statement":[{"Effect":"Allow","Principal":"*","NotAction":"sts:AssumeRole"}]}`, policy.KindResource},
		{"principal without actions", `{"Statement":[{"Effect":"Allow","Principal":"*"}]}`, policy.KindResource},
		{"principal in a later statement", `{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"},{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}]}`, policy.KindResource},
		{"not JSON", `{"Statement":`, policy.KindIdentity},
		{"statement of the wrong shape", `{"Statement":"x"}`, policy.KindIdentity},
		{"not an object", `[1,2]`, policy.KindIdentity},
	}
	for _, tt := range tests {
		if got := detectKind([]byte(tt.doc)); got != tt.want {
			t.Errorf("%s: detectKind = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestPolicyErrorLine(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&policy.Error{Message: "Syntax errors in policy."}, "f.json: MalformedPolicyDocument: Syntax errors in policy."},
		{&policy.Error{Code: "MalformedPolicyDocument", Message: "Policy statement must contain actions.", Path: "Statement[0]"},
			"f.json: MalformedPolicyDocument: Policy statement must contain actions. (at Statement[0])"},
		{&policy.Error{Code: "LimitExceeded", Message: "Cannot exceed quota for PolicySize: 6144"}, "f.json: LimitExceeded: Cannot exceed quota for PolicySize: 6144"},
		{errors.New("something else"), "f.json: something else"},
	}
	for _, tt := range tests {
		if got := policyErrorLine("f.json", tt.err); got != tt.want {
			t.Errorf("policyErrorLine(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

func TestReadInputsStdinOnce(t *testing.T) {
	_, err := readInputs(strings.NewReader("{}"), []string{"-", "-"})
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != ExitUsage {
		t.Fatalf("two - arguments: err = %v, want a usage error", err)
	}
}

func TestPlural(t *testing.T) {
	got := []string{plural(0, "statement"), plural(1, "statement"), plural(2, "statement")}
	if diff := cmp.Diff([]string{"0 statements", "1 statement", "2 statements"}, got); diff != "" {
		t.Error(diff)
	}
}
