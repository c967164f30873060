package policy_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/irsa-dev/irsa/internal/policy"
)

// What Explain must say, as the lead specified it:
//   - MatchedStatements: every statement whose Principal, Action, Resource
//     and Condition all matched, named by policy type, policy name, index
//     (0-based position in the policy), Sid and Effect.
//   - an explicit deny names the Deny statement that matched;
//   - an implicit deny reports, for each Allow statement of the policy types
//     that failed to allow, the first element that failed, checked in the
//     order Principal, Action, Resource, Condition (for a condition: the first
//     failing one), with the policy's values as Expected and the request's as
//     Actual; statements that failed on Action come after those that got
//     further;
//   - a policy type that has no allowing statement gets a reason of its own
//     saying so.
// Message wording is free: only a few key words are checked.

// exRef is a StatementRef literal in short form.
func exRef(policyType, name string, index int, sid, effect string) policy.StatementRef {
	return policy.StatementRef{PolicyType: policyType, PolicyName: name, Index: index, Sid: sid, Effect: effect}
}

// exElementReasons returns the reasons that name a failed element; the
// others are about whole policy types or about allowing and denying
// statements.
func exElementReasons(r *policy.Result) []policy.Reason {
	var out []policy.Reason
	for _, reason := range r.Explanation {
		if reason.Element != "" {
			out = append(out, reason)
		}
	}
	return out
}

// exIgnoreMessage compares reasons without their free-form Message, and
// treats nil and empty value lists alike.
var exIgnoreMessage = cmp.Options{
	cmpopts.IgnoreFields(policy.Reason{}, "Message"),
	cmpopts.EquateEmpty(),
}

// exSortRefs orders statement references for comparisons that must not
// depend on the order in which policy types are evaluated.
var exSortRefs = cmpopts.SortSlices(func(a, b policy.StatementRef) bool {
	return fmt.Sprint(a) < fmt.Sprint(b)
})

// exContainsAll reports whether s contains every word, ignoring case.
func exContainsAll(s string, words ...string) bool {
	s = strings.ToLower(s)
	for _, w := range words {
		if !strings.Contains(s, strings.ToLower(w)) {
			return false
		}
	}
	return true
}

func exExplain(t *testing.T, set *policy.Set, req policy.Request, want policy.Decision) *policy.Result {
	t.Helper()
	res := policy.Explain(set, &req)
	if res == nil {
		t.Fatalf("Explain returned nil")
	}
	if res.Decision != want {
		t.Errorf("Explain().Decision = %s, want %s\nexplanation: %+v", res.Decision, want, res.Explanation)
	}
	if got := policy.Evaluate(set, &req); got != want {
		t.Errorf("Evaluate = %s, want %s", got, want)
	}
	for i, r := range res.Explanation {
		if strings.TrimSpace(r.Message) == "" {
			t.Errorf("Explanation[%d] has an empty Message: %+v", i, r)
		}
	}
	return res
}

// exPolicyTypeReason checks that some reason about policyType says that no
// statement of it allowed the request.
func exPolicyTypeReason(t *testing.T, res *policy.Result, policyType string) {
	t.Helper()
	for _, r := range res.Explanation {
		if r.PolicyType == policyType && exContainsAll(r.Message, "no", "allow") {
			return
		}
	}
	t.Errorf("no reason with PolicyType %q saying no statement allowed; explanation:\n%s", policyType, exDump(res))
}

func exDump(res *policy.Result) string {
	var b strings.Builder
	for _, r := range res.Explanation {
		fmt.Fprintf(&b, "  %+v\n", r)
	}
	return b.String()
}

const exQueue = "arn:aws:sqs:us-east-1:111111111111:orders"

func exSend(principal string) policy.Request {
	return policy.Request{Action: "sqs:SendMessage", Resource: exQueue, Principal: principal}
}

func TestExplainAllowedListsMatchedStatements(t *testing.T) {
	app := evParse(t, "app-inline", policy.KindIdentity, `{
		"Version": "2012-10-17",
		"Statement": [
			{"Sid": "ReadQueue", "Effect": "Allow", "Action": "sqs:ReceiveMessage", "Resource": "*"},
			{"Sid": "SendOrders", "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "arn:aws:sqs:us-east-1:111111111111:orders"},
			{"Effect": "Allow", "Action": "sqs:Send*", "Resource": "*"},
			{"Sid": "NoS3", "Effect": "Deny", "Action": "s3:*", "Resource": "*"}
		]
	}`)
	res := exExplain(t, &policy.Set{Identity: []*policy.Policy{app}}, exSend(evUser), policy.Allowed)
	want := []policy.StatementRef{
		exRef("identity", "app-inline", 1, "SendOrders", "Allow"),
		exRef("identity", "app-inline", 2, "", "Allow"),
	}
	if diff := cmp.Diff(want, res.MatchedStatements); diff != "" {
		t.Errorf("MatchedStatements (-want +got):\n%s", diff)
	}
	exAllowExplanation(t, res)
}

// exAllowExplanation: an allowed decision is explained by the statements
// that allowed it and by nothing that failed.
func exAllowExplanation(t *testing.T, res *policy.Result) {
	t.Helper()
	if len(res.Explanation) == 0 {
		t.Errorf("allowed decision has an empty Explanation")
	}
	matched := map[policy.StatementRef]bool{}
	for _, m := range res.MatchedStatements {
		matched[m] = true
	}
	for _, r := range res.Explanation {
		if r.Element != "" {
			t.Errorf("allowed decision explains a failed element: %+v", r)
		}
		if r.Effect != "" && !matched[r.StatementRef] {
			t.Errorf("allowed decision cites a statement that did not match: %+v", r)
		}
	}
}

func TestExplainAllowedAcrossPolicyTypes(t *testing.T) {
	inline := evParse(t, "inline", policy.KindIdentity, evDoc(
		`{"Sid":"S3","Effect":"Allow","Action":"s3:*","Resource":"*"}`))
	managed := evParse(t, "QueueWriter", policy.KindManaged, evDoc(
		`{"Sid":"Other","Effect":"Allow","Action":"sqs:ReceiveMessage","Resource":"*"}`,
		`{"Sid":"Send","Effect":"Allow","Action":"sqs:SendMessage","Resource":"*"}`))
	boundary := evParse(t, "guardrail", policy.KindBoundary, evDoc(
		`{"Sid":"SQS","Effect":"Allow","Action":"sqs:*","Resource":"*"}`))
	sessInline := evParse(t, "session-inline", policy.KindSession, evDoc(
		`{"Sid":"OnlyS3","Effect":"Allow","Action":"s3:GetObject","Resource":"*"}`))
	sessManaged := evParse(t, "session-arn", policy.KindSession, evDoc(
		`{"Effect":"Allow","Action":"s3:*","Resource":"*"}`,
		`{"Sid":"Queue","Effect":"Allow","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:*:*:orders"}`))
	root := evParse(t, "FullAWSAccess", policy.KindSCP, evDoc(`{"Effect":"Allow","Action":"*","Resource":"*"}`))
	ou := evParse(t, "ou-sqs", policy.KindSCP, evDoc(`{"Sid":"SQSOnly","Effect":"Allow","Action":"sqs:*","Resource":"*"}`))

	set := &policy.Set{
		Identity: []*policy.Policy{inline, managed},
		Boundary: boundary,
		Session:  []*policy.Policy{sessInline, sessManaged},
		SCPs:     [][]*policy.Policy{{root}, {ou}},
	}
	res := exExplain(t, set, exSend(evSession), policy.Allowed)
	want := []policy.StatementRef{
		exRef("identity", "QueueWriter", 1, "Send", "Allow"),
		exRef("boundary", "guardrail", 0, "SQS", "Allow"),
		exRef("session", "session-arn", 1, "Queue", "Allow"),
		exRef("scp", "FullAWSAccess", 0, "", "Allow"),
		exRef("scp", "ou-sqs", 0, "SQSOnly", "Allow"),
	}
	// "In evaluation order" is not pinned across policy types here, only the
	// set of statements.
	if diff := cmp.Diff(want, res.MatchedStatements, exSortRefs); diff != "" {
		t.Errorf("MatchedStatements (-want +got):\n%s", diff)
	}
	exAllowExplanation(t, res)
}

func TestExplainAllowedByResourcePolicy(t *testing.T) {
	queue := evParse(t, "orders-queue", policy.KindResource, evDoc(
		fmt.Sprintf(`{"Sid":"Caller","Effect":"Allow","Principal":{"AWS":%q},"Action":"sqs:SendMessage","Resource":%q}`, evSession, exQueue)))
	res := exExplain(t, &policy.Set{Resource: queue}, exSend(evSession), policy.Allowed)
	want := []policy.StatementRef{exRef("resource", "orders-queue", 0, "Caller", "Allow")}
	if diff := cmp.Diff(want, res.MatchedStatements); diff != "" {
		t.Errorf("MatchedStatements (-want +got):\n%s", diff)
	}
	exAllowExplanation(t, res)
}

func TestExplainExplicitDeny(t *testing.T) {
	idAllow := evParse(t, "app", policy.KindIdentity, evDoc(`{"Sid":"All","Effect":"Allow","Action":"*","Resource":"*"}`))
	tests := []struct {
		name string
		set  *policy.Set
		deny policy.StatementRef
	}{
		{
			name: "identity",
			set: &policy.Set{Identity: []*policy.Policy{evParse(t, "app", policy.KindIdentity, evDoc(
				`{"Sid":"S3","Effect":"Allow","Action":"s3:*","Resource":"*"}`,
				`{"Sid":"NoSend","Effect":"Deny","Action":"sqs:Send*","Resource":"*"}`))}},
			deny: exRef("identity", "app", 1, "NoSend", "Deny"),
		},
		{
			name: "boundary",
			set: &policy.Set{Identity: []*policy.Policy{idAllow}, Boundary: evParse(t, "guardrail", policy.KindBoundary, evDoc(
				`{"Sid":"Everything","Effect":"Allow","Action":"*","Resource":"*"}`,
				`{"Sid":"NoSQS","Effect":"Deny","Action":"sqs:*","Resource":"*"}`))},
			deny: exRef("boundary", "guardrail", 1, "NoSQS", "Deny"),
		},
		{
			name: "scp at the second level",
			set: &policy.Set{Identity: []*policy.Policy{idAllow}, SCPs: [][]*policy.Policy{
				{evParse(t, "FullAWSAccess", policy.KindSCP, evDoc(`{"Effect":"Allow","Action":"*","Resource":"*"}`))},
				{evParse(t, "FullAWSAccess", policy.KindSCP, evDoc(`{"Effect":"Allow","Action":"*","Resource":"*"}`)),
					evParse(t, "deny-sqs", policy.KindSCP, evDoc(`{"Sid":"DenySQS","Effect":"Deny","Action":"sqs:SendMessage","Resource":"*"}`))},
			}},
			deny: exRef("scp", "deny-sqs", 0, "DenySQS", "Deny"),
		},
		{
			name: "resource policy",
			set: &policy.Set{Identity: []*policy.Policy{idAllow}, Resource: evParse(t, "orders-queue", policy.KindResource, evDoc(
				fmt.Sprintf(`{"Sid":"Lockdown","Effect":"Deny","Principal":"*","Action":"sqs:*","Resource":%q}`, exQueue)))},
			deny: exRef("resource", "orders-queue", 0, "Lockdown", "Deny"),
		},
		{
			name: "second session policy",
			set: &policy.Set{Identity: []*policy.Policy{idAllow}, Session: []*policy.Policy{
				evParse(t, "Policy", policy.KindSession, evDoc(`{"Effect":"Allow","Action":"*","Resource":"*"}`)),
				evParse(t, "PolicyArns[0]", policy.KindSession, evDoc(`{"Effect":"Allow","Action":"s3:*","Resource":"*"}`, `{"Effect":"Deny","Action":"sqs:*","Resource":"*"}`)),
			}},
			deny: exRef("session", "PolicyArns[0]", 1, "", "Deny"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := exExplain(t, tt.set, exSend(evSession), policy.ExplicitDeny)
			found := false
			for _, m := range res.MatchedStatements {
				if m == tt.deny {
					found = true
				}
			}
			if !found {
				t.Errorf("MatchedStatements %+v lack the deny %+v", res.MatchedStatements, tt.deny)
			}
			named := false
			for _, r := range res.Explanation {
				if r.StatementRef == tt.deny {
					named = true
					if !exContainsAll(r.Message, "explicit") || !(exContainsAll(r.Message, "deny") || exContainsAll(r.Message, "denied")) {
						t.Errorf("reason for the deny does not say it is an explicit deny: %q", r.Message)
					}
				}
			}
			if !named {
				t.Errorf("no reason names the deny %+v; explanation:\n%s", tt.deny, exDump(res))
			}
			if got := exElementReasons(res); len(got) != 0 {
				t.Errorf("an explicit deny reports failed elements: %+v", got)
			}
		})
	}
}

// TestExplainIRSATrustCondition is the case the README shows: a service
// account from the wrong namespace.
func TestExplainIRSATrustCondition(t *testing.T) {
	const sub = "oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:sub"
	const aud = "oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:aud"
	trust := evParse(t, "s3-reader-trust", policy.KindTrust, `{
		"Version": "2012-10-17",
		"Statement": [{
			"Effect": "Allow",
			"Principal": {"Federated": "arn:aws:iam::111111111111:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"},
			"Action": "sts:AssumeRoleWithWebIdentity",
			"Condition": {
				"StringEquals": {
					"oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:sub": "system:serviceaccount:production:s3-reader",
					"oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:aud": "sts.amazonaws.com"
				}
			}
		}]
	}`)
	tests := []struct {
		name   string
		subKey string // the context key as the request spells it
	}{
		{"key spelled as in the policy", sub},
		{"key spelled in another case", strings.ToUpper(sub)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := policy.Request{
				Action:    "sts:AssumeRoleWithWebIdentity",
				Resource:  "arn:aws:iam::111111111111:role/s3-reader",
				Principal: "arn:aws:iam::111111111111:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE",
				Context:   evCtx(tt.subKey, "system:serviceaccount:staging:s3-reader", aud, "sts.amazonaws.com"),
			}
			res := exExplain(t, &policy.Set{Resource: trust}, req, policy.ImplicitDeny)
			want := []policy.Reason{{
				StatementRef: exRef("trust", "s3-reader-trust", 0, "", "Allow"),
				Element:      "Condition",
				Operator:     "StringEquals",
				Key:          sub, // as written in the policy
				Expected:     []string{"system:serviceaccount:production:s3-reader"},
				Actual:       []string{"system:serviceaccount:staging:s3-reader"},
			}}
			if diff := cmp.Diff(want, exElementReasons(res), exIgnoreMessage); diff != "" {
				t.Errorf("element reasons (-want +got):\n%s", diff)
			}
			if len(res.MatchedStatements) != 0 {
				t.Errorf("MatchedStatements = %+v, want none", res.MatchedStatements)
			}
			exPolicyTypeReason(t, res, "trust")
		})
	}
}

func TestExplainActionMismatch(t *testing.T) {
	ops := evParse(t, "ops", policy.KindIdentity, evDoc(
		`{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"*"}`))
	res := exExplain(t, &policy.Set{Identity: []*policy.Policy{ops}}, exSend(evUser), policy.ImplicitDeny)
	want := []policy.Reason{{
		StatementRef: exRef("identity", "ops", 0, "", "Allow"),
		Element:      "Action",
		Expected:     []string{"s3:GetObject", "s3:PutObject"},
		Actual:       []string{"sqs:SendMessage"},
	}}
	if diff := cmp.Diff(want, exElementReasons(res), exIgnoreMessage); diff != "" {
		t.Errorf("element reasons (-want +got):\n%s", diff)
	}
}

func TestExplainNotActionMismatch(t *testing.T) {
	p := evParse(t, "all-but-send", policy.KindIdentity, evDoc(
		`{"Sid":"NotSend","Effect":"Allow","NotAction":["sqs:SendMessage","sqs:DeleteQueue"],"Resource":"*"}`))
	res := exExplain(t, &policy.Set{Identity: []*policy.Policy{p}}, exSend(evUser), policy.ImplicitDeny)
	want := []policy.Reason{{
		StatementRef: exRef("identity", "all-but-send", 0, "NotSend", "Allow"),
		Element:      "NotAction",
		Expected:     []string{"sqs:SendMessage", "sqs:DeleteQueue"},
		Actual:       []string{"sqs:SendMessage"},
	}}
	if diff := cmp.Diff(want, exElementReasons(res), exIgnoreMessage); diff != "" {
		t.Errorf("element reasons (-want +got):\n%s", diff)
	}
}

func TestExplainResourceMismatch(t *testing.T) {
	p := evParse(t, "other-queues", policy.KindIdentity, evDoc(
		`{"Sid":"Queues","Effect":"Allow","Action":"sqs:*","Resource":["arn:aws:sqs:us-east-1:111111111111:invoices","arn:aws:sqs:us-west-2:111111111111:orders"]}`))
	res := exExplain(t, &policy.Set{Identity: []*policy.Policy{p}}, exSend(evUser), policy.ImplicitDeny)
	want := []policy.Reason{{
		StatementRef: exRef("identity", "other-queues", 0, "Queues", "Allow"),
		Element:      "Resource",
		Expected:     []string{"arn:aws:sqs:us-east-1:111111111111:invoices", "arn:aws:sqs:us-west-2:111111111111:orders"},
		Actual:       []string{exQueue},
	}}
	if diff := cmp.Diff(want, exElementReasons(res), exIgnoreMessage); diff != "" {
		t.Errorf("element reasons (-want +got):\n%s", diff)
	}
}

func TestExplainMissingKey(t *testing.T) {
	p := evParse(t, "team-only", policy.KindIdentity, evDoc(
		`{"Sid":"Team","Effect":"Allow","Action":"sqs:*","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"payments"}}}`))
	req := exSend(evUser)
	req.Context = evCtx("aws:RequestedRegion", "us-east-1") // some other key is present
	res := exExplain(t, &policy.Set{Identity: []*policy.Policy{p}}, req, policy.ImplicitDeny)
	want := []policy.Reason{{
		StatementRef: exRef("identity", "team-only", 0, "Team", "Allow"),
		Element:      "Condition",
		Operator:     "StringEquals",
		Key:          "aws:PrincipalTag/team",
		Expected:     []string{"payments"},
		Actual:       nil,
	}}
	got := exElementReasons(res)
	if diff := cmp.Diff(want, got, exIgnoreMessage); diff != "" {
		t.Errorf("element reasons (-want +got):\n%s", diff)
	}
	for _, r := range got {
		if !exContainsAll(r.Message, "not present") {
			t.Errorf("Message %q does not say the key is not present", r.Message)
		}
	}
}

// TestExplainClosestStatements: every Allow statement of the failing type is
// reported once, with its first failing element; those that failed on
// Action come last; Deny statements that did not match are not failures.
func TestExplainClosestStatements(t *testing.T) {
	p := evParse(t, "mixed", policy.KindIdentity, `{
		"Version": "2012-10-17",
		"Statement": [
			{"Sid": "WrongAction", "Effect": "Allow", "Action": "sqs:ReceiveMessage", "Resource": "arn:aws:sqs:us-east-1:111111111111:other"},
			{"Sid": "WrongTag", "Effect": "Allow", "Action": "sqs:Send*", "Resource": "arn:aws:sqs:*:111111111111:*",
			 "Condition": {"StringEquals": {"aws:PrincipalTag/stage": "prod", "aws:PrincipalTag/team": "payments"}}},
			{"Sid": "WrongQueue", "Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": "arn:aws:sqs:us-east-1:111111111111:invoices",
			 "Condition": {"StringEquals": {"aws:PrincipalTag/team": "payments"}}},
			{"Sid": "NoDelete", "Effect": "Deny", "Action": "sqs:DeleteQueue", "Resource": "*"}
		]
	}`)
	req := exSend(evUser)
	// Both tags disagree with WrongTag; aws:PrincipalTag/stage comes before
	// aws:PrincipalTag/team in the policy and alphabetically, so it is the
	// first failing condition whichever order the parser keeps.
	req.Context = evCtx("aws:PrincipalTag/team", "search", "aws:PrincipalTag/stage", "dev")
	res := exExplain(t, &policy.Set{Identity: []*policy.Policy{p}}, req, policy.ImplicitDeny)
	want := []policy.Reason{
		{
			StatementRef: exRef("identity", "mixed", 1, "WrongTag", "Allow"),
			Element:      "Condition",
			Operator:     "StringEquals",
			Key:          "aws:PrincipalTag/stage",
			Expected:     []string{"prod"},
			Actual:       []string{"dev"},
		},
		{
			// Resource fails before the (also failing) condition is looked at.
			StatementRef: exRef("identity", "mixed", 2, "WrongQueue", "Allow"),
			Element:      "Resource",
			Expected:     []string{"arn:aws:sqs:us-east-1:111111111111:invoices"},
			Actual:       []string{exQueue},
		},
		{
			// Action fails first although the resource fails too.
			StatementRef: exRef("identity", "mixed", 0, "WrongAction", "Allow"),
			Element:      "Action",
			Expected:     []string{"sqs:ReceiveMessage"},
			Actual:       []string{"sqs:SendMessage"},
		},
	}
	if diff := cmp.Diff(want, exElementReasons(res), exIgnoreMessage); diff != "" {
		t.Errorf("element reasons (-want +got):\n%s", diff)
	}
}

func TestExplainPrincipalMismatch(t *testing.T) {
	queue := evParse(t, "orders-queue", policy.KindResource, evDoc(
		fmt.Sprintf(`{"Sid":"Partner","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::333333333333:role/partner"},"Action":"sqs:SendMessage","Resource":%q}`, exQueue),
		fmt.Sprintf(`{"Sid":"OtherAction","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::333333333333:role/partner"},"Action":"sqs:ReceiveMessage","Resource":%q}`, exQueue)))
	// A caller from another account with an identity allow: only the
	// resource policy fails.
	caller := "arn:aws:iam::222222222222:user/bob"
	id := evParse(t, "bob", policy.KindIdentity, evDoc(`{"Effect":"Allow","Action":"sqs:*","Resource":"*"}`))
	res := exExplain(t, &policy.Set{Identity: []*policy.Policy{id}, Resource: queue}, exSend(caller), policy.ImplicitDeny)
	got := exElementReasons(res)
	// Principal is checked first, so both statements fail on it.
	want := []policy.Reason{
		{StatementRef: exRef("resource", "orders-queue", 0, "Partner", "Allow"), Element: "Principal", Actual: []string{caller}},
		{StatementRef: exRef("resource", "orders-queue", 1, "OtherAction", "Allow"), Element: "Principal", Actual: []string{caller}},
	}
	// Expected is the policy's principal, in whatever notation; check that it
	// names the partner role, and compare the rest exactly.
	for _, r := range got {
		if !strings.Contains(strings.Join(r.Expected, " "), "arn:aws:iam::333333333333:role/partner") {
			t.Errorf("Expected %q does not name the partner role", r.Expected)
		}
	}
	if diff := cmp.Diff(want, got, exIgnoreMessage, cmpopts.IgnoreFields(policy.Reason{}, "Expected")); diff != "" {
		t.Errorf("element reasons (-want +got):\n%s", diff)
	}
	exPolicyTypeReason(t, res, "resource")
}

func TestExplainBoundaryLacksAllow(t *testing.T) {
	app := evParse(t, "app", policy.KindIdentity, evDoc(`{"Sid":"Queue","Effect":"Allow","Action":"sqs:SendMessage","Resource":"*"}`))
	guard := evParse(t, "guardrail", policy.KindBoundary, evDoc(`{"Sid":"OnlyS3","Effect":"Allow","Action":"s3:*","Resource":"*"}`))
	res := exExplain(t, &policy.Set{Identity: []*policy.Policy{app}, Boundary: guard}, exSend(evSession), policy.ImplicitDeny)
	if diff := cmp.Diff([]policy.StatementRef{exRef("identity", "app", 0, "Queue", "Allow")}, res.MatchedStatements); diff != "" {
		t.Errorf("MatchedStatements (-want +got):\n%s", diff)
	}
	want := []policy.Reason{{
		StatementRef: exRef("boundary", "guardrail", 0, "OnlyS3", "Allow"),
		Element:      "Action",
		Expected:     []string{"s3:*"},
		Actual:       []string{"sqs:SendMessage"},
	}}
	if diff := cmp.Diff(want, exElementReasons(res), exIgnoreMessage); diff != "" {
		t.Errorf("element reasons (-want +got):\n%s", diff)
	}
	exPolicyTypeReason(t, res, "boundary")
}

func TestExplainSessionLacksAllow(t *testing.T) {
	app := evParse(t, "app", policy.KindIdentity, evDoc(`{"Sid":"Queue","Effect":"Allow","Action":"sqs:SendMessage","Resource":"*"}`))
	inline := evParse(t, "Policy", policy.KindSession, evDoc(`{"Sid":"Get","Effect":"Allow","Action":"s3:GetObject","Resource":"*"}`))
	managed := evParse(t, "PolicyArns[0]", policy.KindSession, evDoc(`{"Sid":"Receive","Effect":"Allow","Action":"sqs:ReceiveMessage","Resource":"*"}`))
	res := exExplain(t, &policy.Set{Identity: []*policy.Policy{app}, Session: []*policy.Policy{inline, managed}}, exSend(evSession), policy.ImplicitDeny)
	if diff := cmp.Diff([]policy.StatementRef{exRef("identity", "app", 0, "Queue", "Allow")}, res.MatchedStatements); diff != "" {
		t.Errorf("MatchedStatements (-want +got):\n%s", diff)
	}
	want := []policy.Reason{
		{StatementRef: exRef("session", "Policy", 0, "Get", "Allow"), Element: "Action", Expected: []string{"s3:GetObject"}, Actual: []string{"sqs:SendMessage"}},
		{StatementRef: exRef("session", "PolicyArns[0]", 0, "Receive", "Allow"), Element: "Action", Expected: []string{"sqs:ReceiveMessage"}, Actual: []string{"sqs:SendMessage"}},
	}
	if diff := cmp.Diff(want, exElementReasons(res), exIgnoreMessage); diff != "" {
		t.Errorf("element reasons (-want +got):\n%s", diff)
	}
	exPolicyTypeReason(t, res, "session")
}

func TestExplainSCPLacksAllow(t *testing.T) {
	app := evParse(t, "app", policy.KindIdentity, evDoc(`{"Sid":"Queue","Effect":"Allow","Action":"sqs:SendMessage","Resource":"*"}`))
	root := evParse(t, "FullAWSAccess", policy.KindSCP, evDoc(`{"Sid":"All","Effect":"Allow","Action":"*","Resource":"*"}`))
	ou := evParse(t, "ou-s3", policy.KindSCP, evDoc(`{"Sid":"S3","Effect":"Allow","Action":"s3:*","Resource":"*"}`))
	res := exExplain(t, &policy.Set{Identity: []*policy.Policy{app}, SCPs: [][]*policy.Policy{{root}, {ou}}}, exSend(evSession), policy.ImplicitDeny)
	wantMatched := []policy.StatementRef{
		exRef("identity", "app", 0, "Queue", "Allow"),
		exRef("scp", "FullAWSAccess", 0, "All", "Allow"),
	}
	if diff := cmp.Diff(wantMatched, res.MatchedStatements, exSortRefs); diff != "" {
		t.Errorf("MatchedStatements (-want +got):\n%s", diff)
	}
	want := []policy.Reason{{
		StatementRef: exRef("scp", "ou-s3", 0, "S3", "Allow"),
		Element:      "Action",
		Expected:     []string{"s3:*"},
		Actual:       []string{"sqs:SendMessage"},
	}}
	if diff := cmp.Diff(want, exElementReasons(res), exIgnoreMessage); diff != "" {
		t.Errorf("element reasons (-want +got):\n%s", diff)
	}
	exPolicyTypeReason(t, res, "scp")
}

// TestExplainIdentityLacksAllow: with no identity allow and nothing else, the
// identity policies' Allow statements are the closest ones.
func TestExplainIdentityLacksAllow(t *testing.T) {
	a := evParse(t, "a", policy.KindIdentity, evDoc(`{"Sid":"Get","Effect":"Allow","Action":"s3:GetObject","Resource":"*"}`))
	b := evParse(t, "b", policy.KindManaged, evDoc(`{"Sid":"Send","Effect":"Allow","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:*:*:invoices"}`))
	res := exExplain(t, &policy.Set{Identity: []*policy.Policy{a, b}}, exSend(evUser), policy.ImplicitDeny)
	want := []policy.Reason{
		{StatementRef: exRef("identity", "b", 0, "Send", "Allow"), Element: "Resource", Expected: []string{"arn:aws:sqs:*:*:invoices"}, Actual: []string{exQueue}},
		{StatementRef: exRef("identity", "a", 0, "Get", "Allow"), Element: "Action", Expected: []string{"s3:GetObject"}, Actual: []string{"sqs:SendMessage"}},
	}
	if diff := cmp.Diff(want, exElementReasons(res), exIgnoreMessage); diff != "" {
		t.Errorf("element reasons (-want +got):\n%s", diff)
	}
	exPolicyTypeReason(t, res, "identity")
}

// TestExplainTrustNeedsOwnAllow: the identity policy allows sts:AssumeRole,
// but the trust policy names someone else; the explanation blames the trust
// policy's Principal.
func TestExplainTrustNeedsOwnAllow(t *testing.T) {
	const target = "arn:aws:iam::111111111111:role/deployer"
	id := evParse(t, "may-assume", policy.KindIdentity, evDoc(
		`{"Sid":"Assume","Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::111111111111:role/deployer"}`))
	trust := evParse(t, "deployer-trust", policy.KindTrust, evDoc(
		`{"Sid":"Carol","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:user/carol"},"Action":"sts:AssumeRole"}`))
	req := policy.Request{Action: "sts:AssumeRole", Resource: target, Principal: evUser}
	res := exExplain(t, &policy.Set{Identity: []*policy.Policy{id}, Resource: trust}, req, policy.ImplicitDeny)
	if diff := cmp.Diff([]policy.StatementRef{exRef("identity", "may-assume", 0, "Assume", "Allow")}, res.MatchedStatements); diff != "" {
		t.Errorf("MatchedStatements (-want +got):\n%s", diff)
	}
	want := []policy.Reason{{StatementRef: exRef("trust", "deployer-trust", 0, "Carol", "Allow"), Element: "Principal", Actual: []string{evUser}}}
	if diff := cmp.Diff(want, exElementReasons(res), exIgnoreMessage, cmpopts.IgnoreFields(policy.Reason{}, "Expected")); diff != "" {
		t.Errorf("element reasons (-want +got):\n%s", diff)
	}
	for _, r := range exElementReasons(res) {
		if !strings.Contains(strings.Join(r.Expected, " "), "arn:aws:iam::111111111111:user/carol") {
			t.Errorf("Expected %q does not name carol", r.Expected)
		}
	}
	exPolicyTypeReason(t, res, "trust")
}
