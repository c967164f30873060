package audit_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/irsa-dev/irsa/internal/audit"
	"github.com/irsa-dev/irsa/internal/policy"
	"github.com/irsa-dev/irsa/internal/store"
	"github.com/irsa-dev/irsa/internal/webidentity"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// Secrets of the test requests: none may appear in an event.
const (
	token        = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6dGVhbS1hOmFwcCJ9.c2lnbmF0dXJl"
	secretKey    = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	sessionToken = "FwoGZXIvYXdzEXAMPLESESSIONTOKEN"
)

var secrets = []string{token, secretKey, sessionToken, "c2lnbmF0dXJl", "hunter2", "PHNhbWw+"}

const (
	providerARN = "arn:aws:iam::000000000000:oidc-provider/oidc.irsa.local/id/ABC"
	roleARN     = "arn:aws:iam::000000000000:role/app"
)

var identity = &webidentity.Identity{
	Provider:        store.OIDCProvider{AccountID: "000000000000", ARN: providerARN},
	Subject:         "system:serviceaccount:team-a:app",
	MatchedAudience: "sts.amazonaws.com",
	Kubernetes:      &webidentity.KubernetesClaims{Namespace: "team-a", ServiceAccountName: "app", PodName: "app-7d9"},
}

func arwwiParams() url.Values {
	return url.Values{
		"Action":                  {"AssumeRoleWithWebIdentity"},
		"Version":                 {"2011-06-15"},
		"RoleArn":                 {roleARN},
		"RoleSessionName":         {"s1"},
		"WebIdentityToken":        {token},
		"DurationSeconds":         {"3600"},
		"Policy":                  {`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`},
		"PolicyArns.member.1.arn": {"arn:aws:iam::aws:policy/ReadOnlyAccess"},
		"PolicyArns.member.2.arn": {"arn:aws:iam::000000000000:policy/p"},
	}
}

func events() map[string]*audit.Event {
	params, hash := audit.Redact(arwwiParams())
	denied, deniedHash := audit.Redact(arwwiParams())
	base := func(name, source string) *audit.Event {
		return &audit.Event{
			EventTime: time.Date(2026, 11, 20, 10, 11, 12, 500, time.UTC), EventSource: source, EventName: name,
			AWSRegion: "us-east-1", SourceIPAddress: "10.1.2.3", UserAgent: "aws-sdk-go-v2/1.39",
			RequestID: "4c3b0e4e-8d4e-4b5e-9d0a-1f2e3d4c5b6a", EventID: "0b8d4c6e-1a2b-4c3d-8e9f-0a1b2c3d4e5f",
			ReadOnly: audit.IsReadOnly(source, name), RecipientAccountID: "000000000000",
		}
	}
	ok := base("AssumeRoleWithWebIdentity", audit.SourceSTS)
	ok.UserIdentity = audit.WebIdentityUser(identity)
	ok.RequestParameters = params
	ok.TokenHash = hash
	ok.ResponseElements = map[string]any{
		"credentials":                 audit.CredentialsElement("ASIAEXAMPLE0000000001", time.Date(2026, 11, 20, 11, 11, 12, 0, time.UTC)),
		"assumedRoleUser":             map[string]any{"assumedRoleId": "AROAEXAMPLE000000001:s1", "arn": "arn:aws:sts::000000000000:assumed-role/app/s1"},
		"subjectFromWebIdentityToken": identity.Subject,
		"audience":                    identity.MatchedAudience,
		"provider":                    providerARN,
	}

	deny := base("AssumeRoleWithWebIdentity", audit.SourceSTS)
	deny.UserIdentity = audit.WebIdentityUser(identity)
	deny.RequestParameters = denied
	deny.TokenHash = deniedHash
	deny.ErrorCode = "AccessDenied"
	deny.ErrorMessage = "Not authorized to perform sts:AssumeRoleWithWebIdentity"
	deny.Explanation = []policy.Reason{{
		StatementRef: policy.StatementRef{PolicyType: "trust", PolicyName: "app", Index: 0, Effect: "Allow"},
		Element:      "Condition", Operator: "StringEquals", Key: "oidc.irsa.local/id/ABC:sub",
		Expected: []string{"system:serviceaccount:team-b:app"}, Actual: []string{"system:serviceaccount:team-a:app"},
		Message: "the condition did not match",
	}}

	ar := base("AssumeRole", audit.SourceSTS)
	ar.UserIdentity = &audit.UserIdentity{Type: audit.IdentityRoot, PrincipalID: "000000000000",
		ARN: "arn:aws:iam::000000000000:root", AccountID: "000000000000", AccessKeyID: "AKIAEXAMPLE000000001"}
	ar.RequestParameters, _ = audit.Redact(url.Values{"Action": {"AssumeRole"}, "RoleArn": {roleARN}, "RoleSessionName": {"admin"},
		"Tags.member.1.Key": {"team"}, "Tags.member.1.Value": {"a"}, "TransitiveTagKeys.member.1": {"team"},
		"SerialNumber": {"arn:aws:iam::000000000000:mfa/x"}, "TokenCode": {"123456"}})
	ar.ResponseElements = map[string]any{"credentials": audit.CredentialsElement("ASIAEXAMPLE0000000002", time.Date(2026, 11, 20, 11, 0, 0, 0, time.UTC))}

	cr := base("CreateRole", audit.SourceIAM)
	cr.UserIdentity = &audit.UserIdentity{Type: audit.IdentityAssumedRole, PrincipalID: "AROAEXAMPLE000000009:ops",
		ARN: "arn:aws:sts::000000000000:assumed-role/admin/ops", AccountID: "000000000000", AccessKeyID: "ASIAEXAMPLE0000000003",
		SessionContext: &audit.SessionContext{
			SessionIssuer: &audit.SessionIssuer{Type: "Role", PrincipalID: "AROAEXAMPLE000000009", ARN: "arn:aws:iam::000000000000:role/admin", AccountID: "000000000000", UserName: "admin"},
			Attributes:    &audit.SessionAttributes{CreationDate: "2026-11-20T09:00:00Z", MFAAuthenticated: "false"},
		}}
	cr.RequestParameters, _ = audit.Redact(url.Values{"Action": {"CreateRole"}, "Version": {"2010-05-08"}, "RoleName": {"app"},
		"AssumeRolePolicyDocument": {`{"Statement":[{"Effect":"Allow","Principal":{"Federated":"` + providerARN + `"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"a<b>&c":"x"}}}]}`},
		"MaxSessionDuration":       {"7200"}, "X-Amz-Security-Token": {sessionToken}, "X-Amz-Signature": {"abc"}})
	cr.ResponseElements = map[string]any{"role": map[string]any{"roleName": "app", "arn": roleARN}}
	cr.RoleARN = roleARN

	gci := base("GetCallerIdentity", audit.SourceSTS)
	gci.UserIdentity = &audit.UserIdentity{Type: audit.IdentityUnknown}
	gci.ErrorCode = "SignatureDoesNotMatch"
	gci.ErrorMessage = "The request signature we calculated does not match the signature you provided."
	gci.RequestParameters = nil

	return map[string]*audit.Event{
		"arwwi_success":       ok,
		"arwwi_access_denied": deny,
		"assume_role":         ar,
		"iam_create_role":     cr,
		"bad_signature":       gci,
	}
}

func TestEventGolden(t *testing.T) {
	for name, e := range events() {
		t.Run(name, func(t *testing.T) {
			rec, err := e.Record()
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range secrets {
				if bytes.Contains(rec.Event, []byte(s)) {
					t.Errorf("the event holds the secret %q", s)
				}
			}
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, rec.Event, "", "  "); err != nil {
				t.Fatal(err)
			}
			pretty.WriteByte('\n')
			path := filepath.Join("testdata", "events", name+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if d := cmp.Diff(string(want), pretty.String()); d != "" {
				t.Errorf("event (-want +got):\n%s", d)
			}

			// The same event encodes to the same bytes, and decodes back.
			again, err := e.Encode()
			if err != nil || !bytes.Equal(again, rec.Event) {
				t.Errorf("second Encode differs: %s", again)
			}
			var back audit.Event
			if err := json.Unmarshal(rec.Event, &back); err != nil {
				t.Fatal(err)
			}
			if !back.EventTime.Equal(e.EventTime.Truncate(time.Second)) || back.EventName != e.EventName {
				t.Errorf("decoded event has time %v name %q", back.EventTime, back.EventName)
			}
		})
	}
}

func TestEventRecordIndex(t *testing.T) {
	evs := events()
	got := map[string]store.AuditRecord{}
	for name, e := range evs {
		r, err := e.Record()
		if err != nil {
			t.Fatal(err)
		}
		r.Event = nil
		got[name] = r
	}
	at := time.Date(2026, 11, 20, 10, 11, 12, 0, time.UTC)
	rec := func(name, source, code, principal, role string) store.AuditRecord {
		return store.AuditRecord{EventTime: at, EventSource: source, EventName: name, ErrorCode: code,
			SourceIP: "10.1.2.3", AccountID: "000000000000", Principal: principal, RoleARN: role}
	}
	want := map[string]store.AuditRecord{
		"arwwi_success":       rec("AssumeRoleWithWebIdentity", audit.SourceSTS, "", identity.Subject, roleARN),
		"arwwi_access_denied": rec("AssumeRoleWithWebIdentity", audit.SourceSTS, "AccessDenied", identity.Subject, roleARN),
		"assume_role":         rec("AssumeRole", audit.SourceSTS, "", "arn:aws:iam::000000000000:root", roleARN),
		"iam_create_role":     rec("CreateRole", audit.SourceIAM, "", "arn:aws:sts::000000000000:assumed-role/admin/ops", roleARN),
		"bad_signature":       rec("GetCallerIdentity", audit.SourceSTS, "SignatureDoesNotMatch", "", ""),
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("index fields (-want +got):\n%s", d)
	}
}

func TestEncodeDefaults(t *testing.T) {
	e := &audit.Event{EventTime: t0, EventSource: audit.SourceSTS, EventName: "GetCallerIdentity"}
	b, err := e.Encode()
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	id, _ := m["eventID"].(string)
	if len(id) != 36 || id[14] != '4' {
		t.Errorf("eventID = %q, want a random UUID", id)
	}
	delete(m, "eventID")
	want := map[string]any{"eventVersion": "1.08", "eventTime": "2026-11-20T10:00:00Z", "eventSource": "sts.amazonaws.com",
		"eventName": "GetCallerIdentity", "requestParameters": nil, "responseElements": nil, "readOnly": false,
		"eventType": "AwsApiCall", "managementEvent": true, "eventCategory": "Management"}
	if d := cmp.Diff(want, m); d != "" {
		t.Errorf("defaults (-want +got):\n%s", d)
	}
	for _, bad := range []*audit.Event{
		{EventSource: audit.SourceSTS, EventName: "X"},
		{EventTime: t0, EventName: "X"},
		{EventTime: t0, EventSource: audit.SourceSTS},
	} {
		if _, err := bad.Encode(); err == nil {
			t.Errorf("Encode(%+v) succeeded", bad)
		}
	}
}

func TestRedact(t *testing.T) {
	for _, tc := range []struct {
		name     string
		params   url.Values
		want     map[string]any
		wantHash string
	}{
		{"empty", url.Values{}, map[string]any{}, ""},
		{"arwwi", arwwiParams(), map[string]any{
			"roleArn": roleARN, "roleSessionName": "s1", "durationSeconds": int64(3600),
			"policy":     `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`,
			"policyArns": []any{map[string]any{"arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}, map[string]any{"arn": "arn:aws:iam::000000000000:policy/p"}},
		}, hashOf(token[:strings.LastIndexByte(token, '.')])},
		{"secrets of every kind", url.Values{
			"SAMLAssertion": {"PHNhbWw+"}, "SessionToken": {sessionToken}, "SecretAccessKey": {secretKey},
			"Password": {"hunter2"}, "NewPassword": {"hunter2"}, "OldPassword": {"hunter2"}, "TokenCode": {"123456"},
			"X-Amz-Credential": {"AKIA/x"}, "X-Amz-Security-Token": {sessionToken}, "x-amz-signature": {"s"},
			"ProvidedContexts.member.1.ContextAssertion": {"secret"}, "UserName": {"bob"},
		}, map[string]any{"userName": "bob"}, ""},
		{"lists", url.Values{
			"ClientIDList.member.2": {"b"}, "ClientIDList.member.1": {"a"},
			"Tags.member.1.Key": {"k"}, "Tags.member.1.Value": {"v"},
			"Tags.member.2.Key": {"k2"},
		}, map[string]any{
			"clientIDList": []any{"a", "b"},
			"tags":         []any{map[string]any{"key": "k", "value": "v"}, map[string]any{"key": "k2"}},
		}, ""},
		{"a token that is not a JWS is hashed whole", url.Values{"WebIdentityToken": {"opaque"}}, map[string]any{}, hashOf("opaque")},
		{"bad member indexes are dropped", url.Values{"A.member.0": {"x"}, "B.member.x": {"y"}, "C.member.2000": {"z"}}, map[string]any{}, ""},
		{"numbers only where CloudTrail has them", url.Values{"DurationSeconds": {"abc"}, "RoleName": {"123"}, "MaxItems": {"10"}},
			map[string]any{"durationSeconds": "abc", "roleName": "123", "maxItems": int64(10)}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, hash := audit.Redact(tc.params)
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("requestParameters (-want +got):\n%s", d)
			}
			if hash != tc.wantHash {
				t.Errorf("tokenHash = %q, want %q", hash, tc.wantHash)
			}
		})
	}
}

func hashOf(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func TestIsReadOnly(t *testing.T) {
	for _, tc := range []struct {
		source, action string
		want           bool
	}{
		{audit.SourceSTS, "AssumeRoleWithWebIdentity", true},
		{audit.SourceSTS, "GetCallerIdentity", true},
		{audit.SourceIAM, "GetRole", true},
		{audit.SourceIAM, "ListRoles", true},
		{audit.SourceIAM, "SimulatePrincipalPolicy", true},
		{audit.SourceIAM, "CreateRole", false},
		{audit.SourceIAM, "DeleteRole", false},
	} {
		if got := audit.IsReadOnly(tc.source, tc.action); got != tc.want {
			t.Errorf("IsReadOnly(%s, %s) = %v", tc.source, tc.action, got)
		}
	}
}

func TestParseRecord(t *testing.T) {
	// A record as AWS writes it for EKS (shape of CloudTrail's published
	// examples, values invented), spread over lines.
	raw := []byte(`{
	  "eventVersion": "1.08",
	  "userIdentity": {
	    "type": "WebIdentityUser",
	    "principalId": "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/EXAMPLE:sts.amazonaws.com:system:serviceaccount:default:my-sa",
	    "userName": "system:serviceaccount:default:my-sa",
	    "identityProvider": "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/EXAMPLE"
	  },
	  "eventTime": "2024-05-06T07:08:09Z",
	  "eventSource": "sts.amazonaws.com",
	  "eventName": "AssumeRoleWithWebIdentity",
	  "awsRegion": "us-west-2",
	  "sourceIPAddress": "192.0.2.10",
	  "requestParameters": {"roleArn": "arn:aws:iam::111122223333:role/my-role", "roleSessionName": "botocore-session-1"},
	  "recipientAccountId": "111122223333"
	}`)
	got, err := audit.ParseRecord(raw)
	if err != nil {
		t.Fatal(err)
	}
	var compact bytes.Buffer
	_ = json.Compact(&compact, raw)
	want := store.AuditRecord{
		Event: compact.Bytes(), EventTime: time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC),
		EventSource: "sts.amazonaws.com", EventName: "AssumeRoleWithWebIdentity", SourceIP: "192.0.2.10",
		AccountID: "111122223333", Principal: "system:serviceaccount:default:my-sa", RoleARN: "arn:aws:iam::111122223333:role/my-role",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ParseRecord (-want +got):\n%s", d)
	}
	for _, bad := range []string{`{`, `{"eventSource":"s","eventName":"n"}`, `{"eventTime":"2024-05-06T07:08:09Z"}`} {
		if _, err := audit.ParseRecord([]byte(bad)); err == nil {
			t.Errorf("ParseRecord(%s) succeeded", bad)
		}
	}
}

func TestNewEventID(t *testing.T) {
	id, err := audit.NewEventID(bytes.NewReader(make([]byte, 16)))
	if err != nil {
		t.Fatal(err)
	}
	if id != "00000000-0000-4000-8000-000000000000" {
		t.Errorf("NewEventID(zeros) = %q", id)
	}
	if _, err := audit.NewEventID(bytes.NewReader(nil)); err == nil {
		t.Error("NewEventID from an empty reader succeeded")
	}
}

// BenchmarkEventRecord is the encoding of a successful
// AssumeRoleWithWebIdentity event, on the path of every call.
func BenchmarkEventRecord(b *testing.B) {
	e := events()["arwwi_success"]
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Record(); err != nil {
			b.Fatal(err)
		}
	}
}
