package audit_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/irsa-dev/irsa/internal/audit"
)

const (
	roleA = "arn:aws:iam::000000000000:role/app"
	roleB = "arn:aws:iam::000000000000:role/batch"
)

var (
	unusedNow   = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	unusedSince = unusedNow.Add(-90 * 24 * time.Hour)
	longAgo     = unusedSince.Add(-24 * time.Hour)
)

// assumeEvent is an AssumeRoleWithWebIdentity of role at t.
func assumeEvent(role string, t time.Time, code string) audit.Event {
	return audit.Event{
		EventTime: t, EventSource: audit.SourceSTS, EventName: "AssumeRoleWithWebIdentity", ErrorCode: code,
		UserIdentity:      &audit.UserIdentity{Type: audit.IdentityWebIdentityUser, UserName: "system:serviceaccount:ns:sa"},
		RequestParameters: map[string]any{"roleArn": role, "roleSessionName": "s"},
	}
}

// sessionEvent is a call by a session of role at t.
func sessionEvent(role, source, name string, t time.Time, code string) audit.Event {
	return audit.Event{
		EventTime: t, EventSource: source, EventName: name, ErrorCode: code,
		UserIdentity: &audit.UserIdentity{
			Type: audit.IdentityAssumedRole, ARN: "arn:aws:sts::000000000000:assumed-role/x/s",
			SessionContext: &audit.SessionContext{SessionIssuer: &audit.SessionIssuer{Type: "Role", ARN: role}},
		},
	}
}

func suggest(actions ...string) *audit.PolicyDocument {
	return &audit.PolicyDocument{Version: "2012-10-17", Statement: []audit.PolicyStatement{{Effect: "Allow", Action: actions, Resource: "*"}}}
}

func TestUnused(t *testing.T) {
	in := unusedNow.Add(-24 * time.Hour) // inside the window
	out := unusedSince.Add(-time.Hour)   // before it
	s3 := "s3.amazonaws.com"
	tests := []struct {
		name   string
		roles  []audit.RoleGrants
		events []audit.Event
		want   []audit.Finding
	}{{
		name:  "no events: unused, every pattern unused",
		roles: []audit.RoleGrants{{ARN: roleA, Created: longAgo, Actions: []string{"s3:Get*", "iam:*", "s3:get*"}}},
		want: []audit.Finding{{RoleARN: roleA, RoleCreated: longAgo, Status: audit.StatusUnused,
			UsedActions: []string{}, UnusedActions: []string{"iam:*", "s3:Get*"}}},
	}, {
		name:  "events before the window or after now do not count",
		roles: []audit.RoleGrants{{ARN: roleA, Created: longAgo, Actions: []string{"s3:*"}}},
		events: []audit.Event{
			assumeEvent(roleA, out, ""),
			sessionEvent(roleA, s3, "GetObject", out, ""),
			sessionEvent(roleA, s3, "GetObject", unusedNow.Add(time.Second), ""),
		},
		want: []audit.Finding{{RoleARN: roleA, RoleCreated: longAgo, Status: audit.StatusUnused,
			UsedActions: []string{}, UnusedActions: []string{"s3:*"}}},
	}, {
		name:   "a refused assumption is not a use",
		roles:  []audit.RoleGrants{{ARN: roleA, Created: longAgo, Actions: []string{"s3:*"}}},
		events: []audit.Event{assumeEvent(roleA, in, "AccessDenied")},
		want: []audit.Finding{{RoleARN: roleA, RoleCreated: longAgo, Status: audit.StatusUnused,
			UsedActions: []string{}, UnusedActions: []string{"s3:*"}}},
	}, {
		name:   "assumed (role ARN case-insensitive) but no calls: used, no suggestion",
		roles:  []audit.RoleGrants{{ARN: roleA, Created: longAgo, Actions: []string{"s3:*"}}},
		events: []audit.Event{assumeEvent("arn:aws:iam::000000000000:role/APP", in, "")},
		want: []audit.Finding{{RoleARN: roleA, RoleCreated: longAgo, Status: audit.StatusUsed, LastUsed: in,
			UsedActions: []string{}, UnusedActions: []string{"s3:*"}}},
	}, {
		name:  "session calls: used actions, unused patterns, suggestion",
		roles: []audit.RoleGrants{{ARN: roleA, Created: longAgo, Actions: []string{"s3:Get*", "s3:PutObject", "dynamodb:*", "iam:*"}}},
		events: []audit.Event{
			sessionEvent(roleA, s3, "GetObject", in, ""),
			sessionEvent(roleA, s3, "getobject", in, ""),                       // same action, other case
			sessionEvent(roleA, s3, "HeadObject", in, ""),                      // is s3:GetObject
			sessionEvent(roleA, s3, "GetBucketTagging", in.Add(time.Hour), ""), // s3:Get*
			sessionEvent(roleA, "dynamodb.amazonaws.com", "Query", in, "ResourceNotFoundException"),
			sessionEvent(roleA, s3, "PutObject", in, "AccessDenied"),              // refused: not a use
			sessionEvent(roleA, "sts.amazonaws.com", "GetCallerIdentity", in, ""), // granted by no pattern
			sessionEvent(roleB, s3, "PutObject", in, ""),                          // another role
		},
		want: []audit.Finding{{RoleARN: roleA, RoleCreated: longAgo, Status: audit.StatusUsed, LastUsed: in.Add(time.Hour),
			UsedActions:     []string{"dynamodb:Query", "s3:GetBucketTagging", "s3:GetObject"},
			UnusedActions:   []string{"iam:*", "s3:PutObject"},
			SuggestedPolicy: suggest("dynamodb:Query", "s3:GetBucketTagging", "s3:GetObject")}},
	}, {
		name:  "a pattern matched only by a denied call stays unused; mixed-case patterns match",
		roles: []audit.RoleGrants{{ARN: roleA, Created: longAgo, Actions: []string{"S3:getObject", "s3:DeleteObject"}}},
		events: []audit.Event{
			sessionEvent(roleA, s3, "GetObject", in, ""),
			sessionEvent(roleA, s3, "DeleteObjects", in, "AccessDeniedException"),
		},
		want: []audit.Finding{{RoleARN: roleA, RoleCreated: longAgo, Status: audit.StatusUsed, LastUsed: in,
			UsedActions: []string{"s3:GetObject"}, UnusedActions: []string{"s3:DeleteObject"},
			SuggestedPolicy: suggest("s3:GetObject")}},
	}, {
		name: "a role created during the window is not judged; findings sorted by ARN",
		roles: []audit.RoleGrants{
			{ARN: roleB, Created: in, Actions: []string{"s3:*"}},
			{ARN: roleA, Created: unusedSince, Actions: []string{"s3:*"}, Notes: []string{"n"}},
		},
		events: []audit.Event{sessionEvent(roleB, s3, "ListObjectsV2", in, "")},
		want: []audit.Finding{
			{RoleARN: roleA, RoleCreated: unusedSince, Status: audit.StatusUnused,
				UsedActions: []string{}, UnusedActions: []string{"s3:*"}, Notes: []string{"n"}},
			{RoleARN: roleB, RoleCreated: in, Status: audit.StatusTooNew, LastUsed: in,
				UsedActions: []string{"s3:ListBucket"}, UnusedActions: []string{}},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := audit.Unused(tt.roles, tt.events, unusedSince, unusedNow)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Unused (-want +got):\n%s", diff)
			}
		})
	}
}

func TestActionOf(t *testing.T) {
	tests := []struct{ source, name, want string }{
		{"s3.amazonaws.com", "GetObject", "s3:GetObject"},
		{"s3.amazonaws.com", "ListObjects", "s3:ListBucket"},
		{"dynamodb.amazonaws.com", "PutItem", "dynamodb:PutItem"},
		{"lambda.amazonaws.com", "GetFunction20150331v2", "lambda:GetFunction"},
		{"lambda.amazonaws.com", "Invoke", "lambda:Invoke"},
		{"monitoring.amazonaws.com", "PutMetricData", "cloudwatch:PutMetricData"},
		{"sts.amazonaws.com", "AssumeRole", "sts:AssumeRole"},
		{"signin.example.com", "Login", ""},
		{"s3.amazonaws.com", "", ""},
	}
	for _, tt := range tests {
		if got := audit.ActionOf(tt.source, tt.name); got != tt.want {
			t.Errorf("ActionOf(%q, %q) = %q, want %q", tt.source, tt.name, got, tt.want)
		}
	}
}
