package cli

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/irsa-dev/irsa/internal/app"
	"github.com/irsa-dev/irsa/internal/audit"
	"github.com/irsa-dev/irsa/internal/iam"
)

const analyzeTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

// analyzeRoles makes a data directory with three roles: app and idle,
// created at created, and fresh, created now. app has an inline policy
// and an attached managed one; idle and fresh one inline policy each.
func analyzeRoles(t *testing.T, created time.Time) string {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	a, err := app.New(ctx, app.Config{DataDir: dir, Now: func() time.Time { return created },
		IssuerURL: "https://oidc.irsa.test/id/ANALYZE"})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	s := func(v string) *string { return &v }
	acct := app.DefaultAccountID
	fresh := &iam.Service{Store: a.Store}
	for _, r := range []struct {
		svc          *iam.Service
		name, policy string
	}{
		{a.IAM, "app", `{"Version":"2012-10-17","Statement":[
			{"Effect":"Allow","Action":["s3:Get*","s3:PutObject"],"Resource":"arn:aws:s3:::data/*"},
			{"Effect":"Allow","Action":"dynamodb:*","Resource":"*"},
			{"Effect":"Deny","Action":"s3:DeleteBucket","Resource":"*"}]}`},
		{a.IAM, "idle", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`},
		{fresh, "fresh", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sqs:*","Resource":"*"}]}`},
	} {
		if _, err := r.svc.CreateRole(ctx, acct, &iam.CreateRoleInput{RoleName: s(r.name), AssumeRolePolicyDocument: s(analyzeTrust)}); err != nil {
			t.Fatalf("CreateRole %s: %v", r.name, err)
		}
		if err := r.svc.PutRolePolicy(ctx, acct, &iam.PutRolePolicyInput{RoleName: s(r.name), PolicyName: s("p"), PolicyDocument: s(r.policy)}); err != nil {
			t.Fatalf("PutRolePolicy %s: %v", r.name, err)
		}
	}
	mp, err := a.IAM.CreatePolicy(ctx, acct, &iam.CreatePolicyInput{PolicyName: s("extra"),
		PolicyDocument: s(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:ListRoles","Resource":"*"}}`)})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.IAM.AttachRolePolicy(ctx, acct, &iam.RolePolicyARNInput{RoleName: s("app"), PolicyArn: s(mp.Policy.ARN)}); err != nil {
		t.Fatal(err)
	}
	return dir
}

// cloudTrailRecord is a record as AWS CloudTrail writes it for a call by
// a session of role.
func cloudTrailRecord(role, source, name string, at time.Time, errorCode string) map[string]any {
	r := map[string]any{
		"eventVersion": "1.09",
		"userIdentity": map[string]any{
			"type":        "AssumedRole",
			"principalId": "AROAEXAMPLEID:botocore-session-1",
			"arn":         "arn:aws:sts::000000000000:assumed-role/" + role[strings.LastIndex(role, "/")+1:] + "/botocore-session-1",
			"accountId":   "000000000000",
			"accessKeyId": "ASIAEXAMPLEKEY",
			"sessionContext": map[string]any{
				"sessionIssuer": map[string]any{
					"type": "Role", "principalId": "AROAEXAMPLEID", "arn": role,
					"accountId": "000000000000", "userName": role[strings.LastIndex(role, "/")+1:],
				},
				"attributes": map[string]any{"creationDate": at.Add(-time.Minute).Format(audit.TimeFormat), "mfaAuthenticated": "false"},
			},
		},
		"eventTime":           at.Format(audit.TimeFormat),
		"eventSource":         source,
		"eventName":           name,
		"awsRegion":           "us-east-1",
		"sourceIPAddress":     "10.0.0.7",
		"userAgent":           "[Boto3/1.34.0]",
		"requestParameters":   map[string]any{"bucketName": "data", "Host": "data.s3.us-east-1.amazonaws.com", "key": "a.txt"},
		"responseElements":    nil,
		"additionalEventData": map[string]any{"SignatureVersion": "SigV4", "bytesTransferredOut": 5},
		"requestID":           "EXAMPLE123",
		"eventID":             fmt.Sprintf("%08d-0000-4000-8000-000000000000", at.Unix()%100000000),
		"readOnly":            true,
		"resources":           []any{map[string]any{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::data/a.txt"}},
		"eventType":           "AwsApiCall",
		"managementEvent":     false,
		"recipientAccountId":  "000000000000",
		"eventCategory":       "Data",
		"tlsDetails":          map[string]any{"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256"},
	}
	if errorCode != "" {
		r["errorCode"], r["errorMessage"] = errorCode, "Access Denied"
	}
	return r
}

// writeCloudTrailFile writes records as a gzipped CloudTrail log file.
func writeCloudTrailFile(t *testing.T, records ...map[string]any) string {
	t.Helper()
	body, err := json.Marshal(map[string]any{"Records": records})
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write(body); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(t.TempDir(), "000000000000_CloudTrail_us-east-1_20261123T0000Z_EXAMPLE.json.gz")
	if err := os.WriteFile(name, gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

func TestAnalyzeUnused(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	created := now.Add(-200 * 24 * time.Hour)
	dir := analyzeRoles(t, created)
	appRole := "arn:aws:iam::000000000000:role/app"
	idleRole := "arn:aws:iam::000000000000:role/idle"
	freshRole := "arn:aws:iam::000000000000:role/fresh"

	// irsa's own trail: the assumption of app.
	assume := webEvent("system:serviceaccount:prod:app", now.Add(-3*time.Hour), "")
	assume.RequestParameters["roleArn"] = appRole
	appendEvents(t, dir, assume)

	// AWS's trail: app's sessions read S3 and DynamoDB; a refused PutObject;
	// idle's one call is older than 90 days.
	lastUse := now.Add(-time.Hour)
	file := writeCloudTrailFile(t,
		cloudTrailRecord(appRole, "s3.amazonaws.com", "GetObject", now.Add(-2*time.Hour), ""),
		cloudTrailRecord(appRole, "s3.amazonaws.com", "PutObject", now.Add(-2*time.Hour), "AccessDenied"),
		cloudTrailRecord(appRole, "dynamodb.amazonaws.com", "GetItem", lastUse, ""),
		cloudTrailRecord(idleRole, "s3.amazonaws.com", "GetObject", now.Add(-100*24*time.Hour), ""),
	)
	if out, errOut, code := runCLI(t, "", "audit", "import", "--data-dir", dir, file); code != 0 {
		t.Fatalf("audit import: exit %d\n%s%s", code, out, errOut)
	}

	wantApp := audit.Finding{
		RoleARN: appRole, RoleCreated: created, Status: audit.StatusUsed, LastUsed: lastUse,
		UsedActions:   []string{"dynamodb:GetItem", "s3:GetObject"},
		UnusedActions: []string{"iam:ListRoles", "s3:PutObject"},
		SuggestedPolicy: &audit.PolicyDocument{Version: "2012-10-17", Statement: []audit.PolicyStatement{{
			Effect: "Allow", Action: []string{"dynamodb:GetItem", "s3:GetObject"}, Resource: "*"}}},
	}
	wantIdle := audit.Finding{RoleARN: idleRole, RoleCreated: created, Status: audit.StatusUnused,
		UsedActions: []string{}, UnusedActions: []string{"s3:*"}}

	t.Run("json", func(t *testing.T) {
		out, errOut, code := runCLI(t, "", "analyze", "unused", "--data-dir", dir, "--output", "json")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		var rep struct {
			Days     int             `json:"days"`
			Note     string          `json:"note"`
			Findings []audit.Finding `json:"findings"`
		}
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if len(rep.Findings) != 3 {
			t.Fatalf("got %d findings, want 3:\n%s", len(rep.Findings), out)
		}
		fresh := rep.Findings[1]
		if fresh.RoleARN != freshRole || fresh.Status != audit.StatusTooNew || len(fresh.UnusedActions) != 0 || fresh.SuggestedPolicy != nil {
			t.Errorf("fresh role finding = %+v, want too-new with no verdict", fresh)
		}
		want := []audit.Finding{wantApp, fresh, wantIdle}
		if diff := cmp.Diff(want, rep.Findings); diff != "" {
			t.Errorf("findings (-want +got):\n%s", diff)
		}
		if rep.Days != 90 || !strings.Contains(rep.Note, "resources are not narrowed") {
			t.Errorf("days %d, note %q: want 90 and a note that resources are not narrowed", rep.Days, rep.Note)
		}
	})

	t.Run("text", func(t *testing.T) {
		out, errOut, code := runCLI(t, "", "analyze", "unused", "--data-dir", dir)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		for _, want := range []string{
			"Roles: 1 unused, 1 used, 1 too new to judge\n",
			"\n" + appRole + "\n  status:         used (last " + lastUse.Format(time.RFC3339) + ")\n" +
				"  used actions:   dynamodb:GetItem, s3:GetObject\n" +
				"  unused actions: iam:ListRoles, s3:PutObject\n" +
				"  suggested policy (resources not narrowed: Resource is \"*\"):\n" +
				"    {\n      \"Version\": \"2012-10-17\",\n      \"Statement\": [\n        {\n" +
				"          \"Effect\": \"Allow\",\n          \"Action\": [\n            \"dynamodb:GetItem\",\n            \"s3:GetObject\"\n          ],\n" +
				"          \"Resource\": \"*\"\n        }\n      ]\n    }\n",
			"\n" + idleRole + "\n  status:         UNUSED",
			"\n" + freshRole + "\n  status:         not judged (created ",
			"resources are not narrowed",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("a longer window sees idle's old call", func(t *testing.T) {
		out, errOut, code := runCLI(t, "", "analyze", "unused", "--data-dir", dir, "--days", "150", "--output", "json")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		if !strings.Contains(out, `"roleArn": "`+idleRole+`",`) || strings.Contains(out, `"status": "unused"`) {
			t.Errorf("with --days 150 idle should be used:\n%s", out)
		}
	})
}

func TestAnalyzeUnusedUsage(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"analyze", "unused", "--data-dir", dir, "--days", "0"},
		{"analyze", "unused", "--data-dir", dir, "--output", "yaml"},
		{"analyze", "unused", "--data-dir", filepath.Join(dir, "nosuch")},
	} {
		if _, _, code := runCLI(t, "", args...); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, ExitUsage)
		}
	}
}
