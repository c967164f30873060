package policy_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/irsa-dev/irsa/internal/policy"
)

// Condition operator tests. The rows marked with a page name restate, in our
// own words, the example tables AWS publishes in the IAM User Guide:
//
// [ops]      https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
// [single]   https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition_examples-single-valued-context-keys.html
// [multi]    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition_examples-multi-valued-context-keys.html
// [setops]   https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
// [logic]    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-logic-multiple-context-keys-or-values.html
// [archived] awsdocs/iam-user-guide doc_source/reference_policies_multi-value-conditions.md
//            (the DynamoDB requestedAttributes tables of the older page)
// [cond]     https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html
//
// Every condRow is evaluated twice: once as the condition of the only Allow
// statement of an identity policy (a match allows, no match is an implicit
// deny) and once as the condition of a Deny statement next to an
// unconditional Allow (a match denies explicitly, no match allows). Both
// policy.Evaluate and policy.Explain must give the same decision.

// ctxOp adds one key to a request context.
type ctxOp func(*policy.Context)

// ckv gives key one value: a single-valued key.
func ckv(key, value string) ctxOp {
	return func(c *policy.Context) { c.Add(key, value) }
}

// clist makes key a multi-valued string key holding values (possibly none).
func clist(key string, values ...string) ctxOp {
	return ctyped(key, policy.TypeStringList, values...)
}

// ctyped declares the type of key and sets its values. A list type makes the
// key multi-valued whatever the number of values.
func ctyped(key string, t policy.ContextType, values ...string) ctxOp {
	return func(c *policy.Context) {
		c.SetType(key, t)
		c.Set(key, values...)
	}
}

func condContext(ops []ctxOp) *policy.Context {
	c := policy.NewContext()
	for _, op := range ops {
		op(c)
	}
	return c
}

// condRow is one condition block and one request context.
type condRow struct {
	name  string
	cond  string // the JSON object of the Condition element
	ctx   []ctxOp
	match bool // whether the whole condition block holds
}

const (
	condAction   = "s3:GetObject"
	condResource = "arn:aws:s3:::amzn-s3-demo-bucket/report.csv"
)

// condPolicy wraps cond into an identity policy. With effect Allow the
// conditional statement is the only one; with Deny it sits after an
// unconditional Allow.
func condPolicy(effect, cond string) string {
	conditional := fmt.Sprintf(`{"Sid":"Conditional","Effect":%q,"Action":"*","Resource":"*","Condition":%s}`, effect, cond)
	if effect == "Allow" {
		return `{"Version":"2012-10-17","Statement":[` + conditional + `]}`
	}
	return `{"Version":"2012-10-17","Statement":[{"Sid":"AllowAll","Effect":"Allow","Action":"*","Resource":"*"},` + conditional + `]}`
}

func condParse(t *testing.T, doc string, kind policy.Kind) *policy.Policy {
	t.Helper()
	p, err := policy.Parse([]byte(doc), kind)
	if err != nil {
		var perr *policy.Error
		if errors.As(err, &perr) {
			t.Fatalf("Parse(%s, %v): %s at %s", doc, kind, perr.Message, perr.Path)
		}
		t.Fatalf("Parse(%s, %v): %v", doc, kind, err)
	}
	p.Name = "under-test"
	return p
}

// condCheck evaluates req against set with both entry points and checks the
// decision and that the explanation is consistent with it. When
// conditionFailed is set and the decision is an implicit deny, the
// explanation must name a failed Condition.
func condCheck(t *testing.T, set *policy.Set, req *policy.Request, want policy.Decision, conditionFailed bool) {
	t.Helper()
	got := policy.Evaluate(set, req)
	res := policy.Explain(set, req)
	if res == nil {
		t.Fatalf("Explain returned nil")
	}
	if got != want {
		t.Errorf("Evaluate = %q, want %q", got, want)
	}
	if res.Decision != got {
		t.Errorf("Explain decision %q disagrees with Evaluate %q", res.Decision, got)
	}
	var allowMatched, denyMatched bool
	for _, m := range res.MatchedStatements {
		switch m.Effect {
		case "Allow":
			allowMatched = true
		case "Deny":
			denyMatched = true
		default:
			t.Errorf("matched statement %+v has effect %q", m, m.Effect)
		}
	}
	switch res.Decision {
	case policy.Allowed:
		if !allowMatched || denyMatched {
			t.Errorf("allowed, but matched statements are %+v", res.MatchedStatements)
		}
	case policy.ExplicitDeny:
		if !denyMatched {
			t.Errorf("explicit deny without a matched Deny statement: %+v", res.MatchedStatements)
		}
	case policy.ImplicitDeny:
		if denyMatched {
			t.Errorf("implicit deny, but a Deny statement matched: %+v", res.MatchedStatements)
		}
		if len(res.Explanation) == 0 {
			t.Errorf("implicit deny without an explanation")
		}
		if conditionFailed {
			found := false
			for _, r := range res.Explanation {
				if r.Element == "Condition" {
					found = true
				}
			}
			if !found {
				t.Errorf("implicit deny, but no reason names the Condition element")
			}
		}
	default:
		t.Errorf("unknown decision %q", res.Decision)
	}
	if t.Failed() {
		t.Logf("explanation: %+v", res.Explanation)
	}
}

func runCondRows(t *testing.T, rows []condRow) {
	t.Helper()
	seen := map[string]bool{}
	for _, row := range rows {
		if seen[row.name] {
			t.Errorf("duplicate case name %q", row.name)
		}
		seen[row.name] = true
		t.Run(row.name, func(t *testing.T) {
			for _, effect := range []string{"Allow", "Deny"} {
				t.Run(effect, func(t *testing.T) {
					p := condParse(t, condPolicy(effect, row.cond), policy.KindIdentity)
					req := &policy.Request{Action: condAction, Resource: condResource, Context: condContext(row.ctx)}
					var want policy.Decision
					switch {
					case effect == "Allow" && row.match:
						want = policy.Allowed
					case effect == "Allow":
						want = policy.ImplicitDeny
					case row.match:
						want = policy.ExplicitDeny
					default:
						want = policy.Allowed
					}
					condCheck(t, &policy.Set{Identity: []*policy.Policy{p}}, req, want, effect == "Allow")
				})
			}
		})
	}
}

// semRow is a whole policy and a whole request, for the doc examples that
// need more than one statement and for the language tests.
type semRow struct {
	name      string
	kind      policy.Kind // KindIdentity (the zero value) or KindResource / KindTrust
	doc       string
	identity  string // optional identity policy of the caller, for resource and trust rows
	action    string
	resource  string
	principal string
	ctx       []ctxOp
	want      policy.Decision
}

func runSemRows(t *testing.T, rows []semRow) {
	t.Helper()
	seen := map[string]bool{}
	for _, row := range rows {
		if seen[row.name] {
			t.Errorf("duplicate case name %q", row.name)
		}
		seen[row.name] = true
		t.Run(row.name, func(t *testing.T) {
			p := condParse(t, row.doc, row.kind)
			set := &policy.Set{}
			switch row.kind {
			case policy.KindIdentity, policy.KindManaged:
				set.Identity = append(set.Identity, p)
			case policy.KindResource, policy.KindTrust:
				set.Resource = p
			default:
				t.Fatalf("kind %v is not used by these tests", row.kind)
			}
			if row.identity != "" {
				set.Identity = append(set.Identity, condParse(t, row.identity, policy.KindIdentity))
			}
			req := &policy.Request{
				Action:    row.action,
				Resource:  row.resource,
				Principal: row.principal,
				Context:   condContext(row.ctx),
			}
			condCheck(t, set, req, row.want, false)
		})
	}
}

// TestConditionDocExamples restates every row of the example tables of the
// AWS pages listed at the top of this file.
func TestConditionDocExamples(t *testing.T) {
	const (
		jobCategory = `{"StringEquals":{"aws:PrincipalTag/job-category":"iamuser-admin"}}`
		homePrefix  = `{"StringLike":{"s3:prefix":["home/","home/${aws:username}/"]}}`
		preprod     = `{"StringEqualsIgnoreCase":{"aws:RequestTag/environment":["preprod","storage"]},"ForAnyValue:StringEquals":{"aws:TagKeys":"environment"}}`
		orgPaths    = `{"ForAllValues:StringNotLike":{"aws:ResourceOrgPaths":["o-acorg/r-acroot/ou-acroot-mediaou/","o-acorg/r-acroot/ou-acroot-sportsou/*"]}}`
		maxKeys     = `{"NumericLessThanEquals":{"s3:max-keys":"10"}}`
		tokenIssued = `{"DateGreaterThan":{"aws:TokenIssueTime":"2020-01-01T00:00:01Z"}}`
		insecure    = `{"Bool":{"aws:SecureTransport":"false"}}`
		binary      = `{"BinaryEquals":{"key":"QmluYXJ5VmFsdWVJbkJhc2U2NA=="}}`
		sourceIP    = `{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}`
		mixedIP     = `{"IpAddress":{"aws:SourceIp":["203.0.113.0/24","2001:DB8:1234:5678::/64"]}}`
		topicArn    = `{"ArnEquals":{"aws:SourceArn":"arn:aws:sns:us-west-2:123456789012:TOPIC-ID"}}`
		logSources  = `{"ForAllValues:ArnLike":{"logs:LogGeneratingResourceArns":["arn:aws:cloudfront::123456789012:distribution/*","arn:aws:cloudfront::123456789012:distribution/support*"]}}`
		instType    = `{"StringLikeIfExists":{"ec2:InstanceType":["t1.*","t2.*","m3.*"]}}`
		tempCreds   = `{"Null":{"aws:TokenIssueTime":"false"}}`

		ecsTask = `{"StringEquals":{"aws:RequestTag/environment":["production","prod-backup"]},` +
			`"ArnEquals":{"ecs:cluster":["arn:aws:ecs:us-east-1:111122223333:cluster/default1","arn:aws:ecs:us-east-1:111122223333:cluster/default2"]}}`

		key1Only   = `{"ForAllValues:StringNotLike":{"aws:TagKeys":"key1*"}}`
		key1OrKey2 = `{"ForAllValues:StringNotLike":{"aws:TagKeys":["key1*","key2*"]}}`
		webserver  = `{"ForAnyValue:StringEquals":{"aws:TagKeys":"webserver"}}`

		deleteTagsAll = `{"ForAllValues:StringEquals":{"aws:TagKeys":["environment","cost-center"]},"Null":{"aws:TagKeys":"false"}}`
		deleteTagsAny = `{"ForAnyValue:StringEquals":{"aws:TagKeys":["environment","cost-center"]}}`

		deptRoleArn = `{"StringEquals":{"aws:PrincipalTag/department":["finance","hr","legal"],"aws:PrincipalTag/role":["audit","security"]},` +
			`"ArnLike":{"aws:PrincipalArn":["arn:aws:iam::222222222222:user/Ana","arn:aws:iam::222222222222:user/Mary"]}}`
		deptRoleNotArn = `{"StringEquals":{"aws:PrincipalTag/department":["finance","hr","legal"],"aws:PrincipalTag/role":["audit","security"]},` +
			`"ArnNotLike":{"aws:PrincipalArn":["arn:aws:iam::222222222222:user/Ana","arn:aws:iam::222222222222:user/Mary"]}}`

		readAttrs = `{"ForAllValues:StringLike":{"dynamodb:requestedAttributes":["PostDateTime","Message","Tags"]}}`
		putAttrs  = `{"ForAnyValue:StringLike":{"dynamodb:requestedAttributes":["ID","PostDateTime"]}}`
	)
	const (
		mary  = "arn:aws:iam::222222222222:user/Mary"
		nikki = "arn:aws:iam::222222222222:user/Nikki"
		cf    = "arn:aws:cloudfront::123456789012:distribution/"
		org   = "o-acorg/r-acroot/"
	)
	rows := []condRow{
		// [ops] "Example string condition operator".
		{"ops/string-example/job-category iamuser-admin matches", jobCategory, []ctxOp{ckv("aws:PrincipalTag/job-category", "iamuser-admin")}, true},
		{"ops/string-example/job-category dev-ops does not match", jobCategory, []ctxOp{ckv("aws:PrincipalTag/job-category", "dev-ops")}, false},
		{"ops/string-example/no job-category tag does not match", jobCategory, nil, false},

		// [ops] "Example using a policy variable with a string condition operator".
		{"ops/variable-example/martha_rivera in her home", homePrefix, []ctxOp{ckv("aws:username", "martha_rivera"), ckv("s3:prefix", "home/martha_rivera/")}, true},
		{"ops/variable-example/nikki_wolf in her home", homePrefix, []ctxOp{ckv("aws:username", "nikki_wolf"), ckv("s3:prefix", "home/nikki_wolf/")}, true},
		{"ops/variable-example/no aws:username does not match a home", homePrefix, []ctxOp{ckv("s3:prefix", "home/martha_rivera/")}, false},
		// Our own rows for the same condition.
		{"ops/variable-example/martha_rivera in nikki's home does not match", homePrefix, []ctxOp{ckv("aws:username", "martha_rivera"), ckv("s3:prefix", "home/nikki_wolf/")}, false},
		{"ops/variable-example/no aws:username still matches the literal home/", homePrefix, []ctxOp{ckv("s3:prefix", "home/")}, true},

		// [ops] "Example using ForAnyValue with a string condition operator".
		{"ops/foranyvalue-example/environment tag preprod", preprod, []ctxOp{clist("aws:TagKeys", "environment"), ckv("aws:RequestTag/environment", "preprod")}, true},
		{"ops/foranyvalue-example/environment and costcenter tags PreProd", preprod, []ctxOp{clist("aws:TagKeys", "environment", "costcenter"), ckv("aws:RequestTag/environment", "PreProd")}, true},
		{"ops/foranyvalue-example/tag key Environment capitalised", preprod, []ctxOp{clist("aws:TagKeys", "Environment"), ckv("aws:RequestTag/Environment", "preprod")}, false},
		{"ops/foranyvalue-example/only costcenter tag key", preprod, []ctxOp{clist("aws:TagKeys", "costcenter"), ckv("aws:RequestTag/environment", "preprod")}, false},
		{"ops/foranyvalue-example/no aws:TagKeys", preprod, []ctxOp{ckv("aws:RequestTag/environment", "storage")}, false},
		{"ops/foranyvalue-example/no aws:RequestTag/environment", preprod, []ctxOp{clist("aws:TagKeys", "environment")}, false},
		{"ops/foranyvalue-example/neither key", preprod, nil, false},

		// [ops] "Wildcard matching", aws:ResourceOrgPaths. The published
		// table gives the opposite result in all three rows; these results
		// follow the operator definitions on the same page and on [multi]
		// (a request value is judged by StringNotLike one at a time; an
		// absent key satisfies ForAllValues).
		{"ops/wildcard-example/path under sportsou matches a pattern", orgPaths, []ctxOp{clist("aws:ResourceOrgPaths", org+"ou-acroot-sportsou/costcenter/")}, false},
		{"ops/wildcard-example/path under mediaou matches no pattern", orgPaths, []ctxOp{clist("aws:ResourceOrgPaths", org+"ou-acroot-mediaou/costcenter/")}, true},
		{"ops/wildcard-example/no aws:ResourceOrgPaths", orgPaths, nil, true},

		// [ops] numeric example (no table on the page; our rows).
		{"ops/numeric-example/max-keys 10", maxKeys, []ctxOp{ckv("s3:max-keys", "10")}, true},
		{"ops/numeric-example/max-keys 1000", maxKeys, []ctxOp{ckv("s3:max-keys", "1000")}, false},
		{"ops/numeric-example/no max-keys", maxKeys, nil, false},

		// [ops] date example (no table; our rows).
		{"ops/date-example/token issued mid 2020", tokenIssued, []ctxOp{ckv("aws:TokenIssueTime", "2020-06-01T12:00:00Z")}, true},
		{"ops/date-example/token issued at the limit", tokenIssued, []ctxOp{ckv("aws:TokenIssueTime", "2020-01-01T00:00:01Z")}, false},
		{"ops/date-example/token issued in 2019", tokenIssued, []ctxOp{ckv("aws:TokenIssueTime", "2019-12-31T23:59:59Z")}, false},
		{"ops/date-example/long-term access keys have no aws:TokenIssueTime", tokenIssued, nil, false},

		// [ops] "Example boolean condition operator".
		{"ops/bool-example/SecureTransport false", insecure, []ctxOp{ckv("aws:SecureTransport", "false")}, true},
		{"ops/bool-example/SecureTransport true", insecure, []ctxOp{ckv("aws:SecureTransport", "true")}, false},
		{"ops/bool-example/no aws:SecureTransport", insecure, nil, false},

		// [ops] binary condition operator table.
		{"ops/binary-example/same base64 value", binary, []ctxOp{ckv("key", "QmluYXJ5VmFsdWVJbkJhc2U2NA==")}, true},
		{"ops/binary-example/other value", binary, []ctxOp{ckv("key", "ASIAIOSFODNN7EXAMPLE")}, false},
		{"ops/binary-example/no key", binary, nil, false},

		// [ops] "Example IP address condition operator".
		{"ops/ip-example/203.0.113.1 in range", sourceIP, []ctxOp{ckv("aws:SourceIp", "203.0.113.1")}, true},
		{"ops/ip-example/198.51.100.1 out of range", sourceIP, []ctxOp{ckv("aws:SourceIp", "198.51.100.1")}, false},
		// The mixed IPv4 and IPv6 example (no table; our rows).
		{"ops/ip-mixed-example/IPv6 address in the /64", mixedIP, []ctxOp{ckv("aws:SourceIp", "2001:db8:1234:5678:abcd::1")}, true},
		{"ops/ip-mixed-example/IPv4 address in the /24", mixedIP, []ctxOp{ckv("aws:SourceIp", "203.0.113.200")}, true},
		{"ops/ip-mixed-example/IPv6 address in the next /64", mixedIP, []ctxOp{ckv("aws:SourceIp", "2001:db8:1234:5679::1")}, false},
		{"ops/ip-mixed-example/IPv4 address elsewhere", mixedIP, []ctxOp{ckv("aws:SourceIp", "198.51.100.1")}, false},

		// [ops] "Example ARN condition operator".
		{"ops/arn-example/same topic", topicArn, []ctxOp{ckv("aws:SourceArn", "arn:aws:sns:us-west-2:123456789012:TOPIC-ID")}, true},
		{"ops/arn-example/topic in another account", topicArn, []ctxOp{ckv("aws:SourceArn", "arn:aws:sns:us-west-2:777788889999:TOPIC-ID")}, false},
		{"ops/arn-example/no aws:SourceArn", topicArn, nil, false},

		// [ops] "Example using ForAllValues with an ARN condition operator".
		{"ops/forallvalues-arn-example/costcenter distribution", logSources, []ctxOp{clist("logs:LogGeneratingResourceArns", cf+"costcenter")}, true},
		{"ops/forallvalues-arn-example/costcenter and support2025", logSources, []ctxOp{clist("logs:LogGeneratingResourceArns", cf+"costcenter", cf+"support2025")}, true},
		// The published table says no match here, but distribution/*
		// matches distribution/admin, so every value matches a pattern.
		{"ops/forallvalues-arn-example/costcenter and admin", logSources, []ctxOp{clist("logs:LogGeneratingResourceArns", cf+"costcenter", cf+"admin")}, true},
		{"ops/forallvalues-arn-example/distribution in another account", logSources, []ctxOp{clist("logs:LogGeneratingResourceArns", "arn:aws:cloudfront::777788889999:distribution/costcenter")}, false},
		{"ops/forallvalues-arn-example/no key", logSources, nil, true},

		// [ops] "Example using IfExists".
		{"ops/ifexists-example/t1.micro", instType, []ctxOp{ckv("ec2:InstanceType", "t1.micro")}, true},
		{"ops/ifexists-example/m2.micro", instType, []ctxOp{ckv("ec2:InstanceType", "m2.micro")}, false},
		{"ops/ifexists-example/resource without ec2:InstanceType", instType, nil, true},

		// [ops] null example (no table; our rows).
		{"ops/null-example/temporary credentials", tempCreds, []ctxOp{ckv("aws:TokenIssueTime", "2024-05-01T10:00:00Z")}, true},
		{"ops/null-example/long-term credentials", tempCreds, nil, false},

		// [single] "One condition block with multiple single-valued context
		// keys and values" (ECS RunTask).
		{"single/ecs-example/production on default1", ecsTask, []ctxOp{ckv("aws:RequestTag/environment", "production"), ckv("ecs:cluster", "arn:aws:ecs:us-east-1:111122223333:cluster/default1")}, true},
		{"single/ecs-example/prod-backup on default2", ecsTask, []ctxOp{ckv("aws:RequestTag/environment", "prod-backup"), ckv("ecs:cluster", "arn:aws:ecs:us-east-1:111122223333:cluster/default2")}, true},
		{"single/ecs-example/webserver tag instead of environment", ecsTask, []ctxOp{ckv("aws:RequestTag/webserver", "production"), ckv("ecs:cluster", "arn:aws:ecs:us-east-1:111122223333:cluster/default2")}, false},
		{"single/ecs-example/no request tag", ecsTask, []ctxOp{ckv("ecs:cluster", "arn:aws:ecs:us-east-1:111122223333:cluster/default2")}, false},
		{"single/ecs-example/production on default3 (our row)", ecsTask, []ctxOp{ckv("aws:RequestTag/environment", "production"), ckv("ecs:cluster", "arn:aws:ecs:us-east-1:111122223333:cluster/default3")}, false},

		// [multi] "Deny a single policy condition value for a multivalued
		// context key".
		{"multi/deny-key1/key1:legal", key1Only, []ctxOp{clist("aws:TagKeys", "key1:legal")}, false},
		{"multi/deny-key1/key1:hr and key1:personnel", key1Only, []ctxOp{clist("aws:TagKeys", "key1:hr", "key1:personnel")}, false},
		{"multi/deny-key1/key2:audit", key1Only, []ctxOp{clist("aws:TagKeys", "key2:audit")}, true},
		{"multi/deny-key1/no aws:TagKeys", key1Only, nil, true},
		// [multi] "Deny multiple policy condition values for a multivalued
		// context key".
		{"multi/deny-key1-key2/key1:legal", key1OrKey2, []ctxOp{clist("aws:TagKeys", "key1:legal")}, false},
		{"multi/deny-key1-key2/key1:hr and key1:personnel", key1OrKey2, []ctxOp{clist("aws:TagKeys", "key1:hr", "key1:personnel")}, false},
		{"multi/deny-key1-key2/key1:hr and key2:audit", key1OrKey2, []ctxOp{clist("aws:TagKeys", "key1:hr", "key2:audit")}, false},
		{"multi/deny-key1-key2/key3:legal", key1OrKey2, []ctxOp{clist("aws:TagKeys", "key3:legal")}, true},
		{"multi/deny-key1-key2/no aws:TagKeys", key1OrKey2, nil, true},
		// [multi] "Deny policy with condition set operator ForAnyValue".
		{"multi/deny-webserver/webserver", webserver, []ctxOp{clist("aws:TagKeys", "webserver")}, true},
		{"multi/deny-webserver/environment webserver test", webserver, []ctxOp{clist("aws:TagKeys", "environment", "webserver", "test")}, true},
		{"multi/deny-webserver/environment test", webserver, []ctxOp{clist("aws:TagKeys", "environment", "test")}, false},
		{"multi/deny-webserver/no aws:TagKeys", webserver, nil, false},

		// [setops] "Example ForAllValues set operator" (with Null false).
		{"setops/forallvalues-example/environment", deleteTagsAll, []ctxOp{clist("aws:TagKeys", "environment")}, true},
		{"setops/forallvalues-example/cost-center", deleteTagsAll, []ctxOp{clist("aws:TagKeys", "cost-center")}, true},
		{"setops/forallvalues-example/environment and cost-center", deleteTagsAll, []ctxOp{clist("aws:TagKeys", "environment", "cost-center")}, true},
		{"setops/forallvalues-example/environment and dept", deleteTagsAll, []ctxOp{clist("aws:TagKeys", "environment", "dept")}, false},
		{"setops/forallvalues-example/no aws:TagKeys", deleteTagsAll, nil, false},
		// Our row: [setops] and [multi] say the Null check also keeps an
		// empty value set from matching.
		{"setops/forallvalues-example/empty aws:TagKeys", deleteTagsAll, []ctxOp{clist("aws:TagKeys")}, false},
		// [setops] "Example ForAnyValue set operator".
		{"setops/foranyvalue-example/environment", deleteTagsAny, []ctxOp{clist("aws:TagKeys", "environment")}, true},
		{"setops/foranyvalue-example/cost-center", deleteTagsAny, []ctxOp{clist("aws:TagKeys", "cost-center")}, true},
		{"setops/foranyvalue-example/environment and cost-center", deleteTagsAny, []ctxOp{clist("aws:TagKeys", "environment", "cost-center")}, true},
		{"setops/foranyvalue-example/environment and dept", deleteTagsAny, []ctxOp{clist("aws:TagKeys", "environment", "dept")}, true},
		{"setops/foranyvalue-example/dept", deleteTagsAny, []ctxOp{clist("aws:TagKeys", "dept")}, false},
		{"setops/foranyvalue-example/no aws:TagKeys", deleteTagsAny, nil, false},

		// [logic] "Evaluation logic for multiple context keys or values".
		{"logic/and-or/legal audit Mary", deptRoleArn, []ctxOp{ckv("aws:PrincipalTag/department", "legal"), ckv("aws:PrincipalTag/role", "audit"), ckv("aws:PrincipalArn", mary)}, true},
		{"logic/and-or/hr audit Nikki", deptRoleArn, []ctxOp{ckv("aws:PrincipalTag/department", "hr"), ckv("aws:PrincipalTag/role", "audit"), ckv("aws:PrincipalArn", nikki)}, false},
		{"logic/and-or/hr payroll Mary", deptRoleArn, []ctxOp{ckv("aws:PrincipalTag/department", "hr"), ckv("aws:PrincipalTag/role", "payroll"), ckv("aws:PrincipalArn", mary)}, false},
		{"logic/and-or/no role tag", deptRoleArn, []ctxOp{ckv("aws:PrincipalTag/department", "hr"), ckv("aws:PrincipalArn", mary)}, false},
		{"logic/and-or/no principal tags", deptRoleArn, []ctxOp{ckv("aws:PrincipalArn", mary)}, false},
		// [logic] "Evaluation logic for negated matching condition operators".
		{"logic/negated/legal audit Nikki", deptRoleNotArn, []ctxOp{ckv("aws:PrincipalTag/department", "legal"), ckv("aws:PrincipalTag/role", "audit"), ckv("aws:PrincipalArn", nikki)}, true},
		{"logic/negated/hr audit Mary", deptRoleNotArn, []ctxOp{ckv("aws:PrincipalTag/department", "hr"), ckv("aws:PrincipalTag/role", "audit"), ckv("aws:PrincipalArn", mary)}, false},
		{"logic/negated/hr payroll Nikki", deptRoleNotArn, []ctxOp{ckv("aws:PrincipalTag/department", "hr"), ckv("aws:PrincipalTag/role", "payroll"), ckv("aws:PrincipalArn", nikki)}, false},
		{"logic/negated/no role tag", deptRoleNotArn, []ctxOp{ckv("aws:PrincipalTag/department", "hr"), ckv("aws:PrincipalArn", nikki)}, false},
		{"logic/negated/no principal tags", deptRoleNotArn, []ctxOp{ckv("aws:PrincipalArn", nikki)}, false},

		// [archived] DynamoDB requestedAttributes examples.
		{"archived/forallvalues-get/PostDateTime and Message", readAttrs, []ctxOp{clist("dynamodb:requestedAttributes", "PostDateTime", "Message")}, true},
		{"archived/forallvalues-get/request includes ID", readAttrs, []ctxOp{clist("dynamodb:requestedAttributes", "PostDateTime", "Message", "ID")}, false},
		{"archived/forallvalues-get/PostDateTime and UserName", readAttrs, []ctxOp{clist("dynamodb:requestedAttributes", "PostDateTime", "UserName")}, false},
		{"archived/foranyvalue-put/PostDateTime and Message", putAttrs, []ctxOp{clist("dynamodb:requestedAttributes", "PostDateTime", "Message")}, true},
		{"archived/foranyvalue-put/UserName only", putAttrs, []ctxOp{clist("dynamodb:requestedAttributes", "UserName")}, false},
		{"archived/foranyvalue-put/UserName Message PostDateTime", putAttrs, []ctxOp{clist("dynamodb:requestedAttributes", "UserName", "Message", "PostDateTime")}, true},
		// [archived] and [ops]: a request whose values resolve to an empty
		// data set "for example, an empty string" makes ForAllValues true and
		// ForAnyValue false.
		{"archived/empty-string-set/ForAllValues", readAttrs, []ctxOp{clist("dynamodb:requestedAttributes", "")}, true},
		{"archived/empty-string-set/ForAnyValue", putAttrs, []ctxOp{clist("dynamodb:requestedAttributes", "")}, false},
	}
	runCondRows(t, rows)
}

// TestConditionDocPolicies covers the doc examples whose meaning depends on
// more than one statement.
func TestConditionDocPolicies(t *testing.T) {
	// [single] "Multiple condition blocks with single-valued context keys".
	const volumes = `{
	  "Version": "2012-10-17",
	  "Statement": [
	    {"Effect": "Allow", "Action": "ec2:CreateVolume", "Resource": "*"},
	    {"Effect": "Allow", "Action": "ec2:CreateTags", "Resource": "arn:aws:ec2:us-east-1:123456789012:volume/*",
	     "Condition": {"StringLike": {"aws:RequestTag/project": "*"}}},
	    {"Effect": "Allow", "Action": "ec2:CreateTags", "Resource": "arn:aws:ec2:us-east-1:123456789012:*/*",
	     "Condition": {"StringNotEquals": {"aws:ResourceTag/environment": "production"}}}
	  ]
	}`
	const volume = "arn:aws:ec2:us-east-1:123456789012:volume/vol-0abc"
	// [ops] "...IfExists condition operators": a Deny with
	// StringNotEqualsIfExists still denies when the key is absent.
	const denyOutsideVpc = `{
	  "Version": "2012-10-17",
	  "Statement": [
	    {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
	    {"Effect": "Deny", "Action": "s3:*", "Resource": "*",
	     "Condition": {"StringNotEqualsIfExists": {"aws:SourceVpc": "vpc-111bbb22"}}}
	  ]
	}`
	// [ops] "Example using IfExists": the second statement has no condition.
	const runInstances = `{
	  "Version": "2012-10-17",
	  "Statement": [
	    {"Sid": "RunInstance", "Effect": "Allow", "Action": "ec2:RunInstances", "Resource": "*",
	     "Condition": {"StringLikeIfExists": {"ec2:InstanceType": ["t1.*", "t2.*", "m3.*"]}}},
	    {"Sid": "DescribeActions", "Effect": "Allow",
	     "Action": ["ec2:DescribeImages", "ec2:DescribeInstances", "ec2:DescribeVpcs", "ec2:DescribeKeyPairs", "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups"],
	     "Resource": "*"}
	  ]
	}`
	// [multi] "Deny policy with condition set operator ForAllValues", with
	// the Allow the page says it must be combined with.
	const denyTags = `{
	  "Version": "2012-10-17",
	  "Statement": [
	    {"Effect": "Allow", "Action": "iam:*", "Resource": "*"},
	    {"Sid": "DenyRestrictedTags", "Effect": "Deny", "Action": ["iam:Tag*", "iam:UnTag*"], "Resource": ["*"],
	     "Condition": {"ForAllValues:StringNotLike": {"aws:TagKeys": "key1*"}}}
	  ]
	}`
	const role = "arn:aws:iam::123456789012:role/app"

	rows := []semRow{
		{name: "single/volume-example/create volume needs no tags", doc: volumes, action: "ec2:CreateVolume", resource: volume, want: policy.Allowed},
		{name: "single/volume-example/project Feature3 on a QA volume", doc: volumes, action: "ec2:CreateTags", resource: volume,
			ctx: []ctxOp{ckv("aws:RequestTag/project", "Feature3"), ckv("aws:ResourceTag/environment", "QA")}, want: policy.Allowed},
		{name: "single/volume-example/no project tag on a production volume", doc: volumes, action: "ec2:CreateTags", resource: volume,
			ctx: []ctxOp{ckv("aws:ResourceTag/environment", "production")}, want: policy.ImplicitDeny},
		// The statements are alternatives: a project tag alone is enough,
		// even on a production volume.
		{name: "single/volume-example/project tag on a production volume", doc: volumes, action: "ec2:CreateTags", resource: volume,
			ctx: []ctxOp{ckv("aws:RequestTag/project", "Feature3"), ckv("aws:ResourceTag/environment", "production")}, want: policy.Allowed},
		// And a non-production volume is enough without a project tag; an
		// absent environment tag satisfies StringNotEquals.
		{name: "single/volume-example/no project tag on a QA volume", doc: volumes, action: "ec2:CreateTags", resource: volume,
			ctx: []ctxOp{ckv("aws:ResourceTag/environment", "QA")}, want: policy.Allowed},
		{name: "single/volume-example/no tags at all", doc: volumes, action: "ec2:CreateTags", resource: volume, want: policy.Allowed},
		{name: "single/volume-example/other action", doc: volumes, action: "ec2:DeleteVolume", resource: volume, want: policy.ImplicitDeny},

		{name: "ops/ifexists-deny/request from another VPC", doc: denyOutsideVpc, action: "s3:GetObject", resource: condResource,
			ctx: []ctxOp{ckv("aws:SourceVpc", "vpc-999")}, want: policy.ExplicitDeny},
		{name: "ops/ifexists-deny/request from the VPC", doc: denyOutsideVpc, action: "s3:GetObject", resource: condResource,
			ctx: []ctxOp{ckv("aws:SourceVpc", "vpc-111bbb22")}, want: policy.Allowed},
		{name: "ops/ifexists-deny/no aws:SourceVpc is still denied", doc: denyOutsideVpc, action: "s3:GetObject", resource: condResource,
			want: policy.ExplicitDeny},

		{name: "ops/ifexists-example/run t2.micro", doc: runInstances, action: "ec2:RunInstances", resource: "arn:aws:ec2:us-east-1:123456789012:instance/*",
			ctx: []ctxOp{ckv("ec2:InstanceType", "t2.micro")}, want: policy.Allowed},
		{name: "ops/ifexists-example/run m5.large", doc: runInstances, action: "ec2:RunInstances", resource: "arn:aws:ec2:us-east-1:123456789012:instance/*",
			ctx: []ctxOp{ckv("ec2:InstanceType", "m5.large")}, want: policy.ImplicitDeny},
		{name: "ops/ifexists-example/image has no instance type", doc: runInstances, action: "ec2:RunInstances", resource: "arn:aws:ec2:us-east-1::image/ami-1",
			want: policy.Allowed},
		{name: "ops/ifexists-example/describe", doc: runInstances, action: "ec2:DescribeVpcs", resource: "*", want: policy.Allowed},

		{name: "multi/deny-key1-policy/tag with key1 keys", doc: denyTags, action: "iam:TagRole", resource: role,
			ctx: []ctxOp{clist("aws:TagKeys", "key1:a", "key1:b")}, want: policy.Allowed},
		{name: "multi/deny-key1-policy/tag with key2", doc: denyTags, action: "iam:TagRole", resource: role,
			ctx: []ctxOp{clist("aws:TagKeys", "key2:audit")}, want: policy.ExplicitDeny},
		{name: "multi/deny-key1-policy/untag with no keys", doc: denyTags, action: "iam:UntagRole", resource: role, want: policy.ExplicitDeny},
		{name: "multi/deny-key1-policy/action outside the deny", doc: denyTags, action: "iam:GetRole", resource: role,
			ctx: []ctxOp{clist("aws:TagKeys", "key2:audit")}, want: policy.Allowed},
	}
	runSemRows(t, rows)
}

// TestConditionOperators has our own positive and negative rows for every
// operator, beyond the generated matrix below.
func TestConditionOperators(t *testing.T) {
	long := strings.Repeat("a", 10*1024)
	rows := []condRow{
		// String operators.
		{"StringEquals/exact", `{"StringEquals":{"aws:PrincipalTag/team":"red"}}`, []ctxOp{ckv("aws:PrincipalTag/team", "red")}, true},
		{"StringEquals/value case differs", `{"StringEquals":{"aws:PrincipalTag/team":"red"}}`, []ctxOp{ckv("aws:PrincipalTag/team", "Red")}, false},
		{"StringEquals/prefix is not equal", `{"StringEquals":{"aws:PrincipalTag/team":"red"}}`, []ctxOp{ckv("aws:PrincipalTag/team", "redder")}, false},
		{"StringEquals/star is literal", `{"StringEquals":{"aws:PrincipalTag/team":"*"}}`, []ctxOp{ckv("aws:PrincipalTag/team", "red")}, false},
		{"StringEquals/star equals star", `{"StringEquals":{"aws:PrincipalTag/team":"*"}}`, []ctxOp{ckv("aws:PrincipalTag/team", "*")}, true},
		{"StringEquals/empty equals empty", `{"StringEquals":{"aws:PrincipalTag/team":""}}`, []ctxOp{ckv("aws:PrincipalTag/team", "")}, true},
		{"StringEquals/values are ORed", `{"StringEquals":{"aws:PrincipalTag/team":["red","blue"]}}`, []ctxOp{ckv("aws:PrincipalTag/team", "blue")}, true},
		{"StringEquals/none of the values", `{"StringEquals":{"aws:PrincipalTag/team":["red","blue"]}}`, []ctxOp{ckv("aws:PrincipalTag/team", "green")}, false},
		{"StringNotEquals/differs", `{"StringNotEquals":{"aws:PrincipalTag/team":"red"}}`, []ctxOp{ckv("aws:PrincipalTag/team", "blue")}, true},
		{"StringNotEquals/equal", `{"StringNotEquals":{"aws:PrincipalTag/team":"red"}}`, []ctxOp{ckv("aws:PrincipalTag/team", "red")}, false},
		{"StringNotEquals/case differs is not equal", `{"StringNotEquals":{"aws:PrincipalTag/team":"red"}}`, []ctxOp{ckv("aws:PrincipalTag/team", "RED")}, true},
		{"StringNotEquals/values are NORed, equal to the second", `{"StringNotEquals":{"aws:PrincipalTag/team":["red","blue"]}}`, []ctxOp{ckv("aws:PrincipalTag/team", "blue")}, false},
		{"StringNotEquals/values are NORed, differs from all", `{"StringNotEquals":{"aws:PrincipalTag/team":["red","blue"]}}`, []ctxOp{ckv("aws:PrincipalTag/team", "green")}, true},
		{"StringEqualsIgnoreCase/case differs", `{"StringEqualsIgnoreCase":{"aws:RequestTag/environment":"preprod"}}`, []ctxOp{ckv("aws:RequestTag/environment", "PreProd")}, true},
		{"StringEqualsIgnoreCase/other value", `{"StringEqualsIgnoreCase":{"aws:RequestTag/environment":"preprod"}}`, []ctxOp{ckv("aws:RequestTag/environment", "prod")}, false},
		{"StringEqualsIgnoreCase/star is literal", `{"StringEqualsIgnoreCase":{"aws:RequestTag/environment":"pre*"}}`, []ctxOp{ckv("aws:RequestTag/environment", "preprod")}, false},
		{"StringNotEqualsIgnoreCase/only case differs", `{"StringNotEqualsIgnoreCase":{"aws:RequestTag/environment":"preprod"}}`, []ctxOp{ckv("aws:RequestTag/environment", "PREPROD")}, false},
		{"StringNotEqualsIgnoreCase/differs", `{"StringNotEqualsIgnoreCase":{"aws:RequestTag/environment":"preprod"}}`, []ctxOp{ckv("aws:RequestTag/environment", "prod")}, true},
		{"StringNotEqualsIgnoreCase/NOR over values", `{"StringNotEqualsIgnoreCase":{"aws:RequestTag/environment":["preprod","storage"]}}`, []ctxOp{ckv("aws:RequestTag/environment", "Storage")}, false},
		{"StringLike/star suffix", `{"StringLike":{"ec2:InstanceType":"t2.*"}}`, []ctxOp{ckv("ec2:InstanceType", "t2.micro")}, true},
		{"StringLike/case-sensitive", `{"StringLike":{"ec2:InstanceType":"t2.*"}}`, []ctxOp{ckv("ec2:InstanceType", "T2.micro")}, false},
		{"StringLike/question mark is one character", `{"StringLike":{"aws:RequestedRegion":"us-east-?"}}`, []ctxOp{ckv("aws:RequestedRegion", "us-east-1")}, true},
		{"StringLike/question mark is not two characters", `{"StringLike":{"aws:RequestedRegion":"us-east-?"}}`, []ctxOp{ckv("aws:RequestedRegion", "us-east-10")}, false},
		{"StringLike/question mark is not zero characters", `{"StringLike":{"aws:RequestedRegion":"us-east-?"}}`, []ctxOp{ckv("aws:RequestedRegion", "us-east-")}, false},
		{"StringLike/star matches empty", `{"StringLike":{"aws:RequestTag/project":"*"}}`, []ctxOp{ckv("aws:RequestTag/project", "")}, true},
		{"StringLike/stars in order", `{"StringLike":{"s3:prefix":"a*b*c"}}`, []ctxOp{ckv("s3:prefix", "aXXbYYc")}, true},
		{"StringLike/stars out of order", `{"StringLike":{"s3:prefix":"a*b*c"}}`, []ctxOp{ckv("s3:prefix", "aXXcYYb")}, false},
		{"StringLike/no wildcard is exact", `{"StringLike":{"s3:prefix":"home/"}}`, []ctxOp{ckv("s3:prefix", "home/x")}, false},
		{"StringLike/star crosses slash", `{"StringLike":{"s3:prefix":"home/*"}}`, []ctxOp{ckv("s3:prefix", "home/a/b/c")}, true},
		// StringLike treats the whole value as one string: * crosses ':',
		// unlike ArnLike below.
		{"StringLike/star crosses colons of an ARN", `{"StringLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/x"}}`, []ctxOp{ckv("aws:PrincipalArn", "arn:aws:iam::111122223333:extra:role/x")}, true},
		{"StringLike/pathological pattern, no match", `{"StringLike":{"s3:prefix":"*a*a*a*a*a*a*a*a*a*b"}}`, []ctxOp{ckv("s3:prefix", long)}, false},
		{"StringLike/pathological pattern, match", `{"StringLike":{"s3:prefix":"*a*a*a*a*a*a*a*a*a*b"}}`, []ctxOp{ckv("s3:prefix", long+"b")}, true},
		{"StringNotLike/matches the pattern", `{"StringNotLike":{"ec2:InstanceType":["t1.*","t2.*"]}}`, []ctxOp{ckv("ec2:InstanceType", "t2.micro")}, false},
		{"StringNotLike/matches no pattern", `{"StringNotLike":{"ec2:InstanceType":["t1.*","t2.*"]}}`, []ctxOp{ckv("ec2:InstanceType", "m5.large")}, true},

		// Numeric operators.
		{"NumericEquals/integer", `{"NumericEquals":{"s3:max-keys":"10"}}`, []ctxOp{ckv("s3:max-keys", "10")}, true},
		{"NumericEquals/decimal form of the same number", `{"NumericEquals":{"s3:max-keys":"10"}}`, []ctxOp{ckv("s3:max-keys", "10.0")}, true},
		{"NumericEquals/decimals", `{"NumericEquals":{"s3:max-keys":"1.5"}}`, []ctxOp{ckv("s3:max-keys", "1.50")}, true},
		{"NumericEquals/negative", `{"NumericEquals":{"s3:max-keys":"-5"}}`, []ctxOp{ckv("s3:max-keys", "-5")}, true},
		{"NumericEquals/sign differs", `{"NumericEquals":{"s3:max-keys":"-5"}}`, []ctxOp{ckv("s3:max-keys", "5")}, false},
		{"NumericEquals/bad number in the context", `{"NumericEquals":{"s3:max-keys":"10"}}`, []ctxOp{ckv("s3:max-keys", "ten")}, false},
		{"NumericEquals/values are ORed", `{"NumericEquals":{"s3:max-keys":["1","2"]}}`, []ctxOp{ckv("s3:max-keys", "2")}, true},
		{"NumericNotEquals/NOR, equal to the second", `{"NumericNotEquals":{"s3:max-keys":["1","2"]}}`, []ctxOp{ckv("s3:max-keys", "2")}, false},
		{"NumericNotEquals/NOR, differs from all", `{"NumericNotEquals":{"s3:max-keys":["1","2"]}}`, []ctxOp{ckv("s3:max-keys", "3")}, true},
		{"NumericNotEquals/same number written differently", `{"NumericNotEquals":{"s3:max-keys":"10"}}`, []ctxOp{ckv("s3:max-keys", "10.00")}, false},
		{"NumericLessThan/decimal below", `{"NumericLessThan":{"s3:max-keys":"0.5"}}`, []ctxOp{ckv("s3:max-keys", "0.25")}, true},
		{"NumericLessThan/negative below zero", `{"NumericLessThan":{"s3:max-keys":"0"}}`, []ctxOp{ckv("s3:max-keys", "-1")}, true},
		{"NumericLessThan/compares as numbers, not strings", `{"NumericLessThan":{"s3:max-keys":"10"}}`, []ctxOp{ckv("s3:max-keys", "9")}, true},
		{"NumericLessThan/bad number in the context", `{"NumericLessThan":{"s3:max-keys":"10"}}`, []ctxOp{ckv("s3:max-keys", "abc")}, false},
		{"NumericLessThanEquals/just above", `{"NumericLessThanEquals":{"s3:max-keys":"10"}}`, []ctxOp{ckv("s3:max-keys", "10.01")}, false},
		{"NumericGreaterThan/negatives", `{"NumericGreaterThan":{"s3:max-keys":"-3"}}`, []ctxOp{ckv("s3:max-keys", "-2")}, true},
		{"NumericGreaterThan/compares as numbers, not strings", `{"NumericGreaterThan":{"s3:max-keys":"9"}}`, []ctxOp{ckv("s3:max-keys", "10")}, true},
		{"NumericGreaterThan/bad number in the context", `{"NumericGreaterThan":{"s3:max-keys":"9"}}`, []ctxOp{ckv("s3:max-keys", "")}, false},
		{"NumericGreaterThanEquals/negative decimal equal", `{"NumericGreaterThanEquals":{"s3:max-keys":"-1.5"}}`, []ctxOp{ckv("s3:max-keys", "-1.5")}, true},
		{"NumericGreaterThanEquals/below", `{"NumericGreaterThanEquals":{"s3:max-keys":"-1.5"}}`, []ctxOp{ckv("s3:max-keys", "-1.6")}, false},

		// Date operators: ISO 8601 (W3C profile) and epoch seconds.
		{"DateEquals/epoch seconds in the context equal the ISO date", `{"DateEquals":{"aws:CurrentTime":"2020-01-01T00:00:00Z"}}`, []ctxOp{ckv("aws:CurrentTime", "1577836800")}, true},
		{"DateEquals/epoch seconds in the policy equal the ISO date", `{"DateEquals":{"aws:CurrentTime":"1577836800"}}`, []ctxOp{ckv("aws:CurrentTime", "2020-01-01T00:00:00Z")}, true},
		{"DateEquals/date without time is midnight UTC", `{"DateEquals":{"aws:CurrentTime":"2020-01-01"}}`, []ctxOp{ckv("aws:CurrentTime", "2020-01-01T00:00:00Z")}, true},
		{"DateEquals/zone offset", `{"DateEquals":{"aws:CurrentTime":"2020-01-01T00:00:00Z"}}`, []ctxOp{ckv("aws:CurrentTime", "2020-01-01T01:00:00+01:00")}, true},
		{"DateEquals/fraction of a second", `{"DateEquals":{"aws:CurrentTime":"2020-01-01T00:00:00Z"}}`, []ctxOp{ckv("aws:CurrentTime", "2020-01-01T00:00:00.000Z")}, true},
		{"DateEquals/minutes without seconds", `{"DateEquals":{"aws:CurrentTime":"2020-01-01T00:00Z"}}`, []ctxOp{ckv("aws:CurrentTime", "2020-01-01T00:00:00Z")}, true},
		{"DateEquals/no zone is UTC", `{"DateEquals":{"aws:CurrentTime":"2020-01-01T00:00:00Z"}}`, []ctxOp{ckv("aws:CurrentTime", "2020-01-01T00:00:00")}, true},
		{"DateEquals/one second later", `{"DateEquals":{"aws:CurrentTime":"2020-01-01T00:00:00Z"}}`, []ctxOp{ckv("aws:CurrentTime", "2020-01-01T00:00:01Z")}, false},
		{"DateEquals/bad date in the context", `{"DateEquals":{"aws:CurrentTime":"2020-01-01T00:00:00Z"}}`, []ctxOp{ckv("aws:CurrentTime", "yesterday")}, false},
		{"DateNotEquals/epoch of the same instant", `{"DateNotEquals":{"aws:CurrentTime":"2020-01-01T00:00:00Z"}}`, []ctxOp{ckv("aws:CurrentTime", "1577836800")}, false},
		{"DateLessThan/epoch policy, ISO context before", `{"DateLessThan":{"aws:CurrentTime":"1577836800"}}`, []ctxOp{ckv("aws:CurrentTime", "2019-12-31T23:59:59Z")}, true},
		{"DateLessThan/offset makes it later", `{"DateLessThan":{"aws:CurrentTime":"2020-01-01T00:00:00Z"}}`, []ctxOp{ckv("aws:CurrentTime", "2019-12-31T23:30:00-01:00")}, false},
		{"DateLessThanEquals/date only, same day midnight", `{"DateLessThanEquals":{"aws:CurrentTime":"2020-01-01"}}`, []ctxOp{ckv("aws:CurrentTime", "2020-01-01T00:00:00Z")}, true},
		{"DateGreaterThan/epoch context after", `{"DateGreaterThan":{"aws:EpochTime":"2020-01-01T00:00:00Z"}}`, []ctxOp{ckv("aws:EpochTime", "1577836801")}, true},
		{"DateGreaterThanEquals/epoch context before", `{"DateGreaterThanEquals":{"aws:EpochTime":"2020-01-01T00:00:00Z"}}`, []ctxOp{ckv("aws:EpochTime", "1577836799")}, false},

		// Bool.
		{"Bool/true", `{"Bool":{"aws:MultiFactorAuthPresent":"true"}}`, []ctxOp{ckv("aws:MultiFactorAuthPresent", "true")}, true},
		{"Bool/context upper case", `{"Bool":{"aws:MultiFactorAuthPresent":"true"}}`, []ctxOp{ckv("aws:MultiFactorAuthPresent", "TRUE")}, true},
		{"Bool/context mixed case", `{"Bool":{"aws:MultiFactorAuthPresent":"false"}}`, []ctxOp{ckv("aws:MultiFactorAuthPresent", "False")}, true},
		{"Bool/policy upper case", `{"Bool":{"aws:MultiFactorAuthPresent":"TRUE"}}`, []ctxOp{ckv("aws:MultiFactorAuthPresent", "true")}, true},
		{"Bool/true against false", `{"Bool":{"aws:MultiFactorAuthPresent":"true"}}`, []ctxOp{ckv("aws:MultiFactorAuthPresent", "false")}, false},
		{"Bool/yes is not a boolean", `{"Bool":{"aws:MultiFactorAuthPresent":"true"}}`, []ctxOp{ckv("aws:MultiFactorAuthPresent", "yes")}, false},
		{"Bool/1 is not a boolean", `{"Bool":{"aws:MultiFactorAuthPresent":"true"}}`, []ctxOp{ckv("aws:MultiFactorAuthPresent", "1")}, false},

		// BinaryEquals.
		{"BinaryEquals/values are ORed", `{"BinaryEquals":{"ssm:Payload":["b3RoZXI=","QmluYXJ5VmFsdWVJbkJhc2U2NA=="]}}`, []ctxOp{ckv("ssm:Payload", "QmluYXJ5VmFsdWVJbkJhc2U2NA==")}, true},
		{"BinaryEquals/different bytes", `{"BinaryEquals":{"ssm:Payload":"QmluYXJ5VmFsdWVJbkJhc2U2NA=="}}`, []ctxOp{ckv("ssm:Payload", "QmluYXJ5VmFsdWVJbkJhc2U2NQ==")}, false},

		// IP address operators.
		{"IpAddress/IPv4 /32 same address", `{"IpAddress":{"aws:SourceIp":"203.0.113.5/32"}}`, []ctxOp{ckv("aws:SourceIp", "203.0.113.5")}, true},
		{"IpAddress/IPv4 /32 next address", `{"IpAddress":{"aws:SourceIp":"203.0.113.5/32"}}`, []ctxOp{ckv("aws:SourceIp", "203.0.113.6")}, false},
		{"IpAddress/address without prefix is /32", `{"IpAddress":{"aws:SourceIp":"203.0.113.5"}}`, []ctxOp{ckv("aws:SourceIp", "203.0.113.5")}, true},
		{"IpAddress/address without prefix, other address", `{"IpAddress":{"aws:SourceIp":"203.0.113.5"}}`, []ctxOp{ckv("aws:SourceIp", "203.0.113.4")}, false},
		{"IpAddress/IPv4 /24 first address", `{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}`, []ctxOp{ckv("aws:SourceIp", "203.0.113.0")}, true},
		{"IpAddress/IPv4 /24 last address", `{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}`, []ctxOp{ckv("aws:SourceIp", "203.0.113.255")}, true},
		{"IpAddress/IPv4 /24 next network", `{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}`, []ctxOp{ckv("aws:SourceIp", "203.0.114.0")}, false},
		{"IpAddress/IPv4 /0 matches any IPv4", `{"IpAddress":{"aws:SourceIp":"0.0.0.0/0"}}`, []ctxOp{ckv("aws:SourceIp", "198.51.100.77")}, true},
		{"IpAddress/IPv4 /0 does not match IPv6", `{"IpAddress":{"aws:SourceIp":"0.0.0.0/0"}}`, []ctxOp{ckv("aws:SourceIp", "2001:db8::1")}, false},
		{"IpAddress/IPv6 range, upper-case policy", `{"IpAddress":{"aws:SourceIp":"2001:DB8:1234:5678::/64"}}`, []ctxOp{ckv("aws:SourceIp", "2001:db8:1234:5678:ffff:ffff:ffff:ffff")}, true},
		{"IpAddress/IPv6 /128", `{"IpAddress":{"aws:SourceIp":"2001:db8::1/128"}}`, []ctxOp{ckv("aws:SourceIp", "2001:db8::2")}, false},
		{"IpAddress/IPv4 address against an IPv6 range", `{"IpAddress":{"aws:SourceIp":"2001:DB8:1234:5678::/64"}}`, []ctxOp{ckv("aws:SourceIp", "203.0.113.1")}, false},
		{"IpAddress/IPv6 address against an IPv4 range", `{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}`, []ctxOp{ckv("aws:SourceIp", "2001:db8:1234:5678::1")}, false},
		{"IpAddress/bad address in the context", `{"IpAddress":{"aws:SourceIp":"0.0.0.0/0"}}`, []ctxOp{ckv("aws:SourceIp", "not-an-ip")}, false},
		{"NotIpAddress/outside both ranges", `{"NotIpAddress":{"aws:SourceIp":["203.0.113.0/24","198.51.100.0/24"]}}`, []ctxOp{ckv("aws:SourceIp", "192.0.2.1")}, true},
		{"NotIpAddress/inside the second range", `{"NotIpAddress":{"aws:SourceIp":["203.0.113.0/24","198.51.100.0/24"]}}`, []ctxOp{ckv("aws:SourceIp", "198.51.100.9")}, false},
		{"NotIpAddress/IPv4 against an IPv6 range", `{"NotIpAddress":{"aws:SourceIp":"2001:DB8::/32"}}`, []ctxOp{ckv("aws:SourceIp", "203.0.113.1")}, true},

		// ARN operators: the six colon-separated parts are matched one by
		// one; * and ? never cross a ':' in the first five.
		{"ArnLike/any account", `{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/x"}}`, []ctxOp{ckv("aws:PrincipalArn", "arn:aws:iam::111122223333:role/x")}, true},
		{"ArnLike/star does not cross a colon", `{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/x"}}`, []ctxOp{ckv("aws:PrincipalArn", "arn:aws:iam::111122223333:extra:role/x")}, false},
		{"ArnLike/region star does not swallow the account", `{"ArnLike":{"aws:SourceArn":"arn:aws:sns:*:123456789012:topic"}}`, []ctxOp{ckv("aws:SourceArn", "arn:aws:sns:us-east-1:extra:123456789012:topic")}, false},
		{"ArnLike/resource part star crosses slash", `{"ArnLike":{"aws:SourceArn":"arn:aws:s3:::amzn-s3-demo-bucket/*"}}`, []ctxOp{ckv("aws:SourceArn", "arn:aws:s3:::amzn-s3-demo-bucket/a/b/c")}, true},
		{"ArnLike/resource part star crosses colon", `{"ArnLike":{"aws:SourceArn":"arn:aws:logs:us-east-1:111122223333:log-group:*"}}`, []ctxOp{ckv("aws:SourceArn", "arn:aws:logs:us-east-1:111122223333:log-group:app:log-stream:s1")}, true},
		{"ArnLike/question mark in the account", `{"ArnLike":{"aws:SourceAccountArn":"arn:aws:iam::12345678901?:root"}}`, []ctxOp{ckv("aws:SourceAccountArn", "arn:aws:iam::123456789012:root")}, true},
		{"ArnLike/star in region and resource", `{"ArnLike":{"aws:SourceArn":"arn:aws:sns:*:123456789012:*"}}`, []ctxOp{ckv("aws:SourceArn", "arn:aws:sns:eu-west-1:123456789012:alerts")}, true},
		{"ArnLike/not an ARN", `{"ArnLike":{"aws:SourceArn":"arn:aws:sns:*:123456789012:*"}}`, []ctxOp{ckv("aws:SourceArn", "alerts")}, false},
		{"ArnLike/too few parts", `{"ArnLike":{"aws:SourceArn":"arn:aws:iam::*:*"}}`, []ctxOp{ckv("aws:SourceArn", "arn:aws:iam::123456789012")}, false},
		{"ArnEquals/case-sensitive", `{"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/Admin"}}`, []ctxOp{ckv("aws:PrincipalArn", "arn:aws:iam::111122223333:role/admin")}, false},
		{"ArnEquals/wildcards behave as in ArnLike", `{"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::*:role/x"}}`, []ctxOp{ckv("aws:PrincipalArn", "arn:aws:iam::111122223333:role/x")}, true},
		{"ArnNotLike/extra colons do not match the pattern", `{"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/x"}}`, []ctxOp{ckv("aws:PrincipalArn", "arn:aws:iam::111122223333:extra:role/x")}, true},
		{"ArnNotEquals/NOR, equal to the second", `{"ArnNotEquals":{"aws:PrincipalArn":["arn:aws:iam::111122223333:role/a","arn:aws:iam::111122223333:role/b"]}}`, []ctxOp{ckv("aws:PrincipalArn", "arn:aws:iam::111122223333:role/b")}, false},
		{"ArnNotEquals/NOR, differs from all", `{"ArnNotEquals":{"aws:PrincipalArn":["arn:aws:iam::111122223333:role/a","arn:aws:iam::111122223333:role/b"]}}`, []ctxOp{ckv("aws:PrincipalArn", "arn:aws:iam::111122223333:role/c")}, true},

		// Null.
		{"Null/true, key absent", `{"Null":{"aws:TokenIssueTime":"true"}}`, nil, true},
		{"Null/true, key present", `{"Null":{"aws:TokenIssueTime":"true"}}`, []ctxOp{ckv("aws:TokenIssueTime", "2024-01-01T00:00:00Z")}, false},
		{"Null/false, key present", `{"Null":{"aws:TokenIssueTime":"false"}}`, []ctxOp{ckv("aws:TokenIssueTime", "2024-01-01T00:00:00Z")}, true},
		{"Null/false, key absent", `{"Null":{"aws:TokenIssueTime":"false"}}`, nil, false},
		{"Null/key name case-insensitive", `{"Null":{"AWS:TOKENISSUETIME":"false"}}`, []ctxOp{ckv("aws:TokenIssueTime", "2024-01-01T00:00:00Z")}, true},
		{"Null/false, multi-valued key present", `{"Null":{"aws:TagKeys":"false"}}`, []ctxOp{clist("aws:TagKeys", "a", "b")}, true},
		{"Null/true, multi-valued key present", `{"Null":{"aws:TagKeys":"true"}}`, []ctxOp{clist("aws:TagKeys", "a")}, false},
		// [setops], [multi], [ops]: Null false keeps "context keys with empty
		// values" from matching: an empty list counts as null.
		{"Null/false, empty list", `{"Null":{"aws:TagKeys":"false"}}`, []ctxOp{clist("aws:TagKeys")}, false},
		{"Null/true, empty list", `{"Null":{"aws:TagKeys":"true"}}`, []ctxOp{clist("aws:TagKeys")}, true},

		// Case-insensitive keys, including the tag-key part ([cond]).
		{"keys/tag key in lower case in the context", `{"StringEquals":{"aws:PrincipalTag/Team":"red"}}`, []ctxOp{ckv("aws:principaltag/team", "red")}, true},
		{"keys/tag key in upper case in the policy", `{"StringEquals":{"AWS:PRINCIPALTAG/TEAM":"red"}}`, []ctxOp{ckv("aws:PrincipalTag/team", "red")}, true},
		{"keys/ResourceTag/TagKey1 against tagkey1", `{"StringEquals":{"aws:ResourceTag/TagKey1":"Value1"}}`, []ctxOp{ckv("aws:resourcetag/tagkey1", "Value1")}, true},
		{"keys/SourceIP spelling", `{"IpAddress":{"AWS:SourceIp":"203.0.113.0/24"}}`, []ctxOp{ckv("aws:SourceIP", "203.0.113.9")}, true},
		{"keys/key case ignored, value case kept", `{"StringEquals":{"aws:PrincipalTag/Team":"red"}}`, []ctxOp{ckv("aws:principaltag/team", "Red")}, false},
		{"keys/negated operator sees the key whatever its case", `{"StringNotEquals":{"aws:PrincipalTag/Team":"red"}}`, []ctxOp{ckv("AWS:PRINCIPALTAG/TEAM", "red")}, false},

		// Combining operators, keys and values ([logic]).
		{"combine/two operators both hold", `{"StringEquals":{"aws:PrincipalTag/team":"red"},"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}`, []ctxOp{ckv("aws:PrincipalTag/team", "red"), ckv("aws:SourceIp", "203.0.113.1")}, true},
		{"combine/two operators, the second fails", `{"StringEquals":{"aws:PrincipalTag/team":"red"},"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}`, []ctxOp{ckv("aws:PrincipalTag/team", "red"), ckv("aws:SourceIp", "198.51.100.1")}, false},
		{"combine/two keys of one operator both hold", `{"StringEquals":{"aws:PrincipalTag/team":"red","aws:RequestedRegion":"eu-west-1"}}`, []ctxOp{ckv("aws:PrincipalTag/team", "red"), ckv("aws:RequestedRegion", "eu-west-1")}, true},
		{"combine/two keys of one operator, one absent", `{"StringEquals":{"aws:PrincipalTag/team":"red","aws:RequestedRegion":"eu-west-1"}}`, []ctxOp{ckv("aws:PrincipalTag/team", "red")}, false},
		{"combine/IfExists key present and wrong fails the block", `{"StringEqualsIfExists":{"aws:RequestedRegion":"eu-west-1"},"Bool":{"aws:SecureTransport":"true"}}`, []ctxOp{ckv("aws:RequestedRegion", "us-east-1"), ckv("aws:SecureTransport", "true")}, false},
		{"combine/IfExists key absent leaves the other operator to decide", `{"StringEqualsIfExists":{"aws:RequestedRegion":"eu-west-1"},"Bool":{"aws:SecureTransport":"true"}}`, []ctxOp{ckv("aws:SecureTransport", "true")}, true},
		{"combine/allow CIDR except one address", `{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"},"NotIpAddress":{"aws:SourceIp":"203.0.113.66/32"}}`, []ctxOp{ckv("aws:SourceIp", "203.0.113.66")}, false},
		{"combine/allow CIDR, another address", `{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"},"NotIpAddress":{"aws:SourceIp":"203.0.113.66/32"}}`, []ctxOp{ckv("aws:SourceIp", "203.0.113.67")}, true},

		// Set operators with negated bases and lists of policy values.
		{"sets/ForAnyValue:StringNotEquals, key absent", `{"ForAnyValue:StringNotEquals":{"aws:TagKeys":["a","b"]}}`, nil, false},
		{"sets/ForAnyValue:StringNotEquals, all values listed", `{"ForAnyValue:StringNotEquals":{"aws:TagKeys":["a","b"]}}`, []ctxOp{clist("aws:TagKeys", "a", "b")}, false},
		{"sets/ForAnyValue:StringNotEquals, one value not listed", `{"ForAnyValue:StringNotEquals":{"aws:TagKeys":["a","b"]}}`, []ctxOp{clist("aws:TagKeys", "a", "c")}, true},
		{"sets/ForAllValues:StringNotEquals, none listed", `{"ForAllValues:StringNotEquals":{"aws:TagKeys":["a","b"]}}`, []ctxOp{clist("aws:TagKeys", "c", "d")}, true},
		{"sets/ForAllValues:StringNotEquals, one listed", `{"ForAllValues:StringNotEquals":{"aws:TagKeys":["a","b"]}}`, []ctxOp{clist("aws:TagKeys", "a", "c")}, false},
		{"sets/ForAllValues:StringNotLike, mixed prefixes", `{"ForAllValues:StringNotLike":{"aws:TagKeys":"key1*"}}`, []ctxOp{clist("aws:TagKeys", "key1:a", "key2:b")}, false},
		{"sets/ForAllValues:StringEquals on a single-valued key, other value", `{"ForAllValues:StringEquals":{"aws:PrincipalTag/team":"red"}}`, []ctxOp{ckv("aws:PrincipalTag/team", "blue")}, false},
		{"sets/ForAllValues:StringEquals on a single-valued key, absent", `{"ForAllValues:StringEquals":{"aws:PrincipalTag/team":"red"}}`, nil, true},
		{"sets/ForAllValues:NumericLessThan all below", `{"ForAllValues:NumericLessThan":{"ec2:Ports":"1024"}}`, []ctxOp{ctyped("ec2:Ports", policy.TypeNumericList, "22", "80", "443")}, true},
		{"sets/ForAllValues:NumericLessThan one above", `{"ForAllValues:NumericLessThan":{"ec2:Ports":"1024"}}`, []ctxOp{ctyped("ec2:Ports", policy.TypeNumericList, "22", "8080")}, false},
		{"sets/ForAnyValue:IpAddress one address inside", `{"ForAnyValue:IpAddress":{"aws:VpcSourceIps":"203.0.113.0/24"}}`, []ctxOp{ctyped("aws:VpcSourceIps", policy.TypeIPList, "10.0.0.1", "203.0.113.5")}, true},
		{"sets/ForAllValues:Bool all true", `{"ForAllValues:Bool":{"svc:Flags":"true"}}`, []ctxOp{ctyped("svc:Flags", policy.TypeBooleanList, "true", "TRUE")}, true},
		{"sets/ForAnyValue:Bool none true", `{"ForAnyValue:Bool":{"svc:Flags":"true"}}`, []ctxOp{ctyped("svc:Flags", policy.TypeBooleanList, "false", "false")}, false},
		{"sets/ForAnyValue:StringLike with wildcards", `{"ForAnyValue:StringLike":{"aws:TagKeys":"cost-*"}}`, []ctxOp{clist("aws:TagKeys", "owner", "cost-center")}, true},
		{"sets/ForAllValues:StringEqualsIgnoreCase", `{"ForAllValues:StringEqualsIgnoreCase":{"aws:TagKeys":["Environment","Owner"]}}`, []ctxOp{clist("aws:TagKeys", "environment", "OWNER")}, true},
		{"sets/ForAnyValue:ArnNotLike, every ARN matches", `{"ForAnyValue:ArnNotLike":{"logs:LogGeneratingResourceArns":"arn:aws:cloudfront::123456789012:distribution/*"}}`, []ctxOp{clist("logs:LogGeneratingResourceArns", "arn:aws:cloudfront::123456789012:distribution/a")}, false},

		// A bare operator against a multi-valued key never matches, positive
		// or negated, with or without IfExists: [setops] says multivalued keys
		// require a set operator.
		{"multivalued/StringEquals against a list containing the value", `{"StringEquals":{"aws:TagKeys":"a"}}`, []ctxOp{clist("aws:TagKeys", "a", "b")}, false},
		{"multivalued/StringNotEquals against a list without the value", `{"StringNotEquals":{"aws:TagKeys":"x"}}`, []ctxOp{clist("aws:TagKeys", "a", "b")}, false},
		{"multivalued/StringEqualsIfExists against a list", `{"StringEqualsIfExists":{"aws:TagKeys":"a"}}`, []ctxOp{clist("aws:TagKeys", "a", "b")}, false},
		{"multivalued/two values given with Add", `{"StringEquals":{"aws:TagKeys":"a"}}`, []ctxOp{ckv("aws:TagKeys", "a"), ckv("aws:TagKeys", "b")}, false},
		{"multivalued/list type with one value", `{"StringLike":{"aws:TagKeys":"*"}}`, []ctxOp{clist("aws:TagKeys", "a")}, false},
		{"multivalued/empty list", `{"StringNotLike":{"aws:TagKeys":"a*"}}`, []ctxOp{clist("aws:TagKeys")}, false},
	}
	runCondRows(t, rows)
}

// opSpec describes one base operator for the generated matrix: a policy value
// with one request value that satisfies the operator and one that does not.
type opSpec struct {
	op       string
	key      string
	value    string
	good     string
	bad      string
	negated  bool
	listType policy.ContextType
}

var opSpecs = []opSpec{
	{"StringEquals", "aws:PrincipalTag/team", "abc", "abc", "abd", false, policy.TypeStringList},
	{"StringNotEquals", "aws:PrincipalTag/team", "abc", "xyz", "abc", true, policy.TypeStringList},
	{"StringEqualsIgnoreCase", "aws:PrincipalTag/team", "AbC", "aBc", "abd", false, policy.TypeStringList},
	{"StringNotEqualsIgnoreCase", "aws:PrincipalTag/team", "AbC", "abd", "ABC", true, policy.TypeStringList},
	{"StringLike", "aws:PrincipalTag/team", "ab*", "abzz", "xab", false, policy.TypeStringList},
	{"StringNotLike", "aws:PrincipalTag/team", "ab*", "xab", "abzz", true, policy.TypeStringList},
	{"NumericEquals", "s3:max-keys", "10", "10", "11", false, policy.TypeNumericList},
	{"NumericNotEquals", "s3:max-keys", "10", "11", "10", true, policy.TypeNumericList},
	{"NumericLessThan", "s3:max-keys", "10", "9", "10", false, policy.TypeNumericList},
	{"NumericLessThanEquals", "s3:max-keys", "10", "10", "11", false, policy.TypeNumericList},
	{"NumericGreaterThan", "s3:max-keys", "10", "11", "10", false, policy.TypeNumericList},
	{"NumericGreaterThanEquals", "s3:max-keys", "10", "10", "9", false, policy.TypeNumericList},
	{"DateEquals", "aws:CurrentTime", "2020-01-01T00:00:00Z", "2020-01-01T00:00:00Z", "2020-01-02T00:00:00Z", false, policy.TypeDateList},
	{"DateNotEquals", "aws:CurrentTime", "2020-01-01T00:00:00Z", "2020-01-02T00:00:00Z", "2020-01-01T00:00:00Z", true, policy.TypeDateList},
	{"DateLessThan", "aws:CurrentTime", "2020-01-01T00:00:00Z", "2019-12-31T00:00:00Z", "2020-01-01T00:00:00Z", false, policy.TypeDateList},
	{"DateLessThanEquals", "aws:CurrentTime", "2020-01-01T00:00:00Z", "2020-01-01T00:00:00Z", "2020-01-01T00:00:01Z", false, policy.TypeDateList},
	{"DateGreaterThan", "aws:CurrentTime", "2020-01-01T00:00:00Z", "2020-01-01T00:00:01Z", "2020-01-01T00:00:00Z", false, policy.TypeDateList},
	{"DateGreaterThanEquals", "aws:CurrentTime", "2020-01-01T00:00:00Z", "2020-01-01T00:00:00Z", "2019-12-31T23:59:59Z", false, policy.TypeDateList},
	{"Bool", "aws:SecureTransport", "true", "true", "false", false, policy.TypeBooleanList},
	{"BinaryEquals", "ssm:Payload", "QmluYXJ5VmFsdWVJbkJhc2U2NA==", "QmluYXJ5VmFsdWVJbkJhc2U2NA==", "b3RoZXI=", false, policy.TypeBinaryList},
	{"IpAddress", "aws:SourceIp", "203.0.113.0/24", "203.0.113.7", "198.51.100.7", false, policy.TypeIPList},
	{"NotIpAddress", "aws:SourceIp", "203.0.113.0/24", "198.51.100.7", "203.0.113.7", true, policy.TypeIPList},
	{"ArnEquals", "aws:SourceArn", "arn:aws:sns:us-west-2:123456789012:TOPIC-ID", "arn:aws:sns:us-west-2:123456789012:TOPIC-ID", "arn:aws:sns:us-west-2:777788889999:TOPIC-ID", false, policy.TypeStringList},
	{"ArnLike", "aws:SourceArn", "arn:aws:iam::*:role/app-*", "arn:aws:iam::111122223333:role/app-web", "arn:aws:iam::111122223333:user/app-web", false, policy.TypeStringList},
	{"ArnNotEquals", "aws:SourceArn", "arn:aws:sns:us-west-2:123456789012:TOPIC-ID", "arn:aws:sns:us-west-2:777788889999:TOPIC-ID", "arn:aws:sns:us-west-2:123456789012:TOPIC-ID", true, policy.TypeStringList},
	{"ArnNotLike", "aws:SourceArn", "arn:aws:iam::*:role/app-*", "arn:aws:iam::111122223333:user/app-web", "arn:aws:iam::111122223333:role/app-web", true, policy.TypeStringList},
}

// genOpRows builds, for every operator, the missing/matching/non-matching
// rows of the bare operator, its IfExists form, both set operators (absent
// key, empty list, one and two values, a single-valued key) and the bare
// operator against multi-valued keys.
func genOpRows() []condRow {
	var rows []condRow
	for _, s := range opSpecs {
		cond := func(op string) string { return fmt.Sprintf(`{%q:{%q:%q}}`, op, s.key, s.value) }
		list := func(values ...string) []ctxOp { return []ctxOp{ctyped(s.key, s.listType, values...)} }
		single := func(v string) []ctxOp { return []ctxOp{ckv(s.key, v)} }
		add := func(name, op string, ctx []ctxOp, match bool) {
			rows = append(rows, condRow{name: "generated/" + op + "/" + name, cond: cond(op), ctx: ctx, match: match})
		}

		// Without a key only negated operators hold.
		add("key absent", s.op, nil, s.negated)
		add("matching value", s.op, single(s.good), true)
		add("other value", s.op, single(s.bad), false)

		ifExists := s.op + "IfExists"
		add("key absent", ifExists, nil, true)
		add("matching value", ifExists, single(s.good), true)
		add("other value", ifExists, single(s.bad), false)

		all := "ForAllValues:" + s.op
		add("key absent", all, nil, true)
		add("empty list", all, list(), true)
		add("one matching value", all, list(s.good), true)
		add("matching and other value", all, list(s.good, s.bad), false)
		add("one other value", all, list(s.bad), false)
		add("single-valued key, matching", all, single(s.good), true)
		add("single-valued key, other", all, single(s.bad), false)

		anyOf := "ForAnyValue:" + s.op
		add("key absent", anyOf, nil, false)
		add("empty list", anyOf, list(), false)
		add("one matching value", anyOf, list(s.good), true)
		add("matching and other value", anyOf, list(s.good, s.bad), true)
		add("one other value", anyOf, list(s.bad), false)
		add("single-valued key, matching", anyOf, single(s.good), true)
		add("single-valued key, other", anyOf, single(s.bad), false)

		// A bare operator does not apply to a multi-valued key.
		add("list key with one matching value", s.op, list(s.good), false)
		add("list key with matching and other value", s.op, list(s.good, s.bad), false)
		add("empty list key", s.op, list(), false)
		add("list key with one matching value", ifExists, list(s.good), false)
	}
	return rows
}

// TestConditionOperatorMatrix runs the generated rows for every operator.
func TestConditionOperatorMatrix(t *testing.T) {
	rows := genOpRows()
	if len(rows) != 24*len(opSpecs) {
		t.Fatalf("generated %d rows, want %d", len(rows), 24*len(opSpecs))
	}
	runCondRows(t, rows)
}
