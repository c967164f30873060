package app_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/irsa-dev/irsa/internal/audit"
)

// An IAM call refused by the caller's policies leaves an event whose
// explanation says which statement refused it; an allowed call's event has
// none.
func TestAuditExplainsIAMDenial(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	b := s.a.Bootstrap
	iamc := awsiam.NewFromConfig(s.awsConfig(b.RootAccessKeyID, b.RootSecretKey, ""))
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:root"},"Action":"sts:AssumeRole"}]}`
	if _, err := iamc.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("operator"), AssumeRolePolicyDocument: aws.String(trust)}); err != nil {
		t.Fatal(err)
	}
	perms := `{"Version":"2012-10-17","Statement":[{"Sid":"Read","Effect":"Allow","Action":["iam:GetRole","iam:DeleteRole"],"Resource":"*"},` +
		`{"Sid":"KeepOperator","Effect":"Deny","Action":"iam:DeleteRole","Resource":"arn:aws:iam::000000000000:role/operator"}]}`
	if _, err := iamc.PutRolePolicy(ctx, &awsiam.PutRolePolicyInput{RoleName: aws.String("operator"), PolicyName: aws.String("ops"), PolicyDocument: aws.String(perms)}); err != nil {
		t.Fatal(err)
	}
	out, err := s.stsClient(b.RootAccessKeyID, b.RootSecretKey, "").AssumeRole(ctx, &awssts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::000000000000:role/operator"), RoleSessionName: aws.String("ops")})
	if err != nil {
		t.Fatal(err)
	}
	c := out.Credentials
	sess := awsiam.NewFromConfig(s.awsConfig(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken)))
	tr := &trail{st: s.a.Store}
	tr.next(t) // skip the setup

	cases := []struct {
		name   string
		do     func() error
		code   string
		reason string // a reason must name it; "" for no explanation
	}{
		{"allowed", func() error {
			_, err := sess.GetRole(ctx, &awsiam.GetRoleInput{RoleName: aws.String("operator")})
			return err
		}, "", ""},
		{"no statement allows", func() error {
			_, err := sess.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("x"), AssumeRolePolicyDocument: aws.String(trust)})
			return err
		}, "AccessDenied", "iam:CreateRole"},
		{"explicit deny", func() error {
			_, err := sess.DeleteRole(ctx, &awsiam.DeleteRoleInput{RoleName: aws.String("operator")})
			return err
		}, "AccessDenied", "KeepOperator"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.do()
			if got := apiCode(err); got != tc.code {
				t.Fatalf("error code %q, want %q (%v)", got, tc.code, err)
			}
			events := tr.next(t)
			if len(events) != 1 {
				t.Fatalf("%d events, want 1", len(events))
			}
			var e audit.Event
			if err := json.Unmarshal(events[0], &e); err != nil {
				t.Fatal(err)
			}
			if e.EventSource != audit.SourceIAM || e.ErrorCode != tc.code {
				t.Errorf("event source %s, error %q", e.EventSource, e.ErrorCode)
			}
			if tc.reason == "" {
				if len(e.Explanation) != 0 {
					t.Errorf("an allowed call's event has an explanation: %s", events[0])
				}
				return
			}
			found := false
			for _, r := range e.Explanation {
				if r.Sid == tc.reason || strings.Contains(r.Message, tc.reason) {
					found = true
				}
			}
			if !found {
				t.Errorf("no reason naming %q in the event:\n%s", tc.reason, events[0])
			}
		})
	}
}
